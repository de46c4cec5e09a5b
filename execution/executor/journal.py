"""The order journal: `LOG_DIR/execution/orders.jsonl`, append-only, written BEFORE every send.

Crash safety rests on one rule (docs/Reconciliation.md): an order id reaches the exchange only after a
`send` record naming it is on disk (fsync'ed). So after a crash every order the exchange may hold is named
in the journal, and reconciliation can ask the exchange about each of them by its client order id.

Events (one JSON object per line, `event` says which):
  intent      a parent approved by check_order: intent_id, symbol, side, position_side, intent OPEN|CLOSE,
              qty, price, gross_usd, style single|twap, slices [{index, qty}], interval_seconds, urgent,
              created_ms, source, reason
  send        before a child is sent: intent_id, slice_index, revision, client_order_id, order_type, price,
              tif, qty, t_ms
  result      what the send answered: client_order_id, outcome, status, executed_qty, avg_price, order_id
  order_final the order's final state (filled / canceled / expired / not_found): client_order_id,
              status, executed_qty, avg_price
  slice_end   a child slice is finished: intent_id, slice_index, filled_qty, status done|cancelled|dry_run
  intent_end  the parent is finished: intent_id, status done|cancelled|dry_run, filled_qty, reason
  fill        a trade from userTrades: trade_id, order_id, client_order_id, symbol, side, position_side,
              qty, price, realized_pnl, commission, maker, time_ms
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.numbers import to_decimal
from execution.state_store import append_event, read_events

ZERO = Decimal(0)
TERMINAL = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED", "NOT_FOUND", "DRY_RUN"})


def d(x: Any) -> Decimal:
    return to_decimal(x)


@dataclass
class SliceState:
    index: int
    qty: Decimal
    filled: Decimal = ZERO  # from final order states (authoritative once the order is terminal)
    revisions: int = 0  # sends so far (the next send uses this revision)
    ended: str = ""  # "" while open; done | cancelled | dry_run


@dataclass
class IntentState:
    record: dict[str, Any]
    slices: dict[int, SliceState] = field(default_factory=dict)
    ended: str = ""
    end_reason: str = ""

    @property
    def intent_id(self) -> str:
        return self.record["intent_id"]

    @property
    def filled(self) -> Decimal:
        return sum((s.filled for s in self.slices.values()), ZERO)

    @property
    def open_slices(self) -> list[SliceState]:
        return [s for i, s in sorted(self.slices.items()) if not s.ended]


@dataclass
class SendState:
    record: dict[str, Any]
    result: dict[str, Any] | None = None
    final: dict[str, Any] | None = None

    @property
    def client_order_id(self) -> str:
        return self.record["client_order_id"]

    @property
    def settled(self) -> bool:
        return self.final is not None


class Journal:
    """Append + in-memory view of orders.jsonl. Single writer: the executor process."""

    def __init__(self, path: Path, *, fsync: bool = True):
        self.path = Path(path)
        self.fsync = fsync
        self.intents: dict[str, IntentState] = {}
        self.sends: dict[str, SendState] = {}  # by client order id
        self.trade_ids: set[tuple[str, int]] = set()
        self.fills: list[dict[str, Any]] = []
        self.last_fill_ms: dict[str, int] = {}
        self._offset = 0
        self._dirty: set[str] = set()  # symbols with an order settled since the last fill sync
        self.load()

    # ------------------------------------------------------------------ reading
    def load(self) -> None:
        if not self.path.exists():
            return
        events, self._offset = read_events(self.path, self._offset)
        for e in events:
            self._apply(e)

    def _apply(self, e: dict[str, Any]) -> None:
        kind = e.get("event")
        if kind == "intent":
            st = IntentState(dict(e))
            for s in e.get("slices", ()):
                st.slices[int(s["index"])] = SliceState(int(s["index"]), d(s["qty"]))
            self.intents[e["intent_id"]] = st
        elif kind == "send":
            self.sends[e["client_order_id"]] = SendState(dict(e))
            it = self.intents.get(e.get("intent_id", ""))
            if it is not None and int(e.get("slice_index", -1)) in it.slices:
                sl = it.slices[int(e["slice_index"])]
                sl.revisions = max(sl.revisions, int(e.get("revision", 0)) + 1)
        elif kind == "result":
            s = self.sends.get(e.get("client_order_id", ""))
            if s is not None:
                s.result = dict(e)
        elif kind == "order_final":
            s = self.sends.get(e.get("client_order_id", ""))
            if s is not None:
                s.final = dict(e)
                if d(e.get("executed_qty")) > 0:
                    self._dirty.add(s.record["symbol"])
                it = self.intents.get(s.record.get("intent_id", ""))
                idx = int(s.record.get("slice_index", -1))
                if it is not None and idx in it.slices:
                    it.slices[idx].filled += d(e.get("executed_qty"))
        elif kind == "slice_end":
            it = self.intents.get(e.get("intent_id", ""))
            if it is not None and int(e.get("slice_index", -1)) in it.slices:
                it.slices[int(e["slice_index"])].ended = e.get("status", "done")
        elif kind == "intent_end":
            it = self.intents.get(e.get("intent_id", ""))
            if it is not None:
                it.ended = e.get("status", "done")
                it.end_reason = e.get("reason", "")
                for sl in it.slices.values():
                    sl.ended = sl.ended or it.ended
        elif kind == "fill":
            key = (e["symbol"], int(e["trade_id"]))
            if key not in self.trade_ids:
                self.trade_ids.add(key)
                self.fills.append(dict(e))
                self.last_fill_ms[e["symbol"]] = max(self.last_fill_ms.get(e["symbol"], 0), int(e["time_ms"]))

    # ------------------------------------------------------------------ writing
    def append(self, record: dict[str, Any], *, fsync: bool | None = None) -> None:
        append_event(self.path, record, fsync=self.fsync if fsync is None else fsync)
        self._apply(record)

    def intent(self, record: dict[str, Any]) -> IntentState:
        self.append({"event": "intent", **record})
        return self.intents[record["intent_id"]]

    def send(self, record: dict[str, Any]) -> None:
        """Must return before the order leaves the process (fsync'ed: a crash after it loses nothing)."""
        self.append({"event": "send", **record}, fsync=self.fsync)

    def result(self, record: dict[str, Any]) -> None:
        self.append({"event": "result", **record}, fsync=False)

    def order_final(self, cid: str, status: str, executed_qty: Any, avg_price: Any = 0, **extra: Any) -> None:
        s = self.sends.get(cid)
        if s is None or s.settled:
            return
        self.append({"event": "order_final", "client_order_id": cid, "intent_id": s.record.get("intent_id"),
                     "slice_index": s.record.get("slice_index"), "status": status,
                     "executed_qty": str(executed_qty), "avg_price": str(avg_price), **extra})

    def slice_end(self, intent_id: str, index: int, status: str) -> None:
        it = self.intents.get(intent_id)
        filled = it.slices[index].filled if it is not None and index in it.slices else ZERO
        self.append({"event": "slice_end", "intent_id": intent_id, "slice_index": index, "status": status,
                     "filled_qty": str(filled)})

    def intent_end(self, intent_id: str, status: str, reason: str = "") -> None:
        it = self.intents.get(intent_id)
        if it is None or it.ended:
            return
        self.append({"event": "intent_end", "intent_id": intent_id, "status": status, "reason": reason,
                     "filled_qty": str(it.filled)})

    def fill(self, record: dict[str, Any]) -> bool:
        key = (record["symbol"], int(record["trade_id"]))
        if key in self.trade_ids:
            return False
        self.append({"event": "fill", **record}, fsync=False)
        return True

    # ------------------------------------------------------------------ views
    def unsettled_sends(self) -> list[SendState]:
        return [s for s in self.sends.values() if not s.settled]

    def unsettled_symbols(self) -> set[str]:
        return {s.record["symbol"] for s in self.sends.values() if not s.settled}

    def take_dirty_symbols(self) -> set[str]:
        """Symbols whose fills must be read from userTrades (an order of ours executed since last time)."""
        out, self._dirty = self._dirty | self.unsettled_symbols(), set()
        return out

    def open_intents(self) -> list[IntentState]:
        return [it for it in self.intents.values() if not it.ended]

    def cid_map(self) -> dict[str, SendState]:
        return self.sends

    def order_ids(self) -> dict[int, str]:
        """exchange orderId -> client order id, from results and finals."""
        out: dict[int, str] = {}
        for cid, s in self.sends.items():
            for rec in (s.result, s.final):
                if rec and int(rec.get("order_id") or 0):
                    out[int(rec["order_id"])] = cid
        return out

    def positions(self) -> dict[tuple[str, str], Decimal]:
        """(symbol, position_side) -> qty implied by the journaled fills (hedge mode legs)."""
        return positions_from_fills(self.fills)


def positions_from_fills(fills: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for f in fills:
        ps, side, q = f["position_side"], f["side"], d(f["qty"])
        grows = (ps == "LONG" and side == "BUY") or (ps == "SHORT" and side == "SELL")
        key = (f["symbol"], ps)
        out[key] = out.get(key, ZERO) + (q if grows else -q)
    return {k: v for k, v in out.items() if v != 0}
