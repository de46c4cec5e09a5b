"""Technical indicators: vectorised over numpy arrays, and updatable one bar at a time.

Indicators: EMA, SMA, RSI (Wilder), ATR (Wilder), rolling z-score, Donchian channel, EWMA volatility
of log returns, MA crossover flags. Each has a batch function and an incremental state record.

Conventions, the same for every indicator:

* **Warm-up.** Batch outputs have the input's length; positions before an indicator has enough data
  hold NaN (flags hold False).
* **Missing data: skip.** A bar whose inputs are not finite (NaN, +-inf; for log returns also a
  non-positive price) is *skipped*: it enters no window and no recursive state, the output at that
  position repeats the last output (NaN during warm-up) and flags are False there. One bad print can
  therefore never poison later values, and "the last N bars" means the last N *valid* bars. The batch
  result equals the result on the series with bad bars removed, forward-filled back into place
  (for the EMA this is exactly pandas' `ewm(span, adjust=False, ignore_na=True).mean()`).
* **Incremental.** Each indicator has a frozen state record: `XState.start(params)` and a pure
  `state.update(...) -> (new_state, value)`. Folding bars through `update` reproduces the batch output
  to ~1e-12 relative. States are immutable, so the live loop may evaluate a still-forming bar with
  `state.update(...)` and discard the new state. Cost per update is O(1) for the recursive indicators
  and O(window) for the windowed ones (z-score, SMA, Donchian), never O(history).
* **Warm start.** `XState.warm(<the batch function's arguments>)` is the state `XState.start(params)`
  reaches after folding those inputs through `update`, built from batch (numpy) results instead of a
  Python loop: ~100x faster for a 1,000-bar history. Windowed states (SMA, z-score, Donchian, cross)
  are exactly the folded ones; recursive ones (EMA, RSI, ATR, EWMA vol) agree to ~1e-13 relative (the
  same tolerance as batch vs incremental), and both then update identically.
* **Causal, bit for bit.** Output[t] depends only on inputs[0..t]; appending bars never changes an
  earlier output, not even in the last bit (block layouts below are fixed by the parameters, never by
  the series length). The strategies' anti-lookahead proofs rely on this.

Speed: the EMA-type recursions use a blocked closed form (cumulative sums inside blocks whose growth
factor (1-alpha)^-B stays below 1e50, a short scalar loop carrying state between blocks); rolling
windows use van Herk/Gil-Werman prefix/suffix blocks. Everything is O(n) numpy work.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = [
    "SIGN_DEADBAND",
    "Bar",
    "Ohlc",
    "ema_alpha",
    "ema",
    "sma",
    "rsi",
    "true_range",
    "atr",
    "zscore",
    "donchian",
    "log_returns",
    "ewma_vol",
    "crossover",
    "valid_prices",
    "deadband_sign",
    "deadband_signs",
    "EmaState",
    "SmaState",
    "RsiState",
    "AtrState",
    "ZScoreState",
    "DonchianState",
    "EwmaVolState",
    "CrossState",
]

#: Relative dead band for sign decisions (price vs average, fast vs slow): differences smaller than
#: 1e-9 of the price level are "equal". It is far below any economic move (1e-5 bp) and far above
#: floating-point noise, so batch and incremental evaluations can never disagree on a sign.
SIGN_DEADBAND = 1e-9

_NAN = float("nan")
# Within one block of the EMA closed form the weights (1-alpha)^-j stay below 10**_BLOCK_GROWTH_DECADES.
_BLOCK_GROWTH_DECADES = 50.0
# ... and blocks are at most this long, so the power tables and the padding stay small for long spans.
_MAX_BLOCK = 4096


# --------------------------------------------------------------------------- bar records


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLC bar, the input of the incremental updates of the screener and the strategies."""

    open: float
    high: float
    low: float
    close: float

    def is_valid(self) -> bool:
        return all(math.isfinite(v) for v in (self.open, self.high, self.low, self.close))


