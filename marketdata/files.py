"""Kline and funding files in the `../shared/data` layout: load, validate, write, resample.

Formats (see ../shared/data/SOURCES.md):
    klines/<SYMBOL>-<interval>.csv.gz   open_time_ms,open,high,low,close,volume   (gzip CSV)
    funding/<SYMBOL>-funding.csv        funding_time_ms,funding_rate              (plain CSV)

Floats are written with Python's shortest round-trip `repr`, so write -> load is bit-exact and
re-writing a real file reproduces it byte for byte. Every problem found while loading raises
`MarketDataError` naming the file and the line (header = line 1), because a silently skipped bad
row in a backtest is far more expensive than a loud failure.
"""
from __future__ import annotations

import builtins
import datetime as dt
import gzip
import os
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, DTypeLike

from core.timeframes import INTERVAL_MS
from execution.state_store import atomic_write_bytes

__all__ = [
    "INTERVAL_MS",
    "KLINE_COLUMNS",
    "FUNDING_COLUMNS",
    "MarketDataError",
    "Klines",
    "Funding",
    "load_klines",
    "load_funding",
    "load_dataset",
    "write_klines",
    "write_funding",
    "validate_klines",
    "validate_funding",
    "resample",
    "find_shared_data",
    "klines_path",
    "funding_path",
]

# the one table of kline intervals lives in the pure core; re-exported here for data-file users

KLINE_COLUMNS: tuple[str, ...] = ("open_time_ms", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS: tuple[str, ...] = ("funding_time_ms", "funding_rate")

_SYMBOL_RE = r"[A-Z0-9]{2,40}"
_KLINE_NAME_RE = re.compile(rf"^(?P<symbol>{_SYMBOL_RE})-(?P<interval>[0-9]+[mhd])\.csv(?:\.gz)?$")
_FUNDING_NAME_RE = re.compile(rf"^(?P<symbol>{_SYMBOL_RE})-funding\.csv(?:\.gz)?$")


class MarketDataError(ValueError):
    """A market-data file or array is malformed (message names the file and line)."""


# --------------------------------------------------------------------------- records


def _frozen_array(values: ArrayLike, dtype: DTypeLike) -> np.ndarray:
    """1-D read-only view, so a frozen record cannot be changed through its arrays."""
    arr = np.asarray(values, dtype=dtype)
    if arr.ndim != 1:
        raise MarketDataError(f"expected a 1-D array, got shape {arr.shape}")
    view = arr.view()
    view.flags.writeable = False
    return view


def _fmt_ms(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, eq=False)
class Klines:
    """OHLCV bars of one symbol and interval as column arrays (open time = Binance kline field 0).

    Construction only checks structure (dtypes, equal lengths, known interval) so slicing stays
    cheap; `validate_klines` checks the content and is run by every loader and writer.
    """

    symbol: str
    interval: str
    open_time_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __post_init__(self) -> None:
        if self.interval not in INTERVAL_MS:
            raise MarketDataError(f"unknown interval {self.interval!r}; known: {', '.join(INTERVAL_MS)}")
        if not isinstance(self.symbol, str) or not self.symbol:
            raise MarketDataError(f"symbol must be a non-empty str, got {self.symbol!r}")
        object.__setattr__(self, "open_time_ms", _frozen_array(self.open_time_ms, np.int64))
        for name in KLINE_COLUMNS[1:]:
            object.__setattr__(self, name, _frozen_array(getattr(self, name), np.float64))
        n = len(self.open_time_ms)
        bad = [name for name in KLINE_COLUMNS if len(getattr(self, name)) != n]
        if bad:
            raise MarketDataError(f"{self.symbol} {self.interval}: columns {bad} differ in length "
                                  f"from open_time_ms ({n})")

    def __len__(self) -> int:
        return len(self.open_time_ms)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Klines):
            return NotImplemented
        return (
            self.symbol == other.symbol
            and self.interval == other.interval
            and all(np.array_equal(getattr(self, c), getattr(other, c)) for c in KLINE_COLUMNS)
        )

    __hash__ = None  # type: ignore[assignment]  # unhashable (arrays); typeshed types __hash__ as a method

    def __repr__(self) -> str:
        if len(self) == 0:
            return f"Klines({self.symbol} {self.interval}, 0 bars)"
        first, last = int(self.open_time_ms[0]), int(self.open_time_ms[-1])
        return f"Klines({self.symbol} {self.interval}, {len(self)} bars, {_fmt_ms(first)} .. {_fmt_ms(last)} UTC)"

    @property
    def interval_ms(self) -> int:
        return INTERVAL_MS[self.interval]

    def slice(self, start: int | None = None, stop: int | None = None) -> Klines:
        """Bars `start:stop` by position (Python slice semantics); arrays are views, no copy."""
        s = builtins.slice(start, stop)
        return Klines(
            self.symbol,
            self.interval,
            *(getattr(self, c)[s] for c in KLINE_COLUMNS),
        )

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame with the file's column names (a copy; safe to modify)."""
        return pd.DataFrame({c: np.array(getattr(self, c)) for c in KLINE_COLUMNS})


