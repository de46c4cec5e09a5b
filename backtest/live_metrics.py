"""Live/paper account metrics, their green/yellow/red bands and the risk guard's decision
(docs/Production_Launch_SOP.md states every definition).

Definitions (UTC days; a day's NAV is the last NAV point of that day):
    sharpe_Nd         mean / sample std of the last N daily returns x sqrt(365) (None with fewer than N)
    running_mdd       the largest drawdown from a running peak of every NAV point up to the day (since launch)
    return_30d        NAV at the day's end / NAV 30 days earlier - 1 (from the first point when younger)
    slippage_ratio    notional-weighted realized slippage of the last 30 days' fills (adverse vs the decision's
                      expected price, bps) / the candidate's assumed slippage_bps (None without such fills)
    funding_drag_apr  funding paid in the last 30 days / mean NAV x 365 / 30
    funding_drift     funding_drag_apr / the assumed (backtest) funding drag (None when no assumption is given)
    sleeve_14d        per sleeve: realized PnL - commission - funding of its symbol in the last 14 days / NAV
                      14 days earlier (sleeves sharing a symbol split it by weight)
    negative_sleeves_14d, worst_sleeve_14d, flatten_events_30d
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from settings.models import CandidateConfig, MetricBand, ScaleRules

__all__ = ["DAY_MS", "DayMetrics", "metrics_as_of", "daily_metrics", "band_of", "bands", "Decision", "decide"]

DAY_MS = 86_400_000
DECISIONS = ("KEEP", "SCALE_UP", "REDUCE", "PAUSE", "FLATTEN_ALL")


@dataclass(frozen=True)
class DayMetrics:
    day_end_ms: int
    nav_usd: float | None
    sharpe_14d: float | None
    sharpe_20d: float | None
    sharpe_30d: float | None
    running_mdd: float | None
    mdd_30d: float | None
    return_30d: float | None
    slippage_ratio: float | None
    funding_drag_apr: float | None
    funding_drift: float | None
    sleeve_14d: Mapping[str, float] = field(default_factory=dict)
    flatten_events_30d: int = 0

    @property
    def negative_sleeves_14d(self) -> int | None:
        return sum(1 for v in self.sleeve_14d.values() if v < 0) if self.sleeve_14d else None

    @property
    def worst_sleeve_14d(self) -> float | None:
        return min(self.sleeve_14d.values()) if self.sleeve_14d else None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["sleeve_14d"] = dict(self.sleeve_14d)
        out["negative_sleeves_14d"] = self.negative_sleeves_14d
        out["worst_sleeve_14d"] = self.worst_sleeve_14d
        return out


def _daily(t_ms: np.ndarray, nav: np.ndarray, day_end_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Day ends and each day's last NAV, from the first day up to `day_end_ms`."""
    keep = t_ms < day_end_ms
    t, v = t_ms[keep], nav[keep]
    if len(t) == 0:
        return t, v
    day = t // DAY_MS
    last = np.r_[np.flatnonzero(np.diff(day)), len(day) - 1]
    return (day[last] + 1) * DAY_MS, v[last]


def _sharpe(daily_nav: np.ndarray, n: int) -> float | None:
    if len(daily_nav) < n + 1:
        return None
    r = daily_nav[-n:] / daily_nav[-n - 1:-1] - 1.0
    sd = float(np.std(r, ddof=1))
    return 0.0 if sd == 0.0 or not math.isfinite(sd) else float(np.mean(r) / sd * math.sqrt(365.0))


def _mdd(x: np.ndarray) -> float | None:
    if len(x) == 0:
        return None
    return float(np.max(1.0 - x / np.maximum.accumulate(x)))


def _nav_at(t_ms: np.ndarray, nav: np.ndarray, at_ms: int) -> float | None:
    i = int(np.searchsorted(t_ms, at_ms, side="right")) - 1
    return float(nav[max(i, 0)]) if len(nav) else None


