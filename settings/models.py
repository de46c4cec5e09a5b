"""Typed models of every config file under `config/`.

These are values: frozen, validated, free of I/O. The pure core reads them as arguments. Conventions:
every `*_pct` / `*_nav_pct` value is a FRACTION (0.10 = 10 %), validated to (0, 1] unless noted.
Unknown keys are errors (a typo must never be silently ignored); every section has defaults, so a file
may omit a section it does not change.

Parameter blocks that mirror a core dataclass (`ScreenerSettings` ~ `core.screener.ScreenerParams`,
`TrendSettings` ~ `core.alpha.TrendParams`, ...) use the same field names and defaults, and
`as_kwargs()` returns exactly the keyword arguments of that dataclass (`ScreenerParams(**s.as_kwargs())`).
This module does not import the core (the core imports it); tests/test_settings_sections.py keeps the
names and defaults in step.
"""
from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from settings.errors import FieldError

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
# strictly inside (0, 1): a 100 % stop distance would put a long's stop at price 0
OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0, description="fraction: 0.10 = 10 %")]
Score = Annotated[float, Field(ge=-1.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Frozen(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored), instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _symbol_problem(symbol: object) -> str | None:
    if not isinstance(symbol, str) or not _SYMBOL_RE.match(symbol):
        hint = f" (write {symbol.upper()!r})" if isinstance(symbol, str) and _SYMBOL_RE.match(symbol.upper()) else ""
        return f"{symbol!r} is not a USD-M USDT perpetual symbol such as 'BTCUSDT' (upper case){hint}"
    return None


def _check_symbol(symbol: str) -> str:
    problem = _symbol_problem(symbol)
    if problem:
        raise ValueError(problem)
    return symbol


def _check_symbol_keys(table: dict[str, object]) -> None:
    """Mapping keyed by symbol: point at the bad key."""
    for key in table:
        problem = _symbol_problem(key)
        if problem:
            raise FieldError((key,), problem)


def _check_symbol_list(symbols: list[str], allow_duplicates: bool = False) -> None:
    """List of symbols: point at the bad item; no duplicates unless allowed."""
    first: dict[str, int] = {}
    for i, s in enumerate(symbols):
        problem = _symbol_problem(s)
        if problem:
            raise FieldError((i,), problem)
        if s in first and not allow_duplicates:
            raise FieldError((i,), f"duplicate symbol {s} (already at [{first[s]}]); list each symbol once")
        first[s] = i


ParamValue = float | int | bool | list[int] | list[float]


def _check_params(params: object) -> object:
    """Strategy params: numbers, true/false or lists of numbers; one clear error instead of one per type."""
    if not isinstance(params, dict):
        return params  # pydantic reports the type
    for key, value in params.items():
        ok = isinstance(value, (int, float)) or (
            isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )
        if not ok:
            raise FieldError((key,), f"must be a number, true/false or a list of numbers (got {value!r})")
    return params


# --------------------------------------------------------------------------- pairs_universe.json
class SymbolOverride(Frozen):
    """Per-symbol settings. `max_nav_pct`: per-symbol cap, a fraction of NAV (gross, both legs)."""

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
        _check_symbol_list(symbols)
        return symbols

    @field_validator("overrides", mode="before")
    @classmethod
    def _override_keys(cls, table: object) -> object:
        if isinstance(table, dict):
            _check_symbol_keys(table)
        return table

    @model_validator(mode="after")
    def _overrides_in_universe(self) -> "PairsUniverse":
        unknown = [s for s in self.overrides if s not in self.symbols]
        if unknown:
            also = f" (also: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
            raise FieldError(
                ("overrides", unknown[0]),
                f"override for {unknown[0]}, which is not in 'symbols'{also}: add it to 'symbols' or delete the override",
            )
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
    """`core.alpha.TrendParams`: medium-horizon trend (1h bars: a week-scale EMA, 1-7 day momentum)."""

    ema_span: Annotated[float, Field(ge=1.0)] = 168.0
    horizons: tuple[PositiveInt, ...] = Field(default=(24, 72, 168), min_length=1)
    vol_span: Annotated[float, Field(ge=1.0)] = 168.0  # EWMA span of the per-bar vol used to normalise
    scale: PositiveFloat = 2.0  # trend = tanh(mean statistic / scale)
    min_vol: Annotated[float, Field(ge=0.0)] = 1e-8  # below this per-bar vol a series is flat: score 0

    def as_kwargs(self) -> dict[str, object]:
        return self.model_dump()


class CarrySettings(Frozen):
    """`core.alpha.CarryParams`: funding / basis mix of the carry score."""

    funding_weight: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5  # the basis gets 1 - funding_weight
    basis_horizon_hours: PositiveFloat = 8.0  # the premium is assumed to converge over one funding period
    funding_interval_hours: PositiveFloat = 8.0

    def as_kwargs(self) -> dict[str, object]:
        return self.model_dump()


class ExpectancySettings(Frozen):
    """`core.alpha.ExpectancyParams`: score = tanh(E / scale) x n / (n + prior_trades)."""

    scale: PositiveFloat = 0.5
    prior_trades: Annotated[float, Field(ge=0.0)] = 20.0

    def as_kwargs(self) -> dict[str, object]:
        return self.model_dump()


class RouterScoreSettings(Frozen):
    """`core.alpha.RouterScoreParams`: execution quality from slippage, fill rate and maker ratio."""

    slippage_bad_bps: PositiveFloat = 10.0  # 0 bps (or better) -> +1, half of this -> 0, this or worse -> -1
    weight_slippage: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    weight_fill: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    weight_maker: Annotated[float, Field(ge=0.0, le=1.0)] = 0.25
    prior_orders: Annotated[float, Field(ge=0.0)] = 10.0  # shrink by n / (n + prior_orders)

    @model_validator(mode="after")
    def _sum_to_one(self) -> "RouterScoreSettings":
        total = self.weight_slippage + self.weight_fill + self.weight_maker
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(
                f"weight_slippage + weight_fill + weight_maker must sum to 1.0, they sum to {total:.6g}"
            )
        return self

    def as_kwargs(self) -> dict[str, object]:
        return self.model_dump()


class HybridScoring(Frozen):
    """Seed 002 §3. Component parameter blocks mirror `core.alpha`'s params dataclasses (names and defaults);
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
    def _increasing(self) -> "RatioThresholds":
        if not (self.low < self.normal < self.high):
            raise ValueError(f"need low < normal < high, got {self.low} / {self.normal} / {self.high}")
        return self


class VolRegimeDefaults(Frozen):
    short_days: PositiveFloat = 7.0
    long_days: PositiveFloat = 30.0
    ratio_low_high: RatioThresholds = RatioThresholds()
    # Fewest valid log returns before a regime is classified (`min_returns` of core.regimes);
    # None = the short span in bars. Until then the regime is "normal" with insufficient_data=True.
    min_returns: PositiveInt | None = None

    @model_validator(mode="after")
    def _short_lt_long(self) -> "VolRegimeDefaults":
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
                raise FieldError(
                    tier, f"missing regime(s) {', '.join(missing)}: give a multiplier for each of {', '.join(REGIMES)}"
                )
        return table

    def sizing_multiplier(self, tier: str, regime: str) -> float:
        row = self.sizing_multipliers.get(tier)  # type: ignore[call-overload]
        return 1.0 if row is None else float(row[regime])  # type: ignore[index]


_SL_TP_FIELDS = ("sl_atr_mult", "tp_atr_mult", "sl_pct", "tp_pct", "trail_pct", "time_stop_hours", "atr_period")


class SlTpConfig(Frozen):
    """Default stop-loss / take-profit for every new leg (seed 001 §5, seed 003), read by `core.sl_tp.make_rule`.

    Per level, `make_rule` uses the ATR form when an ATR is known and the multiple is set
    (entry -/+ mult x ATR), else the percent form (entry x (1 -/+ pct)); `null` switches a form off.
    - sl_atr_mult / tp_atr_mult: multiples of Wilder ATR(`atr_period`) on the strategy's timeframe.
    - sl_pct / tp_pct: fractions of the entry price (0.02 = 2 %); the ATR-less fallback.
    - trail_pct: trailing stop distance from the best price since entry (seed 003's `trailing_stop_pct`,
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
    time_stop_hours: PositiveFloat | None = None
    atr_period: Annotated[int, Field(ge=1, le=1000)] = 14

    @model_validator(mode="after")
    def _has_a_stop(self) -> "SlTpConfig":
        if self.sl_atr_mult is None and self.sl_pct is None and self.trail_pct is None:
            raise ValueError("no stop-loss left: set at least one of sl_atr_mult, sl_pct or trail_pct")
        return self

    @property
    def time_stop_ms(self) -> int | None:
        return None if self.time_stop_hours is None else int(round(self.time_stop_hours * 3_600_000))

    def as_kwargs(self) -> dict[str, object]:
        """The level keyword arguments of `core.sl_tp.make_rule` (add `atr=` for the ATR forms)."""
        return {
            "sl_atr_mult": self.sl_atr_mult,
            "tp_atr_mult": self.tp_atr_mult,
            "sl_pct": self.sl_pct,
            "tp_pct": self.tp_pct,
            "trail_pct": self.trail_pct,
            "time_stop_ms": self.time_stop_ms,
        }


class SlTpOverride(Frozen):
    """Per-symbol SL/TP: keys given here replace the defaults (`null` switches a form off); the rest inherit."""

    sl_atr_mult: PositiveFloat | None = None
    tp_atr_mult: PositiveFloat | None = None
    sl_pct: OpenFraction | None = None
    tp_pct: OpenFraction | None = None
    trail_pct: OpenFraction | None = Field(default=None, validation_alias=AliasChoices("trail_pct", "trailing_stop_pct"))
    time_stop_hours: PositiveFloat | None = None
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
    # Fixed MARGIN per trade in USDT (seed 001); notional = margin x leverage. None = NAV x per_trade_nav_pct.
    capital_per_trade: PositiveFloat | None = None
    leverage: Annotated[int, Field(ge=1, le=125)] = 3
    params: dict[str, ParamValue] = Field(default_factory=dict)
    sl_tp: SlTpOverride | None = None  # per-symbol SL/TP; None = strategy_config.json `sl_tp`

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, params: object) -> object:
        return _check_params(params)


class ScreenerSettings(Frozen):
    """`core.screener.ScreenerParams` (same names and defaults) plus the timeframes screened.

    z_window: rolling z-score of the close; rsi_period: Wilder RSI; atr_period: Wilder ATR;
    fast_ma / slow_ma: the SMA crossover. `timeframes`: bar intervals the screener runs on; None = the one
    in runtime.yaml `loop.screener_timeframe` (when given, that one must be in the list).
    """

    z_window: Annotated[int, Field(ge=2, le=5000)] = 20
    rsi_period: Annotated[int, Field(ge=1, le=5000)] = 14
    atr_period: Annotated[int, Field(ge=1, le=5000)] = 14
    fast_ma: Annotated[int, Field(ge=1, le=5000)] = 5
    slow_ma: Annotated[int, Field(ge=1, le=5000)] = 20
    timeframes: tuple[Timeframe, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _check(self) -> "ScreenerSettings":
        if self.fast_ma >= self.slow_ma:
            raise FieldError("fast_ma", f"fast_ma ({self.fast_ma}) must be shorter than slow_ma ({self.slow_ma})")
        if self.timeframes is not None and len(set(self.timeframes)) != len(self.timeframes):
            raise FieldError("timeframes", f"list each timeframe once, got {list(self.timeframes)}")
        return self

    @property
    def history_bars(self) -> int:
        """Bars needed for every field to be defined (as `ScreenerParams.history_bars`)."""
        return max(self.z_window, self.rsi_period + 1, self.atr_period + 1, self.slow_ma + 1)

    def as_kwargs(self) -> dict[str, object]:
        """Keyword arguments of `core.screener.ScreenerParams`."""
        return self.model_dump(exclude={"timeframes"})


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
    sl_tp: SlTpConfig = SlTpConfig()
    screener: ScreenerSettings = ScreenerSettings()

    @field_validator("strategies", mode="before")
    @classmethod
    def _keys_are_symbols(cls, blocks: object) -> object:
        if isinstance(blocks, dict):
            _check_symbol_keys(blocks)
        return blocks

    @field_validator("tiers")
    @classmethod
    def _all_tiers(cls, tiers: dict[str, TierConfig]) -> dict[str, TierConfig]:
        missing = [t for t in TIERS if t not in tiers]
        if missing:
            raise ValueError(f"missing tier(s) {', '.join(missing)}: give per_trade_nav_pct for each of {', '.join(TIERS)}")
        return tiers

    @model_validator(mode="after")
    def _overrides_merge(self) -> "StrategyConfig":
        for symbol, block in self.strategies.items():
            if block.sl_tp is not None:
                try:
                    block.sl_tp.applied_to(self.sl_tp)
                except ValueError as exc:  # pydantic's ValidationError is a ValueError
                    reason = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
                    reason = reason.removeprefix("Value error, ")
                    raise FieldError(("strategies", symbol, "sl_tp"), f"with the defaults of 'sl_tp': {reason}") from None
        return self

    def sl_tp_for(self, symbol: str) -> SlTpConfig:
        """The SL/TP rule parameters of a symbol: its strategy block's `sl_tp` over the defaults."""
        block = self.strategies.get(symbol)
        if block is None or block.sl_tp is None:
            return self.sl_tp
        return block.sl_tp.applied_to(self.sl_tp)


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

    @field_validator("per_symbol_nav_pct_overrides", mode="before")
    @classmethod
    def _override_symbols(cls, table: object) -> object:
        if isinstance(table, dict):
            _check_symbol_keys(table)
        return table

    @model_validator(mode="after")
    def _circuit_before_kill(self) -> "RiskLimits":
        if self.circuit_breakers.max_portfolio_dd_nav_pct > self.KILL_DD_PCT:
            raise FieldError(
                ("circuit_breakers", "max_portfolio_dd_nav_pct"),
                f"{self.circuit_breakers.max_portfolio_dd_nav_pct:g} must not exceed KILL_DD_PCT "
                f"({self.KILL_DD_PCT:g}): the circuit stops new risk before the kill switch flattens",
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
        _check_symbol_list(symbols, allow_duplicates=True)  # harmless: exposure counts each symbol once
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
    """Seed 003 profile. `max_position_usd` caps ONE SYMBOL's post-trade gross notional in USD, both
    hedge-mode legs together (|long| + |short|), as core/risk_limits.py checks it; it is not a portfolio cap."""

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
            raise ValueError(f"missing profiles: {', '.join(missing)} (dev, demo and prod are all required)")
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
    params: dict[str, ParamValue] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, params: object) -> object:
        return _check_params(params)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, s: str) -> str:
        return _check_symbol(s)


class EnsembleConfig(Frozen):
    enabled: bool = True
    sleeves: list[Sleeve] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> "EnsembleConfig":
        total = math.fsum(s.weight for s in self.sleeves)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            parts = ", ".join(f"{s.name} {s.weight:g}" for s in self.sleeves)
            raise FieldError("sleeves", f"sleeve weights must sum to 1.0, they sum to {total:.6g} ({parts})")
        seen: dict[str, int] = {}
        for i, s in enumerate(self.sleeves):
            if s.name in seen:
                raise FieldError(("sleeves", i, "name"), f"duplicate sleeve name {s.name!r} (also sleeves[{seen[s.name]}])")
            seen[s.name] = i
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
    exit_sharpe_30d_gt: float | None = None  # stage 0 (paper): 30D Sharpe
    exit_mdd_lt: Fraction | None = None
    exit_signal_consistency_gt: Fraction | None = None  # stage 0: paper vs backtest replay decisions
    exit_no_flatten_events: bool = False
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


class FrozenExpect(Frozen):
    """What the frozen candidate must say besides its hash (seed 004 §1.3; docs/Production_Launch_SOP.md)."""

    trade_on: Literal["next_open"] = "next_open"
    fee_bps: float = 5.0
    slippage_bps: float = 3.0
    funding_enabled: bool = True
    ensemble_enabled: bool = True
    weights: dict[str, Fraction] = Field(default_factory=dict)  # sleeve name -> weight; {} = not checked


class ScaleRules(Frozen):
    config_file: str = "config/prod_candidate_R1.yaml"
    config_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None
    frozen: FrozenExpect = FrozenExpect()
    stages: list[Stage] = Field(min_length=1)
    scale_up: ScaleUpRule = ScaleUpRule()
    scale_down: ScaleDownRule = ScaleDownRule()
    hard_stop: HardStopRule = HardStopRule()
    metric_bands: dict[str, MetricBand] = Field(default_factory=_default_bands)
    yellow_days_before_reduce: PositiveInt = 3

    @field_validator("stages")
    @classmethod
    def _ordered_stages(cls, stages: list[Stage]) -> list[Stage]:
        for i in range(1, len(stages)):
            prev, cur = stages[i - 1], stages[i]
            if cur.stage <= prev.stage:
                raise FieldError(
                    (i, "stage"),
                    f"stage {cur.stage} follows stage {prev.stage}: number stages in increasing order without "
                    f"repeats (got {[s.stage for s in stages]})",
                )
            if cur.capital_usd < prev.capital_usd:
                raise FieldError(
                    (i, "capital_usd"),
                    f"{cur.capital_usd:g} is below the previous stage's {prev.capital_usd:g}: stage capital must "
                    "not decrease",
                )
        return stages

    @model_validator(mode="after")
    def _stop_beyond_scale_down(self) -> "ScaleRules":
        if self.hard_stop.mdd_gt <= self.scale_down.mdd_gt:
            raise FieldError(
                ("hard_stop", "mdd_gt"),
                f"{self.hard_stop.mdd_gt:g} must be above scale_down.mdd_gt ({self.scale_down.mdd_gt:g}): "
                "positions are reduced before the hard stop flattens everything",
            )
        return self