@dataclass(frozen=True, eq=False)
class Funding:
    """Funding events of one symbol: settlement time (epoch ms UTC) and rate (fraction, 0.0001 = 0.01 %)."""

    symbol: str
    funding_time_ms: np.ndarray
    funding_rate: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise MarketDataError(f"symbol must be a non-empty str, got {self.symbol!r}")
        object.__setattr__(self, "funding_time_ms", _frozen_array(self.funding_time_ms, np.int64))
        object.__setattr__(self, "funding_rate", _frozen_array(self.funding_rate, np.float64))
        if len(self.funding_time_ms) != len(self.funding_rate):
            raise MarketDataError(
                f"{self.symbol} funding: {len(self.funding_time_ms)} times but {len(self.funding_rate)} rates"
            )

    def __len__(self) -> int:
        return len(self.funding_time_ms)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Funding):
            return NotImplemented
        return (
            self.symbol == other.symbol
            and np.array_equal(self.funding_time_ms, other.funding_time_ms)
            and np.array_equal(self.funding_rate, other.funding_rate)
        )

    __hash__ = None  # type: ignore[assignment]  # unhashable (arrays); typeshed types __hash__ as a method

    def __repr__(self) -> str:
        if len(self) == 0:
            return f"Funding({self.symbol}, 0 events)"
        first, last = int(self.funding_time_ms[0]), int(self.funding_time_ms[-1])
        return f"Funding({self.symbol}, {len(self)} events, {_fmt_ms(first)} .. {_fmt_ms(last)} UTC)"

    def rate_at(self, ts_ms: int) -> float | None:
        """The last funding rate settled at or before `ts_ms`, or None before the first event."""
        i = int(np.searchsorted(self.funding_time_ms, ts_ms, side="right")) - 1
        return None if i < 0 else float(self.funding_rate[i])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({c: np.array(getattr(self, c)) for c in FUNDING_COLUMNS})


# --------------------------------------------------------------------------- validation


def _fail(source: str, row: int | None, what: str) -> MarketDataError:
    """Row is the 0-based data row; reported as the file line (header is line 1)."""
    where = f"{source}: line {row + 2}" if row is not None else source
    return MarketDataError(f"{where}: {what}")


def _first(mask: np.ndarray) -> int | None:
    idx = np.flatnonzero(mask)
    return int(idx[0]) if idx.size else None


def _check_times(source: str, times: np.ndarray, label: str) -> None:
    if len(times) < 2:
        return
    step = np.diff(times)
    i = _first(step <= 0)
    if i is not None:
        kind = "duplicate" if step[i] == 0 else "decreasing"
        raise _fail(source, i + 1, f"{kind} {label} {int(times[i + 1])} (previous row has {int(times[i])})")


