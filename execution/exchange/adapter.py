"""ExchangeAdapter: the one object in Hedge that talks to the exchange.

Every exchange quirk lives here or in its helpers (see docs/EXCHANGE.md for the table):
- quantize price/qty to the symbol's filters and reject locally, with Binance's own codes and messages,
  whatever the exchange would reject (min notional exempt for closing orders, as on Binance);
- hedge mode: positionSide on every order, never reduceOnly (closing = SELL+LONG / BUY+SHORT);
  one-way mode: positionSide BOTH + reduceOnly;
- retries: bounded, exponential backoff with jitter, Retry-After honoured, -1021 -> time re-sync + one
  retry, a weight budget fed by the exchange's X-MBX-* headers, and no call at all during a 418 ban;
- idempotent submission: deterministic newClientOrderId; after a timeout/5xx on submit, wait until the
  original's recvWindow has passed by server time, then query by origClientOrderId BEFORE any resend;
  -4116 duplicate = "already there: fetch it";
- protective orders (STOP_MARKET / TAKE_PROFIT_MARKET on `/fapi/v1/algoOrder`): the same idempotent
  submit keyed by a deterministic clientAlgoId, plus a query before the first send;
- symbol settings: leverage / margin type are read (positionRisk v2) and written only when they differ;
- DRY_RUN: enforced by the client's write gate (see client.py); results say `dry_run`.

The class is composed of one module per idea: `transport` (request core, budget, retries, clocks, the
duplicate window), `account` (reads and symbol settings), `orders` (the pure `order_request` and the
idempotent submit / cancel), `protective` (conditional orders). docs/EXCHANGE.md lists the public API.

Single-threaded by design (one requests.Session); give each thread its own adapter.
"""
from __future__ import annotations

from collections.abc import Iterable

from .protective import Protective
from .records import Position
from .wire import LocalRejection

__all__ = ["ExchangeAdapter", "LocalRejection", "iter_legs"]


class ExchangeAdapter(Protective):
    """The public adapter API (docs/EXCHANGE.md "Public API"): submit an approved order (`submit_order`),
    `cancel_order` / `cancel_all`, `get_order` (by client id), protective orders, `positions`,
    `open_orders`, `balances`, `symbol_filters`, `mark_price(s)` / `book_ticker`, `klines`, `funding_rates`,
    `user_trades`, plus the clocks and symbol settings."""


def iter_legs(positions: Iterable[Position], symbol: str) -> dict[str, Position]:
    """{LONG: leg, SHORT: leg} for one symbol (hedge mode)."""
    return {p.position_side: p for p in positions if p.symbol == symbol}
