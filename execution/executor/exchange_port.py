"""The executor's one door to the exchange: every adapter call, and every conversion of adapter records
into the core's snapshot records, lives here (docs/ARCHITECTURE.md: adapters at the edges).

Why one module: the adapter's API and the core's order vocabulary are being reworked on other branches;
when they land, this file (and `open_gate`) is the only place that changes.

    port = open_gate(env, dry_run=True, config=cfg)      # the safety gate, then the client
    port.market_time_ms()                                 # premiumIndex `time` (the market clock)
    acct = port.account()                                 # core PositionLeg / OpenOrder + balance
    r = port.submit(symbol, side, position_side, qty, cid=..., order_type="LIMIT", price=..., tif="GTX")
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.filters import SymbolFilters
from core.portfolio import OpenOrder, PositionLeg
from execution.exchange import bridge
from execution.exchange.client_ids import make_client_order_id
from execution.exchange.errors import ExchangeError
from execution.exchange.records import CancelOutcome, OrderState, SubmitResult, UserTrade
from settings.env import EnvSettings
from settings.errors import ConfigError

log = logging.getLogger("hedge.executor")

ZERO = Decimal(0)


class GateRefused(RuntimeError):
    """The safety gate said no: the process must not build a client."""


def open_gate(env: EnvSettings, *, dry_run: bool, allow_live: bool = False, timeout: float = 10.0,
              recv_window_ms: int = 5000, **adapter_kwargs: Any) -> ExchangePort:
    """The one safety gate (settings.safety_gate, via build_adapter), then the port (docs/EXCHANGE.md).

    `dry_run` is what this process enforces (the env's DRY_RUN or'ed with --dry-run by the caller); the gate
    judges that effective value, so a live mainnet port needs `allow_live`.
    """
    from execution.exchange_utils import build_adapter  # deferred: importing the port sends nothing

    try:
        adapter = build_adapter(env, dry_run=dry_run, allow_live=allow_live, timeout=timeout, **adapter_kwargs)
    except ConfigError as e:
        raise GateRefused(str(e)) from None
    adapter.client.REQUEST_RECVWINDOW = recv_window_ms  # reads; order POSTs use the adapter's short window
    return ExchangePort(adapter)


@dataclass(frozen=True)
class AccountView:
    """The account as the core sees it, read in one go."""

    wallet_usd: Decimal
    unrealized_usd: Decimal
    available_usd: Decimal
    legs: tuple[PositionLeg, ...]
    open_orders: tuple[OpenOrder, ...]
    raw_orders: tuple[Any, ...] = field(default=(), repr=False)
    balances: tuple[dict, ...] = ()

    @property
    def nav_usd(self) -> Decimal:
        return self.wallet_usd + self.unrealized_usd


class ExchangePort:
    def __init__(self, adapter: Any, read_workers: int = 8):
        self.adapter = adapter
        self.dry_run = bool(adapter.dry_run)
        self.read_workers = read_workers
        self._pool: Any = None
        self._local = threading.local()
        self._clients: list[Any] = []

    # ----------------------------------------------------------------- clock and market data
    def market_time_ms(self, symbol: str = "BTCUSDT") -> int:
        """premiumIndex `time` (one weight-1 call): the one clock for bars, TWAP intervals, timeouts."""
        return int(self.adapter.market_time_ms(symbol))

    def filters(self, refresh: bool = False) -> dict[str, SymbolFilters]:
        return self.adapter.exchange_info(refresh=refresh)

    def brackets(self) -> dict[str, Any]:
        """{symbol: core.brackets.Brackets}: the adapter's daily-refreshed leverage brackets."""
        return self.adapter.leverage_brackets()

    def klines(self, symbol: str, interval: str, limit: int, start_ms: int | None = None) -> list[Any]:
        return self.adapter.klines(symbol, interval, limit=limit, start_ms=start_ms)

    def klines_many(self, wanted: list[tuple[str, str, int, int | None]]) -> dict[str, Any]:
        """klines for many symbols at once: symbol -> [Kline] or the exception. Reads only, run on up to
        `read_workers` threads, each with its own client and adapter (an adapter is single-threaded) sharing
        this port's weight budget, so 300 symbols cost one round trip of wall time, not 300."""
        if len(wanted) <= 2 or self.read_workers <= 1:
            return {w[0]: self._klines_or_error(self.adapter, w) for w in wanted}
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self.read_workers, thread_name_prefix="klines")
        futures = {w[0]: self._pool.submit(self._worker_klines, w) for w in wanted}
        return {s: f.result() for s, f in futures.items()}

    def _worker_klines(self, w: tuple[str, str, int, int | None]) -> Any:
        adapter = getattr(self._local, "adapter", None)
        if adapter is None:
            adapter = self._local.adapter = self._clone_adapter()
        out = self._klines_or_error(adapter, w)
        if adapter.last_market_time_ms > self.adapter.last_market_time_ms:
            self.adapter.last_market_time_ms = adapter.last_market_time_ms
        return out

    @staticmethod
    def _klines_or_error(adapter: Any, w: tuple[str, str, int, int | None]) -> Any:
        try:
            return adapter.klines(w[0], w[1], limit=w[2], start_ms=w[3])
        except Exception as e:  # noqa: BLE001 - the caller logs per symbol and goes on
            return e

    def _clone_adapter(self) -> Any:
        from execution.exchange.adapter import ExchangeAdapter

        c = self.adapter.client
        clone = type(c)(c.API_KEY, c.API_SECRET, dry_run=True,  # reads only: the gate stays shut regardless
                        timeout=getattr(c, "_hedge_timeout", 10.0))
        clone.timestamp_offset = getattr(c, "timestamp_offset", 0)
        self._clients.append(clone)
        a = ExchangeAdapter(clone, budget=self.adapter.budget)
        a._filters, a._filters_at_ms = self.adapter._filters, self.adapter._filters_at_ms
        return a

    def premium_index(self) -> dict[str, Any]:
        """symbol -> MarkPrice (mark, index, lastFundingRate, time) for every symbol, one call."""
        return self.adapter.mark_prices()

    def best_bid_ask(self, symbol: str) -> tuple[Decimal, Decimal]:
        bt = self.adapter.book_ticker(symbol)
        return bt.bid_price, bt.ask_price

    # ----------------------------------------------------------------- account
    def hedge_mode(self) -> bool:
        return bool(self.adapter.get_position_mode())

    def ensure_setup(self, symbol: str, leverage: int, margin_type: str) -> Any:
        return self.adapter.ensure_symbol_setup(symbol, leverage=leverage, margin_type=margin_type)

    def set_hedge_mode(self) -> Any:
        return self.adapter.set_position_mode(True)

    def account(self, order_symbols: Iterable[str] | None = None) -> AccountView:
        """Balance + positions (weight 5 + 5) and open orders: of every symbol (weight 40) when
        `order_symbols` is None, else only of those symbols (weight 1 each; the executor's own unsettled
        orders - a cycle that has none costs nothing)."""
        usdt = self.adapter.balance("USDT")
        positions = self.adapter.positions()
        if order_symbols is None:
            orders = self.adapter.open_orders()
        else:
            orders = [o for s in sorted(set(order_symbols)) for o in self.adapter.open_orders(s)]
        legs = tuple(to_leg(p) for p in positions)
        return AccountView(
            wallet_usd=usdt.balance if usdt else ZERO,
            unrealized_usd=sum((p.unrealized_pnl for p in positions), ZERO),
            available_usd=usdt.available if usdt else ZERO,
            legs=legs,
            open_orders=tuple(to_open_order(o) for o in orders),
            raw_orders=tuple(orders),
            balances=({"asset": "USDT", "wallet_balance": float(usdt.balance),
                       "available_balance": float(usdt.available)},) if usdt else (),
        )

    def legs(self) -> tuple[PositionLeg, ...]:
        return tuple(to_leg(p) for p in self.adapter.positions())

    # ----------------------------------------------------------------- orders
    @staticmethod
    def client_order_id(intent_id: str, slice_index: int, revision: int = 0) -> str:
        return make_client_order_id(intent_id, slice_index, revision)

    def submit(self, symbol: str, side: str, position_side: str, qty: Decimal, *, cid: str,
               order_type: str = "MARKET", price: Decimal | None = None, tif: str | None = None,
               reduce: bool = False, ref_price: Decimal | None = None) -> SubmitResult:
        kw: dict[str, Any] = {"order_type": order_type, "client_order_id": cid, "reduce_only": reduce,
                              "position_side": position_side if self.hedge_mode() else None}
        if order_type == "LIMIT":
            kw.update(price=price, time_in_force=tif or "GTC")
        elif ref_price is not None:
            kw["ref_price"] = ref_price
        return self.adapter.place_order(symbol, side, qty, **kw)

    def get_order(self, symbol: str, cid: str) -> OrderState | None:
        return self.adapter.get_order(symbol, client_order_id=cid)

    def cancel(self, symbol: str, cid: str) -> tuple[str, OrderState | None]:
        """('canceled'|'not_open'|'dry_run'|'rejected'|'unknown', the order's final state when known)."""
        r = self.adapter.cancel_order(symbol, client_order_id=cid)
        state = r.order if r.order is not None and r.order.status != "DRY_RUN" else None
        return (r.outcome.value if isinstance(r.outcome, CancelOutcome) else str(r.outcome)), state

    def open_orders(self, symbol: str | None = None) -> list[OrderState]:
        return list(self.adapter.open_orders(symbol))

    def cancel_all(self, symbol: str) -> str:
        return self.adapter.cancel_all(symbol).outcome.value

    def open_protective(self, symbol: str | None = None) -> list[Any]:
        return self.adapter.open_protective_orders(symbol)

    def cancel_all_protective(self, symbol: str) -> str:
        return self.adapter.cancel_all_protective(symbol).outcome.value

    def place_protective(self, symbol: str, position_side: str, kind: str, trigger: Decimal, *, intent_id: str) -> Any:
        """Exchange-side STOP_MARKET / TAKE_PROFIT_MARKET closing the whole leg (closePosition), keyed by a
        deterministic clientAlgoId (the adapter asks the exchange before the first send: no second stop)."""
        return self.adapter.place_protective_order(symbol, position_side, kind, trigger, close_position=True,
                                                   intent_id=intent_id)

    def cancel_protective(self, symbol: str, client_algo_id: str) -> str:
        return self.adapter.cancel_protective_order(symbol, client_algo_id=client_algo_id).outcome.value

    def user_trades(self, symbol: str, start_ms: int | None = None, limit: int = 1000) -> list[UserTrade]:
        return list(self.adapter.user_trades(symbol, start_ms=start_ms, limit=limit))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for c in [self.adapter.client, *self._clients]:
            try:
                c.session.close()
            except Exception:  # noqa: BLE001 - closing a session must never mask the real outcome
                pass


# --------------------------------------------------------------------- adapter records -> core records
# One bridge for every process (execution/exchange/bridge.py): unknown leverage stays unknown.
to_leg = bridge.leg_from_position
to_open_order = bridge.open_order_from_state


def is_exchange_error(e: BaseException) -> bool:
    return isinstance(e, ExchangeError)
