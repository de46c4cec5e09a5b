"""Position sizing (docs/v7.4_Risk_and_Methodology.md). Pure: values in, values out.

    effective_per_trade_nav_pct = base_per_trade_nav_pct(tier) x sizing_multiplier(tier, regime)
    margin_usd                  = NAV x effective_per_trade_nav_pct      (or a fixed capital_per_trade)
    leverage                    = min(symbol target_leverage, strategy leverage, profile max_leverage, MAX_LEVERAGE)
    target_notional_usd         = margin_usd x leverage                   (clipped by cap_notional_usd if given)
    qty                         = floor_to_step(target_notional_usd / price)

`per_trade_nav_pct` is the MARGIN a trade commits, as docs/Runbook.md `capital_per_trade` (USDT) is: the notional
is margin x leverage. Leverage on Binance is an integer per symbol: fractional minima are floored (>= 1), so
the margin actually used is never more than planned.

The result carries every intermediate number and, when the order cannot be sent, a reason:
`invalid_input`, `rounds_to_zero`, `below_min_qty`, `below_min_notional`. Risk caps are not applied here:
`risk_limits.check_order()` judges the sized order against the portfolio.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from core.filters import SymbolFilters, quantize_qty
from core.numbers import ZERO, to_decimal

if TYPE_CHECKING:
    from settings.models import PairsUniverse, Profile, RiskLimits, StrategyConfig

__all__ = [
    "SizingResult",
    "effective_per_trade_nav_pct",
    "per_trade_nav_pct",
    "target_leverage",
    "qty_for_notional",
    "size_position",
]

ONE = Decimal(1)

def _ok(x: Decimal | None) -> bool:
    return x is not None and x.is_finite() and x > 0


@dataclass(frozen=True, slots=True)
class SizingResult:
    symbol: str
    tier: str
    regime: str
    nav_usd: Decimal
    price: Decimal
    base_per_trade_nav_pct: Decimal
    sizing_multiplier: Decimal
    effective_per_trade_nav_pct: Decimal
    margin_usd: Decimal
    leverage_candidates: Mapping[str, Decimal]
    leverage: Decimal  # the leverage the notional is sized with (an integer unless the cap is below 1)
    exchange_leverage: int  # what to set on the symbol (POST /fapi/v1/leverage)
    target_notional_usd: Decimal
    cap_notional_usd: Decimal | None
    raw_qty: Decimal
    qty: Decimal  # floored to the step: never more than the target
    notional_usd: Decimal  # qty x price
    min_notional: Decimal  # max(exchange MIN_NOTIONAL, pairs_universe override)
    reason: str = ""  # "" when the order can be sent
    extras: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.reason

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            v = getattr(self, name)
            if isinstance(v, Decimal):
                v = str(v)
            elif isinstance(v, Mapping):
                v = {k: str(x) if isinstance(x, Decimal) else x for k, x in v.items()}
            out[name] = v
        out["ok"] = self.ok
        return out


def effective_per_trade_nav_pct(base_per_trade_nav_pct: Any, sizing_multiplier: Any) -> Decimal:
    """docs/v7.4_Risk_and_Methodology.md: base x multiplier (exact in Decimal: 0.04 x 1.15 = 0.046)."""
    return to_decimal(base_per_trade_nav_pct) * to_decimal(sizing_multiplier)


def per_trade_nav_pct(strategy_config: StrategyConfig, tier: str, regime: str) -> tuple[Decimal, Decimal, Decimal]:
    """(base, multiplier, effective) for a tier and a vol regime."""
    base = to_decimal(strategy_config.tiers[tier].per_trade_nav_pct)  # type: ignore[index]  # str key, Literal dict
    mult = to_decimal(strategy_config.vol_regimes.sizing_multiplier(tier, regime))
    return base, mult, effective_per_trade_nav_pct(base, mult)


def target_leverage(
    symbol: str,
    *,
    limits: RiskLimits | None = None,
    universe: PairsUniverse | None = None,
    profile: Profile | None = None,
    strategy_leverage: Any = None,
) -> tuple[Decimal, int, dict[str, Decimal]]:
    """(sizing leverage, exchange leverage, candidates): the minimum of every configured bound.

    Candidates: `target_leverage` (pairs_universe override), `strategy` (strategy block), `profile`
    (profiles.yaml max_leverage), `MAX_LEVERAGE` (risk_limits). With none configured: 1x.
    """
    cands: dict[str, Decimal] = {}
    override = universe.overrides.get(symbol) if universe is not None else None
    if override is not None and override.target_leverage is not None:
        cands["target_leverage"] = to_decimal(override.target_leverage)
    if strategy_leverage is not None:
        cands["strategy"] = to_decimal(strategy_leverage)
    if profile is not None:
        cands["profile"] = to_decimal(profile.max_leverage)
    if limits is not None:
        cands["MAX_LEVERAGE"] = to_decimal(limits.MAX_LEVERAGE)
    lev = min(cands.values()) if cands else ONE
    exchange = max(1, int(lev.to_integral_value(rounding=ROUND_FLOOR)))
    sizing = Decimal(exchange) if lev >= 1 else lev  # below 1x: size with it, the symbol stays at 1x
    return sizing, exchange, cands


def qty_for_notional(notional_usd: Any, price: Any, filters: SymbolFilters,
                     market: bool = True) -> tuple[Decimal, Decimal]:
    """(raw qty, qty floored to the step)."""
    raw = to_decimal(notional_usd) / to_decimal(price)
    return raw, quantize_qty(raw, filters, market=market)


def size_position(
    symbol: str,
    nav_usd: Any,
    price: Any,
    filters: SymbolFilters,
    *,
    strategy_config: StrategyConfig,
    regime: str,
    tier: str | None = None,
    limits: RiskLimits | None = None,
    universe: PairsUniverse | None = None,
    profile: Profile | None = None,
    strategy_leverage: Any = None,
    capital_per_trade: Any = None,
    cap_notional_usd: Any = None,
    market: bool = True,
) -> SizingResult:
    """Size one entry. `tier` defaults to the universe's tier for the symbol (else SATELLITE).

    `capital_per_trade` (USDT margin, docs/Runbook.md) replaces NAV x pct when given. `cap_notional_usd` clips the
    target (e.g. the headroom left under a cap); the caps themselves are enforced by check_order.
    """
    if tier is None:
        tier = universe.tier_of(symbol) if universe is not None else "SATELLITE"
    nav = _safe(nav_usd)
    px = _safe(price)
    base, mult, eff = per_trade_nav_pct(strategy_config, tier, regime)
    lev, exch_lev, cands = target_leverage(
        symbol, limits=limits, universe=universe, profile=profile, strategy_leverage=strategy_leverage)
    override = universe.overrides.get(symbol) if universe is not None else None
    min_notional = filters.min_notional
    if override is not None and override.min_notional is not None:
        min_notional = max(min_notional, to_decimal(override.min_notional))
    cap = _safe(cap_notional_usd) if cap_notional_usd is not None else None

    def result(margin: Decimal, target: Decimal, raw: Decimal, qty: Decimal, reason: str) -> SizingResult:
        return SizingResult(
            symbol=symbol, tier=tier, regime=regime, nav_usd=nav, price=px,
            base_per_trade_nav_pct=base, sizing_multiplier=mult, effective_per_trade_nav_pct=eff,
            margin_usd=margin, leverage_candidates=cands, leverage=lev, exchange_leverage=exch_lev,
            target_notional_usd=target, cap_notional_usd=cap, raw_qty=raw, qty=qty,
            notional_usd=qty * px if _ok(px) else ZERO, min_notional=min_notional, reason=reason,
        )

    fixed = _safe(capital_per_trade) if capital_per_trade is not None else None
    if not _ok(px) or (fixed is None and not _ok(nav)) or (fixed is not None and not _ok(fixed)) \
            or (cap is not None and not (cap.is_finite() and cap >= 0)):
        return result(ZERO, ZERO, ZERO, ZERO, "invalid_input")
    margin = fixed if fixed is not None else nav * eff
    target = margin * lev
    if cap is not None and target > cap:
        target = cap
    raw, qty = qty_for_notional(target, px, filters, market=market)
    step_min = filters.lot(market)[1]
    if qty <= 0:
        reason = "rounds_to_zero"
    elif step_min > 0 and qty < step_min:
        reason = "below_min_qty"
    elif min_notional > 0 and qty * px < min_notional:
        reason = "below_min_notional"
    else:
        reason = ""
    return result(margin, target, raw, qty, reason)


def _safe(x: Any) -> Decimal:
    """Decimal, NaN for non-numbers (sizing reports invalid_input instead of raising)."""
    if isinstance(x, float) and not math.isfinite(x):
        return Decimal("NaN")
    try:
        return to_decimal(x)
    except ValueError:
        return Decimal("NaN")
