"""Faults on demand and Binance rate limiting, seen through the real python-binance client."""
import time

import pytest
import requests
from binance.exceptions import BinanceAPIException

BTC = "BTCUSDT"
ORDER = "/fapi/v1/order"


@pytest.fixture
def v(venue):
    venue.reset(paused=True)
    yield venue
    venue.clear_faults()


def market_buy(c, cid):
    return c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01", newClientOrderId=cid)


def order_exists(c, cid) -> bool:
    try:
        return c.futures_get_order(symbol=BTC, origClientOrderId=cid)["status"] == "FILLED"
    except BinanceAPIException as e:
        assert e.code == -2013
        return False


def fresh_window(period_s: int, need_s: float = 2.0):
    """Fixed rate-limit windows are aligned to the wall clock: do not start a burst right at the edge."""
    left = period_s - time.time() % period_s
    if left < need_s:
        time.sleep(left + 0.05)


# ------------------------------------------------------------------------------------------- ambiguous

def test_ambiguous_dropped_response_blind_retry_duplicates(v):
    c = v.client()
    v.fault(kind="ambiguous", method="POST", path=ORDER, count=1, mode="drop")
    with pytest.raises(requests.exceptions.ConnectionError):
        market_buy(c, "amb-drop")
    # the order was booked: a client that asks by origClientOrderId finds it ...
    assert order_exists(c, "amb-drop")
    # ... while one that retries blindly doubles the position
    market_buy(c, "amb-drop")
    assert c.futures_position_information(symbol=BTC)[0]["positionAmt"] == "0.020"
    assert len(c.futures_get_all_orders(symbol=BTC)) == 2


def test_ambiguous_503_unknown_error(v):
    c = v.client()
    v.fault(kind="ambiguous", path=ORDER, count=1, mode="503")
    with pytest.raises(BinanceAPIException) as ei:
        market_buy(c, "amb-503")
    e = ei.value
    assert e.status_code == 503 and e.message == "Unknown error, please check your request or try again later."
    assert order_exists(c, "amb-503")


def test_ambiguous_timeout(v):
    c = v.client(requests_params={"timeout": 0.4})
    v.fault(kind="ambiguous", path=ORDER, count=1, mode="timeout", hold_ms=1200)
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        market_buy(c, "amb-timeout")
    assert time.monotonic() - t0 < 1.0
    assert order_exists(c, "amb-timeout")


# ------------------------------------------------------------------------------------------- plain faults

