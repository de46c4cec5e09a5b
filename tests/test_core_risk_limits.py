"""core.risk_limits.check_order: every veto hand-computed, per-leg hedge-mode reducing, and invariants.

Numbers used throughout (unless a test says otherwise): NAV 10,000 USD, fresh (1 s old); BTC mark 100,000,
ETH mark 2,000, SOL mark 100, DOGE mark 0.10; default RiskLimits (circuit 0.10, KILL_DD 0.15, daily 0.05,
MAX_POSITIONS 10, MAX_LEVERAGE 5, per-symbol 0.20, gross 0.80, NAV freshness 90 s).
"""
import json
import random
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.filters import SymbolFilters, parse_exchange_info
from core.portfolio import NavPoint, OpenOrder, PortfolioSnapshot, PositionLeg
from core.risk_limits import (
    PIPELINE,
    RISK_INCREASE_ONLY_CODES,
    VETO_CODES,
    ProposedOrder,
    RiskContext,
    check_order,
    correlation_status,
)
from settings.models import CircuitBreakers, CorrelationGroup, CorrelationGroups, Profile, RiskLimits

NOW = 1_700_000_000_000


def filt(sym, tick, step, min_notional, *, min_qty=None, max_qty="10000000", min_price=None, max_price="10000000",
         up="1.05", down="0.95", status="TRADING"):
    return SymbolFilters(
        symbol=sym, tick_size=D(tick), min_price=D(min_price or tick), max_price=D(max_price),
        step_size=D(step), min_qty=D(min_qty or step), max_qty=D(max_qty),
        market_step_size=D(step), market_min_qty=D(min_qty or step), market_max_qty=D(max_qty),
        min_notional=D(min_notional), percent_up=D(up), percent_down=D(down), status=status,
    )


FILTERS = {
    "BTCUSDT": filt("BTCUSDT", "0.10", "0.001", "100", max_qty="1000"),
    "ETHUSDT": filt("ETHUSDT", "0.01", "0.001", "20"),
    "SOLUSDT": filt("SOLUSDT", "0.0010", "1", "5"),
    "DOGEUSDT": filt("DOGEUSDT", "0.000010", "1", "5"),
    "XRPUSDT": filt("XRPUSDT", "0.0001", "0.1", "5"),
    "BNBUSDT": filt("BNBUSDT", "0.010", "0.01", "5"),
}
MARKS = {"BTCUSDT": D(100000), "ETHUSDT": D(2000), "SOLUSDT": D(100), "DOGEUSDT": D("0.10"),
         "XRPUSDT": D(2), "BNBUSDT": D(600)}
