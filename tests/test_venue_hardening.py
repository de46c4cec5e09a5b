"""Hostile input against the venue (docs/VENUE.md "Bad input"): never a 500 or a traceback, strict
full-match parsing, admin calls validated before they change anything, CSRF / DNS-rebinding guards."""
import json
import time

import pytest

from tests.plugins.venue import write_dataset
from tests.venue_http import admin_raw, raw, request

BTC = "BTCUSDT"
HOUR = 3_600_000
T0 = 1_704_067_200_000          # 2024-01-01


@pytest.fixture(scope="module")
def v(venue_factory):
    return venue_factory(paused=True, extra=["--weight-limit", "100000"])


@pytest.fixture
def clean(v):
    v.reset(paused=True)
    return v


def order(**kw):
    p = {"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
         "price": "30000"}
    p.update(kw)
    return p


def code(resp):
    status, body, _ = resp
    assert status != 500, body
    return body.get("code") if isinstance(body, dict) else None


def open_orders(v):
    status, body, _ = raw(v, "GET", "/fapi/v1/openOrders", {"symbol": BTC})
    assert status == 200, body
    return body


def no_traceback(v):
    assert "Traceback" not in v.stderr_tail(20000)


# ------------------------------------------------------------------------------ never a 500
def test_non_ascii_signature_is_1022_not_500(clean):
    q = f"symbol={BTC}&timestamp={int(time.time() * 1000)}&signature=%C3%A9" + "a" * 63
    assert code(request(clean, "GET", "/fapi/v1/openOrders?" + q, headers={"X-MBX-APIKEY": clean.api_key})) == -1022
    b = f"symbol={BTC}&timestamp={int(time.time() * 1000)}&signature=" + "é" * 64      # raw UTF-8 in a body
    assert code(request(clean, "POST", "/fapi/v1/leverage", b.encode(),
                        {"X-MBX-APIKEY": clean.api_key, "Content-Type": "application/x-www-form-urlencoded"})) == -1022
    no_traceback(clean)


def test_body_over_one_mib_is_413(clean):
    status, body, _ = raw(clean, "POST", "/fapi/v1/order", order(), body="a=" + "x" * (1 << 20))
    assert status == 413 and body["code"] == -1101
    status, body, _ = admin_raw(clean, "POST", "/_venue/account/deposit", json.dumps({"amount": "1" * (1 << 20)}))
    assert status == 413
    no_traceback(clean)