def validate_klines(k: Klines, source: str | None = None) -> None:
    """Raise MarketDataError at the first bad row: non-finite, non-increasing or misaligned times,
    non-positive prices, negative volume, or OHLC that cannot be a real candle."""
    src = source or f"<{k.symbol}-{k.interval}>"
    if len(k) == 0:
        raise _fail(src, None, "no rows")
    t = k.open_time_ms
    _check_times(src, t, "open_time_ms")
    i = _first(t % k.interval_ms != 0)
    if i is not None:
        raise _fail(src, i, f"open_time_ms {int(t[i])} is not aligned to the {k.interval} interval")
    for name in KLINE_COLUMNS[1:]:
        col = getattr(k, name)
        i = _first(~np.isfinite(col))
        if i is not None:
            raise _fail(src, i, f"{name} is {float(col[i])!r} (open_time_ms={int(t[i])})")
    for name in ("open", "high", "low", "close"):
        col = getattr(k, name)
        i = _first(col <= 0)
        if i is not None:
            raise _fail(src, i, f"{name} {float(col[i])!r} is not positive (open_time_ms={int(t[i])})")
    i = _first(k.volume < 0)
    if i is not None:
        raise _fail(src, i, f"volume {float(k.volume[i])!r} is negative (open_time_ms={int(t[i])})")
    o, h, lo, c = k.open, k.high, k.low, k.close
    checks = (
        (h < lo, lambda j: f"high {float(h[j])!r} < low {float(lo[j])!r}"),
        (h < np.maximum(o, c), lambda j: f"high {float(h[j])!r} < max(open {float(o[j])!r}, close {float(c[j])!r})"),
        (lo > np.minimum(o, c), lambda j: f"low {float(lo[j])!r} > min(open {float(o[j])!r}, close {float(c[j])!r})"),
    )
    for mask, message in checks:
        i = _first(mask)
        if i is not None:
            raise _fail(src, i, f"{message(i)} (open_time_ms={int(t[i])})")


def validate_funding(f: Funding, source: str | None = None) -> None:
    """Raise MarketDataError for no rows, non-increasing times or non-finite rates.

    The 8-hour grid is *not* enforced: Binance moves some symbols to 4 h or 1 h funding.
    """
    src = source or f"<{f.symbol}-funding>"
    if len(f) == 0:
        raise _fail(src, None, "no rows")
    _check_times(src, f.funding_time_ms, "funding_time_ms")
    i = _first(~np.isfinite(f.funding_rate))
    if i is not None:
        raise _fail(src, i, f"funding_rate is {float(f.funding_rate[i])!r} "
                            f"(funding_time_ms={int(f.funding_time_ms[i])})")


# --------------------------------------------------------------------------- reading


def _parse_name(path: Path, pattern: re.Pattern[str], expected: str) -> re.Match[str]:
    m = pattern.match(path.name)
    if m is None:
        raise MarketDataError(f"{path}: file name does not match {expected}")
    return m


def _read_header(path: Path) -> str:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        return fh.readline().rstrip("\r\n").lstrip("\ufeff")


def _locate_bad_cell(path: Path, columns: tuple[str, ...]) -> MarketDataError | None:
    """Slow path after the fast parser failed: find the first cell that is not a number."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (ValueError, pd.errors.ParserError):
        return None
    bad: tuple[int, str] | None = None          # (first bad row, what is wrong there)
    for j, name in enumerate(columns):
        text = raw[name].astype(str).str.strip()
        num = pd.to_numeric(text, errors="coerce")
        mask = num.isna().to_numpy()
        if j == 0:  # times must be integers
            mask = mask | ~text.str.fullmatch(r"[+-]?\d+").to_numpy(dtype=bool)
        i = _first(mask)
        if i is not None and (bad is None or i < bad[0]):
            bad = i, f"{name} {text.iloc[i]!r} is not {'an integer' if j == 0 else 'a number'}"
    return _fail(str(path), *bad) if bad is not None else None


def _read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Parse a CSV (plain or gzip) with a fixed header into typed columns, or raise MarketDataError."""
    src = str(path)
    try:
        header = _read_header(path)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise MarketDataError(f"{src}: cannot read ({type(exc).__name__}: {exc})") from exc
    if header == "":
        raise MarketDataError(f"{src}: empty file (expected header {','.join(columns)})")
    if header != ",".join(columns):
        raise MarketDataError(f"{src}: line 1: header is {header!r}, expected {','.join(columns)!r}")
    dtypes = {c: (np.int64 if i == 0 else np.float64) for i, c in enumerate(columns)}
    try:
        df = pd.read_csv(path, dtype=dtypes, skip_blank_lines=False, engine="c")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise MarketDataError(f"{src}: cannot read ({type(exc).__name__}: {exc})") from exc
    except pd.errors.EmptyDataError as exc:
        raise MarketDataError(f"{src}: empty file") from exc
    except pd.errors.ParserError as exc:
        raise MarketDataError(f"{src}: malformed CSV ({str(exc).strip()})") from exc
    except (ValueError, TypeError, OverflowError) as exc:
        located = _locate_bad_cell(path, columns)
        raise located or MarketDataError(f"{src}: cannot parse ({exc})") from exc
    if len(df) == 0:
        raise MarketDataError(f"{src}: header but no rows")
    return df


