"""Typed models of every config file under `config/`.

These are values: frozen, validated, free of I/O. The pure core reads them as arguments. Conventions:
every `*_pct` / `*_nav_pct` value is a FRACTION (0.10 = 10 %), validated to (0, 1] unless noted.
"""
from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Tier = Literal["CORE", "SATELLITE", "TACTICAL", "ALT-EXT"]
TIERS: tuple[str, ...] = ("CORE", "SATELLITE", "TACTICAL", "ALT-EXT")
Regime = Literal["low", "normal", "high", "crisis"]
REGIMES: tuple[str, ...] = ("low", "normal", "high", "crisis")
StrategyName = Literal["breakout_vol_atr", "tsmom_multi_ema", "tsmom_ema", "ma_crossover", "ema_cross"]
STRATEGY_NAMES: tuple[str, ...] = ("breakout_vol_atr", "tsmom_multi_ema", "tsmom_ema", "ma_crossover", "ema_cross")
Timeframe = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]
MarginType = Literal["ISOLATED", "CROSSED"]
TradingState = Literal["ACTIVE", "REDUCING", "HALTED"]

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}USDT$")

Fraction = Annotated[float, Field(gt=0.0, le=1.0, description="fraction: 0.10 = 10 %")]
NonNegFraction = Annotated[float, Field(ge=0.0, le=1.0, description="fraction: 0.10 = 10 %")]
Score = Annotated[float, Field(ge=-1.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Frozen(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored), instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _check_symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not _SYMBOL_RE.match(symbol):
        raise ValueError(f"{symbol!r} is not a USD-M USDT perpetual symbol such as 'BTCUSDT' (upper case)")
    return symbol


# --------------------------------------------------------------------------- pairs_universe.json
class SymbolOverride(Frozen):
    target_leverage: Annotated[int, Field(ge=1, le=125)] | None = None
    min_notional: PositiveFloat | None = None
    tier: Tier | None = None
    max_nav_pct: Fraction | None = None


class PairsUniverse(Frozen):
    symbols: list[str] = Field(min_length=1)
    overrides: dict[str, SymbolOverride] = Field(default_factory=dict)
    default_tier: Tier = "SATELLITE"

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, symbols: list[str]) -> list[str]:
        for s in symbols:
            _check_symbol(s)
        dupes = sorted({s for s in symbols if symbols.count(s) > 1})
        if dupes:
            raise ValueError(f"duplicate symbols: {', '.join(dupes)}")
        return symbols

    @model_validator(mode="after")
    def _overrides_in_universe(self) -> "PairsUniverse":
        unknown = sorted(set(self.overrides) - set(self.symbols))
        if unknown:
            raise ValueError(f"overrides for symbols not in 'symbols': {', '.join(unknown)}")
        return self

    def tier_of(self, symbol: str) -> str:
        o = self.overrides.get(symbol)
        return o.tier if o and o.tier else self.default_tier


# --------------------------------------------------------------------------- strategy_config.json
class HybridWeights(Frozen):
    trend: Annotated[float, Field(ge=0.0, le=1.0)] = 0.40
    carry: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    expectancy: Annotated[float, Field(ge=0.0, le=1.0)] = 0.20
    router: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15

    @model_validator(mode="after")
    def _sum_to_one(self) -> "HybridWeights":
        total = self.trend + self.carry + self.expectancy + self.router
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"weights must sum to 1.0, they sum to {total:.6g}")
        return self


class ScoreThresholds(Frozen):
    min_hybrid_score_long: Score = 0.20
    min_hybrid_score_short: Score = 0.20


