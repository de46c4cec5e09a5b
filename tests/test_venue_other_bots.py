"""The venue as a paper exchange for any Binance bot: leverage brackets and the margin model they drive,
multi-assets mode, the endpoints ccxt asks while loading markets, JSON 404s, and wall-clock replay.
Driven by python-binance and by a stock ccxt with only its URLs overridden (venue/recipes.py)."""
import json
import time
from decimal import Decimal as D

import pytest
from binance.exceptions import BinanceAPIException

from tests.plugins.shared_data import find_shared_data
from tests.plugins.venue import write_dataset
from tests.venue_http import raw, request
from venue.recipes import ccxt_config

SHARED_DATA = find_shared_data()
BTC = "BTCUSDT"
HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_704_067_200_000          # 2024-01-01 00:00 UTC

# A hand-made bracket table for the worked example in docs/VENUE.md ("Worked example")
BRACKETS = [{"symbol": BTC, "brackets": [
    {"bracket": 1, "initialLeverage": 50, "notionalCap": 50000, "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0},
    {"bracket": 2, "initialLeverage": 25, "notionalCap": 250000, "notionalFloor": 50000, "maintMarginRatio": 0.005, "cum": 50.0},
    {"bracket": 3, "initialLeverage": 10, "notionalCap": 1000000, "notionalFloor": 250000, "maintMarginRatio": 0.01, "cum": 1300.0},
]}]
BRACKET_KEYS = {"bracket", "initialLeverage", "notionalCap", "notionalFloor", "maintMarginRatio", "cum"}


def api_error(fn, *a, **kw) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as ei:
        fn(*a, **kw)
    return ei.value


@pytest.fixture(scope="module")
def v(venue_factory):
    return venue_factory(paused=True)


@pytest.fixture
def clean(v):
    v.reset(paused=True)
    return v


def ccxt_client(v):
    import ccxt
    ex = ccxt.binanceusdm(ccxt_config(v.base_url, v.api_key, v.api_secret))
    return ex


# ------------------------------------------------------------------------------ leverage brackets
def test_leverage_bracket_shape_weight_and_default_table(clean):
    c = clean.client()
    one = c.futures_leverage_bracket(symbol=BTC)
    assert isinstance(one, list) and len(one) == 1 and one[0]["symbol"] == BTC
    tiers = one[0]["brackets"]
    assert all(set(t) == BRACKET_KEYS for t in tiers)
    assert [t["bracket"] for t in tiers] == list(range(1, len(tiers) + 1))
    assert tiers[0]["notionalFloor"] == 0 and tiers[0]["initialLeverage"] == 125
    assert tiers[0]["maintMarginRatio"] == 0.025            # the exchangeInfo's maintMarginPercent
    for a, b in zip(tiers, tiers[1:]):                       # contiguous, continuous maintenance margin
        assert a["notionalCap"] == b["notionalFloor"]
        assert abs(b["cum"] - (a["cum"] + b["notionalFloor"] * (b["maintMarginRatio"] - a["maintMarginRatio"]))) < 1e-6
    every = c.futures_leverage_bracket()
    assert len(every) == 10 and {x["symbol"] for x in every} >= {BTC, "ETHUSDT"}
    _, _, headers = raw(clean, "GET", "/fapi/v1/leverageBracket", {"symbol": BTC})
    assert int(headers["x-mbx-used-weight-1m"]) >= 1
    st, body, _ = raw(clean, "GET", "/fapi/v1/leverageBracket", {"symbol": BTC}, signed=False)
    assert st == 400 and body["code"] == -1102                # signed: timestamp required
    assert api_error(c.futures_leverage_bracket, symbol="NOPEUSDT").code == -1121


@pytest.mark.skipif(SHARED_DATA is None or not (SHARED_DATA / "exchange" / "leverageBracket-fapi.json").is_file(),
                    reason="../shared/data/exchange/leverageBracket-fapi.json absent")
def test_real_brackets_with_data(venue_factory):
    v = venue_factory(data=SHARED_DATA, symbols="BTCUSDT,ETHUSDT", paused=True)
    c = v.client()
    want = {x["symbol"]: x for x in json.loads((SHARED_DATA / "exchange" / "leverageBracket-fapi.json").read_text())}
    got = c.futures_leverage_bracket(symbol=BTC)[0]
    assert got["brackets"] == want[BTC]["brackets"]
    top = want[BTC]["brackets"][0]["initialLeverage"]
    assert c.futures_change_leverage(symbol=BTC, leverage=top)["leverage"] == top
    assert api_error(c.futures_change_leverage, symbol=BTC, leverage=top + 1).code == -4028


def test_leverage_a_tier_does_not_allow_is_4028(clean):
    c = clean.client()
    e = api_error(c.futures_change_leverage, symbol=BTC, leverage=126)
    assert (e.code, e.message) == (-4028, "Leverage 126 is not valid")
    r = c.futures_change_leverage(symbol=BTC, leverage=125)
    assert r["maxNotionalValue"] == "5000000"                # tier 1 of the default table
    assert c.futures_change_leverage(symbol=BTC, leverage=20)["maxNotionalValue"] == "20000000"


def test_max_position_for_the_leverage_is_2027(clean):
    c = clean.client()
    clean.admin("POST", "/_venue/account/deposit", {"amount": "10000000"})
    c.futures_change_leverage(symbol=BTC, leverage=125)
    price = D(c.futures_mark_price(symbol=BTC)["markPrice"])
    qty = (D(5_200_000) / price).quantize(D("0.001"))           # > 5M: beyond what 125x allows
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity=str(qty))
    assert (e.code, e.message) == (-2027, "Exceeded the maximum allowable position at current leverage.")
    c.futures_change_leverage(symbol=BTC, leverage=20)           # 20x allows up to 20M
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity=str(qty))
    assert api_error(c.futures_change_leverage, symbol=BTC, leverage=125).code == -2027   # position too big


