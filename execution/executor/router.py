"""The router: approved parents -> maker-first children, TWAP slicing on the market clock, metrics.

docs/Runbook.md "Executor — router". Per child slice:
  maker-first: post-only LIMIT (GTX) at best bid/ask -/+ `maker_offset_bps`, wait `maker_timeout_seconds`
  of market time, cancel and reprice up to `max_reprices` times, then a MARKET order for the rest when
  `taker_fallback` (urgent intents - stops, exits, panic - go MARKET at once);
TWAP (runtime.yaml router.twap, `core.twap.plan_twap`): children every `interval_seconds` of market time;
the parent passed check_order once; a child of an OPEN parent is not sent once the account is in a hard
state (kill switch, HALTED, DD circuit) - the parent is then cancelled.

Every child id is journaled before the send (journal.py); an UNKNOWN outcome leaves the send unsettled
for `reconcile.settle` (never a blind resend).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.numbers import to_decimal
from core.twap import maker_price, plan_twap
from execution.exchange.records import SubmitResult
from execution.state_store import append_event

from .exchange_port import ExchangePort
from .journal import ZERO, IntentState, Journal, SliceState

log = logging.getLogger("hedge.router")
xlog = logging.getLogger("hedge.executor")

_POLL_WALL_S = 0.02  # wall sleep between order-status polls while a maker order rests


@dataclass
class RouterSettings:
    maker_first: bool = True
    maker_offset_bps: float = 1.0
    maker_timeout_seconds: float = 5.0
    taker_fallback: bool = True
    max_reprices: int = 2
    twap_enabled: bool = True
    twap_min_notional_usd: float = 500.0
    twap_slices: int = 4
    twap_interval_seconds: float = 10.0
    order_type: str = "maker"  # maker | market | limit (CLI --order-type)
    tif: str = "GTX"
    max_wait_wall_s: float = 30.0  # a resting maker order is never waited on longer than this in wall time

    @classmethod
    def from_config(cls, router: Any, order_type: str | None = None, tif: str | None = None) -> RouterSettings:
        t = router.twap
        ot = (order_type or "").lower()
        return cls(maker_first=router.maker_first and ot != "market", maker_offset_bps=router.maker_offset_bps,
                   maker_timeout_seconds=router.maker_timeout_seconds, taker_fallback=router.taker_fallback,
                   twap_enabled=t.enabled, twap_min_notional_usd=t.min_notional_usd, twap_slices=t.slices,
                   twap_interval_seconds=t.interval_seconds, order_type=ot or "maker",
                   tif=(tif or "GTX").upper())

    def twap_cfg(self) -> Any:
        from settings.models import TwapConfig

        return TwapConfig(enabled=self.twap_enabled, min_notional_usd=self.twap_min_notional_usd,
                          slices=self.twap_slices, interval_seconds=self.twap_interval_seconds)


@dataclass
class Metrics:
    """router.json figures, fed from the executor's own orders and fills."""

    twap_trades_count: int = 0
    single_trades_count: int = 0
    slip: dict[str, list[float]] = field(default_factory=lambda: {"twap": [], "single": []})
    orders_sent: int = 0
    orders_filled: int = 0
    maker_fills: int = 0
    per_symbol: dict[str, dict[str, float]] = field(default_factory=dict)

    def sent(self, symbol: str) -> None:
        self.orders_sent += 1
        self.per_symbol.setdefault(symbol, {"sent": 0, "filled": 0, "maker": 0, "slip_sum": 0.0})["sent"] += 1

    def filled(self, symbol: str, style: str, slippage_bps: float, maker: bool) -> None:
        self.orders_filled += 1
        self.maker_fills += int(maker)
        self.slip[style].append(slippage_bps)
        s = self.per_symbol.setdefault(symbol, {"sent": 0, "filled": 0, "maker": 0, "slip_sum": 0.0})
        s["filled"] += 1
        s["maker"] += int(maker)
        s["slip_sum"] += slippage_bps

    def to_dict(self) -> dict[str, Any]:
        def avg(xs: list[float]) -> float:
            return sum(xs) / len(xs) if xs else 0.0

        return {"twap_trades_count": self.twap_trades_count, "single_trades_count": self.single_trades_count,
                "twap_avg_slippage_bps": avg(self.slip["twap"]), "single_avg_slippage_bps": avg(self.slip["single"]),
                "maker_ratio": self.maker_fills / self.orders_filled if self.orders_filled else 0.0,
                "fill_rate": self.orders_filled / self.orders_sent if self.orders_sent else 0.0,
                "orders_sent": self.orders_sent, "orders_filled": self.orders_filled}

    @classmethod
    def from_journal(cls, journal: Any) -> Metrics:
        """The figures of every order this executor ever journaled (router.json survives restarts)."""
        m = cls()
        for it in journal.intents.values():
            if it.record.get("dry_run"):
                continue
            if it.record.get("style") == "twap":
                m.twap_trades_count += 1
            else:
                m.single_trades_count += 1
        for s in journal.sends.values():
            rec, res, fin = s.record, s.result or {}, s.final or {}
            if res.get("outcome") != "accepted" and fin.get("status") in (None, "REJECTED", "NOT_FOUND", "DRY_RUN"):
                continue
            m.sent(rec["symbol"])
            executed, avg, mid = (to_decimal(fin.get("executed_qty")), to_decimal(fin.get("avg_price")),
                                  to_decimal(rec.get("mid")))
            if executed > 0 and avg > 0 and mid > 0:
                it = journal.intents.get(rec.get("intent_id", ""))
                style = it.record.get("style", "single") if it is not None else "single"
                sign = 1 if rec["side"] == "BUY" else -1
                m.filled(rec["symbol"], style, float(sign * (avg - mid) / mid * 10_000),
                         rec.get("order_type") == "LIMIT")
        return m

    def router_stats(self, symbol: str) -> Any:
        """`core.alpha.RouterStats` of a symbol, None before its first order."""
        from core.alpha import RouterStats

        s = self.per_symbol.get(symbol)
        if not s or not s["sent"]:
            return None
        f = s["filled"]
        return RouterStats(slippage_bps=s["slip_sum"] / f if f else 0.0, fill_rate=min(1.0, f / s["sent"]),
                           maker_ratio=s["maker"] / f if f else 0.0, n_orders=int(s["sent"]))


