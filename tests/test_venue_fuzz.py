"""Property tests: generated bad input at every venue endpoint's parameters and at the admin API.

The one promise: never a 500, never a hang (every request has a timeout), a JSON error body, and no
state change when the answer is an error. Bounded: a paused clock, a few hundred examples in all.
"""
import json
import string
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.venue_http import admin_raw, raw, request

BTC = "BTCUSDT"
PUBLIC, KEY, SIGNED = 0, 1, 2

# (method, path, kind, a valid base request, the parameter names the endpoint reads)
ORDER = {"symbol": BTC, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01",
         "price": "30000"}
ORDER_KEYS = list(ORDER) + ["positionSide", "reduceOnly", "newClientOrderId", "newOrderRespType", "stopPrice",
                            "closePosition", "workingType", "priceProtect", "recvWindow", "timestamp"]
ALGO = {"algoType": "CONDITIONAL", "symbol": BTC, "side": "SELL", "type": "STOP_MARKET", "triggerPrice": "1000",
        "quantity": "0.2"}
ALGO_KEYS = list(ALGO) + ["positionSide", "reduceOnly", "closePosition", "clientAlgoId", "price", "timeInForce",
                          "workingType", "recvWindow", "timestamp"]
LIST_KEYS = ["symbol", "limit", "startTime", "endTime", "orderId", "fromId", "recvWindow", "timestamp"]
ENDPOINTS = [
    ("GET", "/fapi/v1/time", PUBLIC, {}, []),
    ("GET", "/fapi/v1/exchangeInfo", PUBLIC, {}, ["symbol"]),
    ("GET", "/fapi/v1/klines", PUBLIC, {"symbol": BTC, "interval": "1h"},
     ["symbol", "interval", "limit", "startTime", "endTime"]),
    ("GET", "/fapi/v1/premiumIndex", PUBLIC, {"symbol": BTC}, ["symbol"]),
    ("GET", "/fapi/v1/fundingRate", PUBLIC, {"symbol": BTC}, ["symbol", "limit", "startTime", "endTime"]),
    ("GET", "/fapi/v1/depth", PUBLIC, {"symbol": BTC}, ["symbol", "limit"]),
    ("GET", "/fapi/v1/ticker/bookTicker", PUBLIC, {"symbol": BTC}, ["symbol"]),
    ("GET", "/fapi/v1/ticker/price", PUBLIC, {"symbol": BTC}, ["symbol"]),
    ("GET", "/fapi/v1/ticker/24hr", PUBLIC, {"symbol": BTC}, ["symbol"]),
    ("GET", "/fapi/v1/leverageBracket", SIGNED, {"symbol": BTC}, ["symbol", "recvWindow", "timestamp"]),
    ("GET", "/fapi/v1/multiAssetsMargin", SIGNED, {}, ["recvWindow", "timestamp"]),
    ("POST", "/fapi/v1/multiAssetsMargin", SIGNED, {"multiAssetsMargin": "false"},
     ["multiAssetsMargin", "recvWindow", "timestamp"]),
    ("GET", "/fapi/v2/balance", SIGNED, {}, ["recvWindow", "timestamp"]),
    ("GET", "/fapi/v3/account", SIGNED, {}, ["recvWindow", "timestamp"]),
    ("GET", "/fapi/v2/positionRisk", SIGNED, {}, ["symbol", "recvWindow", "timestamp"]),
    ("GET", "/fapi/v3/positionRisk", SIGNED, {}, ["symbol", "recvWindow", "timestamp"]),
    ("POST", "/fapi/v1/positionSide/dual", SIGNED, {"dualSidePosition": "true"},
     ["dualSidePosition", "recvWindow", "timestamp"]),
    ("POST", "/fapi/v1/leverage", SIGNED, {"symbol": BTC, "leverage": "10"}, ["symbol", "leverage", "timestamp"]),
    ("POST", "/fapi/v1/marginType", SIGNED, {"symbol": BTC, "marginType": "ISOLATED"},
     ["symbol", "marginType", "timestamp"]),
    ("POST", "/fapi/v1/order", SIGNED, ORDER, ORDER_KEYS),
    ("GET", "/fapi/v1/order", SIGNED, {"symbol": BTC, "orderId": "1"}, ["symbol", "orderId", "origClientOrderId"]),
    ("DELETE", "/fapi/v1/order", SIGNED, {"symbol": BTC, "orderId": "1"}, ["symbol", "orderId", "origClientOrderId"]),
    ("GET", "/fapi/v1/openOrder", SIGNED, {"symbol": BTC, "orderId": "1"}, ["symbol", "orderId", "origClientOrderId"]),
    ("GET", "/fapi/v1/openOrders", SIGNED, {"symbol": BTC}, ["symbol"]),
    ("GET", "/fapi/v1/allOrders", SIGNED, {"symbol": BTC}, LIST_KEYS),
    ("DELETE", "/fapi/v1/allOpenOrders", SIGNED, {"symbol": BTC}, ["symbol"]),
    ("GET", "/fapi/v1/userTrades", SIGNED, {"symbol": BTC}, LIST_KEYS),
    ("GET", "/fapi/v1/income", SIGNED, {}, LIST_KEYS + ["incomeType"]),
    ("GET", "/fapi/v1/commissionRate", SIGNED, {"symbol": BTC}, ["symbol"]),
    ("POST", "/fapi/v1/algoOrder", SIGNED, ALGO, ALGO_KEYS),
    ("GET", "/fapi/v1/algoOrder", SIGNED, {"algoId": "1"}, ["algoId", "clientAlgoId"]),
    ("DELETE", "/fapi/v1/algoOrder", SIGNED, {"algoId": "1"}, ["algoId", "clientAlgoId"]),
    ("GET", "/fapi/v1/openAlgoOrders", SIGNED, {}, ["symbol"]),
    ("GET", "/fapi/v1/allAlgoOrders", SIGNED, {"symbol": BTC}, ["symbol"]),
    ("DELETE", "/fapi/v1/algoOpenOrders", SIGNED, {"symbol": BTC}, ["symbol"]),
    ("POST", "/fapi/v1/listenKey", KEY, {}, []),
    ("GET", "/api/v3/exchangeInfo", PUBLIC, {}, ["symbol"]),
    ("GET", "/sapi/v1/capital/config/getall", SIGNED, {}, ["recvWindow", "timestamp"]),
    ("GET", "/sapi/v1/margin/isolated/allPairs", SIGNED, {}, ["recvWindow", "timestamp"]),
]

