"""Orders: the one pure function that turns the core's approved order into a request, and the idempotent
submit / cancel state machines (docs/EXCHANGE.md "Idempotent submission", quirks 1-6, 9-12, 15, 16, 23).

`order_request(order, filters, dual, ...)` is pure: quantize, apply the position-mode rules (core.orders)
and the exchange filters, and build the wire params, or raise LocalRejection with Binance's own code and
text. The adapter's reads (filters, position mode, a mark for MARKET min-notional) happen before it.

`submit_order` / `place_order` / `submit` promise an outcome (SubmitResult) and never raise, whatever the
exchange answers (every header and field is untrusted input).
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.filters import (
    MARKET_ORDER_TYPES,
    SymbolFilters,
    check_order_filters,
    decimal_to_str,
    quantize_price,
    quantize_qty,
)
from core.numbers import to_decimal_or_nan
from core.orders import BOTH, LEGS, SIDES, Intent, closes_leg, entry_leg, exit_leg, exit_side
from core.risk.records import ProposedOrder

from .account import Account
from .client_ids import is_valid_client_order_id, make_client_order_id
from .errors import (
    DuplicateOrderError,
    ExchangeError,
    RateLimitedError,
    RetryableError,
    TimestampError,
    UnknownOrderError,
)
from .records import CancelOutcome, CancelResult, OrderRequest, OrderState, Outcome, SubmitResult
from .wire import (
    EXPECTED_REJECTS,
    ORDER_ERR_CHANNEL,
    SUPPORTED_ORDER_TYPES,
    LocalRejection,
    exec_log,
    int_or_none,
    is_dry,
    log_json,
    order_ref,
)

__all__ = ["order_request", "is_closing", "Orders"]

_MALFORMED = "Mandatory parameter '{}' was not sent, was empty/null, or malformed."


def _leg_of(order: ProposedOrder, dual: bool) -> str:
    """The wire positionSide: the order's leg in hedge mode (derived from side x intent when not given),
    BOTH in one-way mode; LocalRejection -4061 when it cannot be."""
    ps = order.position_side
    if dual:
        if not ps:
            ps = (exit_leg if order.intent is Intent.CLOSE else entry_leg)(order.side)
        if ps not in LEGS:
            raise LocalRejection("Order's position side does not match user's setting.", code=-4061, sent=False)
        return ps
    if ps not in ("", BOTH):
        raise LocalRejection("Order's position side does not match user's setting.", code=-4061, sent=False)
    return BOTH


def is_closing(order: ProposedOrder, dual: bool) -> bool:
    """Does the order shrink a leg? Hedge: by side x leg (core.orders); one-way: only when declared CLOSE."""
    if not dual:
        return order.intent is Intent.CLOSE
    try:
        return closes_leg(order.side, _leg_of(order, dual))
    except (LocalRejection, KeyError):
        return False


def order_request(order: ProposedOrder, filters: SymbolFilters, dual: bool, *, client_order_id: str,
                  mark_price: Decimal | None = None, time_in_force: str | None = None) -> OrderRequest:
    """The wire request for `order` (pure), or LocalRejection carrying the code Binance would answer.

    - Hedge mode (`dual`): positionSide = the leg, always sent; reduceOnly never sent (-1106). Intent CLOSE
      picks the leg a side closes (SELL -> LONG, BUY -> SHORT) and must agree with a given leg (-2022).
    - One-way: positionSide BOTH; intent CLOSE is sent as reduceOnly=true.
    - qty rounds DOWN to the step (MARKET_LOT_SIZE for MARKET); a LIMIT price rounds passively.
    - Min notional is exempt for closing orders (as on Binance); `mark_price` values a MARKET order for it
      and enables the PERCENT_PRICE check of a LIMIT price.
    """
    side, otype, cid = order.side, order.order_type, client_order_id
    if side not in SIDES:
        raise LocalRejection("Invalid side.", code=-1117, sent=False)
    if otype not in SUPPORTED_ORDER_TYPES:
        # Conditional types live on /fapi/v1/algoOrder: place_protective_order (STOP_/TAKE_PROFIT_MARKET).
        raise LocalRejection("Invalid orderType.", code=-1116, sent=False)
    if order.intent is not None and not isinstance(order.intent, Intent):
        raise LocalRejection(f"Unknown intent {order.intent!r}: OPEN or CLOSE.", code=-1102, sent=False)
    if not is_valid_client_order_id(cid):
        raise LocalRejection("Client order id is not valid.", code=-4015, sent=False)
    ps = _leg_of(order, dual)
    closing = is_closing(order, dual)
    if dual and order.intent is Intent.CLOSE and not closing:
        raise LocalRejection(f"ReduceOnly Order is rejected. ({side} {ps} would increase the leg)",
                             code=-2022, sent=False)
    market = otype in MARKET_ORDER_TYPES
    if not order.qty.is_finite():
        raise LocalRejection(_MALFORMED.format("quantity"), code=-1102, sent=False)
    qty = quantize_qty(order.qty, filters, market=market)
    if qty <= 0 < order.qty:  # floored to nothing: say why, not "quantity <= 0"
        raise LocalRejection("Quantity less than min quantity.", code=-4004, sent=False)
    px: Decimal | None = None
    if not market:
        if order.price is None or not order.price.is_finite():
            raise LocalRejection(_MALFORMED.format("price"), code=-1102, sent=False)
        px = quantize_price(order.price, filters, side)
    if filters.status != "TRADING" and not closing:
        raise LocalRejection("Invalid symbol status for opening position", code=-4140, sent=False)
    violations = check_order_filters(filters, side, qty, px, order_type=otype, reduce_only=closing,
                                     mark_price=mark_price)
    if violations:
        err = LocalRejection(violations[0].reason, code=violations[0].code, sent=False)
        err.violations = violations  # type: ignore[attr-defined]
        raise err
    params: dict[str, str] = {
        "symbol": order.symbol, "side": side, "type": otype, "quantity": decimal_to_str(qty),
        "positionSide": ps, "newClientOrderId": cid, "newOrderRespType": "RESULT",
    }
    if px is not None:
        params["price"] = decimal_to_str(px)
        params["timeInForce"] = (time_in_force or "GTC").upper()
    if not dual and order.intent is Intent.CLOSE:
        params["reduceOnly"] = "true"  # one-way only; in hedge mode Binance answers -1106
    return OrderRequest(order.symbol, side, otype, qty, px, ps, order.intent is Intent.CLOSE or closing, cid, params)


@dataclass(frozen=True)
class _Posted:
    """What the idempotent POST loop learned: ACCEPTED with the exchange's answer (`response`) or with the
    record a status query found (`found`: recovered); REJECTED / UNKNOWN with the error."""
    outcome: Outcome
    response: Any = None
    found: Any = None
    error: ExchangeError | None = None
    sent: int = 0


class Orders(Account):
    # ================================================================== approved order -> request
    def submit_order(self, order: ProposedOrder, *, intent_id: str, slice_index: int = 0,
                     time_in_force: str | None = None, mark_price: Any = None) -> SubmitResult:
        """Send the core's approved order (`RiskDecision.order`) as slice `slice_index` of intent `intent_id`.

        The clientOrderId is `make_client_order_id(intent_id, slice_index)`: deterministic, so a resend after
        a crash finds the same order. Reads first (filters, position mode, a mark only when a MARKET order
        needs one for min notional), then the pure `order_request`, then the idempotent submit.
        Never raises: REJECTED (local=True) when nothing was sent.
        """
        try:
            cid = make_client_order_id(intent_id, slice_index)
        except (TypeError, ValueError) as e:
            return SubmitResult(Outcome.REJECTED, "", None, code=-4015, reason=str(e), error_kind="local_reject",
                                local=True)
        return self._prepare_and_submit(order, cid, time_in_force=time_in_force, mark_price=mark_price)

    def prepare_order(self, symbol: str, side: str, quantity: Any, *, order_type: str = "MARKET",
                      price: Any = None, position_side: str | None = None, reduce_only: bool = False,
                      time_in_force: str | None = None, client_order_id: str | None = None,
                      intent_id: str | None = None, slice_index: int = 0, ref_price: Any = None,
                      mark_price: Any = None) -> OrderRequest:
        """The keyword form of `order_request`: reads, then the pure function; the request or LocalRejection.

        `reduce_only` is the caller's *intent* (Intent.CLOSE). `ref_price` is the price the caller sized a
        MARKET order with (for min notional; otherwise the mark is fetched, except for closing orders).
        """
        order = _proposed(symbol, side, quantity, order_type, price, position_side, reduce_only)
        cid = client_order_id or (make_client_order_id(intent_id, slice_index) if intent_id
                                  else f"hg-adhoc-{uuid.uuid4().hex[:24]}")
        return self._prepare(order, cid, time_in_force=time_in_force,
                             mark_price=ref_price if ref_price is not None else mark_price)

    def _prepare(self, order: ProposedOrder, cid: str, *, time_in_force: str | None = None,
                 mark_price: Any = None) -> OrderRequest:
        if order.side not in SIDES:
            raise LocalRejection("Invalid side.", code=-1117, sent=False)
        if order.order_type not in SUPPORTED_ORDER_TYPES:
            raise LocalRejection("Invalid orderType.", code=-1116, sent=False)
        filters = self.symbol_filters(order.symbol)
        dual = self.get_position_mode()
        mark = _decimal_or_none(mark_price)
        if (mark is None and order.order_type in MARKET_ORDER_TYPES and filters.min_notional > 0
                and order.qty.is_finite() and quantize_qty(order.qty, filters, market=True) > 0
                and not is_closing(order, dual)):
            mark = self.mark_price(order.symbol).mark_price  # the read happens here, before the pure function
        return order_request(order, filters, dual, client_order_id=cid, mark_price=mark,
                             time_in_force=time_in_force)

    def place_order(self, symbol: str, side: str, quantity: Any, **kwargs: Any) -> SubmitResult:
        """Prepare (quantize + local checks) and submit. Never raises for an order outcome: see SubmitResult.

        Keyword arguments are those of `prepare_order`. Pass `intent_id` (+ `slice_index`) so the
        clientOrderId is deterministic and a retry after a crash finds the same order.
        """
        intent = kwargs.get("intent_id")
        try:
            cid = kwargs.get("client_order_id") or (
                make_client_order_id(intent, kwargs.get("slice_index", 0)) if intent else "")
        except (TypeError, ValueError):
            cid = ""
        try:
            req = self.prepare_order(symbol, side, quantity, **kwargs)
        except ExchangeError as e:  # a local rejection, or a read it needed failed: nothing was sent
            return self._local_reject(e, symbol, side, quantity, cid)
        except Exception as e:  # noqa: BLE001 - bad input or a garbled read: nothing was sent, say so
            return self._local_reject(LocalRejection(f"{type(e).__name__}: {e}"[:300], code=-1102, sent=False),
                                      symbol, side, quantity, cid)
        return self.submit(req)

    def close_position(self, symbol: str, position_side: str, quantity: Any, **kwargs: Any) -> SubmitResult:
        """Close (part of) a leg. Hedge: LONG -> SELL+LONG, SHORT -> BUY+SHORT, no reduceOnly sent.
        One-way: pass position_side LONG/SHORT as the direction being closed; sent as BOTH + reduceOnly."""
        ps = str(position_side).upper()
        if ps not in LEGS:
            raise ValueError("position_side must be LONG or SHORT")
        try:
            leg = ps if self.get_position_mode() else None
        except ExchangeError as e:
            return self._local_reject(e, symbol, exit_side(ps), quantity, "")
        return self.place_order(symbol, exit_side(ps), quantity, position_side=leg, reduce_only=True, **kwargs)

    def _prepare_and_submit(self, order: ProposedOrder, cid: str, **kw: Any) -> SubmitResult:
        try:
            req = self._prepare(order, cid, **kw)
        except ExchangeError as e:
            return self._local_reject(e, order.symbol, order.side, order.qty, cid)
        except Exception as e:  # noqa: BLE001 - see place_order
            return self._local_reject(LocalRejection(f"{type(e).__name__}: {e}"[:300], code=-1102, sent=False),
                                      order.symbol, order.side, order.qty, cid)
        return self.submit(req)

    def _local_reject(self, e: ExchangeError, symbol: str, side: Any, quantity: Any, cid: str) -> SubmitResult:
        exec_log.warning("[ORDER_ERR] code=%s msg=%s local=True symbol=%s side=%s qty=%s cid=%s",
                         e.code, e.message, symbol, side, quantity, cid, extra=ORDER_ERR_CHANNEL)
        return SubmitResult(Outcome.REJECTED, cid, None, code=e.code, reason=e.message, error_kind=e.kind,
                            local=True)

    # ================================================================== submit
    def submit(self, req: OrderRequest) -> SubmitResult:
        """Send a prepared order so that an ambiguous outcome can never become two orders.

        After a timeout/5xx/garbled answer: wait until the original can no longer be executed (its
        recvWindow has passed by server time), then query by origClientOrderId before any resend: found ->
        accepted; "does not exist" -> resend with the SAME id; query failing -> UNKNOWN, never a blind
        resend. Never raises: anything unexpected after a send is UNKNOWN (reconcile by the id).
        """
        posts_before = self.order_posts_sent
        try:
            return self._submit(req)
        except Exception as e:  # noqa: BLE001 - the promise is an outcome, whatever the exchange answered
            sent = self.order_posts_sent - posts_before
            outcome = Outcome.UNKNOWN if sent else Outcome.REJECTED
            exec_log.error("[ORDER_ERR] cid=%s unexpected %s after %d send(s): outcome %s", req.client_order_id,
                           type(e).__name__, sent, outcome.value, extra=ORDER_ERR_CHANNEL)
            return SubmitResult(outcome, req.client_order_id, req, reason=f"{type(e).__name__}: {e}"[:300],
                                error_kind="unexpected", attempts=sent, local=not sent)

    def _submit(self, req: OrderRequest) -> SubmitResult:
        params = dict(req.params)
        marker = " DRY_RUN" if self.dry_run else ""
        exec_log.info("[executor] SEND_ORDER%s %s", marker, log_json(params))
        posted = self._post_idempotent("order:post", self.client.futures_create_order, params, req.client_order_id,
                                       lambda: self._lookup(req.symbol, req.client_order_id),
                                       id_name="origClientOrderId", tag="ORDER")
        if posted.outcome is not Outcome.ACCEPTED:
            assert posted.error is not None
            return self._order_err(req, posted.error, posted.sent, posted.outcome)
        if posted.found is not None:
            return SubmitResult(Outcome.ACCEPTED, req.client_order_id, req, posted.found, attempts=posted.sent,
                                recovered=True)
        resp = posted.response
        if is_dry(resp):
            return SubmitResult(Outcome.DRY_RUN, req.client_order_id, req, OrderState.from_api(resp), attempts=0)
        unreadable = _unreadable(resp, "clientOrderId", req, req.client_order_id, posted.sent)
        if unreadable is not None:
            return unreadable
        order = OrderState.from_api(resp)
        status = getattr(self.client.response, "status_code", 200) if self.client.response is not None else 200
        exec_log.info("[executor] ORDER_REQ /fapi/v1/order %s %s", status, log_json(resp))
        return SubmitResult(Outcome.ACCEPTED, req.client_order_id, req, order, attempts=posted.sent)

    def _post_idempotent(self, endpoint: str, call: Callable[..., Any], params: dict, ref_id: str,
                         lookup: Callable[[], Any], *, id_name: str, tag: str) -> _Posted:
        """The submit state machine shared by orders and protective (algo) orders.

        POST; on a timeout / 5xx / dropped or garbled answer (anything the exchange may have processed), wait
        until the original's recvWindow has passed by server time, then look the id up BEFORE any resend:
        found -> ACCEPTED (recovered); not there -> resend with the same id; lookup failing or the window
        not seen to pass -> UNKNOWN. -4116 (duplicate id) -> look it up. 429/418/-1021 and connect failures
        were not processed: REJECTED. Any other exchange error is final: REJECTED.
        """
        sent = 0
        last: ExchangeError | None = None
        for round_no in range(1, self.policy.max_attempts + 1):
            sent += 1
            try:
                resp = self._request(endpoint, self._send_order(call), params, is_order=True, retry_retryable=False)
            except DuplicateOrderError as e:  # -4116: an earlier send of this id landed
                return self._look_up(lookup, ref_id, e, sent, tag) or _Posted(Outcome.UNKNOWN, error=e, sent=sent)
            except (RateLimitedError, TimestampError) as e:
                # Refused before processing (429/418/-1021), already retried inside _request: not placed.
                return _Posted(Outcome.REJECTED, error=e, sent=sent)
            except ExchangeError as e:
                if not _maybe_processed(e):  # invalid order, margin, auth, never left the process ...: final
                    return _Posted(Outcome.REJECTED, error=e, sent=sent)
                last = e
                exec_log.warning("[ORDER_ERR] code=%s msg=%s cid=%s outcome unknown; querying %s before any "
                                 "resend", e.code, e.message, ref_id, id_name, extra=ORDER_ERR_CHANNEL)
                # A late original could still be executed until its recvWindow has passed by server time:
                # until then "not found" proves nothing (docs/EXCHANGE.md "Idempotent submission").
                if not self._await_recv_window(self.last_signed_ms, self.policy.backoff(round_no, self._rng)):
                    exec_log.error("[ORDER_ERR] cid=%s cannot see the recvWindow pass: outcome UNKNOWN, not "
                                   "resending", ref_id, extra=ORDER_ERR_CHANNEL)
                    return _Posted(Outcome.UNKNOWN, error=e, sent=sent)
                known = self._look_up(lookup, ref_id, e, sent, tag)
                if known is not None:
                    return known
                continue  # the exchange does not have it, and a late original can no longer land: resend
            return _Posted(Outcome.ACCEPTED, response=resp, sent=sent)
        assert last is not None
        return _Posted(Outcome.UNKNOWN, error=last, sent=sent)

    @staticmethod
    def _look_up(lookup: Callable[[], Any], ref_id: str, e: ExchangeError, sent: int, tag: str) -> _Posted | None:
        """Ask the exchange for `ref_id` after `e`: ACCEPTED (recovered) when found, UNKNOWN when the query
        fails or answers about another id, None when the exchange does not have it (-2013)."""
        try:
            found = lookup()
        except ExchangeError as qe:
            exec_log.error("[ORDER_ERR] cid=%s status query after %s failed (%s): outcome UNKNOWN, not resending",
                           ref_id, e.kind, qe, extra=ORDER_ERR_CHANNEL)
            return _Posted(Outcome.UNKNOWN, error=e, sent=sent)
        if found is None:
            return None
        if not _same_id(found, ref_id):  # an answer about another order proves nothing
            return _Posted(Outcome.UNKNOWN, error=e, sent=sent)
        exec_log.info("[executor] %s_RECOVERED cid=%s status=%s after %s", tag, ref_id, found.status, e.kind)
        return _Posted(Outcome.ACCEPTED, found=found, sent=sent)

    def _lookup(self, symbol: str, client_order_id: str) -> OrderState | None:
        return self.get_order(symbol, client_order_id=client_order_id)

    def _order_err(self, req: OrderRequest, e: ExchangeError, sent: int, outcome: Outcome) -> SubmitResult:
        expected = EXPECTED_REJECTS.get(e.code) if outcome is Outcome.REJECTED and e.code is not None else None
        if expected:
            exec_log.warning("[executor] ORDER_REJECTED code=%s msg=%s symbol=%s cid=%s: %s", e.code, e.message,
                             req.symbol, req.client_order_id, expected, extra=ORDER_ERR_CHANNEL)
        else:
            exec_log.error("[ORDER_ERR] code=%s msg=%s kind=%s outcome=%s symbol=%s cid=%s", e.code, e.message,
                           e.kind, outcome.value, req.symbol, req.client_order_id, extra=ORDER_ERR_CHANNEL)
        return SubmitResult(outcome, req.client_order_id, req, code=e.code, reason=e.message, error_kind=e.kind,
                            attempts=sent)

    # ================================================================== cancel
    def cancel_order(self, symbol: str, client_order_id: str | None = None,
                     order_id: int | None = None) -> CancelResult:
        """Cancel one order. A resent cancel is harmless (the second gets -2011), so retryables are retried;
        -2011/-2013 -> NOT_OPEN with the order's final state when the exchange still knows it."""
        params = order_ref(symbol, client_order_id, order_id)
        exec_log.info("[executor] CANCEL_ORDER%s %s", " DRY_RUN" if self.dry_run else "", log_json(params))
        outcome, resp, err = self._cancel("order:delete", self.client.futures_cancel_order, params, "cancel",
                                          client_order_id)
        if outcome is CancelOutcome.NOT_OPEN:
            assert err is not None
            state = self._final_state(lambda: self.get_order(symbol, client_order_id, order_id))
            return CancelResult(outcome, symbol, client_order_id, order_id, state, err.code, err.message)
        if err is not None:
            return CancelResult(outcome, symbol, client_order_id, order_id, None, err.code, err.message)
        return CancelResult(outcome, symbol, client_order_id, order_id, _state_or_none(resp))

    def _cancel(self, endpoint: str, fn: Callable[..., Any], params: dict, what: str,
                client_id: str | None) -> tuple[CancelOutcome, Any, ExchangeError | None]:
        """One cancel call mapped to its outcome. A resent cancel is harmless, so retryables are retried by
        `_request`; unknown order -> NOT_OPEN, still retryable after the retries -> UNKNOWN, else REJECTED."""
        try:
            resp = self._request(endpoint, fn, params)
        except UnknownOrderError as e:
            return CancelOutcome.NOT_OPEN, None, e
        except RetryableError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s %s outcome UNKNOWN cid=%s", e.code, e.message, what,
                           client_id, extra=ORDER_ERR_CHANNEL)
            return CancelOutcome.UNKNOWN, None, e
        except ExchangeError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s %s rejected cid=%s", e.code, e.message, what, client_id,
                           extra=ORDER_ERR_CHANNEL)
            return CancelOutcome.REJECTED, None, e
        return (CancelOutcome.DRY_RUN if is_dry(resp) else CancelOutcome.CANCELED), resp, None

    @staticmethod
    def _final_state(lookup: Callable[[], Any]) -> Any:
        """The order's final state after 'unknown order' on cancel (it filled / fired), or None."""
        try:
            return lookup()
        except ExchangeError:
            return None

    def cancel_all(self, symbol: str) -> CancelResult:
        """Cancel every open REGULAR order (LIMIT/MARKET) of `symbol`: `DELETE /fapi/v1/allOpenOrders`.

        Protective (conditional) orders live on the algo service and are NOT included: cancel them with
        `cancel_all_protective(symbol)`. Flattening a symbol therefore takes both calls (and the stops
        should go last, or not at all while a position is open).
        """
        exec_log.info("[executor] CANCEL_ALL%s %s", " DRY_RUN" if self.dry_run else "", log_json({"symbol": symbol}))
        try:
            resp = self._request("allOpenOrders", self.client.futures_cancel_all_open_orders, {"symbol": symbol})
        except RetryableError as e:
            return CancelResult(CancelOutcome.UNKNOWN, symbol, code=e.code, reason=e.message)
        except ExchangeError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s cancel_all rejected symbol=%s", e.code, e.message, symbol,
                           extra=ORDER_ERR_CHANNEL)
            return CancelResult(CancelOutcome.REJECTED, symbol, code=e.code, reason=e.message)
        outcome = CancelOutcome.DRY_RUN if is_dry(resp) else CancelOutcome.CANCELED
        doc = resp if isinstance(resp, dict) else {}
        return CancelResult(outcome, symbol, code=int_or_none(doc.get("code")), reason=str(doc.get("msg", ""))[:300])