GROUPS = CorrelationGroups(groups={
    "L1_bluechips": CorrelationGroup(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"], max_group_nav_pct=0.35),
    "L2_alts": CorrelationGroup(symbols=["DOGEUSDT", "LINKUSDT"], max_group_nav_pct=0.25),
})
LIMITS = RiskLimits()


def leg(sym, ps, qty, mark=None, **kw):
    kw.setdefault("leverage", 1)  # a known leverage; unknown (None) is tested on its own
    return PositionLeg(sym, ps, D(str(qty)), entry_price=mark or MARKS[sym], mark_price=mark or MARKS[sym], **kw)


def snap(nav=10000, legs=(), *, history=None, marks=None, nav_age_ms=1000, **kw):
    hist = history if history is not None else (NavPoint(NOW - nav_age_ms, nav),)
    return PortfolioSnapshot(now_ms=NOW, nav_history=tuple(hist), positions=tuple(legs), filters=FILTERS,
                             mark_prices=MARKS if marks is None else marks, **kw)


def order(sym, side, ps, qty, price=None, **kw):
    return ProposedOrder(sym, side, ps, qty, price, **kw)


def check(o, s, limits=LIMITS, groups=GROUPS, profile=None):
    return check_order(o, s, limits, groups, profile)


# the L1 example of the brief: BTC long 2,000 + ETH short 1,000 on NAV 10,000 = 0.30 of NAV in L1
L1_LEGS = (leg("BTCUSDT", "LONG", "0.02"), leg("ETHUSDT", "SHORT", "0.5"))


def test_clean_order_is_approved_with_its_numbers():
    d = check(order("SOLUSDT", "BUY", "LONG", 4), snap(legs=L1_LEGS))
    assert d.approved and d.vetoes == () and d.veto_reason is None
    assert d.checks["order_notional_usd"] == 400.0
    assert d.checks["group_post_trade_nav_pct"] == {"L1_bluechips": 0.34}
    assert d.checks["gross_post_trade_nav_pct"] == 0.34
    json.dumps(d.to_dict())


# --------------------------------------------------------------------------- DD circuit

def dd_snap(latest, peak=10000, **kw):
    kw.setdefault("day_start_nav_usd", latest)  # isolate the DD rules from the daily-loss rule
    hist = (NavPoint(NOW - 60_000, peak), NavPoint(NOW - 1000, latest))
    return snap(history=hist, **kw)


def test_portfolio_dd_circuit_vetoes_with_peak_latest_dd_threshold():
    d = check(order("SOLUSDT", "BUY", "LONG", 1), dd_snap(8990))
    assert d.codes == ("portfolio_dd_circuit",)
    v = d.veto("portfolio_dd_circuit")
    assert v.numbers["peak_nav_usd"] == 10000.0
    assert v.numbers["latest_nav_usd"] == 8990.0
    assert v.numbers["current_dd_pct"] == 0.101
    assert v.numbers["max_portfolio_dd_nav_pct"] == 0.10
    assert d.veto_reason == "portfolio_dd_circuit"


def test_dd_boundary_exactly_at_threshold_vetoes_and_just_above_passes():
    assert check(order("SOLUSDT", "BUY", "LONG", 1), dd_snap(9000)).codes == ("portfolio_dd_circuit",)
    assert check(order("SOLUSDT", "BUY", "LONG", 1), dd_snap("9000.01")).approved


def test_dd_circuit_lets_closes_through():
    d = check(order("BTCUSDT", "SELL", "LONG", "0.01"), dd_snap(8000, legs=L1_LEGS))
    assert d.approved, d.to_dict()


def test_kill_dd_reports_both_thresholds():
    d = check(order("SOLUSDT", "BUY", "LONG", 1), dd_snap(8500))  # dd 0.15 >= KILL_DD 0.15 and >= 0.10
    assert set(d.codes) == {"kill_dd", "portfolio_dd_circuit"}
    assert d.veto("kill_dd").numbers["KILL_DD_PCT"] == 0.15
    assert d.veto("kill_dd").numbers["current_dd_pct"] == 0.15


def test_dd_window_is_nav_history_len_and_hwm_keeps_the_peak():
    limits = RiskLimits(nav_history_len=3)
    hist = [NavPoint(NOW - 10_000 * (5 - i), v) for i, v in enumerate([10000, 9500, 9000, 8990, 8990])]
    # window = last 3 points: peak 9000, latest 8990 -> dd 0.0011: no circuit
    s = snap(history=hist, day_start_nav_usd=8990)
    assert check(order("SOLUSDT", "BUY", "LONG", 1), s, limits).approved
    # with a persisted high-water mark of 10,000 the circuit cannot heal by the peak leaving the window
    d = check(order("SOLUSDT", "BUY", "LONG", 1), snap(history=hist, hwm_nav_usd=10000, day_start_nav_usd=8990), limits)
    assert d.codes == ("portfolio_dd_circuit",)


# --------------------------------------------------------------------------- correlation caps

def test_correlation_cap_hypothetical_post_trade():
    s = snap(legs=L1_LEGS)
    d = check(order("SOLUSDT", "BUY", "LONG", 6), s)  # 3,000 + 600 = 3,600 = 0.36 > 0.35
    assert d.codes == ("correlation_cap",)
    n = d.veto("correlation_cap").numbers
    assert n["group"] == "L1_bluechips"
    assert (n["group_gross_usd"], n["order_notional_usd"], n["post_trade_usd"]) == (3000.0, 600.0, 3600.0)
    assert (n["post_trade_nav_pct"], n["max_group_nav_pct"]) == (0.36, 0.35)
    assert check(order("SOLUSDT", "BUY", "LONG", 4), s).approved  # 0.34
    assert check(order("SOLUSDT", "BUY", "LONG", 5), s).approved  # exactly 0.35: not above the cap


def test_correlation_cap_counts_both_hedge_legs_gross():
    # ETH LONG 1,000 + ETH SHORT 1,000 is net zero but 2,000 gross; + BTC 1,000 = 3,000
    legs = (leg("ETHUSDT", "LONG", "0.5"), leg("ETHUSDT", "SHORT", "0.5"), leg("BTCUSDT", "LONG", "0.01"))
    assert check(order("SOLUSDT", "BUY", "LONG", 6), snap(legs=legs)).codes == ("correlation_cap",)


def test_caps_value_a_limit_order_at_its_limit_price_not_the_mark():
    # L1 holds 3,000; the cap is 3,500, so 500 USD of room. Each case below flips if the mark is used instead.
    s = snap(legs=L1_LEGS)
    assert check(order("SOLUSDT", "BUY", "LONG", 5), s).approved  # MARKET at mark 100: 500, exactly the cap
    d = check(order("SOLUSDT", "BUY", "LONG", 5, "100.100"), s)  # 500.50 at the limit: 0.35005 > 0.35
    assert d.codes == ("correlation_cap",)
    assert d.checks["order_notional_usd"] == 500.5 and d.veto("correlation_cap").numbers["post_trade_usd"] == 3500.5
    rich = snap(legs=L1_LEGS, marks={**MARKS, "SOLUSDT": D("100.2")})
    assert check(order("SOLUSDT", "BUY", "LONG", 5), rich).codes == ("correlation_cap",)  # 501 at the mark
    assert check(order("SOLUSDT", "BUY", "LONG", 5, "99.900"), rich).approved  # 499.50 at the limit


def test_resting_opening_orders_count_as_pending_exposure():
    pending = (OpenOrder("SOLUSDT", "BUY", "LONG", D(3), D(100)),)  # +300 if it fills
    s = snap(legs=L1_LEGS, open_orders=pending)
    d = check(order("SOLUSDT", "BUY", "LONG", 3), s)  # 3,000 + 300 + 300 = 0.36
    assert d.codes == ("correlation_cap",)
    closing = (OpenOrder("BTCUSDT", "SELL", "LONG", D("0.02"), D(101000)),)  # a resting TP adds nothing
    assert check(order("SOLUSDT", "BUY", "LONG", 5), snap(legs=L1_LEGS, open_orders=closing)).approved


def test_context_after_accumulates_approved_orders():
    ctx = RiskContext.build(snap(legs=L1_LEGS), LIMITS, GROUPS)
    a = order("SOLUSDT", "BUY", "LONG", 3)
    assert ctx.check(a).approved
    ctx2 = ctx.after(a)
    assert ctx2.check(a).codes == ("correlation_cap",)  # 0.36 jointly
    assert ctx.check(a).approved  # the original context is unchanged (immutable)


def test_context_after_counts_an_approved_new_leg_toward_max_positions():
    limits = RiskLimits(MAX_POSITIONS=2)
    ctx = RiskContext.build(snap(legs=(leg("SOLUSDT", "LONG", 1),)), limits, GROUPS)
    bnb, xrp = order("BNBUSDT", "BUY", "LONG", "0.01"), order("XRPUSDT", "BUY", "LONG", 3)
    assert ctx.check(bnb).approved and ctx.check(xrp).approved  # each alone: 1 leg open < 2
    ctx2 = ctx.after(bnb)
    d = ctx2.check(xrp)  # jointly they would make 3 legs
    assert d.codes == ("max_positions",) and d.veto("max_positions").numbers["pending_new_legs"] == 1
    assert ctx2.check(bnb).approved  # adding to the leg just approved is not another new leg
    assert ctx.after(order("SOLUSDT", "SELL", "LONG", 1)) is ctx  # a reduction adds nothing


def test_a_leg_pending_in_a_resting_order_is_not_new_and_counts_as_committed():
    pend = (OpenOrder("BNBUSDT", "BUY", "LONG", D("0.01"), D(600)),)
    s = snap(legs=(leg("SOLUSDT", "LONG", 1),), open_orders=pend)
    limits = RiskLimits(MAX_POSITIONS=2)
    assert check(order("BNBUSDT", "BUY", "LONG", "0.01"), s, limits).approved  # the same leg as the resting order
    assert check(order("XRPUSDT", "BUY", "LONG", 3), s, limits).codes == ("max_positions",)


def test_one_symbol_in_two_groups_reports_every_breached_group():
    groups = CorrelationGroups(groups={
        "A": CorrelationGroup(symbols=["SOLUSDT", "ETHUSDT"], max_group_nav_pct=0.05),
        "B": CorrelationGroup(symbols=["SOLUSDT", "DOGEUSDT"], max_group_nav_pct=0.05),
    })
    d = check(order("SOLUSDT", "BUY", "LONG", 6), snap(), groups=groups)  # 600 > 500 in both groups
    assert d.codes == ("correlation_cap",)
    assert d.veto("correlation_cap").details == ("A", "B")
    assert d.veto("correlation_cap").numbers["breached_groups"] == ["A", "B"]
    assert check(order("SOLUSDT", "BUY", "LONG", 5), snap(), groups=groups).approved  # exactly 500


# --------------------------------------------------------------------------- per-symbol / gross / leverage / positions

def test_symbol_nav_cap_default_and_override():
    # default 0.20: SOL 1,900 held + 200 = 2,100 > 2,000
    s = snap(legs=(leg("SOLUSDT", "LONG", 19),))
    d = check(order("SOLUSDT", "BUY", "LONG", 2), s)
    assert "symbol_nav_cap" in d.codes
    n = d.veto("symbol_nav_cap").numbers
    assert (n["post_trade_usd"], n["post_trade_nav_pct"], n["symbol_nav_cap"]) == (2100.0, 0.21, 0.20)
    assert check(order("SOLUSDT", "BUY", "LONG", 1), s, groups=CorrelationGroups()).approved  # 2,000 = cap
    # BTC override 0.30 in the example config
    limits = RiskLimits(per_symbol_nav_pct_overrides={"BTCUSDT": 0.30})
    btc = snap(legs=(leg("BTCUSDT", "LONG", "0.025"),))
    assert check(order("BTCUSDT", "BUY", "LONG", "0.005"), btc, limits, CorrelationGroups()).approved  # 0.30
    assert check(order("BTCUSDT", "BUY", "LONG", "0.006"), btc, limits, CorrelationGroups()).codes == ("symbol_nav_cap",)


def test_symbol_cap_counts_the_hedged_pair_gross():
    s = snap(legs=(leg("SOLUSDT", "LONG", 10), leg("SOLUSDT", "SHORT", 10)))  # 2,000 gross, 0 net
    assert check(order("SOLUSDT", "SELL", "SHORT", 1), s, groups=CorrelationGroups()).codes == ("symbol_nav_cap",)


def test_max_gross_exposure():
    legs = (leg("BTCUSDT", "LONG", "0.02"), leg("ETHUSDT", "LONG", "1"), leg("SOLUSDT", "LONG", 20),
            leg("BNBUSDT", "LONG", "3.32"))  # 2,000 + 2,000 + 2,000 + 1,992 = 7,992
    d = check(order("XRPUSDT", "BUY", "LONG", 5), snap(legs=legs), groups=CorrelationGroups())  # +10 = 8,002
    assert d.codes == ("max_gross_exposure",)
    n = d.veto("max_gross_exposure").numbers
    assert (n["gross_usd"], n["post_trade_usd"], n["post_trade_nav_pct"], n["max_gross_exposure_nav_pct"]) == (
        7992.0, 8002.0, 0.8002, 0.80)
    assert check(order("XRPUSDT", "BUY", "LONG", 4), snap(legs=legs), groups=CorrelationGroups()).approved  # 8,000


def test_max_leverage_post_trade_and_per_order():
    limits = RiskLimits(MAX_LEVERAGE=1.0, max_gross_exposure_nav_pct=2.0, per_symbol_nav_pct=1.0)
    s = snap(legs=(leg("ETHUSDT", "LONG", 4),))  # 8,000 = 0.8x
    d = check(order("BTCUSDT", "BUY", "LONG", "0.021"), s, limits, CorrelationGroups())  # +2,100 -> 1.01x
    assert d.codes == ("max_leverage",)
    assert d.veto("max_leverage").numbers["post_trade_leverage"] == 1.01
    assert check(order("BTCUSDT", "BUY", "LONG", "0.02"), s, limits, CorrelationGroups()).approved  # 1.00x
    d = check(order("SOLUSDT", "BUY", "LONG", 1, leverage=10), snap())
    assert d.codes == ("max_leverage",) and d.veto("max_leverage").numbers["order_leverage"] == 10.0
    # the profile's max leverage tightens MAX_LEVERAGE
    prof = Profile(max_position_usd=10000, max_leverage=3, enable_shorts=True, local_venue=True)
    assert check(order("SOLUSDT", "BUY", "LONG", 1, leverage=4), snap(), profile=prof).codes == ("max_leverage",)


def test_order_leverage_at_the_cap_passes_and_an_open_legs_leverage_counts():
    assert check(order("SOLUSDT", "BUY", "LONG", 1, leverage=5), snap()).approved  # MAX_LEVERAGE 5: not above
    assert check(order("SOLUSDT", "BUY", "LONG", 1, leverage=6), snap()).codes == ("max_leverage",)
    # no leverage on the order: adding to a leg that trades at 10x is judged at 10x ...
    s = snap(legs=(leg("SOLUSDT", "LONG", 1, leverage=10),))
    d = check(order("SOLUSDT", "BUY", "LONG", 1), s)
    assert d.codes == ("max_leverage",) and d.veto("max_leverage").numbers["order_leverage"] == 10.0
    assert check(order("SOLUSDT", "SELL", "LONG", 1), s).approved  # ... and closing it is always allowed


def test_max_positions_counts_legs_not_symbols():
    syms = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT"]
    tiny = {"BTCUSDT": "0.001", "ETHUSDT": "0.01", "SOLUSDT": 1, "DOGEUSDT": 100, "XRPUSDT": 10}
    legs = [leg(s, ps, tiny[s]) for s in syms for ps in ("LONG", "SHORT")]  # 10 legs on 5 symbols
    s = snap(legs=legs)
    d = check(order("BNBUSDT", "BUY", "LONG", "0.01"), s)
    assert d.codes == ("max_positions",)
    assert d.veto("max_positions").numbers == {"open_legs": 10, "pending_new_legs": 0, "MAX_POSITIONS": 10,
                                               "symbol": "BNBUSDT", "position_side": "LONG"}
    assert check(order("SOLUSDT", "BUY", "LONG", 1), s).approved  # adding to an open leg is not a new one
    s9 = snap(legs=legs[:9])  # XRP SHORT missing: opening it is a new leg, 9 < 10
    assert check(order("XRPUSDT", "SELL", "SHORT", 10), s9).approved
    pend = snap(legs=legs[:9], open_orders=(OpenOrder("BNBUSDT", "BUY", "LONG", D("0.01"), D(600)),))
    assert check(order("XRPUSDT", "SELL", "SHORT", 10), pend).codes == ("max_positions",)


def test_profile_max_position_usd_and_shorts():
    prof = Profile(max_position_usd=100, max_leverage=3, enable_shorts=False, local_venue=False)
    d = check(order("SOLUSDT", "BUY", "LONG", 2), snap(), profile=prof)
    assert d.codes == ("symbol_nav_cap",) and d.veto("symbol_nav_cap").numbers["profile_max_position_usd"] == 100.0
    d = check(order("SOLUSDT", "SELL", "SHORT", 1), snap(), profile=prof)
    assert d.codes == ("invalid_order",) and d.veto("invalid_order").details == ("shorts_disabled",)


# --------------------------------------------------------------------------- daily loss, NAV freshness, kill switch, states

def test_daily_loss_limit_from_day_start_nav():
    s = snap(nav=9500, day_start_nav_usd=10000)  # loss 0.05 >= 0.05
    d = check(order("SOLUSDT", "BUY", "LONG", 1), s)
    assert d.codes == ("daily_loss_limit",)
    n = d.veto("daily_loss_limit").numbers
    assert (n["day_start_nav_usd"], n["latest_nav_usd"], n["daily_loss_pct"], n["KILL_DAILY_LOSS_PCT"]) == (
        10000.0, 9500.0, 0.05, 0.05)
    assert check(order("SOLUSDT", "BUY", "LONG", 1), snap(nav="9500.01", day_start_nav_usd=10000)).approved


def test_daily_loss_day_start_derived_from_history():
    midnight = NOW - NOW % 86_400_000
    hist = (NavPoint(midnight - 30_000, 10000), NavPoint(NOW - 1000, 9400))  # peak 10,000: dd 0.06 < 0.10
    assert check(order("SOLUSDT", "BUY", "LONG", 1), snap(history=hist)).codes == ("daily_loss_limit",)


def test_stale_nav_boundary_missing_and_future():
    o = order("SOLUSDT", "BUY", "LONG", 1)
    assert check(o, snap(nav_age_ms=90_000)).approved  # exactly the limit: fresh
    d = check(o, snap(nav_age_ms=91_000))
    assert d.codes == ("nav_stale",)
    assert d.veto("nav_stale").numbers["nav_age_seconds"] == 91.0
    assert d.veto("nav_stale").numbers["nav_freshness_seconds"] == 90.0
    d = check(o, snap(history=()))
    assert d.codes == ("nav_stale",) and "no NAV" in d.veto("nav_stale").reason
    assert check(o, snap(nav_age_ms=-600_000)).codes == ("nav_stale",)  # 10 min in the future: broken clock
    assert check(o, snap(nav=0)).codes == ("nav_stale",)


def test_no_nav_still_lets_a_close_through():
    d = check(order("BTCUSDT", "SELL", "LONG", "0.02"), snap(legs=L1_LEGS, history=()))
    assert d.approved


def test_nan_nav_point_is_ignored_not_trusted():
    hist = (NavPoint(NOW - 5000, 10000), NavPoint(NOW - 1000, "NaN"))
    d = check(order("SOLUSDT", "BUY", "LONG", 1), snap(history=hist))
    assert d.approved and d.checks["nav_age_seconds"] == 5.0


@pytest.mark.parametrize("where", ["config", "state"])
def test_kill_switch_blocks_new_risk_not_closes(where):
    limits = RiskLimits(kill_switch=True) if where == "config" else LIMITS
    s = snap(legs=L1_LEGS, kill_switch=(where == "state"))
    d = check(order("SOLUSDT", "BUY", "LONG", 1), s, limits)
    assert d.codes == ("kill_switch",) and d.veto("kill_switch").numbers[f"kill_switch_{where}"] is True
    assert check(order("ETHUSDT", "BUY", "SHORT", "0.5"), s, limits).approved


def test_reducing_is_judged_per_hedge_leg():
    s = snap(legs=(leg("SOLUSDT", "LONG", 5), leg("ETHUSDT", "SHORT", "0.5")), trading_state="REDUCING")
    assert check(order("SOLUSDT", "SELL", "LONG", 5), s).approved  # SELL on LONG shrinks it
    d = check(order("SOLUSDT", "BUY", "LONG", 1), s)
    assert d.codes == ("reduce_only",)
    assert check(order("ETHUSDT", "BUY", "SHORT", "0.2"), s).approved  # BUY on an existing SHORT leg
    d = check(order("SOLUSDT", "BUY", "SHORT", 1), s)  # no SOL SHORT leg: nothing to reduce
    assert set(d.codes) == {"reduce_only", "invalid_order"}
    assert d.veto("invalid_order").details == ("reduce_exceeds_position",)
    d = check(order("SOLUSDT", "SELL", "LONG", 6), s)  # more than the leg
    assert set(d.codes) == {"reduce_only", "invalid_order"}
    assert d.veto("invalid_order").numbers["leg_qty"] == 5.0


@pytest.mark.parametrize("limits, state, code", [
    (LIMITS, "HALTED", "trading_halted"),
    (LIMITS, "REDUCING", "reduce_only"),
    (RiskLimits(kill_switch=True), "ACTIVE", "kill_switch"),
])
def test_a_close_larger_than_the_leg_is_not_a_reduction_under_any_state(limits, state, code):
    s = snap(legs=(leg("SOLUSDT", "LONG", 5),), trading_state=state)
    assert check(order("SOLUSDT", "SELL", "LONG", 5), s, limits).approved
    d = check(order("SOLUSDT", "SELL", "LONG", 6), s, limits)
    assert set(d.codes) == {code, "invalid_order"} and not d.checks["is_reduce"]


def test_an_invalid_hedge_close_adds_no_exposure():
    # SELL LONG can only shrink the LONG leg, even when it asks for more than the leg: no cap may count it
    s = snap(legs=(leg("SOLUSDT", "LONG", 19),))  # 1,900 of the 2,000 symbol cap
    d = check(order("SOLUSDT", "SELL", "LONG", 25), s)
    assert d.codes == ("invalid_order",) and d.veto("invalid_order").details == ("reduce_exceeds_position",)
    assert d.checks["added_exposure_usd"] == 0.0


def test_one_way_flip_adds_the_part_beyond_the_leg_and_is_not_min_notional_exempt():
    sol = (PositionLeg("SOLUSDT", "BOTH", D(5), mark_price=100, direction="LONG", leverage=1),)
    d = check(order("SOLUSDT", "SELL", "BOTH", 15), snap(legs=sol, hedge_mode=False))  # 5 close, 10 open short
    assert d.approved and d.checks["added_exposure_usd"] == 1000.0 and not d.checks["is_reduce"]
    d = check(order("SOLUSDT", "SELL", "BOTH", 25), snap(legs=sol, hedge_mode=False))  # 500 + 2,000 > 2,000
    assert d.codes == ("symbol_nav_cap",) and d.checks["added_exposure_usd"] == 2000.0
    doge = (PositionLeg("DOGEUSDT", "BOTH", D(10), mark_price=D("0.10"), direction="LONG", leverage=1),)
    s = snap(legs=doge, hedge_mode=False)
    assert check(order("DOGEUSDT", "SELL", "BOTH", 10), s).approved  # 1 USD pure close: exempt
    d = check(order("DOGEUSDT", "SELL", "BOTH", 40), s)  # 4 USD order that flips: not a reduce-only order
    assert d.codes == ("min_notional",) and d.checks["added_exposure_usd"] == 3.0


def test_net_flat_symbol_still_has_two_legs_to_reduce():
    # Nautilus would call SOL "flat" (net 0) and deny both closes in REDUCING; per leg both are reductions.
    s = snap(legs=(leg("SOLUSDT", "LONG", 5), leg("SOLUSDT", "SHORT", 5)), trading_state="REDUCING")
    assert check(order("SOLUSDT", "SELL", "LONG", 5), s).approved
    assert check(order("SOLUSDT", "BUY", "SHORT", 5), s).approved
    assert check(order("SOLUSDT", "SELL", "SHORT", 1), s).codes == ("reduce_only",)


def test_halted_blocks_everything_but_strict_reductions():
    s = snap(legs=L1_LEGS, trading_state="HALTED")
    assert check(order("SOLUSDT", "BUY", "LONG", 1), s).codes == ("trading_halted",)
    assert check(order("BTCUSDT", "SELL", "LONG", "0.02"), s).approved
    # the config can halt too; the stricter of config and live state wins
    assert check(order("SOLUSDT", "BUY", "LONG", 1), snap(trading_state="REDUCING"),
                 RiskLimits(trading_state="HALTED")).codes == ("trading_halted",)


# --------------------------------------------------------------------------- order validity and exchange filters

@pytest.mark.parametrize("qty, price, otype, expected", [
    (float("nan"), None, "", ("qty_not_finite",)),
    ("abc", None, "", ("qty_not_finite",)),
    (float("inf"), None, "", ("qty_not_finite",)),
    (0, None, "", ("qty_not_positive",)),
    (-1, None, "", ("qty_not_positive",)),
    (1, float("nan"), "LIMIT", ("price_not_finite",)),
    (1, float("-inf"), "LIMIT", ("price_not_finite",)),
    (1, -5, "LIMIT", ("price_not_positive",)),
    (1, None, "LIMIT", ("price_missing",)),
    (1, None, "STOP", ("unsupported_order_type",)),
    (None, None, "", ("qty_not_finite",)),
    (D("1e117"), None, "", ("qty_out_of_range",)),  # absurd: vetoed, not raised
    (D("1E+999999"), None, "", ("qty_out_of_range",)),  # qty x price would overflow Decimal: vetoed, not raised
    (1, D("1e40"), "LIMIT", ("price_out_of_range",)),
])
def test_invalid_numbers_are_vetoed_never_raised(qty, price, otype, expected):
    d = check(order("SOLUSDT", "BUY", "LONG", qty, price, order_type=otype), snap())
    assert "invalid_order" in d.codes and not d.approved
    assert d.veto("invalid_order").details == expected
    json.dumps(d.to_dict())


def test_malformed_filters_and_numpy_numbers_are_vetoed_or_judged_never_raised():
    broken = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW - 1000, 10000),), mark_prices=MARKS,
                               filters={**FILTERS, "SOLUSDT": filt("SOLUSDT", "0.0010", "1", "5", min_qty="NaN")})
    d = check(order("SOLUSDT", "BUY", "LONG", 1), broken)
    assert d.veto("invalid_order").details == ("filters_unjudgeable",)
    np = pytest.importorskip("numpy")  # numpy 2 reprs np.float64(2.0) as 'np.float64(2.0)': converted via float()
    o = order("SOLUSDT", "BUY", "LONG", np.float64(2.0), np.float64(100.0))
    assert o.qty == D(2) and o.price == D(100) and check(o, snap()).approved


