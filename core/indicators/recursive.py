"""Recursive indicators: EMA, RSI (Wilder), ATR (Wilder), EWMA volatility of log returns; batch
functions and incremental states (conventions: core/indicators/__init__.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.indicators.kernels import (
    _NAN,
    _array,
    _check_window,
    _decay_filter,
    _decay_last,
    _ema_core,
    _running_sum,
    _skipping,
    _valid_bars,
    _valid_values,
    _wilder_last,
    ema_alpha,
    valid_prices,
)


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
    def start(cls, span: float) -> EmaState:
        return cls(ema_alpha(span))

    @classmethod
    def warm(cls, x: Any, span: float) -> EmaState:
        """The state after folding x (as `ema(x, span)`)."""
        alpha = ema_alpha(span)
        v = _valid_values(x)
        if len(v) == 0:
            return cls(alpha)
        x0 = float(v[0])
        return cls(alpha, _decay_last(v[1:], alpha, x0, shift=x0))

    def update(self, x: float) -> tuple[EmaState, float]:
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
    def start(cls, period: int = 14) -> RsiState:
        return cls(_check_window(period, "period"))

    @classmethod
    def warm(cls, close: Any, period: int = 14) -> RsiState:
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
        g, ls = _wilder_last(gains, p), _wilder_last(losses, p)
        total = g + ls
        return cls(p, last, k, g, ls, 100.0 * (g / total) if total > 0.0 else 50.0)

    def update(self, close: float) -> tuple[RsiState, float]:
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
            g, ls = (self.avg_gain + gain) / p, (self.avg_loss + loss) / p
        else:
            # ((p - 1) * avg + x) / p, not avg + (x - avg) / p: at period 1 the latter cancels a gain or loss
            # far smaller than the old average to 0 (a 1-ulp fall read as flat, RSI 50 instead of 0)
            g = ((p - 1) * self.avg_gain + gain) / p
            ls = ((p - 1) * self.avg_loss + loss) / p
        total = g + ls
        value = 100.0 * (g / total) if total > 0.0 else 50.0
        return RsiState(p, float(close), k, g, ls, value), value


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
        lambda h, lo, c: _atr_core(h, lo, c, period), _array(high, "high"), _array(low, "low"), _array(close, "close")
    )


@dataclass(frozen=True, slots=True)
class AtrState:
    period: int
    prev_close: float = _NAN
    n_ranges: int = 0
    value_or_sum: float = 0.0  # running sum of TR during warm-up, the ATR after
    value: float = _NAN

    @classmethod
    def start(cls, period: int = 14) -> AtrState:
        return cls(_check_window(period, "period"))

    @classmethod
    def warm(cls, high: Any, low: Any, close: Any, period: int = 14) -> AtrState:
        """The state after folding the bars (as `atr(high, low, close, period)`)."""
        p = _check_window(period, "period")
        h, lo, c = _array(high, "high"), _array(low, "low"), _array(close, "close")
        valid = _valid_bars(h, lo, c)
        if valid is not None:
            h, lo, c = h[valid], lo[valid], c[valid]
        if len(c) == 0:
            return cls(p)
        ranges = _true_range_core(h, lo, c)[1:]
        k, last = len(ranges), float(c[-1])
        if k < p:
            return cls(p, last, k, _running_sum(ranges))
        value = _wilder_last(ranges, p)
        return cls(p, last, k, value, value)

    def update(self, high: float, low: float, close: float) -> tuple[AtrState, float]:
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
    def start(cls, span: float) -> EwmaVolState:
        return cls(ema_alpha(span))

    @classmethod
    def warm(cls, close: Any, span: float) -> EwmaVolState:
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

    def update(self, close: float) -> tuple[EwmaVolState, float]:
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
