"""The R1 ensemble (docs/Production_Launch_SOP.md): sleeves (symbol, strategy, weight, params) -> per-symbol weighted
targets.

    per_sleeve[name][t]  = the sleeve strategy's target on its symbol's bars, in [-1, 1]
    per_symbol[sym][t]   = sum over the sleeves on `sym` of weight * per_sleeve target

Weights sum to 1 (validated by `EnsembleConfig`), so |per_symbol| <= 1 and the portfolio's gross target
is at most 1 (R1: BTC 0.34, ETH 0.33, SOL 0.33). Sleeves on the same symbol net out. `enabled` is the
caller's switch: these functions compute the targets either way.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.bars import Bar
from core.strategies.base import HOUR_MS, StrategyStateLike
from core.strategies.registry import STRATEGIES
from settings.models import EnsembleConfig, Sleeve

__all__ = ["EnsembleTargets", "ensemble_targets", "EnsembleState"]


@dataclass(frozen=True, eq=False)
class EnsembleTargets:
    per_sleeve: Mapping[str, np.ndarray]  # sleeve name -> unweighted target per bar of its symbol
    per_symbol: Mapping[str, np.ndarray]  # symbol -> weighted target per bar


def _bars_for(sleeve: Sleeve, bars_by_symbol: Mapping[str, Any]) -> Any:
    try:
        return bars_by_symbol[sleeve.symbol]
    except KeyError:
        raise ValueError(f"sleeve {sleeve.name}: no bars for {sleeve.symbol}") from None


def ensemble_targets(ensemble: EnsembleConfig, bars_by_symbol: Mapping[str, Any], *,
                     bar_ms: int = HOUR_MS) -> EnsembleTargets:
    """Batch targets of every sleeve and their per-symbol weighted sums (bars of one symbol share an index)."""
    per_sleeve: dict[str, np.ndarray] = {}
    per_symbol: dict[str, np.ndarray] = {}
    for sleeve in ensemble.sleeves:
        targets = STRATEGIES[sleeve.strategy](_bars_for(sleeve, bars_by_symbol), sleeve.params, bar_ms=bar_ms)
        per_sleeve[sleeve.name] = targets
        if sleeve.symbol in per_symbol:
            per_symbol[sleeve.symbol] = per_symbol[sleeve.symbol] + sleeve.weight * targets
        else:
            per_symbol[sleeve.symbol] = sleeve.weight * targets
    return EnsembleTargets(per_sleeve, per_symbol)


@dataclass(frozen=True, slots=True)
class EnsembleState:
    """Incremental ensemble: one strategy state per sleeve; `update` takes the new bar of each symbol."""

    sleeves: tuple[Sleeve, ...]
    states: tuple[StrategyStateLike, ...]

    @classmethod
    def start(cls, ensemble: EnsembleConfig, *, bar_ms: int = HOUR_MS) -> EnsembleState:
        sleeves = tuple(ensemble.sleeves)
        return cls(sleeves, tuple(STRATEGIES[s.strategy].start(s.params, bar_ms=bar_ms) for s in sleeves))

    @classmethod
    def warm(
        cls, ensemble: EnsembleConfig, bars_by_symbol: Mapping[str, Any], *, bar_ms: int = HOUR_MS
    ) -> EnsembleState:
        """The state after folding each sleeve's symbol bars, built from batch results (see `StrategySpec.warm`)."""
        sleeves = tuple(ensemble.sleeves)
        return cls(sleeves, tuple(
            STRATEGIES[s.strategy].warm(_bars_for(s, bars_by_symbol), s.params, bar_ms=bar_ms) for s in sleeves))

    @property
    def per_sleeve(self) -> dict[str, float]:
        return {s.name: st.target for s, st in zip(self.sleeves, self.states)}

    @property
    def per_symbol(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for sleeve, state in zip(self.sleeves, self.states):
            out[sleeve.symbol] = out.get(sleeve.symbol, 0.0) + sleeve.weight * state.target
        return out

    def update(self, bars: Mapping[str, Bar]) -> tuple[EnsembleState, dict[str, float]]:
        """Advance every sleeve whose symbol has a new bar in `bars`; a symbol without one keeps its
        target (as a skipped bar). Returns the per-symbol weighted targets."""
        states = tuple(
            state.update(bars[sleeve.symbol])[0] if sleeve.symbol in bars else state
            for sleeve, state in zip(self.sleeves, self.states)
        )
        new = EnsembleState(self.sleeves, states)
        return new, new.per_symbol
