"""Hybrid alpha: trend + carry + expectancy + router quality -> one score in [-1, 1]
(docs/v7.4_Risk_and_Methodology.md).

Sign convention — every score is stated for the LONG side:
    positive = favourable to hold a long, negative = favourable to hold a short.
The short side's view of any directional score is its negation (`for_side`).

Components (each in [-1, 1]):

* trend (directional) — `trend_score`: the average of volatility-normalised trend statistics, squashed
  with tanh: price vs its EMA, ln(close / EMA) / its random-walk std, and momentum over several horizons,
  ln(close[t] / close[t-h]) / (sigma * sqrt(h)). Each is ~N(0, 1) for a driftless random walk.
* carry (directional) — `carry_score`: funding (per 8h, annualised x3x365) and basis
  ((mark - index) / index annualised over `basis_horizon_hours`). Positive funding means longs PAY
  shorts, and a perp above its index is rich, so both enter with a minus sign: a long is favoured when
  it is paid to hold. Each is divided by its saturation APR from config and clipped to [-1, 1]; the
  carry is their weighted mean.
* expectancy (quality) — `expectancy_score`: E = win_rate * payoff - loss_rate, the edge per unit of
  average loss, squashed with tanh and shrunk toward 0 by n / (n + prior_trades) when trades are few.
* router quality (quality) — `router_score`: slippage, fill rate and maker ratio, each mapped to
  [-1, 1], weighted, and shrunk toward 0 when orders are few.

Hybrid: effective weights = tier weights (`HybridScoring.weights_for(tier)`) x regime modifiers
(`VolRegimes.hybrid_weight_modifiers[regime]`), re-normalised to sum to 1;

    hybrid = w_trend * trend + w_carry * carry + s * (w_expect * expectancy + w_router * router)

clamped to [-1, 1], where s = sign(w_trend * trend + w_carry * carry). Expectancy and router quality
say how much to trust a trade, not which way to trade, so they strengthen the direction the
directional components point to (s = +1 gives the plain weighted sum of
docs/v7.4_Risk_and_Methodology.md; `orient_quality=False`
forces it always). This keeps the score mirror-symmetric (a mirrored market gives the negated score)
and means good execution alone can never make a symbol a long. A NaN component counts as 0
(no evidence) and is listed in `missing`.

Gating per tier (`HybridScoring.thresholds_for(tier)`): LONG needs hybrid > min_hybrid_score_long,
SHORT needs hybrid < -min_hybrid_score_short (strict at both boundaries). Ranking: hybrid descending,
ties by symbol.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard

import numpy as np

from core.indicators import EmaState, EwmaVolState, ema, ema_alpha, ewma_vol, valid_prices
from core.regimes import check_regime, weight_modifiers
from settings.models import (
    CarrySettings,
    ExpectancySettings,
    HybridScoring,
    HybridWeights,
    RouterScoreSettings,
    ScoreThresholds,
    TrendSettings,
    VolRegimes,
)

__all__ = [
    "COMPONENTS",
    "Side",
    "ema_gap_std_factor",
    "trend_min_bars",
    "trend_score",
    "trend_scores",
    "TrendState",
    "annualise_funding",
    "annualise_basis",
    "carry_score",
    "TradeStats",
    "expectancy_per_unit_risk",
    "expectancy_score",
    "RouterStats",
    "router_score",
    "ComponentWeights",
    "effective_weights",
    "HybridResult",
    "hybrid_score",
    "score_symbol",
    "score_with_weights",
    "rank_by_hybrid",
    "gate",
    "gate_result",
    "for_side",
    "intel_record",
]

Side = Literal["LONG", "SHORT"]
COMPONENTS: tuple[str, ...] = ("trend", "carry", "expectancy", "router")

_HOURS_PER_YEAR = 24.0 * 365.0


def _clip1(x: float) -> float:
    return -1.0 if x < -1.0 else (1.0 if x > 1.0 else x)


def for_side(long_score: float, side: Side) -> float:
    """A long-side score seen from `side`: unchanged for LONG, negated for SHORT."""
    if side not in ("LONG", "SHORT"):
        raise ValueError(f"side must be 'LONG' or 'SHORT', got {side!r}")
    return long_score if side == "LONG" else -long_score


# --------------------------------------------------------------------------- trend


# Parameters: settings.models.TrendSettings. Its default scale 2: the mean statistic has a std of ~0.8 both on
# a driftless random walk and on BTC/ETH/SOL 1h (2019-2026), so |trend| > 0.5 in ~18 % of hours and the trend
# alone clears the default 0.2 hybrid gate only on a better-than-typical move. Below `min_vol` per bar a
# series is flat: statistics normalised by rounding noise would be noise, so the score is 0.


def ema_gap_std_factor(p: TrendSettings) -> float:
    """std of ln(close / EMA) for a random walk, in units of the per-bar vol: d / sqrt(1 - d^2)."""
    d = 1.0 - ema_alpha(p.ema_span)
    return d / math.sqrt(1.0 - d * d) if d > 0 else 1.0


def trend_min_bars(p: TrendSettings) -> int:
    """Valid bars needed before the trend score is non-zero (the longest momentum horizon + 1)."""
    return max(p.horizons) + 1


def _trend_from(log_close: float, log_ema: float, lagged_logs: Sequence[float], sigma: float,
                p: TrendSettings) -> float:
    if not (sigma > p.min_vol) or not math.isfinite(sigma):
        return 0.0
    stats = [(log_close - log_ema) / (sigma * ema_gap_std_factor(p))]
    stats.extend((log_close - lagged) / (sigma * math.sqrt(h)) for lagged, h in zip(lagged_logs, p.horizons))
    return math.tanh(math.fsum(stats) / len(stats) / p.scale)


def trend_scores(close: Any, params: TrendSettings = TrendSettings()) -> np.ndarray:
    """Trend score at every bar (0 until `trend_min_bars(params)` valid bars; skipped bars repeat the last)."""
    c = np.asarray(close, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(c) & (c > 0.0)
    out = np.zeros(len(c))
    cv = c[valid]
    n = len(cv)
    if n >= trend_min_bars(params):
        log_c = np.log(cv)
        log_ema = np.log(ema(cv, params.ema_span))
        sigma = ewma_vol(cv, params.vol_span)
        with np.errstate(invalid="ignore", divide="ignore"):
            total = (log_c - log_ema) / (sigma * ema_gap_std_factor(params))
            for h in params.horizons:
                mom = np.full(n, np.nan)
                mom[h:] = (log_c[h:] - log_c[:-h]) / (sigma[h:] * math.sqrt(h))
                total = total + mom
            score = np.tanh(total / (len(params.horizons) + 1) / params.scale)
        ok = np.isfinite(score) & (sigma > params.min_vol)
        ok[: trend_min_bars(params) - 1] = False
        score = np.where(ok, score, 0.0)
        pos = np.cumsum(valid) - 1
        out = np.where(pos >= 0, score[np.maximum(pos, 0)], 0.0)
    return out


def trend_score(close: Any, params: TrendSettings = TrendSettings()) -> float:
    """Trend score at the last bar of `close` (0.0 when there is not enough history)."""
    scores = trend_scores(close, params)
    return float(scores[-1]) if len(scores) else 0.0


@dataclass(frozen=True, slots=True)
class TrendState:
    """Incremental trend score: EMA + EWMA vol states and the last max(horizons) log closes."""

    params: TrendSettings
    ema: EmaState
    vol: EwmaVolState
    logs: tuple[float, ...] = ()
    value: float = 0.0

    @classmethod
    def start(cls, params: TrendSettings = TrendSettings()) -> TrendState:
        return cls(params, EmaState.start(params.ema_span), EwmaVolState.start(params.vol_span))

    @classmethod
    def warm(cls, close: Any, params: TrendSettings = TrendSettings()) -> TrendState:
        """The state after folding `close` through `update`, built from batch results."""
        cv = valid_prices(close)
        ema_state, vol_state = EmaState.warm(cv, params.ema_span), EwmaVolState.warm(cv, params.vol_span)
        logs = tuple(math.log(v) for v in cv[-(max(params.horizons) + 1) :].tolist())
        value = 0.0
        if len(logs) >= trend_min_bars(params):
            lagged = [logs[-1 - h] for h in params.horizons]
            value = _trend_from(logs[-1], math.log(ema_state.value), lagged, vol_state.value, params)
        return cls(params, ema_state, vol_state, logs, value)

    def update(self, close: float) -> tuple[TrendState, float]:
        if not (math.isfinite(close) and close > 0.0):
            return self, self.value
        p = self.params
        ema_state, ema_value = self.ema.update(close)
        vol_state, sigma = self.vol.update(close)
        log_close = math.log(close)
        keep = max(p.horizons)
        logs = (self.logs + (log_close,))[-(keep + 1) :]
        value = 0.0
        if len(logs) >= trend_min_bars(p):
            lagged = [logs[-1 - h] for h in p.horizons]
            value = _trend_from(log_close, math.log(ema_value), lagged, sigma, p)
        return TrendState(p, ema_state, vol_state, logs, value), value


# --------------------------------------------------------------------------- carry


def annualise_funding(rate_per_interval: float, interval_hours: float = 8.0) -> float:
    """Funding APR: rate per 8h interval x 3 x 365 (generally x 24 / interval_hours x 365)."""
    return rate_per_interval * (24.0 / interval_hours) * 365.0


def annualise_basis(mark: float, index: float, horizon_hours: float = 8.0) -> float:
    """Basis APR: (mark - index) / index, assumed to converge over `horizon_hours`, annualised."""
    if not (index > 0.0):
        return math.nan
    return (mark - index) / index * (_HOURS_PER_YEAR / horizon_hours)


def _known(x: float | None) -> TypeGuard[float]:
    return x is not None and math.isfinite(x)


def carry_score(
    funding_rate: float | None,
    mark: float | None = None,
    index: float | None = None,
    scoring: HybridScoring = HybridScoring(),
    params: CarrySettings = CarrySettings(),
) -> float:
    """Carry for a LONG in [-1, 1]: paid to hold (negative funding, perp below index) is positive.

    funding part = clip(-funding_APR / carry_funding_saturation_apr, -1, 1)
    basis part   = clip(-basis_APR / carry_basis_saturation_apr, -1, 1)
    carry        = funding_weight * funding part + (1 - funding_weight) * basis part
    With only one input known, that part alone; with neither, 0. Non-increasing in funding and in mark.
    """
    parts: list[tuple[float, float]] = []
    if _known(funding_rate):
        apr = annualise_funding(float(funding_rate), params.funding_interval_hours)
        parts.append((params.funding_weight, _clip1(-apr / scoring.carry_funding_saturation_apr)))
    if _known(mark) and _known(index):
        apr = annualise_basis(float(mark), float(index), params.basis_horizon_hours)
        if math.isfinite(apr):
            parts.append((1.0 - params.funding_weight, _clip1(-apr / scoring.carry_basis_saturation_apr)))
    if not parts:
        return 0.0
    if len(parts) == 1:
        return parts[0][1]
    total_w = parts[0][0] + parts[1][0]
    if total_w <= 0.0:
        return 0.0
    return _clip1((parts[0][0] * parts[0][1] + parts[1][0] * parts[1][1]) / total_w)


# --------------------------------------------------------------------------- expectancy


@dataclass(frozen=True)
class TradeStats:
    """Closed-trade statistics of a symbol's strategy. `loss_rate` defaults to 1 - win_rate; scratch
    trades (pnl == 0) make win_rate + loss_rate < 1."""

    n_trades: int
    win_rate: float
    payoff_ratio: float  # average win / average loss (inf with wins and no losses)
    loss_rate: float | None = None

    def __post_init__(self) -> None:
        if self.n_trades < 0:
            raise ValueError(f"n_trades must be >= 0, got {self.n_trades}")
        if not 0.0 <= self.win_rate <= 1.0:
            raise ValueError(f"win_rate must be in [0, 1], got {self.win_rate}")
        if not self.payoff_ratio >= 0.0:
            raise ValueError(f"payoff_ratio must be >= 0, got {self.payoff_ratio}")
        loss = 1.0 - self.win_rate if self.loss_rate is None else self.loss_rate
        if not 0.0 <= loss <= 1.0 - self.win_rate + 1e-12:
            raise ValueError(f"loss_rate must be in [0, 1 - win_rate], got {self.loss_rate}")
        object.__setattr__(self, "loss_rate", loss)

    @classmethod
    def from_pnls(cls, pnls: Iterable[float]) -> TradeStats:
        """From per-trade PnLs (any unit; non-finite entries are ignored)."""
        p = np.asarray([x for x in pnls if math.isfinite(x)], dtype=np.float64)
        n = len(p)
        if n == 0:
            return cls(0, 0.0, 0.0, 0.0)
        wins, losses = p[p > 0.0], p[p < 0.0]
        avg_win = float(wins.mean()) if len(wins) else 0.0
        avg_loss = float(-losses.mean()) if len(losses) else 0.0
        payoff = avg_win / avg_loss if avg_loss > 0.0 else (math.inf if avg_win > 0.0 else 0.0)
        return cls(n, len(wins) / n, payoff, len(losses) / n)


def expectancy_per_unit_risk(stats: TradeStats) -> float:
    """E = win_rate * payoff_ratio - loss_rate: mean PnL per trade in units of the average loss."""
    won = 0.0 if stats.win_rate == 0.0 else stats.win_rate * stats.payoff_ratio
    return won - float(stats.loss_rate)  # type: ignore[arg-type]  # __post_init__ sets it: never None


def expectancy_score(stats: TradeStats | None, params: ExpectancySettings = ExpectancySettings()) -> float:
    """tanh(E / scale) * n / (n + prior_trades), in [-1, 1]; 0 with no trades (or no stats)."""
    if stats is None or stats.n_trades == 0:
        return 0.0
    e = expectancy_per_unit_risk(stats)
    shrink = stats.n_trades / (stats.n_trades + params.prior_trades)
    return math.tanh(e / params.scale) * shrink


# --------------------------------------------------------------------------- router quality


@dataclass(frozen=True)
class RouterStats:
    """Execution quality of recent orders: average slippage vs mid (bps, positive = paid), fill rate and
    maker ratio as fractions, and the number of orders they are measured on."""

    slippage_bps: float
    fill_rate: float
    maker_ratio: float
    n_orders: int

    def __post_init__(self) -> None:
        if not (0.0 <= self.fill_rate <= 1.0 and 0.0 <= self.maker_ratio <= 1.0):
            raise ValueError("fill_rate and maker_ratio must be fractions in [0, 1]")
        if self.n_orders < 0 or not math.isfinite(self.slippage_bps):
            raise ValueError("n_orders must be >= 0 and slippage_bps finite")


def router_score(stats: RouterStats | None, params: RouterScoreSettings = RouterScoreSettings()) -> float:
    """Execution quality in [-1, 1]: non-increasing in slippage, non-decreasing in fill and maker ratio."""
    if stats is None or stats.n_orders == 0:
        return 0.0
    slip = 1.0 - 2.0 * min(max(stats.slippage_bps / params.slippage_bad_bps, 0.0), 1.0)
    fill = 2.0 * stats.fill_rate - 1.0
    maker = 2.0 * stats.maker_ratio - 1.0
    raw = params.weight_slippage * slip + params.weight_fill * fill + params.weight_maker * maker
    return _clip1(raw * stats.n_orders / (stats.n_orders + params.prior_orders))


# --------------------------------------------------------------------------- hybrid


@dataclass(frozen=True)
class ComponentWeights:
    trend: float
    carry: float
    expectancy: float
    router: float

    def as_dict(self) -> dict[str, float]:
        return {"trend": self.trend, "carry": self.carry, "expectancy": self.expectancy, "router": self.router}


def effective_weights(
    scoring: HybridScoring,
    tier: str,
    regime: str | None = None,
    vol_regimes: VolRegimes | None = None,
) -> ComponentWeights:
    """Tier weights x regime modifiers, re-normalised to sum to 1.

    Without a regime (or `vol_regimes`), the tier weights. If the modifiers zero every weighted
    component (a config no one should write), the unmodified tier weights are used.
    """
    w: HybridWeights = scoring.weights_for(tier)
    base = ComponentWeights(w.trend, w.carry, w.expectancy, w.router)
    if regime is not None:
        check_regime(regime)
    if regime is None or vol_regimes is None:
        return base
    m = weight_modifiers(vol_regimes, regime)
    raw = (w.trend * m.trend, w.carry * m.carry, w.expectancy * m.expectancy, w.router * m.router)
    total = math.fsum(raw)
    if total <= 0.0:
        return base
    return ComponentWeights(*(x / total for x in raw))


def _sign(x: float) -> float:
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


def hybrid_score(
    trend: float,
    carry: float,
    expectancy: float,
    router: float,
    weights: ComponentWeights,
    orient_quality: bool = True,
) -> float:
    """The weighted sum of the module docstring, clamped to [-1, 1]. Inputs must be finite."""
    directional = weights.trend * trend + weights.carry * carry
    quality = weights.expectancy * expectancy + weights.router * router
    s = _sign(directional) if orient_quality else 1.0
    return _clip1(directional + s * quality)


def _component(x: float | None) -> tuple[float, bool]:
    if x is None or not math.isfinite(x):
        return 0.0, True
    return _clip1(float(x)), False


@dataclass(frozen=True)
class HybridResult:
    """One symbol's scores: each component (long-side, in [-1, 1]), the weights used, the hybrid."""

    symbol: str
    tier: str
    regime: str | None
    trend: float
    carry: float
    expectancy: float
    router: float
    weights: ComponentWeights
    hybrid: float
    missing: tuple[str, ...] = field(default=())

    def to_intel_dict(self) -> dict[str, Any]:
        """The hybrid part of a `logs/state/intel.json` entry."""
        return {
            "trend_score": self.trend,
            "carry_score": self.carry,
            "expectancy_score": self.expectancy,
            "router_score": self.router,
            "hybrid_score": self.hybrid,
            "tier": self.tier,
            "weights": self.weights.as_dict(),
        }


