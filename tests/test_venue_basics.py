"""The venue as a process: CLI, start-up, public market data and authentication, driven by python-binance."""
import asyncio
import subprocess
import sys
import time

import pytest
from binance.exceptions import BinanceAPIException

from tests.plugins.venue import REPO_ROOT, client_class

BTC = "BTCUSDT"


def api_error(fn, *a, **kw) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as ei:
        fn(*a, **kw)
    return ei.value


# ------------------------------------------------------------------------------------------- CLI

def test_help_documents_every_flag():
    out = subprocess.run([sys.executable, "-m", "venue", "--help"], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=30).stdout
    for flag in ("--host", "--port", "--data", "--api-key", "--api-secret", "--balance", "--speed", "--start",
                 "--exchange-info", "--seed", "--symbols", "--allow-remote", "--weight-limit",
                 "--orders-per-min", "--orders-per-10s"):
        assert flag in out


def test_refuses_non_loopback_host():
    r = subprocess.run([sys.executable, "-m", "venue", "--host", "0.0.0.0", "--port", "0"], cwd=REPO_ROOT,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "refusing" in (r.stdout + r.stderr)


def test_ready_line_and_fast_start(venue_factory):
    v = venue_factory(start="2024-02-01")
    # fast because start-up loads no series (the time itself: benchmarks/bench_venue.py)
    assert v.stats()["symbols_loaded"] == 0
    assert v.ready_line.startswith("[venue] ready http://127.0.0.1:")
    assert "symbols=10" in v.ready_line and "speed=1.0" in v.ready_line
    assert "market_time=2024-02-01T00:00" in v.ready_line


# ------------------------------------------------------------------------------------------- public data

def test_construction_ping_time_and_exchange_info(venue):
    c = venue.client()                      # the constructor pings /api/v3/ping
    assert c.ping() == {}
    assert c.futures_ping() == {}
    wall = int(time.time() * 1000)
    assert abs(c.get_server_time()["serverTime"] - wall) < 2000
    # /fapi/v1/time is the WALL clock (clients sign with it), whatever the market clock says
    assert abs(c.futures_time()["serverTime"] - wall) < 2000
    info = c.futures_exchange_info()
    names = [s["symbol"] for s in info["symbols"]]
    assert names[:2] == ["BTCUSDT", "ETHUSDT"] and len(names) == 10
    btc = info["symbols"][0]
    filters = {f["filterType"]: f for f in btc["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10"
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert filters["MIN_NOTIONAL"]["notional"] == "100"
    assert {r["rateLimitType"] for r in info["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS"}
    assert abs(info["serverTime"] - wall) < 2000


def test_market_data_shapes_are_binance_strings(venue):
    venue.reset(paused=True)
    c = venue.client()
    now = venue.market_time_ms()
    pi = c.futures_mark_price(symbol=BTC)
    assert set(pi) >= {"symbol", "markPrice", "indexPrice", "lastFundingRate", "nextFundingTime", "time",
                       "interestRate", "estimatedSettlePrice"}
    assert isinstance(pi["markPrice"], str) and float(pi["markPrice"]) > 0
    assert pi["time"] == now                              # stamped with MARKET time
    assert pi["nextFundingTime"] % (8 * 3_600_000) == 0 and pi["nextFundingTime"] > now
    assert len(c.futures_mark_price()) == 10

    bt = c.futures_orderbook_ticker(symbol=BTC)
    bid, ask, mark = float(bt["bidPrice"]), float(bt["askPrice"]), float(pi["markPrice"])
    assert bid < mark < ask
    spread_bp = (ask - bid) / mark * 1e4
    assert 0.5 < spread_bp < 3                            # ~1 bp for a major
    assert bt["time"] == now

    depth = c.futures_order_book(symbol=BTC, limit=20)
    assert depth["T"] == now and depth["E"] == now
    assert len(depth["bids"]) == len(depth["asks"]) == 20
    assert depth["asks"][0][0] == bt["askPrice"] and depth["bids"][0][0] == bt["bidPrice"]
    qtys = [float(q) for _, q in depth["asks"]]
    assert qtys[-1] > qtys[0]                             # depth grows away from the touch
    prices = [float(p) for p, _ in depth["asks"]]
    assert prices == sorted(prices)

    tp = c.futures_symbol_ticker(symbol=BTC)              # python-binance uses /fapi/v2/ticker/price
    assert float(tp["price"]) == mark and tp["time"] == now
    assert len(c.futures_symbol_ticker()) == 10
    t24 = c.futures_ticker(symbol=BTC)
    assert float(t24["lowPrice"]) <= mark <= float(t24["highPrice"])


def test_klines_stop_at_market_time(venue):
    venue.reset(paused=True)
    c = venue.client()
    now = venue.market_time_ms()
    for interval, ms in (("1h", 3_600_000), ("4h", 14_400_000), ("15m", 900_000), ("1d", 86_400_000)):
        rows = c.futures_klines(symbol=BTC, interval=interval, limit=50)
        assert 0 < len(rows) <= 50
        assert all(len(r) == 12 for r in rows)
        assert rows[-1][0] <= now < rows[-1][0] + ms       # the current bar is the last one
        assert all(b[0] - a[0] == ms for a, b in zip(rows, rows[1:]))
        assert all(isinstance(x, str) for x in rows[-1][1:6])
        for r in rows:
            o, h, l, cl = map(float, r[1:5])
            assert l <= min(o, cl) and h >= max(o, cl)
    # a window reaching into the future is cut at market time: no future data leaks
    rows = c.futures_klines(symbol=BTC, interval="1h", startTime=now - 3 * 3_600_000,
                            endTime=now + 30 * 86_400_000, limit=1000)
    assert rows[-1][0] <= now and len(rows) <= 4
    last = c.futures_klines(symbol=BTC, interval="1h", limit=1)[-1]
    assert float(last[4]) == float(c.futures_mark_price(symbol=BTC)["markPrice"])   # partial bar: close = now
    # funding history never shows an event after market time
    fr = c.futures_funding_rate(symbol=BTC, limit=5)
    assert fr and all(r["fundingTime"] <= now for r in fr)
    assert set(fr[0]) == {"symbol", "fundingRate", "fundingTime", "markPrice"}


def test_klines_intervals_aggregate_exactly(venue):
    venue.reset(paused=True)
    c = venue.client()
    h1 = c.futures_klines(symbol="ETHUSDT", interval="1h", limit=200)[:-1]
    h4 = c.futures_klines(symbol="ETHUSDT", interval="4h", limit=40)[:-1]
    by_open = {r[0]: r for r in h1}
    checked = 0
    for r in h4:
        parts = [by_open.get(r[0] + i * 3_600_000) for i in range(4)]
        if None in parts:
            continue
        assert r[1] == parts[0][1] and r[4] == parts[-1][4]
        assert float(r[2]) == max(float(p[2]) for p in parts)
        assert float(r[3]) == min(float(p[3]) for p in parts)
        checked += 1
    assert checked >= 10


def test_bad_market_data_params(venue):
    c = venue.client()
    assert api_error(c.futures_klines, symbol="NOPEUSDT", interval="1h").code == -1121
    assert api_error(c.futures_klines, symbol=BTC, interval="7h").code == -1120
    assert api_error(c.futures_klines, symbol=BTC).code == -1102
    assert api_error(c.futures_mark_price, symbol="NOPEUSDT").code == -1121


# ------------------------------------------------------------------------------------------- auth

def test_authentication_errors(venue):
    venue.reset()
    cls = client_class(venue.base_url)
    e = api_error(cls(venue.api_key, "wrong-secret").futures_account_balance)
    assert (e.status_code, e.code, e.message) == (400, -1022, "Signature for this request is not valid.")
    e = api_error(cls("unknown-key", "x").futures_account_balance)
    assert (e.status_code, e.code, e.message) == (401, -2015, "Invalid API-key, IP, or permissions for action.")
    e = api_error(cls(None, venue.api_secret).futures_account_balance)   # no X-MBX-APIKEY header
    assert (e.status_code, e.code) == (401, -2014)
    # public endpoints need no key at all
    assert cls(None, None).futures_ping() == {}


def test_timestamp_and_recv_window(venue):
    venue.reset()
    c = venue.client()
    c.timestamp_offset = -20_000                         # client clock 20 s behind, recvWindow 10 s
    e = api_error(c.futures_account_balance)
    assert (e.code, e.message) == (-1021, "Timestamp for this request is outside of the recvWindow.")
    c.timestamp_offset = 5_000                           # client clock ahead by more than 1 s
    e = api_error(c.futures_account_balance)
    assert e.code == -1021 and "ahead of the server" in e.message
    c.timestamp_offset = 0
    c.REQUEST_RECVWINDOW = 70_000                        # max is 60000
    assert api_error(c.futures_account_balance).code == -1130
    c.REQUEST_RECVWINDOW = 60_000
    c.timestamp_offset = -30_000                         # inside a 60 s window: accepted
    assert c.futures_account_balance()[0]["asset"] == "USDT"


def test_clock_skew_drill_is_cured_by_resyncing_offset(venue):
    venue.reset()
    venue.fault(clock_skew_ms=-30_000)                   # the venue's clock runs 30 s behind
    try:
        c = venue.client()
        e = api_error(c.futures_account_balance)
        assert e.code == -1021
        c.timestamp_offset = c.futures_time()["serverTime"] - int(time.time() * 1000)   # what clients do
        assert c.futures_account_balance()
    finally:
        venue.clear_faults()


def test_async_client_works_unchanged(venue):
    venue.reset()

    async def run():
        ac = await venue.async_client()           # create() pings /api/v3/ping and reads /api/v3/time
        try:
            mark = await ac.futures_mark_price(symbol="ETHUSDT")
            o = await ac.futures_create_order(symbol="ETHUSDT", side="BUY", type="MARKET", quantity="0.01",
                                              newOrderRespType="RESULT")
            pos = await ac.futures_position_information(symbol="ETHUSDT")
            bal = await ac.futures_account_balance()
            mode = await ac.futures_get_position_mode()
            return mark, o, pos, bal, mode
        finally:
            await ac.close_connection()

    mark, o, pos, bal, mode = asyncio.run(run())
    assert o["status"] == "FILLED" and o["executedQty"] == "0.010"
    assert pos[0]["positionAmt"] == "0.010"
    assert bal[0]["asset"] == "USDT" and mode == {"dualSidePosition": False}


@pytest.mark.shared_data
def test_full_mainnet_exchange_info_and_hundreds_of_symbols(venue_factory, shared_data_dir):
    """--exchange-info with the real 347-symbol document and --symbols all: every USDT perpetual replays
    (synthetic prices), start-up stays fast because series load lazily."""
    v = venue_factory(paused=True, symbols="all",
                      extra=["--exchange-info", str(shared_data_dir / "exchange" / "exchangeInfo-fapi.json")])
    assert v.stats()["symbols_loaded"] == 0
    assert "symbols=297" in v.ready_line
    c = v.client()
    info = c.futures_exchange_info()
    assert len(info["symbols"]) == 297
    assert info["rateLimits"][0]["limit"] == 2400
    for sym in ("1000PEPEUSDT", "ORDIUSDT", "BTCUSDT"):
        spec = [s for s in info["symbols"] if s["symbol"] == sym][0]
        tick = float([f for f in spec["filters"] if f["filterType"] == "PRICE_FILTER"][0]["tickSize"])
        bt = c.futures_orderbook_ticker(symbol=sym)
        mid = (float(bt["bidPrice"]) + float(bt["askPrice"])) / 2
        assert 1_000 < mid / tick < 10_000_000           # a sensible price level for the tick
    assert v.stats()["symbols_loaded"] == 3
