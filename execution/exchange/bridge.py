"""The one bridge from adapter records to the core's snapshot records (docs/EXCHANGE.md "Public API").

The core never parses Binance wire rows: the adapter parses them (records.py, tolerant of version drift) and
this module maps its records to `core.portfolio` records. Unknown stays unknown: a leg whose leverage the
exchange did not report (positionRisk v3) keeps `leverage=None`, which check_order treats as unknown
(docs/RISK.md, `max_leverage` / `leverage_unknown`), never as 1x.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from core.brackets import Brackets, brackets_from_doc
from core.filters import MARKET_ORDER_TYPES
from core.orders import BOTH, LONG, SHORT
from core.portfolio import NavPoint, OpenOrder, PositionLeg

from .records import Balance, OrderState, Position, ProtectiveOrder

__all__ = ["leg_from_position", "legs_from_positions", "open_order_from_state", "open_orders_from_states",
           "open_order_from_protective", "nav_usd", "nav_point", "brackets_from_answer"]


def leg_from_position(p: Position) -> PositionLeg:
    """One adapter position leg as the core's PositionLeg (qty = |amount|; a BOTH leg points by its sign)."""
    ps = str(p.position_side or BOTH).upper()
    direction = ps if ps != BOTH else (SHORT if p.amount < 0 else LONG)
    return PositionLeg(
        symbol=p.symbol, position_side=ps, qty=abs(p.amount), entry_price=p.entry_price, mark_price=p.mark_price,
        leverage=None if p.leverage is None else Decimal(p.leverage), unrealized_pnl=p.unrealized_pnl,
        direction=direction,
    )


def legs_from_positions(positions: Iterable[Position]) -> tuple[PositionLeg, ...]:
    """Non-flat legs, one per (symbol, positionSide)."""
    return tuple(leg_from_position(p) for p in positions if not p.is_flat)


def open_order_from_state(o: OrderState) -> OpenOrder:
    """A resting regular order; `qty` is what is left to fill, `price` None for market-type orders."""
    otype = str(o.type or "LIMIT").upper()
    remaining = max(o.orig_qty - o.executed_qty, Decimal(0))
    return OpenOrder(symbol=o.symbol, side=o.side, position_side=o.position_side or BOTH, qty=remaining,
                     price=None if otype in MARKET_ORDER_TYPES or o.price <= 0 else o.price, order_type=otype,
                     client_order_id=o.client_order_id, reduce_only=o.reduce_only)


def open_orders_from_states(orders: Iterable[OrderState]) -> tuple[OpenOrder, ...]:
    """Open regular orders (NEW / PARTIALLY_FILLED) with something left to fill."""
    out = (open_order_from_state(o) for o in orders if o.is_open)
    return tuple(o for o in out if o.qty > 0)


def open_order_from_protective(p: ProtectiveOrder) -> OpenOrder:
    """A waiting protective order as a resting close (it never grows a leg, so it is no pending exposure).
    A closePosition stop has no quantity: qty 0."""
    return OpenOrder(symbol=p.symbol, side=p.side, position_side=p.position_side or BOTH, qty=p.quantity,
                     price=None, order_type=p.kind, client_order_id=p.client_algo_id,
                     reduce_only=p.reduce_only or p.close_position)


def nav_usd(balances: Iterable[Balance], positions: Iterable[Position], asset: str = "USDT") -> Decimal | None:
    """NAV = wallet balance + sum of unrealized PnL (docs/STATE_FILES.md "nav.json"); None without the asset."""
    wallet = next((b.balance for b in balances if b.asset == asset), None)
    if wallet is None:
        return None
    return wallet + sum((p.unrealized_pnl for p in positions), Decimal(0))


def nav_point(balances: Iterable[Balance], positions: Iterable[Position], now_ms: int,
              asset: str = "USDT") -> NavPoint | None:
    """The NAV as a core NavPoint at `now_ms`, or None when the balance of `asset` is missing."""
    nav = nav_usd(balances, positions, asset)
    return None if nav is None else NavPoint(now_ms, nav)


def brackets_from_answer(answer: Any) -> tuple[dict[str, Brackets], list[str]]:
    """GET /fapi/v1/leverageBracket (a list of `{symbol, brackets}`; a bare object for one symbol is accepted
    too) as `({symbol: core Brackets}, [problems])`. A malformed element is left out and named in the
    problems: its symbol's brackets are then unknown, which vetoes new risk on it (docs/RISK.md
    `bracket_notional`). An answer that is not a list or object raises TypeError."""
    rows = [answer] if isinstance(answer, dict) else answer
    if not isinstance(rows, list):
        raise TypeError(f"leverageBracket answer is a {type(answer).__name__}, not a list")
    out: dict[str, Brackets] = {}
    problems: list[str] = []
    for row in rows:
        try:
            br = brackets_from_doc(row)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            sym = row.get("symbol") if isinstance(row, dict) else None
            problems.append(f"{sym}: {type(exc).__name__}: {exc}"[:200])
            continue
        out[br.symbol] = br
    return out, problems