def test_invalid_symbol_side_position_side_and_mode():
    assert check(order("FOOUSDT", "BUY", "LONG", 1), snap()).veto("invalid_order").details == ("unknown_symbol",)
    assert check(order("SOLUSDT", "HOLD", "LONG", 1), snap()).veto("invalid_order").details == ("bad_side",)
    assert check(order("SOLUSDT", "BUY", "UP", 1), snap()).veto("invalid_order").details == ("bad_position_side",)
    assert check(order("SOLUSDT", "BUY", "BOTH", 1), snap()).veto("invalid_order").details == (
        "position_side_mode_mismatch",)
    assert check(order("SOLUSDT", "BUY", "LONG", 1), snap(hedge_mode=False)).veto("invalid_order").details == (
        "position_side_mode_mismatch",)
    s = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW, 10000),), mark_prices=MARKS,
                          filters={**FILTERS, "SOLUSDT": filt("SOLUSDT", "0.001", "1", "5", status="SETTLING")})
    assert check(order("SOLUSDT", "BUY", "LONG", 1), s).veto("invalid_order").details == ("symbol_not_trading",)


def test_intent_catches_one_way_confusion_in_hedge_mode():
    s = snap(legs=(leg("ETHUSDT", "SHORT", "0.5"),))
    d = check(order("ETHUSDT", "BUY", "SHORT", "0.1", intent="OPEN"), s)  # BUY SHORT closes; it cannot open
    assert d.codes == ("invalid_order",) and d.veto("invalid_order").details == ("intent_mismatch",)
    d = check(order("ETHUSDT", "SELL", "SHORT", "0.1", intent="CLOSE"), s)  # SELL SHORT grows the short
    assert d.veto("invalid_order").details == ("intent_mismatch",)
    assert check(order("ETHUSDT", "BUY", "SHORT", "0.1", intent="close"), s).approved
    assert check(order("ETHUSDT", "SELL", "SHORT", "0.1", intent="open"), s).approved


