"""The market clock and the replayed price path.

Two clocks exist in the venue. Wall time (what clients sign with, what /fapi/v1/time returns) is the
machine's clock. Market time (what every market-data payload is stamped with) starts at --start and runs
at --speed x wall time, or is paused / stepped through the admin API. This module owns market time and
the price at any market time; the engine asks it for prices, ranges and first-crossing times.

Price path inside a bar is deterministic and continuous: O -> L -> H -> C when close >= open, else
O -> H -> L -> C, vertices at 0, 1/3, 2/3 and the end of the bar, linear in between. Between bars the
price jumps from C to the next bar's O (the data's real gap, usually zero).
"""
from __future__ import annotations

import dataclasses
import gzip
import math
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.timeframes import DAY_MS
from core.timeframes import INTERVAL_MS as CORE_INTERVAL_MS

# Hedge's interval table plus the two longer intervals Binance serves and Hedge never trades on.
INTERVAL_MS = {**CORE_INTERVAL_MS, "3d": 3 * DAY_MS, "1w": 7 * DAY_MS}
FUNDING_INTERVAL_MS = 8 * 3_600_000
DEFAULT_FUNDING_RATE = 0.0001          # Binance's baseline 0.01 % when a symbol has no funding data

if TYPE_CHECKING:
    from marketdata.files import Funding, Klines

_Kline = tuple[int, float, float, float, float, float]      # (open time, o, h, l, c, volume)
# a piece of the path clipped to a window, with the whole segment it was cut from:
# (lo, p_lo, hi, p_hi, ta, pa, tb, pb) - see Series._pieces
_Piece = tuple[float, float, float, float, float, float, float, float]