def test_body_that_is_not_utf8_is_1100(clean):
    status, body, _ = request(clean, "POST", "/fapi/v1/order", b"symbol=\xff\xfe",
                              {"X-MBX-APIKEY": clean.api_key, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and body["code"] == -1100


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"reset"', b"42", b"null", b"{", b"[" * 5000, b'{"balance": NaN}'])
def test_admin_body_that_is_not_an_object_is_400_and_changes_nothing(clean, payload):
    before = clean.admin("GET", "/_venue/clock")
    status, body, _ = admin_raw(clean, "POST", "/_venue/reset", payload)
    assert status == 400 and "error" in body
    assert clean.admin("GET", "/_venue/clock")["market_time_ms"] == before["market_time_ms"]
    no_traceback(clean)


# ------------------------------------------------------------------------------ strict parsing
@pytest.mark.parametrize("qty", ["0.002\n", "0.002 ", " 0.002", "0.002\x00", "0,002", "1e-3", "0.00２", "+0.002"])
def test_quantity_must_match_in_full(clean, qty):
    assert code(raw(clean, "POST", "/fapi/v1/order", order(quantity=qty))) == -1100
    assert open_orders(clean) == []


@pytest.mark.parametrize("cid", ["abc\n", "abc ", "ab\tc", "é", "a" * 36 + "\n"])
def test_client_order_id_must_match_in_full(clean, cid):
    assert code(raw(clean, "POST", "/fapi/v1/order", order(newClientOrderId=cid))) in (-1100, -4015)
    assert open_orders(clean) == []


@pytest.mark.parametrize("ts", ["1_000", "１７０００", " 1000", "1000\n", "+1000", "1e12"])
def test_timestamp_needs_ascii_digits(clean, ts):
    assert code(raw(clean, "GET", "/fapi/v1/openOrders", {"symbol": BTC, "timestamp": ts})) == -1102


@pytest.mark.parametrize("rw", ["5_000", "５000", "5000\n", "0", "-1", "60001"])
def test_recv_window_strict(clean, rw):
    assert code(raw(clean, "GET", "/fapi/v1/openOrders", {"symbol": BTC, "recvWindow": rw})) == -1130


@pytest.mark.parametrize("lev", ["1_0", "２０", "10\n", " 10", "0", "126", "-5", "10.0"])
def test_leverage_strict(clean, lev):
    assert code(raw(clean, "POST", "/fapi/v1/leverage", {"symbol": BTC, "leverage": lev})) == -4028
    status, rows, _ = raw(clean, "GET", "/fapi/v2/positionRisk", {"symbol": BTC})
    assert rows[0]["leverage"] == "20"


@pytest.mark.parametrize("path,params", [
    ("/fapi/v1/allOrders", {"symbol": BTC}), ("/fapi/v1/userTrades", {"symbol": BTC}),
    ("/fapi/v1/income", {}), ("/fapi/v1/klines", {"symbol": BTC, "interval": "1h"}),
    ("/fapi/v1/fundingRate", {"symbol": BTC}), ("/fapi/v1/depth", {"symbol": BTC}),
])
@pytest.mark.parametrize("limit", ["0", "-1", "-500", "1_0", "５", "10\n"])
def test_limit_must_be_positive_and_strict(clean, path, params, limit):
    signed = path in ("/fapi/v1/allOrders", "/fapi/v1/userTrades", "/fapi/v1/income")
    assert code(raw(clean, "GET", path, {**params, "limit": limit}, signed=signed)) == -1130


@pytest.mark.parametrize("name", ["startTime", "endTime", "orderId", "fromId"])
def test_ids_and_times_strict(clean, name):
    assert code(raw(clean, "GET", "/fapi/v1/userTrades", {"symbol": BTC, name: "1_0"})) == -1130


# ------------------------------------------------------------------------------ signing and parameters
def test_parameter_in_query_and_body_is_1101(clean):
    p = order()
    enc = "&".join(f"{k}={val}" for k, val in p.items()) + f"&timestamp={int(time.time() * 1000)}"
    resp = raw(clean, "POST", "/fapi/v1/order", query="symbol=BTCUSDT", body=enc)
    assert code(resp) == -1101 and resp[1]["msg"] == "Duplicate values for a parameter detected."
    assert open_orders(clean) == []


def test_resplit_signed_bytes_do_not_verify_into_another_request(clean):
    """totalParams = query + body: moving the split point inside a value keeps the signature valid, so the
    parse must catch it (the junk half becomes a parameter no order endpoint reads)."""
    ts = int(time.time() * 1000)
    total = f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&timestamp={ts}"
    cut = total.index("price=3") + len("price=3")
    resp = raw(clean, "POST", "/fapi/v1/order", query=total[:cut], body=total[cut:])
    assert code(resp) in (-1101, -1104, -1102, -1100)
    assert open_orders(clean) == []


def test_unknown_parameter_on_order_endpoints_is_1104(clean):
    resp = raw(clean, "POST", "/fapi/v1/order", order(junk="1"))
    assert code(resp) == -1104
    assert resp[1]["msg"] == "Not all sent parameters were read; read '8' parameter(s) but was sent '9'."
    assert open_orders(clean) == []
    assert code(raw(clean, "GET", "/fapi/v1/order", {"symbol": BTC, "orderId": "1", "x": "y"})) == -1104
    assert code(raw(clean, "POST", "/fapi/v1/algoOrder", {"algoType": "CONDITIONAL", "symbol": BTC, "side": "SELL",
                                                          "type": "STOP_MARKET", "triggerPrice": "1000",
                                                          "quantity": "0.002", "foo": "bar"})) == -1104
    # other endpoints ignore extras, as Binance does
    assert raw(clean, "GET", "/fapi/v2/balance", {"foo": "bar"})[0] == 200


def test_python_binance_orders_still_pass_the_parameter_checks(clean):
    c = clean.client()
    o = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                               price="30000")
    assert c.futures_get_order(symbol=BTC, orderId=o["orderId"])["status"] == "NEW"
    c.futures_cancel_order(symbol=BTC, orderId=o["orderId"])
    a = c.futures_create_order(symbol=BTC, side="SELL", type="STOP_MARKET", stopPrice="1000", quantity="0.2")
    assert c.futures_get_order(symbol=BTC, algoId=a["algoId"])["algoStatus"] == "NEW"
    c.futures_cancel_order(symbol=BTC, algoId=a["algoId"])


# ------------------------------------------------------------------------------ admin API
def _state(v):
    s = v.stats()
    return (v.admin("GET", "/_venue/clock")["market_time_ms"], v.clock()["speed"], v.clock()["paused"],
            raw(v, "GET", "/fapi/v2/balance")[1][0]["balance"], json.dumps(v.admin("GET", "/_venue/faults")),
            s["orders"] if "orders" in s else None)


@pytest.mark.parametrize("path,body", [
    ("/_venue/account/deposit", {"amount": "NaN"}), ("/_venue/account/deposit", {"amount": "-5"}),
    ("/_venue/account/deposit", {"amount": "Infinity"}), ("/_venue/account/deposit", {"amount": "abc"}),
    ("/_venue/account/deposit", {"amount": 0}), ("/_venue/account/deposit", {"amount": True}),
    ("/_venue/account/deposit", {"amount": "1e400"}), ("/_venue/account/deposit", {}),
    ("/_venue/account/deposit", {"amount": "5", "api_key": "nobody"}),
    ("/_venue/clock", {"speed": "NaN"}), ("/_venue/clock", {"speed": -1}), ("/_venue/clock", {"speed": 0}),
    ("/_venue/clock", {"pause": True, "speed": "x"}), ("/_venue/clock", {"resume": True, "step_ms": -1}),
    ("/_venue/clock", {"step_ms": 1.5}), ("/_venue/clock", {"to_ms": 0}), ("/_venue/clock", {"pause": "yes"}),
    ("/_venue/clock", {"speeed": 2}),
    ("/_venue/reset", {"balance": "abc"}), ("/_venue/reset", {"balance": "-1"}),
    ("/_venue/reset", {"balance": "NaN"}), ("/_venue/reset", {"dual": "false"}),
    ("/_venue/reset", {"speed": "fast", "balance": "10"}), ("/_venue/reset", {"start_ms": "x"}),
    ("/_venue/faults", {"kind": "latency", "latency_ms": "abc"}), ("/_venue/faults", {"kind": "latency", "latency_ms": -1}),
    ("/_venue/faults", {"kind": "nope"}), ("/_venue/faults", {"kind": "error", "status": "503"}),
    ("/_venue/faults", {"kind": "drop", "count": 1.5}), ("/_venue/faults", {"kind": "drop", "bogus": 1}),
    ("/_venue/faults", {"clock_skew_ms": -30000, "kind": "latency", "latency_ms": "abc"}),
    ("/_venue/faults", {"clock_skew_ms": "1"}), ("/_venue/faults", {"kind": "ambiguous", "mode": "sideways"}),
])
def test_invalid_admin_call_is_400_and_changes_nothing(clean, path, body):
    c = clean.client()
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="30000")
    before = _state(clean)
    status, resp, _ = admin_raw(clean, "POST", path, json.dumps(body))
    assert status == 400, resp
    assert _state(clean) == before
    assert len(open_orders(clean)) == 1          # a failed reset did not wipe the account
    no_traceback(clean)


