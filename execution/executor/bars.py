"""Closed klines -> the executor's new bars: never a bar twice, non-finite bars dropped, gaps named.

docs/Runbook.md "Bad input". Binance has no rows for a period without bars (an outage, a halted symbol), so a
gap shows up as a first bar that opens more than one interval after the last one. Nothing is filled in: the
indicators fold the bars that exist, and `core.cycle` decides the first bar after a gap as `kline_gap` (never
an entry). This module only names the gap in the log, with the missing open times.
"""
from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from core.bars import Bar

log = logging.getLogger("hedge.executor")

KLINE_POLL_LIMIT = 99  # < 100 bars costs weight 1 per request


def finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def finite_kline(k: Any) -> bool:
    return all(finite(getattr(k, f)) and float(getattr(k, f)) > 0 for f in ("open", "high", "low", "close"))


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def log_gaps(symbol: str, opens: list[int], bar_ms: int, *, live: bool = True) -> int:
    """`[executor] KLINE_GAP` for each hole in `opens` (open times, oldest first; the first may be the last bar
    already folded); `live` = new bars (the bar after the hole gets no entry), else the warm-up history."""
    holes = 0
    for a, b in zip(opens, opens[1:]):
        if b - a <= bar_ms:
            continue
        holes += 1
        first, last = a + bar_ms, b - bar_ms
        then = f"the bar at {b} ({_utc(b)} UTC) is decided without an entry" if live else "in the warm-up history"
        log.warning("[executor] KLINE_GAP %s %d bar(s) missing, open %d..%d (%s..%s UTC): %s", symbol,
                    (b - a) // bar_ms - 1, first, last, _utc(first), _utc(last), then)
    return holes


def new_closed_bars(symbol: str, rows: list[Any], last_ms: int | None, now_ms: int, bar_ms: int
                    ) -> list[tuple[int, Bar]]:
    """The closed bars of `rows` newer than `last_ms` (open time of the symbol's last folded bar)."""
    got = []
    for k in rows:
        if k.close_time_ms >= now_ms or (last_ms is not None and k.open_time_ms <= last_ms):
            continue
        if not finite_kline(k):
            log.warning("[executor] BAD_BAR %s %d has a non-finite price: skipped (a gap in the series)",
                        symbol, k.open_time_ms)
            continue
        got.append((k.open_time_ms, Bar(float(k.open), float(k.high), float(k.low), float(k.close))))
    if len(got) > 1 and last_ms is not None:
        log.info("[executor] CATCH_UP %s %d bars since %d (gap or slow loop)", symbol, len(got), last_ms)
    if got:
        log_gaps(symbol, ([last_ms] if last_ms is not None else []) + [t for t, _ in got], bar_ms)
    return got