PLAUSIBLE = ["BTCUSDT", "ETHUSDT", "BUY", "SELL", "LIMIT", "MARKET", "STOP_MARKET", "GTC", "IOC", "GTX", "true",
             "false", "LONG", "SHORT", "BOTH", "0.01", "0.002", "30000", "45000.1", "10", "125", "1", "1h", "1m",
             "500", "ISOLATED", "CROSSED", "RESULT", "CONDITIONAL", "MARK_PRICE", "abc-1"]
HOSTILE = ["", " ", "\n", "0", "-1", "1_000", "١٢٣", "１２", "NaN", "nan", "inf", "-inf", "1e5", "1E-3", "9" * 30,
           "-" + "9" * 25, "0x10", "null", "[]", "{}", "é", "\x00", "0.002\n", "BTCUSDT\n", "true\n", "+1", ".5",
           "5.", "1.2.3", "%", "&", "=", "a" * 300, "0.000000000000000000001", "99999999999999999999.9"]
VALUES = st.one_of(st.sampled_from(PLAUSIBLE), st.sampled_from(HOSTILE), st.text(max_size=12),
                   st.integers(min_value=-10**20, max_value=10**20).map(str))
FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def v(venue_factory):
    return venue_factory(paused=True, extra=["--weight-limit", "1000000", "--orders-per-10s", "100000",
                                             "--orders-per-min", "100000"])


def fingerprint(v) -> str:
    """Everything an error must leave untouched (the clock is paused, so nothing else moves it)."""
    parts = []
    for path, params in (("/fapi/v3/account", {}), ("/fapi/v2/positionRisk", {}), ("/fapi/v1/openOrders", {}),
                         ("/fapi/v1/openAlgoOrders", {}), ("/fapi/v1/positionSide/dual", {}),
                         ("/fapi/v1/multiAssetsMargin", {}), ("/fapi/v1/income", {"limit": "1000"})):
        status, body, _ = raw(v, "GET", path, params)
        assert status == 200, (path, body)
        parts.append(body)
    clock = v.clock()
    parts.append([clock["market_time_ms"], clock["speed"], clock["paused"]])
    return json.dumps(parts, sort_keys=True)


