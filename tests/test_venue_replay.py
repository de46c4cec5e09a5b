"""Replay, clocks, resting fills, triggers, funding, PnL and liquidation on a hand-made data set, so every
number can be computed by hand. One test replays the real ../shared/data funding history."""
import csv
import gzip
import time
from decimal import Decimal as D

import pytest

from tests.plugins.venue import write_dataset

H = 3_600_000
T0 = 1_704_067_200_000                     # 2024-01-01 00:00 UTC
START = T0 + 6 * H                         # the venue starts (paused) at 06:00
BTC, ETH = "BTCUSDT", "ETHUSDT"
Q8 = D("1e-8")


def btc_bars():
    bars = []
    for i in range(72):
        t = T0 + i * H
        if i == 10:        # dips: O 50000 -> H 50100 (10:20) -> L 49000 (10:40) -> C 49500
            bars.append((t, 50000.0, 50100.0, 49000.0, 49500.0, 500.0))
        elif i == 20:      # crash: O -> H 50050 -> L 47000 -> C 48000
            bars.append((t, 50000.0, 50050.0, 47000.0, 48000.0, 900.0))
        elif i == 30:      # rally: O -> L 49900 -> H 52000 -> C 51900
            bars.append((t, 50000.0, 52000.0, 49900.0, 51900.0, 700.0))
        else:
            bars.append((t, 50000.0, 50000.0, 50000.0, 50000.0, 100.0))
    return bars


FUNDING = {T0 + 8 * H: 0.0001, T0 + 16 * H: -0.0002, T0 + 24 * H: 0.0003, T0 + 32 * H: 0.0001}


@pytest.fixture(scope="module")
def crafted(tmp_path_factory, venue_factory):
    data = write_dataset(tmp_path_factory.mktemp("venue-data"), klines={
        BTC: btc_bars(),
        ETH: [(T0 + i * H, 2500.0, 2500.0, 2500.0, 2500.0, 1000.0) for i in range(72)],
    }, funding={BTC: sorted(FUNDING.items()), ETH: sorted(FUNDING.items())})
    return venue_factory(data=data, start=START, paused=True)


@pytest.fixture
def v(crafted):
    crafted.reset(paused=True)          # back to 06:00, paused, fresh 10000 USDT account
    return crafted


def wallet(c):
    return D(c.futures_account_balance()[0]["balance"])


# ------------------------------------------------------------------------------------------- clocks

def test_clock_step_pause_and_no_future_data(v):
    c = v.client()
    assert v.market_time_ms() == START
    k = c.futures_klines(symbol=BTC, interval="1h", limit=1000)
    assert len(k) == 7 and k[-1][0] == START                        # 00:00 .. 06:00, nothing later
    assert c.futures_klines(symbol=BTC, interval="1h", startTime=T0 + 10 * H) == []
    assert c.futures_mark_price(symbol=BTC)["time"] == START
    assert abs(c.futures_time()["serverTime"] - int(time.time() * 1000)) < 2000   # wall clock
    # intrabar path O -> H -> L -> C (close < open): 10:20 is the high, 10:40 the low
    v.clock(to_ms=T0 + 10 * H + 20 * 60_000)
    assert c.futures_mark_price(symbol=BTC)["markPrice"] == "50100.00000000"
    v.clock(step_ms=10 * 60_000)                                     # 10:30, halfway down to the low
    assert c.futures_mark_price(symbol=BTC)["markPrice"] == "49550.00000000"
    bar = c.futures_klines(symbol=BTC, interval="1h", limit=1)[0]
    assert bar[0] == T0 + 10 * H and bar[1:5] == ["50000.0", "50100.0", "49550.0", "49550.0"]
    assert float(bar[5]) == pytest.approx(250.0, rel=1e-6)           # half the bar's volume so far
    v.clock(step_ms=10 * 60_000)
    assert c.futures_mark_price(symbol=BTC)["markPrice"] == "49000.00000000"
    before = v.market_time_ms()
    time.sleep(0.2)
    assert v.market_time_ms() == before                              # paused
    with pytest.raises(AssertionError, match="400"):
        v.clock(to_ms=START)                                         # never backwards
    fr = c.futures_funding_rate(symbol=BTC, endTime=T0 + 40 * H)
    assert [r["fundingTime"] for r in fr] == [T0 + 8 * H]            # only settled events
    assert fr[0]["fundingRate"] == "0.00010000"