def score_symbol(
    symbol: str,
    tier: str,
    *,
    trend: float | None,
    carry: float | None,
    expectancy: float | None,
    router: float | None,
    scoring: HybridScoring = HybridScoring(),
    regime: str | None = None,
    vol_regimes: VolRegimes | None = None,
    orient_quality: bool = True,
) -> HybridResult:
    """Combine component scores into a `HybridResult` with the tier's (regime-modified) weights."""
    weights = effective_weights(scoring, tier, regime, vol_regimes)
    return score_with_weights(symbol, tier, regime, weights, trend=trend, carry=carry, expectancy=expectancy,
                              router=router, orient_quality=orient_quality)


def score_with_weights(
    symbol: str,
    tier: str,
    regime: str | None,
    weights: ComponentWeights,
    *,
    trend: float | None,
    carry: float | None,
    expectancy: float | None,
    router: float | None,
    orient_quality: bool = True,
) -> HybridResult:
    """`score_symbol` with the weights already resolved (`effective_weights(scoring, tier, regime, ...)`):
    a loop over many symbols computes the few (tier, regime) weight sets once."""
    t, t_missing = _component(trend)
    c, c_missing = _component(carry)
    e, e_missing = _component(expectancy)
    r, r_missing = _component(router)
    missing = tuple(name for name, absent in zip(COMPONENTS, (t_missing, c_missing, e_missing, r_missing)) if absent)
    hybrid = hybrid_score(t, c, e, r, weights, orient_quality)
    return HybridResult(symbol, tier, regime, t, c, e, r, weights, hybrid, missing)


