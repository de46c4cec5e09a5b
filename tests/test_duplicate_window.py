"""The duplicate window (issue 8, docs/EXCHANGE.md "Idempotent submission"), against the real venue.

The venue's `late` fault reads a request, holds it, then executes it as if it arrived then (recvWindow judged
at that moment), whether or not the client still waits. That reproduces the race: the original POST arrives
after the client gave up and after a status query said "not found". A client that resends on that "not found"
makes two orders (shown first, with plain python-binance); the adapter waits until the original's timestamp +
recvWindow has passed by server time before it trusts "not found", so many trials give zero doubles.
"""
import random
import time

import pytest
import requests
from binance.exceptions import BinanceAPIException

from core.orders import Intent
from core.risk_limits import ProposedOrder
from execution.exchange import Outcome, make_client_order_id
from execution.exchange_utils import build_adapter
from settings.env import EnvSettings
from tests.plugins.venue import open_leg, recording_sleep

BTC = "BTCUSDT"
ORDER = "/fapi/v1/order"
pytestmark = pytest.mark.timeout(120)


def orders_of(v, cid):
    c = v.client(ping=False)
    return [o for o in c.futures_get_all_orders(symbol=BTC) if o["clientOrderId"] == cid]


def adapter(v, recv_window_ms=1000, read_timeout=0.3):
    s = EnvSettings(_env_file=None, ENV="dev", DRY_RUN=False, BINANCE_BASE_URL=v.base_url,
                    BINANCE_API_KEY=v.api_key, BINANCE_API_SECRET=v.api_secret)
    waits, sleep = recording_sleep(cap_s=2.0)
    a = build_adapter(s, timeout=read_timeout, sleep=sleep, rng=random.Random(3),
                      order_recv_window_ms=recv_window_ms)
    return a, waits


def test_late_delivery_fault_executes_after_the_client_gave_up(venue):
    venue.reset(dual=True)
    c = venue.client(ping=False, requests_params={"timeout": 0.3})
    venue.fault(kind="late", method="POST", path=ORDER, count=1, latency_ms=700)
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        open_leg(c, BTC, "LONG", "0.01", newClientOrderId="late-1")
    assert time.monotonic() - t0 < 0.6
    assert orders_of(venue, "late-1") == []  # not there yet: the status query says "not found" ...
    time.sleep(0.8)
    (o,) = orders_of(venue, "late-1")  # ... and then the original arrives and fills
    assert o["status"] == "FILLED"


def test_latency_fault_also_executes_a_request_whose_client_left(venue):
    """The latency fault used to sleep before reading the request, so an abandoned order never executed."""
    venue.reset(dual=True)
    c = venue.client(ping=False, requests_params={"timeout": 0.3})
    venue.fault(kind="latency", method="POST", path=ORDER, count=1, latency_ms=600)
    with pytest.raises(requests.exceptions.Timeout):
        open_leg(c, BTC, "LONG", "0.01", newClientOrderId="slow-1")
    time.sleep(0.8)
    assert [o["status"] for o in orders_of(venue, "slow-1")] == ["FILLED"]


def test_late_delivery_past_the_recv_window_is_refused_on_arrival(venue):
    venue.reset(dual=True)
    c = venue.client(ping=False, requests_params={"timeout": 2.0})
    c.REQUEST_RECVWINDOW = 300  # python-binance stamps its own recvWindow on every signed request
    venue.fault(kind="late", method="POST", path=ORDER, count=1, latency_ms=700)
    with pytest.raises(BinanceAPIException) as e:
        open_leg(c, BTC, "LONG", "0.01", newClientOrderId="stale-1")
    assert e.value.code == -1021
    assert orders_of(venue, "stale-1") == []


def test_naive_query_then_resend_doubles_under_late_delivery(venue):
    """The race is real: 'not found' right after a timeout, resend with the same id -> two fills."""
    venue.reset(dual=True)
    c = venue.client(ping=False, requests_params={"timeout": 0.3})
    venue.fault(kind="late", method="POST", path=ORDER, count=1, latency_ms=800)
    with pytest.raises(requests.exceptions.Timeout):
        open_leg(c, BTC, "LONG", "0.01", newClientOrderId="naive-1")
    assert orders_of(venue, "naive-1") == []
    open_leg(c, BTC, "LONG", "0.01", newClientOrderId="naive-1")  # a MARKET fill frees the id (no -4116)
    time.sleep(1.0)
    assert len(orders_of(venue, "naive-1")) == 2  # the double the adapter must never make


@pytest.mark.slow
def test_adapter_never_doubles_under_late_delivery_many_trials(venue):
    venue.reset(dual=True, balance=1_000_000)
    a, waits = adapter(venue)
    rng = random.Random(8)
    outcomes = []
    for i in range(12):
        latency = rng.choice([350, 500, 650, 800, 900, 1300])  # below and beyond the 1000 ms recvWindow
        venue.fault(kind="late", method="POST", path=ORDER, count=1, latency_ms=latency)
        order = ProposedOrder(BTC, "BUY", "LONG", "0.01", order_type="MARKET", intent=Intent.OPEN)
        r = a.submit_order(order, intent_id=f"dw-{i}", slice_index=0, mark_price="55000")
        venue.clear_faults()
        outcomes.append((latency, r.outcome, r.recovered))
        assert r.outcome is Outcome.ACCEPTED, (latency, r)
    time.sleep(1.5)  # any straggler would have arrived by now
    for i in range(12):
        assert len(orders_of(venue, make_client_order_id(f"dw-{i}", 0))) == 1, outcomes
    # both branches happened: the late original found by the query, and a refused stale one resent
    assert {rec for _, _, rec in outcomes} == {True, False}, outcomes
    # every ambiguous submit waited out the window before trusting the query: >= ~recvWindow - read timeout
    assert len([w for w in waits if w >= 0.6]) >= 12, waits


@pytest.mark.parametrize("bad", [
    {"kind": "late", "latency_ms": "abc"}, {"kind": "latency", "latency_ms": float("nan")},
    {"kind": "latency", "latency_ms": -1}, {"kind": "latency", "latency_ms": 10**12},
    {"kind": "error", "status": True}, {"kind": "timeout", "hold_ms": "1500"}, {"kind": "drop", "count": 0},
    {"kind": "drop", "path": ["/fapi/v1/order"]}, {"kind": "ambiguous", "mode": "explode"}, {"kind": "nope"},
    {"kind": "drop", "extra": 1},
])
def test_bad_fault_rules_are_refused_and_change_nothing(bad):
    from venue.faults import Faults

    f = Faults()
    f.add({"kind": "latency", "latency_ms": 5})
    before = f.view()
    with pytest.raises(ValueError):
        f.add(bad)
    assert f.view() == before
    assert f.take("GET", "/fapi/v1/time")[0] == 5  # the venue still applies its rules


def test_bad_fault_rule_through_the_admin_api_is_a_400(venue):
    venue.reset(dual=True)
    with pytest.raises(AssertionError, match="-> 400"):
        venue.fault(kind="late", method="POST", path=ORDER, latency_ms="abc")
    assert venue.admin("GET", "/_venue/faults")["rules"] == []
    c = venue.client(ping=False)
    assert c.futures_time()["serverTime"] > 0  # not broken
