"""Indicator kernels: input handling (skip non-finite bars), the blocked closed form of the EMA-type
recursions, and the constants every indicator shares (conventions: core/indicators/__init__.py)."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

#: Relative dead band for sign decisions (price vs average, fast vs slow): differences smaller than
#: 1e-9 of the price level are "equal". It is far below any economic move (1e-5 bp) and far above
#: floating-point noise, so batch and incremental evaluations can never disagree on a sign.
SIGN_DEADBAND = 1e-9

_NAN = float("nan")
# Within one block of the EMA closed form the weights (1-alpha)^-j stay below 10**_BLOCK_GROWTH_DECADES.
_BLOCK_GROWTH_DECADES = 50.0
# ... and blocks are at most this long, so the power tables and the padding stay small for long spans.
_MAX_BLOCK = 4096



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
