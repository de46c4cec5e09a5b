"""The adapter against the real local venue process (python-binance over HTTP, real faults).

Every test resets the shared venue first. Sleeps are injected and recorded, and really slept only briefly
(tests.plugins.venue.recording_sleep), so retries and back-offs cost little wall time; the only real waits are the venue's own held connections.
"""
import logging
import random
import re
from decimal import Decimal as D

import pytest

from core.filters import quantize_price
from execution.exchange import CancelOutcome, Outcome, SymbolConfig, make_client_order_id
from execution.exchange_utils import build_adapter
from settings.env import EnvSettings
from tests.plugins.venue import recording_sleep

pytestmark = pytest.mark.timeout(60)


def settings_for(v, **kw):
    base = dict(ENV="dev", DRY_RUN=False, BINANCE_BASE_URL=v.base_url, BINANCE_API_KEY=v.api_key,
                BINANCE_API_SECRET=v.api_secret)
    base.update(kw)
    return EnvSettings(_env_file=None, **base)


def adapter_for(v, dry_run=False, timeout=5.0, **kw):
    sleeps, sleep = recording_sleep()  # a short recvWindow for orders: the ambiguity wait is real but brief
    kw.setdefault("order_recv_window_ms", 300)
    a = build_adapter(settings_for(v, DRY_RUN=dry_run), timeout=timeout, sleep=sleep,
                      rng=random.Random(7), **kw)
    return a, sleeps


@pytest.fixture
def hedge(venue):
    """Clean hedge-mode account on the shared venue; (venue, adapter, recorded sleeps)."""
    venue.reset(dual=True)
    a, sleeps = adapter_for(venue)
    yield venue, a, sleeps
    a.client.session.close()


def resting_buy_price(a, symbol="BTCUSDT"):
    """A LIMIT BUY price 3 % under the mark: rests on the book, inside PERCENT_PRICE."""
    f = a.symbol_filters(symbol)
    return quantize_price(a.mark_price(symbol).mark_price * D("0.97"), f, "BUY")


def received(v):
    return sum(v.stats()["orders_received"].values())


def venue_open_orders(v, symbol="BTCUSDT"):
    return v.client(ping=False).futures_get_open_orders(symbol=symbol)


# ---------------------------------------------------------------- hedge mode

def test_is_dual_side_true_on_hedge_venue(venue, monkeypatch, tmp_path, caplog):
    venue.reset(dual=True)
    monkeypatch.chdir(tmp_path)  # no stray .env
    for k, val in dict(ENV="dev", DRY_RUN="1", BINANCE_TESTNET="0", BINANCE_BASE_URL=venue.base_url,
                       BINANCE_API_KEY=venue.api_key, BINANCE_API_SECRET=venue.api_secret).items():
        monkeypatch.setenv(k, val)
    caplog.set_level(logging.INFO)
    from execution.exchange_utils import _is_dual_side
    assert _is_dual_side() is True
    lines = [r.getMessage() for r in caplog.records if r.name == "hedge.exutil"]
    assert f"[exutil] base={venue.base_url} testnet=False" in lines
    assert "[exutil] ENV context testnet=False dry_run=True" in lines
    venue.reset(dual=False)
    assert _is_dual_side() is False


def test_hedge_orders_carry_position_side_and_never_reduce_only(hedge, caplog):
    v, a, _ = hedge
    caplog.set_level(logging.INFO)
    long_ = a.place_order("BTCUSDT", "BUY", "0.01", intent_id="h-open-long")
    short = a.place_order("BTCUSDT", "SELL", "0.004", intent_id="h-open-short")
    assert long_.accepted and short.accepted, (long_, short)
    assert long_.order.position_side == "LONG" and short.order.position_side == "SHORT"
    legs = {p.position_side: p for p in a.positions("BTCUSDT")}
    assert legs["LONG"].amount == D("0.010") and legs["SHORT"].amount == D("-0.004")  # two separate legs

    # closing the LONG leg = SELL + LONG; the SHORT leg is untouched
    close = a.close_position("BTCUSDT", "LONG", "0.01", intent_id="h-close-long")
    assert close.accepted and close.order.side == "SELL" and close.order.position_side == "LONG"
    legs = {p.position_side: p for p in a.positions("BTCUSDT")}
    assert "LONG" not in legs and legs["SHORT"].amount == D("-0.004")

    sends = [r.getMessage() for r in caplog.records if "[executor] SEND_ORDER" in r.getMessage()]
    assert len(sends) == 3
    for line in sends:
        assert '"positionSide":"LONG"' in line or '"positionSide":"SHORT"' in line
        assert "reduceOnly" not in line
    assert any("[executor] ORDER_REQ /fapi/v1/order 200 {" in r.getMessage() for r in caplog.records)
    assert v.stats()["rejects_by_code"] == {}


