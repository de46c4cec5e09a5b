"""`config/strategy_config.json`: per-symbol strategy blocks, tiers, hybrid scoring, volatility regimes,
SL/TP defaults and the screener.

The core takes these types directly (`ScreenerSettings`, `TrendSettings`, `SlTpConfig`, ...): there are no
mirrored copies to keep in step. This module does not import the core (the core imports it).
"""
from __future__ import annotations

import math
from typing import Annotated

from pydantic import (
    AliasChoices,
    Field,
    field_validator,
    model_validator,
)

from settings.errors import FieldError
from settings.model_base import (
    MAX_COUNT,
    REGIMES,
    TIERS,
    Fraction,
    Frozen,
    ListAsTuple,
    NonNegFloat,
    OpenFraction,
    ParamValue,
    PositiveFloat,
    PositiveInt,
    Regime,
    Score,
    StrategyName,
    SymbolKeys,
    Tier,
    Timeframe,
    check_params,
)


class HybridWeights(Frozen):
    trend: Annotated[float, Field(ge=0.0, le=1.0)] = 0.40
    carry: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    expectancy: Annotated[float, Field(ge=0.0, le=1.0)] = 0.20
    router: Annotated[float, Field(ge=0.0, le=1.0)] = 0.15

    @model_validator(mode="after")
    def _sum_to_one(self) -> HybridWeights:
        total = math.fsum((self.trend, self.carry, self.expectancy, self.router))
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(
                f"weights must sum to 1.0, they sum to {total:.6g} (trend {self.trend:g} + carry {self.carry:g} "
                f"+ expectancy {self.expectancy:g} + router {self.router:g})"
            )
        return self


class ScoreThresholds(Frozen):
    min_hybrid_score_long: Score = 0.20
    min_hybrid_score_short: Score = 0.20


class TrendSettings(Frozen):
    """The trend score's parameters (core.alpha): medium-horizon trend (1h bars: a week-scale EMA, 1-7 day momentum)."""

    ema_span: Annotated[float, Field(ge=1.0, le=MAX_COUNT)] = 168.0
    horizons: Annotated[tuple[PositiveInt, ...], ListAsTuple] = Field(default=(24, 72, 168), min_length=1)
    vol_span: Annotated[float, Field(ge=1.0, le=MAX_COUNT)] = 168.0  # EWMA span of the per-bar vol used to normalise
    scale: PositiveFloat = 2.0  # trend = tanh(mean statistic / scale)
    min_vol: Annotated[float, Field(ge=0.0, le=1.0)] = 1e-8  # below this per-bar vol a series is flat: score 0



class CarrySettings(Frozen):
    """The carry score's parameters (core.alpha): funding / basis mix of the carry score."""

    funding_weight: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5  # the basis gets 1 - funding_weight
    # the premium is assumed to converge over one funding period
    basis_horizon_hours: Annotated[float, Field(gt=0.0, le=24.0 * 3650)] = 8.0
    funding_interval_hours: Annotated[float, Field(gt=0.0, le=24.0 * 3650)] = 8.0



class ExpectancySettings(Frozen):
    """The expectancy score's parameters (core.alpha): score = tanh(E / scale) x n / (n + prior_trades)."""

    scale: PositiveFloat = 0.5
    prior_trades: NonNegFloat = 20.0



class RouterScoreSettings(Frozen):
    """The router-quality score's parameters (core.alpha): quality from slippage, fill rate and maker ratio."""

    slippage_bad_bps: PositiveFloat = 10.0  # 0 bps (or better) -> +1, half of this -> 0, this or worse -> -1
    weight_slippage: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    weight_fill: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    weight_maker: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    prior_orders: NonNegFloat = 10.0  # shrink by n / (n + prior_orders)

    @model_validator(mode="after")
    def _sum_to_one(self) -> RouterScoreSettings:
        total = self.weight_slippage + self.weight_fill + self.weight_maker
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(
                f"weight_slippage + weight_fill + weight_maker must sum to 1.0, they sum to {total:.6g}"
            )
        return self



