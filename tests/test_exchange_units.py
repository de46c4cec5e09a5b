"""Adapter parts that need no venue: ids, budget, backoff, redaction, URL rules, start lines, the
dry-run gate of the client, and the submit state machine driven by a scripted stub client."""
import json
import logging
import random
import re
import time
from decimal import Decimal as D

import pytest
import requests
from binance.exceptions import BinanceAPIException
from hypothesis import given, settings
from hypothesis import strategies as st

from core.filters import SymbolFilters
from execution.exchange import (
    ExchangeAdapter,
    Outcome,
    RateLimits,
    RetryPolicy,
    WeightBudget,
    is_valid_client_order_id,
    make_client_algo_id,
    make_client_order_id,
)
from execution.exchange.client import client_class_for
from execution.exchange_utils import build_client, resolve_base_url
from execution.log_setup import RedactingFilter, install_library_redaction
from settings.env import EnvSettings
from settings.errors import ConfigError


def env(**kw):
    return EnvSettings(_env_file=None, **kw)


# ---------------------------------------------------------------- client order ids

def test_client_order_id_deterministic_and_valid():
    a = make_client_order_id("intent-2024-10-02T18:00:00Z-BTCUSDT-long", 3)
    assert a == make_client_order_id("intent-2024-10-02T18:00:00Z-BTCUSDT-long", 3)
    assert a != make_client_order_id("intent-2024-10-02T18:00:00Z-BTCUSDT-long", 4)
    assert a != make_client_order_id("intent-2024-10-02T18:00:00Z-BTCUSDT-long", 3, revision=1)
    assert len(a) <= 36 and is_valid_client_order_id(a)
    assert a.endswith("-3")


def test_client_order_id_distinct_for_similar_intents():
    ids = {make_client_order_id(f"a very long shared intent prefix that is cut {i}", 0) for i in range(200)}
    assert len(ids) == 200
    assert make_client_order_id("a b", 0) != make_client_order_id("a_b", 0)  # replaced chars still differ


@pytest.mark.parametrize("intent", ["x", "ünïcode ✓", "/" * 80, "0" * 36, "BTCUSDT:LONG:1"])
def test_client_order_id_charset(intent):
    cid = make_client_order_id(intent, 12345, revision=7)
    assert re.fullmatch(r"[\.A-Z\:/a-z0-9_-]{1,36}", cid)


@settings(max_examples=300, deadline=None)
@given(intent=st.text(min_size=1, max_size=120), slice_index=st.integers(0, 10**6), revision=st.integers(0, 999))
def test_client_order_id_property(intent, slice_index, revision):
    cid = make_client_order_id(intent, slice_index, revision)
    assert is_valid_client_order_id(cid) and len(cid) <= 36
    assert cid == make_client_order_id(intent, slice_index, revision)


def test_client_order_id_rejects_bad_input():
    with pytest.raises(ValueError):
        make_client_order_id("", 0)
    with pytest.raises(ValueError):
        make_client_order_id("x", -1)
    assert not is_valid_client_order_id("x" * 37)
    assert not is_valid_client_order_id("has space")


# ---------------------------------------------------------------- weight budget and backoff

def test_budget_reads_headers_and_waits_for_window():
    b = WeightBudget(RateLimits(weight_1m=2400, orders_1m=1200, orders_10s=300), headroom=0.8)
    now = 60_000 * 28_333_333 + 10_000  # 10 s into a minute
    b.observe({"X-MBX-USED-WEIGHT-1M": "1900", "X-MBX-ORDER-COUNT-1M": "3"}, now)
    assert b.wait_ms(5, False, now) == (0, "")  # 1905 <= 1920
    wait, why = b.wait_ms(30, False, now)  # 1930 > 1920: wait for the next minute
    assert wait == 50_050 and "used_weight=1900/2400" in why
    assert b.wait_ms(30, False, now + 50_050)[0] == 0  # new window: counters reset


