"""What every strategy shares: the target convention, the execution shift, parameters, the spec record.

Target convention
-----------------
A strategy maps bars to a TARGET POSITION per bar in [-1, 1]: the fraction of the sleeve's allotted
exposure, + long / - short / 0 flat (sizing turns it into a quantity). `targets[t]` is decided at the
CLOSE of bar t from bars 0..t only, and is executed at the OPEN of bar t+1 (docs/Production_Launch_SOP.md `trade_on:
next_open`). `targets_for_execution` is the one place that shift lives: `held[t]` is the position held
during bar t. Appending bars never changes an earlier target (proved by the tests for every strategy).

Missing data: a bar whose close (or, where used, high/low) is not finite is skipped — the target repeats
the previous one and no indicator or position state moves (see `core.indicators`).

Batch and incremental
---------------------
Each strategy has a batch function over arrays and a frozen state with `update(bar) -> (state, target)`
for the live loop (O(1) or O(longest window) per bar). Folding all bars through `update` reproduces the
batch targets exactly (same decisions; indicator values agree to ~1e-12 and every comparison uses the
dead band of `core.indicators.SIGN_DEADBAND`). `spec.warm(bars, params)` builds the state that folding
`bars` would reach from batch results (the process-start warm-up: ~0.1 ms instead of ~5 ms for 1,000 bars).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from core.bars import Bar, Ohlc
from core.timeframes import HOUR_MS

__all__ = [
    "HOUR_MS",
    "Params",
    "StrategySpec",
    "StrategyStateLike",
    "targets_for_execution",
    "resolve_params",
    "hours_to_bars",
    "valid_close_mask",
    "expand_targets",
    "valid_rows",
]

Params = Mapping[str, Any]


def targets_for_execution(targets: Any) -> np.ndarray:
    """Anti-lookahead shift: the position HELD during bar t is the target decided at the close of t-1.

    held[0] = 0 (nothing decided before the first bar); held[t] = targets[t-1]. Backtests must earn bar
    t's return (open[t] -> open[t+1]) on held[t]; the live loop sends targets[t] right after bar t closes.
    """
    t = np.asarray(targets, dtype=np.float64)
    held = np.zeros(len(t))
    if len(t) > 1:
        held[1:] = t[:-1]
    return held


def hours_to_bars(hours: float, bar_ms: int) -> int:
    """Whole bars covering `hours` (rounded up): 72 h of 1h bars -> 72, of 4h bars -> 18."""
    if isinstance(bar_ms, bool) or int(bar_ms) != bar_ms or bar_ms <= 0:
        raise ValueError(f"bar_ms must be a positive integer, got {bar_ms!r}")
    return int(math.ceil(hours * HOUR_MS / bar_ms - 1e-9))


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"parameter {name!r} must be true/false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ValueError(f"parameter {name!r} must be an integer, got {value!r}")
        return int(value)
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"parameter {name!r} must be a finite number, got {value!r}")
        return float(value)
    if isinstance(default, tuple):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValueError(f"parameter {name!r} must be a list, got {value!r}")
        items = tuple(value)
        return tuple(_coerce(f"{name}[{i}]", v, default[0]) for i, v in enumerate(items)) if default else items
    return value


def resolve_params(name: str, defaults: Params, params: Params | None) -> dict[str, Any]:
    """Defaults overlaid with `params` (from `StrategyBlock.params` / `Sleeve.params`), types checked.

    Unknown keys are errors: a typo must not silently run the strategy on a default.
    """
    given = dict(params or {})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"{name}: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(defaults))}")
    return {k: _coerce(k, given[k], d) if k in given else d for k, d in defaults.items()}


def valid_close_mask(bars: Ohlc, *, need_range: bool = False) -> np.ndarray:
    mask = np.isfinite(bars.close)
    if need_range:
        mask &= np.isfinite(bars.high) & np.isfinite(bars.low)
    return mask


def valid_rows(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """`x[valid]`; `x` itself when every bar is valid (no copy: the batch functions only read it)."""
    return x if valid.all() else x[valid]


def expand_targets(targets_valid: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Targets computed on valid bars, put back in place: skipped bars repeat the previous target (0 first)."""
    if len(targets_valid) == len(valid):  # every bar valid: nothing to put back (the usual case)
        return np.asarray(targets_valid, dtype=np.float64)  # the batch functions pass a fresh array
    pos = np.cumsum(valid) - 1
    out = np.zeros(len(valid))
    has = pos >= 0
    if len(targets_valid):
        out[has] = targets_valid[pos[has]]
    return out