def test_valid_admin_calls_still_work(clean):
    assert clean.admin("POST", "/_venue/account/deposit", {"amount": "500"})["balance"] == "10500.00000000"
    assert clean.admin("POST", "/_venue/account/deposit", {"amount": 1.5})["balance"] == "10501.50000000"
    clean.clock(speed=60, step_ms=1000)
    assert clean.clock()["speed"] == 60
    clean.fault(kind="latency", latency_ms=1, count=1)
    clean.admin("POST", "/_venue/faults", {"clock_skew_ms": 5})
    assert clean.admin("GET", "/_venue/faults")["clock_skew_ms"] == 5
    clean.clear_faults()
    clean.reset(balance="123.5", dual=True, paused=True)
    assert raw(clean, "GET", "/fapi/v2/balance")[1][0]["balance"] == "123.50000000"


@pytest.mark.parametrize("headers,status", [
    ({"Host": "evil.example"}, 403), ({"Host": "evil.example:80"}, 403), ({"Host": "127.0.0.1.evil.example"}, 403),
    ({"Origin": "http://evil.example"}, 403), ({"Origin": "null"}, 403),
    ({"Content-Type": "text/plain"}, 415), ({"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ({"Host": "localhost:1"}, 200), ({"Host": "[::1]:8080"}, 200), ({"Origin": "http://127.0.0.1:3000"}, 200),
])
def test_admin_guards_against_csrf_and_dns_rebinding(clean, headers, status):
    before = raw(clean, "GET", "/fapi/v2/balance")[1][0]["balance"]
    st, body, _ = admin_raw(clean, "POST", "/_venue/account/deposit", json.dumps({"amount": "1"}), headers)
    assert st == status, body
    after = raw(clean, "GET", "/fapi/v2/balance")[1][0]["balance"]
    assert (after != before) == (status == 200)


def test_admin_get_with_foreign_host_is_refused(clean):
    st, body, _ = admin_raw(clean, "GET", "/_venue/stats", None, {"Host": "rebound.example"})
    assert st == 403


def test_admin_token_allows_any_host(venue_factory):
    v = venue_factory(paused=True, extra=["--admin-token", "s3cret-token"])
    st, _, _ = admin_raw(v, "POST", "/_venue/clock", json.dumps({"step_ms": 1}),
                         {"Host": "venue.internal", "X-Venue-Admin-Token": "s3cret-token"})
    assert st == 200
    st, _, _ = admin_raw(v, "POST", "/_venue/clock", json.dumps({"step_ms": 1}),
                         {"Host": "venue.internal", "X-Venue-Admin-Token": "wrong"})
    assert st == 403


# ------------------------------------------------------------------------------ no API key in stats
def test_stats_show_no_character_of_the_api_key(venue_factory, tmp_path):
    """A liquidation is recorded in /_venue/stats: it names the account without any part of its key."""
    bars = [(T0 + i * HOUR, 100.0, 100.0, 100.0, 100.0, 1000.0) for i in range(48)]
    bars += [(T0 + (48 + i) * HOUR, 100.0, 100.0, 40.0, 40.0, 1000.0) for i in range(4)]
    data = write_dataset(tmp_path, {"ETHUSDT": bars})
    key = "Zq9KeyMaterialNeverShown0123456789abcdef"
    v = venue_factory(data=data, start=T0 + 47 * HOUR, paused=True, api_key=key, api_secret="s" * 40)
    c = v.client()
    c.futures_change_leverage(symbol="ETHUSDT", leverage=50)
    c.futures_change_margin_type(symbol="ETHUSDT", marginType="ISOLATED")
    c.futures_create_order(symbol="ETHUSDT", side="BUY", type="MARKET", quantity="5")
    v.clock(step_ms=3 * HOUR)
    s = v.stats()
    assert s["liquidations"], s
    text = json.dumps(s)
    for n in range(3, len(key) + 1):
        assert key[:n] not in text
    assert s["liquidation_events"][-1]["account"] == "account-1"


def test_symbol_listing_admin_changes_exchange_info_and_reset_restores_it(clean):
    def listed() -> dict:
        status, body, _ = raw(clean, "GET", "/fapi/v1/exchangeInfo", signed=False)
        assert status == 200
        return {s["symbol"]: s["status"] for s in body["symbols"]}

    assert listed()[BTC] == "TRADING"
    for bad in ({"symbol": "NOPEUSDT", "status": "SETTLING"}, {"symbol": BTC, "status": "GONE"},
                {"symbol": BTC, "listed": "no"}, {"symbol": BTC, "listed": False, "status": "BREAK"},
                {"symbol": BTC, "colour": "red"}):
        status, body, _ = admin_raw(clean, "POST", "/_venue/symbol", json.dumps(bad))
        assert status == 400 and "error" in body, bad
        assert listed()[BTC] == "TRADING"
    assert clean.listing(symbol=BTC, status="SETTLING") == {"symbol": BTC, "listed": True, "status": "SETTLING"}
    assert listed()[BTC] == "SETTLING"
    clean.listing(symbol=BTC, listed=False)
    assert BTC not in listed()
    clean.listing(symbol=BTC, status="BREAK")
    assert listed()[BTC] == "BREAK"
    clean.reset(paused=True)
    assert listed()[BTC] == "TRADING"
