"""Reads the account from the exchange adapter and turns it into checked core records.

Only the adapter's public reads are used: balances(), positions(), mark_prices(), user_trades().
Anything malformed in an answer raises core.account.BadReading; exchange failures raise the adapter's
ExchangeError. The caller (sync_state) keeps the last good values on either.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from core.account import AccountReading, BadReading, check_leg, finite, make_reading
from execution.exchange import ExchangeAdapter, UserTrade

QUOTE = "USDT"
BTC_SYMBOL = "BTCUSDT"
USD_FEE_ASSETS = ("USDT", "USDC", "BUSD", "FDUSD")


def read_account(adapter: ExchangeAdapter, *, deadline: float | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> tuple[AccountReading, list[dict[str, Any]]]:
    """(reading, balance rows): balances, positions (v2: with leverage) and marks; market time from premiumIndex.

    `deadline` (monotonic seconds): a read that started in time but answers after it is still used — the
    timeouts of the client bound each request; the deadline only stops us from starting the next read.
    """
    def check_time(step: str) -> None:
        if deadline is not None and monotonic() > deadline:
            raise BadReading("slow_exchange", f"the exchange is too slow: cycle budget spent before {step}")

    balances = adapter.balances()
    usdt = next((b for b in balances if b.asset == QUOTE), None)
    if usdt is None:
        raise BadReading("no_usdt", f"the balance answer has no {QUOTE} row ({len(balances)} rows)")
    check_time("positions")
    rows = adapter.positions(with_settings=True)
    legs = [check_leg(p.symbol, p.position_side, p.amount, p.entry_price, p.mark_price, p.unrealized_pnl,
                      p.leverage, p.liquidation_price) for p in rows]
    check_time("mark prices")
    marks = adapter.mark_prices()
    times = [m.time_ms for m in marks.values() if m.time_ms > 0]
    if not times:
        raise BadReading("no_market_time", "premiumIndex answered without any market time")
    btc = marks.get(BTC_SYMBOL)
    reading = make_reading(usdt.balance, usdt.available, legs, max(times), btc.mark_price if btc else None)
    return reading, balance_rows(balances)


def balance_rows(adapter_balances: Iterable[Any]) -> list[dict[str, Any]]:
    """synced_state.json `balances`: assets with anything in them (a NaN row is refused as a whole)."""
    out = []
    for b in adapter_balances:
        wallet = finite(b.balance, f"{b.asset} balance")
        upnl = finite(b.cross_unrealized_pnl, f"{b.asset} crossUnPnl")
        avail = finite(b.available, f"{b.asset} availableBalance")
        if wallet or upnl or avail:
            out.append({"asset": b.asset, "wallet_balance": float(wallet), "unrealized_pnl": float(upnl),
                        "available_balance": float(avail)})
    return out


def trade_record(t: UserTrade) -> dict[str, Any]:
    """One trade_log.json row from a userTrades record (the exchange does not return clientOrderId)."""
    commission = finite(t.commission, f"{t.symbol} trade {t.trade_id} commission")
    return {
        "time_ms": t.time_ms, "symbol": t.symbol, "side": t.side, "position_side": t.position_side,
        "qty": float(finite(t.qty, "trade qty")), "price": float(finite(t.price, "trade price")),
        "realized_pnl_usd": float(finite(t.realized_pnl, "trade realizedPnl")),
        "commission_usd": float(commission) if t.commission_asset in USD_FEE_ASSETS else None,
        "commission": float(commission), "commission_asset": t.commission_asset,
        "order_id": t.order_id, "client_order_id": "", "maker": bool(t.maker), "trade_id": t.trade_id,
    }


def read_new_trades(adapter: ExchangeAdapter, symbols: Iterable[str], cursors: dict[str, int], *,
                    limit: int = 500, deadline: float | None = None,
                    monotonic: Callable[[], float] = time.monotonic,
                    ) -> tuple[list[dict[str, Any]], dict[str, int], list[str]]:
    """Trades after each symbol's cursor (last logged trade id). Returns (rows, new cursors, symbols not read).

    A symbol that fails or that the deadline cuts off keeps its cursor and is read next cycle, so nothing
    is lost and nothing is read twice into the log (merge_trades also dedups by trade id).
    """
    rows: list[dict[str, Any]] = []
    new_cursors = dict(cursors)
    skipped: list[str] = []
    for sym in symbols:
        if deadline is not None and monotonic() > deadline:
            skipped.append(sym)
            continue
        after = cursors.get(sym)
        try:
            trades = adapter.user_trades(sym, limit=limit, from_id=None if after is None else after + 1)
            batch = [trade_record(t) for t in trades if after is None or t.trade_id > after]
        except Exception as exc:  # noqa: BLE001 - one symbol's failure must not cost the others
            skipped.append(f"{sym} ({type(exc).__name__}: {str(exc)[:80]})")
            continue
        rows.extend(batch)
        if batch:
            new_cursors[sym] = max(r["trade_id"] for r in batch)
    return rows, new_cursors, skipped