@dataclass(frozen=True, eq=False)
class Ohlc:
    """OHLC column arrays. Anything with `.open/.high/.low/.close` arrays (e.g. `marketdata.Klines`)
    is accepted wherever an `Ohlc` is; this one exists so the core needs no I/O package."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __post_init__(self) -> None:
        cols = [np.asarray(getattr(self, c), dtype=np.float64) for c in ("open", "high", "low", "close")]
        if any(c.ndim != 1 for c in cols) or len({len(c) for c in cols}) != 1:
            raise ValueError("Ohlc columns must be 1-D arrays of equal length")
        for name, col in zip(("open", "high", "low", "close"), cols):
            object.__setattr__(self, name, col)

    @classmethod
    def from_close(cls, close: Any) -> "Ohlc":
        """Bars whose open/high/low equal the close (for close-only series)."""
        c = np.asarray(close, dtype=np.float64)
        return cls(c, c, c, c)

    @classmethod
    def of(cls, bars: Any) -> "Ohlc":
        """An `Ohlc` view of any object with open/high/low/close arrays."""
        if isinstance(bars, Ohlc):
            return bars
        return cls(bars.open, bars.high, bars.low, bars.close)

    def __len__(self) -> int:
        return len(self.close)

    def bar(self, i: int) -> Bar:
        return Bar(float(self.open[i]), float(self.high[i]), float(self.low[i]), float(self.close[i]))

    def head(self, n: int) -> "Ohlc":
        """The first n bars (views)."""
        return Ohlc(self.open[:n], self.high[:n], self.low[:n], self.close[:n])

    def tail(self, n: int) -> "Ohlc":
        """The last n bars (views)."""
        start = max(len(self) - n, 0)
        return Ohlc(self.open[start:], self.high[start:], self.low[start:], self.close[start:])


# --------------------------------------------------------------------------- input handling


def _array(x: Any, name: str = "x") -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    return a


def _check_window(n: int, name: str = "n", minimum: int = 1) -> int:
    if isinstance(n, bool) or int(n) != n or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    return int(n)


def _valid_bars(*arrays: np.ndarray) -> np.ndarray | None:
    """Mask of bars whose inputs are all finite, or None when every bar is valid (the fast path)."""
    mask = np.isfinite(arrays[0])
    for a in arrays[1:]:
        mask &= np.isfinite(a)
    return None if mask.all() else mask


def _expand(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Put values computed on the valid bars back in place; skipped bars repeat the last value."""
    pos = np.cumsum(valid) - 1
    out = np.full(len(valid), np.nan)
    has = pos >= 0
    if len(values):
        out[has] = values[pos[has]]
    return out


def _expand_flags(flags: np.ndarray, valid: np.ndarray) -> np.ndarray:
    out = np.zeros(len(valid), dtype=bool)
    out[valid] = flags
    return out


def _skipping(core: Callable[..., np.ndarray], *arrays: np.ndarray) -> np.ndarray:
    """Run `core` on the valid bars only and expand the result (the missing-data policy)."""
    valid = _valid_bars(*arrays)
    if valid is None:
        return core(*arrays)
    return _expand(core(*(a[valid] for a in arrays)), valid)


def _valid_values(x: Any) -> np.ndarray:
    """The finite values of x, in order (the inputs an incremental state does not skip)."""
    a = _array(x)
    return a[np.isfinite(a)]


def valid_prices(close: Any) -> np.ndarray:
    """The finite, positive closes, in order: what every log-return based state folds (EWMA vol, trend, regime)."""
    c = _array(close, "close")
    with np.errstate(invalid="ignore"):
        return c[np.isfinite(c) & (c > 0.0)]


# --------------------------------------------------------------------------- recursive filters


def ema_alpha(span: float) -> float:
    """The trader's / pandas' smoothing factor: alpha = 2 / (span + 1)."""
    if not (isinstance(span, (int, float)) and not isinstance(span, bool) and span >= 1 and math.isfinite(span)):
        raise ValueError(f"span must be a finite number >= 1, got {span!r}")
    return 2.0 / (float(span) + 1.0)