@pytest.mark.parametrize("o, code, binance", [
    (order("BTCUSDT", "BUY", "LONG", "0.002", "100000.05"), "tick_size", -4014),
    (order("BTCUSDT", "BUY", "LONG", "0.0015"), "step_size", -4023),
    (order("BTCUSDT", "BUY", "LONG", "0.001"), "min_notional", -4164),  # at mark 99,999: 99.999 < 100
    (order("BTCUSDT", "BUY", "LONG", "2000"), "max_qty", -4005),
    (order("BTCUSDT", "BUY", "LONG", "0.002", "110000.0"), "percent_price", -4016),
    (order("BTCUSDT", "SELL", "SHORT", "0.002", "90000.0"), "percent_price", -4024),
    (order("XRPUSDT", "BUY", "LONG", "3", "0.00001"), "price_bounds", -4013),
])
def test_filter_violations_map_to_codes(o, code, binance):
    s = snap(marks={**MARKS, "BTCUSDT": D(99999)}) if code == "min_notional" else snap()
    d = check(o, s, LIMITS.model_copy(update={"max_gross_exposure_nav_pct": 50.0, "MAX_LEVERAGE": 125.0,
                                               "per_symbol_nav_pct": 1.0}), CorrelationGroups())
    assert code in d.codes, d.to_dict()
    assert binance in d.veto(code).numbers["binance_codes"]