def load_klines(path: str | os.PathLike[str]) -> Klines:
    """Load `<SYMBOL>-<interval>.csv.gz` (or `.csv`); symbol and interval come from the file name."""
    path = Path(path)
    m = _parse_name(path, _KLINE_NAME_RE, "<SYMBOL>-<interval>.csv.gz")
    if m["interval"] not in INTERVAL_MS:
        raise MarketDataError(f"{path}: unknown interval {m['interval']!r} in file name")
    df = _read_table(path, KLINE_COLUMNS)
    k = Klines(m["symbol"], m["interval"], *(df[c].to_numpy() for c in KLINE_COLUMNS))
    validate_klines(k, str(path))
    return k


def load_funding(path: str | os.PathLike[str]) -> Funding:
    """Load `<SYMBOL>-funding.csv`; the symbol comes from the file name."""
    path = Path(path)
    m = _parse_name(path, _FUNDING_NAME_RE, "<SYMBOL>-funding.csv")
    df = _read_table(path, FUNDING_COLUMNS)
    f = Funding(m["symbol"], df["funding_time_ms"].to_numpy(), df["funding_rate"].to_numpy())
    validate_funding(f, str(path))
    return f


def klines_path(data_dir: str | os.PathLike[str], symbol: str, interval: str) -> Path:
    """Where a kline file lives in a data directory (the `.csv.gz` name, which writers produce)."""
    return Path(data_dir) / "klines" / f"{symbol}-{interval}.csv.gz"


def funding_path(data_dir: str | os.PathLike[str], symbol: str) -> Path:
    return Path(data_dir) / "funding" / f"{symbol}-funding.csv"


def _existing(path: Path) -> Path | None:
    """`path` or its uncompressed/compressed twin, whichever exists (gzip preferred)."""
    twin = path.with_name(path.name[:-3]) if path.name.endswith(".gz") else path.with_name(path.name + ".gz")
    for p in sorted((path, twin), key=lambda p: not p.name.endswith(".gz")):
        if p.is_file():
            return p
    return None


def load_dataset(
    data_dir: str | os.PathLike[str],
    symbols: Iterable[str] | None = None,
    interval: str = "1h",
) -> dict[str, tuple[Klines, Funding | None]]:
    """Load klines (and funding when present) for `symbols`, or for every symbol that has
    `<interval>` klines when `symbols` is None (sorted by name).

    A symbol asked for by name without a kline file is an error; a missing funding file is not.
    """
    data_dir = Path(data_dir)
    if interval not in INTERVAL_MS:
        raise MarketDataError(f"unknown interval {interval!r}")
    kdir = data_dir / "klines"
    if not kdir.is_dir():
        raise MarketDataError(f"{data_dir}: no klines/ directory")
    if symbols is None:
        found = set()
        for p in kdir.iterdir():
            m = _KLINE_NAME_RE.match(p.name)
            if m and m["interval"] == interval:
                found.add(m["symbol"])
        names = sorted(found)
    else:
        names = list(dict.fromkeys(symbols))
    out: dict[str, tuple[Klines, Funding | None]] = {}
    for sym in names:
        kp = _existing(klines_path(data_dir, sym, interval))
        if kp is None:
            raise MarketDataError(f"{kdir}: no {sym}-{interval}.csv.gz")
        fp = _existing(funding_path(data_dir, sym))
        out[sym] = (load_klines(kp), load_funding(fp) if fp else None)
    return out