class HybridScoring(Frozen):
    weights: HybridWeights = HybridWeights()
    tier_weights: dict[Tier, HybridWeights] = Field(default_factory=dict)
    min_hybrid_score_long: Score = 0.20
    min_hybrid_score_short: Score = 0.20
    tier_thresholds: dict[Tier, ScoreThresholds] = Field(default_factory=dict)
    # Normalisation of the carry inputs: annualised funding / basis at which the score saturates.
    carry_funding_saturation_apr: PositiveFloat = 0.50
    carry_basis_saturation_apr: PositiveFloat = 0.50

    def weights_for(self, tier: str) -> HybridWeights:
        return self.tier_weights.get(tier, self.weights)  # type: ignore[arg-type]

    def thresholds_for(self, tier: str) -> ScoreThresholds:
        return self.tier_thresholds.get(  # type: ignore[arg-type]
            tier,
            ScoreThresholds(
                min_hybrid_score_long=self.min_hybrid_score_long,
                min_hybrid_score_short=self.min_hybrid_score_short,
            ),
        )


class TierConfig(Frozen):
    per_trade_nav_pct: Fraction


class RatioThresholds(Frozen):
    """`ratio = vol_short / vol_long`: < low → low; < normal → normal; < high → high; else crisis."""

    low: PositiveFloat = 0.75
    normal: PositiveFloat = 1.25
    high: PositiveFloat = 1.75

    @model_validator(mode="after")
    def _increasing(self) -> "RatioThresholds":
        if not (self.low < self.normal < self.high):
            raise ValueError(f"need low < normal < high, got {self.low} / {self.normal} / {self.high}")
        return self


class VolRegimeDefaults(Frozen):
    short_days: PositiveFloat = 7.0
    long_days: PositiveFloat = 30.0
    ratio_low_high: RatioThresholds = RatioThresholds()

    @model_validator(mode="after")
    def _short_lt_long(self) -> "VolRegimeDefaults":
        if self.short_days >= self.long_days:
            raise ValueError(f"short_days ({self.short_days}) must be below long_days ({self.long_days})")
        return self


RegimeMultipliers = dict[Regime, Annotated[float, Field(ge=0.0, le=5.0)]]


class WeightModifiers(Frozen):
    """Multipliers applied to the hybrid weights in a regime (the result is re-normalised to sum 1)."""

    trend: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    carry: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    expectancy: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    router: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0


def _default_multipliers() -> dict[str, dict[str, float]]:
    return {
        "CORE": {"low": 1.15, "normal": 1.0, "high": 0.75, "crisis": 0.5},
        "SATELLITE": {"low": 1.10, "normal": 1.0, "high": 0.70, "crisis": 0.40},
        "TACTICAL": {"low": 1.05, "normal": 1.0, "high": 0.60, "crisis": 0.30},
        "ALT-EXT": {"low": 1.0, "normal": 1.0, "high": 0.50, "crisis": 0.25},
    }


def _default_modifiers() -> dict[str, WeightModifiers]:
    return {
        "low": WeightModifiers(),
        "normal": WeightModifiers(),
        "high": WeightModifiers(carry=0.7, expectancy=0.9, router=1.2),
        "crisis": WeightModifiers(carry=0.4, expectancy=0.8, router=1.5),
    }