def test_accelerated_clock_runs_an_hour_per_second(venue):
    venue.reset(speed=3600)
    c = venue.client()
    a = venue.clock()                      # market and wall time read at the same instant
    t0 = c.futures_mark_price(symbol=BTC)["time"]
    time.sleep(1.0)
    t1 = c.futures_mark_price(symbol=BTC)["time"]
    b = venue.clock()
    ratio = (b["market_time_ms"] - a["market_time_ms"]) / (b["wall_ms"] - a["wall_ms"])
    # 5 %: under a loaded 2-core CI the two clock reads inside one admin answer can be a few ms apart
    assert ratio == pytest.approx(3600, rel=0.05)         # market seconds per wall second
    assert t1 - t0 >= 0.9 * H                             # premiumIndex.time moved ~an hour
    # signing still uses the wall clock, so the client's offset stays ~0 at any speed
    assert abs(c.futures_time()["serverTime"] - int(time.time() * 1000)) < 2000
    assert c.futures_account_balance()
    venue.reset(speed=1.0)


def test_background_ticker_fills_without_requests(venue):
    venue.reset(paused=True)
    c = venue.client()
    bid = D(c.futures_orderbook_ticker(symbol=BTC)["bidPrice"])
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                           price=str(bid), newClientOrderId="tick-1")
    venue.clock(speed=36_000, resume=True)               # 10 market hours per wall second
    deadline = time.monotonic() + 5
    while venue.stats()["fills"] == 0 and time.monotonic() < deadline:   # admin stats do not sync
        time.sleep(0.05)
    venue.clock(pause=True, speed=1)
    assert venue.stats()["fills"] == 1
    assert c.futures_get_order(symbol=BTC, origClientOrderId="tick-1")["status"] == "FILLED"


# ------------------------------------------------------------------------------------------- fills

def test_resting_limits_fill_only_when_traded_through(v):
    c = v.client()
    buy = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010",
                                 price="49500.0")
    deep = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010",
                                  price="48999.0")
    at_high = c.futures_create_order(symbol=BTC, side="SELL", type="LIMIT", timeInForce="GTX", quantity="0.010",
                                     price="50100.0")
    v.clock(to_ms=T0 + 11 * H)
    assert c.futures_get_order(symbol=BTC, orderId=buy["orderId"])["status"] == "FILLED"
    assert c.futures_get_order(symbol=BTC, orderId=deep["orderId"])["status"] == "NEW"      # low 49000 > 48999
    assert c.futures_get_order(symbol=BTC, orderId=at_high["orderId"])["status"] == "NEW"   # touched, not through
    (t,) = c.futures_account_trades(symbol=BTC)
    assert t["maker"] is True and t["price"] == "49500.0"
    assert D(t["commission"]) == D("0.01") * D("49500") * D("0.0002")                     # 0.099
    # the fill is stamped when the path crossed 49500 on its way from 50100 (10:20) to 49000 (10:40)
    assert t["time"] == T0 + 10 * H + 20 * 60_000 + 654_546
    assert wallet(v.client()) == D("10000") - D("0.099")


def test_stop_and_take_profit_trigger_on_the_path(v):
    c = v.client()
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.02")          # at 50002.5
    sl = c.futures_create_order(symbol=BTC, side="SELL", type="STOP_MARKET", stopPrice="49000.0",
                                quantity="0.01", reduceOnly="true")
    tp = c.futures_create_order(symbol=BTC, side="SELL", type="TAKE_PROFIT_MARKET", stopPrice="51000.0",
                                quantity="0.01", reduceOnly="true")
    v.clock(to_ms=T0 + 11 * H)
    s = c.futures_get_order(symbol=BTC, algoId=sl["algoId"])
    assert s["algoStatus"] == "FINISHED" and s["triggerTime"] == T0 + 10 * H + 40 * 60_000
    actual = c.futures_get_order(symbol=BTC, orderId=int(s["actualOrderId"]))
    assert actual["status"] == "FILLED" and actual["origType"] == "STOP_MARKET"
    assert actual["avgPrice"].startswith("48997.5")        # bid of the book around the trigger price 49000
    assert c.futures_get_algo_order(algoId=tp["algoId"])["algoStatus"] == "NEW"
    v.clock(to_ms=T0 + 31 * H)                             # the rally bar reaches 52000
    t = c.futures_get_algo_order(algoId=tp["algoId"])
    assert t["algoStatus"] == "FINISHED" and D(t["actualPrice"]) == D("50997.4")   # floor(51000 x 0.99995)
    assert c.futures_position_information(symbol=BTC) == []


