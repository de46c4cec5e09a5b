"""core.portfolio and core.risk metrics/state: records, drawdown, gross exposure (per leg, per symbol, per group), statuses, risk.json."""
import dataclasses
import json
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.portfolio import (
    NavPoint,
    OpenOrder,
    PortfolioSnapshot,
    PositionLeg,
    correlation_exposure,
    effective_trading_state,
    gross_by_group,
    gross_by_symbol,
    gross_exposure,
    group_status,
    leg_notional,
)
from core.risk.metrics import Drawdown, daily_loss_pct, day_start_nav, drawdown, latest_nav
from core.risk.state import to_risk_state
from settings.models import CorrelationGroup, CorrelationGroups, RiskLimits

NOW = 1_700_000_000_000
GROUPS = CorrelationGroups(groups={
    "L1_bluechips": CorrelationGroup(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"], max_group_nav_pct=0.35),
    "L2_alts": CorrelationGroup(symbols=["DOGEUSDT", "LINKUSDT"], max_group_nav_pct=0.25),
})


def hist(*navs, step_ms=1000):
    return tuple(NavPoint(NOW - step_ms * (len(navs) - 1 - i), v) for i, v in enumerate(navs))


# --------------------------------------------------------------------------- records

def test_records_are_frozen_and_convert_numbers_to_decimal():
    leg = PositionLeg("BTCUSDT", "long", 0.02, entry_price=99000, mark_price="100000", leverage=3)
    assert leg.position_side == "LONG" and leg.qty == D("0.02") and isinstance(leg.mark_price, D)
    assert leg.notional_usd == D("2000") and leg.key == ("BTCUSDT", "LONG")
    with pytest.raises(dataclasses.FrozenInstanceError):
        leg.qty = D(1)  # type: ignore[misc]  # frozen: the assignment must raise
    assert NavPoint(1, 10000.5).nav_usd == D("10000.5")


@pytest.mark.parametrize("kw", [
    dict(qty=-1), dict(qty="NaN"), dict(position_side="UP"), dict(position_side="LONG", direction="SHORT"),
])
def test_position_leg_rejects_nonsense(kw):
    args = dict(symbol="BTCUSDT", position_side="LONG", qty=1) | kw
    with pytest.raises(ValueError):
        PositionLeg(**args)


def test_snapshot_sorts_history_rejects_duplicate_legs_and_freezes_maps():
    s = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(3, 3), NavPoint(1, 1), NavPoint(2, 2)),
                          mark_prices={"BTCUSDT": 1})
    assert [p.ts_ms for p in s.nav_history] == [1, 2, 3]
    with pytest.raises(TypeError):
        s.mark_prices["BTCUSDT"] = D(2)  # type: ignore[index]  # read-only mapping: must raise
    legs = (PositionLeg("BTCUSDT", "LONG", 1), PositionLeg("BTCUSDT", "LONG", 2))
    with pytest.raises(ValueError, match="duplicate leg"):
        PortfolioSnapshot(now_ms=NOW, positions=legs)
    with pytest.raises(ValueError):
        PortfolioSnapshot(now_ms=NOW, trading_state="PAUSED")


def test_open_order_opens_risk_per_hedge_leg():
    assert OpenOrder("BTCUSDT", "BUY", "LONG", 1).opens_risk
    assert OpenOrder("BTCUSDT", "SELL", "SHORT", 1).opens_risk
    assert not OpenOrder("BTCUSDT", "SELL", "LONG", 1).opens_risk
    assert not OpenOrder("BTCUSDT", "BUY", "SHORT", 1).opens_risk
    assert not OpenOrder("BTCUSDT", "BUY", "BOTH", 1, reduce_only=True).opens_risk


# --------------------------------------------------------------------------- drawdown

def test_drawdown_hand_computed():
    dd = drawdown(hist(9000, 10000, 9500, 8990))
    assert dd == Drawdown(D(10000), D(8990), D("0.101"), 4, NOW)
    peak, latest, current = dd
    assert (peak, latest, current) == (D(10000), D(8990), D("0.101"))
    assert drawdown(hist(10000, 9000)).current_dd_pct == D("0.1")  # exactly 10 %