class VolRegimes(Frozen):
    defaults: VolRegimeDefaults = VolRegimeDefaults()
    sizing_multipliers: dict[Tier, RegimeMultipliers] = Field(default_factory=_default_multipliers)
    hybrid_weight_modifiers: dict[Regime, WeightModifiers] = Field(default_factory=_default_modifiers)

    @field_validator("sizing_multipliers")
    @classmethod
    def _complete(cls, table: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for tier, row in table.items():
            missing = [r for r in REGIMES if r not in row]
            if missing:
                raise ValueError(f"tier {tier} lacks multipliers for regimes: {', '.join(missing)}")
        return table

    def sizing_multiplier(self, tier: str, regime: str) -> float:
        row = self.sizing_multipliers.get(tier)  # type: ignore[call-overload]
        return 1.0 if row is None else float(row[regime])  # type: ignore[index]


class StrategyBlock(Frozen):
    strategy: StrategyName
    enabled: bool = True
    timeframe: Timeframe = "1h"
    tier: Tier | None = None
    capital_per_trade: PositiveFloat | None = None  # USDT; None = size from per_trade_nav_pct
    leverage: Annotated[int, Field(ge=1, le=125)] = 3
    params: dict[str, float | int | bool | list[int] | list[float]] = Field(default_factory=dict)


def _default_tiers() -> dict[str, TierConfig]:
    return {
        "CORE": TierConfig(per_trade_nav_pct=0.04),
        "SATELLITE": TierConfig(per_trade_nav_pct=0.025),
        "TACTICAL": TierConfig(per_trade_nav_pct=0.015),
        "ALT-EXT": TierConfig(per_trade_nav_pct=0.01),
    }


class StrategyConfig(Frozen):
    strategies: dict[str, StrategyBlock] = Field(default_factory=dict)
    tiers: dict[Tier, TierConfig] = Field(default_factory=_default_tiers)
    hybrid_scoring: HybridScoring = HybridScoring()
    vol_regimes: VolRegimes = VolRegimes()

    @field_validator("strategies")
    @classmethod
    def _keys_are_symbols(cls, blocks: dict[str, StrategyBlock]) -> dict[str, StrategyBlock]:
        for symbol in blocks:
            _check_symbol(symbol)
        return blocks

    @field_validator("tiers")
    @classmethod
    def _all_tiers(cls, tiers: dict[str, TierConfig]) -> dict[str, TierConfig]:
        missing = [t for t in TIERS if t not in tiers]
        if missing:
            raise ValueError(f"missing tiers: {', '.join(missing)}")
        return tiers


# --------------------------------------------------------------------------- risk_limits.json
class CircuitBreakers(Frozen):
    max_portfolio_dd_nav_pct: Fraction = 0.10


class RiskLimits(Frozen):
    """Names in upper case are the runbook's own (seed 001 §5); all percentages are fractions."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    circuit_breakers: CircuitBreakers = CircuitBreakers()
    KILL_DD_PCT: Fraction = 0.15
    KILL_DAILY_LOSS_PCT: Fraction = 0.05
    MAX_POSITIONS: PositiveInt = 10
    MAX_LEVERAGE: Annotated[float, Field(gt=0.0, le=125.0)] = 5.0
    per_symbol_nav_pct: Fraction = 0.20
    per_symbol_nav_pct_overrides: dict[str, Fraction] = Field(default_factory=dict)
    max_gross_exposure_nav_pct: Annotated[float, Field(gt=0.0, le=50.0)] = 0.80
    nav_freshness_seconds: PositiveFloat = 90.0
    nav_history_len: Annotated[int, Field(ge=2)] = 500
    kill_switch: bool = False
    trading_state: TradingState = "ACTIVE"

    @field_validator("per_symbol_nav_pct_overrides")
    @classmethod
    def _override_symbols(cls, table: dict[str, float]) -> dict[str, float]:
        for s in table:
            _check_symbol(s)
        return table

    @model_validator(mode="after")
    def _circuit_before_kill(self) -> "RiskLimits":
        if self.circuit_breakers.max_portfolio_dd_nav_pct > self.KILL_DD_PCT:
            raise ValueError(
                "circuit_breakers.max_portfolio_dd_nav_pct "
                f"({self.circuit_breakers.max_portfolio_dd_nav_pct}) must not exceed KILL_DD_PCT ({self.KILL_DD_PCT}):"
                " the circuit stops new risk before the kill switch flattens"
            )
        return self

    def symbol_nav_cap(self, symbol: str) -> float:
        return self.per_symbol_nav_pct_overrides.get(symbol, self.per_symbol_nav_pct)


# --------------------------------------------------------------------------- correlation_groups.json
class CorrelationGroup(Frozen):
    symbols: list[str] = Field(min_length=1)
    max_group_nav_pct: Fraction

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, symbols: list[str]) -> list[str]:
        for s in symbols:
            _check_symbol(s)
        return symbols


class CorrelationGroups(Frozen):
    groups: dict[str, CorrelationGroup] = Field(default_factory=dict)
    near_cap_fraction: Fraction = 0.80  # OK below 80 % of the cap, NEAR from 80 % to 100 %, CAPPED above


# --------------------------------------------------------------------------- runtime.yaml
class TwapConfig(Frozen):
    enabled: bool = True
    min_notional_usd: PositiveFloat = 500.0
    slices: Annotated[int, Field(ge=1, le=100)] = 4
    interval_seconds: Annotated[float, Field(ge=0.0, le=3600.0)] = 10.0


class RouterConfig(Frozen):
    maker_first: bool = True
    maker_offset_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 1.0
    maker_timeout_seconds: Annotated[float, Field(gt=0.0, le=600.0)] = 5.0
    taker_fallback: bool = True
    max_slippage_bps: Annotated[float, Field(gt=0.0, le=1000.0)] = 30.0
    twap: TwapConfig = TwapConfig()


class LoopConfig(Frozen):
    executor_interval_seconds: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    sync_state_interval_seconds: Annotated[float, Field(gt=0.0, le=3600.0)] = 30.0
    screener_timeframe: Timeframe = "15m"
    history_bars: Annotated[int, Field(ge=50, le=5000)] = 1000


class ExchangeConfig(Frozen):
    recv_window_ms: Annotated[int, Field(ge=1000, le=60000)] = 5000
    request_timeout_seconds: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    weight_budget_fraction: Fraction = 0.8  # slow down above 80 % of the exchange's 1-minute weight


class RuntimeConfig(Frozen):
    profile: Literal["dev", "demo", "prod"] = "dev"
    router: RouterConfig = RouterConfig()
    loop: LoopConfig = LoopConfig()
    exchange: ExchangeConfig = ExchangeConfig()


# --------------------------------------------------------------------------- profiles.yaml (seed 003)
class Profile(Frozen):
    max_position_usd: PositiveFloat
    max_leverage: Annotated[float, Field(gt=0.0, le=125.0)]
    enable_shorts: bool
    local_venue: bool  # seed 003's "mock broker": our local Binance-compatible venue


class Profiles(Frozen):
    profiles: dict[Literal["dev", "demo", "prod"], Profile]

    @field_validator("profiles")
    @classmethod
    def _all(cls, table: dict[str, Profile]) -> dict[str, Profile]:
        missing = [p for p in ("dev", "demo", "prod") if p not in table]
        if missing:
            raise ValueError(f"missing profiles: {', '.join(missing)}")
        return table


# --------------------------------------------------------------------------- prod_candidate_R1.yaml (seed 004)
class MarketConfig(Frozen):
    type: Literal["futures"] = "futures"
    margin_type: MarginType = "ISOLATED"
    leverage: Annotated[int, Field(ge=1, le=125)] = 3


class CostsConfig(Frozen):
    fee_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 5.0
    slippage_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 3.0


class FundingConfig(Frozen):
    enabled: bool = True


class Sleeve(Frozen):
    name: str
    symbol: str
    strategy: StrategyName
    weight: Fraction
    params: dict[str, float | int | bool | list[int] | list[float]] = Field(default_factory=dict)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, s: str) -> str:
        return _check_symbol(s)


class EnsembleConfig(Frozen):
    enabled: bool = True
    sleeves: list[Sleeve] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> "EnsembleConfig":
        total = sum(s.weight for s in self.sleeves)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"sleeve weights must sum to 1.0, they sum to {total:.6g}")
        names = [s.name for s in self.sleeves]
        if len(set(names)) != len(names):
            raise ValueError("sleeve names must be unique")
        return self


class CandidateConfig(Frozen):
    name: str
    interval: Timeframe = "1h"
    trade_on: Literal["next_open"]  # anti-lookahead: a signal on bar t fills at bar t+1's open
    market: MarketConfig = MarketConfig()
    costs: CostsConfig = CostsConfig()
    funding_rate: FundingConfig = FundingConfig()
    ensemble: EnsembleConfig


# --------------------------------------------------------------------------- prod_scale_rules_R1.yaml (seed 004)
class Stage(Frozen):
    stage: Annotated[int, Field(ge=0)]
    capital_usd: Annotated[float, Field(ge=0.0)]
    min_days: Annotated[int, Field(ge=0)] = 14
    exit_sharpe_14d_gt: float | None = None
    exit_mdd_lt: Fraction | None = None
    exit_slippage_ratio_le: PositiveFloat | None = None
    exit_all_sleeves_positive_14d: bool = False
    abort_mdd_gt: Fraction | None = None
    abort_sharpe_14d_lt: float | None = None
    abort_api_issues_24h_gt: Annotated[int, Field(ge=0)] | None = None
    abort_sleeve_14d_lt: float | None = None


class ScaleUpRule(Frozen):
    consecutive_days: PositiveInt = 10
    sharpe_20d_gt: float = 0.8
    mdd_lt: Fraction = 0.08
    slippage_ratio_le: PositiveFloat = 1.2
    funding_drift_le: PositiveFloat = 1.5
    flatten_events_30d_max: Annotated[int, Field(ge=0)] = 0
    capital_increase_pct: Fraction = 0.5
    manual_approval: bool = True


class ScaleDownRule(Frozen):
    sharpe_20d_lt: float = 0.0
    mdd_gt: Fraction = 0.10
    slippage_ratio_gt: PositiveFloat = 1.5
    slippage_sustained_days: PositiveInt = 3
    worst_sleeve_14d_lt: float = -0.03
    reduce_pct: Fraction = 0.5


class HardStopRule(Frozen):
    mdd_gt: Fraction = 0.12
    return_30d_lt: float = -0.10
    on_risk_guard: Literal["FLATTEN_ALL"] = "FLATTEN_ALL"


class MetricBand(Frozen):
    """Green / yellow / red bands of seed 004 §3.2, by direction of goodness."""

    higher_is_better: bool
    green: float
    red: float

    @model_validator(mode="after")
    def _ordered(self) -> "MetricBand":
        if self.higher_is_better and not self.green >= self.red:
            raise ValueError(f"green ({self.green}) must be >= red ({self.red}) when higher is better")
        if not self.higher_is_better and not self.green <= self.red:
            raise ValueError(f"green ({self.green}) must be <= red ({self.red}) when lower is better")
        return self


def _default_bands() -> dict[str, MetricBand]:
    return {
        "sharpe_20d": MetricBand(higher_is_better=True, green=0.5, red=0.0),
        "running_mdd": MetricBand(higher_is_better=False, green=0.08, red=0.10),
        "return_30d": MetricBand(higher_is_better=True, green=0.0, red=-0.05),
        "slippage_ratio": MetricBand(higher_is_better=False, green=1.2, red=1.5),
        "funding_drag_apr": MetricBand(higher_is_better=False, green=0.01, red=0.02),
        "negative_sleeves_14d": MetricBand(higher_is_better=False, green=0, red=2),
    }


class ScaleRules(Frozen):
    config_file: str = "config/prod_candidate_R1.yaml"
    config_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    stages: list[Stage] = Field(min_length=1)
    scale_up: ScaleUpRule = ScaleUpRule()
    scale_down: ScaleDownRule = ScaleDownRule()
    hard_stop: HardStopRule = HardStopRule()
    metric_bands: dict[str, MetricBand] = Field(default_factory=_default_bands)
    yellow_days_before_reduce: PositiveInt = 3

    @field_validator("stages")
    @classmethod
    def _ordered_stages(cls, stages: list[Stage]) -> list[Stage]:
        numbers = [s.stage for s in stages]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise ValueError(f"stages must be numbered in increasing order without repeats, got {numbers}")
        capitals = [s.capital_usd for s in stages]
        if capitals != sorted(capitals):
            raise ValueError(f"stage capital must not decrease from stage to stage, got {capitals}")
        return stages

    @model_validator(mode="after")
    def _stop_beyond_scale_down(self) -> "ScaleRules":
        if self.hard_stop.mdd_gt <= self.scale_down.mdd_gt:
            raise ValueError(
                f"hard_stop.mdd_gt ({self.hard_stop.mdd_gt}) must be above scale_down.mdd_gt ({self.scale_down.mdd_gt})"
            )
        return self
