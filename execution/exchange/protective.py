"""Protective (conditional) orders on `/fapi/v1/algoOrder`: STOP_MARKET / TAKE_PROFIT_MARKET that protect a
leg, submitted as idempotently as orders, keyed by a deterministic clientAlgoId (docs/EXCHANGE.md
"Protective orders", quirks 10, 27-30). `protective_request(...)` is pure; its reads happen before it.
Results are the same types as for orders: SubmitResult / CancelResult (client_order_id = the clientAlgoId,
order_id = the algoId).
"""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from core.filters import SymbolFilters, check_order_filters, decimal_to_str, quantize_price, quantize_qty
from core.numbers import to_decimal
from core.orders import BUY, LEGS, LONG, SELL, exit_side

from .client_ids import is_valid_client_order_id, make_client_algo_id
from .errors import ExchangeError, RetryableError, UnknownOrderError
from .orders import Orders, _unreadable
from .records import (
    PROTECTIVE_KINDS,
    CancelOutcome,
    CancelResult,
    Outcome,
    ProtectiveOrder,
    ProtectiveRequest,
    SubmitResult,
)
from .wire import (
    EXPECTED_PROTECTIVE_REJECTS,
    ORDER_ERR_CHANNEL,
    WORKING_TYPES,
    LocalRejection,
    algo_ref,
    exec_log,
    int_or_none,
    is_dry,
    log_json,
)

__all__ = ["protective_request", "Protective"]


def protective_request(symbol: str, position_side: str, kind: str, trigger_price: Any, quantity: Any,
                       filters: SymbolFilters, dual: bool, *, client_algo_id: str,
                       close_position: bool | None = None, working_type: str = "MARK_PRICE",
                       price_protect: bool = False) -> ProtectiveRequest:
    """The `/fapi/v1/algoOrder` request protecting leg `position_side` (pure), or LocalRejection.

    - `position_side` is the leg protected: LONG -> a SELL order, SHORT -> a BUY order (core.orders).
    - `kind`: STOP_MARKET (stop loss) or TAKE_PROFIT_MARKET.
    - Either `quantity` (rounded down to MARKET_LOT_SIZE; closing, so exempt from min notional) or
      `close_position=True` (the whole leg at trigger time; the default when no quantity is given).
    - The trigger is put on the tick grid toward the market, so it never fires later than asked: a LONG
      leg's stop rounds up and its take-profit down, a SHORT leg's stop rounds down and its take-profit up.
    - Hedge mode: positionSide = the leg, never reduceOnly (-1106). One-way: positionSide BOTH, and
      reduceOnly=true with a quantity (never together with closePosition).
    """
    kind_u = str(kind).upper()
    if kind_u not in PROTECTIVE_KINDS:
        raise LocalRejection("Invalid orderType.", code=-1116, sent=False)
    leg = str(position_side or "").upper()
    if leg not in LEGS:
        raise LocalRejection("Order's position side does not match user's setting.", code=-4061, sent=False)
    wt = str(working_type).upper()
    if wt not in WORKING_TYPES:
        raise LocalRejection("Data sent for parameter 'workingType' is not valid.", code=-1130, sent=False)
    cid = client_algo_id
    if not is_valid_client_order_id(cid):
        raise LocalRejection("Client order id is not valid.", code=-4015, sent=False)
    close = (quantity is None) if close_position is None else bool(close_position)
    if close and quantity is not None:
        raise LocalRejection("Quantity must be zero with closePosition equals true", code=-4137, sent=False)
    if not close and quantity is None:
        raise LocalRejection("Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
                             code=-1102, sent=False)
    side = exit_side(leg)

    try:
        raw_trigger = to_decimal(trigger_price)
    except (TypeError, ValueError, ArithmeticError):
        raw_trigger = Decimal("NaN")
    if not raw_trigger.is_finite() or raw_trigger <= 0:
        raise LocalRejection("Stop price less than zero.", code=-4006, sent=False)
    round_up = (kind_u == "STOP_MARKET") == (leg == LONG)  # toward the market: never fire later
    trigger = quantize_price(raw_trigger, filters, SELL if round_up else BUY)  # SELL = up, BUY = down
    if trigger <= 0 or (filters.min_price > 0 and trigger < filters.min_price):
        raise LocalRejection("Price less than min price.", code=-4013, sent=False)
    if filters.max_price > 0 and trigger > filters.max_price:
        raise LocalRejection("Price greater than max price.", code=-4002, sent=False)

    qty: Decimal | None = None
    if not close:
        try:
            raw_qty = to_decimal(quantity)
        except (TypeError, ValueError, ArithmeticError):
            raw_qty = Decimal("NaN")
        if not raw_qty.is_finite():
            raise LocalRejection("Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
                                 code=-1102, sent=False)
        qty = quantize_qty(raw_qty, filters, market=True)
        if qty <= 0 < raw_qty:
            raise LocalRejection("Quantity less than min quantity.", code=-4004, sent=False)
        violations = check_order_filters(filters, side, qty, None, order_type=kind_u, reduce_only=True)
        if violations:
            err = LocalRejection(violations[0].reason, code=violations[0].code, sent=False)
            err.violations = violations  # type: ignore[attr-defined]
            raise err

    params: dict[str, str] = {
        "algoType": "CONDITIONAL", "symbol": symbol, "side": side, "positionSide": leg if dual else "BOTH",
        "type": kind_u, "triggerPrice": decimal_to_str(trigger), "workingType": wt, "clientAlgoId": cid,
    }
    if close:
        params["closePosition"] = "true"  # lower-case string (quirk 6); never with quantity or reduceOnly
    else:
        params["quantity"] = decimal_to_str(qty)  # type: ignore[arg-type]
        if not dual:
            params["reduceOnly"] = "true"  # one-way only; in hedge mode Binance answers -1106
    if price_protect:
        params["priceProtect"] = "TRUE"
    return ProtectiveRequest(symbol, leg, side, kind_u, trigger, qty, close, wt, cid, params)