class Router:
    def __init__(self, port: ExchangePort, journal: Journal, settings: RouterSettings, *, twap_events: Path,
                 hard_state: Callable[[], str], filters: Callable[[str], Any],
                 sleep: Callable[[float], None] = time.sleep, wall: Callable[[], float] = time.monotonic):
        self.port = port
        self.journal = journal
        self.s = settings
        self.twap_events = Path(twap_events)
        self.hard_state = hard_state  # "" when the account may take new risk, else the reason
        self.filters = filters
        self.sleep = sleep
        self.wall = wall
        self.metrics = Metrics.from_journal(journal)
        self.due_ms: dict[str, int] = {}

    # ------------------------------------------------------------------ parents
    def submit_parent(self, *, intent_id: str, symbol: str, side: str, position_side: str, intent: str,
                      qty: Decimal, price: Decimal, now_ms: int, urgent: bool = False, source: str = "hybrid",
                      reason: str = "") -> IntentState | None:
        """Journal an approved parent and run what is due now. A known intent id is never journaled twice."""
        if intent_id in self.journal.intents:
            xlog.info("[executor] INTENT_KNOWN %s (journaled before: not sent again)", intent_id)
            return None
        gross = qty * price
        if urgent:
            slices = [{"index": 1, "qty": str(qty)}]
            style = "single"
        else:
            plan = plan_twap(qty, price, self.filters(symbol), self.s.twap_cfg(), gross, parent_id=intent_id)
            slices = [{"index": s.slice_index, "qty": str(s.slice_qty)} for s in plan.slices]
            style = plan.execution_style
        it = self.journal.intent({
            "intent_id": intent_id, "symbol": symbol, "side": side, "position_side": position_side,
            "intent": intent, "qty": str(qty), "price": str(price), "gross_usd": float(gross), "style": style,
            "slices": slices, "interval_seconds": self.s.twap_interval_seconds, "urgent": urgent,
            "created_ms": now_ms, "source": source, "reason": reason, "dry_run": self.port.dry_run})
        if style == "twap":
            self.metrics.twap_trades_count += 1
        else:
            self.metrics.single_trades_count += 1
        log.info("[router] PARENT %s %s %s %s qty=%s style=%s slices=%d urgent=%s", intent_id, symbol, side,
                 position_side, qty, style, len(slices), urgent)
        self.due_ms[intent_id] = now_ms
        self.tick(now_ms, only=intent_id)
        return it

    def tick(self, now_ms: int, only: str | None = None) -> int:
        """Send every child that is due at market time `now_ms`. Returns the number of children run."""
        ran = 0
        for it in list(self.journal.open_intents()):
            iid = it.intent_id
            if only is not None and iid != only:
                continue
            if self.due_ms.setdefault(iid, now_ms) > now_ms:
                continue
            gone = self._not_listed(it.record["symbol"])
            if gone:  # delisted mid-parent: no child can be priced or accepted (docs/Runbook.md "Bad input")
                self.journal.intent_end(iid, "cancelled", gone)
                log.warning("[router] TWAP_CANCELLED %s: %s", iid, gone)
                continue
            if it.record["intent"] == "OPEN":
                block = self.hard_state()
                if block:
                    self.journal.intent_end(iid, "cancelled", f"hard state: {block}")
                    log.warning("[router] TWAP_CANCELLED %s: %s (no child of an OPEN parent in a hard state)",
                                iid, block)
                    continue
            pending = it.open_slices
            if not pending:
                self._end_intent(it)
                continue
            if any(not s.settled for s in self._sends_of(iid)):
                continue  # an unknown outcome waits for reconcile.settle, never a second child on top
            self._run_slice(it, pending[0])
            ran += 1
            self.due_ms[iid] = now_ms + int(float(it.record.get("interval_seconds", 0)) * 1000)
            if not it.open_slices:
                self._end_intent(it)
        return ran

    def _not_listed(self, symbol: str) -> str:
        try:
            f = self.filters(symbol)
        except KeyError:
            return f"{symbol} left exchangeInfo"
        return "" if f.status == "TRADING" else f"{symbol} status {f.status}"

    def _end_intent(self, it: IntentState) -> None:
        statuses = {s.ended for s in it.slices.values()}
        if statuses == {"dry_run"}:
            status = "dry_run"
        else:
            status = "done" if it.filled > 0 or statuses == {"done"} else "cancelled"
        self.journal.intent_end(it.intent_id, status)
        self.due_ms.pop(it.intent_id, None)

    def _sends_of(self, intent_id: str) -> list[Any]:
        return [s for s in self.journal.sends.values() if s.record.get("intent_id") == intent_id]

    def has_work(self) -> bool:
        return bool(self.journal.open_intents())

    # ------------------------------------------------------------------ one child slice
    def _run_slice(self, it: IntentState, sl: SliceState) -> None:
        rec = it.record
        symbol, side = rec["symbol"], rec["side"]
        urgent = bool(rec.get("urgent"))
        reduce = rec["intent"] == "CLOSE"
        style = rec.get("style", "single")
        bid, ask = self._book(symbol)
        mid = (bid + ask) / 2 if bid and ask else Decimal(rec["price"])
        maker_tries = 0 if urgent or not self.s.maker_first else 1 + self.s.max_reprices
        for _ in range(maker_tries):
            left = sl.qty - sl.filled
            if left <= 0:
                break
            if not reduce and self.hard_state():
                break
            try:
                px = maker_price(side, bid, ask, self.s.maker_offset_bps, self.filters(symbol))
            except ValueError as e:
                log.warning("[router] no maker price for %s: %s -> taker", symbol, e)
                break
            tif = self.s.tif if self.s.order_type == "limit" else "GTX"
            r = self._send(it, sl, left, "LIMIT", px, tif, mid, style, reduce)
            if r is None or r.outcome in ("unknown", "dry_run"):
                return
            if r.outcome == "accepted":
                self._await_maker(it, sl, r.client_order_id, symbol, mid, style)
            bid, ask = self._book(symbol)
        left = sl.qty - sl.filled
        taker_now = urgent or self.s.taker_fallback or not self.s.maker_first
        if left > 0 and taker_now and (reduce or not self.hard_state()):
            r = self._send(it, sl, left, "MARKET", None, None, mid, style, reduce)
            if r is None or r.outcome in ("unknown", "dry_run"):
                return
        status = "done" if sl.filled >= sl.qty else ("done" if sl.filled > 0 else "cancelled")
        self.journal.slice_end(it.intent_id, sl.index, status)

    def _book(self, symbol: str) -> tuple[Decimal, Decimal]:
        try:
            return self.port.best_bid_ask(symbol)
        except Exception as e:  # noqa: BLE001 - a failed book read only costs the maker attempt
            log.warning("[router] book %s unavailable (%s)", symbol, e)
            return ZERO, ZERO

    def _send(self, it: IntentState, sl: SliceState, qty: Decimal, otype: str, price: Decimal | None,
              tif: str | None, mid: Decimal, style: str, reduce: bool) -> SubmitResult | None:
        rec = it.record
        iid, symbol = it.intent_id, rec["symbol"]
        rev = sl.revisions
        cid = self.port.client_order_id(iid, sl.index, rev)
        now_ms = self._now(symbol)
        self.journal.send({"intent_id": iid, "slice_index": sl.index, "revision": rev, "client_order_id": cid,
                           "symbol": symbol, "side": rec["side"], "position_side": rec["position_side"],
                           "order_type": otype, "price": None if price is None else str(price), "tif": tif,
                           "qty": str(qty), "t_ms": now_ms, "mid": str(mid)})
        n = len(it.slices)
        append_event(self.twap_events, {
            "execution_style": style, "slice_index": sl.index, "slice_count": n, "slice_qty": float(qty),
            "parent_gross_usd": float(rec.get("gross_usd", 0.0)), "symbol": symbol, "side": rec["side"],
            "position_side": rec["position_side"], "intent_id": iid, "client_order_id": cid,
            "order_type": otype, "price": None if price is None else float(price), "dry_run": self.port.dry_run,
            "t_ms": now_ms, "config": {"min_notional_usd": self.s.twap_min_notional_usd,
                                       "slices": self.s.twap_slices, "interval_seconds": self.s.twap_interval_seconds}})
        try:
            r = self.port.submit(symbol, rec["side"], rec["position_side"], qty, cid=cid, order_type=otype,
                                 price=price, tif=tif, reduce=reduce, ref_price=mid if mid > 0 else None)
        except Exception as e:  # noqa: BLE001 - a read inside prepare failed: nothing was sent for sure? no:
            # the adapter never raises for an order outcome, so anything here is a bug or a read before the
            # send; the send stays unsettled and reconcile.settle asks the exchange about the id.
            xlog.error("[ORDER_ERR] %s send raised %s: left for reconciliation", cid, e)
            return None
        self.journal.result({"client_order_id": cid, "intent_id": iid, "slice_index": sl.index,
                             "outcome": r.outcome, "status": r.status, "executed_qty": str(r.executed_qty),
                             "avg_price": str(r.avg_price), "order_id": r.order_id, "code": r.code, "reason": r.reason})
        if r.outcome == "dry_run":
            self.metrics.sent(symbol)
            self.journal.order_final(cid, "DRY_RUN", 0)
            self.journal.slice_end(iid, sl.index, "dry_run")
            log.info("[router] DRY_RUN child %s %s slice %d/%d %s qty=%s (swallowed by the gate)", iid, otype,
                     sl.index, n, rec["side"], qty)
            return r
        if r.outcome == "rejected":
            self.journal.order_final(cid, "REJECTED", 0, code=r.code, reason=r.reason)
            return r
        if r.outcome == "unknown":
            xlog.error("[ORDER_ERR] %s outcome UNKNOWN: left for reconciliation (no resend)", cid)
            return r
        self.metrics.sent(symbol)
        if r.status in ("FILLED", "CANCELED", "EXPIRED", "REJECTED"):
            self._final(it, cid, r.status, r.executed_qty, r.avg_price, mid, style, otype == "LIMIT")
        return r

    def _final(self, it: IntentState, cid: str, status: str, executed: Decimal, avg: Decimal, mid: Decimal,
               style: str, maker: bool) -> None:
        self.journal.order_final(cid, status, executed, avg)
        if executed > 0 and avg > 0 and mid > 0:
            sign = 1 if it.record["side"] == "BUY" else -1
            self.metrics.filled(it.record["symbol"], style, float(sign * (avg - mid) / mid * 10_000), maker)

    def _await_maker(self, it: IntentState, sl: SliceState, cid: str, symbol: str, mid: Decimal, style: str) -> None:
        """Wait for the resting maker order up to maker_timeout_seconds of MARKET time, then cancel it."""
        if self.journal.sends[cid].settled:
            return
        start = self._now(symbol)
        deadline = start + int(self.s.maker_timeout_seconds * 1000)
        wall_end = self.wall() + self.s.max_wait_wall_s
        while True:
            o = self._get(symbol, cid)
            if o is not None and not o.is_open:
                self._final(it, cid, o.status, o.executed_qty, o.avg_price, mid, style, True)
                return
            if (self._now(symbol) >= deadline or self.wall() >= wall_end
                    or (not it.record["intent"] == "CLOSE" and self.hard_state())):
                break
            self.sleep(_POLL_WALL_S)
        outcome, state = self.port.cancel(symbol, cid)
        if state is None or state.is_open:
            state = self._get(symbol, cid)
        if state is not None and not state.is_open:
            self._final(it, cid, state.status, state.executed_qty, state.avg_price, mid, style, True)
        else:
            xlog.error("[ORDER_ERR] %s cancel %s and no final state: left for reconciliation", cid, outcome)

    def _get(self, symbol: str, cid: str) -> Any:
        try:
            return self.port.get_order(symbol, cid)
        except Exception as e:  # noqa: BLE001 - unknown status: the caller leaves the order to reconciliation
            log.warning("[router] status of %s unavailable (%s)", cid, e)
            return None

    def _now(self, symbol: str) -> int:
        try:
            return self.port.market_time_ms(symbol)
        except Exception:  # noqa: BLE001 - fall back to the newest stamp already seen
            return int(getattr(self.port.adapter, "last_market_time_ms", 0))

    # ------------------------------------------------------------------ hard states
    def cancel_resting_entries(self, reason: str) -> int:
        """Cancel our open orders that would grow a leg (HALTED / REDUCING); exits are left working."""
        n = 0
        for cid, s in list(self.journal.sends.items()):
            if s.settled:
                continue
            rec = s.record
            opens = (rec["side"], rec["position_side"]) in (("BUY", "LONG"), ("SELL", "SHORT"))
            if not opens:
                continue
            outcome, state = self.port.cancel(rec["symbol"], cid)
            if state is None:
                state = self._get(rec["symbol"], cid)
            if state is not None and not state.is_open:
                self.journal.order_final(cid, state.status, state.executed_qty, state.avg_price)
            n += 1
            log.warning("[router] CANCEL_RESTING %s %s (%s): %s", rec["symbol"], cid, reason, outcome)
        return n


__all__ = ["Router", "RouterSettings", "Metrics"]