def test_budget_counts_own_spend_and_orders():
    b = WeightBudget(RateLimits(weight_1m=100, orders_1m=10, orders_10s=5), headroom=1.0)
    now = 1_700_000_000_000
    for _ in range(5):
        assert b.wait_ms(0, True, now)[0] == 0
        b.spend(0, True, now)
    wait, why = b.wait_ms(0, True, now)
    assert wait == 10_050 and "orders_10s" in why


def test_budget_header_names_case_insensitive_and_limits_from_exchange_info():
    b = WeightBudget()
    b.observe(requests.structures.CaseInsensitiveDict({"x-mbx-used-weight-1m": "77"}), 0)
    assert b.used_weight == 77
    lim = RateLimits.from_exchange_info([
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
    ], RateLimits())
    assert lim == RateLimits(6000, 1200, 50)


def test_backoff_is_exponential_with_bounded_jitter():
    p = RetryPolicy(base_delay_s=0.25, max_delay_s=2.0)
    rng = random.Random(1)
    for attempt, ceiling in [(1, 0.25), (2, 0.5), (3, 1.0), (4, 2.0), (9, 2.0)]:
        for _ in range(50):
            d = p.backoff(attempt, rng)
            assert ceiling / 2 <= d <= ceiling


# ---------------------------------------------------------------- URL rules and start lines

def test_resolve_base_url_rules():
    # the full table (every preflight refusal is a build_client refusal) is tests/test_safety_gate.py
    assert resolve_base_url(env()) == "http://127.0.0.1:18080"
    assert resolve_base_url(env(ENV="prod", BINANCE_BASE_URL="https://fapi.binance.com/")) == "https://fapi.binance.com"
    for bad in (dict(ENV="dev", BINANCE_TESTNET=True),  # no testnet path anywhere, not even on dev
                dict(ENV="dev", BINANCE_BASE_URL="https://testnet.binancefuture.com"),
                dict(ENV="prod", BINANCE_BASE_URL="https://testnet.binancefuture.com"),
                dict(ENV="mainnet", BINANCE_TESTNET=True),
                dict(ENV="dev", BINANCE_TESTNET=True, BINANCE_BASE_URL="https://fapi.binance.com")):
        with pytest.raises(ConfigError, match="testnet is not allowed|TESTNET address"):
            resolve_base_url(env(**bad))
    with pytest.raises(ConfigError, match="not the Binance mainnet futures URL"):
        resolve_base_url(env(ENV="prod", BINANCE_BASE_URL="https://example.com"))


def test_start_lines_exact(caplog):
    caplog.set_level(logging.INFO, logger="hedge.exutil")
    build_client(env(ENV="prod", DRY_RUN=True, BINANCE_BASE_URL="https://fapi.binance.com"))
    lines = [r.getMessage() for r in caplog.records if r.name == "hedge.exutil"]
    assert lines[:2] == ["[exutil] base=https://fapi.binance.com testnet=False",
                         "[exutil] ENV context testnet=False dry_run=True"]


def test_mainnet_client_urls_without_network():
    c = build_client(env(ENV="prod", BINANCE_BASE_URL="https://fapi.binance.com"))
    assert c.FUTURES_URL == "https://fapi.binance.com/fapi"
    assert c.FUTURES_DATA_URL == "https://fapi.binance.com/futures/data"
    local = client_class_for("http://127.0.0.1:18080")("k", "s", dry_run=True)
    for attr in ("API_URL", "FUTURES_URL", "FUTURES_DATA_URL", "FUTURES_COIN_URL", "MARGIN_API_URL", "OPTIONS_URL"):
        assert getattr(local, attr).startswith("http://127.0.0.1:18080/"), attr


# ---------------------------------------------------------------- dry-run gate (no server needed: nothing is sent)