def test_close_below_min_notional_is_exempt_like_binance(hedge):
    v, a, _ = hedge
    assert a.place_order("BTCUSDT", "BUY", "0.003", intent_id="mn-open").accepted  # ~165 USDT
    # 0.001 BTC (~55 USDT) is under the 100 USDT min notional, but it closes part of the LONG leg
    part = a.close_position("BTCUSDT", "LONG", "0.001", intent_id="mn-close")
    assert part.accepted, part
    # the same size as an opening order is refused locally with Binance's code and text
    opening = a.place_order("BTCUSDT", "BUY", "0.001", intent_id="mn-open2")
    assert opening.outcome is Outcome.REJECTED and opening.local and opening.code == -4164
    assert opening.reason.startswith("Order's notional must be no smaller than 100 (unless you choose reduce only)")


def test_local_quantization_and_rejection(hedge):
    v, a, _ = hedge
    price = resting_buy_price(a)
    r = a.place_order("BTCUSDT", "BUY", "0.0109", order_type="LIMIT", price=price + D("0.07"),
                      intent_id="q-1")
    assert r.accepted, r
    assert r.order.orig_qty == D("0.010")  # floored to the 0.001 step
    assert r.order.price == price  # BUY rounded DOWN to the 0.10 tick
    before = received(v)
    for qty, code in (("0.0015", -4164), ("0.0009", -4004), ("0", -4003), ("2000", -4005)):
        bad = a.place_order("BTCUSDT", "BUY", qty, order_type="LIMIT", price=price, intent_id=f"q-{qty}")
        assert bad.outcome is Outcome.REJECTED and bad.local and bad.code == code, bad
    bad_side = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, position_side="BOTH")
    assert bad_side.code == -4061 and bad_side.local
    assert received(v) == before  # nothing reached the venue


def test_venue_rejection_is_typed(hedge):
    v, a, _ = hedge
    r = a.place_order("BTCUSDT", "BUY", "100", intent_id="margin-1", ref_price="55000")  # ~5.5M USDT
    assert r.outcome is Outcome.REJECTED and not r.local
    assert r.code == -2019 and r.error_kind == "insufficient_margin"


# ---------------------------------------------------------------- idempotent submission under faults

@pytest.mark.parametrize("mode", ["drop", "503"])
def test_ambiguous_submit_makes_exactly_one_order(hedge, mode, caplog):
    v, a, sleeps = hedge
    caplog.set_level(logging.INFO)
    price = resting_buy_price(a)
    v.fault(kind="ambiguous", method="POST", path="/fapi/v1/order", count=1, mode=mode)
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id=f"amb-{mode}")
    assert r.outcome is Outcome.ACCEPTED and r.recovered, r
    assert received(v) == 1
    opens = venue_open_orders(v)
    assert len(opens) == 1 and opens[0]["clientOrderId"] == r.client_order_id
    assert "querying origClientOrderId before any resend" in caplog.text
    assert len(sleeps) == 1  # one back-off before the status query


def test_ambiguous_market_order_is_not_doubled(hedge):
    """A MARKET order fills at once, so -4116 cannot protect a blind resend: only the query does."""
    v, a, _ = hedge
    v.fault(kind="ambiguous", method="POST", path="/fapi/v1/order", count=1, mode="drop")
    r = a.place_order("BTCUSDT", "BUY", "0.01", intent_id="amb-mkt", ref_price="55000")
    assert r.accepted and r.recovered and r.order.status == "FILLED"
    assert received(v) == 1
    (leg,) = a.positions("BTCUSDT")
    assert leg.amount == D("0.010")