def test_errors_that_did_not_execute(v):
    c = v.client(requests_params={"timeout": 0.4})
    v.fault(kind="error", status=503, path=ORDER, count=1)
    with pytest.raises(BinanceAPIException) as ei:
        market_buy(c, "e503")
    assert (ei.value.status_code, ei.value.code) == (503, -1001)
    v.fault(kind="error", status=502, path=ORDER, count=1)
    with pytest.raises(BinanceAPIException) as ei:
        market_buy(c, "e502")
    assert ei.value.status_code == 502
    v.fault(kind="drop", path=ORDER, count=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        market_buy(c, "edrop")
    v.fault(kind="timeout", path=ORDER, count=1, hold_ms=1000)
    with pytest.raises(requests.exceptions.ReadTimeout):
        market_buy(c, "etimeout")
    for cid in ("e503", "e502", "edrop", "etimeout"):
        assert not order_exists(c, cid)
    assert c.futures_get_all_orders(symbol=BTC) == []


def test_fault_targeting_count_and_latency(v):
    c = v.client()
    v.fault(kind="error", status=503, method="POST", path=ORDER, count=2)
    v.fault(kind="latency", path="/fapi/v1/time", latency_ms=1500)
    assert c.futures_ping() == {}                              # other paths unaffected
    for _ in range(2):
        with pytest.raises(BinanceAPIException):
            market_buy(c, f"n-{_}")
    market_buy(c, "n-ok")                                       # the count is used up
    t0 = time.monotonic()
    c.futures_time()
    assert time.monotonic() - t0 >= 1.5  # the delay is a behaviour: the answer cannot come before it
    faults = v.admin("GET", "/_venue/faults")
    assert [f["kind"] for f in faults["rules"]] == ["latency"]
    v.clear_faults()
    assert v.admin("GET", "/_venue/faults")["rules"] == []
    t0 = time.monotonic()
    c.futures_time()
    assert time.monotonic() - t0 < 1.5  # cleared: no delay added (a loose bound: only the rule's absence)


def test_forced_throttle_ban_and_1021(v):
    c = v.client()
    v.fault(kind="rate_limit", count=1)
    with pytest.raises(BinanceAPIException) as ei:
        c.futures_ping()
    assert ei.value.status_code == 429 and ei.value.code == -1003
    assert int(ei.value.response.headers["Retry-After"]) >= 1
    v.fault(kind="ban", count=1)
    with pytest.raises(BinanceAPIException) as ei:
        c.futures_ping()
    assert ei.value.status_code == 418 and "banned until" in ei.value.message
    v.reset(paused=True)                                        # lifts the ban
    v.fault(kind="reject_1021", path="/fapi/v3/balance", count=1)
    with pytest.raises(BinanceAPIException) as ei:
        c.futures_account_balance()
    assert ei.value.code == -1021
    assert c.futures_account_balance()


def test_kline_gap_withholds_one_symbols_rows_as_binance_does(v):
    """A kline_gap rule: no rows for the window (Binance's answer for a period without bars), `limit` still
    filled from the rows around it, other symbols and other requests untouched, gone when cleared."""
    c = v.client()
    H = 3_600_000
    full = [k[0] for k in c.futures_klines(symbol=BTC, interval="1h", limit=30)]
    assert all(b - a == H for a, b in zip(full, full[1:]))
    hole = (full[10], full[13])  # bars 10, 11, 12 withheld
    v.fault(kind="kline_gap", symbol=BTC, start_ms=hole[0], end_ms=hole[1])
    start = [k[0] for k in c.futures_klines(symbol=BTC, interval="1h", startTime=full[5], limit=10)]
    assert start == full[5:10] + full[13:18]  # from startTime on, 10 rows, the hole skipped
    newest = [k[0] for k in c.futures_klines(symbol=BTC, interval="1h", limit=27)]
    assert newest == full[:10] + full[13:]  # the newest 27 rows that exist
    assert [k[0] for k in c.futures_klines(symbol=BTC, interval="1h", startTime=hole[0], endTime=hole[1] - 1)] == []
    assert [k[0] for k in c.futures_klines(symbol="ETHUSDT", interval="1h", limit=30)][10:13] == full[10:13]
    assert c.futures_ping() == {}  # a data hole, not a request fault: nothing else fails and no count is used
    assert [f["kind"] for f in v.admin("GET", "/_venue/faults")["rules"]] == ["kline_gap"]
    for bad in ({"start_ms": hole[1], "end_ms": hole[0]}, {"start_ms": hole[0]},
                {"start_ms": hole[0], "end_ms": hole[1], "count": 1}):
        with pytest.raises(AssertionError):
            v.fault(kind="kline_gap", symbol=BTC, **bad)
    with pytest.raises(AssertionError):
        v.fault(kind="error", status=503, symbol=BTC)  # gap fields belong to kline_gap only
    v.clear_faults()
    assert [k[0] for k in c.futures_klines(symbol=BTC, interval="1h", limit=30)] == full


def test_stats(v):
    c = v.client()
    market_buy(c, "s-1")
    with pytest.raises(BinanceAPIException):
        c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.0001")
    c.futures_create_order(symbol=BTC, side="SELL", type="STOP_MARKET", stopPrice="1000", closePosition="true")
    st = v.stats()
    assert st["requests"][ORDER] == 2 and st["requests"]["/fapi/v1/algoOrder"] == 1
    assert st["orders_received"] == {"MARKET": 2, "STOP_MARKET": 1}
    assert st["orders_accepted"] == {"MARKET": 1, "STOP_MARKET": 1}
    assert st["orders_rejected"] == {"MARKET": 1} and st["rejects_by_code"] == {"-1111": 1}
    assert st["fills"] == 1 and st["funding_events"] == 0 and st["liquidations"] == 0
    assert set(st) >= {"market_time_ms", "wall_ms", "speed", "paused"}


# ------------------------------------------------------------------------------------------- rate limits

def test_request_weight_429_then_418(venue_factory):
    v = venue_factory(extra=["--weight-limit", "20", "--ban-after", "3", "--ban-seconds", "30"])
    c = v.client()                                  # construction ping: weight 1
    info = c.futures_exchange_info()
    assert info["rateLimits"][0] == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                                     "limit": 20}
    fresh_window(60, need_s=3)
    c.futures_ping()
    used = int(c.response.headers["X-MBX-USED-WEIGHT-1M"])
    c.futures_klines(symbol=BTC, interval="1h", limit=100)          # weight 2
    assert int(c.response.headers["X-MBX-USED-WEIGHT-1M"]) == used + 2
    with pytest.raises(BinanceAPIException) as ei:
        for _ in range(30):
            c.futures_ping()
    e = ei.value
    assert e.status_code == 429 and e.code == -1003
    assert 1 <= int(e.response.headers["Retry-After"]) <= 60
    # keep going while told to back off: banned
    codes = []
    for _ in range(4):
        try:
            c.futures_ping()
        except BinanceAPIException as err:
            codes.append(err.status_code)
            last = err
    assert codes[:2] == [429, 429] and codes[-1] == 418
    assert last.code == -1003 and "IP banned until" in last.message
    assert int(last.response.headers["Retry-After"]) > 1
    assert v.stats()["responses"]["418"] >= 1


def test_order_rate_limit(venue_factory):
    v = venue_factory(paused=True, extra=["--orders-per-10s", "3"])
    c = v.client()
    fresh_window(10, need_s=3)
    for i in range(3):
        market_buy(c, f"rl-{i}")
        assert c.response.headers["X-MBX-ORDER-COUNT-10S"] == str(i + 1)
        assert c.response.headers["X-MBX-ORDER-COUNT-1M"] == str(i + 1)
    with pytest.raises(BinanceAPIException) as ei:
        market_buy(c, "rl-3")
    e = ei.value
    assert e.status_code == 429 and e.code == -1015
    assert e.message == "Too many new orders; current limit is 3 orders per 10 SECOND."
    assert "Retry-After" in e.response.headers
    assert c.futures_ping() == {}                  # weight is a separate budget