def test_min_qty_and_min_notional_numbers():
    s = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW, 10000),), mark_prices=MARKS,
                          filters={"SOLUSDT": filt("SOLUSDT", "0.001", "1", "5", min_qty="2")})
    d = check(order("SOLUSDT", "BUY", "LONG", 1), s, groups=CorrelationGroups())
    assert d.codes == ("min_qty",) and d.veto("min_qty").numbers["min_qty"] == 2.0
    d = check(order("DOGEUSDT", "BUY", "LONG", 40), snap())  # 40 x 0.10 = 4 < 5
    assert d.codes == ("min_notional",)
    assert (d.veto("min_notional").numbers["notional_usd"], d.veto("min_notional").numbers["min_notional"]) == (4.0, 5.0)


def test_closes_are_exempt_from_min_notional_but_not_step_or_tick():
    s = snap(legs=(leg("DOGEUSDT", "LONG", 100),))
    assert check(order("DOGEUSDT", "SELL", "LONG", 10), s).approved  # 1 USD close: Binance allows reduce
    d = check(order("DOGEUSDT", "SELL", "LONG", "10.5"), s)
    assert d.codes == ("step_size",)
    d = check(order("DOGEUSDT", "SELL", "LONG", 10, "0.100005"), s)
    assert d.codes == ("tick_size",)


