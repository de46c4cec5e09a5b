"""Bars and funding for backtests from a data directory (the ../shared/data layout, `marketdata`)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from marketdata import Funding, Klines, MarketDataError, load_dataset

__all__ = ["parse_date", "load_bars", "funding_per_bar", "slice_dates"]


def parse_date(text: str | None) -> int | None:
    """'2023-12-01' or '2023-12-01T08:00' (UTC) -> epoch ms; None passes through."""
    if text is None or text == "":
        return None
    try:
        d = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"bad date {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return int(d.timestamp() * 1000)


def slice_dates(k: Klines, start_ms: int | None, end_ms: int | None) -> Klines:
    """Bars opening in [start, end) (end exclusive: `--end 2024-01-01` stops at 2023-12-31 23:00)."""
    lo = 0 if start_ms is None else int(np.searchsorted(k.open_time_ms, start_ms, side="left"))
    hi = len(k) if end_ms is None else int(np.searchsorted(k.open_time_ms, end_ms, side="left"))
    return k.slice(lo, hi)


def funding_per_bar(k: Klines, funding: Funding | None) -> np.ndarray:
    """The funding rate settled at each bar's open time (0 where the open time is not a funding time)."""
    rate = np.zeros(len(k))
    if funding is None or len(funding) == 0 or len(k) == 0:
        return rate
    idx = np.searchsorted(k.open_time_ms, funding.funding_time_ms)
    ok = idx < len(k)
    ok[ok] = k.open_time_ms[idx[ok]] == funding.funding_time_ms[ok]
    rate[idx[ok]] = funding.funding_rate[ok]
    return rate


def load_bars(data_dir: str | Path, symbols: list[str], interval: str, start: str | None = None,
              end: str | None = None) -> dict[str, tuple[Klines, Funding | None]]:
    """Klines (sliced to [start, end)) and funding for each symbol; an empty slice is an error."""
    if not Path(data_dir).is_dir():
        raise MarketDataError(f"data directory {data_dir} does not exist")
    start_ms, end_ms = parse_date(start), parse_date(end)
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise ValueError(f"--end {end} is not after --start {start}")
    out: dict[str, tuple[Klines, Funding | None]] = {}
    for sym, (k, f) in load_dataset(data_dir, symbols, interval).items():
        ks = slice_dates(k, start_ms, end_ms)
        if len(ks) == 0:
            raise MarketDataError(f"{sym} {interval}: no bars between {start or 'the start'} and {end or 'the end'} "
                                  f"(file covers {k!r})")
        out[sym] = (ks, f)
    return out


