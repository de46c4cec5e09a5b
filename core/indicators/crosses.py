"""Sign decisions with a dead band and MA crossover flags (conventions: core/indicators/__init__.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.indicators.kernels import (
    SIGN_DEADBAND,
    _array,
    _expand_flags,
    _valid_bars,
)

# --------------------------------------------------------------------------- crossover flags


def deadband_sign(a: float, b: float) -> int:
    """sign(a - b), with |a - b| <= SIGN_DEADBAND * max(|a|, |b|) counted as equal (0)."""
    diff = a - b
    if abs(diff) <= SIGN_DEADBAND * max(abs(a), abs(b)):
        return 0
    return 1 if diff > 0 else -1


def _diff_tol(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """a - b and the dead band SIGN_DEADBAND * max(|a|, |b|), element-wise, in two fresh arrays (at this
    size each fresh array costs more in page faults than its arithmetic)."""
    tol = np.abs(a)
    diff = np.abs(b)
    np.maximum(tol, diff, out=tol)
    tol *= SIGN_DEADBAND
    np.subtract(a, b, out=diff)
    return diff, tol


def deadband_signs(a: Any, b: Any) -> np.ndarray:
    """Element-wise `deadband_sign` (int8 array of -1 / 0 / +1; 0 where a - b is NaN).

    |d| > tol and d > 0 is d > tol (tol >= 0), so two comparisons decide it: ~6 passes over the arrays
    instead of a float sign and a cast."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff, tol = _diff_tol(a, b)
    up = diff > tol
    np.negative(tol, out=tol)
    down = diff < tol
    return np.subtract(up.view(np.int8), down.view(np.int8))


def deadband_above(a: Any, b: Any) -> np.ndarray:
    """`deadband_signs(a, b) > 0` (bool array) without building the signs."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    diff, tol = _diff_tol(a, b)
    return diff > tol


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
    def start(cls) -> CrossState:
        return cls()

    @classmethod
    def warm(cls, fast: Any, slow: Any) -> CrossState:
        """The state after folding the (fast, slow) pairs (as `crossover(fast, slow)`); exact."""
        f, s = _array(fast, "fast"), _array(slow, "slow")
        both = np.flatnonzero(np.isfinite(f) & np.isfinite(s))
        if len(both) == 0:
            return cls()
        i = int(both[-1])
        return cls(deadband_sign(float(f[i]), float(s[i])))

    def update(self, fast: float, slow: float) -> tuple[CrossState, tuple[bool, bool]]:
        if not (math.isfinite(fast) and math.isfinite(slow)):
            return self, (False, False)
        s = deadband_sign(fast, slow)
        prev = self.prev_sign
        if prev is None:
            return CrossState(s), (False, False)
        return CrossState(s), (s > 0 and prev <= 0, s < 0 and prev >= 0)
