"""core.twap: eligibility, exact slicing, min-notional slice reduction, whole-plan re-planning, maker price."""
import json
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.filters import SymbolFilters, is_multiple
from core.twap import child_client_order_id, maker_price, plan_twap, remaining_plan, twap_lot
from settings.models import TwapConfig


def filt(step, min_notional, tick="0.01", min_qty=None, market_step=None, sym="XUSDT"):
    return SymbolFilters(
        symbol=sym, tick_size=D(tick), min_price=D(tick), max_price=D("1000000000000"), step_size=D(step),
        min_qty=D(min_qty or step), max_qty=D("1000000"), market_step_size=D(market_step or step),
        market_min_qty=D(min_qty or step), market_max_qty=D("1000000"), min_notional=D(min_notional),
        percent_up=D("1.05"), percent_down=D("0.95"),
    )


BTC = filt("0.001", "100", tick="0.10", sym="BTCUSDT")
CFG = TwapConfig()  # enabled, 500 USD, 4 slices, 10 s


def qtys(plan):
    return [s.slice_qty for s in plan.slices]


# --------------------------------------------------------------------------- eligibility and slicing

def test_twap_plan_hand_computed():
    p = plan_twap("0.010", 67000, BTC, CFG, parent_id="abc123")  # 670 USD >= 500
    assert p.execution_style == "twap" and p.reason == ""
    assert qtys(p) == [D("0.003"), D("0.003"), D("0.002"), D("0.002")]  # remainder on the first slices
    assert sum(qtys(p)) == D("0.010") and p.filled_qty == 0
    s = p.slices[0]
    assert (s.slice_index, s.slice_count, s.parent_gross_usd, s.offset_seconds) == (1, 4, D("670.000"), 0.0)
    assert (s.config.min_notional_usd, s.config.slices, s.config.interval_seconds) == (500.0, 4, 10.0)
    assert [x.offset_seconds for x in p.slices] == [0.0, 10.0, 20.0, 30.0]
    assert [x.client_order_id for x in p.slices] == ["abc123-t1-4", "abc123-t2-4", "abc123-t3-4", "abc123-t4-4"]
    ev = p.slices[1].event(p)
    assert ev["execution_style"] == "twap" and ev["slice_index"] == 2 and ev["slice_qty"] == "0.003"
    assert ev["config"] == {"min_notional": 500.0, "slices": 4, "interval": 10.0, "enabled": True}
    json.dumps(p.events())


@pytest.mark.parametrize("cfg, gross, reason", [
    (TwapConfig(enabled=False), None, "twap_disabled"),
    (CFG, 499.99, "below_twap_min_notional_usd"),
    (TwapConfig(slices=1), None, "one_slice_configured"),
])
def test_single_when_not_eligible(cfg, gross, reason):
    p = plan_twap("0.010", 67000, BTC, cfg, gross)
    assert p.execution_style == "single" and p.reason == reason
    assert qtys(p) == [D("0.010")] and p.slices[0].slice_count == 1


def test_eligibility_boundary_is_inclusive():
    assert plan_twap("0.010", 50000, BTC, CFG).execution_style == "twap"  # exactly 500 USD


def test_slices_reduced_by_min_notional():
    cfg = TwapConfig(min_notional_usd=300)
    p = plan_twap("0.005", 67000, BTC, cfg)  # 4 or 3 slices -> a 0.001 child = 67 < 100; 2 slices: 0.002 = 134
    assert p.execution_style == "twap" and p.reason == "slices_reduced_by_min_notional"
    assert qtys(p) == [D("0.003"), D("0.002")]
    p = plan_twap("0.002", 67000, BTC, TwapConfig(min_notional_usd=100))  # even 2 slices are too small
    assert p.execution_style == "single" and p.reason == "reduced_to_single_by_min_notional"
    assert qtys(p) == [D("0.002")]


def test_slice_count_never_exceeds_the_step_units():
    p = plan_twap(3, 1000, filt("1", "5"), TwapConfig(slices=10, min_notional_usd=1))
    assert qtys(p) == [1, 1, 1]


def test_children_valid_for_both_limit_and_market_lots():
    f = filt("0.001", "5", market_step="0.01")
    assert twap_lot(f) == (D("0.01"), D("0.001"))
    p = plan_twap("0.05", 1000, f, TwapConfig(min_notional_usd=1, slices=4))
    assert all(is_multiple(q, D("0.01")) for q in qtys(p)) and sum(qtys(p)) == D("0.05")
    with pytest.raises(ValueError):
        plan_twap("0.055", 1000, f, CFG)  # not a multiple of the coarser step