def test_drawdown_window_latest_and_edge_cases():
    h = hist(10000, 9000, 9100, 9050)
    assert drawdown(h, window=2).peak_nav_usd == D(9100)
    assert drawdown(h, window=2, hwm_nav_usd=D(12000)).peak_nav_usd == D(12000)
    assert drawdown(()) is None
    assert drawdown(hist(0, 0)) is None  # no positive peak: nothing to measure from
    assert drawdown(hist(10000, 11000)).current_dd_pct == 0
    # a broken (NaN) sample is neither the peak nor the latest
    broken = hist(10000, 9500) + (NavPoint(NOW + 1, "NaN"),)
    assert drawdown(broken).latest_nav_usd == D(9500)
    assert latest_nav(broken).nav_usd == D(9500)
    assert latest_nav(()) is None


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_nav_sample_is_never_the_peak_or_the_latest(bad):
    # an infinite sample as the peak would make every later DD 100 % (or raise on inf / inf)
    broken = hist(10000, 9000) + (NavPoint(NOW + 1, bad),)
    assert drawdown(broken) == Drawdown(D(10000), D(9000), D("0.1"), 2, NOW)
    assert latest_nav(broken).nav_usd == D(9000)
    spike = (NavPoint(NOW - 2000, 10000), NavPoint(NOW - 1000, bad), NavPoint(NOW, 9500))
    # the window counts finite points only: the last two are 10,000 and 9,500
    assert drawdown(spike, window=2) == Drawdown(D(10000), D(9500), D("0.05"), 2, NOW)


def test_persisted_hwm_below_the_window_peak_never_lowers_the_peak():
    h = hist(10000, 12000, 11000)  # window peak 12,000; latest 11,000 -> 1/12
    dd = drawdown(h, hwm_nav_usd=D(10500))  # a stale, lower high-water mark
    assert dd.peak_nav_usd == D(12000) and dd.current_dd_pct == D(1000) / D(12000)
    assert drawdown(h, hwm_nav_usd=D("NaN")).peak_nav_usd == D(12000)  # a broken HWM is ignored
    assert drawdown(h, window=1, hwm_nav_usd=D(12000)).current_dd_pct == D(1000) / D(12000)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=50), st.integers(1, 60))
def test_drawdown_properties(navs, window):
    dd = drawdown(hist(*navs), window=window)
    w = navs[-window:]
    assert dd.peak_nav_usd == max(w) and dd.latest_nav_usd == navs[-1]
    assert 0 <= dd.current_dd_pct < 1
    assert dd.current_dd_pct == (D(max(w)) - D(navs[-1])) / D(max(w))


def test_day_start_nav_and_daily_loss():
    midnight = NOW - NOW % 86_400_000
    h = (NavPoint(midnight - 60_000, 10000), NavPoint(midnight, 10100), NavPoint(NOW, 9595))
    assert day_start_nav(h, NOW) == D(10100)  # the last point at or before 00:00 UTC
    assert day_start_nav(h[2:], NOW) == D(9595)  # history starts today: its first point
    assert day_start_nav((), NOW) is None
    assert daily_loss_pct(D(10100), D(9595)) == D("0.05")
    assert daily_loss_pct(D(10000), D(10500)) == 0
    assert daily_loss_pct(None, D(1)) is None and daily_loss_pct(D(0), D(1)) is None


# --------------------------------------------------------------------------- exposure

def test_gross_exposure_sums_absolute_notionals_of_all_legs():
    legs = (
        PositionLeg("BTCUSDT", "LONG", D("0.02"), mark_price=100000),   # 2,000
        PositionLeg("ETHUSDT", "SHORT", D("0.5"), mark_price=2000),     # 1,000
        PositionLeg("SOLUSDT", "LONG", D(5), mark_price=100),           # 500
        PositionLeg("SOLUSDT", "SHORT", D(5), mark_price=100),          # 500: hedged, still gross
        PositionLeg("DOGEUSDT", "LONG", D(0), mark_price=D("0.1")),     # flat leg: nothing
    )
    assert gross_by_symbol(legs) == {"BTCUSDT": D("2000.00"), "ETHUSDT": D("1000.0"), "SOLUSDT": D(1000)}
    assert gross_exposure(legs) == D(4000)
    # a fresher mark table wins over positionRisk marks
    assert gross_by_symbol(legs, {"SOLUSDT": D(110)})["SOLUSDT"] == D(1100)
    assert gross_by_group(gross_by_symbol(legs), GROUPS) == {"L1_bluechips": D(4000), "L2_alts": D(0)}
    assert leg_notional(PositionLeg("BTCUSDT", "LONG", 1)) == 0  # no price at all: not valued
    assert leg_notional(PositionLeg("BTCUSDT", "LONG", 1, entry_price=90)) == 90  # no mark: entry price