def _proposed(symbol: str, side: Any, quantity: Any, order_type: Any, price: Any, position_side: str | None,
              reduce_only: bool) -> ProposedOrder:
    """The keyword arguments of `prepare_order` as the core's order record (one vocabulary)."""
    return ProposedOrder(str(symbol), str(side).upper(), str(position_side or "").upper(), quantity,
                         None if price is None else price, order_type=str(order_type or "MARKET").upper(),
                         intent=Intent.CLOSE if reduce_only else None)


def _decimal_or_none(value: Any) -> Decimal | None:
    if value is None:
        return None
    d = to_decimal_or_nan(value)
    return d if d.is_finite() and d > 0 else None


def _state_or_none(resp: Any) -> OrderState | None:
    """The order record of a cancel answer; None when the answer cannot be read (the cancel still happened)."""
    try:
        return OrderState.from_api(resp) if isinstance(resp, dict) else None
    except (TypeError, ValueError, ArithmeticError, AttributeError):
        return None


def _maybe_processed(e: ExchangeError) -> bool:
    """Could the exchange have booked a POST that ended in `e`? Timeouts, 5xx, dropped or garbled answers
    (RetryableError that left the process), and failures we cannot classify (no Binance code, no 4xx)."""
    if isinstance(e, RetryableError):
        return e.sent
    return type(e) is ExchangeError and e.code is None and e.sent and (e.status is None or e.status >= 500)


def _same_id(found: Any, ref_id: str) -> bool:
    """The looked-up record is the order we asked about (its clientOrderId / clientAlgoId)."""
    got = getattr(found, "client_order_id", None) or getattr(found, "client_algo_id", None)
    return got in (None, "", ref_id)


def _unreadable(resp: Any, id_key: str, req: Any, ref_id: str, sent: int) -> SubmitResult | None:
    """A 2xx answer to a submit that cannot be read as this order: it was probably booked, so the outcome is
    UNKNOWN (reconcile by the id), never a resend and never an exception. None when the answer is readable."""
    if isinstance(resp, dict) and resp.get(id_key) in (None, ref_id):
        return None
    exec_log.error("[ORDER_ERR] cid=%s unreadable answer %s: outcome UNKNOWN", ref_id, log_json(resp)[:300],
                   extra=ORDER_ERR_CHANNEL)
    return SubmitResult(Outcome.UNKNOWN, ref_id, req, reason="unreadable answer", error_kind="invalid_response",
                        attempts=sent)