def check(resp, before: str, v):
    status, body, _ = resp
    assert status != 500 and status < 500, body
    assert isinstance(body, (dict, list)), body             # always JSON, never an HTML page or a traceback
    if status != 200:
        assert isinstance(body, dict) and isinstance(body.get("code"), int) and isinstance(body.get("msg"), str)
        assert fingerprint(v) == before, body


@pytest.mark.slow
@pytest.mark.parametrize("method,path,kind,base,keys", ENDPOINTS, ids=[f"{m} {p}" for m, p, *_ in ENDPOINTS])
def test_generated_parameters_never_break_an_endpoint(v, method, path, kind, base, keys):
    v.reset(paused=True)
    c = v.client()                       # something to query / cancel: a resting order and a stop
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="30000")
    c.futures_create_order(symbol=BTC, side="SELL", type="STOP_MARKET", stopPrice="1000", quantity="0.2")

    @FUZZ
    @given(changes=st.dictionaries(st.sampled_from(keys + ["junk", "symbol"]), VALUES, max_size=5),
           drop=st.sets(st.sampled_from(sorted(base) or ["-"]), max_size=2))
    def run(changes, drop):
        params = {k: val for k, val in base.items() if k not in drop}
        params.update(changes)
        before = fingerprint(v)
        check(raw(v, method, path, params, signed=kind == SIGNED), before, v)

    run()
    assert "Traceback" not in v.stderr_tail(50_000)


ADMIN_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
              st.floats(allow_nan=False), st.text(max_size=8), st.sampled_from(["NaN", "-1", "1e999", "500"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
ADMIN_KEYS = ["amount", "api_key", "pause", "resume", "speed", "step_ms", "to_ms", "balance", "dual",
              "start_ms", "paused", "kind", "path", "method", "count", "latency_ms", "status", "hold_ms",
              "mode", "code", "msg", "clock_skew_ms", "junk"]


def admin_state(v) -> str:
    clock = v.clock()
    return json.dumps([clock["market_time_ms"], clock["speed"], clock["paused"], v.admin("GET", "/_venue/faults"), raw(v, "GET", "/fapi/v3/account")[1],
                       raw(v, "GET", "/fapi/v1/openOrders")[1]], sort_keys=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/_venue/clock", "/_venue/faults", "/_venue/account/deposit",
                                  "/_venue/account/withdraw", "/_venue/reset"])
def test_generated_admin_bodies_are_validated_before_anything_changes(v, path):
    v.reset(paused=True)

    @FUZZ
    @given(body=st.one_of(st.dictionaries(st.sampled_from(ADMIN_KEYS), ADMIN_VALUES, max_size=4), ADMIN_VALUES))
    def run(body):
        if not raw(v, "GET", "/fapi/v1/openOrders")[1]:      # an order a wrongful reset would wipe
            v.client().futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC",
                                            quantity="0.01", price="30000", newClientOrderId=uuid.uuid4().hex)
        before = admin_state(v)
        status, resp, _ = admin_raw(v, "POST", path, json.dumps(body))
        assert status in (200, 400, 404), resp
        if status == 200:                  # a valid call: put the venue back in a known state
            v.clear_faults()
            v.reset(paused=True)
        else:
            assert "error" in resp
            assert admin_state(v) == before, resp

    run()
    assert "Traceback" not in v.stderr_tail(50_000)


@pytest.mark.slow
@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
       path=st.one_of(st.sampled_from([m[1] for m in ENDPOINTS] + ["/", "/fapi/v9/x", "/_venue/", "/_venue/x"]),
                      st.text(alphabet=string.ascii_letters + "/_.-%", max_size=30).map(lambda s: "/" + s)),
       query=st.text(alphabet=string.ascii_letters + string.digits + string.punctuation.replace("#", ""), max_size=60))
def test_any_method_path_and_query_answers_json_without_a_500(v, method, path, query):
    status, body, headers = request(v, method, path + ("?" + query if query else ""),
                                    headers={"X-MBX-APIKEY": v.api_key, "Content-Type": "application/json"})
    assert status < 500, body
    if status not in (400,) or isinstance(body, (dict, list)):
        assert isinstance(body, (dict, list)), (status, body)
