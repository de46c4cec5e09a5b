"""Protective (conditional) orders through the adapter, against the real venue process replaying a hand-made
data set, so every trigger can be worked out by hand. The clock is paused and stepped with the venue's
admin API (`/_venue/clock`); sleeps are injected and recorded (really slept only briefly, see recording_sleep).

BTCUSDT bars (1h): 50000 flat, except
  10:00  O 50000 -> H 50100 (10:20) -> L 49000 (10:40) -> C 49500   (the dip)
  30:00  O 50000 -> L 49900 (30:20) -> H 52000 (30:40) -> C 51900   (the rally)
The venue starts paused at 06:00, in hedge mode.
"""
import json
import logging
import random
import re
from decimal import Decimal as D

import pytest

from execution.exchange import CancelOutcome, Outcome, make_client_algo_id
from execution.exchange_utils import build_adapter
from settings.env import EnvSettings
from tests.plugins.venue import recording_sleep, write_dataset

pytestmark = pytest.mark.timeout(60)

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
START = T0 + 6 * H
BTC = "BTCUSDT"
ALGO = "/fapi/v1/algoOrder"


def btc_bars():
    bars = []
    for i in range(48):
        t = T0 + i * H
        if i == 10:
            bars.append((t, 50000.0, 50100.0, 49000.0, 49500.0, 500.0))
        elif i == 30:
            bars.append((t, 50000.0, 52000.0, 49900.0, 51900.0, 700.0))
        else:
            bars.append((t, 50000.0, 50000.0, 50000.0, 50000.0, 100.0))
    return bars


@pytest.fixture(scope="module")
def crafted(tmp_path_factory, venue_factory):
    data = write_dataset(tmp_path_factory.mktemp("protective-data"), klines={BTC: btc_bars()})
    return venue_factory(data=data, start=START, paused=True)


def adapter_for(v, dry_run=False, timeout=5.0):
    s = EnvSettings(_env_file=None, ENV="dev", DRY_RUN=dry_run, BINANCE_BASE_URL=v.base_url,
                    BINANCE_API_KEY=v.api_key, BINANCE_API_SECRET=v.api_secret)
    sleeps, sleep = recording_sleep()  # a short recvWindow for orders: the ambiguity wait is real but brief
    return build_adapter(s, timeout=timeout, sleep=sleep, rng=random.Random(5), order_recv_window_ms=300), sleeps


@pytest.fixture
def hedge(crafted):
    """Fresh hedge-mode account, clock paused at 06:00; (venue, adapter, recorded sleeps)."""
    crafted.reset(dual=True, paused=True)
    a, sleeps = adapter_for(crafted)
    yield crafted, a, sleeps
    a.client.session.close()


def legs(a):
    return {p.position_side: p.amount for p in a.positions(BTC)}


def algo_orders(v):
    """Every algo order the venue holds for BTCUSDT, in any state (read with a plain client)."""
    return v.client(ping=False).futures_get_all_orders(symbol=BTC, conditional=True)


def open_long_and_short(a, long_qty="0.010", short_qty="0.004"):
    assert a.place_order(BTC, "BUY", long_qty, intent_id="open-long").accepted
    assert a.place_order(BTC, "SELL", short_qty, intent_id="open-short").accepted
    assert legs(a) == {"LONG": D(long_qty), "SHORT": -D(short_qty)}


# ---------------------------------------------------------------- triggers close the leg