class HybridScoring(Frozen):
    """docs/v7.4_Risk_and_Methodology.md. Component parameter blocks mirror `core.alpha`'s parameters;
    `orient_quality` is the `orient_quality` argument of `core.alpha.hybrid_score` / `score_symbol`."""

    weights: HybridWeights = HybridWeights()
    tier_weights: dict[Tier, HybridWeights] = Field(default_factory=dict)
    min_hybrid_score_long: Score = 0.20
    min_hybrid_score_short: Score = 0.20
    tier_thresholds: dict[Tier, ScoreThresholds] = Field(default_factory=dict)
    # Normalisation of the carry inputs: annualised funding / basis at which the score saturates.
    carry_funding_saturation_apr: PositiveFloat = 0.50
    carry_basis_saturation_apr: PositiveFloat = 0.50
    # Component parameters (optional; defaults = the core's defaults)
    trend_params: TrendSettings = TrendSettings()
    carry_params: CarrySettings = CarrySettings()
    expectancy_params: ExpectancySettings = ExpectancySettings()
    router_params: RouterScoreSettings = RouterScoreSettings()
    # Expectancy and router quality strengthen the direction trend + carry point to (False: the plain sum)
    orient_quality: bool = True

    def weights_for(self, tier: str) -> HybridWeights:
        return self.tier_weights.get(tier, self.weights)  # type: ignore[call-overload]  # str key, Literal dict

    def thresholds_for(self, tier: str) -> ScoreThresholds:
        return self.tier_thresholds.get(  # type: ignore[call-overload]  # str key, Literal dict
            tier,
            ScoreThresholds(
                min_hybrid_score_long=self.min_hybrid_score_long,
                min_hybrid_score_short=self.min_hybrid_score_short,
            ),
        )


class TierConfig(Frozen):
    """`per_trade_nav_pct` is the MARGIN one trade commits, as a fraction of NAV (0.04 = 4 % of NAV as
    margin); the position's NOTIONAL is margin x leverage (core/sizing.py). It is scaled by the regime's
    `vol_regimes.sizing_multipliers[tier][regime]` and capped by risk_limits.json afterwards."""

    per_trade_nav_pct: Fraction


class RatioThresholds(Frozen):
    """`ratio = vol_short / vol_long`: < low → low; < normal → normal; < high → high; else crisis."""

    low: PositiveFloat = 0.75
    normal: PositiveFloat = 1.25
    high: PositiveFloat = 1.75

    @model_validator(mode="after")
    def _increasing(self) -> RatioThresholds:
        if not (self.low < self.normal < self.high):
            raise ValueError(f"need low < normal < high, got {self.low} / {self.normal} / {self.high}")
        return self


class VolRegimeDefaults(Frozen):
    short_days: Annotated[float, Field(gt=0.0, le=3650.0)] = 7.0
    long_days: Annotated[float, Field(gt=0.0, le=3650.0)] = 30.0
    ratio_low_high: RatioThresholds = RatioThresholds()
    # Fewest valid log returns before a regime is classified (`min_returns` of core.regimes);
    # None = the short span in bars. Until then the regime is "normal" with insufficient_data=True.
    min_returns: PositiveInt | None = None

    @model_validator(mode="after")
    def _short_lt_long(self) -> VolRegimeDefaults:
        if self.short_days >= self.long_days:
            raise FieldError(
                "short_days", f"short_days ({self.short_days:g}) must be below long_days ({self.long_days:g})"
            )
        return self


RegimeMultipliers = dict[Regime, Annotated[float, Field(ge=0.0, le=5.0)]]


class WeightModifiers(Frozen):
    """Multipliers applied to the hybrid weights in a regime (the result is re-normalised to sum 1)."""

    trend: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    carry: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    expectancy: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0
    router: Annotated[float, Field(ge=0.0, le=5.0)] = 1.0


def _default_multipliers() -> dict[Tier, dict[Regime, float]]:
    return {
        "CORE": {"low": 1.15, "normal": 1.0, "high": 0.75, "crisis": 0.5},
        "SATELLITE": {"low": 1.10, "normal": 1.0, "high": 0.70, "crisis": 0.40},
        "TACTICAL": {"low": 1.05, "normal": 1.0, "high": 0.60, "crisis": 0.30},
        "ALT-EXT": {"low": 1.0, "normal": 1.0, "high": 0.50, "crisis": 0.25},
    }