# ------------------------------------------------------------------------------ worked example
def _example_venue(venue_factory, tmp_path, lows):
    """BTC flat at 50000, then one bar per entry of `lows` (open 50000, that low, close 50000)."""
    bars = [(T0 + i * HOUR, 50000.0, 50000.0, 50000.0, 50000.0, 100.0) for i in range(24)]
    bars += [(T0 + (24 + i) * HOUR, 50000.0, 50000.0, lo, 50000.0, 100.0) for i, lo in enumerate(lows)]
    bars += [(T0 + (24 + len(lows) + i) * HOUR, 50000.0, 50000.0, 50000.0, 50000.0, 100.0) for i in range(4)]
    data = write_dataset(tmp_path, {BTC: bars})
    (tmp_path / "brackets.json").write_text(json.dumps(BRACKETS))
    return venue_factory(data=data, start=T0 + 23 * HOUR, paused=True, balance=10000,
                         extra=["--brackets", str(tmp_path / "brackets.json"), "--depth-notional", "10000000"])


@pytest.mark.parametrize("margin,lp,safe_low,liq_low", [
    # isolated: WB = 100005 / 20 = 5000.25;  LP = (5000.25 + 50 - 2 x 50002.5) / (2 x 0.005 - 2)
    ("ISOLATED", D("47715.95477387"), 47800.0, 47700.0),
    # cross: WB = 10000 - fee 50.0025 = 9949.9975;  LP = (9949.9975 + 50 - 100005) / (-1.99)
    ("CROSSED", D("45228.64447236"), 45300.0, 45200.0),
])
def test_liquidation_price_equals_the_worked_example(venue_factory, tmp_path, margin, lp, safe_low, liq_low):
    v = _example_venue(venue_factory, tmp_path, [safe_low, liq_low])
    c = v.client()
    c.futures_change_leverage(symbol=BTC, leverage=20)
    if margin == "ISOLATED":
        c.futures_change_margin_type(symbol=BTC, marginType="ISOLATED")
    o = c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="2", newOrderRespType="RESULT")
    assert D(o["avgPrice"]) == D("50002.5")                           # one book level: entry 50002.5
    pos = c.futures_position_information(symbol=BTC)[0]
    assert D(pos["liquidationPrice"]) == lp
    assert D(pos["notional"]) == D("100000.00000000")               # mark 50000 x 2: tier 2 (cum 50)
    assert D(pos["maintMargin"]) == D("450.00000000")               # 100000 x 0.005 - 50
    v.clock(to_ms=T0 + 25 * HOUR)                                     # low above LP: still open
    assert v.stats()["liquidations"] == 0
    v.clock(to_ms=T0 + 26 * HOUR)                                     # low below LP: liquidated
    ev = v.stats()["liquidation_events"]
    assert len(ev) == 1 and ev[0]["marginType"] == margin and D(ev[0]["price"]) == D(str(liq_low))


# ------------------------------------------------------------------------------ multi-assets mode
def test_multi_assets_mode(clean):
    c = clean.client()
    assert c.futures_get_multi_assets_mode() == {"multiAssetsMargin": False}
    assert c.futures_change_multi_assets_mode(True) == {"code": 200, "msg": "success"}
    assert c.futures_get_multi_assets_mode() == {"multiAssetsMargin": True}
    e = api_error(c.futures_change_multi_assets_mode, True)
    assert e.code == -4171
    assert api_error(c.futures_change_margin_type, symbol=BTC, marginType="ISOLATED").code == -4168
    c.futures_change_multi_assets_mode(False)
    c.futures_change_margin_type(symbol=BTC, marginType="ISOLATED")
    assert api_error(c.futures_change_multi_assets_mode, True).code == -4167


