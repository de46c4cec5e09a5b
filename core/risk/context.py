"""RiskContext: per-snapshot aggregates built once per cycle; `check(order)` is incremental."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.filters import MARKET_ORDER_TYPES, SymbolFilters
from core.numbers import ZERO, to_decimal
from core.portfolio import (
    PortfolioSnapshot,
    PositionLeg,
    correlation_exposure,
    effective_trading_state,
    gross_by_group,
    is_finite_positive,
    leg_notional,
    resolve_marks,
)
from core.risk.checks import PIPELINE, RANK, summary
from core.risk.facts import order_facts
from core.risk.metrics import (
    Drawdown,
    daily_loss_at_or_above,
    daily_loss_pct,
    day_start_nav,
    dd_at_or_above,
    drawdown,
    latest_nav,
)
from core.risk.records import OrderFacts, ProposedOrder, RiskDecision, Veto

if TYPE_CHECKING:
    from core.brackets import Brackets
    from settings.models import CorrelationGroups, Profile, RiskLimits

__all__ = ["RiskContext", "check_order", "correlation_status"]


@dataclass(frozen=True)
class RiskContext:
    """Per-snapshot aggregates; built once per cycle, then `check(order)` is incremental."""

    now_ms: int
    limits: RiskLimits
    groups: CorrelationGroups
    profile: Profile | None
    hedge_mode: bool
    trading_state: str
    kill_switch: bool
    kill_switch_sources: Mapping[str, bool]
    filters: Mapping[str, SymbolFilters]
    legs: Mapping[tuple[str, str], PositionLeg]
    marks: Mapping[str, Decimal]
    # NAV
    nav_usd: Decimal | None  # latest finite NAV (may be stale); caps use it when positive
    nav_ts_ms: int | None
    nav_stale_reason: str  # "" when fresh
    dd: Drawdown | None
    circuit_active: bool
    kill_dd_active: bool
    day_start_nav_usd: Decimal | None
    realized_pnl_today_usd: Decimal | None
    daily_loss: Decimal | None
    daily_loss_active: bool
    # exposure (positions + resting orders that would grow a leg)
    symbol_gross: Mapping[str, Decimal]
    total_gross: Decimal
    group_gross: Mapping[str, Decimal]
    groups_of: Mapping[str, tuple[str, ...]]
    committed_legs: frozenset[tuple[str, str]]  # open legs plus legs a resting order would create
    open_leg_count: int
    # caps in USD at this NAV (None without a positive NAV)
    gross_cap_usd: Decimal | None
    leverage_cap_usd: Decimal | None
    group_cap_usd: Mapping[str, Decimal]
    max_leverage: Decimal
    # brackets (docs/RISK.md "Brackets and liquidation"); None = no bracket source, the bracket checks rest
    brackets: Mapping[str, Brackets] | None = None
    leg_gross: Mapping[tuple[str, str], Decimal] = field(default_factory=dict)  # leg notional + resting entries
    total_upnl: Decimal = ZERO  # unrealized PnL of all open legs (wallet = NAV - this)
    total_maint: Decimal = ZERO  # maintenance margin of the open legs whose brackets are known
    maint_unknown: tuple[str, ...] = ()  # symbols of open legs without brackets (cross margin unjudgeable)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        snapshot: PortfolioSnapshot,
        limits: RiskLimits,
        groups: CorrelationGroups,
        profile: Profile | None = None,
    ) -> RiskContext:
        last = latest_nav(snapshot.nav_history)
        nav = last.nav_usd if last else None
        nav_ok = is_finite_positive(nav)
        fresh_ms = to_decimal(float(limits.nav_freshness_seconds)) * 1000
        if last is None:
            stale = "no NAV point in the history"
        elif not nav_ok:
            stale = f"latest NAV {nav} is not a positive number"
        elif abs(snapshot.now_ms - last.ts_ms) > fresh_ms:
            # |age|: a point far in the future means a broken clock, not a fresh NAV
            stale = f"latest NAV is {(snapshot.now_ms - last.ts_ms) / 1000:.1f} s old"
        else:
            stale = ""

        dd = drawdown(snapshot.nav_history, limits.nav_history_len, snapshot.hwm_nav_usd)
        circuit_thr = to_decimal(limits.circuit_breakers.max_portfolio_dd_nav_pct)
        kill_thr = to_decimal(limits.KILL_DD_PCT)
        day_start = snapshot.day_start_nav_usd
        if not is_finite_positive(day_start):
            day_start = day_start_nav(snapshot.nav_history, snapshot.now_ms)
        loss = daily_loss_pct(day_start, nav)

        marks = resolve_marks(snapshot.positions, snapshot.mark_prices)
        legs = {leg.key: leg for leg in snapshot.positions if leg.qty > 0}
        symbol_gross: dict[str, Decimal] = {}
        leg_gross: dict[tuple[str, str], Decimal] = {}
        for leg in legs.values():
            n = leg_notional(leg, marks.get(leg.symbol))
            symbol_gross[leg.symbol] = symbol_gross.get(leg.symbol, ZERO) + n
            leg_gross[leg.key] = n
        committed = set(legs)
        for o in snapshot.open_orders:
            if not o.opens_risk or not is_finite_positive(o.qty):
                continue
            priced = o.order_type not in MARKET_ORDER_TYPES and is_finite_positive(o.price)
            px = o.price if priced else marks.get(o.symbol)
            if px is not None:
                symbol_gross[o.symbol] = symbol_gross.get(o.symbol, ZERO) + o.qty * px
                okey = (o.symbol, o.position_side)
                leg_gross[okey] = leg_gross.get(okey, ZERO) + o.qty * px
            committed.add((o.symbol, o.position_side))

        groups_of: dict[str, list[str]] = {}
        for name, g in groups.groups.items():
            for s in dict.fromkeys(g.symbols):
                groups_of.setdefault(s, []).append(name)
        group_gross = gross_by_group(symbol_gross, groups)
        brackets = snapshot.brackets
        total_maint = ZERO
        unknown: list[str] = []
        for leg in legs.values():
            br = brackets.get(leg.symbol) if brackets is not None else None
            if br is None:
                unknown.append(leg.symbol)
            else:
                total_maint += br.maint(leg_notional(leg, marks.get(leg.symbol)))
        max_lev = to_decimal(limits.MAX_LEVERAGE)
        if profile is not None:
            max_lev = min(max_lev, to_decimal(profile.max_leverage))
        return cls(
            now_ms=snapshot.now_ms,
            limits=limits,
            groups=groups,
            profile=profile,
            hedge_mode=snapshot.hedge_mode,
            trading_state=effective_trading_state(limits.trading_state, snapshot.trading_state),
            kill_switch=bool(limits.kill_switch or snapshot.kill_switch),
            kill_switch_sources=MappingProxyType(
                {"config": bool(limits.kill_switch), "state": bool(snapshot.kill_switch)}),
            filters=snapshot.filters,
            legs=MappingProxyType(legs),
            marks=MappingProxyType(marks),
            nav_usd=nav,
            nav_ts_ms=last.ts_ms if last else None,
            nav_stale_reason=stale,
            dd=dd,
            circuit_active=dd_at_or_above(dd, circuit_thr),
            kill_dd_active=dd_at_or_above(dd, kill_thr),
            day_start_nav_usd=day_start,
            realized_pnl_today_usd=snapshot.realized_pnl_today_usd,
            daily_loss=loss,
            daily_loss_active=daily_loss_at_or_above(day_start, nav, limits.KILL_DAILY_LOSS_PCT),
            symbol_gross=MappingProxyType(symbol_gross),
            total_gross=sum(symbol_gross.values(), ZERO),
            group_gross=MappingProxyType(group_gross),
            groups_of=MappingProxyType({s: tuple(v) for s, v in groups_of.items()}),
            committed_legs=frozenset(committed),
            open_leg_count=len(legs),
            gross_cap_usd=to_decimal(limits.max_gross_exposure_nav_pct) * nav if nav_ok else None,  # type: ignore[operator]
            leverage_cap_usd=max_lev * nav if nav_ok else None,  # type: ignore[operator]
            group_cap_usd=MappingProxyType(
                {n: to_decimal(g.max_group_nav_pct) * nav for n, g in groups.groups.items()} if nav_ok else {}  # type: ignore[operator]
            ),
            max_leverage=max_lev,
            brackets=brackets,
            leg_gross=MappingProxyType(leg_gross),
            total_upnl=sum((leg.unrealized_pnl for leg in legs.values()), ZERO),
            total_maint=total_maint,
            maint_unknown=tuple(dict.fromkeys(unknown)),
        )

    @property
    def nav_ok(self) -> bool:
        return is_finite_positive(self.nav_usd)

    def symbol_cap_usd(self, symbol: str) -> Decimal | None:
        return to_decimal(self.limits.symbol_nav_cap(symbol)) * self.nav_usd if self.nav_ok else None  # type: ignore[operator]

    # ------------------------------------------------------------------ check
    def facts(self, order: ProposedOrder) -> OrderFacts:
        return order_facts(order, self)

    def check(self, order: ProposedOrder,
              pipeline: Sequence[Callable[[OrderFacts, RiskContext], Veto | None]] | None = None) -> RiskDecision:
        f = order_facts(order, self)
        vetoes = [v for chk in (pipeline or PIPELINE) if (v := chk(f, self)) is not None]
        vetoes.sort(key=lambda v: RANK.get(v.code, len(RANK)))
        return RiskDecision(approved=not vetoes, vetoes=tuple(vetoes), checks=summary(f, self), order=order)

    def after(self, order: ProposedOrder) -> RiskContext:
        """This context plus `order` as pending exposure (call it for each order you approve and send)."""
        f = order_facts(order, self)
        if f.is_reduce or f.add_usd <= 0:
            return self
        sym = order.symbol
        symbol_gross = dict(self.symbol_gross)
        symbol_gross[sym] = symbol_gross.get(sym, ZERO) + f.add_usd
        group_gross = dict(self.group_gross)
        for g in self.groups_of.get(sym, ()):
            group_gross[g] = group_gross[g] + f.add_usd
        leg_gross = dict(self.leg_gross)
        key = (sym, order.position_side)
        leg_gross[key] = leg_gross.get(key, ZERO) + f.add_usd
        return replace(
            self,
            symbol_gross=MappingProxyType(symbol_gross),
            leg_gross=MappingProxyType(leg_gross),
            total_gross=self.total_gross + f.add_usd,
            group_gross=MappingProxyType(group_gross),
            committed_legs=self.committed_legs | {(sym, order.position_side)},
        )

    # ------------------------------------------------------------------ state
    def correlation_status(self) -> dict[str, dict[str, Any]]:
        """Per group for risk.json / the dashboard, from positions only (resting orders excluded)."""
        nav = self.nav_usd if self.nav_ok else None
        exposures = correlation_exposure(self.legs.values(), nav, self.groups, self.marks)
        return {g.group: g.to_dict() for g in exposures}


def check_order(
    order: ProposedOrder,
    snapshot: PortfolioSnapshot,
    limits: RiskLimits,
    groups: CorrelationGroups,
    profile: Profile | None = None,
) -> RiskDecision:
    """Approve, or veto with every applicable coded reason. Builds the context for this one order."""
    return RiskContext.build(snapshot, limits, groups, profile).check(order)


def correlation_status(snapshot: PortfolioSnapshot, groups: CorrelationGroups,
                       limits: RiskLimits | None = None) -> dict[str, dict[str, Any]]:
    """`risk.json.correlation_groups`: {group: {symbols, gross_usd, gross_nav_pct, max_group_nav_pct, status}}.

    Uses the latest NAV of the snapshot (stale or not: the dashboard shows the freshness separately).
    """
    last = latest_nav(snapshot.nav_history)
    nav = last.nav_usd if last and is_finite_positive(last.nav_usd) else None
    exposures = correlation_exposure(snapshot.open_legs, nav, groups, snapshot.marks())
    return {g.group: g.to_dict() for g in exposures}