class MarketClock:
    """Market time = anchor + (monotonic wall elapsed) x speed, unless paused. Every change re-anchors,
    so speed changes and steps never make market time jump backwards. Used from one event loop only."""

    def __init__(self, start_ms: int, speed: float = 1.0, paused: bool = False):
        self.restart(start_ms, speed, paused)

    def restart(self, start_ms: int, speed: float, paused: bool) -> None:
        """Start over at `start_ms` (/_venue/reset): the one clock object the market and routes share."""
        self._anchor_market = int(start_ms)
        self._anchor_mono = time.monotonic()
        self.speed = float(speed)
        self.paused = paused

    @staticmethod
    def wall_ms() -> int:
        return int(time.time() * 1000)

    def now_ms(self) -> int:
        if self.paused:
            return self._anchor_market
        return self._anchor_market + int((time.monotonic() - self._anchor_mono) * 1000 * self.speed)

    def _rebase(self) -> None:
        self._anchor_market = self.now_ms()
        self._anchor_mono = time.monotonic()

    def pause(self) -> None:
        self._rebase()
        self.paused = True

    def resume(self) -> None:
        self._rebase()
        self.paused = False

    def set_speed(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._rebase()
        self.speed = float(speed)

    def step(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("the market clock never goes backwards")
        self._rebase()
        self._anchor_market += int(ms)

    def set_time(self, ms: int) -> None:
        now = self.now_ms()
        if ms < now:
            raise ValueError("the market clock never goes backwards (use /_venue/reset)")
        self.step(ms - now)

    def state(self) -> dict:
        return {"market_time_ms": self.now_ms(), "wall_ms": self.wall_ms(), "speed": self.speed,
                "paused": self.paused}


class WallClock(MarketClock):
    """`--clock wall`: market time IS the wall clock (speed 1, never paused or stepped); the replayed history
    is re-stamped instead (ShiftedSource), so every time the venue serves is real time."""
    wall = True

    def __init__(self) -> None:
        super().__init__(self.wall_ms(), 1.0, paused=False)

    def now_ms(self) -> int:
        return self.wall_ms()

    def _fixed(self, *_a: object, **_kw: object) -> None:
        raise ValueError("the market clock follows the wall clock (--clock wall): it cannot be paused, "
                         "stepped or sped up")

    pause = resume = set_speed = step = set_time = _fixed


class SeriesSource(Protocol):
    """Where the market's per-symbol history comes from (FileSource, SyntheticSource, ShiftedSource)."""

    def symbols(self) -> list[str]: ...

    def load(self, symbol: str) -> Series: ...


class ShiftedSource:
    """Another source's history moved `shift_ms` later (bars, funding). Whole days keep bars on their
    interval boundaries and funding on 00/08/16 UTC."""

    def __init__(self, source: SeriesSource, shift_ms: int):
        self.source, self.shift_ms = source, shift_ms

    def symbols(self) -> list[str]:
        return self.source.symbols()

    def load(self, symbol: str) -> Series:
        s = self.source.load(symbol)
        return dataclasses.replace(s, t=s.t + self.shift_ms, fund_t=s.fund_t + self.shift_ms)


def wall_shift_ms(start_ms: int, now_ms: int) -> int:
    """Whole days that bring `start_ms` to at most one day before `now_ms` (docs/VENUE.md "Wall-clock
    replay"): the replay then begins at --start plus the time of day elapsed since."""
    return (now_ms - start_ms) // DAY_MS * DAY_MS


@dataclass
class Series:
    """One symbol's bars and funding events, plus path queries. Arrays are numpy; lookups O(log n)."""
    symbol: str
    interval_ms: int
    t: np.ndarray          # int64 open times, strictly increasing
    o: np.ndarray
    h: np.ndarray
    l: np.ndarray  # noqa: E741 - the OHLCV column names, as in the data files (o, h, l, c, v)
    c: np.ndarray
    v: np.ndarray
    fund_t: np.ndarray     # int64 funding times
    fund_r: np.ndarray     # float64 rates

    def __post_init__(self) -> None:
        self._t_list: list[int] = self.t.tolist()      # bisect on a list beats np.searchsorted for scalars
        self._ft_list: list[int] = self.fund_t.tolist()
        self._vcache_i: int = -1
        self._vcache: list[tuple[float, float]] = []

    # -- bars --
    def bar_index(self, ts: int) -> int:
        """Index of the bar containing ts (-1 before the first bar)."""
        return bisect_right(self._t_list, ts) - 1

    def _vertices(self, i: int) -> list[tuple[float, float]]:
        if i == self._vcache_i:        # one-bar cache: successive ticks nearly always hit the same bar
            return self._vcache
        t0 = float(self._t_list[i])
        d = self.interval_ms
        o, hi, lo, c = float(self.o[i]), float(self.h[i]), float(self.l[i]), float(self.c[i])
        a, b = (lo, hi) if c >= o else (hi, lo)
        self._vcache_i = i
        self._vcache = [(t0, o), (t0 + d / 3.0, a), (t0 + 2.0 * d / 3.0, b), (t0 + d, c)]
        return self._vcache

    def _bar_end(self, i: int) -> int:
        return self._t_list[i] + self.interval_ms

    def price_at(self, ts: int) -> float:
        i = self.bar_index(ts)
        if i < 0:
            return float(self.o[0])           # before listing: flat at the first open
        if ts >= self._bar_end(i):
            return float(self.c[i])           # after the data (or in a gap): flat at the last close
        pts = self._vertices(i)
        for (ta, pa), (tb, pb) in zip(pts, pts[1:]):
            if ts < tb:
                return pa + (pb - pa) * (ts - ta) / (tb - ta)
        return pts[-1][1]

    def price_before(self, ts: int) -> float:
        """Left limit of the path at ts (a bar's close at its end boundary, not the next open)."""
        i = self.bar_index(ts - 1)
        if i < 0:
            return float(self.o[0])
        if ts >= self._bar_end(i):
            return float(self.c[i])
        return self.price_at(ts)

    def _segments(self, a: int, b: int) -> Iterator[tuple[float, float, float, float]]:
        """Linear pieces (ta, pa, tb, pb) of the path over [a, b], in time order, bar by bar (only the
        partial first/last bars are expanded; callers use numpy on full bars in between)."""
        for lo, p_lo, hi, p_hi, *_ in self._pieces(a, b):
            yield lo, p_lo, hi, p_hi

    def _pieces(self, a: int, b: int) -> Iterator[_Piece]:
        """As _segments, each piece also carrying the whole (unclipped) segment it was cut from:
        (lo, p_lo, hi, p_hi, ta, pa, tb, pb). Crossing times are computed on the whole segment, so they do
        not depend on where a search window happens to start or end."""
        i = self.bar_index(a)
        if i < 0 or a >= self._bar_end(i):
            p = self.price_at(a)
            nxt = i + 1
            end = self._t_list[nxt] if nxt < len(self._t_list) else b
            yield (a, p, min(b, end), p, a, p, min(b, end), p)
            return
        pts = self._vertices(i)
        for (ta, pa), (tb, pb) in zip(pts, pts[1:]):
            lo, hi = max(ta, a), min(tb, b)
            if lo > hi or (lo == hi and lo != a):
                continue
            p_lo = pa + (pb - pa) * (lo - ta) / (tb - ta)
            p_hi = pa + (pb - pa) * (hi - ta) / (tb - ta) if hi < tb else pb
            yield (lo, p_lo, hi, p_hi, ta, pa, tb, pb)

    def range_between(self, a: int, b: int) -> tuple[float, float]:
        """(low, high) of the path over [a, b]."""
        if b <= a:
            p = self.price_at(a)
            return p, p
        ia, ib = self.bar_index(a), self.bar_index(b)
        if ia == ib and ia >= 0 and b < self._t_list[ia] + self.interval_ms:
            # fast path (every real-time tick lands here): endpoints plus the vertices strictly inside
            pa, pb = self.price_at(a), self.price_at(b)
            lo, hi = (pa, pb) if pa <= pb else (pb, pa)
            for t, p in self._vertices(ia)[1:3]:
                if a < t < b:
                    lo, hi = min(lo, p), max(hi, p)
            return lo, hi
        lo = hi = self.price_at(a)
        if ia == ib:
            for _, p0, _, p1 in self._segments(a, b):
                lo, hi = min(lo, p0, p1), max(hi, p0, p1)
            return lo, hi
        for _, p0, _, p1 in self._segments(a, self._bar_end(ia) if ia >= 0 else self._t_list[0]):
            lo, hi = min(lo, p0, p1), max(hi, p0, p1)
        j0, j1 = ia + 1, ib             # full bars strictly between
        if j1 > j0:
            lo = min(lo, float(self.l[j0:j1].min()))
            hi = max(hi, float(self.h[j0:j1].max()))
        if ib >= 0:
            for _, p0, _, p1 in self._segments(self._t_list[ib], b):
                lo, hi = min(lo, p0, p1), max(hi, p0, p1)
        return lo, hi

    def first_cross(self, a: int, b: int, level: float, below: bool, strict: bool) -> tuple[int, float] | None:
        """First market time in (a, b] where the price is below (or above) `level`, and the price there.
        strict=True means trading through (< / >), False means touching (<= / >=). A gap that jumps
        past the level returns the gap price (what a stop or a resting order would see)."""
        if b <= a:
            return None

        def hit(p: float) -> bool:
            if below:
                return p < level if strict else p <= level
            return p > level if strict else p >= level

        def scan(x: int, y: int) -> tuple[int, float] | None:
            for lo, p_lo, _hi, _p_hi, ta, pa, tb, pb in self._pieces(x, y):
                if hit(p_lo):
                    return (max(int(lo), a + 1) if lo <= a else int(lo)), p_lo
                if pb == pa or not hit(pb):
                    continue                  # the whole (monotone) segment never reaches the level
                # the crossing on the WHOLE segment, in ms from its start: the same answer whatever window
                # the search runs over (a window clipped at b would otherwise move it by float noise)
                base = math.floor(ta)
                off = (ta - base) + (level - pa) / (pb - pa) * (tb - ta)
                # first whole ms at (touch) or after (through) the crossing; 1e-6 absorbs float noise
                tsi = base + (math.floor(off + 1e-6) + 1 if strict else math.ceil(off - 1e-6))
                tsi = min(max(tsi, a + 1, math.ceil(lo)), int(tb))
                return (tsi, level) if tsi <= b else None
            return None

        ia, ib = self.bar_index(a), self.bar_index(b)
        if ia == ib:
            return scan(a, b)
        first_end = self._bar_end(ia) if ia >= 0 else self._t_list[0]
        r = scan(a, min(first_end, b))
        if r:
            return r
        j0, j1 = ia + 1, ib
        if j1 > j0:
            seg = self.l[j0:j1] if below else self.h[j0:j1]
            mask = (seg < level if strict else seg <= level) if below else (seg > level if strict else seg >= level)
            if mask.any():
                j = j0 + int(mask.argmax())
                return scan(self._t_list[j], self._bar_end(j))
        if ib >= 0 and self._t_list[ib] <= b:
            return scan(self._t_list[ib], b)
        return None

    # -- funding --
    def funding_events(self, a: int, b: int) -> list[tuple[int, float]]:
        """Funding settlements in (a, b]: from the data where it has them, else the 00/08/16 UTC grid."""
        if a // FUNDING_INTERVAL_MS == b // FUNDING_INTERVAL_MS:
            i = bisect_right(self._ft_list, a)
            if i >= len(self._ft_list) or self._ft_list[i] > b:
                return []           # the common case: no grid boundary and no data event in between
        out: list[tuple[int, float]] = []
        last_data = self._ft_list[-1] if self._ft_list else None
        if self._ft_list:
            i = bisect_right(self._ft_list, a)
            while i < len(self._ft_list) and self._ft_list[i] <= b:
                out.append((self._ft_list[i], float(self.fund_r[i])))
                i += 1
        start = a if last_data is None else max(a, last_data)
        g = (start // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
        rate = float(self.fund_r[-1]) if self._ft_list else DEFAULT_FUNDING_RATE
        while g <= b:
            out.append((g, rate))
            g += FUNDING_INTERVAL_MS
        return out

    def last_funding(self, ts: int) -> tuple[int, float]:
        i = bisect_right(self._ft_list, ts) - 1
        if i >= 0:
            return self._ft_list[i], float(self.fund_r[i])
        return (ts // FUNDING_INTERVAL_MS) * FUNDING_INTERVAL_MS, DEFAULT_FUNDING_RATE

    def next_funding_time(self, ts: int) -> int:
        i = bisect_right(self._ft_list, ts)
        if i < len(self._ft_list):
            return self._ft_list[i]
        return (ts // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS

    def funding_history(self, start: int | None, end: int, limit: int) -> list[tuple[int, float]]:
        """Settled events with time <= end (never the future), oldest first."""
        hi = bisect_right(self._ft_list, end)
        if start is not None:
            lo = bisect_right(self._ft_list, start - 1)
            idx = range(lo, min(hi, lo + limit))
        else:
            idx = range(max(0, hi - limit), hi)
        return [(self._ft_list[i], float(self.fund_r[i])) for i in idx]

    # -- klines --
    def klines(self, interval_ms: int, start: int | None, end: int | None, limit: int, now: int,
               align_ms: int = 0) -> list[_Kline]:
        """Bars of `interval_ms` whose open time <= now (the current one partial up to now).
        Returns (open_time, o, h, l, c, volume) tuples, oldest first."""
        if len(self._t_list) == 0:
            return []
        hi_t = now if end is None else min(end, now)
        first = self._t_list[0]

        def floor_iv(x: int) -> int:
            return (x - align_ms) // interval_ms * interval_ms + align_ms

        last_open = floor_iv(hi_t)
        if start is not None:
            s0 = max(floor_iv(max(start, first)), floor_iv(first))
            if s0 < start:
                s0 += interval_ms
            opens = list(range(s0, last_open + 1, interval_ms))[:limit]
        else:
            s0 = max(floor_iv(first), last_open - (limit - 1) * interval_ms)
            opens = list(range(s0, last_open + 1, interval_ms))
        if not opens:
            return []
        if interval_ms == self.interval_ms and align_ms == 0:
            return self._base_klines(opens, now)
        return [self._one_kline(t0, now + 1, True) if t0 + interval_ms > now
                else self._one_kline(t0, t0 + interval_ms, False) for t0 in opens]

    def _base_klines(self, opens: list[int], now: int) -> list[_Kline]:
        i0 = bisect_right(self._t_list, opens[0] - 1)
        i1 = bisect_right(self._t_list, opens[-1])
        cols = [a[i0:i1].tolist() for a in (self.t, self.o, self.h, self.l, self.c, self.v)]
        rows = list(zip(*cols))
        if rows and rows[-1][0] + self.interval_ms > now:
            rows[-1] = self._one_kline(rows[-1][0], now + 1, True)
        return rows

    def _one_kline(self, t0: int, t_end: int, partial: bool) -> _Kline:
        """Aggregate the path over [t0, t_end): exact for multiples of the data interval; finer
        intervals are cut from the intrabar path (volume spread evenly over the bar)."""
        op = self.price_at(t0)
        if partial:
            cl = self.price_at(t_end - 1)
            lo, hi = self.range_between(t0, t_end - 1)
        else:
            cl = self.price_before(t_end)
            lo, hi = self.range_between(t0, t_end - 1)
            lo, hi = min(lo, cl), max(hi, cl)
        vol = self._volume_between(t0, t_end)
        return (t0, op, hi, lo, cl, vol)

    def _volume_between(self, a: int, b: int) -> float:
        d = self.interval_ms
        i0 = max(0, self.bar_index(a))
        i1 = self.bar_index(b - 1)
        total = 0.0
        for i in range(i0, i1 + 1):
            s, e = self._t_list[i], self._t_list[i] + d
            overlap = min(e, b) - max(s, a)
            if overlap > 0:
                total += float(self.v[i]) * overlap / d
        return total


# ---------------------------------------------------------------------------------------------- sources

def data_dir_symbols(data_dir: Path, interval: str) -> dict[str, Path]:
    """Symbols with a klines file for `interval` in a ../shared/data-style directory."""
    out = {}
    for p in sorted((data_dir / "klines").glob(f"*-{interval}.csv*")):
        out[p.name.split("-")[0]] = p
    return out


def first_open_time(path: Path) -> int | None:
    """First bar's open time, reading only the first lines (start-up must stay fast)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        f.readline()
        line = f.readline()
    return int(line.split(",")[0]) if line else None


def series_from_marketdata(symbol: str, interval: str, klines: Klines, funding: Funding | None) -> Series:
    ft = np.asarray(funding.funding_time_ms, dtype=np.int64) if funding is not None else np.zeros(0, np.int64)
    fr = np.asarray(funding.funding_rate, dtype=np.float64) if funding is not None else np.zeros(0)
    return Series(symbol=symbol, interval_ms=INTERVAL_MS[interval],
                  t=np.asarray(klines.open_time_ms, dtype=np.int64),
                  # own contiguous copies (the loader hands out read-only views)
                  o=np.array(klines.open, dtype=np.float64), h=np.array(klines.high, dtype=np.float64),
                  l=np.array(klines.low, dtype=np.float64), c=np.array(klines.close, dtype=np.float64),
                  v=np.array(klines.volume, dtype=np.float64), fund_t=ft, fund_r=fr)


class FileSource:
    """Loads a symbol from the data directory on first use (start-up reads only file names)."""

    def __init__(self, data_dir: Path, interval: str):
        self.data_dir = Path(data_dir)
        self.interval = interval
        self.files = data_dir_symbols(self.data_dir, interval)

    def symbols(self) -> list[str]:
        return list(self.files)

    def default_start_ms(self, symbols: list[str]) -> int:
        """30 days after the latest listing among the chosen symbols, on a day boundary."""
        opens = (first_open_time(self.files[s]) for s in symbols if s in self.files)
        firsts = [f for f in opens if f is not None]
        base = max(firsts) if firsts else 0
        return (base // 86_400_000 + 30) * 86_400_000

    def load(self, symbol: str) -> Series:
        from marketdata import files as mdfiles
        data = mdfiles.load_dataset(self.data_dir, symbols=[symbol], interval=self.interval)
        klines, funding = data[symbol]
        return series_from_marketdata(symbol, self.interval, klines, funding)


class SyntheticSource:
    """Seeded synthetic bars around the start time (deterministic per symbol and seed)."""

    HISTORY_BARS = 1500      # bars before --start, so klines(limit=1500) has history at once

    def __init__(self, symbols: list[str], start_ms: int, interval: str, seed: int,
                 price_hint: dict[str, float] | None = None, days: int = 180):
        self.FUTURE_BARS = days * 86_400_000 // INTERVAL_MS[interval]
        self._symbols = symbols
        self.start_ms = start_ms
        self.interval = interval
        self.seed = seed
        self.price_hint = price_hint or {}

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def default_start_ms(self, symbols: list[str]) -> int:
        return self.start_ms

    def load(self, symbol: str) -> Series:
        from marketdata import synthetic
        iv = INTERVAL_MS[self.interval]
        t0 = (self.start_ms // iv - self.HISTORY_BARS) * iv
        # symbols the generator does not know get a start price that suits their tick size
        hint = None if symbol in synthetic.SYMBOL_SPECS else self.price_hint.get(symbol)
        kl = synthetic.generate_klines(symbol, t0, self.HISTORY_BARS + self.FUTURE_BARS,
                                       interval=self.interval, seed=self.seed, start_price=hint)
        fu = synthetic.generate_funding(symbol, kl, seed=self.seed)
        return series_from_marketdata(symbol, self.interval, kl, fu)


class Market:
    """Lazy per-symbol series + the clock: the engine's and the routes' view of 'the market now'."""

    def __init__(self, source: SeriesSource, clock: MarketClock, symbols: list[str]):
        self.source = source
        self.clock = clock
        self.symbols = list(symbols)
        self._series: dict[str, Series] = {}

    def series(self, symbol: str) -> Series:
        s = self._series.get(symbol)
        if s is None:
            s = self._series[symbol] = self.source.load(symbol)
        return s

    def price(self, symbol: str, ts: int) -> float:
        return self.series(symbol).price_at(ts)

    def loaded(self) -> int:
        return len(self._series)
