"""Volatility regimes (docs/v7.4_Risk_and_Methodology.md): EWMA vol short/long, their ratio, the regime, and what it
changes.

    vol_short = EWMA vol of log returns over `short_days` (7 d), vol_long over `long_days` (30 d)
    ratio     = vol_short / vol_long
    ratio < low -> "low";  low <= ratio < normal -> "normal";  normal <= ratio < high -> "high";
    ratio >= high -> "crisis"                                   (thresholds: `ratio_low_high`)

Days become bars through the bar interval the caller passes (`bar_ms`), e.g. 7 d of 1h bars is an EWMA
span of 168 bars (alpha = 2 / (span + 1), normalised weights: see `core.indicators.ewma_vol`). Vols in
the result records are annualised (x sqrt(bars per 365-day year): crypto trades every day); the ratio
does not depend on that.

Degenerate input never raises in the live loop: with fewer returns than the short span, or a long vol
of zero (a flat or stale price), the result is regime "normal" (multiplier 1, weights unmodified) with
`ratio` NaN and `insufficient_data=True`, and the reason in `note`.

The regime then scales per-trade NAV by `sizing_multipliers[tier][regime]` (docs/v7.4_Risk_and_Methodology.md:
effective_per_trade_nav_pct = base x multiplier, computed in Decimal by `core.sizing`) and the hybrid
weights by `hybrid_weight_modifiers[regime]` (applied in `core.alpha.effective_weights`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.indicators import EwmaVolState, ewma_vol, valid_prices
from core.timeframes import DAY_MS, HOUR_MS
from settings.models import REGIMES, RatioThresholds, VolRegimeDefaults, VolRegimes, WeightModifiers

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "SAFE_REGIME",
    "VolRegimeResult",
    "VolRegimeSeries",
    "RegimeState",
    "bars_per_year",
    "check_regime",
    "days_to_bars",
    "classify_ratio",
    "vol_regime",
    "vol_regime_series",
    "sizing_multiplier",
    "weight_modifiers",
]

_YEAR_MS = 365 * DAY_MS

#: The regime reported when the data cannot support a classification: neutral sizing and weights.
SAFE_REGIME = "normal"


def _check_bar_ms(bar_ms: int) -> int:
    if isinstance(bar_ms, bool) or not isinstance(bar_ms, (int, np.integer)) or bar_ms <= 0:
        raise ValueError(f"bar_ms must be a positive integer (milliseconds per bar), got {bar_ms!r}")
    return int(bar_ms)


def days_to_bars(days: float, bar_ms: int) -> float:
    """Number of bars in `days` days of `bar_ms` bars (7 d of 1h bars -> 168.0)."""
    return float(days) * DAY_MS / _check_bar_ms(bar_ms)


def bars_per_year(bar_ms: int) -> float:
    return _YEAR_MS / _check_bar_ms(bar_ms)


def classify_ratio(ratio: float, thresholds: RatioThresholds = RatioThresholds()) -> str:
    """The seed's table, boundaries included on the upper regime: < low, [low, normal), [normal, high), >= high.

    A NaN ratio has no regime of its own: it maps to `SAFE_REGIME`.
    """
    if ratio != ratio:
        return SAFE_REGIME
    if ratio < thresholds.low:
        return "low"
    if ratio < thresholds.normal:
        return "normal"
    if ratio < thresholds.high:
        return "high"
    return "crisis"


def _json_number(x: float) -> float | None:
    """JSON has no NaN / inf: a missing value is null."""
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class VolRegimeResult:
    """The regime of one symbol at one bar. Vols annualised; `ratio` NaN when `insufficient_data`."""

    vol_regime: str
    vol_short: float
    vol_long: float
    ratio: float
    insufficient_data: bool
    n_returns: int
    note: str = ""

    def to_intel_dict(self) -> dict[str, Any]:
        """The `logs/state/intel.json` fragment: `vol_regime` and `vol: {short, long, ratio}` (NaN -> null)."""
        return {
            "vol_regime": self.vol_regime,
            "vol": {
                "short": _json_number(self.vol_short),
                "long": _json_number(self.vol_long),
                "ratio": _json_number(self.ratio),
            },
            "insufficient_data": self.insufficient_data,
        }


def _spans(defaults: VolRegimeDefaults, bar_ms: int) -> tuple[float, float]:
    # An EWMA span below one bar is meaningless: intervals longer than the horizon degrade to one bar.
    return max(days_to_bars(defaults.short_days, bar_ms), 1.0), max(days_to_bars(defaults.long_days, bar_ms), 1.0)


def _min_returns(defaults: VolRegimeDefaults, bar_ms: int, min_returns: int | None) -> int:
    if min_returns is not None:
        if min_returns < 1:
            raise ValueError(f"min_returns must be >= 1, got {min_returns}")
        return int(min_returns)
    return max(int(math.ceil(_spans(defaults, bar_ms)[0])), 2)


def _insufficient_note(n_returns: int, need: int) -> str:
    if n_returns < need:
        return f"{n_returns} returns < {need} needed"
    return "zero long-horizon volatility"


def _result(
    short: float, long: float, n_returns: int, need: int, annualise: float, thresholds: RatioThresholds
) -> VolRegimeResult:
    vs, vl = short * annualise, long * annualise
    if n_returns < need or not (vl > 0.0) or not math.isfinite(vs):
        return VolRegimeResult(SAFE_REGIME, vs, vl, math.nan, True, n_returns, _insufficient_note(n_returns, need))
    ratio = short / long
    return VolRegimeResult(classify_ratio(ratio, thresholds), vs, vl, ratio, False, n_returns)


def vol_regime(
    close: Any,
    bar_ms: int = HOUR_MS,
    defaults: VolRegimeDefaults = VolRegimeDefaults(),
    min_returns: int | None = None,
) -> VolRegimeResult:
    """The regime at the last bar of `close` (bars `bar_ms` apart).

    `min_returns` (default: the short span in bars) is the fewest valid log returns to classify with.
    Never raises on data (NaNs, too few bars, flat prices): see the module docstring.
    """
    series = vol_regime_series(close, bar_ms, defaults, min_returns)
    if len(series.ratio) == 0:
        return VolRegimeResult(SAFE_REGIME, math.nan, math.nan, math.nan, True, 0, "no bars")
    return series.at(len(series.ratio) - 1)


@dataclass(frozen=True, eq=False)
class VolRegimeSeries:
    """Per-bar arrays (for backtests and dashboards): annualised vols, ratio (NaN when insufficient),
    regime names, the insufficient-data mask and the count of valid returns so far."""

    vol_short: np.ndarray
    vol_long: np.ndarray
    ratio: np.ndarray
    regime: np.ndarray
    insufficient_data: np.ndarray
    n_returns: np.ndarray
    min_returns: int

    def at(self, i: int) -> VolRegimeResult:
        insufficient = bool(self.insufficient_data[i])
        note = _insufficient_note(int(self.n_returns[i]), self.min_returns) if insufficient else ""
        return VolRegimeResult(
            str(self.regime[i]),
            float(self.vol_short[i]),
            float(self.vol_long[i]),
            float(self.ratio[i]),
            insufficient,
            int(self.n_returns[i]),
            note,
        )


def vol_regime_series(
    close: Any,
    bar_ms: int = HOUR_MS,
    defaults: VolRegimeDefaults = VolRegimeDefaults(),
    min_returns: int | None = None,
) -> VolRegimeSeries:
    """Regime at every bar (vectorised); bar i uses closes 0..i only."""
    c = np.asarray(close, dtype=np.float64)
    span_short, span_long = _spans(defaults, bar_ms)
    need = _min_returns(defaults, bar_ms, min_returns)
    annualise = math.sqrt(bars_per_year(bar_ms))
    short = ewma_vol(c, span_short)
    long = ewma_vol(c, span_long)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(c) & (c > 0.0)
    n_returns = np.maximum(np.cumsum(good) - 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ok = (n_returns >= need) & (long > 0.0) & np.isfinite(short)
        ratio = np.where(ok, short / np.where(ok, long, 1.0), np.nan)
    t = defaults.ratio_low_high
    regime = np.full(len(c), SAFE_REGIME, dtype="<U6")
    regime[ok] = np.asarray(REGIMES)[np.searchsorted([t.low, t.normal, t.high], ratio[ok], side="right")]
    return VolRegimeSeries(short * annualise, long * annualise, ratio, regime, ~ok, n_returns, need)


@dataclass(frozen=True, slots=True)
class RegimeState:
    """Incremental regime for the live loop: O(1) per bar, agrees with `vol_regime_series`."""

    short: EwmaVolState
    long: EwmaVolState
    need: int
    annualise: float
    thresholds: RatioThresholds
    n_returns: int = 0
    has_price: bool = False

    @classmethod
    def start(
        cls, bar_ms: int = HOUR_MS, defaults: VolRegimeDefaults = VolRegimeDefaults(), min_returns: int | None = None
    ) -> RegimeState:
        span_short, span_long = _spans(defaults, bar_ms)
        return cls(
            EwmaVolState.start(span_short),
            EwmaVolState.start(span_long),
            _min_returns(defaults, bar_ms, min_returns),
            math.sqrt(bars_per_year(bar_ms)),
            defaults.ratio_low_high,
        )

    @classmethod
    def warm(
        cls,
        close: Any,
        bar_ms: int = HOUR_MS,
        defaults: VolRegimeDefaults = VolRegimeDefaults(),
        min_returns: int | None = None,
    ) -> RegimeState:
        """The state after folding `close` through `update`, built from batch results (`result` is the
        regime at the last bar)."""
        span_short, span_long = _spans(defaults, bar_ms)
        cv = valid_prices(close)
        return cls(
            EwmaVolState.warm(cv, span_short),
            EwmaVolState.warm(cv, span_long),
            _min_returns(defaults, bar_ms, min_returns),
            math.sqrt(bars_per_year(bar_ms)),
            defaults.ratio_low_high,
            max(len(cv) - 1, 0),
            len(cv) > 0,
        )

    @property
    def result(self) -> VolRegimeResult:
        """The regime after the last bar folded (what `update` returned for it)."""
        return _result(self.short.value, self.long.value, self.n_returns, self.need, self.annualise, self.thresholds)

    def update(self, close: float) -> tuple[RegimeState, VolRegimeResult]:
        short, vs = self.short.update(close)
        long, vl = self.long.update(close)
        valid = math.isfinite(close) and close > 0.0
        n = self.n_returns + (1 if valid and self.has_price else 0)
        state = RegimeState(short, long, self.need, self.annualise, self.thresholds, n, self.has_price or valid)
        return state, _result(vs, vl, n, self.need, self.annualise, self.thresholds)


# --------------------------------------------------------------------------- what a regime changes


def check_regime(regime: str) -> str:
    """`regime` if it is one of `REGIMES`; an unknown regime name is a programming error and raises."""
    if regime not in REGIMES:
        raise ValueError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
    return regime


def sizing_multiplier(vol_regimes: VolRegimes, tier: str, regime: str) -> float:
    """`sizing_multipliers[tier][regime]` (CORE: low 1.15, normal 1.0, high 0.75, crisis 0.5); 1.0 for a
    tier without a row. An unknown regime name raises."""
    return vol_regimes.sizing_multiplier(tier, check_regime(regime))


def weight_modifiers(vol_regimes: VolRegimes, regime: str) -> WeightModifiers:
    """`hybrid_weight_modifiers[regime]`, or no modification when the config has no entry."""
    modifiers = vol_regimes.hybrid_weight_modifiers
    return modifiers.get(check_regime(regime), WeightModifiers())  # type: ignore[call-overload]  # str key, Literal dict