def _default_modifiers() -> dict[Regime, WeightModifiers]:
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
                raise FieldError(
                    tier, f"missing regime(s) {', '.join(missing)}: give a multiplier for each of {', '.join(REGIMES)}"
                )
        return table

    def sizing_multiplier(self, tier: str, regime: str) -> float:
        row = self.sizing_multipliers.get(tier)  # type: ignore[call-overload]  # str key, Literal dict
        return 1.0 if row is None else float(row[regime])


_SL_TP_FIELDS = ("sl_atr_mult", "tp_atr_mult", "sl_pct", "tp_pct", "trail_pct", "time_stop_hours", "atr_period")


class SlTpConfig(Frozen):
    """Default stop-loss / take-profit for every new leg (docs/Runbook.md), read by `core.sl_tp.make_rule`.

    Per level, `make_rule` uses the ATR form when an ATR is known and the multiple is set
    (entry -/+ mult x ATR), else the percent form (entry x (1 -/+ pct)); `null` switches a form off.
    - sl_atr_mult / tp_atr_mult: multiples of Wilder ATR(`atr_period`) on the strategy's timeframe.
    - sl_pct / tp_pct: fractions of the entry price (0.02 = 2 %); the ATR-less fallback.
    - trail_pct: trailing stop distance from the best price since entry (docs/Runbook.md `trailing_stop_pct`,
      accepted as an alias); LONG stop = high x (1 - pct), SHORT = low x (1 + pct); only ratchets.
    - time_stop_hours: close a leg this long after it opened; null = no time stop.
    At least one stop (sl_atr_mult, sl_pct or trail_pct) must stay set: an unprotected leg is a config bug.
    """

    sl_atr_mult: PositiveFloat | None = 2.0
    tp_atr_mult: PositiveFloat | None = 3.0
    sl_pct: OpenFraction | None = 0.02
    tp_pct: OpenFraction | None = 0.04
    trail_pct: OpenFraction | None = Field(
        default=0.01, validation_alias=AliasChoices("trail_pct", "trailing_stop_pct")
    )
    time_stop_hours: Annotated[float, Field(gt=0.0, le=24.0 * 3650)] | None = None
    atr_period: Annotated[int, Field(ge=1, le=1000)] = 14

    @model_validator(mode="after")
    def _has_a_stop(self) -> SlTpConfig:
        if self.sl_atr_mult is None and self.sl_pct is None and self.trail_pct is None:
            raise ValueError("no stop-loss left: set at least one of sl_atr_mult, sl_pct or trail_pct")
        return self

    @property
    def time_stop_ms(self) -> int | None:
        return None if self.time_stop_hours is None else int(round(self.time_stop_hours * 3_600_000))


class SlTpOverride(Frozen):
    """Per-symbol SL/TP: keys given here replace the defaults (`null` switches a form off); the rest inherit."""

    sl_atr_mult: PositiveFloat | None = None
    tp_atr_mult: PositiveFloat | None = None
    sl_pct: OpenFraction | None = None
    tp_pct: OpenFraction | None = None
    trail_pct: OpenFraction | None = Field(
        default=None, validation_alias=AliasChoices("trail_pct", "trailing_stop_pct")
    )
    time_stop_hours: Annotated[float, Field(gt=0.0, le=24.0 * 3650)] | None = None
    atr_period: Annotated[int, Field(ge=1, le=1000)] | None = None

    def applied_to(self, defaults: SlTpConfig) -> SlTpConfig:
        merged = {name: getattr(defaults, name) for name in _SL_TP_FIELDS}
        merged.update({name: getattr(self, name) for name in self.model_fields_set})
        if merged["atr_period"] is None:
            merged["atr_period"] = defaults.atr_period
        return SlTpConfig.model_validate(merged)