def test_stop_market_on_long_leg_fires_and_closes_only_that_leg(hedge, caplog):
    v, a, _ = hedge
    caplog.set_level(logging.INFO)
    open_long_and_short(a)
    r = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500.04", intent_id="pos-1")
    assert r.accepted and not r.recovered and r.attempts == 1, r
    assert r.client_order_id == make_client_algo_id("pos-1", "STOP_MARKET") and r.client_order_id.endswith("-sl")
    # hedge mode: SELL protects the LONG leg, positionSide always sent, never reduceOnly; closePosition allowed
    assert dict(r.request.params) == {
        "algoType": "CONDITIONAL", "symbol": BTC, "side": "SELL", "positionSide": "LONG", "type": "STOP_MARKET",
        "triggerPrice": "49500.1",  # a LONG stop rounds UP onto the 0.1 tick: never looser than asked
        "workingType": "MARK_PRICE", "clientAlgoId": r.client_order_id, "closePosition": "true"}
    o = r.order
    assert (o.status, o.kind, o.side, o.position_side, o.trigger_price, o.close_position, o.working_type) == (
        "NEW", "STOP_MARKET", "SELL", "LONG", D("49500.1"), True, "MARK_PRICE")
    assert [p.client_algo_id for p in a.open_protective_orders(BTC)] == [r.client_order_id]
    assert a.open_orders(BTC) == []  # conditional orders are not regular open orders

    v.clock(to_ms=T0 + 10 * H)  # flat until the dip: nothing fires
    assert a.get_protective_order(BTC, client_algo_id=r.client_order_id).status == "NEW"
    v.clock(to_ms=T0 + 11 * H)  # the dip crosses 49500.1 on its way to 49000
    fired = a.get_protective_order(BTC, client_algo_id=r.client_order_id)
    assert fired.status == "FINISHED" and fired.fired and not fired.is_open and fired.actual_order_id
    assert T0 + 10 * H + 20 * 60_000 < fired.trigger_time_ms < T0 + 10 * H + 40 * 60_000
    # the order it became carries the clientAlgoId as its clientOrderId
    done = a.get_order(BTC, client_order_id=r.client_order_id)
    assert done.status == "FILLED" and done.order_id == fired.actual_order_id and done.raw["origType"] == "STOP_MARKET"
    assert done.executed_qty == D("0.010") and done.avg_price < D("49500.1")
    assert legs(a) == {"SHORT": D("-0.004")}  # the LONG leg is closed, the SHORT leg untouched
    assert a.open_protective_orders(BTC) == []
    (send,) = [x.getMessage() for x in caplog.records if "[executor] SEND_PROTECTIVE" in x.getMessage()]
    assert '"positionSide":"LONG"' in send and "reduceOnly" not in send
    assert "[executor] PROTECTIVE_REQ /fapi/v1/algoOrder 200 {" in caplog.text


def test_take_profit_market_on_short_leg_with_quantity(hedge):
    v, a, _ = hedge
    assert a.place_order(BTC, "SELL", "0.010", intent_id="short-1").accepted
    r = a.place_protective_order(BTC, "SHORT", "TAKE_PROFIT_MARKET", "49499.97", quantity="0.0069",
                                 intent_id="short-1", working_type="CONTRACT_PRICE")
    assert r.accepted, r
    p = r.request.params
    assert (p["side"], p["positionSide"], p["type"], p["quantity"], p["workingType"]) == (
        "BUY", "SHORT", "TAKE_PROFIT_MARKET", "0.006", "CONTRACT_PRICE")  # qty floored to the 0.001 step
    assert p["triggerPrice"] == "49500" and "closePosition" not in p and "reduceOnly" not in p
    assert r.client_order_id.endswith("-tp") and r.order.quantity == D("0.006")
    v.clock(to_ms=T0 + 10 * H + 20 * 60_000)  # up to the bar's high: a BUY take-profit waits for <= 49500
    assert a.get_protective_order(BTC, client_algo_id=r.client_order_id).is_open
    v.clock(to_ms=T0 + 11 * H)
    fired = a.get_protective_order(BTC, algo_id=r.order.algo_id)
    assert fired.status == "FINISHED" and fired.client_algo_id == r.client_order_id
    assert legs(a) == {"SHORT": D("-0.004")}  # 0.006 of the 0.010 short bought back
    (trade,) = [t for t in a.user_trades(BTC) if t.order_id == fired.actual_order_id]
    assert trade.side == "BUY" and trade.position_side == "SHORT" and trade.realized_pnl > 0


def test_cancel_one_cancel_all_and_regular_cancel_all_leaves_protective(hedge):
    v, a, _ = hedge
    open_long_and_short(a)
    sl = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500", intent_id="c-1")
    tp = a.place_protective_order(BTC, "SHORT", "TAKE_PROFIT_MARKET", "49600", intent_id="c-1")
    sl2 = a.place_protective_order(BTC, "SHORT", "STOP_MARKET", "51000", quantity="0.002", intent_id="c-2")
    assert sl.accepted and tp.accepted and sl2.accepted
    assert len(a.open_protective_orders()) == 3  # every symbol

    c = a.cancel_protective_order(BTC, client_algo_id=sl.client_order_id)
    assert c.outcome is CancelOutcome.CANCELED and c.ok and c.order_id == sl.order.algo_id
    again = a.cancel_protective_order(BTC, client_algo_id=sl.client_order_id)
    assert again.outcome is CancelOutcome.NOT_OPEN and again.ok and again.order.status == "CANCELED"
    unknown = a.cancel_protective_order(BTC, client_algo_id="hp-never-sent")
    assert unknown.outcome is CancelOutcome.NOT_OPEN and unknown.order is None and unknown.code == -2011

    # cancel_all is REGULAR orders only: the protective ones stay
    assert a.cancel_all(BTC).outcome is CancelOutcome.CANCELED
    assert {p.client_algo_id for p in a.open_protective_orders(BTC)} == {tp.client_order_id, sl2.client_order_id}
    # cancel_all_protective is conditional orders only: a resting LIMIT stays
    limit = a.place_order(BTC, "BUY", "0.004", order_type="LIMIT", price="48000", intent_id="rest-1")
    assert limit.accepted
    assert a.cancel_all_protective(BTC).outcome is CancelOutcome.CANCELED
    assert a.open_protective_orders(BTC) == []
    assert [o.client_order_id for o in a.open_orders(BTC)] == [limit.client_order_id]

    v.clock(to_ms=T0 + 32 * H)  # the dip and the rally: nothing cancelled fires
    assert legs(a) == {"LONG": D("0.010"), "SHORT": D("-0.004")}
    assert {o["algoStatus"] for o in algo_orders(v)} == {"CANCELED"}


