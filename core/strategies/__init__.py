"""Strategies: pure functions from bars to target positions in [-1, 1] (see `core.strategies.base`).

    STRATEGIES[name](bars, params, bar_ms=...)      -> targets per bar (decided at each bar's close)
    STRATEGIES[name].start(params, bar_ms=...)      -> incremental state; state.update(bar) -> (state, target)
    targets_for_execution(targets)                   -> position held per bar (filled at the next open)
    targets_for_block(block, bars) / start_for_block(block)   from a `StrategyBlock` of strategy_config.json
    ensemble_targets(ensemble, bars_by_symbol) / EnsembleState   the R1 ensemble (seed 004)
    candidate_targets(candidate, bars_by_symbol) / start_candidate(candidate)   the same at the
                                                     candidate's bar interval (prod_candidate_R1.yaml)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from core.strategies.base import HOUR_MS, StrategySpec, StrategyStateLike, targets_for_execution
from core.strategies.ensemble import EnsembleState, EnsembleTargets, ensemble_targets
from core.strategies.registry import STRATEGIES
from settings.models import CandidateConfig, StrategyBlock

__all__ = [
    "HOUR_MS",
    "STRATEGIES",
    "TIMEFRAME_MS",
    "StrategySpec",
    "candidate_targets",
    "start_candidate",
    "EnsembleState",
    "EnsembleTargets",
    "ensemble_targets",
    "get_strategy",
    "start_for_block",
    "targets_for_block",
    "targets_for_execution",
]

_MINUTE_MS = 60_000
#: Bar length of each `settings.models.Timeframe` (the core does not import the I/O package).
TIMEFRAME_MS: dict[str, int] = {
    "1m": _MINUTE_MS, "3m": 3 * _MINUTE_MS, "5m": 5 * _MINUTE_MS, "15m": 15 * _MINUTE_MS, "30m": 30 * _MINUTE_MS,
    "1h": HOUR_MS, "2h": 2 * HOUR_MS, "4h": 4 * HOUR_MS, "6h": 6 * HOUR_MS, "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS, "1d": 24 * HOUR_MS,
}


def get_strategy(name: str) -> StrategySpec:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}") from None


def targets_for_block(block: StrategyBlock, bars: Any) -> np.ndarray:
    """Targets of a strategy_config.json block on `bars` of the block's timeframe."""
    return get_strategy(block.strategy)(bars, block.params, bar_ms=TIMEFRAME_MS[block.timeframe])


def start_for_block(block: StrategyBlock) -> StrategyStateLike:
    return get_strategy(block.strategy).start(block.params, bar_ms=TIMEFRAME_MS[block.timeframe])


def candidate_targets(candidate: CandidateConfig, bars_by_symbol: Any) -> EnsembleTargets:
    """The candidate's ensemble targets on bars of its `interval`."""
    return ensemble_targets(candidate.ensemble, bars_by_symbol, bar_ms=TIMEFRAME_MS[candidate.interval])


def start_candidate(candidate: CandidateConfig) -> EnsembleState:
    return EnsembleState.start(candidate.ensemble, bar_ms=TIMEFRAME_MS[candidate.interval])