def test_hedge_short_with_close_position_stop(v):
    c = v.client()
    c.futures_change_position_mode(dualSidePosition="true")
    c.futures_create_order(symbol=BTC, side="SELL", positionSide="SHORT", type="MARKET", quantity="0.02")  # @ 49997.5
    c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="MARKET", quantity="0.01")    # @ 50002.5
    sl = c.futures_create_order(symbol=BTC, side="BUY", positionSide="SHORT", type="STOP_MARKET",
                                stopPrice="51500.0", closePosition="true")
    v.clock(to_ms=T0 + 31 * H)                            # the rally bar crosses 51500 at 30:40 + ...
    s = c.futures_get_algo_order(algoId=sl["algoId"])
    assert s["algoStatus"] == "FINISHED"
    assert D(s["actualPrice"]) == D("51502.6")            # ceil(51500 x 1.00005) on the 0.1 tick
    legs = {p["positionSide"]: p["positionAmt"] for p in c.futures_position_information(symbol=BTC)}
    assert legs == {"LONG": "0.010"}                      # the short is closed, the long untouched
    t = c.futures_account_trades(symbol=BTC)[-1]
    assert t["side"] == "BUY" and t["positionSide"] == "SHORT"
    assert D(t["realizedPnl"]) == (D("49997.5") - D("51502.6")) * D("0.02")


# ------------------------------------------------------------------------------------------- funding / PnL

def test_funding_and_round_trip_hand_computed(v):
    c = v.client()
    bt = c.futures_orderbook_ticker(symbol=BTC)
    assert (bt["bidPrice"], bt["askPrice"]) == ("49997.5", "50002.5")   # 1 bp around 50000 on the 0.1 tick
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")        # long 0.01 @ 50002.5
    c.futures_create_order(symbol=ETH, side="SELL", type="MARKET", quantity="1.000")       # short 1 @ 2499.87
    fee_btc_in = D("0.25001250")      # 0.01 x 50002.5 x 0.0005
    fee_eth_in = D("1.24993500")      # 1 x 2499.87 x 0.0005
    assert wallet(c) == D("10000") - fee_btc_in - fee_eth_in

    v.clock(to_ms=T0 + 8 * H)         # 08:00 funding, rate +0.0001, mark 50000 / 2500
    # long pays 0.01 x 50000 x 0.0001 = 0.05; short receives 1 x 2500 x 0.0001 = 0.25
    assert wallet(c) == D("10000") - fee_btc_in - fee_eth_in - D("0.05") + D("0.25")
    fund = c.futures_income_history(incomeType="FUNDING_FEE")
    assert sorted((r["symbol"], r["income"], r["time"]) for r in fund) == [
        (BTC, "-0.05000000", T0 + 8 * H), (ETH, "0.25000000", T0 + 8 * H)]

    c.futures_create_order(symbol=BTC, side="SELL", type="MARKET", quantity="0.010")       # @ 49997.5
    c.futures_create_order(symbol=ETH, side="BUY", type="MARKET", quantity="1.000")        # @ 2500.13
    btc_trade = c.futures_account_trades(symbol=BTC)[-1]
    eth_trade = c.futures_account_trades(symbol=ETH)[-1]
    assert btc_trade["realizedPnl"] == "-0.05000000"      # (49997.5 - 50002.5) x 0.01
    assert eth_trade["realizedPnl"] == "-0.26000000"      # (2499.87 - 2500.13) x 1
    fee_btc_out, fee_eth_out = D("0.24998750"), D("1.25006500")
    expected = (D("10000") - fee_btc_in - fee_eth_in - D("0.05") + D("0.25")
                - D("0.05") - fee_btc_out - D("0.26") - fee_eth_out)
    assert wallet(c) == expected == D("9996.89")     # fees 3.00, PnL -0.31, funding +0.20
    v.clock(to_ms=T0 + 17 * H)                            # no position: the 16:00 funding costs nothing
    assert wallet(c) == expected