# ---------------------------------------------------------------- idempotent submission

@pytest.mark.parametrize("mode", ["drop", "503"])
def test_ambiguous_protective_submit_makes_exactly_one_algo_order(hedge, mode, caplog):
    v, a, sleeps = hedge
    caplog.set_level(logging.INFO)
    open_long_and_short(a)
    v.fault(kind="ambiguous", method="POST", path=ALGO, count=1, mode=mode)
    r = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500", intent_id=f"amb-{mode}")
    assert r.outcome is Outcome.ACCEPTED and r.recovered and r.attempts == 1, r
    assert r.order.status == "NEW" and r.order.client_algo_id == r.client_order_id
    assert "querying clientAlgoId before any resend" in caplog.text
    assert len(sleeps) == 1  # one back-off before the status query
    assert v.stats()["orders_received"] == {"MARKET": 2, "STOP_MARKET": 1}  # one POST reached the engine
    assert [o["clientAlgoId"] for o in algo_orders(v)] == [r.client_order_id]

    # the executor restarts and places the same intent again: found, not sent
    b, _ = adapter_for(v)
    again = b.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500", intent_id=f"amb-{mode}")
    assert again.accepted and again.recovered and again.attempts == 0
    assert again.order.algo_id == r.order.algo_id
    # ... also after it fired: -4116 would no longer catch a resend, the check before the first send does
    v.clock(to_ms=T0 + 11 * H)
    after = b.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500", intent_id=f"amb-{mode}")
    assert after.recovered and after.order.status == "FINISHED" and after.attempts == 0
    assert len(algo_orders(v)) == 1 and v.stats()["orders_received"]["STOP_MARKET"] == 1
    assert legs(a) == {"SHORT": D("-0.004")}


def test_ambiguous_protective_timeout_makes_exactly_one(crafted):
    crafted.reset(dual=True, paused=True)
    a, _ = adapter_for(crafted, timeout=0.5)
    assert a.place_order(BTC, "SELL", "0.010", intent_id="to-short").accepted
    crafted.fault(kind="ambiguous", method="POST", path=ALGO, count=1, mode="timeout", hold_ms=1500)
    r = a.place_protective_order(BTC, "SHORT", "STOP_MARKET", "51000", intent_id="amb-timeout")
    assert r.accepted and r.recovered, r
    assert len(algo_orders(crafted)) == 1 and crafted.stats()["orders_received"]["STOP_MARKET"] == 1


def test_5xx_before_processing_resends_the_same_id(hedge):
    v, a, _ = hedge
    open_long_and_short(a)
    v.fault(kind="error", status=503, method="POST", path=ALGO, count=1)  # refused, not executed
    r = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500", intent_id="5xx-1")
    assert r.accepted and not r.recovered and r.attempts == 2, r
    # GET (pre-check, -2013) -> POST (503) -> GET (-2013) -> POST: the same clientAlgoId both times
    assert v.stats()["requests"][ALGO] == 4
    assert [o["clientAlgoId"] for o in algo_orders(v)] == [r.client_order_id]


def test_persistent_failure_ends_unknown_without_a_resend(hedge):
    v, a, _ = hedge
    open_long_and_short(a)
    v.fault(kind="ambiguous", method="POST", path=ALGO, count=1, mode="503")
    v.fault(kind="error", status=503, method="GET", path=ALGO)  # every status query fails
    r = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500", intent_id="unk-1", pre_check=False)
    assert r.outcome is Outcome.UNKNOWN and r.attempts == 1, r
    v.clear_faults()
    # reconciled later by the deterministic id
    found = a.get_protective_order(BTC, client_algo_id=make_client_algo_id("unk-1", "STOP_MARKET"))
    assert found is not None and found.is_open
    assert len(algo_orders(v)) == 1