def test_client_gate_swallows_every_write_and_logs_it(caplog):
    caplog.set_level(logging.INFO, logger="hedge.exutil")
    # port 9 (discard): if anything were sent it would fail with a connection error
    c = client_class_for("http://127.0.0.1:9")("key-AAAA", "secret-BBBB", dry_run=True)
    r = c.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.002",
                               positionSide="LONG", newClientOrderId="hg-x-1")
    assert r["dryRun"] is True and r["clientOrderId"] == "hg-x-1" and r["status"] == "DRY_RUN"
    c.futures_cancel_order(symbol="BTCUSDT", origClientOrderId="hg-x-1")
    c.futures_cancel_all_open_orders(symbol="BTCUSDT")
    c.futures_change_leverage(symbol="BTCUSDT", leverage=3)
    c.futures_change_margin_type(symbol="BTCUSDT", marginType="CROSSED")
    c.futures_change_position_mode(dualSidePosition="true")
    assert c.dry_run_swallowed == 6
    text = caplog.text
    assert ('[exutil] DRY_RUN swallowed POST /fapi/v1/order {"newClientOrderId": "hg-x-1", "positionSide": "LONG"'
            in text)
    for path in ("DELETE /fapi/v1/order", "DELETE /fapi/v1/allOpenOrders", "POST /fapi/v1/leverage",
                 "POST /fapi/v1/marginType", "POST /fapi/v1/positionSide/dual"):
        assert f"DRY_RUN swallowed {path}" in text
    assert "secret-BBBB" not in text and "key-AAAA" not in text and "signature" not in text
    with pytest.raises(requests.exceptions.ConnectionError):
        c.futures_time()  # reads are NOT swallowed


# ---------------------------------------------------------------- redaction

def test_redaction_filter_masks_signature_key_and_secret():
    f = RedactingFilter(["my-api-key-123", "my-secret-456"])
    rec = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1,
                            '%s "%s %s HTTP/1.1" %s', ("http://127.0.0.1:1", "GET",
                                                       "/fapi/v1/order?symbol=X&timestamp=1&signature=deadbeef", 200),
                            None)
    f.filter(rec)
    assert "deadbeef" not in rec.getMessage() and "signature=***" in rec.getMessage()
    rec2 = logging.LogRecord("binance.base_client", logging.DEBUG, __file__, 1,
                             "headers %s secret %s", ({"X-MBX-APIKEY": "my-api-key-123"}, "my-secret-456"), None)
    f.filter(rec2)
    assert "my-api-key-123" not in rec2.getMessage() and "my-secret-456" not in rec2.getMessage()


def test_install_library_redaction_is_idempotent():
    f1 = install_library_redaction(["abcdefgh"])
    f2 = install_library_redaction(["abcdefgh"])
    assert f1 is f2 and logging.getLogger("urllib3.connectionpool").filters.count(f1) == 1


# ---------------------------------------------------------------- submit state machine (scripted stub)

BTC = SymbolFilters("BTCUSDT", D("0.10"), D("556.80"), D("4529764"), D("0.001"), D("0.001"), D("1000"),
                    D("0.001"), D("0.001"), D("120"), D("100"), D("1.05"), D("0.95"))


class _Resp:
    def __init__(self, status=200, headers=None):
        self.status_code = status
        self.headers = headers or {}


def _api_error(status, code, msg, headers=None):
    resp = _Resp(status, headers)
    resp.text = json.dumps({"code": code, "msg": msg})
    return BinanceAPIException(resp, status, resp.text)