def test_no_mark_price_blocks_opening_not_closing():
    marks = {k: v for k, v in MARKS.items() if k != "SOLUSDT"}
    s = snap(legs=(PositionLeg("SOLUSDT", "LONG", D(5)),), marks=marks)  # leg without a mark
    assert check(order("SOLUSDT", "BUY", "LONG", 1), s).codes == ("no_mark_price",)
    assert check(order("SOLUSDT", "SELL", "LONG", 5), s).approved


# --------------------------------------------------------------------------- many vetoes at once

def test_every_applicable_veto_is_reported_together():
    legs = (leg("BTCUSDT", "LONG", "0.03"),)  # 3,000 held: L1 at 0.30, BTC at 0.30 > 0.20
    s = snap(legs=legs, history=(NavPoint(NOW - 200_000, 10000), NavPoint(NOW - 120_000, 8900)),
             kill_switch=True, trading_state="REDUCING")
    d = check(order("BTCUSDT", "BUY", "LONG", "0.0105", "100000.05"), s)
    assert set(d.codes) == {"kill_switch", "reduce_only", "portfolio_dd_circuit", "daily_loss_limit", "nav_stale",
                            "step_size", "tick_size", "symbol_nav_cap", "correlation_cap"}
    assert list(d.codes) == sorted(d.codes, key=VETO_CODES.index)  # canonical order
    for v in d.vetoes:
        assert v.reason and v.numbers
    json.dumps(d.to_dict())