def _decay_filter(x: np.ndarray, alpha: float, y_prev: float, shift: float = 0.0) -> np.ndarray:
    """y[t] = (1 - alpha) * y[t-1] + alpha * x[t] with y[-1] = y_prev, for finite x (vectorised).

    Closed form inside a block starting at s: y[s+k] = d^(k+1) y[s-1] + alpha d^k sum_{j<=k} d^-j x[s+j],
    d = 1 - alpha. Block length B <= 4096 keeps d^-B below 1e50 (no overflow; the rounding error
    stays ~eps * |x| / alpha whatever B is). The value carried into each block comes from a short
    scalar loop over block sums. Blocks start at multiples of B whatever len(x) is, so output[t] is
    bit-identical however much data follows t. `shift` is subtracted before and added back after (the
    filter is linear), to work on small deviations. Large arrays are worked in place: at this size the
    cost is memory traffic, not arithmetic.
    """
    n = len(x)
    if n == 0:
        return np.empty(0)
    if alpha >= 1.0:
        return x.copy()
    d = 1.0 - alpha
    block = max(1, min(_MAX_BLOCK, int(_BLOCK_GROWTH_DECADES * math.log(10.0) / -math.log(d))))
    n_blocks = 1 if n <= block else -(-n // block)
    if n_blocks == 1:
        block = n
    buf = np.empty(n_blocks * block)
    buf[:n] = x
    buf[n:] = shift
    if shift != 0.0:
        buf -= shift
    ys = buf.reshape(n_blocks, block)
    j = np.arange(block, dtype=np.float64)
    np.multiply(ys, np.power(d, -j), out=ys)  # x_j d^-j
    gain = np.power(d, j) * alpha  # alpha d^k
    carried = y_prev - shift
    if n_blocks == 1:
        ys[0, 0] += carried * (d / alpha)
    else:
        # y at each block end if the block started from zero: alpha d^(B-1) sum_j d^-j x_j
        ends = ys.sum(axis=1) * gain[-1]
        d_block = d**block
        carries = np.empty(n_blocks)
        for b in range(n_blocks):
            carries[b] = carried
            carried = float(ends[b]) + d_block * carried
        # The state entering a block contributes d^(k+1) * carry = alpha d^k * (carry * d / alpha).
        ys[:, 0] += carries * (d / alpha)
    np.cumsum(ys, axis=1, out=ys)
    ys *= gain
    out = buf[:n]
    if shift != 0.0:
        out += shift
    return out


def _decay_last(x: np.ndarray, alpha: float, y_prev: float, shift: float = 0.0) -> float:
    """The LAST value of `_decay_filter(x, alpha, y_prev, shift)`, i.e. the recursion's state after all of
    x: y = (1 - alpha)^n y_prev + alpha sum_j (1 - alpha)^(n-1-j) x_j, as one dot product (the weights
    are powers of 1 - alpha <= 1: no overflow; old terms underflow to 0). For warm starts."""
    n = len(x)
    if n == 0:
        return float(y_prev)
    if alpha >= 1.0:
        return float(x[-1])
    d = 1.0 - alpha
    weights = np.power(d, np.arange(n - 1, -1, -1, dtype=np.float64))
    total = float(np.dot(weights, x - shift if shift != 0.0 else x))
    return shift + d**n * (y_prev - shift) + alpha * total


def _wilder_last(x: np.ndarray, period: int) -> float:
    """The last value of `_wilder_core(x, period)` (len(x) >= period): the seed mean, then Wilder's smoothing."""
    return _decay_last(x[period:], 1.0 / period, float(np.mean(x[:period])))


def _running_sum(values: np.ndarray) -> float:
    """Left-to-right float sum, as an incremental state accumulates it during its warm-up (short inputs)."""
    total = 0.0
    for v in values.tolist():
        total += v
    return total


def _ema_core(x: np.ndarray, alpha: float) -> np.ndarray:
    if len(x) == 0:
        return np.empty(0)
    # Work relative to the seed: a constant series then gives the seed back exactly (no rounding
    # noise for the sign decisions to trip on), and magnitudes stay small.
    x0 = float(x[0])
    return _decay_filter(x, alpha, x0, shift=x0)


def ema(x: Any, span: float) -> np.ndarray:
    """Exponential moving average as traders and pandas compute it: `ewm(span, adjust=False)`.

    alpha = 2 / (span + 1); seeded with the first valid value (y[0] = x[0]);
    y[t] = y[t-1] + alpha * (x[t] - y[t-1]). Non-finite inputs are skipped (module docstring), which
    equals pandas with `ignore_na=True`. No warm-up NaNs except before the first valid value.
    """
    alpha = ema_alpha(span)
    return _skipping(lambda v: _ema_core(v, alpha), _array(x))


@dataclass(frozen=True, slots=True)
class EmaState:
    """Incremental EMA; `value` is NaN until the first valid input."""

    alpha: float
    value: float = _NAN

    @classmethod
    def start(cls, span: float) -> "EmaState":
        return cls(ema_alpha(span))

    @classmethod
    def warm(cls, x: Any, span: float) -> "EmaState":
        """The state after folding x (as `ema(x, span)`)."""
        alpha = ema_alpha(span)
        v = _valid_values(x)
        if len(v) == 0:
            return cls(alpha)
        x0 = float(v[0])
        return cls(alpha, _decay_last(v[1:], alpha, x0, shift=x0))

    def update(self, x: float) -> tuple["EmaState", float]:
        if not math.isfinite(x):
            return self, self.value
        y = self.value
        if y != y:  # first valid value seeds the average
            return EmaState(self.alpha, float(x)), float(x)
        y = y + self.alpha * (x - y)
        return EmaState(self.alpha, y), y


def _wilder_core(x: np.ndarray, period: int) -> np.ndarray:
    """Wilder's smoothing of x[0..]: NaN for the first period-1 values, then the simple mean of the
    first `period` values, then avg += (x - avg) / period."""
    n = len(x)
    out = np.full(n, np.nan)
    if n < period:
        return out
    seed = float(np.mean(x[:period]))
    out[period - 1] = seed
    out[period:] = _decay_filter(x[period:], 1.0 / period, seed)
    return out


# --------------------------------------------------------------------------- RSI


def _rsi_core(close: np.ndarray, period: int) -> np.ndarray:
    n = len(close)
    out = np.full(n, np.nan)
    if n <= period:
        return out
    delta = np.diff(close)
    gain = _wilder_core(np.maximum(delta, 0.0), period)
    loss = _wilder_core(np.maximum(-delta, 0.0), period)
    total = gain + loss
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(total > 0.0, 100.0 * (gain / np.where(total > 0.0, total, 1.0)), 50.0)
    value[np.isnan(gain)] = np.nan
    out[1:] = value
    return out


def rsi(close: Any, period: int = 14) -> np.ndarray:
    """Wilder's RSI in [0, 100].

    Deltas d[t] = close[t] - close[t-1]; average gain/loss = simple mean of the first `period` deltas
    (available at bar `period`), then Wilder's smoothing avg += (x - avg) / period.
    RSI = 100 * G / (G + L) (= 100 - 100 / (1 + G/L)); 100 with no losses, 50 when G = L = 0 (flat).
    NaN for bars 0..period-1.
    """
    period = _check_window(period, "period")
    return _skipping(lambda c: _rsi_core(c, period), _array(close, "close"))


@dataclass(frozen=True, slots=True)
class RsiState:
    period: int
    prev_close: float = _NAN
    n_deltas: int = 0
    avg_gain: float = 0.0  # running sums during warm-up, Wilder averages after
    avg_loss: float = 0.0
    value: float = _NAN

    @classmethod
    def start(cls, period: int = 14) -> "RsiState":
        return cls(_check_window(period, "period"))

    @classmethod
    def warm(cls, close: Any, period: int = 14) -> "RsiState":
        """The state after folding `close` (as `rsi(close, period)`)."""
        p = _check_window(period, "period")
        c = _valid_values(close)
        if len(c) < 2:
            return cls(p, float(c[-1])) if len(c) else cls(p)
        delta = np.diff(c)
        gains, losses = np.maximum(delta, 0.0), np.maximum(-delta, 0.0)
        k, last = len(delta), float(c[-1])
        if k < p:
            return cls(p, last, k, _running_sum(gains), _running_sum(losses))
        g, l = _wilder_last(gains, p), _wilder_last(losses, p)
        total = g + l
        return cls(p, last, k, g, l, 100.0 * (g / total) if total > 0.0 else 50.0)

    def update(self, close: float) -> tuple["RsiState", float]:
        if not math.isfinite(close):
            return self, self.value
        prev = self.prev_close
        if prev != prev:
            return RsiState(self.period, float(close)), self.value
        delta = close - prev
        gain, loss = (delta, 0.0) if delta > 0 else (0.0, -delta)
        p, k = self.period, self.n_deltas + 1
        if k < p:
            return RsiState(p, float(close), k, self.avg_gain + gain, self.avg_loss + loss), self.value
        if k == p:
            g, l = (self.avg_gain + gain) / p, (self.avg_loss + loss) / p
        else:
            g = self.avg_gain + (gain - self.avg_gain) / p
            l = self.avg_loss + (loss - self.avg_loss) / p
        total = g + l
        value = 100.0 * (g / total) if total > 0.0 else 50.0
        return RsiState(p, float(close), k, g, l, value), value


# --------------------------------------------------------------------------- ATR


def _true_range_core(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    tr = high - low
    if len(tr) > 1:
        prev = close[:-1]
        tr[1:] = np.maximum(tr[1:], np.maximum(np.abs(high[1:] - prev), np.abs(low[1:] - prev)))
    return tr


def true_range(high: Any, low: Any, close: Any) -> np.ndarray:
    """TR[t] = max(high - low, |high - close[t-1]|, |low - close[t-1]|); TR[0] = high - low."""
    return _skipping(_true_range_core, _array(high, "high"), _array(low, "low"), _array(close, "close"))


def _atr_core(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    n = len(close)
    out = np.full(n, np.nan)
    if n <= period:
        return out
    tr = _true_range_core(high, low, close)
    out[1:] = _wilder_core(tr[1:], period)
    return out


def atr(high: Any, low: Any, close: Any, period: int = 14) -> np.ndarray:
    """Wilder's average true range (price units), TA-Lib convention.

    True range needs the previous close, so it starts at bar 1; ATR[period] = mean(TR[1..period]), then
    ATR += (TR - ATR) / period. NaN for bars 0..period-1. A bar is skipped if high, low or close is
    not finite. Divide by the close for ATR as a fraction of price (the screener's `atr=0.011`).
    """
    period = _check_window(period, "period")
    return _skipping(
        lambda h, l, c: _atr_core(h, l, c, period), _array(high, "high"), _array(low, "low"), _array(close, "close")
    )


@dataclass(frozen=True, slots=True)
class AtrState:
    period: int
    prev_close: float = _NAN
    n_ranges: int = 0
    value_or_sum: float = 0.0  # running sum of TR during warm-up, the ATR after
    value: float = _NAN

    @classmethod
    def start(cls, period: int = 14) -> "AtrState":
        return cls(_check_window(period, "period"))

    @classmethod
    def warm(cls, high: Any, low: Any, close: Any, period: int = 14) -> "AtrState":
        """The state after folding the bars (as `atr(high, low, close, period)`)."""
        p = _check_window(period, "period")
        h, l, c = _array(high, "high"), _array(low, "low"), _array(close, "close")
        valid = _valid_bars(h, l, c)
        if valid is not None:
            h, l, c = h[valid], l[valid], c[valid]
        if len(c) == 0:
            return cls(p)
        ranges = _true_range_core(h, l, c)[1:]
        k, last = len(ranges), float(c[-1])
        if k < p:
            return cls(p, last, k, _running_sum(ranges))
        value = _wilder_last(ranges, p)
        return cls(p, last, k, value, value)

    def update(self, high: float, low: float, close: float) -> tuple["AtrState", float]:
        if not (math.isfinite(high) and math.isfinite(low) and math.isfinite(close)):
            return self, self.value
        prev = self.prev_close
        if prev != prev:
            return AtrState(self.period, float(close)), self.value
        tr = max(high - low, abs(high - prev), abs(low - prev))
        p, k = self.period, self.n_ranges + 1
        if k < p:
            return AtrState(p, float(close), k, self.value_or_sum + tr), self.value
        if k == p:
            value = (self.value_or_sum + tr) / p
        else:
            value = self.value + (tr - self.value) / p
        return AtrState(p, float(close), k, value, value), value


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
    if want_m2:
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
    def start(cls, n: int) -> "SmaState":
        return cls(_check_window(n))

    @classmethod
    def warm(cls, x: Any, n: int) -> "SmaState":
        """The state after folding x (as `sma(x, n)`); exact: the state is the last n valid values."""
        n = _check_window(n)
        window = tuple(_valid_values(x)[-n:].tolist())
        return cls(n, window, _window_mean(window) if len(window) == n else _NAN)

    def update(self, x: float) -> tuple["SmaState", float]:
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
    def start(cls, n: int = 20) -> "ZScoreState":
        return cls(_check_window(n, minimum=2))

    @classmethod
    def warm(cls, x: Any, n: int = 20) -> "ZScoreState":
        """The state after folding x (as `zscore(x, n)`); exact: the state is the last n valid values."""
        n = _check_window(n, minimum=2)
        window = tuple(_valid_values(x)[-n:].tolist())
        return cls(n, window, _window_zscore(window) if len(window) == n else _NAN)

    def update(self, x: float) -> tuple["ZScoreState", float]:
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
    h, l = _array(high, "high"), _array(low, "low")
    valid = _valid_bars(h, l)
    if valid is None:
        return _donchian_core(h, l, n)
    upper, lower = _donchian_core(h[valid], l[valid], n)
    return _expand(upper, valid), _expand(lower, valid)


def _slide_extreme(window: tuple[float, ...], extreme: float, new: float, n: int, take_max: bool) -> tuple[tuple[float, ...], float]:
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
    def start(cls, n: int) -> "DonchianState":
        return cls(_check_window(n))

    @classmethod
    def warm(cls, high: Any, low: Any, n: int) -> "DonchianState":
        """The state after folding the bars (as `donchian(high, low, n)`); exact."""
        n = _check_window(n)
        h, l = _array(high, "high"), _array(low, "low")
        valid = _valid_bars(h, l)
        if valid is not None:
            h, l = h[valid], l[valid]
        m = len(h)
        if m == 0:
            return cls(n)
        highs, lows = tuple(h[-n:].tolist()), tuple(l[-n:].tolist())
        # the channel of the last bar added: the n bars before it, once there were n of them
        upper, lower = (float(h[m - 1 - n : m - 1].max()), float(l[m - 1 - n : m - 1].min())) if m > n else (_NAN, _NAN)
        return cls(n, highs, lows, max(highs), min(lows), upper, lower)

    def update(self, high: float, low: float) -> tuple["DonchianState", tuple[float, float]]:
        """Returns (upper, lower) for the bar being added, i.e. over the n bars BEFORE it."""
        if not (math.isfinite(high) and math.isfinite(low)):
            return self, (self.upper, self.lower)
        full = len(self.highs) == self.n
        upper, lower = (self.highest, self.lowest) if full else (_NAN, _NAN)
        highs, highest = _slide_extreme(self.highs, self.highest, float(high), self.n, take_max=True)
        lows, lowest = _slide_extreme(self.lows, self.lowest, float(low), self.n, take_max=False)
        return DonchianState(self.n, highs, lows, highest, lowest, upper, lower), (upper, lower)


# --------------------------------------------------------------------------- volatility


def _log_returns_core(close: np.ndarray) -> np.ndarray:
    out = np.full(len(close), np.nan)
    if len(close) > 1:
        # A difference of logs cannot overflow (a ratio of extreme prices can).
        out[1:] = np.diff(np.log(close))
    return out


def _positive(close: np.ndarray) -> np.ndarray:
    # Log returns need positive prices: a non-positive price is treated as missing.
    with np.errstate(invalid="ignore"):
        return np.where(close > 0.0, close, np.nan)


def log_returns(close: Any) -> np.ndarray:
    """r[t] = ln(close[t]) - ln(close[t-1]) between consecutive valid (finite, positive) closes; r[0] = NaN.

    A difference of logs (absolute error ~1e-15) rather than the log of a ratio, which can overflow.
    """
    return _skipping(_log_returns_core, _positive(_array(close, "close")))


def _ewma_vol_core(close: np.ndarray, alpha: float) -> np.ndarray:
    out = np.full(len(close), np.nan)
    if len(close) < 2:
        return out
    r = np.diff(np.log(close))
    with np.errstate(over="ignore", invalid="ignore"):  # absurd price jumps give an honest inf
        raw = _decay_filter(r * r, alpha, 0.0)  # alpha * sum d^age r^2, seeded at zero
        m = np.arange(1, len(r) + 1, dtype=np.float64)
        out[1:] = np.sqrt(raw / -np.expm1(m * math.log1p(-alpha)) if alpha < 1.0 else raw)
    return out


def ewma_vol(close: Any, span: float) -> np.ndarray:
    """EWMA volatility of log returns, per bar (multiply by sqrt(bars per year) to annualise).

    Zero-mean (RiskMetrics) variance with normalised weights: var[t] = sum_i w_i r_i^2 / sum_i w_i,
    w_i = (1 - alpha)^(age of r_i), alpha = 2 / (span + 1) — pandas `(r**2).ewm(span).mean()` with the
    default `adjust=True`. Normalised weights mean no arbitrary seed: the estimate is meaningful as
    soon as there are a few returns, even with fewer bars than the span. NaN at bar 0.
    """
    alpha = ema_alpha(span)
    return _skipping(lambda c: _ewma_vol_core(c, alpha), _positive(_array(close, "close")))


@dataclass(frozen=True, slots=True)
class EwmaVolState:
    alpha: float
    prev_close: float = _NAN
    raw: float = 0.0  # alpha * sum d^age r^2
    n_returns: int = 0
    value: float = _NAN

    @classmethod
    def start(cls, span: float) -> "EwmaVolState":
        return cls(ema_alpha(span))

    @classmethod
    def warm(cls, close: Any, span: float) -> "EwmaVolState":
        """The state after folding `close` (as `ewma_vol(close, span)`)."""
        a = ema_alpha(span)
        c = valid_prices(close)
        if len(c) < 2:
            return cls(a, float(c[-1])) if len(c) else cls(a)
        r = np.diff(np.log(c))
        with np.errstate(over="ignore", invalid="ignore"):
            raw = _decay_last(r * r, a, 0.0)
        k = len(r)
        norm = -math.expm1(k * math.log1p(-a)) if a < 1.0 else 1.0
        return cls(a, float(c[-1]), raw, k, math.sqrt(raw / norm))

    def update(self, close: float) -> tuple["EwmaVolState", float]:
        if not (math.isfinite(close) and close > 0.0):
            return self, self.value
        prev = self.prev_close
        if prev != prev:
            return EwmaVolState(self.alpha, float(close)), self.value
        r = math.log(close) - math.log(prev)
        a = self.alpha
        raw = (1.0 - a) * self.raw + a * r * r
        k = self.n_returns + 1
        norm = -math.expm1(k * math.log1p(-a)) if a < 1.0 else 1.0
        value = math.sqrt(raw / norm)
        return EwmaVolState(a, float(close), raw, k, value), value


# --------------------------------------------------------------------------- crossover flags


def deadband_sign(a: float, b: float) -> int:
    """sign(a - b), with |a - b| <= SIGN_DEADBAND * max(|a|, |b|) counted as equal (0)."""
    diff = a - b
    if abs(diff) <= SIGN_DEADBAND * max(abs(a), abs(b)):
        return 0
    return 1 if diff > 0 else -1


def deadband_signs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise `deadband_sign` (int8 array of -1 / 0 / +1)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff = a - b
    tie = np.abs(diff) <= SIGN_DEADBAND * np.maximum(np.abs(a), np.abs(b))
    return np.where(tie, 0, np.sign(diff)).astype(np.int8)


def _crossover_core(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = deadband_signs(fast, slow)
    up = np.zeros(len(s), dtype=bool)
    down = np.zeros(len(s), dtype=bool)
    up[1:] = (s[1:] > 0) & (s[:-1] <= 0)
    down[1:] = (s[1:] < 0) & (s[:-1] >= 0)
    return up, down


def crossover(fast: Any, slow: Any) -> tuple[np.ndarray, np.ndarray]:
    """MA crossover flags (the classic definition).

    cross_up[t]   = fast[t] > slow[t] and fast[t-1] <= slow[t-1]
    cross_down[t] = fast[t] < slow[t] and fast[t-1] >= slow[t-1]
    Comparisons use the relative dead band `SIGN_DEADBAND`. Bars where fast or slow is not finite (e.g.
    an SMA's warm-up) are skipped: False there, and t-1 means the previous bar where both were finite.
    """
    f, s = _array(fast, "fast"), _array(slow, "slow")
    valid = _valid_bars(f, s)
    if valid is None:
        return _crossover_core(f, s)
    up, down = _crossover_core(f[valid], s[valid])
    return _expand_flags(up, valid), _expand_flags(down, valid)


@dataclass(frozen=True, slots=True)
class CrossState:
    prev_sign: int | None = None  # None until the first bar with both values finite

    @classmethod
    def start(cls) -> "CrossState":
        return cls()

    @classmethod
    def warm(cls, fast: Any, slow: Any) -> "CrossState":
        """The state after folding the (fast, slow) pairs (as `crossover(fast, slow)`); exact."""
        f, s = _array(fast, "fast"), _array(slow, "slow")
        both = np.flatnonzero(np.isfinite(f) & np.isfinite(s))
        if len(both) == 0:
            return cls()
        i = int(both[-1])
        return cls(deadband_sign(float(f[i]), float(s[i])))

    def update(self, fast: float, slow: float) -> tuple["CrossState", tuple[bool, bool]]:
        if not (math.isfinite(fast) and math.isfinite(slow)):
            return self, (False, False)
        s = deadband_sign(fast, slow)
        prev = self.prev_sign
        if prev is None:
            return CrossState(s), (False, False)
        return CrossState(s), (s > 0 and prev <= 0, s < 0 and prev >= 0)
