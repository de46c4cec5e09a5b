"""The decision cycle: one new closed bar per symbol -> scores, regimes, targets, entries sized and risk-checked.

    cycle = DecisionCycle.warm(history_by_symbol, config)             # process start, states from batch results
    cycle, result = step(cycle, new_bars, inputs, snapshot, config, bar_time_ms=t)      # every closed bar
    result.decisions     one `Decision` per symbol that got a new bar, in universe order
    result.orders        the approved entries, in the order they were checked (best |hybrid| first)

Per symbol and bar (each O(1) or O(window), see `core.indicators`):
    screener fields (z, RSI, ATR, SMA cross)              `core.screener.ScreenerState`
    trend score                                            `core.alpha.TrendState`
    volatility regime                                      `core.regimes.RegimeState`
    strategy target of the symbol's `StrategyBlock`        `core.strategies`
    carry / expectancy / router scores and the hybrid with the tier's weights x the regime's modifiers
    the tier's gate and the screener's emission rule (no new entry on a side already held)
Then once per cycle, for the emitted candidates, best |hybrid| first (ties by symbol):
    sizing: `core.sizing.size_position` (tier x regime multiplier) -> a MARKET entry (intent OPEN)
    `RiskContext.build(snapshot, ...)` once; `ctx.check(order)` per order and `ctx.after(order)` for each
    approval, so entries approved in one cycle cannot jointly breach a cap that each passes alone.

Who calls it. Everything arrives as arguments and nothing here reads a clock, a file or the environment, so
the live executor (bars and snapshot from the exchange), paper trading (the local venue) and backtests (bars
from files, a simulated snapshot) run the same decisions. The caller owns the state between calls.

Timing (anti-lookahead). A decision made on the bar opening at `bar_time_ms` uses bars up to and including
it, and nothing later; it is meant to be executed after that bar has closed (the backtest fills it at the
next bar's open, as `core.strategies.targets_for_execution`). A bar whose `bar_time_ms` is not after the
symbol's last one is ignored (a re-polled kline cannot be counted twice). The first bar after a gap is folded
as it is (nothing invented) and decided `kline_gap`, never an entry (docs/Runbook.md "Bad input").

What it does not do. Exits (stops, take-profits, time stops) come from `core.sl_tp` and reach
`check_order` as closes; the router turns an approved parent into maker/taker/TWAP children; the executor
records fills into the trade and router statistics passed back in as `SymbolInputs`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeGuard, TypeVar

from core.alpha import (
    ComponentWeights,
    HybridResult,
    RouterStats,
    Side,
    TradeStats,
    TrendState,
    carry_score,
    effective_weights,
    expectancy_score,
    gate,
    intel_record,
    router_score,
    score_with_weights,
)
from core.bars import Bar, Ohlc
from core.orders import BOTH, Intent, entry_side
from core.portfolio import PortfolioSnapshot
from core.regimes import RegimeState, VolRegimeResult
from core.risk_limits import ProposedOrder, RiskContext, RiskDecision
from core.screener import (
    FLAT,
    ScreenerCycle,
    ScreenerFields,
    ScreenerRow,
    ScreenerState,
    emission_signal,
)
from core.sizing import SizingResult, size_position
from core.strategies import get_strategy
from core.strategies.base import StrategyStateLike
from core.timeframes import interval_ms
from settings.models import (
    REGIMES,
    TIERS,
    CarrySettings,
    CorrelationGroups,
    ExpectancySettings,
    PairsUniverse,
    Profile,
    RiskLimits,
    RouterScoreSettings,
    ScoreThresholds,
    ScreenerSettings,
    StrategyBlock,
    StrategyConfig,
    TrendSettings,
)

__all__ = [
    "STATUSES",
    "CycleConfig",
    "SymbolInputs",
    "SymbolState",
    "Decision",
    "CycleResult",
    "DecisionCycle",
    "step",
]

#: `Decision.status`, in the order a symbol can fall out of the pipeline.
STATUSES: tuple[str, ...] = (
    "warming_up",  # the screener fields are not defined yet (too little history): never an entry
    "kline_gap",  # the first bar after missing bars: its move spans the gap, so no entry on it
    "no_signal",  # the hybrid is inside the tier's gate band
    "in_position",  # the gate points at a side already held: no second entry
    "strategy_disagrees",  # `require_strategy_agreement` and the strategy target does not point that way
    "unsized",  # sizing could not produce an order: `sizing.reason` (or "no_filters") says why
    "vetoed",  # check_order said no: `risk.vetoes` carry every code, reason and number
    "approved",  # an entry to send
)


Lap = Callable[[str], None]


# --------------------------------------------------------------------------- inputs

_T = TypeVar("_T")


def _or(override: _T | None, default: _T) -> _T:
    """A config override, else the default (an explicit False or 0 is an override, not a gap)."""
    return default if override is None else override


@dataclass(frozen=True, eq=False)
class CycleConfig:
    """Everything a cycle reads besides the data. Build it once (it precomputes the weight and gate tables).

    A symbol's strategy is its `strategy_config.strategies` block, else `default_strategy` (None: no strategy,
    target 0); a disabled block means no strategy. Its tier is the block's `tier`, else the universe's
    (`pairs_universe.json`), else SATELLITE. Every block must be on `timeframe` (the bars the cycle is fed).

    The parameter blocks (`screener`, `trend`, `carry`, `expectancy`, `router`, `orient_quality`) are
    overrides: left at None they come from the strategy config (`strategy_config.screener`,
    `hybrid_scoring.trend_params`, ...). The blocks in force are the `*_params` fields (and
    `quality_oriented`), resolved once here: the settings.models types are the core's parameter types,
    there is no copy to keep in step.
    """

    strategy_config: StrategyConfig = StrategyConfig()
    limits: RiskLimits = RiskLimits()
    groups: CorrelationGroups = CorrelationGroups()
    universe: PairsUniverse | None = None
    profile: Profile | None = None
    timeframe: str = "1h"
    screener: ScreenerSettings | None = None
    trend: TrendSettings | None = None
    carry: CarrySettings | None = None
    expectancy: ExpectancySettings | None = None
    router: RouterScoreSettings | None = None
    default_strategy: StrategyBlock | None = None
    require_strategy_agreement: bool = False  # enter only where the strategy target points the gate's way
    orient_quality: bool | None = None  # see core.alpha.hybrid_score (default True)
    bar_ms: int = field(init=False)
    screener_params: ScreenerSettings = field(init=False, repr=False)
    trend_params: TrendSettings = field(init=False, repr=False)
    carry_params: CarrySettings = field(init=False, repr=False)
    expectancy_params: ExpectancySettings = field(init=False, repr=False)
    router_params: RouterScoreSettings = field(init=False, repr=False)
    quality_oriented: bool = field(init=False, repr=False)
    _weights: Mapping[tuple[str, str], ComponentWeights] = field(init=False, repr=False)
    _thresholds: Mapping[str, ScoreThresholds] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "bar_ms", interval_ms(self.timeframe))
        scoring, vol = self.strategy_config.hybrid_scoring, self.strategy_config.vol_regimes
        set_(self, "screener_params", _or(self.screener, self.strategy_config.screener))
        set_(self, "trend_params", _or(self.trend, scoring.trend_params))
        set_(self, "carry_params", _or(self.carry, scoring.carry_params))
        set_(self, "expectancy_params", _or(self.expectancy, scoring.expectancy_params))
        set_(self, "router_params", _or(self.router, scoring.router_params))
        set_(self, "quality_oriented", _or(self.orient_quality, scoring.orient_quality))
        set_(self, "_weights", MappingProxyType(
            {(t, r): effective_weights(scoring, t, r, vol) for t in TIERS for r in REGIMES}))
        set_(self, "_thresholds", MappingProxyType({t: scoring.thresholds_for(t) for t in TIERS}))
        blocks = list(self.strategy_config.strategies.values()) + [self.default_strategy]
        for block in blocks:
            if block is not None and block.enabled and block.timeframe != self.timeframe:
                raise ValueError(
                    f"strategy block {block.strategy} is on {block.timeframe}, the cycle on {self.timeframe}")

    def block_for(self, symbol: str) -> StrategyBlock | None:
        block = self.strategy_config.strategies.get(symbol, self.default_strategy)
        return block if block is not None and block.enabled else None

    def tier_for(self, symbol: str) -> str:
        block = self.strategy_config.strategies.get(symbol)
        if block is not None and block.tier:
            return block.tier
        return self.universe.tier_of(symbol) if self.universe is not None else "SATELLITE"

    def weights(self, tier: str, regime: str) -> ComponentWeights:
        """`core.alpha.effective_weights(scoring, tier, regime, vol_regimes)`, from the table."""
        w = self._weights.get((tier, regime))
        if w is None:
            sc = self.strategy_config
            return effective_weights(sc.hybrid_scoring, tier, regime, sc.vol_regimes)
        return w

    def thresholds(self, tier: str) -> ScoreThresholds:
        """`HybridScoring.thresholds_for(tier)`, from the table."""
        t = self._thresholds.get(tier)
        return t if t is not None else self.strategy_config.hybrid_scoring.thresholds_for(tier)


@dataclass(frozen=True, slots=True)
class SymbolInputs:
    """Per-symbol market and book-keeping inputs of a cycle; anything unknown stays None.

    funding_rate / mark_price / index_price: premiumIndex (`lastFundingRate`, `markPrice`, `indexPrice`).
    trade_stats / router_stats: the executor's closed-trade and execution statistics for the symbol.
    A missing input makes its score component missing (0, listed in `HybridResult.missing`). The mark, when
    given, is also the sizing price (else the bar's close).
    """

    funding_rate: float | None = None
    mark_price: float | None = None
    index_price: float | None = None
    trade_stats: TradeStats | None = None
    router_stats: RouterStats | None = None


_NO_INPUTS = SymbolInputs()


def _known(x: float | None) -> TypeGuard[float]:
    return x is not None and math.isfinite(x)


# --------------------------------------------------------------------------- per-symbol state


@dataclass(frozen=True, slots=True)
class SymbolState:
    """One symbol's incremental states (immutable; replaced every bar)."""

    symbol: str
    tier: str
    block: StrategyBlock | None
    screener: ScreenerState
    trend: TrendState
    regime: RegimeState
    strategy: StrategyStateLike | None
    last_bar_ms: int | None = None
    bars: int = 0  # bars folded (warm-up history included)

    @property
    def strategy_name(self) -> str | None:
        return self.block.strategy if self.block is not None else None

    @property
    def target(self) -> float:
        return self.strategy.target if self.strategy is not None else 0.0

    @classmethod
    def start(cls, symbol: str, config: CycleConfig) -> SymbolState:
        block = config.block_for(symbol)
        strategy = get_strategy(block.strategy).start(block.params, bar_ms=config.bar_ms) if block else None
        regime = RegimeState.start(config.bar_ms, config.strategy_config.vol_regimes.defaults)
        return cls(symbol, config.tier_for(symbol), block, ScreenerState.start(config.screener_params),
                   TrendState.start(config.trend_params), regime, strategy)

    @classmethod
    def warm(cls, symbol: str, bars: Any, config: CycleConfig, last_bar_ms: int | None = None) -> SymbolState:
        """`start(symbol, config)` after folding `bars`, built from batch results (see `core.indicators`)."""
        b = Ohlc.of(bars)
        block = config.block_for(symbol)
        strategy = get_strategy(block.strategy).warm(b, block.params, bar_ms=config.bar_ms) if block else None
        return cls(symbol, config.tier_for(symbol), block, ScreenerState.warm(b, config.screener_params),
                   TrendState.warm(b.close, config.trend_params),
                   RegimeState.warm(b.close, config.bar_ms, config.strategy_config.vol_regimes.defaults),
                   strategy, last_bar_ms, len(b))

    def fold(self, bars: Any, last_bar_ms: int | None = None) -> SymbolState:
        """This state after `advance` with every bar of `bars` (the bar-by-bar reference for `warm`)."""
        b = Ohlc.of(bars)
        state = self
        for i in range(len(b)):
            state = state.advance(b.bar(i))[0]
        return state if last_bar_ms is None else replace(state, last_bar_ms=last_bar_ms)

    def advance(self, bar: Bar, bar_time_ms: int | None = None, lap: Lap | None = None
                ) -> tuple[SymbolState, ScreenerFields, float, VolRegimeResult, float]:
        """(new state, screener fields, trend score, regime, strategy target) after one more bar."""
        screener, fields = self.screener.update(bar)
        if lap is not None:
            lap("screener fields")
        trend_state, trend = self.trend.update(bar.close)
        if lap is not None:
            lap("trend score")
        regime_state, regime = self.regime.update(bar.close)
        if lap is not None:
            lap("vol regime")
        if self.strategy is not None:
            strategy, target = self.strategy.update(bar)
        else:
            strategy, target = None, 0.0
        if lap is not None:
            lap("strategy target")
        last = self.last_bar_ms if bar_time_ms is None else bar_time_ms
        state = SymbolState(self.symbol, self.tier, self.block, screener, trend_state, regime_state, strategy, last,
                            self.bars + 1)
        return state, fields, trend, regime, target


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class Decision:
    """What the cycle decided for one symbol on one bar, with everything it was decided from."""

    symbol: str
    tier: str
    strategy: str | None
    bar: Bar
    fields: ScreenerFields
    regime: VolRegimeResult
    hybrid: HybridResult
    target: float  # the strategy's target position in [-1, 1] (0 without a strategy)
    gate: Side | None  # where the hybrid points (None inside the band or while warming up)
    row: ScreenerRow  # the `[screener]` breadcrumb row (signal BUY/SELL when emitted)
    status: str  # one of STATUSES
    sizing: SizingResult | None = None
    order: ProposedOrder | None = None
    risk: RiskDecision | None = None

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why there is no order: the veto codes, else the sizing reason, else the status; () when approved."""
        if self.approved:
            return ()
        if self.risk is not None:
            return self.risk.codes
        if self.status == "unsized":
            return (self.sizing.reason if self.sizing is not None else "no_filters",)
        return (self.status,)

    @property
    def intel(self) -> dict[str, Any]:
        """The symbol's `logs/state/intel.json` entry: `core.alpha.intel_record` plus the strategy target."""
        record = intel_record(self.hybrid, self.regime)
        record["strategy"] = self.strategy
        record["strategy_target"] = self.target
        return record

    def to_dict(self) -> dict[str, Any]:
        """The `[decision]` breadcrumb payload (JSON-ready)."""
        return {
            "symbol": self.symbol,
            "status": self.status,
            "reasons": list(self.reasons),
            "signal": self.row.signal,
            "gate": self.gate,
            "intel": self.intel,
            "sizing": self.sizing.to_dict() if self.sizing is not None else None,
            "risk": self.risk.to_dict() if self.risk is not None else None,
        }


@dataclass(frozen=True, eq=False)
class CycleResult:
    bar_time_ms: int | None
    decisions: tuple[Decision, ...]  # universe order
    checked: tuple[str, ...]  # symbols whose entry was risk-checked, in checking order
    ignored: tuple[str, ...]  # bars for symbols not in the cycle, or not newer than the symbol's last bar
    risk_context: RiskContext | None  # after counting the approved entries (None when nothing was checked)

    def decision(self, symbol: str) -> Decision | None:
        return next((d for d in self.decisions if d.symbol == symbol), None)

    @property
    def approved(self) -> tuple[Decision, ...]:
        """Approved decisions in checking order (the order to send them in)."""
        by_symbol = {d.symbol: d for d in self.decisions}
        return tuple(by_symbol[s] for s in self.checked if by_symbol[s].approved)

    @property
    def orders(self) -> tuple[ProposedOrder, ...]:
        return tuple(d.order for d in self.approved if d.order is not None)

    @property
    def screener(self) -> ScreenerCycle:
        """`[screener] attempted=.. emitted=..` of this cycle."""
        return ScreenerCycle(tuple(d.row for d in self.decisions))

    @property
    def intel(self) -> dict[str, dict[str, Any]]:
        return {d.symbol: d.intel for d in self.decisions}


# --------------------------------------------------------------------------- the cycle


@dataclass(frozen=True, eq=False)
class DecisionCycle:
    """The per-symbol states of the cycle (immutable: `step` returns a new one)."""

    symbols: tuple[str, ...]
    states: Mapping[str, SymbolState]

    @classmethod
    def start(cls, symbols: Iterable[str], config: CycleConfig) -> DecisionCycle:
        syms = tuple(dict.fromkeys(symbols))
        return cls(syms, MappingProxyType({s: SymbolState.start(s, config) for s in syms}))

    @classmethod
    def warm(
        cls,
        history: Mapping[str, Any],
        config: CycleConfig,
        *,
        symbols: Iterable[str] | None = None,
        last_bar_ms: Mapping[str, int] | int | None = None,
        from_batch: bool = True,
    ) -> DecisionCycle:
        """States after each symbol's `history` bars (anything with open/high/low/close arrays, e.g.
        `marketdata.Klines`). `from_batch` builds them from batch results (~0.5 ms per 1,000-bar symbol);
        False folds bar by bar (the reference, ~40x slower). A symbol of `symbols` without history starts
        cold. `last_bar_ms`: the open time of each history's last bar (default: its `open_time_ms[-1]`
        when it has one), so a later bar that is not newer is ignored."""
        syms = tuple(dict.fromkeys(symbols if symbols is not None else history))
        states: dict[str, SymbolState] = {}
        for s in syms:
            bars = history.get(s)
            if bars is None or len(bars.close) == 0:
                states[s] = SymbolState.start(s, config)
                continue
            last = last_bar_ms.get(s) if isinstance(last_bar_ms, Mapping) else last_bar_ms
            if last is None and getattr(bars, "open_time_ms", None) is not None:
                last = int(bars.open_time_ms[-1])
            if from_batch:
                states[s] = SymbolState.warm(s, bars, config, last)
            else:
                states[s] = SymbolState.start(s, config).fold(bars, last)
        return cls(syms, MappingProxyType(states))

    def step(
        self,
        new_bars: Mapping[str, Bar],
        inputs: Mapping[str, SymbolInputs] | None,
        snapshot: PortfolioSnapshot,
        config: CycleConfig,
        *,
        bar_time_ms: int | None = None,
        lap: Lap | None = None,
    ) -> tuple[DecisionCycle, CycleResult]:
        """One cycle. `new_bars`: the bar that just closed, per symbol (symbols without one keep their state
        and get no decision). `inputs`: per-symbol `SymbolInputs`. `snapshot`: the account now (NAV, legs,
        resting orders, filters, marks, trading state). `bar_time_ms`: the bars' open time (optional).
        `lap`: an optional instrumentation hook called with a stage name after each stage (the cycle never
        reads a clock itself; benchmarks pass one that does)."""
        inputs = inputs or {}
        states = dict(self.states)
        held = _held_sides(snapshot)
        decided: dict[str, Decision] = {}
        candidates: list[tuple[float, str]] = []
        ignored: list[str] = []
        for sym, bar in new_bars.items():
            st = states.get(sym)
            if st is None or (bar_time_ms is not None and st.last_bar_ms is not None and bar_time_ms <= st.last_bar_ms):
                ignored.append(sym)
                continue
            gap = bar_time_ms is not None and bar_time_ms - (st.last_bar_ms or bar_time_ms) > config.bar_ms
            st, fields, trend, regime, target = st.advance(bar, bar_time_ms, lap)
            states[sym] = st
            hybrid = _score(sym, st.tier, regime.vol_regime, trend, inputs.get(sym, _NO_INPUTS), config)
            if lap is not None:
                lap("carry/expect/router + hybrid")
            decided[sym], candidate = _screen(st, bar, fields, regime, hybrid, target, held.get(sym, ()), config, gap)
            if candidate:
                candidates.append((-abs(hybrid.hybrid), sym))
            if lap is not None:
                lap("gate + screener row")

        ctx: RiskContext | None = None
        checked: list[str] = []
        if candidates:
            ctx = RiskContext.build(snapshot, config.limits, config.groups, config.profile)
            if lap is not None:
                lap("RiskContext.build")
            for _, sym in sorted(candidates):
                d, ctx = _enter(decided[sym], inputs.get(sym, _NO_INPUTS), snapshot, ctx, config, lap)
                decided[sym] = d
                checked.append(sym)

        order = [s for s in self.symbols if s in decided]
        result = CycleResult(bar_time_ms, tuple(decided[s] for s in order), tuple(checked), tuple(ignored), ctx)
        new = DecisionCycle(self.symbols, MappingProxyType(states))
        if lap is not None:
            lap("records")
        return new, result


def step(
    state: DecisionCycle,
    new_bars: Mapping[str, Bar],
    market_inputs: Mapping[str, SymbolInputs] | None,
    snapshot: PortfolioSnapshot,
    config: CycleConfig,
    *,
    bar_time_ms: int | None = None,
    lap: Lap | None = None,
) -> tuple[DecisionCycle, CycleResult]:
    """`state.step(...)`: (new state, result)."""
    return state.step(new_bars, market_inputs, snapshot, config, bar_time_ms=bar_time_ms, lap=lap)


# --------------------------------------------------------------------------- the stages


def _held_sides(snapshot: PortfolioSnapshot) -> dict[str, tuple[str, ...]]:
    """symbol -> the directions of its open legs (hedge: the position sides; one-way: the net direction)."""
    out: dict[str, tuple[str, ...]] = {}
    for leg in snapshot.positions:
        if leg.qty > 0:
            out[leg.symbol] = out.get(leg.symbol, ()) + (leg.direction,)
    return out


def _score(symbol: str, tier: str, regime: str, trend: float, x: SymbolInputs, config: CycleConfig) -> HybridResult:
    scoring = config.strategy_config.hybrid_scoring
    if _known(x.funding_rate) or (_known(x.mark_price) and _known(x.index_price)):
        carry: float | None = carry_score(x.funding_rate, x.mark_price, x.index_price, scoring, config.carry_params)
    else:
        carry = None
    expectancy = expectancy_score(x.trade_stats, config.expectancy_params) if x.trade_stats is not None else None
    router = router_score(x.router_stats, config.router_params) if x.router_stats is not None else None
    return score_with_weights(symbol, tier, regime, config.weights(tier, regime), trend=trend, carry=carry,
                              expectancy=expectancy, router=router, orient_quality=config.quality_oriented)


def _screen(st: SymbolState, bar: Bar, fields: ScreenerFields, regime: VolRegimeResult, hybrid: HybridResult,
            target: float, held: tuple[str, ...], config: CycleConfig, gap: bool = False) -> tuple[Decision, bool]:
    """The gate and the screener row (as `core.screener.screen_symbol`), and whether the symbol is an entry
    candidate (its decision is then completed by `_enter`)."""
    side: Side | None = gate(hybrid.hybrid, config.thresholds(st.tier)) if fields.ready else None
    position = side if side in held else (held[0] if held else None)
    signal = emission_signal(side, position)
    row = ScreenerRow(st.symbol, config.timeframe, fields.z, fields.rsi, fields.atr, fields.cross_up, fields.cross_down,
                      position is not None, position or FLAT, hybrid.hybrid, signal)
    if not fields.ready:
        status = "warming_up"
    elif gap:
        status = "kline_gap"
    elif side is None:
        status = "no_signal"
    elif signal is None:
        status = "in_position"
    elif config.require_strategy_agreement and not (target > 0.0 if side == "LONG" else target < 0.0):
        status = "strategy_disagrees"
    else:
        status = "unsized"  # until `_enter` sizes it
    decision = Decision(st.symbol, st.tier, st.strategy_name, bar, fields, regime, hybrid, target, side, row, status)
    return decision, status == "unsized"


def _enter(d: Decision, x: SymbolInputs, snapshot: PortfolioSnapshot, ctx: RiskContext, config: CycleConfig,
           lap: Lap | None) -> tuple[Decision, RiskContext]:
    """Size the candidate's entry, check it, and count it in the context when approved."""
    filters = snapshot.filters.get(d.symbol)
    if filters is None:
        return replace(d, status="unsized"), ctx
    price = x.mark_price if _known(x.mark_price) and x.mark_price > 0 else d.bar.close
    block = None if d.strategy is None else config.block_for(d.symbol)
    sizing = size_position(
        d.symbol, ctx.nav_usd if ctx.nav_usd is not None else Decimal("NaN"), price, filters,
        strategy_config=config.strategy_config, regime=d.regime.vol_regime, tier=d.tier, limits=config.limits,
        universe=config.universe, profile=config.profile,
        strategy_leverage=block.leverage if block is not None else None,
        capital_per_trade=block.capital_per_trade if block is not None else None, market=True)
    if lap is not None:
        lap("sizing")
    if not sizing.ok:
        return replace(d, status="unsized", sizing=sizing), ctx
    side = d.gate
    assert side is not None
    order = ProposedOrder(d.symbol, entry_side(side), side if snapshot.hedge_mode else BOTH, sizing.qty,
                          order_type="MARKET", intent=Intent.OPEN, tag=d.strategy or "hybrid",
                          leverage=Decimal(sizing.exchange_leverage))
    decision = ctx.check(order)
    if decision.approved:
        ctx = ctx.after(order)
    if lap is not None:
        lap("check_order + after")
    return replace(d, status="approved" if decision.approved else "vetoed", sizing=sizing, order=order,
                    risk=decision), ctx


