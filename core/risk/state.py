"""`logs/state/risk.json["risk"]`: the risk figures the dashboard and the heartbeat read (docs/RISK.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.portfolio import (
    PortfolioSnapshot,
    correlation_exposure,
    effective_trading_state,
    gross_exposure,
    is_finite_positive,
    nav_pct,
)
from core.portfolio import (
    float_or_none as _f,
)
from core.risk.metrics import (
    daily_loss_at_or_above,
    daily_loss_pct,
    day_start_nav,
    dd_at_or_above,
    drawdown,
    latest_nav,
)

if TYPE_CHECKING:
    from settings.models import CorrelationGroups, RiskLimits

__all__ = ["to_risk_state"]


def to_risk_state(snapshot: PortfolioSnapshot, limits: RiskLimits, groups: CorrelationGroups) -> dict[str, Any]:
    """The value of `logs/state/risk.json["risk"]` (docs/v7.4_Risk_and_Methodology.md / docs/v7.4_Preflight_Runbook.md
    field names).

    Exposure here is positions only (what the account holds); check_order additionally counts resting
    orders that would grow a leg.
    """
    dd = drawdown(snapshot.nav_history, limits.nav_history_len, snapshot.hwm_nav_usd)
    last = latest_nav(snapshot.nav_history)
    nav = last.nav_usd if last else None
    age_s = (snapshot.now_ms - last.ts_ms) / 1000.0 if last else None
    circuit_thr = limits.circuit_breakers.max_portfolio_dd_nav_pct
    circuit = dd_at_or_above(dd, circuit_thr)
    kill_dd = dd_at_or_above(dd, limits.KILL_DD_PCT)
    day_start = snapshot.day_start_nav_usd or day_start_nav(snapshot.nav_history, snapshot.now_ms)
    loss = daily_loss_pct(day_start, nav)
    marks = snapshot.marks()
    legs = snapshot.open_legs
    gross = gross_exposure(legs, marks)
    return {
        "updated_ms": snapshot.now_ms,
        "portfolio_dd_pct": _f(dd.current_dd_pct) if dd else None,
        "peak_nav_usd": _f(dd.peak_nav_usd) if dd else None,
        "latest_nav_usd": _f(nav),
        "nav_ts_ms": last.ts_ms if last else None,
        "nav_age_seconds": age_s,
        "nav_fresh": age_s is not None and abs(age_s) <= limits.nav_freshness_seconds and is_finite_positive(nav),
        "circuit_breaker": {"max_portfolio_dd_nav_pct": float(circuit_thr), "active": bool(circuit)},
        "kill_dd": {"KILL_DD_PCT": float(limits.KILL_DD_PCT), "active": bool(kill_dd)},
        "daily_loss": {
            "day_start_nav_usd": _f(day_start),
            "daily_loss_pct": _f(loss),
            "KILL_DAILY_LOSS_PCT": float(limits.KILL_DAILY_LOSS_PCT),
            "active": daily_loss_at_or_above(day_start, nav, limits.KILL_DAILY_LOSS_PCT),
        },
        "gross_exposure_usd": float(gross),
        "gross_exposure_nav_pct": _f(nav_pct(gross, nav)),
        "max_gross_exposure_nav_pct": float(limits.max_gross_exposure_nav_pct),
        "open_positions": len(legs),
        "max_positions": limits.MAX_POSITIONS,
        "trading_state": effective_trading_state(limits.trading_state, snapshot.trading_state),
        "kill_switch": bool(limits.kill_switch or snapshot.kill_switch),
        "correlation_groups": {g.group: g.to_dict() for g in correlation_exposure(legs, nav, groups, marks)},
    }