def find_shared_data() -> Path | None:
    """The real-data directory: $HEDGE_SHARED_DATA, else `<repo>/../shared/data`; None unless it has klines/."""
    env = os.environ.get("HEDGE_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for c in candidates:
        if (c / "klines").is_dir():
            return c
    return None


# --------------------------------------------------------------------------- writing


def _csv_bytes(columns: tuple[str, ...], arrays: list[np.ndarray]) -> bytes:
    """Header + one line per row; ints as ints, floats with repr (shortest exact round trip)."""
    rows = zip(*(a.tolist() for a in arrays))
    template = ",".join(["{}"] + ["{!r}"] * (len(columns) - 1))
    body = "\n".join(template.format(*r) for r in rows)
    return (",".join(columns) + "\n" + body + "\n").encode("ascii")


def _check_symbol(symbol: str) -> None:
    if not re.fullmatch(_SYMBOL_RE, symbol):
        raise MarketDataError(f"symbol {symbol!r} cannot be used in a file name (want {_SYMBOL_RE})")


def write_klines(klines: Klines, data_dir: str | os.PathLike[str]) -> Path:
    """Write `data_dir/klines/<SYMBOL>-<interval>.csv.gz` atomically; refuses data it could not load back."""
    _check_symbol(klines.symbol)
    path = klines_path(data_dir, klines.symbol, klines.interval)
    validate_klines(klines, str(path))
    raw = _csv_bytes(KLINE_COLUMNS, [getattr(klines, c) for c in KLINE_COLUMNS])
    # mtime=0 and no embedded name: identical data gives identical bytes.
    atomic_write_bytes(path, gzip.compress(raw, compresslevel=6, mtime=0))
    return path


def write_funding(funding: Funding, data_dir: str | os.PathLike[str]) -> Path:
    """Write `data_dir/funding/<SYMBOL>-funding.csv` atomically."""
    _check_symbol(funding.symbol)
    path = funding_path(data_dir, funding.symbol)
    validate_funding(funding, str(path))
    atomic_write_bytes(path, _csv_bytes(FUNDING_COLUMNS, [funding.funding_time_ms, funding.funding_rate]))
    return path


# --------------------------------------------------------------------------- resampling


def resample(klines: Klines, interval: str) -> Klines:
    """Aggregate to a coarser interval: first open, max high, min low, last close, summed volume.

    Buckets are aligned to the epoch (= UTC midnight for every interval here, as on Binance); a bucket
    missing any source bar (series edges, gaps) is dropped rather than emitted as a partial candle.
    """
    if interval not in INTERVAL_MS:
        raise MarketDataError(f"unknown interval {interval!r}")
    src_ms, dst_ms = klines.interval_ms, INTERVAL_MS[interval]
    if dst_ms == src_ms:
        return klines
    if dst_ms < src_ms or dst_ms % src_ms:
        raise MarketDataError(f"cannot resample {klines.interval} to {interval}: not a whole multiple")
    per_bucket = dst_ms // src_ms
    empty = Klines(klines.symbol, interval, *([np.empty(0)] * 6))
    if len(klines) == 0:
        return empty
    bucket = klines.open_time_ms // dst_ms * dst_ms
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    counts = np.diff(np.r_[starts, len(bucket)])
    ends = starts + counts - 1
    keep = counts == per_bucket  # times are strictly increasing and aligned, so this means "complete"
    if not keep.any():
        return empty
    return Klines(
        klines.symbol,
        interval,
        bucket[starts][keep],
        klines.open[starts][keep],
        np.maximum.reduceat(klines.high, starts)[keep],
        np.minimum.reduceat(klines.low, starts)[keep],
        klines.close[ends][keep],
        np.add.reduceat(klines.volume, starts)[keep],
    )