def test_ambiguous_timeout_makes_exactly_one_order(venue):
    venue.reset(dual=True)
    a, _ = adapter_for(venue, timeout=0.5)
    price = resting_buy_price(a)
    venue.fault(kind="ambiguous", method="POST", path="/fapi/v1/order", count=1, mode="timeout", hold_ms=1500)
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="amb-timeout")
    assert r.accepted and r.recovered, r
    assert received(venue) == 1 and len(venue_open_orders(venue)) == 1


@pytest.mark.parametrize("status", [503, 502])
def test_5xx_then_success_makes_one_order(hedge, status):
    v, a, sleeps = hedge
    price = resting_buy_price(a)
    v.fault(kind="error", status=status, method="POST", path="/fapi/v1/order", count=1)
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id=f"5xx-{status}")
    assert r.accepted and not r.recovered and r.attempts == 2, r
    assert received(v) == 1 and len(venue_open_orders(v)) == 1
    # POST (5xx) -> GET by origClientOrderId (-2013) -> POST again
    assert v.stats()["requests"]["/fapi/v1/order"] == 3


def test_dropped_connection_then_success(hedge):
    v, a, _ = hedge
    price = resting_buy_price(a)
    v.fault(kind="drop", method="POST", path="/fapi/v1/order", count=1)
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="drop-1")
    assert r.accepted and r.attempts == 2
    assert received(v) == 1


def test_persistent_5xx_ends_unknown_not_duplicated(hedge):
    v, a, _ = hedge
    price = resting_buy_price(a)
    v.fault(kind="ambiguous", method="POST", path="/fapi/v1/order", count=1, mode="503")
    v.fault(kind="error", status=503, method="GET", path="/fapi/v1/order")  # status queries keep failing
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="unk-1")
    assert r.outcome is Outcome.UNKNOWN and r.attempts == 1, r
    v.clear_faults()
    assert received(v) == 1
    # the executor reconciles later by the same deterministic id
    found = a.get_order("BTCUSDT", client_order_id=make_client_order_id("unk-1", 0))
    assert found is not None and found.is_open


def test_duplicate_client_order_id_fetches_the_original(hedge):
    v, a, _ = hedge
    price = resting_buy_price(a)
    first = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="dup-1")
    again = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="dup-1")
    assert first.accepted and again.accepted and again.recovered
    assert again.order.order_id == first.order.order_id
    assert v.stats()["rejects_by_code"].get("-4116") == 1 and len(venue_open_orders(v)) == 1


# ---------------------------------------------------------------- rate limits and time

def test_429_backs_off_honouring_retry_after(hedge, caplog):
    v, a, sleeps = hedge
    caplog.set_level(logging.WARNING)
    price = resting_buy_price(a)
    v.fault(kind="rate_limit", method="POST", path="/fapi/v1/order", count=1)
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="429-1")
    assert r.accepted and received(v) == 1
    m = re.search(r"RATE_LIMITED order:post code=-1003 http=429 retry_after=([\d.]+)s", caplog.text)
    assert m, caplog.text
    assert sleeps == [float(m.group(1))] and 1 <= sleeps[0] <= 60  # exactly the venue's Retry-After


def test_429_on_reads_too(hedge):
    v, a, sleeps = hedge
    v.fault(kind="rate_limit", method="GET", path="/fapi/v3/balance", count=2)
    assert a.balance("USDT").balance == D("10000")
    assert len(sleeps) == 2 and all(1 <= s <= 60 for s in sleeps)


def test_418_ban_stops_calling(hedge):
    v, a, _ = hedge
    v.fault(kind="ban", method="GET", path="/fapi/v3/balance", count=1)
    from execution.exchange import IpBannedError
    with pytest.raises(IpBannedError):
        a.balances()
    n = sum(v.stats()["requests"].values())
    with pytest.raises(IpBannedError):
        a.positions()  # refused locally: calling during a ban would extend it
    assert sum(v.stats()["requests"].values()) == n
    v.reset(dual=True)  # lift the venue's ban for the next tests


def test_1021_resyncs_time_and_retries_once(hedge):
    v, a, _ = hedge
    v.fault(kind="reject_1021", method="POST", path="/fapi/v1/order", count=1)
    price = resting_buy_price(a)
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="1021-1")
    assert r.accepted and received(v) == 1
    assert v.stats()["requests"]["/fapi/v1/time"] == 1