# --------------------------------------------------------------------------- one-way (BOTH) legs

def test_one_way_mode_reduce_and_flip():
    legs = (PositionLeg("SOLUSDT", "BOTH", D(5), mark_price=100, direction="LONG", leverage=1),)
    s = snap(legs=legs, hedge_mode=False, trading_state="REDUCING")
    assert check(order("SOLUSDT", "SELL", "BOTH", 5), s).approved
    assert check(order("SOLUSDT", "SELL", "BOTH", 7), s).codes == ("reduce_only",)  # flips to short
    d = check(order("SOLUSDT", "SELL", "BOTH", 7, intent="CLOSE"), s)
    assert d.veto("invalid_order").details == ("reduce_exceeds_position",)
    assert check(order("SOLUSDT", "BUY", "BOTH", 1), s).codes == ("reduce_only",)


def test_unknown_leverage_stays_unknown_and_is_vetoed_with_a_code():
    # positionRisk v3 rows carry no leverage: the leg's leverage is unknown (None), never 1x
    # (the adapter's bridge keeps it None: tests/test_exchange_bridge.py)
    sol = PositionLeg("SOLUSDT", "LONG", 1, entry_price=100, mark_price=100)
    assert sol.leverage is None
    s = snap(legs=(sol,))
    d = check(order("SOLUSDT", "BUY", "LONG", 1), s)  # adds to the leg, says no leverage: cannot be judged
    assert d.codes == ("max_leverage",), d.to_dict()
    v = d.veto("max_leverage")
    assert v.details == ("leverage_unknown",) and v.numbers["leverage_known"] is False
    assert "unknown" in v.reason
    # the order saying its leverage is judged on it (and passes at the cap) ...
    assert check(order("SOLUSDT", "BUY", "LONG", 1, leverage=5), s).approved
    assert check(order("SOLUSDT", "BUY", "LONG", 1, leverage=6), s).codes == ("max_leverage",)
    # ... and closing the leg always passes
    assert check(order("SOLUSDT", "SELL", "LONG", 1), s).approved


def test_intent_is_one_enum_without_synonyms():
    from core.orders import Intent
    s = snap(legs=(leg("ETHUSDT", "SHORT", "0.5"),))
    assert order("ETHUSDT", "BUY", "SHORT", "0.1", intent="close").intent is Intent.CLOSE
    assert check(order("ETHUSDT", "BUY", "SHORT", "0.1", intent=Intent.CLOSE), s).approved
    for synonym in ("REDUCE", "EXIT", "INCREASE", "ENTRY", "bogus"):
        d = check(order("ETHUSDT", "BUY", "SHORT", "0.1", intent=synonym), s)
        assert d.codes == ("invalid_order",) and d.veto("invalid_order").details == ("unknown_intent",), synonym
        assert d.to_dict()["order"]["intent"] == synonym.upper()


# --------------------------------------------------------------------------- real exchange filters

@pytest.mark.shared_data
def test_correlation_example_with_real_mainnet_filters(shared_data_dir):
    doc = json.loads((shared_data_dir / "exchange" / "exchangeInfo-fapi.json").read_text())
    real = parse_exchange_info(doc)
    s = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW - 1000, 10000),), positions=L1_LEGS,
                          filters={k: real[k] for k in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}, mark_prices=MARKS)
    assert check(order("SOLUSDT", "BUY", "LONG", 6), s).codes == ("correlation_cap",)
    assert check(order("SOLUSDT", "BUY", "LONG", 4), s).approved
    assert "step_size" in check(order("SOLUSDT", "BUY", "LONG", "4.5"), s).codes  # SOL step is 1
    assert "min_notional" in check(order("BTCUSDT", "BUY", "LONG", "0.001", "99000.0"), s).codes  # 99 < 100


# --------------------------------------------------------------------------- state helper

def test_correlation_status_for_risk_json():
    out = correlation_status(snap(legs=L1_LEGS), GROUPS)
    assert out["L1_bluechips"] == {"symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"], "gross_usd": 3000.0,
                                   "gross_nav_pct": 0.30, "max_group_nav_pct": 0.35, "status": "NEAR"}
    assert out["L2_alts"]["status"] == "OK" and out["L2_alts"]["gross_nav_pct"] == 0.0
    ctx = RiskContext.build(snap(legs=L1_LEGS), LIMITS, GROUPS)
    assert ctx.correlation_status() == out


# --------------------------------------------------------------------------- properties

SYMS = list(FILTERS)