class StubClient:
    """Scripts: each futures_* call pops the next item of its script (an exception is raised)."""

    def __init__(self, dual=True, dry_run=False):
        self.dry_run = dry_run
        self.timestamp_offset = 0
        self.response = None
        self.scripts = {}
        self.calls = []
        self.dual = dual
        self.orders = {}
        self.slept_ms = 0  # the adapter's (recorded, not slept) waits move the stub's server clock

    def _next(self, name, params):
        self.calls.append((name, params))
        script = self.scripts.get(name)
        item = script.pop(0) if script else None
        self.response = _Resp()
        if isinstance(item, BaseException):
            raise item
        return item

    def futures_get_position_mode(self, **p):
        self.calls.append(("mode", p))
        return {"dualSidePosition": self.dual}

    def futures_exchange_info(self, **p):
        return {"symbols": [], "rateLimits": []}

    def futures_time(self, **p):
        self.calls.append(("time", p))
        return {"serverTime": int(time.time() * 1000) + self.slept_ms}

    def futures_create_order(self, **p):
        item = self._next("create", p)
        if item == "ACCEPT_SILENTLY":  # the exchange took it but the answer is lost
            self.orders[p["newClientOrderId"]] = p
            raise requests.exceptions.ReadTimeout("read timed out")
        if item is None:
            self.orders[p["newClientOrderId"]] = p
            return {"orderId": 1, "clientOrderId": p["newClientOrderId"], "status": "NEW", "symbol": p["symbol"]}
        return item

    def futures_get_order(self, **p):
        item = self._next("get", p)
        if item is not None:
            return item
        cid = p["origClientOrderId"]
        if cid in self.orders:
            return {"orderId": 1, "clientOrderId": cid, "status": "NEW", "symbol": p["symbol"]}
        raise _api_error(400, -2013, "Order does not exist.")


def make_adapter(stub, **kw):
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        stub.slept_ms += int(s * 1000)

    a = ExchangeAdapter(stub, sleep=sleep, rng=random.Random(0), **kw)
    a._filters = {"BTCUSDT": BTC}
    a._filters_at_ms = 10 ** 15  # never refresh
    return a, sleeps


def test_stub_ambiguous_submit_is_recovered_by_query():
    stub = StubClient()
    stub.scripts["create"] = ["ACCEPT_SILENTLY"]
    a, sleeps = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i1")
    assert r.outcome is Outcome.ACCEPTED and r.recovered and r.attempts == 1
    assert [c[0] for c in stub.calls].count("create") == 1
    assert len(sleeps) == 1  # backoff before the query


def test_stub_not_found_after_timeout_resends_same_id():
    stub = StubClient()
    stub.scripts["create"] = [requests.exceptions.ReadTimeout("lost before the exchange")]
    a, _ = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i2")
    creates = [c[1]["newClientOrderId"] for c in stub.calls if c[0] == "create"]
    assert r.outcome is Outcome.ACCEPTED and not r.recovered and r.attempts == 2
    assert len(creates) == 2 and creates[0] == creates[1]


def test_stub_query_failure_means_unknown_and_no_resend():
    stub = StubClient()
    stub.scripts["create"] = [requests.exceptions.ReadTimeout("t")]
    stub.scripts["get"] = [requests.exceptions.ReadTimeout("t")] * 10
    a, _ = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i3")
    assert r.outcome is Outcome.UNKNOWN
    assert [c[0] for c in stub.calls].count("create") == 1


def test_stub_duplicate_client_id_fetches_original():
    stub = StubClient()
    cid = make_client_order_id("i4", 0)
    stub.orders[cid] = {}
    stub.scripts["create"] = [_api_error(400, -4116, "clientOrderId is duplicated")]
    a, _ = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i4")
    assert r.outcome is Outcome.ACCEPTED and r.recovered and r.client_order_id == cid


def test_stub_exhausted_ambiguity_is_unknown():
    stub = StubClient()
    stub.scripts["create"] = [_api_error(503, -1001, "Internal error")] * 10
    a, sleeps = make_adapter(stub, policy=RetryPolicy(max_attempts=3))
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i5")
    assert r.outcome is Outcome.UNKNOWN and r.code == -1001 and r.attempts == 3
    assert [c[0] for c in stub.calls].count("get") == 3  # a query after every failed send


def test_stub_connect_refused_is_rejected_not_unknown():
    stub = StubClient()
    stub.scripts["create"] = [requests.exceptions.ConnectionError("NewConnectionError: Connection refused")] * 10
    a, _ = make_adapter(stub, policy=RetryPolicy(max_attempts=2))
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i6")
    assert r.outcome is Outcome.REJECTED and [c[0] for c in stub.calls].count("get") == 0


