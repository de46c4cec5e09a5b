"""Order facts: what an order is and does to its leg, derived once per check (docs/RISK.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from core.filters import FilterViolation, check_order_filters
from core.numbers import ZERO
from core.orders import Intent, exit_side
from core.portfolio import is_finite_positive
from core.risk.records import MAX_EXPONENT, ORDER_TYPES, OrderFacts, ProposedOrder

if TYPE_CHECKING:
    from core.risk.context import RiskContext

__all__ = ["order_facts"]


def order_facts(order: ProposedOrder, ctx: RiskContext) -> OrderFacts:
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
    elif qty.adjusted() > MAX_EXPONENT:
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
        elif price.adjusted() > MAX_EXPONENT:
            problems.append("price_out_of_range")
            price_ok = False
    if order.leverage is not None and not is_finite_positive(order.leverage):
        problems.append("leverage_not_positive")
    intent = order.intent if isinstance(order.intent, Intent) else None
    if order.intent is not None and intent is None:
        problems.append("unknown_intent")

    leg = ctx.legs.get((order.symbol, ps))
    leg_qty = leg.qty if leg is not None else ZERO
    # Does the side point at shrinking the leg? Hedge: by side x positionSide. One-way: against the net leg.
    if ps == "BOTH":
        closes = leg is not None and side == exit_side(leg.direction)
    else:
        closes = order.closes_leg
    if intent is Intent.OPEN and closes:
        problems.append("intent_mismatch")  # e.g. BUY SHORT "to open": in hedge mode it closes a short
    elif intent is Intent.CLOSE and not closes and side in ("BUY", "SELL"):
        problems.append("intent_mismatch")  # a "close" that would grow (or open) a leg
    if qty_ok and closes and qty > leg_qty and (ps != "BOTH" or intent is Intent.CLOSE):
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
