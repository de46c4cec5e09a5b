"""Bar intervals: the one table of kline intervals in milliseconds. Pure (no I/O), so every package may import it.

`INTERVAL_MS` lists the Binance kline intervals Hedge supports (the `settings.models.Timeframe` values), in
Binance's order. `marketdata`, the strategies and the decision cycle all read this table; nothing else
should spell it out again.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["MINUTE_MS", "HOUR_MS", "DAY_MS", "INTERVAL_MS", "interval_ms"]

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS

#: Binance kline interval -> milliseconds (read-only).
INTERVAL_MS: Mapping[str, int] = MappingProxyType({
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
})


def interval_ms(interval: str) -> int:
    """Milliseconds per bar of `interval` ('1h' -> 3_600_000); ValueError for an unknown interval."""
    try:
        return INTERVAL_MS[interval]
    except (KeyError, TypeError):
        raise ValueError(f"unknown interval {interval!r}; known: {', '.join(INTERVAL_MS)}") from None
