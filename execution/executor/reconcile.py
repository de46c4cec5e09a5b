"""Reconciliation with the exchange: at start (before the first order) and every cycle for unsettled sends.

The policy, its scenarios and invariants are in docs/Reconciliation.md; this module implements it:
  settle()         every journaled send without a final state is asked about by client order id
  sync_fills()     userTrades since the last journaled fill -> `fill` events (deduplicated by trade id)
  reconcile_start() settle (cancelling orders a dead process left resting), orphan hg- orders, fills,
                   positions vs journal, protective orders, then resume-or-cancel of unfinished parents
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .exchange_port import ExchangePort
from .journal import Journal, positions_from_fills

log = logging.getLogger("hedge.executor")

OUR_PREFIX = "hg-"


@dataclass
class ReconcileReport:
    settled: list[dict[str, Any]] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    orphans_cancelled: list[str] = field(default_factory=list)
    foreign_orders: list[str] = field(default_factory=list)
    fills_added: int = 0
    resumed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    position_mismatch: dict[str, Any] = field(default_factory=dict)
    protective: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def settle(port: ExchangePort, journal: Journal, *, cancel_open: bool, now_ms: int | None = None,
           older_than_ms: int = 0) -> ReconcileReport:
    """Ask the exchange about every unsettled send. Found and done -> `order_final`; found and open ->
    cancel when `cancel_open` (and older than `older_than_ms` of market time); not found -> NOT_FOUND
    (it never reached the book). A failing query leaves the send unsettled: nothing is resent meanwhile."""
    rep = ReconcileReport()
    for s in journal.unsettled_sends():
        rec = s.record
        symbol, cid = rec["symbol"], s.client_order_id
        try:
            o = port.get_order(symbol, cid)
            if o is not None and o.is_open:
                if not cancel_open or (now_ms is not None and now_ms - int(rec.get("t_ms", 0)) < older_than_ms):
                    continue
                outcome, state = port.cancel(symbol, cid)
                o = state if state is not None and not state.is_open else port.get_order(symbol, cid)
                if o is not None and o.is_open:
                    rep.unresolved.append(cid)
                    continue
        except Exception as e:  # noqa: BLE001 - the exchange did not answer: try again next time
            log.warning("[executor] RECONCILE %s %s unresolved (%s)", symbol, cid, e)
            rep.unresolved.append(cid)
            continue
        if o is None:
            journal.order_final(cid, "NOT_FOUND", 0, note="the exchange does not know the id: never booked")
            rep.settled.append({"cid": cid, "status": "NOT_FOUND"})
        else:
            journal.order_final(cid, o.status, o.executed_qty, o.avg_price, order_id=o.order_id)
            rep.settled.append({"cid": cid, "status": o.status, "executed_qty": str(o.executed_qty)})
        log.info("[executor] RECONCILE settled %s %s -> %s", symbol, cid, rep.settled[-1]["status"])
    return rep


def sync_fills(port: ExchangePort, journal: Journal, symbols: Iterable[str], *, all_symbols: bool = False) -> int:
    """Append every userTrade newer than the journal's last fill of the symbol (by trade id: no double).
    Symbols the journal never traded are skipped unless `all_symbols` (then from one hour back)."""
    order_cids = journal.order_ids()
    first_send: dict[str, int] = {}
    for s in journal.sends.values():
        sent_ms = int(s.record.get("t_ms") or 0)
        sym = s.record["symbol"]
        first_send[sym] = min(first_send.get(sym, sent_ms), sent_ms)
    added = 0
    for sym in symbols:
        if sym not in first_send and sym not in journal.last_fill_ms and not all_symbols:
            continue
        start = journal.last_fill_ms.get(sym, first_send.get(sym, 0) - 60_000)
        if sym not in first_send and sym not in journal.last_fill_ms:
            start = port.market_time_ms(sym) - 3_600_000
        for _ in range(20):  # pages of 1000; bounded
            trades = port.user_trades(sym, start_ms=max(0, start), limit=1000)
            new = 0
            for t in trades:
                cid = order_cids.get(t.order_id, "")
                if journal.fill({"symbol": t.symbol, "trade_id": t.trade_id, "order_id": t.order_id,
                                 "client_order_id": cid, "side": t.side, "position_side": t.position_side,
                                 "qty": str(t.qty), "price": str(t.price), "realized_pnl": str(t.realized_pnl),
                                 "commission": str(t.commission), "maker": t.maker, "time_ms": t.time_ms}):
                    new += 1
            added += new
            if len(trades) < 1000:
                break
            start = max(t.time_ms for t in trades)
    return added


def reconcile_start(port: ExchangePort, journal: Journal, symbols: list[str], now_ms: int, *,
                    hard_state: Callable[[], str], resume_max_age_ms: int) -> ReconcileReport:
    rep = settle(port, journal, cancel_open=True)
    # Orders with our prefix that the journal does not name: only possible if the journal was lost or
    # edited. They are cancelled (no process owns them); anything else on the account is left alone.
    try:
        for o in port.open_orders():
            if o.client_order_id in journal.sends:
                continue
            if o.client_order_id.startswith(OUR_PREFIX):
                port.cancel(o.symbol, o.client_order_id)
                rep.orphans_cancelled.append(o.client_order_id)
                log.warning("[executor] RECONCILE orphan %s %s cancelled (not in the journal)",
                            o.symbol, o.client_order_id)
            else:
                rep.foreign_orders.append(o.client_order_id)
                log.warning("[executor] RECONCILE foreign order %s %s left alone", o.symbol, o.client_order_id)
    except Exception as e:  # noqa: BLE001 - what cannot be read is reported; the start goes on
        log.warning("[executor] RECONCILE open orders unavailable (%s)", e)
    traded = sorted({s.record["symbol"] for s in journal.sends.values()} | set(symbols))
    rep.fills_added = sync_fills(port, journal, traded)
    try:
        legs = {(leg.symbol, leg.position_side): leg.qty for leg in port.legs()}
        implied = positions_from_fills(journal.fills)
        for key in sorted(set(legs) | set(implied)):
            a, b = legs.get(key, Decimal(0)), implied.get(key, Decimal(0))
            if a != b:
                rep.position_mismatch[f"{key[0]}:{key[1]}"] = {"exchange": str(a), "journal": str(b)}
        if rep.position_mismatch:
            log.warning("[executor] RECONCILE positions differ from the journal's fills (the exchange is the "
                        "truth; legs opened outside Hedge or before the journal): %s", rep.position_mismatch)
    except Exception as e:  # noqa: BLE001 - what cannot be read is reported; the start goes on
        log.warning("[executor] RECONCILE positions unavailable (%s)", e)
    try:
        rep.protective = [p.client_algo_id for p in port.open_protective()]
    except Exception as e:  # noqa: BLE001 - what cannot be read is reported; the start goes on
        log.warning("[executor] RECONCILE protective orders unavailable (%s)", e)
    block = hard_state()
    for it in journal.open_intents():
        age = now_ms - int(it.record.get("created_ms", now_ms))
        if it.record.get("dry_run") and not port.dry_run:
            why = "journaled in a DRY_RUN session"
        elif age > resume_max_age_ms:
            why = f"parent is {age / 1000:.0f} s old (market time) > resume limit {resume_max_age_ms / 1000:.0f} s"
        elif it.record["intent"] == "OPEN" and block:
            why = f"hard state: {block}"
        else:
            rep.resumed.append(it.intent_id)
            log.info("[executor] RECONCILE resume %s: %d slice(s) left, %s filled", it.intent_id,
                     len(it.open_slices), it.filled)
            continue
        journal.intent_end(it.intent_id, "cancelled", f"reconcile: {why}")
        rep.cancelled.append(it.intent_id)
        log.warning("[executor] RECONCILE cancel parent %s: %s", it.intent_id, why)
    log.info("[executor] RECONCILE done %s", {k: (len(v) if isinstance(v, (list, dict)) else v)
                                               for k, v in rep.to_dict().items()})
    return rep