class StrategyStateLike(Protocol):
    @property
    def target(self) -> float: ...  # read-only: the states are frozen dataclasses

    def update(self, bar: Bar) -> tuple[StrategyStateLike, float]: ...


BatchFn = Callable[[Ohlc, dict, int], np.ndarray]
ManyFn = Callable[[Ohlc, list[dict], int], list[np.ndarray]]
StartFn = Callable[[dict, int], StrategyStateLike]
WarmFn = Callable[[Ohlc, dict, int], StrategyStateLike]


def fold_bars(state: StrategyStateLike, bars: Ohlc) -> StrategyStateLike:
    """`state` after `update` with every bar of `bars` in order (the reference for `warm`)."""
    for i in range(len(bars)):
        state, _ = state.update(bars.bar(i))
    return state


@dataclass(frozen=True)
class StrategySpec:
    """A registered strategy: callable as the batch function, `start` for the incremental state."""

    name: str
    defaults: Mapping[str, Any]
    batch_fn: BatchFn = field(repr=False)
    start_fn: StartFn = field(repr=False)
    check_fn: Callable[[dict], None] = field(repr=False, default=lambda p: None)
    warmup_fn: Callable[[dict, int], int] = field(repr=False, default=lambda p, bar_ms: 0)
    description: str = ""
    warm_fn: WarmFn | None = field(repr=False, default=None)  # None: `warm` folds bar by bar
    many_fn: ManyFn | None = field(repr=False, default=None)  # None: `many` calls the batch function per set

    def params(self, params: Params | None = None) -> dict[str, Any]:
        """Resolved and validated parameters."""
        resolved = resolve_params(self.name, self.defaults, params)
        self.check_fn(resolved)
        return resolved

    def __call__(self, bars: Any, params: Params | None = None, *, bar_ms: int = HOUR_MS) -> np.ndarray:
        """Targets in [-1, 1] for every bar of `bars` (anything with open/high/low/close arrays)."""
        hours_to_bars(1.0, bar_ms)  # validates bar_ms
        return self.batch_fn(Ohlc.of(bars), self.params(params), int(bar_ms))

    def many(self, bars: Any, params_list: Sequence[Params | None], *, bar_ms: int = HOUR_MS) -> list[np.ndarray]:
        """`[self(bars, p, bar_ms=bar_ms) for p in params_list]`, bit for bit; a strategy with a `many_fn`
        shares work between the parameter sets of a sweep (e.g. each EMA span computed once)."""
        hours_to_bars(1.0, bar_ms)
        b, resolved = Ohlc.of(bars), [self.params(p) for p in params_list]
        if self.many_fn is None:
            return [self.batch_fn(b, p, int(bar_ms)) for p in resolved]
        return self.many_fn(b, resolved, int(bar_ms))

    def start(self, params: Params | None = None, *, bar_ms: int = HOUR_MS) -> StrategyStateLike:
        """The incremental state before the first bar."""
        hours_to_bars(1.0, bar_ms)
        return self.start_fn(self.params(params), int(bar_ms))

    def warm(self, bars: Any, params: Params | None = None, *, bar_ms: int = HOUR_MS) -> StrategyStateLike:
        """The incremental state after folding `bars` through `start(...).update`, built from batch results
        (same target; indicator values agree to ~1e-13, and the state then updates as the folded one)."""
        hours_to_bars(1.0, bar_ms)
        p, b = self.params(params), Ohlc.of(bars)
        if self.warm_fn is None:
            return fold_bars(self.start_fn(p, int(bar_ms)), b)
        return self.warm_fn(b, p, int(bar_ms))

    def warmup_bars(self, params: Params | None = None, *, bar_ms: int = HOUR_MS) -> int:
        """Valid bars before the strategy can hold a position (the live loop's minimum history)."""
        return self.warmup_fn(self.params(params), int(bar_ms))
