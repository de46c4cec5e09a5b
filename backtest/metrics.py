"""Summary figures of an equity curve marked at each bar's close (docs/Backtest_Methodology.md)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["YEAR_MS", "drawdown_series", "max_drawdown", "sharpe", "summary_figures"]

YEAR_MS = 365 * 24 * 3600 * 1000


def drawdown_series(equity: np.ndarray, initial: float | None = None) -> np.ndarray:
    """1 - equity / running peak (0 at a new high); the initial cash counts as the first peak."""
    eq = np.asarray(equity, dtype=np.float64)
    if len(eq) == 0:
        return eq
    peak = np.maximum.accumulate(eq)
    if initial is not None:
        peak = np.maximum(peak, initial)
    return 1.0 - eq / peak


def max_drawdown(equity: np.ndarray, initial: float | None = None) -> float:
    dd = drawdown_series(equity, initial)
    return float(dd.max()) if len(dd) else 0.0


def bar_returns(equity: np.ndarray, initial: float) -> np.ndarray:
    eq = np.asarray(equity, dtype=np.float64)
    prev = np.empty_like(eq)
    if len(eq):
        prev[0] = initial
        prev[1:] = eq[:-1]
    return eq / prev - 1.0


def sharpe(returns: np.ndarray, bar_ms: int) -> float:
    """Annualised Sharpe of per-bar returns (risk-free 0, sample std, sqrt(bars per year)); 0 when flat."""
    r = np.asarray(returns, dtype=np.float64)
    if len(r) < 2:
        return 0.0
    sd = float(r.std(ddof=1))
    if not math.isfinite(sd) or sd == 0.0:
        return 0.0
    return float(r.mean() / sd * math.sqrt(YEAR_MS / bar_ms))


def summary_figures(equity: np.ndarray, initial: float, bar_ms: int) -> dict[str, Any]:
    eq = np.asarray(equity, dtype=np.float64)
    final = float(eq[-1]) if len(eq) else float(initial)
    total = final / initial - 1.0
    years = len(eq) * bar_ms / YEAR_MS
    annual = (final / initial) ** (1.0 / years) - 1.0 if years > 0 and final > 0 else (-1.0 if final <= 0 else 0.0)
    return {
        "initial_cash": float(initial),
        "final_equity": final,
        "total_return": total,
        "annual_return": annual,
        "sharpe": sharpe(bar_returns(eq, initial), bar_ms),
        "max_drawdown": max_drawdown(eq, initial),
        "bars": int(len(eq)),
    }