def test_pre_check_failure_sends_nothing(hedge):
    v, a, _ = hedge
    open_long_and_short(a)
    v.fault(kind="error", status=503, method="GET", path=ALGO)
    r = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500", intent_id="pc-1")
    v.clear_faults()
    assert r.outcome is Outcome.REJECTED and r.attempts == 0 and r.error_kind == "retryable"
    assert "STOP_MARKET" not in v.stats()["orders_received"]


def test_revision_places_a_moved_stop_deliberately(hedge):
    v, a, _ = hedge
    open_long_and_short(a)
    first = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49000", intent_id="mv-1")
    assert a.cancel_protective_order(BTC, client_algo_id=first.client_order_id).outcome is CancelOutcome.CANCELED
    same = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49600", intent_id="mv-1")
    assert same.recovered and same.order.status == "CANCELED"  # revision 0 exists: never placed twice
    moved = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49600", intent_id="mv-1", revision=1)
    assert moved.accepted and not moved.recovered and moved.client_order_id.endswith("-slr1")
    assert [p.trigger_price for p in a.open_protective_orders(BTC)] == [D("49600")]


def test_exchange_rejections_are_typed(hedge):
    v, a, _ = hedge
    open_long_and_short(a)
    # a LONG stop above the price would fire at once: -2021 from the exchange, not a local rejection
    now = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "50500", intent_id="rej-1")
    assert now.outcome is Outcome.REJECTED and not now.local and now.code == -2021
    # a local rejection sends nothing
    before = dict(v.stats()["orders_received"])
    for kwargs, code in ((dict(kind="STOP", trigger_price="49000"), -1116),
                         (dict(kind="STOP_MARKET", trigger_price="0"), -4006),
                         (dict(kind="STOP_MARKET", trigger_price="49000", quantity="0.0004"), -4004),
                         (dict(kind="STOP_MARKET", trigger_price="49000", quantity="0.001",
                               close_position=True), -4137),
                         (dict(kind="STOP_MARKET", trigger_price="49000", working_type="LAST"), -1130)):
        bad = a.place_protective_order(BTC, "LONG", intent_id="rej-local", **kwargs)
        assert bad.outcome is Outcome.REJECTED and bad.local and bad.code == code, (kwargs, bad)
    both = a.place_protective_order(BTC, "BOTH", "STOP_MARKET", "49000", intent_id="rej-both")
    assert both.local and both.code == -4061
    assert v.stats()["orders_received"] == before


# ---------------------------------------------------------------- DRY_RUN

def test_dry_run_sends_no_algo_order(crafted, caplog):
    crafted.reset(dual=True, paused=True)
    caplog.set_level(logging.INFO)
    a, _ = adapter_for(crafted, dry_run=True)
    r = a.place_protective_order(BTC, "LONG", "STOP_MARKET", "49500.04", intent_id="dry-1")
    assert r.outcome is Outcome.DRY_RUN and r.ok and not r.accepted
    assert r.order.status == "DRY_RUN" and r.order.client_algo_id == r.client_order_id
    tp = a.place_protective_order(BTC, "SHORT", "TAKE_PROFIT_MARKET", "49000", quantity="0.003", intent_id="dry-1")
    assert tp.outcome is Outcome.DRY_RUN
    c = a.cancel_protective_order(BTC, client_algo_id=r.client_order_id)
    assert c.outcome is CancelOutcome.DRY_RUN and c.ok
    assert a.cancel_all_protective(BTC).outcome is CancelOutcome.DRY_RUN

    stats = crafted.stats()
    assert stats["orders_received"] == {} and stats["orders_accepted"] == {}
    assert ALGO not in stats["requests"] and "/fapi/v1/algoOpenOrders" not in stats["requests"]
    assert algo_orders(crafted) == []
    m = re.search(r"\[executor\] SEND_PROTECTIVE DRY_RUN (\{.*\})", caplog.text)
    assert m and json.loads(m.group(1)) == dict(r.request.params)
    for line in ("[exutil] DRY_RUN swallowed POST /fapi/v1/algoOrder {", "DRY_RUN swallowed DELETE /fapi/v1/algoOrder",
                 "DRY_RUN swallowed DELETE /fapi/v1/algoOpenOrders", "[executor] CANCEL_PROTECTIVE DRY_RUN",
                 "[executor] CANCEL_ALL_PROTECTIVE DRY_RUN"):
        assert line in caplog.text, line
    assert "PROTECTIVE_REQ" not in caplog.text
    assert a.client.dry_run_swallowed == 4
