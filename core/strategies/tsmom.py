"""Time-series momentum on EMAs: `tsmom_ema` (one lookback) and `tsmom_multi_ema` (several).

    s_L[t] = sign(close[t] - EMA_L[t])  (0 within the dead band, and 0 for the first L bars)
    tsmom_ema:       target = s_L                            (R1 SOL sleeve: L = 168)
    tsmom_multi_ema: target = mean over L in lookbacks of s_L (R1 ETH sleeve: 72, 168, 336, 720)

so the multi-lookback target moves in steps of 1/len(lookbacks): conviction grows as horizons agree.
With `enable_shorts` false a negative target becomes 0 (long/flat).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.bars import Bar, Ohlc
from core.indicators import EmaState, deadband_sign, deadband_signs, ema
from core.strategies.base import StrategySpec, expand_targets, valid_close_mask

TSMOM_DEFAULTS = {"lookback": 168, "enable_shorts": True}
MULTI_DEFAULTS = {"lookbacks": (72, 168, 336, 720), "enable_shorts": True}


def _check_lookback(p: dict) -> None:
    if p["lookback"] < 1:
        raise ValueError(f"tsmom_ema: lookback must be >= 1, got {p['lookback']}")


def _check_lookbacks(p: dict) -> None:
    if not p["lookbacks"] or any(lb < 1 for lb in p["lookbacks"]):
        raise ValueError(f"tsmom_multi_ema: lookbacks must be a non-empty list of integers >= 1, got {p['lookbacks']}")


def _momentum_signs(close: np.ndarray, lookback: int) -> np.ndarray:
    s = deadband_signs(close, ema(close, lookback)).astype(np.float64)
    s[:lookback] = 0.0
    return s


def _long_only(target: np.ndarray | float, enable_shorts: bool):
    return target if enable_shorts else np.maximum(target, 0.0)


def _batch_single(bars: Ohlc, p: dict, bar_ms: int) -> np.ndarray:
    valid = valid_close_mask(bars)
    targets = _long_only(_momentum_signs(bars.close[valid], p["lookback"]), p["enable_shorts"])
    return expand_targets(targets, valid)


def _batch_multi(bars: Ohlc, p: dict, bar_ms: int) -> np.ndarray:
    valid = valid_close_mask(bars)
    close = bars.close[valid]
    total = np.zeros(len(close))
    for lookback in p["lookbacks"]:
        total += _momentum_signs(close, lookback)
    targets = _long_only(total / len(p["lookbacks"]), p["enable_shorts"])
    return expand_targets(targets, valid)


@dataclass(frozen=True, slots=True)
class TsmomState:
    """Incremental state of both strategies (one EMA per lookback)."""

    lookbacks: tuple[int, ...]
    emas: tuple[EmaState, ...]
    enable_shorts: bool
    count: int = 0
    target: float = 0.0

    def update(self, bar: Bar) -> tuple[TsmomState, float]:
        close = bar.close
        if not math.isfinite(close):
            return self, self.target
        emas = tuple(state.update(close)[0] for state in self.emas)
        count = self.count + 1
        target = self._target(close, emas, count)
        return TsmomState(self.lookbacks, emas, self.enable_shorts, count, target), target

    def _target(self, close: float, emas: tuple[EmaState, ...], count: int) -> float:
        total = 0.0
        for lookback, state in zip(self.lookbacks, emas):
            if count > lookback:
                total += deadband_sign(close, state.value)
        target = total / len(self.lookbacks)
        return 0.0 if not self.enable_shorts and target < 0.0 else target


def _start(lookbacks: tuple[int, ...], enable_shorts: bool) -> TsmomState:
    return TsmomState(lookbacks, tuple(EmaState.start(lb) for lb in lookbacks), enable_shorts)


def _warm(lookbacks: tuple[int, ...], enable_shorts: bool, bars: Ohlc) -> TsmomState:
    close = bars.close[valid_close_mask(bars)]
    state = TsmomState(lookbacks, tuple(EmaState.warm(close, lb) for lb in lookbacks), enable_shorts, len(close))
    if not len(close):
        return state
    target = state._target(float(close[-1]), state.emas, state.count)
    return TsmomState(lookbacks, state.emas, enable_shorts, state.count, target)


TSMOM_EMA = StrategySpec(
    name="tsmom_ema",
    defaults=TSMOM_DEFAULTS,
    batch_fn=_batch_single,
    start_fn=lambda p, bar_ms: _start((p["lookback"],), p["enable_shorts"]),
    check_fn=_check_lookback,
    warmup_fn=lambda p, bar_ms: p["lookback"],
    description="sign(close - EMA(lookback)), flat for the first `lookback` bars",
    warm_fn=lambda bars, p, bar_ms: _warm((p["lookback"],), p["enable_shorts"], bars),
)

TSMOM_MULTI_EMA = StrategySpec(
    name="tsmom_multi_ema",
    defaults=MULTI_DEFAULTS,
    batch_fn=_batch_multi,
    start_fn=lambda p, bar_ms: _start(tuple(p["lookbacks"]), p["enable_shorts"]),
    check_fn=_check_lookbacks,
    warmup_fn=lambda p, bar_ms: min(p["lookbacks"]),
    description="mean of sign(close - EMA(L)) over the lookbacks",
    warm_fn=lambda bars, p, bar_ms: _warm(tuple(p["lookbacks"]), p["enable_shorts"], bars),
)