def test_symbol_in_two_groups_counts_in_both():
    groups = CorrelationGroups(groups={
        "a": CorrelationGroup(symbols=["BTCUSDT", "ETHUSDT"], max_group_nav_pct=0.5),
        "b": CorrelationGroup(symbols=["ETHUSDT", "ETHUSDT"], max_group_nav_pct=0.5),
    })
    assert gross_by_group({"BTCUSDT": D(1), "ETHUSDT": D(2)}, groups) == {"a": D(3), "b": D(2)}


@pytest.mark.parametrize("gross, status", [
    ("2796.5", "OK"),      # 79.9 % of the 3,500 cap
    ("2800", "NEAR"),      # 80 %
    ("3500", "NEAR"),      # 100 %: at the cap, not over it
    ("3503.5", "CAPPED"),  # 100.1 %
])
def test_status_bands(gross, status):
    assert group_status(D(gross), D(10000), 0.35, 0.8) == status
    legs = (PositionLeg("BTCUSDT", "LONG", D(gross) / 1000, mark_price=1000),)
    ex = {g.group: g for g in correlation_exposure(legs, D(10000), GROUPS)}
    assert ex["L1_bluechips"].status == status
    assert ex["L1_bluechips"].gross_nav_pct == D(gross) / D(10000)


def test_status_unknown_without_nav():
    assert group_status(D(1), None, 0.35) == "UNKNOWN"
    ex = correlation_exposure((), None, GROUPS)
    assert [g.status for g in ex] == ["UNKNOWN", "UNKNOWN"] and ex[0].gross_nav_pct is None


# --------------------------------------------------------------------------- state

def test_effective_trading_state_is_the_strictest():
    assert effective_trading_state("ACTIVE", "REDUCING") == "REDUCING"
    assert effective_trading_state("halted", "REDUCING") == "HALTED"
    assert effective_trading_state() == "ACTIVE"


def test_to_risk_state_has_the_seed_field_names():
    legs = (PositionLeg("BTCUSDT", "LONG", D("0.02"), mark_price=100000),
            PositionLeg("ETHUSDT", "SHORT", D("0.5"), mark_price=2000))
    s = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW - 60_000, 10000), NavPoint(NOW - 1000, 8990)),
                          positions=legs, day_start_nav_usd=10000)
    state = to_risk_state(s, RiskLimits(), GROUPS)
    json.dumps(state)
    assert state["portfolio_dd_pct"] == 0.101
    assert state["circuit_breaker"] == {"max_portfolio_dd_nav_pct": 0.10, "active": True}
    assert state["kill_dd"]["active"] is False
    assert state["daily_loss"]["active"] is True and state["daily_loss"]["daily_loss_pct"] == 0.101
    assert state["correlation_groups"]["L1_bluechips"] == {
        "symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"], "gross_usd": 3000.0,
        "gross_nav_pct": 3000 / 8990, "max_group_nav_pct": 0.35, "status": "NEAR"}
    assert state["nav_fresh"] is True and state["nav_age_seconds"] == 1.0
    assert state["open_positions"] == 2 and state["trading_state"] == "ACTIVE"
    empty = to_risk_state(PortfolioSnapshot(now_ms=NOW), RiskLimits(), GROUPS)
    assert empty["portfolio_dd_pct"] is None and empty["circuit_breaker"]["active"] is False
    assert empty["nav_fresh"] is False and empty["correlation_groups"]["L1_bluechips"]["status"] == "UNKNOWN"
