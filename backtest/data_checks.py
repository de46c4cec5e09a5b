"""Data freshness and gap checks of docs/Production_Launch_SOP.md: the last bar is less than
2 h old and there is no gap over 3 h in the last 30 days. Used by download_data.py and prod_launch_guard.py."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DataCheck", "check_klines"]

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class DataCheck:
    symbol: str
    last_open_ms: int | None
    age_hours: float | None
    max_gap_hours: float  # the longest time without a bar between two consecutive bars in the window, hours
    fresh: bool
    no_gaps: bool
    detail: str

    @property
    def ok(self) -> bool:
        return self.fresh and self.no_gaps

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"ok": self.ok}


def check_klines(symbol: str, open_time_ms: np.ndarray, interval_ms: int, now_ms: int, *, max_age_h: float = 2.0,
                 max_gap_h: float = 3.0, window_days: int = 30) -> DataCheck:
    """Freshness: now - the last bar's open time < `max_age_h` hours. Gaps: within the last `window_days`, the
    missing time between consecutive bars (open-time step minus the interval) is at most `max_gap_h` hours."""
    t = np.asarray(open_time_ms, dtype=np.int64)
    if len(t) == 0:
        return DataCheck(symbol, None, None, float("inf"), False, False, f"{symbol}: no bars")
    age = (now_ms - int(t[-1])) / HOUR_MS
    i0 = max(0, int(np.searchsorted(t, now_ms - window_days * 86_400_000)) - 1)  # the bar before the window too
    steps = np.diff(t[i0:])
    max_gap = float(steps.max() - interval_ms) / HOUR_MS if len(steps) else 0.0  # missing time between bars
    fresh, no_gaps = age < max_age_h, max_gap <= max_gap_h
    parts = [f"{symbol}: last bar {age:.1f} h old" + ("" if fresh else f" (must be < {max_age_h:g} h)"),
             f"longest gap in {window_days} d {max_gap:.1f} h" + ("" if no_gaps else f" (must be <= {max_gap_h:g} h)")]
    return DataCheck(symbol, int(t[-1]), age, max_gap, fresh, no_gaps, ", ".join(parts))