def metrics_as_of(day_end_ms: int, t_ms: np.ndarray, nav: np.ndarray, fills: Sequence[Mapping[str, Any]],
                  funding: Sequence[tuple[int, str, float]], candidate: CandidateConfig | None,
                  flatten_times_ms: Sequence[int] = (), assumed_funding_apr: float | None = None) -> DayMetrics:
    """Metrics of the account as of the end of the UTC day ending at `day_end_ms`."""
    days, dnav = _daily(t_ms, nav, day_end_ms)
    upto = t_ms < day_end_ms
    t_u, nav_u = t_ms[upto], nav[upto]
    now_nav = float(nav_u[-1]) if len(nav_u) else None
    start30, start14 = day_end_ms - 30 * DAY_MS, day_end_ms - 14 * DAY_MS
    ret30 = None
    if now_nav is not None:
        base = _nav_at(t_u, nav_u, start30) if t_u[0] <= start30 else float(nav_u[0])
        ret30 = now_nav / base - 1.0 if base else None
    w30 = nav_u[t_u >= start30]
    in30 = [f for f in fills if start30 <= f["time_ms"] < day_end_ms]
    slip = None
    if candidate is not None and candidate.costs.slippage_bps > 0:
        num = den = 0.0
        for f in in30:
            exp = f.get("expected_price")
            if exp and exp > 0 and f["price"] > 0:
                bps = (f["price"] / exp - 1.0) * 1e4 if f["side"] == "BUY" else (1.0 - f["price"] / exp) * 1e4
                notional = f["qty"] * f["price"]
                num += bps * notional
                den += notional
        slip = (num / den) / candidate.costs.slippage_bps if den > 0 else None
    paid30 = sum(p for t, _, p in funding if start30 <= t < day_end_ms)
    mean30 = float(np.mean(w30)) if len(w30) else now_nav
    drag = paid30 / mean30 * 365.0 / 30.0 if mean30 else None
    drift = drag / assumed_funding_apr if drag is not None and assumed_funding_apr else None
    sleeves: dict[str, float] = {}
    if candidate is not None and now_nav is not None:
        base14 = _nav_at(t_u, nav_u, start14) if t_u[0] <= start14 else float(nav_u[0])
        per_sym: dict[str, float] = {}
        for f in fills:
            if start14 <= f["time_ms"] < day_end_ms:
                per_sym[f["symbol"]] = per_sym.get(f["symbol"], 0.0) + (f.get("realized_pnl_usd") or 0.0) - (
                    f.get("commission_usd") or 0.0)
        for t, s, p in funding:
            if start14 <= t < day_end_ms:
                per_sym[s] = per_sym.get(s, 0.0) - p
        total = {s.symbol: 0.0 for s in candidate.ensemble.sleeves}
        for s in candidate.ensemble.sleeves:
            total[s.symbol] += s.weight
        for s in candidate.ensemble.sleeves:
            share = s.weight / total[s.symbol] if total[s.symbol] else 0.0
            sleeves[s.name] = per_sym.get(s.symbol, 0.0) * share / base14 if base14 else 0.0
    return DayMetrics(
        day_end_ms=int(day_end_ms), nav_usd=now_nav, sharpe_14d=_sharpe(dnav, 14), sharpe_20d=_sharpe(dnav, 20),
        sharpe_30d=_sharpe(dnav, 30), running_mdd=_mdd(nav_u), mdd_30d=_mdd(w30), return_30d=ret30,
        slippage_ratio=slip, funding_drag_apr=drag, funding_drift=drift, sleeve_14d=sleeves,
        flatten_events_30d=sum(1 for t in flatten_times_ms if start30 <= t < day_end_ms))


def daily_metrics(last_day_end_ms: int, days: int, **kw: Any) -> list[DayMetrics]:
    """`metrics_as_of` for each of the `days` UTC days ending at `last_day_end_ms` (oldest first)."""
    return [metrics_as_of(last_day_end_ms - k * DAY_MS, **kw) for k in range(days - 1, -1, -1)]


def band_of(value: float | None, band: MetricBand) -> str:
    """green / yellow / red (docs/Production_Launch_SOP.md), or unknown without a value."""
    if value is None or not math.isfinite(value):
        return "unknown"
    if band.higher_is_better:
        return "green" if value > band.green else ("red" if value < band.red else "yellow")
    return "green" if value <= band.green else ("red" if value > band.red else "yellow")