@st.composite
def portfolios(draw):
    n_legs = draw(st.integers(0, 8))
    keys = draw(st.lists(st.tuples(st.sampled_from(SYMS), st.sampled_from(["LONG", "SHORT"])),
                         min_size=n_legs, max_size=n_legs, unique=True))
    marks = {sym: MARKS[sym] * D(draw(st.integers(80, 120))) / 100 for sym in SYMS}  # one mark per symbol
    legs = []
    for sym, ps in keys:
        units = draw(st.integers(1, 5000))
        step = FILTERS[sym].step_size
        legs.append(PositionLeg(sym, ps, units * step, mark_price=marks[sym], leverage=draw(st.integers(1, 20))))
    navs = draw(st.lists(st.integers(1, 200_000), min_size=0, max_size=6))
    age = draw(st.integers(-200_000, 300_000))
    hist = tuple(NavPoint(NOW - age - 1000 * (len(navs) - i), v) for i, v in enumerate(navs))
    circuit = draw(st.sampled_from([0.01, 0.05, 0.10]))
    limits = RiskLimits(
        circuit_breakers=CircuitBreakers(max_portfolio_dd_nav_pct=circuit),
        KILL_DD_PCT=draw(st.sampled_from([0.10, 0.15, 0.5])), KILL_DAILY_LOSS_PCT=draw(st.sampled_from([0.01, 0.05])),
        MAX_POSITIONS=draw(st.integers(1, 10)), MAX_LEVERAGE=draw(st.sampled_from([0.5, 1.0, 5.0])),
        per_symbol_nav_pct=draw(st.sampled_from([0.01, 0.2])), max_gross_exposure_nav_pct=draw(st.sampled_from([0.05, 0.8])),
        kill_switch=draw(st.booleans()), trading_state=draw(st.sampled_from(["ACTIVE", "REDUCING", "HALTED"])),
    ) if circuit <= 0.10 else LIMITS
    s = PortfolioSnapshot(
        now_ms=NOW, nav_history=hist, positions=tuple(legs), filters=FILTERS, mark_prices={},
        kill_switch=draw(st.booleans()), trading_state=draw(st.sampled_from(["ACTIVE", "REDUCING", "HALTED"])),
        day_start_nav_usd=draw(st.one_of(st.none(), st.integers(1, 300_000))),
    )
    return s, limits


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios(), st.data())
def test_pure_reduction_is_never_blocked_by_a_cap_or_a_state(pf, data):
    s, limits = pf
    if not s.open_legs:
        return
    lg = data.draw(st.sampled_from(s.open_legs))
    f = FILTERS[lg.symbol]
    units = data.draw(st.integers(1, int(lg.qty / f.step_size)))
    side = "SELL" if lg.position_side == "LONG" else "BUY"
    limit = data.draw(st.booleans())
    price = f"{(lg.mark_price / f.tick_size).to_integral_value() * f.tick_size}" if limit else None
    d = check(order(lg.symbol, side, lg.position_side, units * f.step_size, price), s, limits)
    assert not set(d.codes) & RISK_INCREASE_ONLY_CODES, d.to_dict()
    assert d.approved and d.checks["is_reduce"], d.to_dict()


@st.composite
def any_orders(draw):
    sym = draw(st.sampled_from(SYMS + ["FOOUSDT"]))
    qty = draw(st.one_of(st.integers(-2, 3000).map(lambda u: u * FILTERS.get(sym, FILTERS["SOLUSDT"]).step_size),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3)))
    price = draw(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                           st.integers(1, 10**6).map(lambda t: t * FILTERS.get(sym, FILTERS["SOLUSDT"]).tick_size)))
    return ProposedOrder(sym, draw(st.sampled_from(["BUY", "SELL", "X"])),
                         draw(st.sampled_from(["LONG", "SHORT", "BOTH"])), qty, price,
                         intent=draw(st.sampled_from(["", "OPEN", "CLOSE"])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios(), any_orders(), st.randoms(use_true_random=False))
def test_pipeline_order_never_changes_the_vetoes_and_never_raises(pf, o, rnd):
    s, limits = pf
    ctx = RiskContext.build(s, limits, GROUPS)
    d = ctx.check(o)
    shuffled = list(PIPELINE)
    rnd.shuffle(shuffled)
    d2 = ctx.check(o, pipeline=shuffled)
    assert d.codes == d2.codes and d.vetoes == d2.vetoes
    assert d.approved == (not d.codes)
    assert set(d.codes) <= set(VETO_CODES)
    assert len(set(d.codes)) == len(d.codes)
    json.dumps(d.to_dict())
    assert d == check(o, s, limits)  # the convenience wrapper is the same thing


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(portfolios(), st.sampled_from(SYMS), st.sampled_from(["LONG", "SHORT"]), st.integers(1, 500), st.integers(1, 500))
def test_a_smaller_opening_order_gets_no_cap_veto_the_larger_one_lacks(pf, sym, ps, a, b):
    s, limits = pf
    step = FILTERS[sym].step_size
    small, large = sorted((a, b))
    side = "BUY" if ps == "LONG" else "SELL"
    caps = {"correlation_cap", "symbol_nav_cap", "max_gross_exposure", "max_leverage"}
    d_small = check(order(sym, side, ps, small * step), s, limits)
    d_large = check(order(sym, side, ps, large * step), s, limits)
    assert set(d_small.codes) & caps <= set(d_large.codes) & caps


def test_random_books_reduce_whole_portfolio_to_flat_under_every_state():
    rnd = random.Random(7)
    for _ in range(30):
        legs = [leg(sym, ps, FILTERS[sym].step_size * rnd.randint(1, 10**4))
                for sym in SYMS for ps in ("LONG", "SHORT") if rnd.random() < 0.5]
        s = snap(legs=legs, history=(NavPoint(NOW - 10**6, 10**6), NavPoint(NOW - 10**6, 1)),
                 kill_switch=True, trading_state="HALTED")
        ctx = RiskContext.build(s, RiskLimits(kill_switch=True, MAX_POSITIONS=1), GROUPS)
        for lg in legs:
            o = order(lg.symbol, "SELL" if lg.position_side == "LONG" else "BUY", lg.position_side, lg.qty)
            assert ctx.check(o).approved
