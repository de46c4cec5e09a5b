"""Rolling-window indicators: SMA, rolling z-score, Donchian channel; batch functions (van Herk/Gil-Werman
blocks) and incremental states (conventions: core/indicators/__init__.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.indicators.kernels import (
    _NAN,
    _array,
    _check_window,
    _expand,
    _skipping,
    _valid_bars,
    _valid_values,
)

# --------------------------------------------------------------------------- rolling windows


def _rolling_mean_m2(x: np.ndarray, n: int, want_m2: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Mean and sum of squared deviations (M2) of x over windows x[e-n+1..e]; NaN for e < n-1.

    Van Herk-style blocks of length n: a window is a suffix of one block plus a prefix of the next
    (or exactly one block). Prefix sums are centred on the block's first value and suffix sums on its
    last value; both lie inside every window that uses them, so the sums are of small deviations (no
    cancellation against the price level) and a flat window gives exactly mean = value, M2 = 0. The two
    parts are merged with the exact two-group formulas. O(size), causal bit for bit.
    """
    size = len(x)
    mean = np.full(size, np.nan)
    m2 = np.full(size, np.nan) if want_m2 else None
    if size < n:
        return mean, m2
    n_blocks = -(-size // n)
    total = n_blocks * n
    m = size - n + 1  # number of complete windows; window k covers x[k .. k+n-1]
    xs = np.empty(total)
    xs[:size] = x
    xs[size:] = x[-1]  # padding only reaches windows that end past the data
    blocks = xs.reshape(n_blocks, n)
    first = np.repeat(blocks[:, 0], n)
    rev = xs[::-1].reshape(n_blocks, n)  # block order and in-block order reversed
    last_rev = np.repeat(rev[:, 0], n)  # = each block's last value, in reversed flat order

    dev_p = xs - first
    dev_s = rev.ravel() - last_rev
    p1 = np.cumsum(dev_p.reshape(n_blocks, n), axis=1).ravel()[n - 1 : size]
    s1 = np.cumsum(dev_s.reshape(n_blocks, n), axis=1).ravel()[::-1][:m]  # suffix sums at window starts

    nb = np.tile(np.arange(1.0, n + 1.0), n_blocks)[n - 1 : size]  # prefix part: start of e's block .. e
    na = n - nb  # suffix part: window start .. end of its block; empty when the window is one block
    has_a = na > 0
    na_safe = np.where(has_a, na, 1.0)
    mean_b = first[n - 1 : size] + p1 / nb
    mean_a = last_rev[::-1][:m] + s1 / na_safe
    gap = np.where(has_a, mean_b - mean_a, 0.0)
    mean[n - 1 :] = mean_b - gap * (na / n)
    if m2 is not None:  # want_m2
        np.multiply(dev_p, dev_p, out=dev_p)
        np.multiply(dev_s, dev_s, out=dev_s)
        p2 = np.cumsum(dev_p.reshape(n_blocks, n), axis=1).ravel()[n - 1 : size]
        s2 = np.cumsum(dev_s.reshape(n_blocks, n), axis=1).ravel()[::-1][:m]
        m2_b = np.maximum(p2 - p1 * p1 / nb, 0.0)
        m2_a = np.where(has_a, np.maximum(s2 - s1 * s1 / na_safe, 0.0), 0.0)
        m2[n - 1 :] = m2_a + m2_b + gap * gap * (na * nb / n)
    return mean, m2


def _rolling_extreme(x: np.ndarray, n: int, take_max: bool) -> np.ndarray:
    """max (or min) over windows x[e-n+1..e], NaN for e < n-1 (van Herk/Gil-Werman, exact, O(size))."""
    size = len(x)
    out = np.full(size, np.nan)
    if size < n:
        return out
    acc = np.maximum if take_max else np.minimum
    n_blocks = -(-size // n)
    xs = np.full(n_blocks * n, -np.inf if take_max else np.inf)
    xs[:size] = x
    prefix = acc.accumulate(xs.reshape(n_blocks, n), axis=1).ravel()
    rev = xs[::-1].copy().reshape(n_blocks, n)
    suffix = acc.accumulate(rev, axis=1).ravel()[::-1]
    out[n - 1 :] = acc(suffix[: size - n + 1], prefix[n - 1 : size])
    return out


def _window_mean(window: tuple[float, ...]) -> float:
    # Centred on a value inside the window, as in the batch form: a flat window is exactly its value.
    c = window[-1]
    return c + math.fsum([v - c for v in window]) / len(window)


def sma(x: Any, n: int) -> np.ndarray:
    """Simple moving average of the last n valid values (including the current one); NaN for the
    first n-1 bars."""
    n = _check_window(n)
    return _skipping(lambda v: _rolling_mean_m2(v, n, want_m2=False)[0], _array(x))


@dataclass(frozen=True, slots=True)
class SmaState:
    n: int
    window: tuple[float, ...] = ()
    value: float = _NAN

    @classmethod
    def start(cls, n: int) -> SmaState:
        return cls(_check_window(n))

    @classmethod
    def warm(cls, x: Any, n: int) -> SmaState:
        """The state after folding x (as `sma(x, n)`); exact: the state is the last n valid values."""
        n = _check_window(n)
        window = tuple(_valid_values(x)[-n:].tolist())
        return cls(n, window, _window_mean(window) if len(window) == n else _NAN)

    def update(self, x: float) -> tuple[SmaState, float]:
        if not math.isfinite(x):
            return self, self.value
        window = (self.window + (float(x),))[-self.n :]
        value = _window_mean(window) if len(window) == self.n else _NAN
        return SmaState(self.n, window, value), value


def _window_zscore(window: tuple[float, ...]) -> float:
    """z of the window's last value within the (full) window; 0 for a flat window."""
    mean = _window_mean(window)
    m2 = math.fsum([(v - mean) * (v - mean) for v in window])
    std = math.sqrt(m2 / len(window))
    return (window[-1] - mean) / std if std > 0.0 else 0.0


def _zscore_core(x: np.ndarray, n: int) -> np.ndarray:
    mean, m2 = _rolling_mean_m2(x, n)
    assert m2 is not None  # want_m2 (the default) always returns M2
    std = np.sqrt(m2 / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(std > 0.0, (x - mean) / np.where(std > 0.0, std, 1.0), 0.0)
    z[np.isnan(mean)] = np.nan
    return z


def zscore(x: Any, n: int = 20) -> np.ndarray:
    """Rolling z-score: (x[t] - mean) / std over the last n valid values INCLUDING x[t].

    Population std (ddof = 0), so |z| <= sqrt(n - 1). A flat window (std = 0) gives z = 0.
    NaN for the first n-1 bars. Equals pandas `(x - x.rolling(n).mean()) / x.rolling(n).std(ddof=0)`.
    """
    n = _check_window(n, minimum=2)
    return _skipping(lambda v: _zscore_core(v, n), _array(x))


@dataclass(frozen=True, slots=True)
class ZScoreState:
    n: int
    window: tuple[float, ...] = ()
    value: float = _NAN

    @classmethod
    def start(cls, n: int = 20) -> ZScoreState:
        return cls(_check_window(n, minimum=2))

    @classmethod
    def warm(cls, x: Any, n: int = 20) -> ZScoreState:
        """The state after folding x (as `zscore(x, n)`); exact: the state is the last n valid values."""
        n = _check_window(n, minimum=2)
        window = tuple(_valid_values(x)[-n:].tolist())
        return cls(n, window, _window_zscore(window) if len(window) == n else _NAN)

    def update(self, x: float) -> tuple[ZScoreState, float]:
        if not math.isfinite(x):
            return self, self.value
        window = (self.window + (float(x),))[-self.n :]
        if len(window) < self.n:
            return ZScoreState(self.n, window), _NAN
        value = _window_zscore(window)
        return ZScoreState(self.n, window, value), value


def _donchian_core(high: np.ndarray, low: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    size = len(high)
    upper = np.full(size, np.nan)
    lower = np.full(size, np.nan)
    if size > n:
        upper[1:] = _rolling_extreme(high[:-1], n, take_max=True)
        lower[1:] = _rolling_extreme(low[:-1], n, take_max=False)
    return upper, lower


def donchian(high: Any, low: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Donchian channel over the PREVIOUS n bars, EXCLUDING the current bar.

    upper[t] = max(high[t-n .. t-1]), lower[t] = min(low[t-n .. t-1]); NaN for t < n. Excluding the
    current bar is what makes `close[t] > upper[t]` a breakout test usable at bar t's close. A bar is
    skipped (and repeats the last channel) if its high or low is not finite.
    """
    n = _check_window(n)
    h, lo = _array(high, "high"), _array(low, "low")
    valid = _valid_bars(h, lo)
    if valid is None:
        return _donchian_core(h, lo, n)
    upper, lower = _donchian_core(h[valid], lo[valid], n)
    return _expand(upper, valid), _expand(lower, valid)


def _slide_extreme(
    window: tuple[float, ...], extreme: float, new: float, n: int, take_max: bool
) -> tuple[tuple[float, ...], float]:
    """Append `new` to a window of at most n values and return it with its max (min); the extreme is
    recomputed only when the current one drops out, so the usual cost is the tuple copy."""
    if len(window) < n:
        window = window + (new,)
        better = new >= extreme if take_max else new <= extreme
        return window, new if (len(window) == 1 or better) else extreme
    dropped = window[0]
    window = window[1:] + (new,)
    if (new >= extreme) if take_max else (new <= extreme):
        return window, new
    if dropped == extreme:
        return window, max(window) if take_max else min(window)
    return window, extreme


@dataclass(frozen=True, slots=True)
class DonchianState:
    n: int
    highs: tuple[float, ...] = ()
    lows: tuple[float, ...] = ()
    highest: float = _NAN  # max(highs), min(lows): the channel for the NEXT bar
    lowest: float = _NAN
    upper: float = _NAN  # the channel of the last bar added
    lower: float = _NAN

    @classmethod
    def start(cls, n: int) -> DonchianState:
        return cls(_check_window(n))

    @classmethod
    def warm(cls, high: Any, low: Any, n: int) -> DonchianState:
        """The state after folding the bars (as `donchian(high, low, n)`); exact."""
        n = _check_window(n)
        h, lo = _array(high, "high"), _array(low, "low")
        valid = _valid_bars(h, lo)
        if valid is not None:
            h, lo = h[valid], lo[valid]
        m = len(h)
        if m == 0:
            return cls(n)
        highs, lows = tuple(h[-n:].tolist()), tuple(lo[-n:].tolist())
        # the channel of the last bar added: the n bars before it, once there were n of them
        if m > n:
            upper, lower = float(h[m - 1 - n : m - 1].max()), float(lo[m - 1 - n : m - 1].min())
        else:
            upper, lower = _NAN, _NAN
        return cls(n, highs, lows, max(highs), min(lows), upper, lower)

    def update(self, high: float, low: float) -> tuple[DonchianState, tuple[float, float]]:
        """Returns (upper, lower) for the bar being added, i.e. over the n bars BEFORE it."""
        if not (math.isfinite(high) and math.isfinite(low)):
            return self, (self.upper, self.lower)
        full = len(self.highs) == self.n
        upper, lower = (self.highest, self.lowest) if full else (_NAN, _NAN)
        highs, highest = _slide_extreme(self.highs, self.highest, float(high), self.n, take_max=True)
        lows, lowest = _slide_extreme(self.lows, self.lowest, float(low), self.n, take_max=False)
        return DonchianState(self.n, highs, lows, highest, lowest, upper, lower), (upper, lower)
