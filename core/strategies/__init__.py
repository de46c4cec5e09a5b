"""Strategies: pure functions from bars to target positions in [-1, 1] (see `core.strategies.base`).

    STRATEGIES[name](bars, params, bar_ms=...)      -> targets per bar (decided at each bar's close)
    STRATEGIES[name].start(params, bar_ms=...)      -> incremental state; state.update(bar) -> (state, target)
    STRATEGIES[name].warm(bars, params, bar_ms=...) -> that state after `bars`, built from batch results
    targets_for_execution(targets)                   -> position held per bar (filled at the next open)
    targets_for_block(block, bars) / start_for_block(block) / warm_for_block(block, bars)
                                                     from a `StrategyBlock` of strategy_config.json
    ensemble_targets(ensemble, bars_by_symbol) / EnsembleState   the R1 ensemble (docs/Production_Launch_SOP.md)
    candidate_targets(candidate, bars_by_symbol) / start_candidate(candidate) / warm_candidate(...)
                                                     the same at the candidate's bar interval
                                                     (prod_candidate_R1.yaml)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from core.strategies.base import HOUR_MS, StrategySpec, StrategyStateLike, targets_for_execution
from core.strategies.ensemble import EnsembleState, EnsembleTargets, ensemble_targets
from core.strategies.registry import STRATEGIES
from core.timeframes import INTERVAL_MS
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
    "warm_candidate",
    "warm_for_block",
]

#: Bar length of each `settings.models.Timeframe`: the same object as `core.timeframes.INTERVAL_MS` (kept as a name).
TIMEFRAME_MS = INTERVAL_MS


def get_strategy(name: str) -> StrategySpec:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}") from None


def targets_for_block(block: StrategyBlock, bars: Any) -> np.ndarray:
    """Targets of a strategy_config.json block on `bars` of the block's timeframe."""
    return get_strategy(block.strategy)(bars, block.params, bar_ms=INTERVAL_MS[block.timeframe])


def start_for_block(block: StrategyBlock) -> StrategyStateLike:
    return get_strategy(block.strategy).start(block.params, bar_ms=INTERVAL_MS[block.timeframe])


def warm_for_block(block: StrategyBlock, bars: Any) -> StrategyStateLike:
    """`start_for_block(block)` after folding `bars`, built from batch results."""
    return get_strategy(block.strategy).warm(bars, block.params, bar_ms=INTERVAL_MS[block.timeframe])


def candidate_targets(candidate: CandidateConfig, bars_by_symbol: Any) -> EnsembleTargets:
    """The candidate's ensemble targets on bars of its `interval`."""
    return ensemble_targets(candidate.ensemble, bars_by_symbol, bar_ms=INTERVAL_MS[candidate.interval])


def start_candidate(candidate: CandidateConfig) -> EnsembleState:
    return EnsembleState.start(candidate.ensemble, bar_ms=INTERVAL_MS[candidate.interval])


def warm_candidate(candidate: CandidateConfig, bars_by_symbol: Any) -> EnsembleState:
    return EnsembleState.warm(candidate.ensemble, bars_by_symbol, bar_ms=INTERVAL_MS[candidate.interval])