# ------------------------------------------------------------------------------ ccxt
def test_ccxt_loads_markets_and_trades_with_only_urls_overridden(clean):
    ex = ccxt_client(clean)
    ex.options["fetchCurrencies"] = True                         # what a stock binance does with keys set
    markets = ex.load_markets()
    assert "BTC/USDT:USDT" in markets and markets["BTC/USDT:USDT"]["linear"]
    tiers = ex.fetch_leverage_tiers(["BTC/USDT:USDT"])["BTC/USDT:USDT"]
    assert tiers[0]["maxLeverage"] == 125 and tiers[0]["maintenanceMarginRate"] == 0.025
    ex.set_margin_mode("isolated", "BTC/USDT:USDT")
    ex.set_leverage(10, "BTC/USDT:USDT")
    mode = ex.fetch_position_mode("BTC/USDT:USDT")
    assert mode["hedged"] is False
    order = ex.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    assert ex.fetch_order(order["id"], "BTC/USDT:USDT")["status"] == "closed"
    pos = [p for p in ex.fetch_positions(["BTC/USDT:USDT"]) if p["contracts"]][0]
    assert pos["marginMode"] == "isolated" and pos["contracts"] == 0.01
    assert pos["liquidationPrice"] and pos["liquidationPrice"] < pos["entryPrice"]
    bal = ex.fetch_balance()
    assert bal["USDT"]["total"] > 0


def test_ccxt_spot_and_coinm_loading_endpoints(clean):
    for path in ("/api/v3/exchangeInfo", "/dapi/v1/exchangeInfo"):
        st, body, _ = raw(clean, "GET", path, signed=False)
        assert st == 200 and body["symbols"] == [] and abs(body["serverTime"] - time.time() * 1000) < 5000
    st, coins, _ = raw(clean, "GET", "/sapi/v1/capital/config/getall")
    assert st == 200 and [c["coin"] for c in coins] == ["USDT"] and coins[0]["networkList"]
    assert raw(clean, "GET", "/sapi/v1/margin/allPairs", signed=False)[1] == []
    assert raw(clean, "GET", "/sapi/v1/margin/isolated/allPairs")[1] == []
    assert raw(clean, "GET", "/sapi/v1/capital/config/getall", signed=False)[1]["code"] == -1102


def test_unknown_path_is_binance_json_404(clean):
    for method, path in (("GET", "/fapi/v1/nope"), ("POST", "/fapi/v1/exchangeInfo"), ("GET", "/"),
                         ("DELETE", "/sapi/v1/whatever")):
        st, body, headers = request(clean, method, path)
        assert st == 404 and headers["content-type"].startswith("application/json")
        assert body == {"code": -5000, "msg": f"Path {path}, Method {method} is invalid"}


# ------------------------------------------------------------------------------ wall-clock replay
def test_wall_clock_replay_serves_real_times(venue_factory):
    v = venue_factory(start="2024-03-01", extra=["--clock", "wall"])
    assert v.ready_line.endswith("clock=wall")
    c = v.client()
    now = time.time() * 1000
    assert abs(c.futures_time()["serverTime"] - now) < 3000
    pi = c.futures_mark_price(symbol=BTC)
    assert abs(pi["time"] - now) < 3000
    assert pi["nextFundingTime"] % (8 * HOUR) == 0 and 0 < pi["nextFundingTime"] - now <= 8 * HOUR
    kl = c.futures_klines(symbol=BTC, interval="1h", limit=3)
    assert kl[-1][0] == int(now) // HOUR * HOUR                     # the current bar opened this hour
    fr = c.futures_funding_rate(symbol=BTC, startTime=int(now) - DAY)
    assert len(fr) == 3 and all(now - DAY <= f["fundingTime"] <= now and f["fundingTime"] % (8 * HOUR) == 0
                                for f in fr)
    o = c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
    o = c.futures_get_order(symbol=BTC, orderId=o["orderId"])
    assert abs(o["updateTime"] - time.time() * 1000) < 3000
    trades = c.futures_account_trades(symbol=BTC, startTime=int(now) - 60_000)
    assert len(trades) == 1 and abs(trades[0]["time"] - now) < 5000
    inc = c.futures_income_history(incomeType="COMMISSION", startTime=int(now) - 60_000)
    assert len(inc) == 1
    st, body, _ = request(v, "POST", "/_venue/clock", json.dumps({"step_ms": 1000}),
                          {"Content-Type": "application/json"})
    assert st == 400 and "wall clock" in body["error"]


def test_wall_clock_refuses_speed_and_paused():
    import subprocess
    import sys

    from tests.plugins.venue import REPO_ROOT
    r = subprocess.run([sys.executable, "-m", "venue", "--port", "0", "--clock", "wall", "--speed", "60"],
                       cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "speed 1" in (r.stdout + r.stderr)