def test_stub_rate_limited_honours_retry_after_then_gives_up():
    stub = StubClient()
    stub.scripts["create"] = [_api_error(429, -1003, "Too many requests", {"Retry-After": "3"})] * 10
    a, sleeps = make_adapter(stub, policy=RetryPolicy(max_attempts=3))
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i7")
    assert r.outcome is Outcome.REJECTED and r.error_kind == "rate_limited"
    assert sleeps == [3.0, 3.0]


def test_stub_ban_blocks_further_calls_locally():
    stub = StubClient()
    stub.scripts["create"] = [_api_error(418, -1003, "Way too many requests; IP banned until 99999999999999.")]
    a, _ = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i8")
    assert r.outcome is Outcome.REJECTED and r.error_kind == "ip_banned"
    n = len(stub.calls)
    r2 = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="i9")
    assert r2.outcome is Outcome.REJECTED and len(stub.calls) == n  # nothing sent during the ban


def test_stub_one_way_mode_sends_both_and_reduce_only():
    stub = StubClient(dual=False)
    a, _ = make_adapter(stub)
    r = a.close_position("BTCUSDT", "LONG", "0.001", order_type="LIMIT", price="60000", intent_id="c1")
    assert r.accepted
    sent = [c[1] for c in stub.calls if c[0] == "create"][0]
    assert sent["positionSide"] == "BOTH" and sent["reduceOnly"] == "true" and sent["side"] == "SELL"
    bad = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", position_side="LONG")
    assert bad.outcome is Outcome.REJECTED and bad.code == -4061 and bad.local


def test_stub_hedge_mode_rules():
    stub = StubClient(dual=True)
    a, _ = make_adapter(stub)
    req = a.prepare_order("BTCUSDT", "SELL", "0.0029", order_type="LIMIT", price="60000.04", reduce_only=True)
    assert req.params["positionSide"] == "LONG" and "reduceOnly" not in req.params
    assert req.params["quantity"] == "0.002" and req.params["price"] == "60000.1"  # SELL rounds up
    req = a.prepare_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000.06")
    assert req.params["positionSide"] == "LONG" and req.params["price"] == "60000"  # BUY rounds down
    bad = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", position_side="LONG",
                        reduce_only=True)
    assert bad.code == -2022 and bad.local
    both = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", position_side="BOTH")
    assert both.code == -4061


def test_stub_timestamp_resync_then_single_retry():
    stub = StubClient()
    stub.scripts["create"] = [_api_error(400, -1021, "Timestamp for this request is outside of the recvWindow.")] * 2
    a, _ = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="t1")
    names = [c[0] for c in stub.calls]
    assert names.count("time") == 1 and names.count("create") == 2
    assert r.outcome is Outcome.REJECTED and r.error_kind == "timestamp"  # still skewed after one re-sync


def test_time_sync_measures_only_the_attempt_that_answered():
    """Retries before the answer (connection refused while the venue starts) must not skew the offset."""
    clock = {"now": 1_000_000}

    class FlakyTime(StubClient):
        def __init__(self):
            super().__init__()
            self.failures = 2

        def futures_time(self, **p):
            if self.failures:
                self.failures -= 1
                clock["now"] += 700  # a slow failed attempt
                raise requests.exceptions.ConnectionError("refused")
            clock["now"] += 10  # the answering round trip: 10 ms, server stamps the midpoint
            return {"serverTime": clock["now"] - 5}

    stub = FlakyTime()
    a = ExchangeAdapter(stub, sleep=lambda s: clock.__setitem__("now", clock["now"] + int(s * 1000)),
                        rng=random.Random(0), clock_ms=lambda: clock["now"])
    st = a.sync_time()
    assert stub.timestamp_offset == 0
    assert st.round_trip_ms == 10.0


# ---------------------------------------------------------------- protective orders (scripted stub)