class StrategyBlock(Frozen):
    strategy: StrategyName
    enabled: bool = True
    timeframe: Timeframe = "1h"
    tier: Tier | None = None
    # Fixed MARGIN per trade in USDT (docs/Runbook.md); notional = margin x leverage. None = NAV x per_trade_nav_pct.
    capital_per_trade: PositiveFloat | None = None
    leverage: Annotated[int, Field(ge=1, le=125)] = 3
    params: dict[str, ParamValue] = Field(default_factory=dict)
    sl_tp: SlTpOverride | None = None  # per-symbol SL/TP; None = strategy_config.json `sl_tp`

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, params: object) -> object:
        return check_params(params)


class ScreenerSettings(Frozen):
    """The screener's parameters (core.screener) plus the timeframes screened.

    z_window: rolling z-score of the close; rsi_period: Wilder RSI; atr_period: Wilder ATR;
    fast_ma / slow_ma: the SMA crossover. `timeframes`: bar intervals the screener runs on; None = the one
    in runtime.yaml `loop.screener_timeframe` (when given, that one must be in the list).
    """

    z_window: Annotated[int, Field(ge=2, le=5000)] = 20
    rsi_period: Annotated[int, Field(ge=1, le=5000)] = 14
    atr_period: Annotated[int, Field(ge=1, le=5000)] = 14
    fast_ma: Annotated[int, Field(ge=1, le=5000)] = 5
    slow_ma: Annotated[int, Field(ge=1, le=5000)] = 20
    timeframes: Annotated[tuple[Timeframe, ...], ListAsTuple] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> ScreenerSettings:
        if self.fast_ma >= self.slow_ma:
            raise FieldError("fast_ma", f"fast_ma ({self.fast_ma}) must be shorter than slow_ma ({self.slow_ma})")
        if self.timeframes is not None and len(set(self.timeframes)) != len(self.timeframes):
            raise FieldError("timeframes", f"list each timeframe once, got {list(self.timeframes)}")
        return self

    @property
    def history_bars(self) -> int:
        """Bars needed for every field to be defined (the screener's warm-up)."""
        return max(self.z_window, self.rsi_period + 1, self.atr_period + 1, self.slow_ma + 1)



def _default_tiers() -> dict[Tier, TierConfig]:
    return {
        "CORE": TierConfig(per_trade_nav_pct=0.04),
        "SATELLITE": TierConfig(per_trade_nav_pct=0.025),
        "TACTICAL": TierConfig(per_trade_nav_pct=0.015),
        "ALT-EXT": TierConfig(per_trade_nav_pct=0.01),
    }


class StrategyConfig(Frozen):
    strategies: Annotated[dict[str, StrategyBlock], SymbolKeys] = Field(default_factory=dict)
    tiers: dict[Tier, TierConfig] = Field(default_factory=_default_tiers)
    hybrid_scoring: HybridScoring = HybridScoring()
    vol_regimes: VolRegimes = VolRegimes()
    sl_tp: SlTpConfig = SlTpConfig()
    screener: ScreenerSettings = ScreenerSettings()

    @field_validator("tiers")
    @classmethod
    def _all_tiers(cls, tiers: dict[str, TierConfig]) -> dict[str, TierConfig]:
        missing = [t for t in TIERS if t not in tiers]
        if missing:
            raise ValueError(
                f"missing tier(s) {', '.join(missing)}: give per_trade_nav_pct for each of {', '.join(TIERS)}"
            )
        return tiers

    @model_validator(mode="after")
    def _overrides_merge(self) -> StrategyConfig:
        for symbol, block in self.strategies.items():
            if block.sl_tp is not None:
                try:
                    block.sl_tp.applied_to(self.sl_tp)
                except ValueError as exc:  # pydantic's ValidationError is a ValueError
                    reason = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
                    reason = reason.removeprefix("Value error, ")
                    raise FieldError(
                        ("strategies", symbol, "sl_tp"), f"with the defaults of 'sl_tp': {reason}"
                    ) from None
        return self

    def sl_tp_for(self, symbol: str) -> SlTpConfig:
        """The SL/TP rule parameters of a symbol: its strategy block's `sl_tp` over the defaults."""
        block = self.strategies.get(symbol)
        if block is None or block.sl_tp is None:
            return self.sl_tp
        return block.sl_tp.applied_to(self.sl_tp)