def rank_by_hybrid(results: Iterable[HybridResult]) -> list[HybridResult]:
    """Best long candidates first: hybrid descending, ties broken by symbol ascending (stable)."""
    return sorted(results, key=lambda r: (-r.hybrid, r.symbol))


def gate(hybrid: float, thresholds: ScoreThresholds) -> Side | None:
    """LONG if hybrid > min_hybrid_score_long; SHORT if hybrid < -min_hybrid_score_short; else None."""
    if not math.isfinite(hybrid):
        return None
    if hybrid > thresholds.min_hybrid_score_long:
        return "LONG"
    if hybrid < -thresholds.min_hybrid_score_short:
        return "SHORT"
    return None


def gate_result(result: HybridResult, scoring: HybridScoring = HybridScoring()) -> Side | None:
    """`gate` with the thresholds of the result's tier."""
    return gate(result.hybrid, scoring.thresholds_for(result.tier))


def intel_record(hybrid: HybridResult, regime: Any | None = None) -> dict[str, Any]:
    """One symbol's `intel.json` entry: trend/carry/hybrid scores plus `vol_regime` and `vol` when a
    `core.regimes.VolRegimeResult` is given."""
    record = hybrid.to_intel_dict()
    if regime is not None:
        record.update(regime.to_intel_dict())
    return record
