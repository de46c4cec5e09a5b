"""Fuzz: generated exchange answers fed to the adapter (issue 8, docs/EXCHANGE.md).

Every header and field from the exchange is untrusted input. Whatever python-binance hands back (a garbled
body, an error with any status / code / Retry-After, a transport exception, a time answer that is not a
time), the adapter's writes keep their one promise: an outcome, never an exception, in bounded time (the
injected sleep records every wait; the total is bounded), and never more POSTs than the retry policy allows.
"""
import json
import random
from decimal import Decimal as D

import pytest
import requests
from binance.exceptions import BinanceAPIException, BinanceRequestException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.filters import SymbolFilters
from core.orders import Intent
from core.risk_limits import ProposedOrder
from execution.exchange import CancelOutcome, CancelResult, ExchangeAdapter, Outcome, RetryPolicy, SubmitResult
from execution.exchange.errors import parse_retry_after

BTC = SymbolFilters("BTCUSDT", D("0.10"), D("556.80"), D("4529764"), D("0.001"), D("0.001"), D("1000"),
                    D("0.001"), D("0.001"), D("120"), D("100"), D("1.05"), D("0.95"))
POLICY = RetryPolicy(max_attempts=3)

junk_text = st.one_of(st.text(max_size=20), st.sampled_from(["-1", "nan", "NaN", "inf", "-inf", "1e308", "1e999",
                                                              "9" * 5000, "0x10", " 3 ", "", "1_000", "٣"]))
headers = st.dictionaries(st.sampled_from(["Retry-After", "retry-after", "X-MBX-USED-WEIGHT-1M",
                                           "X-MBX-ORDER-COUNT-1M", "X-MBX-ORDER-COUNT-10S"]), junk_text, max_size=4)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    junk_text)
json_like = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                         st.dictionaries(st.text(max_size=12), kids, max_size=4)),
                         max_leaves=12)
order_fields = st.fixed_dictionaries({}, optional={
    k: scalars for k in ("orderId", "clientOrderId", "status", "symbol", "side", "positionSide", "price", "origQty",
                         "executedQty", "avgPrice", "updateTime", "algoId", "clientAlgoId", "algoStatus",
                         "triggerPrice", "quantity", "actualOrderId", "serverTime", "dualSidePosition", "code",
                         "msg")})


class _Resp:
    def __init__(self, status, hdrs, text=""):
        self.status_code = status
        self.headers = hdrs
        self.text = text
        self.request = None


@st.composite
def answers(draw):
    """One thing python-binance may give the adapter: a value, or an exception to raise."""
    kind = draw(st.sampled_from(["value", "order", "api_error", "request_error", "transport", "odd"]))
    if kind == "value":
        return ("value", draw(json_like), draw(headers))
    if kind == "order":
        return ("value", draw(order_fields), draw(headers))
    if kind == "api_error":
        status = draw(st.sampled_from([400, 401, 403, 404, 408, 418, 429, 500, 502, 503, 504, 200, 302, 999]))
        body = draw(st.one_of(
            st.fixed_dictionaries({"code": st.one_of(st.sampled_from(
                [-1000, -1001, -1003, -1007, -1015, -1021, -2011, -2013, -2019, -4116, -4164, -1116, 0, 7]),
                st.integers(-10**6, 10**6), junk_text, st.none()), "msg": st.text(max_size=40)}),
            st.text(max_size=40).map(lambda t: {"msg": t}),
            st.just("<html>502 Bad Gateway</html>")))
        text = body if isinstance(body, str) else json.dumps(body)
        hdrs = draw(headers)
        return ("raise", BinanceAPIException(_Resp(status, hdrs, text), status, text), hdrs)
    if kind == "request_error":
        return ("raise", BinanceRequestException("Invalid Response: " + draw(st.text(max_size=20))), {})
    if kind == "transport":
        exc = draw(st.sampled_from([requests.exceptions.ReadTimeout("read timed out"),
                                    requests.exceptions.ConnectTimeout("connect timed out"),
                                    requests.exceptions.ConnectionError("Connection aborted"),
                                    requests.exceptions.ConnectionError("NewConnectionError: refused"),
                                    requests.exceptions.ChunkedEncodingError("broken")]))
        return ("raise", exc, {})
    return ("raise", draw(st.sampled_from([ValueError("x"), KeyError("k"), AttributeError("a"), TypeError("t"),
                                           OverflowError("o"), RecursionError("r")])), {})


class FuzzClient:
    """Every futures_* call answers the next generated answer (then a default, so a call always ends)."""

    def __init__(self, script, dual):
        self.script = list(script)
        self.dry_run = False
        self.timestamp_offset = 0
        self.response = None
        self.dual = dual
        self.posts = 0
        self.REQUEST_RECVWINDOW = 5000

    def _answer(self, default):
        if not self.script:
            self.response = _Resp(200, {})
            return default
        what, item, hdrs = self.script.pop(0)
        self.response = _Resp(200, hdrs)
        if what == "raise":
            raise item
        return item

    def futures_create_order(self, **p):
        self.posts += 1
        return self._answer({"clientOrderId": p["newClientOrderId"], "status": "NEW", "orderId": 1})

    def futures_create_algo_order(self, **p):
        self.posts += 1
        return self._answer({"clientAlgoId": p["clientAlgoId"], "algoStatus": "NEW", "algoId": 1})

    def futures_get_order(self, **p):
        return self._answer({"clientOrderId": p.get("origClientOrderId"), "status": "NEW", "orderId": 1})

    def futures_get_algo_order(self, **p):
        return self._answer({"clientAlgoId": p.get("clientAlgoId"), "algoStatus": "NEW", "symbol": "BTCUSDT"})

    def futures_time(self, **p):
        return self._answer({"serverTime": 4_102_444_800_000})  # 2100: the window has passed

    def futures_get_position_mode(self, **p):
        return self._answer({"dualSidePosition": self.dual})

    def futures_mark_price(self, **p):
        return self._answer({"symbol": "BTCUSDT", "markPrice": "60000", "time": 1})

    def futures_cancel_order(self, **p):
        return self._answer({"status": "CANCELED"})

    def futures_cancel_algo_order(self, **p):
        return self._answer({"code": "200", "msg": "ok"})

    def futures_exchange_info(self, **p):
        return self._answer({"symbols": [], "rateLimits": []})