class AlgoStub(StubClient):
    """StubClient plus the algo endpoints: `algos` holds what the exchange has, by clientAlgoId."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.algos = {}

    def _algo_view(self, p, status="NEW"):
        return {"algoId": 7, "clientAlgoId": p["clientAlgoId"], "orderType": p["type"], "symbol": p["symbol"],
                "side": p["side"], "positionSide": p["positionSide"], "algoStatus": status,
                "triggerPrice": p["triggerPrice"], "quantity": p.get("quantity", "0"),
                "closePosition": p.get("closePosition") == "true", "workingType": p["workingType"]}

    def futures_create_algo_order(self, **p):
        item = self._next("algo_create", p)
        if item == "ACCEPT_SILENTLY":
            self.algos[p["clientAlgoId"]] = self._algo_view(p)
            raise requests.exceptions.ReadTimeout("read timed out")
        if item is None:
            self.algos[p["clientAlgoId"]] = self._algo_view(p)
            return self.algos[p["clientAlgoId"]]
        return item

    def futures_get_algo_order(self, **p):
        item = self._next("algo_get", p)
        if item is not None:
            return item
        if p.get("clientAlgoId") in self.algos:
            return self.algos[p["clientAlgoId"]]
        raise _api_error(400, -2013, "Order does not exist.")


@pytest.mark.parametrize("leg,kind,trigger,expected", [
    ("LONG", "STOP_MARKET", "60000.01", "60000.1"),  # SELL stop below: up (fires no later than asked)
    ("LONG", "TAKE_PROFIT_MARKET", "60000.09", "60000"),  # SELL take-profit above: down
    ("SHORT", "STOP_MARKET", "60000.09", "60000"),  # BUY stop above: down
    ("SHORT", "TAKE_PROFIT_MARKET", "60000.01", "60000.1"),  # BUY take-profit below: up
    ("LONG", "STOP_MARKET", "60000.1", "60000.1"),  # on the tick: unchanged
])
def test_protective_trigger_rounds_toward_the_market(leg, kind, trigger, expected):
    a, _ = make_adapter(AlgoStub())
    req = a.prepare_protective_order("BTCUSDT", leg, kind, trigger, intent_id="r")
    assert req.params["triggerPrice"] == expected
    assert req.params["side"] == ("SELL" if leg == "LONG" else "BUY") and req.params["positionSide"] == leg
    assert req.params["closePosition"] == "true" and "quantity" not in req.params and "reduceOnly" not in req.params


def test_protective_one_way_mode_params():
    a, _ = make_adapter(AlgoStub(dual=False))
    q = a.prepare_protective_order("BTCUSDT", "LONG", "STOP_MARKET", "59000", "0.0029", intent_id="ow")
    assert (q.params["positionSide"], q.params["reduceOnly"], q.params["quantity"]) == ("BOTH", "true", "0.002")
    c = a.prepare_protective_order("BTCUSDT", "SHORT", "STOP_MARKET", "61000", intent_id="ow")
    assert c.params["positionSide"] == "BOTH" and c.params["closePosition"] == "true" and "reduceOnly" not in c.params
    assert c.params["side"] == "BUY" and c.position_side == "SHORT"


def test_protective_client_algo_ids():
    sl = make_client_algo_id("BTCUSDT:LONG:2024-01-01T00:00Z", "STOP_MARKET")
    tp = make_client_algo_id("BTCUSDT:LONG:2024-01-01T00:00Z", "take_profit_market")
    assert sl.startswith("hp-") and sl.endswith("-sl") and tp.endswith("-tp") and is_valid_client_order_id(sl)
    assert sl == make_client_algo_id("BTCUSDT:LONG:2024-01-01T00:00Z", "STOP_MARKET")
    assert make_client_algo_id("x", "STOP_MARKET", revision=3).endswith("-slr3")
    assert sl != make_client_order_id("BTCUSDT:LONG:2024-01-01T00:00Z", 0)  # never a regular order's id
    with pytest.raises(ValueError):
        make_client_algo_id("x", "STOP")
    with pytest.raises(ValueError):
        make_client_algo_id("", "STOP_MARKET")


def test_stub_protective_ambiguous_is_recovered_by_query():
    stub = AlgoStub()
    stub.scripts["algo_create"] = ["ACCEPT_SILENTLY"]
    a, sleeps = make_adapter(stub)
    r = a.place_protective_order("BTCUSDT", "LONG", "STOP_MARKET", "59000", intent_id="p1")
    assert r.outcome is Outcome.ACCEPTED and r.recovered and r.attempts == 1
    names = [c[0] for c in stub.calls if c[0].startswith("algo")]
    assert names == ["algo_get", "algo_create", "algo_get"]  # pre-check, POST, query before any resend
    assert len(sleeps) == 1


def test_stub_protective_lost_before_exchange_resends_same_id():
    stub = AlgoStub()
    stub.scripts["algo_create"] = [requests.exceptions.ReadTimeout("lost before the exchange")]
    a, _ = make_adapter(stub)
    r = a.place_protective_order("BTCUSDT", "SHORT", "TAKE_PROFIT_MARKET", "59000", "0.002", intent_id="p2")
    ids = [c[1]["clientAlgoId"] for c in stub.calls if c[0] == "algo_create"]
    assert r.accepted and not r.recovered and r.attempts == 2 and len(ids) == 2 and ids[0] == ids[1]


def test_stub_protective_query_failure_is_unknown_and_no_resend():
    stub = AlgoStub()
    stub.scripts["algo_create"] = [_api_error(503, -1000, "Unknown error, please check your request.")]
    stub.scripts["algo_get"] = [None] + [requests.exceptions.ReadTimeout("t")] * 10  # pre-check ok, then failing
    a, _ = make_adapter(stub)
    r = a.place_protective_order("BTCUSDT", "LONG", "STOP_MARKET", "59000", intent_id="p3")
    assert r.outcome is Outcome.UNKNOWN and r.code == -1000
    assert [c[0] for c in stub.calls].count("algo_create") == 1


def test_stub_protective_duplicate_fetches_original_and_existing_is_not_resent():
    stub = AlgoStub()
    cid = make_client_algo_id("p4", "STOP_MARKET")
    stub.scripts["algo_create"] = [_api_error(400, -4116, "ClientOrderId is duplicated.")]
    a, _ = make_adapter(stub)
    # -4116 (e.g. pre_check off): the original is fetched
    stub.algos[cid] = stub._algo_view(dict(clientAlgoId=cid, type="STOP_MARKET", symbol="BTCUSDT", side="SELL",
                                           positionSide="LONG", triggerPrice="59000", workingType="MARK_PRICE"))
    r = a.place_protective_order("BTCUSDT", "LONG", "STOP_MARKET", "59000", intent_id="p4", pre_check=False)
    assert r.accepted and r.recovered and r.client_order_id == cid and r.attempts == 1
    # with the pre-check (default) an existing id is never sent again, whatever its state
    stub.algos[cid]["algoStatus"] = "FINISHED"
    n = len(stub.calls)
    again = a.place_protective_order("BTCUSDT", "LONG", "STOP_MARKET", "59000", intent_id="p4")
    assert again.recovered and again.order.status == "FINISHED" and again.attempts == 0
    assert [c[0] for c in stub.calls[n:]] == ["algo_get"]


def test_stub_protective_id_owned_by_another_kind_is_refused():
    stub = AlgoStub()
    a, _ = make_adapter(stub)
    cid = "hp-custom-id-1"
    stub.algos[cid] = stub._algo_view(dict(clientAlgoId=cid, type="TAKE_PROFIT_MARKET", symbol="BTCUSDT",
                                           side="SELL", positionSide="LONG", triggerPrice="61000",
                                           workingType="MARK_PRICE"))
    r = a.place_protective_order("BTCUSDT", "LONG", "STOP_MARKET", "59000", client_algo_id=cid)
    assert r.outcome is Outcome.REJECTED and r.code == -4116 and r.order.kind == "TAKE_PROFIT_MARKET"
    assert "algo_create" not in [c[0] for c in stub.calls]


def test_client_gate_swallows_algo_writes(caplog):
    caplog.set_level(logging.INFO, logger="hedge.exutil")
    c = client_class_for("http://127.0.0.1:9")("key-AAAA", "secret-BBBB", dry_run=True)
    r = c.futures_create_algo_order(algoType="CONDITIONAL", symbol="BTCUSDT", side="SELL", positionSide="LONG",
                                    type="STOP_MARKET", triggerPrice="49000", closePosition="true",
                                    clientAlgoId="hp-x-sl", workingType="MARK_PRICE")
    assert r["dryRun"] is True and r["algoStatus"] == "DRY_RUN" and r["clientAlgoId"] == "hp-x-sl"
    assert r["closePosition"] is True and r["orderType"] == "STOP_MARKET"
    d = c.futures_cancel_algo_order(clientAlgoId="hp-x-sl")
    assert d["dryRun"] is True and d["clientAlgoId"] == "hp-x-sl"
    c.futures_cancel_all_algo_open_orders(symbol="BTCUSDT")
    # python-binance's generic routing (type STOP_MARKET / conditional=True) lands on the same gate
    c.futures_create_order(symbol="BTCUSDT", side="SELL", type="STOP_MARKET", stopPrice="49000", quantity="0.01")
    c.futures_cancel_all_open_orders(symbol="BTCUSDT", conditional=True)
    assert c.dry_run_swallowed == 5
    for path in ("POST /fapi/v1/algoOrder", "DELETE /fapi/v1/algoOrder", "DELETE /fapi/v1/algoOpenOrders"):
        assert f"DRY_RUN swallowed {path}" in caplog.text


# ---------------------------------------------------------------- untrusted answers: siblings of issue 8


def test_stub_unclassifiable_failure_after_a_post_is_ambiguous_not_rejected():
    """An exception python-binance raises while reading an answer (the order may be booked) is not a
    rejection: the adapter waits out the recvWindow and looks the id up before anything else."""
    stub = StubClient()
    stub.scripts["create"] = ["ACCEPT_SILENTLY"]
    orig = stub.futures_create_order

    def booked_then_garbled(**p):
        try:
            return orig(**p)
        except requests.exceptions.ReadTimeout:
            raise AttributeError("'list' object has no attribute 'get'") from None

    stub.futures_create_order = booked_then_garbled
    a, sleeps = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="garbled")
    assert r.outcome is Outcome.ACCEPTED and r.recovered, r
    assert [c[0] for c in stub.calls].count("create") == 1 and sleeps and sleeps[0] >= 1.5  # waited ~recvWindow


def test_stub_unreadable_2xx_answer_is_unknown_and_never_resent():
    stub = StubClient()
    stub.scripts["create"] = [["not", "an", "order"]]
    a, _ = make_adapter(stub)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="unreadable")
    assert r.outcome is Outcome.UNKNOWN and r.error_kind == "invalid_response"
    assert [c[0] for c in stub.calls].count("create") == 1


def test_stub_position_mode_answer_without_the_field_is_an_error_not_one_way():
    stub = StubClient()
    stub.futures_get_position_mode = lambda **p: {}  # garbled: must not be read as one-way mode
    a, _ = make_adapter(stub)
    r = a.place_order("BTCUSDT", "SELL", "0.002", order_type="LIMIT", price="60000", intent_id="mode")
    assert r.outcome is Outcome.REJECTED and r.local and "create" not in [c[0] for c in stub.calls]


def test_stub_garbage_counters_and_rate_limits_are_ignored():
    budget = WeightBudget()
    budget.observe({"X-MBX-USED-WEIGHT-1M": "-5", "X-MBX-ORDER-COUNT-1M": "9" * 5000,
                    "X-MBX-ORDER-COUNT-10S": "nan"}, 1_000)
    assert (budget.used_weight, budget.orders_1m, budget.orders_10s) == (0, 0, 0)
    lim = RateLimits.from_exchange_info([{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                          "intervalNum": 1, "limit": "lots"}, "junk", None], RateLimits())
    assert lim == RateLimits()