def bands(m: DayMetrics, rules: ScaleRules) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, band in rules.metric_bands.items():
        value = getattr(m, name, None)
        out[name] = {"value": value, "band": band_of(value, band), "green": band.green, "red": band.red}
    return out


@dataclass(frozen=True)
class Decision:
    decision: str  # one of DECISIONS
    reasons: tuple[str, ...]
    metrics: DayMetrics | None
    bands: Mapping[str, Mapping[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reasons": list(self.reasons),
                "metrics": self.metrics.to_dict() if self.metrics else None, "bands": dict(self.bands)}


def _lt(x: float | None, thr: float) -> bool:
    return x is not None and x < thr


def _gt(x: float | None, thr: float) -> bool:
    return x is not None and x > thr


def decide(history: Sequence[DayMetrics], rules: ScaleRules, *, kill_switch_active: bool = False,
           nav_stale_reason: str = "") -> Decision:
    """KEEP / SCALE_UP / REDUCE / PAUSE / FLATTEN_ALL from the daily metrics (oldest first; the last is today)."""
    if not history or history[-1].nav_usd is None:
        return Decision("PAUSE", ("no NAV history: nothing to judge (is hedge-sync_state running?)",), None, {})
    m = history[-1]
    b = bands(m, rules)
    hs, sd, su = rules.hard_stop, rules.scale_down, rules.scale_up
    hard = []
    if _gt(m.running_mdd, hs.mdd_gt):
        hard.append(f"running MDD {m.running_mdd:.2%} > {hs.mdd_gt:.0%} (hard stop)")
    if _lt(m.return_30d, hs.return_30d_lt):
        hard.append(f"30D return {m.return_30d:.2%} < {hs.return_30d_lt:.0%} (hard stop)")
    if hard:
        return Decision("FLATTEN_ALL", tuple(hard), m, b)
    if kill_switch_active:
        return Decision("PAUSE", ("kill switch engaged: restart only by docs/Production_Launch_SOP.md §5.2",), m, b)
    if nav_stale_reason:
        return Decision("PAUSE", (f"NAV is stale: {nav_stale_reason}",), m, b)
    reduce = []
    if _lt(m.sharpe_20d, sd.sharpe_20d_lt):
        reduce.append(f"20D Sharpe {m.sharpe_20d:.2f} < {sd.sharpe_20d_lt:g}")
    if _gt(m.running_mdd, sd.mdd_gt):
        reduce.append(f"running MDD {m.running_mdd:.2%} > {sd.mdd_gt:.0%}")
    last = history[-sd.slippage_sustained_days:]
    if len(last) == sd.slippage_sustained_days and all(_gt(d.slippage_ratio, sd.slippage_ratio_gt) for d in last):
        reduce.append(f"slippage > {sd.slippage_ratio_gt:g}x assumed for {sd.slippage_sustained_days} days")
    if _lt(m.worst_sleeve_14d, sd.worst_sleeve_14d_lt):
        reduce.append(f"worst sleeve 14D {m.worst_sleeve_14d:.2%} < {sd.worst_sleeve_14d_lt:.0%}")
    reds = [k for k, v in b.items() if v["band"] == "red"]
    if reds:
        reduce.append("red: " + ", ".join(reds))
    n = rules.yellow_days_before_reduce + 1  # yellow for MORE than n-1 days
    if len(history) >= n:
        for name in rules.metric_bands:
            if all(bands(d, rules)[name]["band"] == "yellow" for d in history[-n:]):
                reduce.append(f"{name} yellow for more than {rules.yellow_days_before_reduce} days")
    if reduce:
        return Decision("REDUCE", tuple(reduce), m, b)
    window = history[-su.consecutive_days:]

    def up_ok(d: DayMetrics) -> bool:
        return (_gt(d.sharpe_20d, su.sharpe_20d_gt) and _lt(d.running_mdd, su.mdd_lt)
                and d.slippage_ratio is not None and d.slippage_ratio <= su.slippage_ratio_le
                and d.funding_drift is not None and d.funding_drift <= su.funding_drift_le
                and d.flatten_events_30d <= su.flatten_events_30d_max)
    if len(window) == su.consecutive_days and all(up_ok(d) for d in window):
        approval = " (manual approval required)" if su.manual_approval else ""
        return Decision("SCALE_UP", (f"all scale-up conditions held {su.consecutive_days} consecutive days: "
                                     f"raise capital {su.capital_increase_pct:.0%}{approval}",), m, b)
    return Decision("KEEP", ("no scale-down, hard-stop or scale-up condition",), m, b)


def stage_status(m: DayMetrics, stage: Any, *, days_in_stage: float, api_issues_24h: int = 0,
                 signal_consistency: float | None = None) -> dict[str, Any]:
    """A stage's exit criteria (ALL must hold) and abort triggers (ANY) of the scale rules, on today's metrics.
    Unknown metrics never satisfy an exit criterion and never trigger an abort."""
    exits: list[tuple[str, bool]] = [(f"at least {stage.min_days} days in the stage", days_in_stage >= stage.min_days)]
    s = stage
    if s.exit_sharpe_14d_gt is not None:
        exits.append((f"14D Sharpe > {s.exit_sharpe_14d_gt:g}", _gt(m.sharpe_14d, s.exit_sharpe_14d_gt)))
    if s.exit_sharpe_30d_gt is not None:
        exits.append((f"30D Sharpe > {s.exit_sharpe_30d_gt:g}", _gt(m.sharpe_30d, s.exit_sharpe_30d_gt)))
    if s.exit_mdd_lt is not None:
        mdd = m.mdd_30d if s.stage == 0 else m.running_mdd
        exits.append((f"{'30D' if s.stage == 0 else 'running'} MDD < {s.exit_mdd_lt:.0%}", _lt(mdd, s.exit_mdd_lt)))
    if s.exit_slippage_ratio_le is not None:
        exits.append((f"slippage <= {s.exit_slippage_ratio_le:g}x assumed",
                      m.slippage_ratio is not None and m.slippage_ratio <= s.exit_slippage_ratio_le))
    if s.exit_all_sleeves_positive_14d:
        exits.append(("every sleeve positive over 14 days",
                      bool(m.sleeve_14d) and all(v > 0 for v in m.sleeve_14d.values())))
    if s.exit_signal_consistency_gt is not None:
        exits.append((f"signal consistency > {s.exit_signal_consistency_gt:.0%}",
                      _gt(signal_consistency, s.exit_signal_consistency_gt)))
    if s.exit_no_flatten_events:
        exits.append(("no FLATTEN events in 30 days", m.flatten_events_30d == 0))
    aborts: list[str] = []
    if _gt(m.running_mdd, s.abort_mdd_gt if s.abort_mdd_gt is not None else math.inf):
        aborts.append(f"running MDD {m.running_mdd:.2%} > {s.abort_mdd_gt:.0%}")
    if s.abort_sharpe_14d_lt is not None and _lt(m.sharpe_14d, s.abort_sharpe_14d_lt):
        aborts.append(f"14D Sharpe {m.sharpe_14d:.2f} < {s.abort_sharpe_14d_lt:g}")
    if s.abort_api_issues_24h_gt is not None and api_issues_24h > s.abort_api_issues_24h_gt:
        aborts.append(f"{api_issues_24h} API issues in 24 h > {s.abort_api_issues_24h_gt}")
    if s.abort_sleeve_14d_lt is not None and _lt(m.worst_sleeve_14d, s.abort_sleeve_14d_lt):
        aborts.append(f"a sleeve's 14D contribution {m.worst_sleeve_14d:.2%} < {s.abort_sleeve_14d_lt:.0%}")
    return {"stage": s.stage, "exit_met": all(ok for _, ok in exits), "exit_criteria": [
        {"criterion": c, "met": ok} for c, ok in exits], "abort": bool(aborts), "abort_triggers": aborts}