def fuzz_adapter(script, dual, known_mode):
    client = FuzzClient(script, dual)
    sleeps = []
    a = ExchangeAdapter(client, policy=POLICY, sleep=sleeps.append, rng=random.Random(0),  # type: ignore[arg-type]
                        order_recv_window_ms=500)
    a._filters = {"BTCUSDT": BTC}
    a._filters_at_ms = 10 ** 15
    if known_mode:
        a._dual_side = dual
    return a, client, sleeps


# Bound on the injected waits of one call: each of max_attempts requests may wait Retry-After (<= 60 s) or a
# back-off, plus the recvWindow polls of each ambiguous round. Nothing near an hour, never forever.
MAX_TOTAL_WAIT_S = 3 * 60 * 10


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(script=st.lists(answers(), max_size=12), dual=st.booleans(), known_mode=st.booleans(),
       kind=st.sampled_from(["LIMIT", "MARKET"]))
def test_place_order_always_returns_an_outcome(script, dual, known_mode, kind):
    a, client, sleeps = fuzz_adapter(script, dual, known_mode)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type=kind, price="60000" if kind == "LIMIT" else None,
                      intent_id="fz", ref_price="60000")
    assert isinstance(r, SubmitResult) and isinstance(r.outcome, Outcome)
    assert client.posts <= POLICY.max_attempts
    assert r.outcome is not Outcome.REJECTED or not r.local or client.posts == 0  # local = nothing was sent
    assert sum(s for s in sleeps) <= MAX_TOTAL_WAIT_S and all(s >= 0 for s in sleeps)


@FUZZ
@given(script=st.lists(answers(), max_size=12), dual=st.booleans())
def test_submit_order_and_protective_always_return_an_outcome(script, dual):
    a, client, sleeps = fuzz_adapter(script, dual, True)
    order = ProposedOrder("BTCUSDT", "SELL", "LONG" if dual else "BOTH", "0.002", "61000", intent=Intent.CLOSE)
    r = a.submit_order(order, intent_id="fz2", slice_index=1)
    assert isinstance(r, SubmitResult)
    p = a.place_protective_order("BTCUSDT", "LONG", "STOP_MARKET", "59000", intent_id="fz2")
    assert isinstance(p, SubmitResult) and isinstance(p.outcome, Outcome)
    assert client.posts <= 2 * POLICY.max_attempts
    assert sum(sleeps) <= 2 * MAX_TOTAL_WAIT_S


@FUZZ
@given(script=st.lists(answers(), max_size=8))
def test_cancels_always_return_an_outcome(script):
    a, _, _ = fuzz_adapter(script, True, True)
    for c in (a.cancel_order("BTCUSDT", client_order_id="hg-x-1"),
              a.cancel_protective_order("BTCUSDT", client_algo_id="hp-x-sl")):
        assert isinstance(c, CancelResult) and isinstance(c.outcome, CancelOutcome)


@given(value=st.one_of(junk_text, st.floats(allow_nan=True), st.integers(), st.none(), st.binary(max_size=10)))
def test_retry_after_is_parsed_safely(value):
    got = parse_retry_after(value)
    assert got is None or (0 <= got <= 86_400)


@pytest.mark.parametrize("header", ["-1", "nan", "inf", "1e308", "abc", "9" * 5000])
def test_bad_retry_after_never_raises_out_of_place_order(header):
    """The issue's repro: a 429 with Retry-After -1 / nan raised a raw ValueError out of place_order."""
    err = ("raise", BinanceAPIException(_Resp(429, {"Retry-After": header}, '{"code":-1003,"msg":"Too many"}'),
                                        429, '{"code":-1003,"msg":"Too many"}'), {"Retry-After": header})
    a, client, sleeps = fuzz_adapter([err] * 5, True, True)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="ra")
    assert r.outcome is Outcome.REJECTED and r.error_kind == "rate_limited" and not r.local
    assert all(0 <= s <= 60 for s in sleeps)  # never a negative or endless wait


@pytest.mark.parametrize("until", ["banned until 99999999999999999999999", "banned until 1000000000"])
def test_absurd_ban_end_is_bounded(until):
    body = json.dumps({"code": -1003, "msg": f"Way too many requests; IP banned {until}."})
    err = ("raise", BinanceAPIException(_Resp(418, {"Retry-After": "nan"}, body), 418, body), {})
    a, _, _ = fuzz_adapter([err], True, True)
    r = a.place_order("BTCUSDT", "BUY", "0.002", order_type="LIMIT", price="60000", intent_id="ban")
    assert r.outcome is Outcome.REJECTED
    now = a._now_ms()
    assert now < a.budget.blocked_until_ms <= now + 24 * 3600 * 1000