def test_children_respect_the_larger_of_the_two_minimum_quantities():
    # LOT_SIZE min 0.001 but MARKET_LOT_SIZE min 0.003: a 0.002 child could not fall back to MARKET
    f = SymbolFilters(symbol="XUSDT", tick_size=D("0.01"), min_price=D("0.01"), max_price=D("1000000"),
                      step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("1000"), market_step_size=D("0.001"),
                      market_min_qty=D("0.003"), market_max_qty=D("1000"), min_notional=D(0),
                      percent_up=D("1.05"), percent_down=D("0.95"))
    assert twap_lot(f) == (D("0.001"), D("0.003"))
    p = plan_twap("0.010", 1000, f, TwapConfig(min_notional_usd=1, slices=4))  # 4 x 0.002/0.003 -> 3 x 0.004/0.003
    assert qtys(p) == [D("0.004"), D("0.003"), D("0.003")] and p.reason == "slices_reduced_by_min_notional"
    swapped = SymbolFilters(**{**f.__dict__, "min_qty": D("0.003"), "market_min_qty": D("0.001")})
    assert twap_lot(swapped) == (D("0.001"), D("0.003"))


@pytest.mark.parametrize("qty, price", [("0.0105", 67000), (0, 67000), (-1, 67000), ("NaN", 67000), ("0.01", 0)])
def test_invalid_parent_raises(qty, price):
    with pytest.raises(ValueError):
        plan_twap(qty, price, BTC, CFG)


def test_client_order_ids_fit_binance_and_are_deterministic():
    long_parent = "x" * 40
    cid = child_client_order_id(long_parent, 12, 12, attempt=3)
    assert len(cid) <= 36 and cid.endswith("-t12-12r3")
    assert child_client_order_id("p", 1, 4) == "p-t1-4"
    assert plan_twap("0.010", 67000, BTC, CFG, parent_id="p") == plan_twap("0.010", 67000, BTC, CFG, parent_id="p")


STEPS = ["1", "0.1", "0.001", "0.01", "5"]


@st.composite
def parents(draw):
    step = D(draw(st.sampled_from(STEPS)))
    units = draw(st.integers(1, 100_000))
    price = D(draw(st.integers(1, 10**7))) / 100
    min_notional = D(draw(st.sampled_from([0, 1, 5, 20, 100])))
    min_qty = step * draw(st.integers(1, 3))
    cfg = TwapConfig(enabled=draw(st.booleans()), min_notional_usd=draw(st.sampled_from([1.0, 100.0, 500.0, 5000.0])),
                     slices=draw(st.integers(1, 12)), interval_seconds=draw(st.sampled_from([0.0, 10.0])))
    f = filt(str(step), str(min_notional), min_qty=str(min_qty))
    return units * step, price, f, cfg


