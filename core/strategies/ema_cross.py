"""`ema_cross`: the reference strategy used to compare engines (backtester vs live loop vs venue).

target[t] = 0 for the first `slow` bars (the slow EMA is still dominated by its seed), then
+1 if EMA(fast) > EMA(slow) else -1 (equal, within the dead band, counts as "not above": -1).
Always in the market after warm-up, so two engines fed the same bars must hold identical positions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.bars import Bar, Ohlc
from core.indicators import EmaState, deadband_above, deadband_sign, ema
from core.strategies.base import StrategySpec, expand_targets, valid_close_mask, valid_rows

DEFAULTS = {"fast": 12, "slow": 26}


def _check(p: dict) -> None:
    if p["fast"] < 1 or p["slow"] <= p["fast"]:
        raise ValueError(f"ema_cross: need 1 <= fast < slow, got fast={p['fast']} slow={p['slow']}")


def _targets(fast: np.ndarray, slow: np.ndarray, slow_bars: int, valid: np.ndarray) -> np.ndarray:
    targets = np.where(deadband_above(fast, slow), 1.0, -1.0)
    targets[:slow_bars] = 0.0
    return expand_targets(targets, valid)


def _many(bars: Ohlc, ps: list[dict], bar_ms: int) -> list[np.ndarray]:
    """Targets for each parameter set; the EMA of each span is computed once (a sweep's grid shares them)."""
    valid = valid_close_mask(bars)
    close = valid_rows(bars.close, valid)
    emas: dict[int, np.ndarray] = {}
    for p in ps:
        for span in (p["fast"], p["slow"]):
            if span not in emas:
                emas[span] = ema(close, span)
    return [_targets(emas[p["fast"]], emas[p["slow"]], p["slow"], valid) for p in ps]


def _batch(bars: Ohlc, p: dict, bar_ms: int) -> np.ndarray:
    return _many(bars, [p], bar_ms)[0]


@dataclass(frozen=True, slots=True)
class EmaCrossState:
    slow_bars: int
    fast: EmaState
    slow: EmaState
    count: int = 0
    target: float = 0.0

    def update(self, bar: Bar) -> tuple[EmaCrossState, float]:
        close = bar.close
        if not math.isfinite(close):
            return self, self.target
        fast, f = self.fast.update(close)
        slow, s = self.slow.update(close)
        count = self.count + 1
        target = _target(count, self.slow_bars, f, s)
        return EmaCrossState(self.slow_bars, fast, slow, count, target), target


def _target(count: int, slow_bars: int, fast: float, slow: float) -> float:
    return 0.0 if count <= slow_bars else (1.0 if deadband_sign(fast, slow) > 0 else -1.0)


def _start(p: dict, bar_ms: int) -> EmaCrossState:
    return EmaCrossState(p["slow"], EmaState.start(p["fast"]), EmaState.start(p["slow"]))


def _warm(bars: Ohlc, p: dict, bar_ms: int) -> EmaCrossState:
    close = bars.close[valid_close_mask(bars)]
    fast, slow = EmaState.warm(close, p["fast"]), EmaState.warm(close, p["slow"])
    return EmaCrossState(p["slow"], fast, slow, len(close), _target(len(close), p["slow"], fast.value, slow.value))


EMA_CROSS = StrategySpec(
    name="ema_cross",
    defaults=DEFAULTS,
    batch_fn=_batch,
    start_fn=_start,
    check_fn=_check,
    warmup_fn=lambda p, bar_ms: p["slow"],
    description="+1 when EMA(fast) > EMA(slow) else -1, flat for the first `slow` bars",
    warm_fn=_warm,
    many_fn=_many,
)