def test_clock_skew_is_fixed_by_resync(hedge):
    v, a, _ = hedge
    v.fault(clock_skew_ms=30_000)  # the venue's wall clock runs 30 s ahead of ours
    assert a.balance("USDT") is not None  # -1021, re-sync, retry
    assert 29_000 <= a.client.timestamp_offset <= 31_000
    assert v.stats()["responses"].get("400") == 1


# ---------------------------------------------------------------- settings

def requests_since(v, before):
    now = v.stats()["requests"]
    return {k: n - before.get(k, 0) for k, n in now.items() if n != before.get(k, 0)}


def test_ensure_symbol_setup_reads_first_and_writes_only_what_differs(hedge):
    v, a, _ = hedge
    before = dict(v.stats()["requests"])
    first = a.ensure_symbol_setup("ETHUSDT", leverage=3, margin_type="CROSSED")  # venue default: 20x CROSSED
    assert first.leverage.changed and first.leverage.value == "3"
    assert not first.margin_type.changed and first.margin_type.reason == "already CROSSED on the exchange"
    assert requests_since(v, before) == {"/fapi/v2/positionRisk": 1, "/fapi/v1/leverage": 1}  # no margin write
    reqs = dict(v.stats()["requests"])
    second = a.ensure_symbol_setup("ETHUSDT", leverage=3, margin_type="CROSSED")
    assert not second.leverage.changed and not second.margin_type.changed
    assert v.stats()["requests"] == reqs  # no request at all

    # a fresh process reads once and, everything being set already, sends nothing
    b, _ = adapter_for(v)
    before = dict(v.stats()["requests"])
    again = b.ensure_symbol_setup("ETHUSDT", leverage=3, margin_type="CROSSED")
    assert not again.leverage.changed and not again.margin_type.changed
    assert again.leverage.reason == "already 3x on the exchange"
    assert requests_since(v, before) == {"/fapi/v2/positionRisk": 1}

    # only the leverage differs: exactly one change
    before = dict(v.stats()["requests"])
    lev = b.ensure_symbol_setup("ETHUSDT", leverage=5, margin_type="CROSSED")
    assert lev.leverage.changed and lev.leverage.value == "5" and not lev.margin_type.changed
    assert requests_since(v, before) == {"/fapi/v2/positionRisk": 1, "/fapi/v1/leverage": 1}
    # only the margin type differs: exactly one change
    before = dict(v.stats()["requests"])
    iso = b.ensure_symbol_setup("ETHUSDT", leverage=5, margin_type="ISOLATED")
    assert iso.margin_type.changed and not iso.leverage.changed
    assert requests_since(v, before) == {"/fapi/v2/positionRisk": 1, "/fapi/v1/marginType": 1}
    assert b.symbol_config("ETHUSDT", refresh=True) == SymbolConfig("ETHUSDT", 5, "ISOLATED")
    assert "-4046" not in v.stats()["rejects_by_code"]  # no "no need to change" round trip at all


def test_ensure_symbol_setup_falls_back_to_writes_when_the_read_fails(hedge):
    v, a, sleeps = hedge
    v.fault(kind="error", status=503, method="GET", path="/fapi/v2/positionRisk")
    setup = a.ensure_symbol_setup("BNBUSDT", leverage=20, margin_type="CROSSED")
    v.clear_faults()
    # both writes were sent; "No need to change margin type." (-4046) is success, leverage is idempotent
    assert not setup.margin_type.changed and "No need to change margin type" in setup.margin_type.reason
    assert setup.leverage.changed and setup.leverage.value == "20"
    assert len(sleeps) == 3  # the read was retried with back-off before giving up