@settings(max_examples=300, deadline=None)
@given(parents())
def test_plan_invariants(args):
    qty, price, f, cfg = args
    p = plan_twap(qty, price, f, cfg)
    q = qtys(p)
    assert sum(q) == qty  # exact, Decimal
    assert all(x > 0 and is_multiple(x, f.step_size) for x in q)
    assert 1 <= len(q) <= cfg.slices
    assert max(q) - min(q) <= f.step_size  # even split: at most one step apart
    assert [s.slice_index for s in p.slices] == list(range(1, len(q) + 1))
    assert len({s.client_order_id for s in p.slices}) == len(q)
    if len(q) > 1:
        assert p.execution_style == "twap"
        assert all(x * price >= f.min_notional and x >= f.min_qty for x in q)
    else:
        assert p.execution_style == "single" and q == [qty]
    # maximal: one more slice would break a minimum (or the configured count / step units)
    units = int(qty / f.step_size)
    if p.execution_style == "twap" and len(q) < min(cfg.slices, units):
        n = len(q) + 1
        smallest = (units // n) * f.step_size
        assert smallest * price < f.min_notional or smallest < f.min_qty
    assert p == plan_twap(qty, price, f, cfg)  # deterministic


# --------------------------------------------------------------------------- re-planning

def test_failed_slice_keeps_every_other_slice():
    p = plan_twap("0.010", 67000, BTC, CFG, parent_id="P")
    r = remaining_plan(p, filled_slices=[1], failed_slice=2)
    # hummingbot would keep only slice 2; we keep 2 (retry), 3 and 4
    assert [(s.slice_index, s.slice_qty, s.attempt) for s in r.slices] == [
        (2, D("0.003"), 2), (3, D("0.002"), 1), (4, D("0.002"), 1)]
    assert r.slices[0].client_order_id == "P-t2-4r2"
    assert r.filled_qty == D("0.003") and r.filled_qty + r.remaining_qty == r.parent_qty
    r2 = remaining_plan(r, filled_slices=[2, 3], failed_slice=4)
    assert [(s.slice_index, s.attempt) for s in r2.slices] == [(4, 2)]
    r3 = remaining_plan(r2, filled_slices=[4])
    assert r3.done and r3.filled_qty == D("0.010")


def test_partial_fill_keeps_the_rest_and_merges_dust():
    p = plan_twap("0.010", 67000, BTC, CFG)
    r = remaining_plan(p, {1: D("0.002")})  # 0.001 left of slice 1 = 67 USD < 100: merged into slice 2
    assert [(s.slice_index, s.slice_qty) for s in r.slices] == [(2, D("0.004")), (3, D("0.002")), (4, D("0.002"))]
    assert r.filled_qty + r.remaining_qty == D("0.010")
    last = remaining_plan(p, {1: D("0.003"), 2: D("0.003"), 3: D("0.002"), 4: D("0.001")})
    assert qtys(last) == [D("0.001")]  # a lone leftover stays; nothing is dropped


def test_a_middle_slices_dust_merges_into_the_next_slice_and_the_last_into_the_previous():
    p = plan_twap("0.010", 67000, BTC, CFG)  # 0.003, 0.003, 0.002, 0.002
    r = remaining_plan(p, {2: D("0.002")})  # 0.001 left of slice 2 (67 USD < 100): into slice 3, not slice 1
    assert [(s.slice_index, s.slice_qty) for s in r.slices] == [(1, D("0.003")), (3, D("0.003")), (4, D("0.002"))]
    r = remaining_plan(p, {4: D("0.001")})  # the last slice's dust has no next: into slice 3
    assert [(s.slice_index, s.slice_qty) for s in r.slices] == [(1, D("0.003")), (2, D("0.003")), (3, D("0.003"))]
    assert r.filled_qty + r.remaining_qty == D("0.010")


def test_remaining_plan_rejects_impossible_reports():
    p = plan_twap("0.010", 67000, BTC, CFG)
    with pytest.raises(ValueError):
        remaining_plan(p, [9])
    with pytest.raises(ValueError):
        remaining_plan(p, {1: D("0.004")})
    with pytest.raises(ValueError):
        remaining_plan(p, {1: D("0.0015")})
    with pytest.raises(ValueError):
        remaining_plan(p, [1], failed_slice=1)
    with pytest.raises(ValueError):
        remaining_plan(p, [], failed_slice=7)


@settings(max_examples=200, deadline=None)
@given(parents(), st.data())
def test_replanning_never_loses_or_duplicates_quantity(args, data):
    qty, price, f, cfg = args
    plan = plan_twap(qty, price, f, cfg)
    for _ in range(4):
        if plan.done:
            break
        fills = {}
        for s in plan.slices:
            units = int(s.slice_qty / f.step_size)
            k = data.draw(st.integers(0, units))
            if k:
                fills[s.slice_index] = k * f.step_size
        open_slices = [s.slice_index for s in plan.slices if fills.get(s.slice_index, 0) < s.slice_qty]
        failed = data.draw(st.sampled_from(open_slices)) if open_slices and data.draw(st.booleans()) else None
        before = {s.slice_index for s in plan.slices}
        new = remaining_plan(plan, fills, failed)
        assert new.filled_qty + new.remaining_qty == qty
        assert new.filled_qty == plan.filled_qty + sum(fills.values(), D(0))
        assert {s.slice_index for s in new.slices} <= before
        assert all(s.slice_qty > 0 and is_multiple(s.slice_qty, f.step_size) for s in new.slices)
        plan = new


# --------------------------------------------------------------------------- maker price

def test_maker_price_hand_computed():
    f = filt("0.001", "5", tick="0.01")
    assert maker_price("BUY", "100.00", "100.05", 1, f) == D("99.99")  # 99.99 exactly
    assert maker_price("SELL", "100.00", "100.05", 1, f) == D("100.07")  # 100.060005 -> up
    assert maker_price("BUY", "100.00", "100.05", 0, f) == D("100.00")  # joins the best bid
    assert maker_price("SELL", "100.00", "100.05", 0, f) == D("100.05")
    # off the tick: BUY rounds DOWN, SELL UP (never more aggressive than the offset asked for)
    assert maker_price("BUY", "100.05", "100.10", 1, f) == D("100.03")  # 100.039995 (nearest would be 100.04)
    assert maker_price("SELL", "100.00", "100.01", 1, f) == D("100.03")  # 100.020001 (nearest would be 100.02)
    for bad in (("BUY", 100, 100), ("SELL", 101, 100), ("BUY", 0, 1), ("HOLD", 1, 2)):
        with pytest.raises(ValueError):
            maker_price(bad[0], bad[1], bad[2], 1, f)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**8), st.integers(1, 1000), st.integers(0, 100), st.sampled_from(["0.01", "0.1", "0.0001", "1"]))
def test_maker_price_never_crosses_and_sits_on_the_tick(bid_ticks, spread_ticks, bps, tick):
    t = D(tick)
    f = filt("1", "5", tick=tick)
    bid, ask = bid_ticks * t, (bid_ticks + spread_ticks) * t
    try:
        buy = maker_price("BUY", bid, ask, bps, f)
    except ValueError:
        assert bid * (1 - D(bps) / 10_000) < t  # only when the offset pushes below the lowest price
    else:
        assert buy <= bid < ask and is_multiple(buy, t)
        assert 0 <= bid * (1 - D(bps) / 10_000) - buy < t  # passive: at or below the offset price
    sell = maker_price("SELL", bid, ask, bps, f)
    assert sell >= ask > bid and is_multiple(sell, t)
    assert 0 <= sell - ask * (1 + D(bps) / 10_000) < t


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "NaN", "-1"])
def test_plan_twap_rejects_non_finite_or_negative_gross(bad):
    with pytest.raises(ValueError, match="gross_usd"):
        plan_twap("1.000", 60000, BTC, CFG, gross_usd=bad)