class Protective(Orders):
    # ================================================================== protective (conditional) orders
    def prepare_protective_order(self, symbol: str, position_side: str, kind: str, trigger_price: Any,
                                 quantity: Any = None, *, close_position: bool | None = None,
                                 working_type: str = "MARK_PRICE", intent_id: str | None = None,
                                 revision: int = 0, client_algo_id: str | None = None,
                                 price_protect: bool = False) -> ProtectiveRequest:
        """Reads (filters, position mode), then the pure `protective_request`; clientAlgoId =
        `make_client_algo_id(intent_id, kind, revision)` (deterministic) unless given."""
        kind_u = str(kind).upper()
        if kind_u not in PROTECTIVE_KINDS:
            raise LocalRejection("Invalid orderType.", code=-1116, sent=False)
        cid = client_algo_id or (make_client_algo_id(intent_id, kind_u, revision) if intent_id
                                 else f"hp-adhoc-{uuid.uuid4().hex[:24]}")
        filters = self.symbol_filters(symbol)
        dual = self.get_position_mode()
        return protective_request(symbol, position_side, kind_u, trigger_price, quantity, filters, dual,
                                  client_algo_id=cid, close_position=close_position, working_type=working_type,
                                  price_protect=price_protect)

    def place_protective_order(self, symbol: str, position_side: str, kind: str, trigger_price: Any,
                               quantity: Any = None, *, pre_check: bool = True, **kwargs: Any) -> SubmitResult:
        """Prepare and submit a protective order. Never raises for an outcome: see SubmitResult.

        Keyword arguments are those of `prepare_protective_order` (`close_position`, `working_type`,
        `intent_id`, `revision`, `client_algo_id`, `price_protect`). Pass `intent_id`: the clientAlgoId is
        then deterministic and one intent can never get two protective orders of one kind.
        """
        try:
            req = self.prepare_protective_order(symbol, position_side, kind, trigger_price, quantity, **kwargs)
        except Exception as exc:  # noqa: BLE001 - nothing was sent: a local rejection, whatever went wrong
            e = exc if isinstance(exc, ExchangeError) else LocalRejection(
                f"{type(exc).__name__}: {exc}"[:300], code=-1102, sent=False)
            intent = kwargs.get("intent_id")
            cid = kwargs.get("client_algo_id") or ""
            if not cid and intent and str(kind).upper() in PROTECTIVE_KINDS:
                try:
                    cid = make_client_algo_id(intent, str(kind).upper(), kwargs.get("revision", 0))
                except (TypeError, ValueError):
                    cid = ""
            exec_log.warning("[ORDER_ERR] code=%s msg=%s local=True protective symbol=%s leg=%s kind=%s trigger=%s "
                             "cid=%s", e.code, e.message, symbol, position_side, kind, trigger_price, cid,
                             extra=ORDER_ERR_CHANNEL)
            return SubmitResult(Outcome.REJECTED, cid, None, code=e.code, reason=e.message, error_kind=e.kind,
                                local=True)
        return self.submit_protective(req, pre_check=pre_check)

    def submit_protective(self, req: ProtectiveRequest, *, pre_check: bool = True) -> SubmitResult:
        """Send a prepared protective order so that one clientAlgoId can never become two algo orders.

        `pre_check`: look the clientAlgoId up first (one GET, weight 1) and, if the exchange already has it in
        any state (waiting, fired, cancelled), return that order instead of sending. -4116 only guards ids of
        *open* algo orders, so without this a restarted executor would place a second stop for an intent whose
        first one already fired or was cancelled. Moving a stop on purpose = cancel, then `revision + 1`.
        Skipped in DRY_RUN (nothing is sent anyway). Then the same state machine as orders: after a timeout /
        5xx, wait for the recvWindow to pass, then query by clientAlgoId before any resend. Never raises.
        """
        posts_before = self.order_posts_sent
        try:
            return self._submit_protective(req, pre_check)
        except Exception as e:  # noqa: BLE001 - the promise is an outcome, whatever the exchange answered
            sent = self.order_posts_sent - posts_before
            outcome = Outcome.UNKNOWN if sent else Outcome.REJECTED
            exec_log.error("[ORDER_ERR] protective cid=%s unexpected %s after %d send(s): outcome %s",
                           req.client_algo_id, type(e).__name__, sent, outcome.value, extra=ORDER_ERR_CHANNEL)
            return SubmitResult(outcome, req.client_algo_id, req, reason=f"{type(e).__name__}: {e}"[:300],
                                error_kind="unexpected", attempts=sent, local=not sent)

    def _submit_protective(self, req: ProtectiveRequest, pre_check: bool) -> SubmitResult:
        params = dict(req.params)
        marker = " DRY_RUN" if self.dry_run else ""
        exec_log.info("[executor] SEND_PROTECTIVE%s %s", marker, log_json(params))
        lookup = lambda: self.get_protective_order(req.symbol, client_algo_id=req.client_algo_id)  # noqa: E731
        if pre_check and not self.dry_run:
            try:
                existing = lookup()
            except ExchangeError as e:  # nothing sent; the caller may try again
                return self._protective_err(req, e, 0, Outcome.REJECTED)
            if existing is not None:
                exec_log.info("[executor] PROTECTIVE_EXISTS cid=%s status=%s: not sending again", req.client_algo_id,
                              existing.status)
                return self._protective_found(req, existing, 0)
        posted = self._post_idempotent("algoOrder:post", self.client.futures_create_algo_order, params,
                                       req.client_algo_id, lookup, id_name="clientAlgoId", tag="PROTECTIVE")
        if posted.outcome is not Outcome.ACCEPTED:
            assert posted.error is not None
            return self._protective_err(req, posted.error, posted.sent, posted.outcome)
        if posted.found is not None:
            return self._protective_found(req, posted.found, posted.sent)
        resp = posted.response
        unreadable = _unreadable(resp, "clientAlgoId", req, req.client_algo_id, posted.sent)
        if unreadable is not None:
            return unreadable
        order = ProtectiveOrder.from_api(resp)
        if is_dry(resp):
            return SubmitResult(Outcome.DRY_RUN, req.client_algo_id, req, order, attempts=0)
        status = getattr(self.client.response, "status_code", 200) if self.client.response is not None else 200
        exec_log.info("[executor] PROTECTIVE_REQ /fapi/v1/algoOrder %s %s", status, log_json(resp))
        return SubmitResult(Outcome.ACCEPTED, req.client_algo_id, req, order, attempts=posted.sent)

    def _protective_found(self, req: ProtectiveRequest, found: ProtectiveOrder, sent: int) -> SubmitResult:
        """The exchange already holds this clientAlgoId. It is our order unless it protects something else."""
        if (found.kind, found.side) != (req.kind, req.side):
            reason = (f"clientAlgoId {req.client_algo_id} already belongs to {found.kind} {found.side} "
                      f"{found.position_side} (algoId {found.algo_id}); not sending")
            exec_log.error("[ORDER_ERR] code=-4116 msg=%s", reason, extra=ORDER_ERR_CHANNEL)
            return SubmitResult(Outcome.REJECTED, req.client_algo_id, req, found, code=-4116, reason=reason,
                                error_kind="duplicate_order", attempts=sent)
        return SubmitResult(Outcome.ACCEPTED, req.client_algo_id, req, found, attempts=sent, recovered=True)

    def _protective_err(self, req: ProtectiveRequest, e: ExchangeError, sent: int,
                        outcome: Outcome) -> SubmitResult:
        expected = (EXPECTED_PROTECTIVE_REJECTS.get(e.code)
                    if outcome is Outcome.REJECTED and e.code is not None else None)
        if expected:
            exec_log.warning("[executor] PROTECTIVE_REJECTED code=%s msg=%s symbol=%s cid=%s: %s", e.code, e.message,
                             req.symbol, req.client_algo_id, expected, extra=ORDER_ERR_CHANNEL)
        else:
            exec_log.error("[ORDER_ERR] code=%s msg=%s kind=%s outcome=%s protective symbol=%s cid=%s", e.code,
                           e.message, e.kind, outcome.value, req.symbol, req.client_algo_id, extra=ORDER_ERR_CHANNEL)
        return SubmitResult(outcome, req.client_algo_id, req, code=e.code, reason=e.message, error_kind=e.kind,
                            attempts=sent)

    def get_protective_order(self, symbol: str, client_algo_id: str | None = None,
                             algo_id: int | None = None) -> ProtectiveOrder | None:
        """A protective order by clientAlgoId (or algoId): `GET /fapi/v1/algoOrder`. None when the exchange
        does not know it (-2013) or it belongs to another symbol (the query takes no symbol; ids are
        account-wide). Binance forgets cancelled/expired algo orders without fills after 3 days."""
        try:
            doc = self._request("algoOrder:get", self.client.futures_get_algo_order, algo_ref(client_algo_id, algo_id))
        except UnknownOrderError:
            return None
        order = self._parsed("algoOrder:get", doc, ProtectiveOrder.from_api)
        return order if order.symbol == symbol else None

    def open_protective_orders(self, symbol: str | None = None) -> list[ProtectiveOrder]:
        """Protective orders waiting for their trigger: `GET /fapi/v1/openAlgoOrders` (weight 1, 40 for all)."""
        params = {"symbol": symbol} if symbol else {}
        rows = self._request("openAlgoOrders" if symbol else "openAlgoOrders:all",
                             self.client.futures_get_open_algo_orders, params)
        return self._parsed("openAlgoOrders", rows, lambda rs: [ProtectiveOrder.from_api(r) for r in rs])

    def cancel_protective_order(self, symbol: str, client_algo_id: str | None = None,
                                algo_id: int | None = None) -> CancelResult:
        """Cancel one protective order (`DELETE /fapi/v1/algoOrder`). A resent cancel is harmless, so
        retryables are retried; -2011/-2013 -> NOT_OPEN with the order's final state (e.g. FINISHED: it fired).
        The endpoint takes no symbol: the id alone names the order (`symbol` is for the result and the logs)."""
        ref = algo_ref(client_algo_id, algo_id)
        exec_log.info("[executor] CANCEL_PROTECTIVE%s %s", " DRY_RUN" if self.dry_run else "",
                      log_json({"symbol": symbol, **ref}))
        outcome, resp, err = self._cancel("algoOrder:delete", self.client.futures_cancel_algo_order, ref,
                                          "protective cancel", client_algo_id)
        if outcome is CancelOutcome.NOT_OPEN:
            assert err is not None
            state = self._final_state(lambda: self.get_protective_order(symbol, client_algo_id, algo_id))
            return CancelResult(outcome, symbol, client_algo_id,
                                algo_id if algo_id is not None else (state.algo_id if state else None),
                                state, err.code, err.message)
        if err is not None:
            return CancelResult(outcome, symbol, client_algo_id, algo_id, None, err.code, err.message)
        doc = resp if isinstance(resp, dict) else {}
        aid = algo_id if algo_id is not None else (int_or_none(doc.get("algoId")) or None)
        return CancelResult(outcome, symbol, str(doc.get("clientAlgoId") or client_algo_id or "") or None, aid,
                            None, reason=str(doc.get("msg", ""))[:300])

    def cancel_all_protective(self, symbol: str) -> CancelResult:
        """Cancel every protective (conditional) order of `symbol` that is waiting for its trigger:
        `DELETE /fapi/v1/algoOpenOrders`. Regular orders are untouched (that is `cancel_all`)."""
        exec_log.info("[executor] CANCEL_ALL_PROTECTIVE%s %s", " DRY_RUN" if self.dry_run else "",
                      log_json({"symbol": symbol}))
        try:
            resp = self._request("algoOpenOrders:delete", self.client.futures_cancel_all_algo_open_orders,
                                 {"symbol": symbol})
        except RetryableError as e:
            return CancelResult(CancelOutcome.UNKNOWN, symbol, code=e.code, reason=e.message)
        except ExchangeError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s cancel_all_protective rejected symbol=%s", e.code, e.message,
                           symbol, extra=ORDER_ERR_CHANNEL)
            return CancelResult(CancelOutcome.REJECTED, symbol, code=e.code, reason=e.message)
        outcome = CancelOutcome.DRY_RUN if is_dry(resp) else CancelOutcome.CANCELED
        doc = resp if isinstance(resp, dict) else {}
        return CancelResult(outcome, symbol, code=int_or_none(doc.get("code")), reason=str(doc.get("msg", ""))[:300])


