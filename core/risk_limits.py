"""`check_order()`: the single pre-trade choke point. Pure: values in, values out.

Modelled on NautilusTrader's RiskEngine (a linear pipeline of small named checks; every denial carries a
coded reason), with two deliberate differences:
- every check runs and EVERY applicable veto is reported (the operator sees all reasons at once); each check
  is a pure function of (order facts, context), so the order of the pipeline cannot change the result;
- "reducing" is judged PER LEG (hedge mode): SELL on a LONG leg or BUY on a SHORT leg, for at most the leg's
  quantity. Nautilus judges it on the net position, which is wrong when both legs are open.

Two entry points:
- `check_order(order, snapshot, limits, groups, profile=None)`: builds the context and checks one order.
- `RiskContext.build(snapshot, limits, groups, profile)` once per cycle, then `ctx.check(order)` per order
  (the fast path: per-snapshot aggregates are precomputed, the check only adds the order's increment).
  `ctx.after(order)` returns a context that also counts an approved order as pending exposure, so several
  orders approved in one cycle cannot jointly breach a cap that each passes alone.

Rules (docs/RISK.md has the table of codes, numbers and operator actions):
- An order that strictly reduces an existing leg is never blocked by the caps it reduces, nor by the
  states/kill conditions that only forbid NEW risk (flattening must always stay possible). It still must be
  a valid exchange order (step, tick, min/max qty, percent price); like Binance's reduce-only exemption, it is
  exempt from min notional.
- HALTED blocks everything except strict reductions (`trading_halted`); REDUCING the same (`reduce_only`).
- Exposure is gross: |notional| of every leg, both legs of a hedged pair count. Post-trade figures include
  resting orders that would grow a leg (they can fill) plus this order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from core.filters import MARKET_ORDER_TYPES, FilterViolation, SymbolFilters, check_order_filters
from core.portfolio import (
    ZERO,
    Drawdown,
    PortfolioSnapshot,
    PositionLeg,
    correlation_exposure,
    daily_loss_at_or_above,
    daily_loss_pct,
    day_start_nav,
    dd_at_or_above,
    dec,
    drawdown,
    effective_trading_state,
    float_or_none as _f,
    gross_by_group,
    is_finite_positive,
    latest_nav,
    leg_notional,
    resolve_marks,
)

if TYPE_CHECKING:
    from settings.models import CorrelationGroups, Profile, RiskLimits

__all__ = [
    "VETO_CODES",
    "RISK_INCREASE_ONLY_CODES",
    "ORDER_TYPES",
    "ProposedOrder",
    "Veto",
    "RiskDecision",
    "OrderFacts",
    "RiskContext",
    "PIPELINE",
    "check_order",
    "correlation_status",
]

# Canonical order of reporting (most fundamental first). The set reported never depends on this order.
VETO_CODES: tuple[str, ...] = (
    "kill_switch",
    "trading_halted",
    "kill_dd",
    "portfolio_dd_circuit",
    "daily_loss_limit",
    "reduce_only",
    "nav_stale",
    "invalid_order",
    "no_mark_price",
    "step_size",
    "tick_size",
    "min_qty",
    "max_qty",
    "price_bounds",
    "percent_price",
    "min_notional",
    "max_leverage",
    "max_positions",
    "symbol_nav_cap",
    "correlation_cap",
    "max_gross_exposure",
)
_RANK = {c: i for i, c in enumerate(VETO_CODES)}

# Codes that only guard NEW risk: a strict reduction of an existing leg never receives one of these.
RISK_INCREASE_ONLY_CODES = frozenset({
    "kill_switch", "trading_halted", "kill_dd", "portfolio_dd_circuit", "daily_loss_limit", "reduce_only",
    "nav_stale", "no_mark_price", "min_notional", "max_leverage", "max_positions", "symbol_nav_cap",
    "correlation_cap", "max_gross_exposure",
})

ORDER_TYPES = frozenset({"LIMIT", "MARKET"})
_OPEN_INTENTS = frozenset({"OPEN", "INCREASE", "ENTRY"})
_CLOSE_INTENTS = frozenset({"CLOSE", "REDUCE", "EXIT"})

# core.filters violation (Binance error code) -> our veto code
_FILTER_CODES = {
    -4023: "step_size",
    -4014: "tick_size",
    -4004: "min_qty",
    -4005: "max_qty",
    -4013: "price_bounds",
    -4002: "price_bounds",
    -4016: "percent_price",
    -4024: "percent_price",
    -4164: "min_notional",
}

_NAN = Decimal("NaN")
# Quantities and prices beyond 10^18 are nonsense on any venue. The bound also keeps the products the checks form
# (qty x price) inside Decimal's exponent range: at 1E+999999 they would raise decimal.Overflow outside the guarded
# filter evaluation. (Step and tick checks themselves are exact at any size: core.filters.is_multiple.)
_MAX_EXPONENT = 18


def _lenient_dec(value: Any) -> Decimal:
    """Decimal, or NaN for anything that is not a number: a bad order is vetoed, never raised on."""
    if isinstance(value, Decimal):
        return value
    if value is None or isinstance(value, bool):
        return _NAN
    if isinstance(value, float):  # float() first: numpy 2 reprs np.float64(1.5) as 'np.float64(1.5)'
        return Decimal(repr(float(value))) if math.isfinite(value) else Decimal(str(float(value)))
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return _NAN


# --------------------------------------------------------------------------- records

@dataclass(frozen=True, slots=True)
class ProposedOrder:
    """An order as the router would send it.

    - side BUY|SELL; position_side LONG|SHORT (hedge mode) or BOTH (one-way mode).
    - qty > 0; price: the limit price, None for MARKET.
    - order_type LIMIT|MARKET; empty -> LIMIT when a price is given, else MARKET.
    - intent: optional declaration OPEN|CLOSE (synonyms INCREASE/ENTRY, REDUCE/EXIT); when given it must
      agree with what side x position_side does, which catches one-way thinking in hedge mode
      (e.g. BUY SHORT meant as "open": in hedge mode it closes a short).
    - tag: free text (strategy, client order id) carried into telemetry.
    - leverage: the leverage the symbol will trade at, if known (checked against MAX_LEVERAGE).
    Numbers that are not numbers become NaN here and are vetoed as `invalid_order` by the check.
    """

    symbol: str
    side: str
    position_side: str
    qty: Decimal
    price: Decimal | None = None
    order_type: str = ""
    intent: str = ""
    tag: str = ""
    leverage: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", str(self.symbol).upper())
        object.__setattr__(self, "side", str(self.side).upper())
        object.__setattr__(self, "position_side", str(self.position_side).upper())
        object.__setattr__(self, "qty", _lenient_dec(self.qty))
        if self.price is not None:
            object.__setattr__(self, "price", _lenient_dec(self.price))
        otype = str(self.order_type or ("LIMIT" if self.price is not None else "MARKET")).upper()
        object.__setattr__(self, "order_type", otype)
        object.__setattr__(self, "intent", str(self.intent or "").upper())
        if self.leverage is not None:
            object.__setattr__(self, "leverage", _lenient_dec(self.leverage))

    @property
    def closes_leg(self) -> bool:
        """Hedge mode: SELL on LONG / BUY on SHORT shrink that leg (the reduce-only direction)."""
        return (self.side, self.position_side) in (("SELL", "LONG"), ("BUY", "SHORT"))

    @property
    def opens_leg(self) -> bool:
        return (self.side, self.position_side) in (("BUY", "LONG"), ("SELL", "SHORT"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "side": self.side, "positionSide": self.position_side,
            "qty": str(self.qty), "price": None if self.price is None else str(self.price),
            "type": self.order_type, "intent": self.intent, "tag": self.tag,
        }


@dataclass(frozen=True, slots=True)
class Veto:
    code: str  # one of VETO_CODES
    reason: str  # human sentence with the numbers
    numbers: Mapping[str, Any] = field(default_factory=dict)  # floats / ints / strings, JSON-ready
    details: tuple[str, ...] = ()  # sub-codes, e.g. ("reduce_exceeds_position",) for invalid_order

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "reason": self.reason, "numbers": dict(self.numbers), "details": list(self.details)}


@dataclass(frozen=True)
class RiskDecision:
    approved: bool
    vetoes: tuple[Veto, ...]
    checks: Mapping[str, Any]  # the numbers every check looked at (JSON-ready)
    order: ProposedOrder | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(v.code for v in self.vetoes)

    @property
    def veto_reason(self) -> str | None:
        """The first (most fundamental) code, as seed 002's `veto_reason`; None when approved."""
        return self.vetoes[0].code if self.vetoes else None

    def veto(self, code: str) -> Veto | None:
        return next((v for v in self.vetoes if v.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        """The `[decision]` breadcrumb payload: `{"approved":..., "veto": [codes], ...}`."""
        return {
            "approved": self.approved,
            "veto": list(self.codes),
            "vetoes": [v.to_dict() for v in self.vetoes],
            "checks": dict(self.checks),
            "order": self.order.to_dict() if self.order else None,
        }


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the order is, derived once; every check reads these and the context, nothing else."""

    order: ProposedOrder
    problems: tuple[str, ...]  # invalid_order sub-codes
    filters: SymbolFilters | None
    leg: PositionLeg | None
    leg_qty: Decimal
    is_reduce: bool  # valid order that strictly shrinks an existing leg by <= its qty
    mark: Decimal | None
    ref_price: Decimal | None  # LIMIT price, else the mark
    add_usd: Decimal  # gross exposure this order can add (0 for reductions / when unknown)
    new_leg: bool  # would create a leg not open and not pending
    violations: tuple[FilterViolation, ...]


# --------------------------------------------------------------------------- context

@dataclass(frozen=True)
class RiskContext:
    """Per-snapshot aggregates; built once per cycle, then `check(order)` is incremental."""

    now_ms: int
    limits: "RiskLimits"
    groups: "CorrelationGroups"
    profile: "Profile | None"
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

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        snapshot: PortfolioSnapshot,
        limits: "RiskLimits",
        groups: "CorrelationGroups",
        profile: "Profile | None" = None,
    ) -> "RiskContext":
        last = latest_nav(snapshot.nav_history)
        nav = last.nav_usd if last else None
        nav_ok = is_finite_positive(nav)
        fresh_ms = Decimal(repr(float(limits.nav_freshness_seconds))) * 1000
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
        circuit_thr = dec(limits.circuit_breakers.max_portfolio_dd_nav_pct)
        kill_thr = dec(limits.KILL_DD_PCT)
        day_start = snapshot.day_start_nav_usd
        if not is_finite_positive(day_start):
            day_start = day_start_nav(snapshot.nav_history, snapshot.now_ms)
        loss = daily_loss_pct(day_start, nav)

        marks = resolve_marks(snapshot.positions, snapshot.mark_prices)
        legs = {leg.key: leg for leg in snapshot.positions if leg.qty > 0}
        symbol_gross: dict[str, Decimal] = {}
        for leg in legs.values():
            symbol_gross[leg.symbol] = symbol_gross.get(leg.symbol, ZERO) + leg_notional(leg, marks.get(leg.symbol))
        committed = set(legs)
        for o in snapshot.open_orders:
            if not o.opens_risk or not is_finite_positive(o.qty):
                continue
            px = o.price if o.order_type not in MARKET_ORDER_TYPES and is_finite_positive(o.price) else marks.get(o.symbol)
            if px is not None:
                symbol_gross[o.symbol] = symbol_gross.get(o.symbol, ZERO) + o.qty * px
            committed.add((o.symbol, o.position_side))

        groups_of: dict[str, list[str]] = {}
        for name, g in groups.groups.items():
            for s in dict.fromkeys(g.symbols):
                groups_of.setdefault(s, []).append(name)
        group_gross = gross_by_group(symbol_gross, groups)
        max_lev = dec(limits.MAX_LEVERAGE)
        if profile is not None:
            max_lev = min(max_lev, dec(profile.max_leverage))
        return cls(
            now_ms=snapshot.now_ms,
            limits=limits,
            groups=groups,
            profile=profile,
            hedge_mode=snapshot.hedge_mode,
            trading_state=effective_trading_state(limits.trading_state, snapshot.trading_state),
            kill_switch=bool(limits.kill_switch or snapshot.kill_switch),
            kill_switch_sources=MappingProxyType({"config": bool(limits.kill_switch), "state": bool(snapshot.kill_switch)}),
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
            gross_cap_usd=dec(limits.max_gross_exposure_nav_pct) * nav if nav_ok else None,  # type: ignore[operator]
            leverage_cap_usd=max_lev * nav if nav_ok else None,  # type: ignore[operator]
            group_cap_usd=MappingProxyType(
                {n: dec(g.max_group_nav_pct) * nav for n, g in groups.groups.items()} if nav_ok else {}  # type: ignore[operator]
            ),
            max_leverage=max_lev,
        )

    @property
    def nav_ok(self) -> bool:
        return is_finite_positive(self.nav_usd)

    def symbol_cap_usd(self, symbol: str) -> Decimal | None:
        return dec(self.limits.symbol_nav_cap(symbol)) * self.nav_usd if self.nav_ok else None  # type: ignore[operator]

    # ------------------------------------------------------------------ check
    def facts(self, order: ProposedOrder) -> OrderFacts:
        return _order_facts(order, self)

    def check(self, order: ProposedOrder, pipeline: Sequence[Callable[[OrderFacts, "RiskContext"], Veto | None]] | None = None) -> RiskDecision:
        f = _order_facts(order, self)
        vetoes = [v for chk in (pipeline or PIPELINE) if (v := chk(f, self)) is not None]
        vetoes.sort(key=lambda v: _RANK.get(v.code, len(_RANK)))
        return RiskDecision(approved=not vetoes, vetoes=tuple(vetoes), checks=_summary(f, self), order=order)

    def after(self, order: ProposedOrder) -> "RiskContext":
        """This context plus `order` as pending exposure (call it for each order you approve and send)."""
        f = _order_facts(order, self)
        if f.is_reduce or f.add_usd <= 0:
            return self
        sym = order.symbol
        symbol_gross = dict(self.symbol_gross)
        symbol_gross[sym] = symbol_gross.get(sym, ZERO) + f.add_usd
        group_gross = dict(self.group_gross)
        for g in self.groups_of.get(sym, ()):
            group_gross[g] = group_gross[g] + f.add_usd
        return replace(
            self,
            symbol_gross=MappingProxyType(symbol_gross),
            total_gross=self.total_gross + f.add_usd,
            group_gross=MappingProxyType(group_gross),
            committed_legs=self.committed_legs | {(sym, order.position_side)},
        )

    # ------------------------------------------------------------------ state
    def correlation_status(self) -> dict[str, dict[str, Any]]:
        """Per group for risk.json / the dashboard, from positions only (resting orders excluded)."""
        exposures = correlation_exposure(self.legs.values(), self.nav_usd if self.nav_ok else None, self.groups, self.marks)
        return {g.group: g.to_dict() for g in exposures}


def check_order(
    order: ProposedOrder,
    snapshot: PortfolioSnapshot,
    limits: "RiskLimits",
    groups: "CorrelationGroups",
    profile: "Profile | None" = None,
) -> RiskDecision:
    """Approve, or veto with every applicable coded reason. Builds the context for this one order."""
    return RiskContext.build(snapshot, limits, groups, profile).check(order)


def correlation_status(snapshot: PortfolioSnapshot, groups: "CorrelationGroups", limits: "RiskLimits | None" = None) -> dict[str, dict[str, Any]]:
    """`risk.json.correlation_groups`: {group: {symbols, gross_usd, gross_nav_pct, max_group_nav_pct, status}}.

    Uses the latest NAV of the snapshot (stale or not: the dashboard shows the freshness separately).
    """
    last = latest_nav(snapshot.nav_history)
    nav = last.nav_usd if last and is_finite_positive(last.nav_usd) else None
    exposures = correlation_exposure(snapshot.open_legs, nav, groups, snapshot.marks())
    return {g.group: g.to_dict() for g in exposures}


# --------------------------------------------------------------------------- order facts

def _order_facts(order: ProposedOrder, ctx: RiskContext) -> OrderFacts:
    problems: list[str] = []
    side, ps, otype = order.side, order.position_side, order.order_type
    filters = ctx.filters.get(order.symbol)
    if filters is None:
        problems.append("unknown_symbol")
    elif filters.status != "TRADING":
        problems.append("symbol_not_trading")
    if side not in ("BUY", "SELL"):
        problems.append("bad_side")
    if ps not in ("LONG", "SHORT", "BOTH"):
        problems.append("bad_position_side")
    elif (ps == "BOTH") == ctx.hedge_mode:
        problems.append("position_side_mode_mismatch")  # Binance -4061
    if otype not in ORDER_TYPES:
        problems.append("unsupported_order_type")
    qty = order.qty
    qty_ok = qty.is_finite() and qty > 0
    if not qty_ok:
        problems.append("qty_not_finite" if not qty.is_finite() else "qty_not_positive")
    elif qty.adjusted() > _MAX_EXPONENT:
        problems.append("qty_out_of_range")
        qty_ok = False
    market = otype == "MARKET"
    price = None if market else order.price
    price_ok = True
    if otype == "LIMIT":
        if price is None:
            problems.append("price_missing")
            price_ok = False
        elif not price.is_finite():
            problems.append("price_not_finite")
            price_ok = False
        elif price <= 0:
            problems.append("price_not_positive")
            price_ok = False
        elif price.adjusted() > _MAX_EXPONENT:
            problems.append("price_out_of_range")
            price_ok = False
    if order.leverage is not None and not is_finite_positive(order.leverage):
        problems.append("leverage_not_positive")
    if order.intent and order.intent not in _OPEN_INTENTS and order.intent not in _CLOSE_INTENTS:
        problems.append("unknown_intent")

    leg = ctx.legs.get((order.symbol, ps))
    leg_qty = leg.qty if leg is not None else ZERO
    # Does the side point at shrinking the leg? Hedge: by side x positionSide. One-way: against the net leg.
    if ps == "BOTH":
        closes = leg is not None and side == ("SELL" if leg.direction == "LONG" else "BUY")
    else:
        closes = order.closes_leg
    if order.intent in _OPEN_INTENTS and closes:
        problems.append("intent_mismatch")  # e.g. BUY SHORT "to open": in hedge mode it closes a short
    elif order.intent in _CLOSE_INTENTS and not closes and side in ("BUY", "SELL"):
        problems.append("intent_mismatch")  # a "close" that would grow (or open) a leg
    if qty_ok and closes and qty > leg_qty and (ps != "BOTH" or order.intent in _CLOSE_INTENTS):
        # hedge mode cannot close more than the leg holds (one-way may flip, unless declared a close)
        problems.append("reduce_exceeds_position")
    if (ctx.profile is not None and not ctx.profile.enable_shorts and not closes and side == "SELL"
            and ps in ("SHORT", "BOTH")):
        problems.append("shorts_disabled")

    valid = not problems
    is_reduce = valid and closes and qty <= leg_qty
    mark = ctx.marks.get(order.symbol)
    ref = price if (price is not None and price_ok) else mark
    add_usd = ZERO
    if not is_reduce and qty_ok and ref is not None and side in ("BUY", "SELL"):
        if not closes:
            add_usd = qty * ref
        elif ps == "BOTH":
            add_usd = max(ZERO, qty - leg_qty) * ref  # one-way flip: the part beyond the leg opens the other way
        # a hedge-mode close can never grow a leg: it adds nothing even when it is invalid
    key = (order.symbol, ps)
    new_leg = not closes and key not in ctx.committed_legs

    violations: tuple[FilterViolation, ...] = ()
    if filters is not None and qty_ok and price_ok and side in ("BUY", "SELL") and otype in ORDER_TYPES:
        try:
            violations = tuple(check_order_filters(
                filters, side, qty, price, order_type=otype, mark_price=mark,
                reduce_only=closes and (ps != "BOTH" or qty <= leg_qty),  # closing orders: min notional exempt
            ))
        except (ArithmeticError, ValueError):  # the choke point never raises: malformed filters (a NaN bound) make
            # the exchange filters unjudgeable, and an order that cannot be judged is invalid
            problems.append("filters_unjudgeable")
            is_reduce = False
    return OrderFacts(order, tuple(dict.fromkeys(problems)), filters, leg, leg_qty, is_reduce, mark, ref,
                      add_usd, new_leg, violations)


# --------------------------------------------------------------------------- the checks
# Each: (facts, context) -> Veto | None. Gate checks let strict reductions through; cap checks look only at
# the exposure an order adds.

def _order_notional(f: OrderFacts) -> float | None:
    """qty x (limit price, else mark) for the report; None when unknown or out of range (an absurd product would
    raise decimal.Overflow, and the choke point never raises)."""
    qty, ref = f.order.qty, f.ref_price
    if ref is None or not qty.is_finite() or max(qty.adjusted(), ref.adjusted()) > _MAX_EXPONENT:
        return None
    return float(qty * ref)


def _order_numbers(f: OrderFacts) -> dict[str, Any]:
    o = f.order
    return {"symbol": o.symbol, "side": o.side, "position_side": o.position_side,
            "order_qty": _f(o.qty) if o.qty.is_finite() else str(o.qty), "leg_qty": float(f.leg_qty)}


def check_kill_switch(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.kill_switch or f.is_reduce:
        return None
    src = " and ".join(k for k, v in ctx.kill_switch_sources.items() if v)
    return Veto("kill_switch", f"kill switch is on ({src}): only orders that shrink an existing leg pass",
                {**_order_numbers(f), **{f"kill_switch_{k}": v for k, v in ctx.kill_switch_sources.items()}})


def check_trading_halted(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if ctx.trading_state != "HALTED" or f.is_reduce:
        return None
    return Veto("trading_halted", "trading state is HALTED: only orders that shrink an existing leg pass",
                {**_order_numbers(f), "trading_state": ctx.trading_state})


def check_reduce_only(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if ctx.trading_state != "REDUCING" or f.is_reduce:
        return None
    return Veto("reduce_only",
                f"trading state is REDUCING: only SELL on LONG / BUY on SHORT up to the leg's qty pass "
                f"(got {f.order.side} {f.order.position_side} {f.order.qty}, leg qty {f.leg_qty})",
                {**_order_numbers(f), "trading_state": ctx.trading_state})


def _dd_numbers(ctx: RiskContext) -> dict[str, Any]:
    dd = ctx.dd
    assert dd is not None
    return {"peak_nav_usd": float(dd.peak_nav_usd), "latest_nav_usd": float(dd.latest_nav_usd),
            "current_dd_pct": float(dd.current_dd_pct), "window_points": dd.points}


def check_kill_dd(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.kill_dd_active or f.is_reduce:
        return None
    thr = ctx.limits.KILL_DD_PCT
    return Veto("kill_dd", f"drawdown {float(ctx.dd.current_dd_pct):.4%} >= KILL_DD_PCT {thr:.4%}",  # type: ignore[union-attr]
                {**_dd_numbers(ctx), "KILL_DD_PCT": float(thr)})


def check_portfolio_dd_circuit(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.circuit_active or f.is_reduce:
        return None
    thr = ctx.limits.circuit_breakers.max_portfolio_dd_nav_pct
    dd = ctx.dd
    return Veto("portfolio_dd_circuit",
                f"portfolio drawdown {float(dd.current_dd_pct):.4%} (peak {dd.peak_nav_usd}, latest {dd.latest_nav_usd})"  # type: ignore[union-attr]
                f" >= max_portfolio_dd_nav_pct {thr:.4%}: circuit tripped, no new risk",
                {**_dd_numbers(ctx), "max_portfolio_dd_nav_pct": float(thr)})


def check_daily_loss_limit(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.daily_loss_active or f.is_reduce:
        return None
    thr = ctx.limits.KILL_DAILY_LOSS_PCT
    return Veto("daily_loss_limit",
                f"today's loss {float(ctx.daily_loss):.4%} of day-start NAV {ctx.day_start_nav_usd} >= KILL_DAILY_LOSS_PCT {thr:.4%}",  # type: ignore[arg-type]
                {"day_start_nav_usd": _f(ctx.day_start_nav_usd), "latest_nav_usd": _f(ctx.nav_usd),
                 "daily_loss_pct": _f(ctx.daily_loss), "KILL_DAILY_LOSS_PCT": float(thr),
                 "realized_pnl_today_usd": _f(ctx.realized_pnl_today_usd)})


def check_nav_stale(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.nav_stale_reason or f.is_reduce:
        return None
    age = None if ctx.nav_ts_ms is None else (ctx.now_ms - ctx.nav_ts_ms) / 1000.0
    return Veto("nav_stale", f"{ctx.nav_stale_reason} (freshness limit {ctx.limits.nav_freshness_seconds} s): no new risk",
                {"latest_nav_usd": _f(ctx.nav_usd) if ctx.nav_usd is not None and ctx.nav_usd.is_finite() else None,
                 "latest_nav_ts_ms": ctx.nav_ts_ms, "now_ms": ctx.now_ms, "nav_age_seconds": age,
                 "nav_freshness_seconds": float(ctx.limits.nav_freshness_seconds)})


_PROBLEM_TEXT = {
    "unknown_symbol": "no exchange filters for the symbol",
    "symbol_not_trading": "symbol status is not TRADING",
    "bad_side": "side must be BUY or SELL",
    "bad_position_side": "position_side must be LONG, SHORT or BOTH",
    "position_side_mode_mismatch": "position_side does not match the account's position mode (hedge: LONG/SHORT, one-way: BOTH)",
    "unsupported_order_type": "order_type must be LIMIT or MARKET",
    "qty_not_finite": "qty is not a finite number",
    "qty_not_positive": "qty must be > 0",
    "price_missing": "a LIMIT order needs a price",
    "price_not_finite": "price is not a finite number",
    "price_not_positive": "price must be > 0",
    "qty_out_of_range": "qty is beyond 1e18",
    "price_out_of_range": "price is beyond 1e18",
    "filters_unjudgeable": "the exchange filters could not be evaluated for these numbers",
    "leverage_not_positive": "leverage must be a finite number > 0",
    "unknown_intent": "intent must be OPEN or CLOSE",
    "intent_mismatch": "declared intent disagrees with side x position_side (hedge: BUY LONG/SELL SHORT open, SELL LONG/BUY SHORT close)",
    "reduce_exceeds_position": "a close cannot exceed the leg's quantity",
    "shorts_disabled": "the profile does not allow opening shorts",
}


def check_invalid_order(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not f.problems:
        return None
    return Veto("invalid_order", "; ".join(f"{p}: {_PROBLEM_TEXT.get(p, p)}" for p in f.problems),
                {**_order_numbers(f), "order_type": f.order.order_type, "intent": f.order.intent,
                 "price": None if f.order.price is None else str(f.order.price), "problems": list(f.problems)},
                details=f.problems)


def check_no_mark_price(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.mark is not None or f.filters is None:
        return None
    return Veto("no_mark_price", f"no mark price for {f.order.symbol}: exposure cannot be valued, no new risk",
                {"symbol": f.order.symbol})


def _filter_check(code: str) -> Callable[[OrderFacts, RiskContext], Veto | None]:
    def check(f: OrderFacts, ctx: RiskContext) -> Veto | None:
        hits = [v for v in f.violations if _FILTER_CODES.get(v.code) == code]
        if not hits:
            return None
        flt = f.filters
        assert flt is not None
        market = f.order.order_type == "MARKET"
        step, min_q, max_q = flt.lot(market)
        numbers: dict[str, Any] = {
            "binance_codes": [v.code for v in hits], "qty": float(f.order.qty),
            "price": _f(f.order.price) if not market else None, "mark_price": _f(f.mark),
            "step_size": float(step), "min_qty": float(min_q), "max_qty": float(max_q),
            "tick_size": float(flt.tick_size), "min_price": float(flt.min_price), "max_price": float(flt.max_price),
            "percent_up": float(flt.percent_up), "percent_down": float(flt.percent_down),
            "min_notional": float(flt.min_notional),
            "notional_usd": _order_notional(f),
        }
        return Veto(code, " ".join(f"[{v.code}] {v.reason}" for v in hits), numbers,
                    details=tuple(v.name for v in hits if v.name))

    check.__name__ = f"check_{code}"
    return check


check_step_size = _filter_check("step_size")
check_tick_size = _filter_check("tick_size")
check_min_qty = _filter_check("min_qty")
check_max_qty = _filter_check("max_qty")
check_price_bounds = _filter_check("price_bounds")
check_percent_price = _filter_check("percent_price")
check_min_notional = _filter_check("min_notional")  # core.filters already exempts reductions


def check_max_leverage(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce:
        return None
    cap = ctx.max_leverage
    order_lev = f.order.leverage if f.order.leverage is not None else (f.leg.leverage if f.leg else None)
    over_order = order_lev is not None and order_lev.is_finite() and order_lev > cap
    post = ctx.total_gross + f.add_usd
    over_book = f.add_usd > 0 and ctx.leverage_cap_usd is not None and post > ctx.leverage_cap_usd
    if not (over_order or over_book):
        return None
    post_lev = post / ctx.nav_usd if ctx.nav_ok else None  # type: ignore[operator]
    parts = []
    if over_book:
        parts.append(f"post-trade gross {post:.2f} USD / NAV {ctx.nav_usd} = {float(post_lev):.4f}x > {cap}x")  # type: ignore[arg-type]
    if over_order:
        parts.append(f"order leverage {order_lev}x > {cap}x")
    return Veto("max_leverage", "; ".join(parts),
                {"post_trade_gross_usd": float(post), "nav_usd": _f(ctx.nav_usd), "post_trade_leverage": _f(post_lev),
                 "order_leverage": _f(order_lev), "max_leverage": float(cap),
                 "MAX_LEVERAGE": float(ctx.limits.MAX_LEVERAGE),
                 "profile_max_leverage": float(ctx.profile.max_leverage) if ctx.profile is not None else None})


def check_max_positions(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or not f.new_leg or f.problems:
        return None
    limit = ctx.limits.MAX_POSITIONS
    count = len(ctx.committed_legs)
    if count < limit:
        return None
    return Veto("max_positions", f"opening a new leg {f.order.symbol} {f.order.position_side} with {count} legs "
                f"open or pending >= MAX_POSITIONS {limit}",
                {"open_legs": ctx.open_leg_count, "pending_new_legs": count - ctx.open_leg_count,
                 "MAX_POSITIONS": limit, "symbol": f.order.symbol, "position_side": f.order.position_side})


def check_symbol_nav_cap(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.add_usd <= 0:
        return None
    sym = f.order.symbol
    cur = ctx.symbol_gross.get(sym, ZERO)
    post = cur + f.add_usd
    cap_usd = ctx.symbol_cap_usd(sym)
    over_nav = cap_usd is not None and post > cap_usd
    usd_cap = dec(ctx.profile.max_position_usd) if ctx.profile is not None else None
    over_usd = usd_cap is not None and post > usd_cap
    if not (over_nav or over_usd):
        return None
    cap = ctx.limits.symbol_nav_cap(sym)
    post_pct = post / ctx.nav_usd if ctx.nav_ok else None  # type: ignore[operator]
    parts = []
    if over_nav:
        parts.append(f"{sym} post-trade gross {post:.2f} USD = {float(post_pct):.4%} of NAV > cap {cap:.4%}")  # type: ignore[arg-type]
    if over_usd:
        parts.append(f"{sym} post-trade gross {post:.2f} USD > profile max_position_usd {usd_cap}")
    return Veto("symbol_nav_cap", "; ".join(parts),
                {"symbol": sym, "symbol_gross_usd": float(cur), "order_notional_usd": float(f.add_usd),
                 "post_trade_usd": float(post), "post_trade_nav_pct": _f(post_pct), "nav_usd": _f(ctx.nav_usd),
                 "symbol_nav_cap": float(cap), "profile_max_position_usd": _f(usd_cap)})


def check_correlation_cap(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.add_usd <= 0 or not ctx.nav_ok:
        return None
    breached = []
    for g in ctx.groups_of.get(f.order.symbol, ()):
        post = ctx.group_gross[g] + f.add_usd
        if post > ctx.group_cap_usd[g]:
            breached.append((g, post))
    if not breached:
        return None
    nav = ctx.nav_usd
    g0, post0 = breached[0]
    cap0 = ctx.groups.groups[g0].max_group_nav_pct
    text = "; ".join(
        f"group {g} post-trade gross {p:.2f} USD = {float(p / nav):.4%} of NAV > cap {ctx.groups.groups[g].max_group_nav_pct:.4%}"  # type: ignore[operator]
        for g, p in breached)
    return Veto("correlation_cap", text,
                {"group": g0, "group_gross_usd": float(ctx.group_gross[g0]), "order_notional_usd": float(f.add_usd),
                 "post_trade_usd": float(post0), "post_trade_nav_pct": float(post0 / nav),  # type: ignore[operator]
                 "max_group_nav_pct": float(cap0), "nav_usd": float(nav),  # type: ignore[arg-type]
                 "breached_groups": [g for g, _ in breached]},
                details=tuple(g for g, _ in breached))


def check_max_gross_exposure(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.add_usd <= 0 or ctx.gross_cap_usd is None:
        return None
    post = ctx.total_gross + f.add_usd
    if post <= ctx.gross_cap_usd:
        return None
    cap = ctx.limits.max_gross_exposure_nav_pct
    pct = post / ctx.nav_usd  # type: ignore[operator]
    return Veto("max_gross_exposure", f"post-trade gross exposure {post:.2f} USD = {float(pct):.4%} of NAV > cap {cap:.4%}",
                {"gross_usd": float(ctx.total_gross), "order_notional_usd": float(f.add_usd), "post_trade_usd": float(post),
                 "post_trade_nav_pct": float(pct), "max_gross_exposure_nav_pct": float(cap), "nav_usd": _f(ctx.nav_usd)})


PIPELINE: tuple[Callable[[OrderFacts, RiskContext], Veto | None], ...] = (
    check_kill_switch,
    check_trading_halted,
    check_reduce_only,
    check_kill_dd,
    check_portfolio_dd_circuit,
    check_daily_loss_limit,
    check_nav_stale,
    check_invalid_order,
    check_no_mark_price,
    check_step_size,
    check_tick_size,
    check_min_qty,
    check_max_qty,
    check_price_bounds,
    check_percent_price,
    check_min_notional,
    check_max_leverage,
    check_max_positions,
    check_symbol_nav_cap,
    check_correlation_cap,
    check_max_gross_exposure,
)


def _summary(f: OrderFacts, ctx: RiskContext) -> dict[str, Any]:
    """The numbers behind the decision, approved or not (for the `[decision]` log line)."""
    nav = ctx.nav_usd if ctx.nav_ok else None
    sym = f.order.symbol
    sym_post = ctx.symbol_gross.get(sym, ZERO) + f.add_usd
    gross_post = ctx.total_gross + f.add_usd
    return {
        "is_reduce": f.is_reduce,
        "trading_state": ctx.trading_state,
        "kill_switch": ctx.kill_switch,
        "nav_usd": _f(nav),
        "nav_age_seconds": None if ctx.nav_ts_ms is None else (ctx.now_ms - ctx.nav_ts_ms) / 1000.0,
        "portfolio_dd_pct": _f(ctx.dd.current_dd_pct) if ctx.dd else None,
        "daily_loss_pct": _f(ctx.daily_loss),
        "order_notional_usd": _order_notional(f),
        "added_exposure_usd": float(f.add_usd),
        "symbol_post_trade_nav_pct": _f(sym_post / nav) if nav else None,
        "gross_post_trade_nav_pct": _f(gross_post / nav) if nav else None,
        "group_post_trade_nav_pct": {g: float((ctx.group_gross[g] + f.add_usd) / nav) for g in ctx.groups_of.get(sym, ())} if nav else {},
        "open_legs": ctx.open_leg_count,
        "leg_qty": float(f.leg_qty),
    }
