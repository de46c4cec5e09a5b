"""NAV metrics of the risk rules: latest NAV, drawdown over a window, day-start NAV and today's loss.

Exact Decimal comparisons (`at_or_above`): a boundary such as "DD exactly 10 %" lands on the side the rule
says (docs/RISK.md "Numbers").
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.numbers import ZERO, to_decimal
from core.portfolio import NavPoint, is_finite_positive
from core.timeframes import DAY_MS

__all__ = [
    "Drawdown", "latest_nav", "drawdown", "day_start_nav", "daily_loss_pct", "at_or_above",
    "dd_at_or_above", "daily_loss_at_or_above",
]


@dataclass(frozen=True, slots=True)
class Drawdown:
    """Peak-to-latest drawdown over a NAV window; unpacks as (peak, latest, dd)."""

    peak_nav_usd: Decimal
    latest_nav_usd: Decimal
    current_dd_pct: Decimal
    points: int = 0
    latest_ts_ms: int = 0

    def __iter__(self) -> Iterator[Decimal]:
        return iter((self.peak_nav_usd, self.latest_nav_usd, self.current_dd_pct))



def _valid_points(nav_history: Iterable[NavPoint]) -> list[NavPoint]:
    # A non-finite NAV is a broken sample, not a value: it must not become the peak or the latest.
    return [p for p in nav_history if p.nav_usd.is_finite()]


def latest_nav(nav_history: Iterable[NavPoint]) -> NavPoint | None:
    """The most recent point with a finite NAV (by timestamp), or None."""
    pts = _valid_points(nav_history)
    return max(pts, key=lambda p: p.ts_ms) if pts else None


def drawdown(
    nav_history: Iterable[NavPoint], window: int | None = None, hwm_nav_usd: Decimal | None = None
) -> Drawdown | None:
    """Peak over the window (last `window` finite points), latest NAV, `(peak - latest) / peak`.

    None when there is no finite point or the peak is not positive (nothing meaningful to measure from).
    The DD is never negative: the latest point is inside the window, so peak >= latest.
    """
    pts = sorted(_valid_points(nav_history), key=lambda p: p.ts_ms)
    if window is not None and window > 0:
        pts = pts[-window:]
    if not pts:
        return None
    peak = max(p.nav_usd for p in pts)
    if hwm_nav_usd is not None and hwm_nav_usd.is_finite() and hwm_nav_usd > peak:
        peak = hwm_nav_usd
    if peak <= 0:
        return None
    last = pts[-1]
    return Drawdown(peak, last.nav_usd, (peak - last.nav_usd) / peak, len(pts), last.ts_ms)


def day_start_nav(nav_history: Iterable[NavPoint], now_ms: int) -> Decimal | None:
    """NAV at the start of the UTC day of `now_ms`: the last point at or before 00:00 UTC if the history
    reaches back that far, else the first point of the day. None if neither exists."""
    midnight = now_ms - (now_ms % DAY_MS)
    before = None
    after = None
    for p in sorted(_valid_points(nav_history), key=lambda p: p.ts_ms):
        if p.ts_ms <= midnight:
            before = p
        elif p.ts_ms <= now_ms and after is None:
            after = p
    chosen = before or after
    return chosen.nav_usd if chosen else None


def daily_loss_pct(day_start_usd: Decimal | None, latest_usd: Decimal | None) -> Decimal | None:
    """Today's loss as a fraction of day-start NAV (0 when NAV is up); None when not measurable."""
    if not is_finite_positive(day_start_usd) or latest_usd is None or not latest_usd.is_finite():
        return None
    return max(ZERO, (day_start_usd - latest_usd) / day_start_usd)  # type: ignore[operator]


def at_or_above(amount: Decimal, fraction: Any, base: Decimal) -> bool:
    """Exact `amount / base >= fraction` for base > 0, without dividing."""
    return amount >= to_decimal(fraction) * base


def dd_at_or_above(dd: Drawdown | None, threshold: Any) -> bool:
    """`current_dd_pct >= threshold`, decided exactly as `peak - latest >= threshold x peak`."""
    return dd is not None and at_or_above(dd.peak_nav_usd - dd.latest_nav_usd, threshold, dd.peak_nav_usd)


def daily_loss_at_or_above(day_start_usd: Decimal | None, latest_usd: Decimal | None, threshold: Any) -> bool:
    """`daily_loss_pct >= threshold`, decided exactly as `day_start - latest >= threshold x day_start`."""
    if daily_loss_pct(day_start_usd, latest_usd) is None:
        return False
    return at_or_above(day_start_usd - latest_usd, threshold, day_start_usd)  # type: ignore[operator,arg-type]  # both known non-None above