def test_isolated_liquidation(v):
    c = v.client()
    c.futures_change_margin_type(symbol=BTC, marginType="ISOLATED")
    c.futures_change_leverage(symbol=BTC, leverage=20)
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.100")        # @ 50002.5
    pos = c.futures_position_information(symbol=BTC)[0]
    assert D(pos["isolatedWallet"]) == D("250.0125")                                     # 5000.25 / 20
    # liquidation when 250.0125 + (P - 50002.5) x 0.1 <= 0.1 x P x 0.025  ->  P <= 48720.38...
    assert D(pos["liquidationPrice"]).quantize(D("0.01")) == D("48720.38")
    v.clock(to_ms=T0 + 11 * H)                            # the 49000 dip does not liquidate
    assert c.futures_position_information(symbol=BTC)[0]["positionAmt"] == "0.100"
    v.clock(to_ms=T0 + 21 * H)                            # the 47000 crash does
    assert c.futures_position_information(symbol=BTC) == []
    stats = v.stats()
    assert stats["liquidations"] == 1
    ev = stats["liquidation_events"][0]
    assert (ev["symbol"], ev["price"], ev["marginType"]) == (BTC, "47000.0", "ISOLATED")
    # funding was paid out of the isolated margin, and the whole isolated margin is lost
    assert wallet(c) == D("10000") - D("2.50012500") - D("250.0125")
    liq_order = [o for o in c.futures_get_all_orders(symbol=BTC) if o["origType"] == "LIQUIDATION"][0]
    assert liq_order["clientOrderId"].startswith("autoclose-") and liq_order["status"] == "FILLED"


def test_cross_liquidation(v):
    v.reset(paused=True, balance=400)
    c = v.client()
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.100")        # @ 50002.5
    v.clock(to_ms=T0 + 21 * H)
    assert c.futures_position_information(symbol=BTC) == []
    # wallet: 400 - fee 2.500125 - funding(08:00 +0.0001 -> pays 0.5; 16:00 -0.0002 -> receives 1.0)
    #         + realized (47000 - 50002.5) x 0.1 - clearance fee 0.1 x 47000 x 0.0125
    expected = D("400") - D("2.500125") - D("0.5") + D("1.0") - D("300.25") - D("58.75")
    assert wallet(c) == expected == D("38.999875")
    assert v.stats()["liquidation_events"][-1]["marginType"] == "CROSSED"


def test_deposit(v):
    v.admin("POST", "/_venue/account/deposit", {"amount": "123.45"})
    assert wallet(v.client()) == D("10123.45")


# ------------------------------------------------------------------------------------------- real data

@pytest.mark.shared_data
def test_real_funding_history(venue_factory, shared_data_dir):
    """Long 0.01 BTC through a real 08:00 funding event: wallet change = -0.01 x mark x real rate."""
    start = 1_709_276_400_000                           # 2024-03-01 07:00 UTC
    fund_t = start + H
    v = venue_factory(data=shared_data_dir, symbols="BTCUSDT", start=start, paused=True)
    with open(shared_data_dir / "funding" / "BTCUSDT-funding.csv") as f:
        rate = {int(r["funding_time_ms"]): r["funding_rate"] for r in csv.DictReader(f)}[fund_t]
    with gzip.open(shared_data_dir / "klines" / "BTCUSDT-1h.csv.gz", "rt") as f:
        opens = {int(r["open_time_ms"]): r["open"] for r in csv.DictReader(f) if
                 start <= int(r["open_time_ms"]) <= fund_t}
    c = v.client()
    assert D(c.futures_mark_price(symbol=BTC)["markPrice"]) == D(opens[start]).quantize(D("0.1"))
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
    before = wallet(c)
    v.clock(to_ms=fund_t)
    mark = D(opens[fund_t]).quantize(D("0.1"))
    assert wallet(c) == before - (D("0.01") * mark * D(rate)).quantize(Q8)
    assert D(c.futures_funding_rate(symbol=BTC, limit=1)[0]["fundingRate"]) == D(rate)


@pytest.mark.shared_data
def test_replays_the_real_files_bar_for_bar(venue_factory, shared_data_dir):
    start = 1_735_689_600_000                          # 2025-01-01 00:00 UTC
    v = venue_factory(data=shared_data_dir, symbols="BTCUSDT,ETHUSDT", start=start, paused=True)
    with gzip.open(shared_data_dir / "klines" / "ETHUSDT-1h.csv.gz", "rt") as f:
        rows = [r for r in csv.DictReader(f) if start - 48 * H <= int(r["open_time_ms"]) < start]
    got = v.client().futures_klines(symbol=ETH, interval="1h", startTime=start - 48 * H, limit=48)
    assert [g[0] for g in got] == [int(r["open_time_ms"]) for r in rows]
    for g, r in zip(got, rows):
        assert [float(x) for x in g[1:6]] == pytest.approx(
            [float(r[k]) for k in ("open", "high", "low", "close", "volume")], rel=1e-12)