def test_positions_carry_leverage_and_margin_type(hedge):
    v, a, _ = hedge
    a.ensure_symbol_setup("ETHUSDT", leverage=4, margin_type="ISOLATED")
    assert a.place_order("ETHUSDT", "BUY", "0.1", intent_id="lev-1").accepted
    (leg,) = a.positions("ETHUSDT")  # v3 rows, settings filled from what this adapter read and set
    assert (leg.position_side, leg.leverage, leg.margin_type) == ("LONG", 4, "ISOLATED")
    b, _ = adapter_for(v)
    (fresh,) = b.positions("ETHUSDT")
    assert fresh.leverage is None and fresh.margin_type is None  # v3 has neither and b knows nothing
    (v2,) = b.positions("ETHUSDT", with_settings=True)
    assert (v2.leverage, v2.margin_type, v2.amount) == (4, "ISOLATED", leg.amount)
    (cached,) = b.positions("ETHUSDT")
    assert (cached.leverage, cached.margin_type) == (4, "ISOLATED")
    assert a.set_leverage("ETHUSDT", 6).changed and a.positions("ETHUSDT")[0].leverage == 6


def test_position_mode_switch(venue):
    venue.reset(dual=False)
    a, _ = adapter_for(venue)
    assert a.get_position_mode() is False
    assert a.set_position_mode(True).changed and a.get_position_mode(refresh=True) is True
    assert not a.set_position_mode(True).changed  # -4059 no need to change


# ---------------------------------------------------------------- reads, cancels, the two clocks

def test_reads_cancels_and_clocks(hedge):
    v, a, _ = hedge
    mt = a.market_time_ms("BTCUSDT")
    st = a.server_time_ms()
    assert abs(mt - v.market_time_ms()) < 60_000  # market time = the venue's replay clock
    assert abs(st - mt) > 86_400_000  # ... which is not the server's wall clock
    assert a.last_market_time_ms >= mt
    bt = a.book_ticker("BTCUSDT")
    assert bt.bid_price < bt.ask_price and bt.time_ms > 0
    depth = a.depth("BTCUSDT", limit=5)
    assert len(depth.bids) == 5 and depth.bids[0][0] <= depth.asks[0][0]
    kl = a.klines("BTCUSDT", "1h", limit=3)
    assert kl and all(k.open_time_ms % 3_600_000 == 0 for k in kl)
    mp = a.mark_price("BTCUSDT")
    assert mp.mark_price > 0 and mp.next_funding_time_ms > mp.time_ms

    price = resting_buy_price(a)
    r = a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="c-1")
    assert [o.client_order_id for o in a.open_orders("BTCUSDT")] == [r.client_order_id]
    assert a.get_order("BTCUSDT", client_order_id=r.client_order_id).status == "NEW"
    assert a.get_order("BTCUSDT", client_order_id="hg-never-sent") is None
    c = a.cancel_order("BTCUSDT", client_order_id=r.client_order_id)
    assert c.outcome is CancelOutcome.CANCELED
    c2 = a.cancel_order("BTCUSDT", client_order_id=r.client_order_id)
    assert c2.outcome is CancelOutcome.NOT_OPEN and c2.ok and c2.order.status == "CANCELED"
    a.place_order("BTCUSDT", "BUY", "0.01", order_type="LIMIT", price=price, intent_id="c-2")
    assert a.cancel_all("BTCUSDT").outcome is CancelOutcome.CANCELED and a.open_orders("BTCUSDT") == []

    a.place_order("BTCUSDT", "BUY", "0.002", intent_id="t-1", ref_price=mp.mark_price)
    trades = a.user_trades("BTCUSDT")
    assert trades and trades[-1].position_side == "LONG" and trades[-1].commission > 0


def test_weight_spent_counts_what_the_venue_charges(hedge):
    """`budget.weight_spent` (the benchmark's per-cycle weight) sums the adapter's table weights of what it sent;
    the venue's X-MBX-USED-WEIGHT-1M grows by the same amount within one rate-limit minute."""
    import time

    v, a, _ = hedge
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.1)  # one fixed one-minute window for the whole burst
    a.mark_prices()
    before_used, before_spent = int(a.client.response.headers["X-MBX-USED-WEIGHT-1M"]), a.budget.weight_spent
    a.mark_prices()  # 10
    a.klines("BTCUSDT", "1h", limit=99)  # 1
    a.klines("ETHUSDT", "1h", limit=500)  # 5
    a.balance("USDT")  # 5
    a.positions()  # 5
    spent = a.budget.weight_spent - before_spent
    assert spent == 26
    assert int(a.client.response.headers["X-MBX-USED-WEIGHT-1M"]) - before_used == spent
