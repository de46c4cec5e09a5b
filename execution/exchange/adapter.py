"""ExchangeAdapter: the one object in Hedge that talks to the exchange.

Every exchange quirk lives here or in its helpers (see docs/EXCHANGE.md for the table):
- quantize price/qty to the symbol's filters and reject locally, with Binance's own codes and messages,
  whatever the exchange would reject (min notional exempt for closing orders, as on Binance);
- hedge mode: positionSide on every order, never reduceOnly (closing = SELL+LONG / BUY+SHORT);
  one-way mode: positionSide BOTH + reduceOnly;
- retries: bounded, exponential backoff with jitter, Retry-After honoured, -1021 -> time re-sync + one
  retry, a weight budget fed by the exchange's X-MBX-* headers, and no call at all during a 418 ban;
- idempotent submission: deterministic newClientOrderId; after a timeout/5xx on submit, query by
  origClientOrderId BEFORE any resend; -4116 duplicate = "already there: fetch it";
- protective orders (STOP_MARKET / TAKE_PROFIT_MARKET on `/fapi/v1/algoOrder`): the same idempotent
  submit keyed by a deterministic clientAlgoId, plus a query before the first send;
- symbol settings: leverage / margin type are read (positionRisk v2) and written only when they differ;
- DRY_RUN: enforced by the client's write gate (see client.py); results say `dry_run`.

Single-threaded by design (one requests.Session); give each thread its own adapter.
"""
from __future__ import annotations

import dataclasses
import logging
import random
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable, Optional

from core.filters import (
    MARKET_ORDER_TYPES,
    SymbolFilters,
    check_order_filters,
    decimal_to_str,
    parse_exchange_info,
    quantize_price,
    quantize_qty,
    to_decimal,
)

from .client import HedgeClient
from .client_ids import is_valid_client_order_id, make_client_algo_id, make_client_order_id
from .errors import (
    DuplicateOrderError,
    ExchangeError,
    InvalidOrderError,
    IpBannedError,
    NoChangeNeededError,
    RateLimitedError,
    RetryableError,
    TimestampError,
    UnknownOrderError,
    classify,
)
from .ratelimit import ENDPOINT_WEIGHTS, RateLimits, WeightBudget, depth_weight, klines_weight
from .records import (
    Balance,
    BookTicker,
    CancelOutcome,
    CancelResult,
    Depth,
    Kline,
    MarkPrice,
    OrderRequest,
    OrderState,
    Outcome,
    PROTECTIVE_KINDS,
    Position,
    ProtectiveCancelResult,
    ProtectiveOrder,
    ProtectiveRequest,
    ProtectiveResult,
    ServerTime,
    SettingResult,
    SubmitResult,
    SymbolConfig,
    SymbolSetup,
    UserTrade,
    dumps,
    margin_type_name,
)
from .retry import RetryPolicy

log = logging.getLogger("hedge.exutil")
exec_log = logging.getLogger("hedge.executor")
# "[ORDER_ERR]" lines belong to the executor's log file whichever process writes them (log_setup routes
# by the `channel` extra first, then by the leading [tag]).
_ORDER_ERR_CHANNEL = {"channel": "executor"}

SUPPORTED_ORDER_TYPES = ("LIMIT", "MARKET")
MARGIN_TYPES = ("CROSSED", "ISOLATED")
WORKING_TYPES = ("MARK_PRICE", "CONTRACT_PRICE")
_OPEN_SIDE = {"BUY": "LONG", "SELL": "SHORT"}  # hedge mode: the leg an opening order adds to
_CLOSE_SIDE = {"SELL": "LONG", "BUY": "SHORT"}  # hedge mode: the leg a closing order reduces


class LocalRejection(InvalidOrderError):
    """An order the adapter refused before sending (same code/message Binance would answer with)."""
    kind = "local_reject"


@dataclass(frozen=True)
class _Posted:
    """What the idempotent POST loop learned: ACCEPTED with the exchange's answer (`response`) or with the
    record a status query found (`found`: recovered); REJECTED / UNKNOWN with the error."""
    outcome: Outcome
    response: Any = None
    found: Any = None
    error: Optional[ExchangeError] = None
    sent: int = 0


class ExchangeAdapter:
    def __init__(
        self,
        client: HedgeClient,
        *,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        rng: Optional[random.Random] = None,
        budget: Optional[WeightBudget] = None,
        exchange_info_ttl_s: float = 3600.0,
    ):
        self.client = client
        self.policy = policy
        self._sleep = sleep
        self._clock_ms = clock_ms
        self._rng = rng or random.Random()
        self.budget = budget or WeightBudget()
        self._filters: dict[str, SymbolFilters] = {}
        self._filters_at_ms = 0
        self._info_ttl_ms = int(exchange_info_ttl_s * 1000)
        self._dual_side: Optional[bool] = None
        self._setup_done: dict[str, tuple[int, str]] = {}
        self._symbol_config: dict[str, SymbolConfig] = {}  # leverage / margin type as last read or set
        self.last_market_time_ms = 0  # newest market-time stamp seen on any market data
        self.requests_sent = 0

    @property
    def dry_run(self) -> bool:
        return self.client.dry_run

    # ================================================================== the request core
    def _now_ms(self) -> int:
        """Local clock corrected to the exchange's wall clock (the clock signatures are checked against)."""
        return self._clock_ms() + int(self.client.timestamp_offset)

    def _request(self, endpoint: str, fn: Callable[..., Any], params: Optional[dict] = None, *,
                 weight: Optional[int] = None, is_order: bool = False, retry_retryable: bool = True) -> Any:
        """One logical call: budget wait, -1021 re-sync (once), Retry-After on 429, backoff for retryables.

        `retry_retryable=False` is for submits: a timeout/5xx there is ambiguous and the caller resolves it
        by querying, never by blind resending. 429 and -1021 are retried even then, because the exchange
        rejected those requests before processing them.
        """
        params = params or {}
        weight = ENDPOINT_WEIGHTS.get(endpoint, 1) if weight is None else weight
        resynced = False
        attempt = 0
        while True:
            attempt += 1
            self._await_budget(weight, is_order)
            self.client.response = None
            self.budget.spend(weight, is_order, self._now_ms())
            try:
                self.requests_sent += 1
                # python-binance mutates the dict it is given (timestamp, signature): pass a fresh copy.
                result = fn(**dict(params))
            except Exception as exc:  # noqa: BLE001 - every failure is mapped to the taxonomy
                self._observe_headers()
                err = classify(exc)
                if isinstance(err, IpBannedError):
                    until = err.until_ms or self._now_ms() + int((err.retry_after or 60) * 1000)
                    self.budget.block(until)
                    log.error("[exutil] IP_BANNED until_ms=%s endpoint=%s: no request until then", until, endpoint)
                    raise err
                if isinstance(err, TimestampError):
                    if resynced:
                        raise err
                    log.warning("[exutil] -1021 on %s: re-syncing time and retrying once", endpoint)
                    self.sync_time()
                    resynced = True
                    attempt -= 1  # the re-sync retry is free: the request was refused, not processed
                    continue
                if isinstance(err, RateLimitedError):
                    wait = err.retry_after if err.retry_after is not None else self.policy.backoff(attempt, self._rng)
                    if wait > self.policy.max_retry_after_s or attempt >= self.policy.max_attempts:
                        raise err
                    log.warning("[exutil] RATE_LIMITED %s code=%s http=%s retry_after=%.3fs attempt=%d",
                                endpoint, err.code, err.status, wait, attempt)
                    self._sleep(wait)
                    continue
                if err.retryable and (retry_retryable or not err.sent) and attempt < self.policy.max_attempts:
                    delay = self.policy.backoff(attempt, self._rng)
                    log.warning("[exutil] RETRY %s attempt=%d/%d in %.3fs: %s", endpoint, attempt,
                                self.policy.max_attempts, delay, err)
                    self._sleep(delay)
                    continue
                raise err
            self._observe_headers()
            return result

    def _observe_headers(self) -> None:
        response = self.client.response
        if response is not None:
            self.budget.observe(response.headers, self._now_ms())

    def _await_budget(self, weight: int, is_order: bool) -> None:
        now = self._now_ms()
        if now < self.budget.blocked_until_ms:
            # Calling during a ban extends it: refuse locally.
            raise IpBannedError(f"IP banned until {self.budget.blocked_until_ms}; not calling",
                                until_ms=self.budget.blocked_until_ms, sent=False)
        wait_ms, why = self.budget.wait_ms(weight, is_order, now)
        if wait_ms > 0:
            log.warning("[exutil] RATE_BUDGET slow down %s: sleeping %.3fs until the window resets", why,
                        wait_ms / 1000)
            self._sleep(wait_ms / 1000)
            self.budget.window_elapsed()  # the window we waited for has rolled; headers will confirm

    # ================================================================== time
    def sync_time(self) -> ServerTime:
        """`GET /fapi/v1/time` -> `client.timestamp_offset` (server minus local, at the round-trip midpoint)."""
        stamps: dict[str, int] = {}

        def timed_call() -> Any:
            # Time only the attempt that answered: retries before it must not skew the midpoint.
            stamps["t0"] = self._clock_ms()
            answer = self.client.futures_time()
            stamps["t1"] = self._clock_ms()
            return answer

        server = int(self._request("time", timed_call)["serverTime"])
        t0, t1 = stamps["t0"], stamps["t1"]
        offset = server - (t0 + t1) // 2
        self.client.timestamp_offset = offset
        log.info("[exutil] TIME_SYNC offset_ms=%d rtt_ms=%d", offset, t1 - t0)
        return ServerTime(server, offset, float(t1 - t0))

    def server_time_ms(self) -> int:
        """The exchange's wall clock (signatures, recvWindow, rate-limit windows). Not market time."""
        return int(self._request("time", self.client.futures_time)["serverTime"])

    def market_time_ms(self, symbol: str) -> int:
        """Market time: the time stamp the exchange puts on market data (premiumIndex `time`).

        On mainnet it equals server time; on the local venue replaying history it is the replay clock.
        Strategies, bars and funding schedules must use this, never the local or server clock.
        """
        return self.mark_price(symbol).time_ms

    def _saw_market_time(self, t_ms: int) -> None:
        if t_ms > self.last_market_time_ms:
            self.last_market_time_ms = t_ms

    # ================================================================== market data
    def exchange_info(self, refresh: bool = False) -> dict[str, SymbolFilters]:
        now = self._clock_ms()
        if refresh or not self._filters or now - self._filters_at_ms > self._info_ttl_ms:
            doc = self._request("exchangeInfo", self.client.futures_exchange_info)
            self._filters = parse_exchange_info(doc)
            self._filters_at_ms = now
            self.budget.limits = RateLimits.from_exchange_info(doc.get("rateLimits", ()), self.budget.limits)
        return self._filters

    def symbol_filters(self, symbol: str) -> SymbolFilters:
        filters = self.exchange_info().get(symbol)
        if filters is None:
            raise LocalRejection("Invalid symbol.", code=-1121, sent=False)
        return filters

    def klines(self, symbol: str, interval: str, limit: int = 500, start_ms: Optional[int] = None,
               end_ms: Optional[int] = None) -> list[Kline]:
        params: dict[str, Any] = {"symbol": symbol, "interval": interval, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        rows = self._request("klines", self.client.futures_klines, params, weight=klines_weight(limit))
        return [Kline.from_api(r) for r in rows]

    def mark_price(self, symbol: str) -> MarkPrice:
        mp = MarkPrice.from_api(self._request("premiumIndex", self.client.futures_mark_price, {"symbol": symbol}))
        self._saw_market_time(mp.time_ms)
        return mp

    def mark_prices(self) -> dict[str, MarkPrice]:
        rows = self._request("premiumIndex:all", self.client.futures_mark_price)
        out = {r["symbol"]: MarkPrice.from_api(r) for r in rows}
        for mp in out.values():
            self._saw_market_time(mp.time_ms)
        return out

    def funding_rates(self, symbol: str, limit: int = 100, start_ms: Optional[int] = None) -> list[dict]:
        params: dict[str, Any] = {"symbol": symbol, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        rows = self._request("fundingRate", self.client.futures_funding_rate, params)
        return [{"symbol": r.get("symbol", symbol), "funding_time_ms": int(r["fundingTime"]),
                 "funding_rate": to_decimal(r["fundingRate"])} for r in rows]

    def book_ticker(self, symbol: str) -> BookTicker:
        bt = BookTicker.from_api(self._request("bookTicker", self.client.futures_orderbook_ticker, {"symbol": symbol}))
        self._saw_market_time(bt.time_ms)
        return bt

    def depth(self, symbol: str, limit: int = 20) -> Depth:
        d = Depth.from_api(self._request("depth", self.client.futures_order_book, {"symbol": symbol, "limit": limit},
                                         weight=depth_weight(limit)))
        self._saw_market_time(d.time_ms)
        return d

    # ================================================================== account (reads)
    def balances(self) -> list[Balance]:
        return [Balance.from_api(b) for b in self._request("balance", self.client.futures_account_balance)]

    def balance(self, asset: str = "USDT") -> Optional[Balance]:
        return next((b for b in self.balances() if b.asset == asset), None)

    def positions(self, symbol: Optional[str] = None, include_flat: bool = False,
                  with_settings: bool = False) -> list[Position]:
        """Position legs. Hedge mode: LONG and SHORT legs are separate records (SHORT amounts negative).

        Reads positionRisk v3, which has no `leverage` / `marginType`: those are filled from the symbol
        settings this adapter last read or set (None when it knows nothing). `with_settings=True` reads
        positionRisk v2 instead (same weight), which carries both for every leg, and refreshes that cache.
        """
        params: dict[str, Any] = {"symbol": symbol} if symbol else {}
        if with_settings:
            rows = self._request("positionRisk:v2", self.client.futures_position_information,
                                 {**params, "version": 2})
            self._learn_symbol_config(rows)
        else:
            rows = self._request("positionRisk", self.client.futures_position_information, params)
        legs = [self._with_settings(Position.from_api(r)) for r in rows]
        return legs if include_flat else [p for p in legs if not p.is_flat]

    def _with_settings(self, p: Position) -> Position:
        cfg = self._symbol_config.get(p.symbol)
        if cfg is None or (p.leverage is not None and p.margin_type is not None):
            return p
        return dataclasses.replace(p, leverage=p.leverage if p.leverage is not None else cfg.leverage,
                                   margin_type=p.margin_type or cfg.margin_type)

    def _learn_symbol_config(self, rows: Iterable[Any]) -> None:
        for sym in {r.get("symbol") for r in rows or () if r.get("symbol")}:
            cfg = SymbolConfig.from_position_rows(sym, rows)
            if cfg.leverage is not None:
                self._symbol_config[sym] = cfg

    def symbol_config(self, symbol: str, refresh: bool = False) -> SymbolConfig:
        """The symbol's leverage and margin type as the exchange has them.

        `GET /fapi/v2/positionRisk?symbol=` (weight 5): v3 dropped `leverage` and `marginType`, v2 lists every
        leg of the symbol, flat ones included, with both. (`/fapi/v1/symbolConfig` has them too, but the
        local venue does not serve it.) Cached until `refresh` or a setting write changes it.
        """
        cached = self._symbol_config.get(symbol)
        if cached is not None and not refresh:
            return cached
        rows = self._request("positionRisk:v2", self.client.futures_position_information,
                             {"symbol": symbol, "version": 2})
        cfg = SymbolConfig.from_position_rows(symbol, rows)
        if cfg.leverage is not None:
            self._symbol_config[symbol] = cfg
        return cfg

    def _remember_setting(self, symbol: str, leverage: Optional[int] = None, margin_type: Optional[str] = None) -> None:
        """A setting write succeeded: update the cached config (only when the other setting is known too)."""
        old = self._symbol_config.get(symbol)
        if old is not None:
            self._symbol_config[symbol] = SymbolConfig(symbol, leverage if leverage is not None else old.leverage,
                                                       margin_type or old.margin_type)

    def open_orders(self, symbol: Optional[str] = None) -> list[OrderState]:
        params = {"symbol": symbol} if symbol else {}
        rows = self._request("openOrders" if symbol else "openOrders:all", self.client.futures_get_open_orders, params)
        return [OrderState.from_api(r) for r in rows]

    def get_order(self, symbol: str, client_order_id: Optional[str] = None,
                  order_id: Optional[int] = None) -> Optional[OrderState]:
        """Order status by clientOrderId (or orderId); None when the exchange does not know it (-2013)."""
        params = _order_ref(symbol, client_order_id, order_id)
        try:
            return OrderState.from_api(self._request("order:get", self.client.futures_get_order, params))
        except UnknownOrderError:
            return None

    def user_trades(self, symbol: str, start_ms: Optional[int] = None, end_ms: Optional[int] = None,
                    limit: int = 500, from_id: Optional[int] = None) -> list[UserTrade]:
        params: dict[str, Any] = {"symbol": symbol, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        if from_id is not None:
            params["fromId"] = from_id
        return [UserTrade.from_api(t) for t in self._request("userTrades", self.client.futures_account_trades, params)]

    def get_position_mode(self, refresh: bool = False) -> bool:
        """True = hedge mode (dualSidePosition). Cached: it changes only through set_position_mode."""
        if self._dual_side is None or refresh:
            doc = self._request("positionSide:get", self.client.futures_get_position_mode)
            self._dual_side = _truthy(doc.get("dualSidePosition"))
        return self._dual_side

    # ================================================================== settings (writes)
    def set_position_mode(self, dual_side: bool) -> SettingResult:
        value = "true" if dual_side else "false"  # Binance wants lower-case; python-binance would send "True"
        try:
            resp = self._request("positionSide:post", self.client.futures_change_position_mode,
                                 {"dualSidePosition": value})
        except NoChangeNeededError as e:  # -4059
            self._dual_side = dual_side
            return SettingResult("position_mode", None, value, changed=False, reason=e.message)
        if _is_dry(resp):
            return SettingResult("position_mode", None, value, changed=False, dry_run=True, reason="DRY_RUN")
        self._dual_side = dual_side
        return SettingResult("position_mode", None, value, changed=True)

    def set_leverage(self, symbol: str, leverage: int) -> SettingResult:
        if not 1 <= int(leverage) <= 125:
            raise LocalRejection(f"Leverage {leverage} is not valid", code=-4028, sent=False)
        resp = self._request("leverage", self.client.futures_change_leverage,
                             {"symbol": symbol, "leverage": int(leverage)})
        if _is_dry(resp):
            return SettingResult("leverage", symbol, str(leverage), changed=False, dry_run=True, reason="DRY_RUN")
        value = int(resp.get("leverage", leverage))
        self._remember_setting(symbol, leverage=value)
        return SettingResult("leverage", symbol, str(value), changed=True)

    def set_margin_type(self, symbol: str, margin_type: str) -> SettingResult:
        mt = _margin_type(margin_type)
        try:
            resp = self._request("marginType", self.client.futures_change_margin_type,
                                 {"symbol": symbol, "marginType": mt})
        except NoChangeNeededError as e:  # -4046 "No need to change margin type."
            self._remember_setting(symbol, margin_type=mt)
            return SettingResult("margin_type", symbol, mt, changed=False, reason=e.message)
        if _is_dry(resp):
            return SettingResult("margin_type", symbol, mt, changed=False, dry_run=True, reason="DRY_RUN")
        self._remember_setting(symbol, margin_type=mt)
        return SettingResult("margin_type", symbol, mt, changed=True)

    def ensure_symbol_setup(self, symbol: str, leverage: int, margin_type: str = "CROSSED") -> SymbolSetup:
        """Make the symbol's margin type and leverage what we want, sending a write only for what differs.

        Once per symbol per process: the current values are read (`symbol_config`, positionRisk v2, one
        request of weight 5); the margin type is written first (it fails while orders are open) and only if
        it differs, then the leverage, only if it differs. A repeat call with the same values sends nothing
        at all. If the read fails, both writes are sent as before (they are idempotent on the exchange:
        -4046 "No need to change margin type." is success). A different leverage/margin type for the same
        symbol applies again.
        """
        mt = _margin_type(margin_type)
        lev = int(leverage)
        if not 1 <= lev <= 125:
            raise LocalRejection(f"Leverage {leverage} is not valid", code=-4028, sent=False)
        wanted = (lev, mt)
        if self._setup_done.get(symbol) == wanted:
            note = "already set up in this process"
            return SymbolSetup(symbol, SettingResult("leverage", symbol, str(lev), False, self.dry_run, note),
                               SettingResult("margin_type", symbol, mt, False, self.dry_run, note))
        try:
            current = self.symbol_config(symbol, refresh=True)
        except ExchangeError as e:  # cannot read: write both (idempotent on the exchange)
            log.warning("[exutil] SYMBOL_SETUP %s cannot read the current settings (%s): writing both", symbol, e)
            current = SymbolConfig(symbol, None, None)
        if current.margin_type == mt:
            margin = SettingResult("margin_type", symbol, mt, changed=False, reason=f"already {mt} on the exchange")
        else:
            margin = self.set_margin_type(symbol, mt)  # margin type first: it fails if orders are open
        if current.leverage == lev:
            lev_r = SettingResult("leverage", symbol, str(lev), changed=False, reason=f"already {lev}x on the exchange")
        else:
            lev_r = self.set_leverage(symbol, lev)
        self._setup_done[symbol] = wanted
        log.info("[exutil] SYMBOL_SETUP %s leverage=%s margin_type=%s was=%s/%s changed=%s/%s dry_run=%s", symbol,
                 lev, mt, current.leverage, current.margin_type, lev_r.changed, margin.changed, self.dry_run)
        return SymbolSetup(symbol, lev_r, margin)

    # ================================================================== orders
    def prepare_order(self, symbol: str, side: str, quantity: Any, *, order_type: str = "MARKET",
                      price: Any = None, position_side: Optional[str] = None, reduce_only: bool = False,
                      time_in_force: Optional[str] = None, client_order_id: Optional[str] = None,
                      intent_id: Optional[str] = None, slice_index: int = 0, ref_price: Any = None,
                      mark_price: Any = None) -> OrderRequest:
        """Quantize, apply the position-mode rules and the filters; the wire params, or LocalRejection.

        `reduce_only` is the caller's *intent* ("this closes/reduces"). In hedge mode it selects the leg
        (SELL closes LONG, BUY closes SHORT) and is never sent; in one-way mode it is sent as reduceOnly.
        `ref_price` is the price the caller sized with; MARKET orders use it for the min-notional check
        (otherwise the mark price is fetched; closing orders are exempt and skip that). `mark_price`, when
        given, also enables the PERCENT_PRICE check of a LIMIT price.
        """
        side_u = str(side).upper()
        otype = str(order_type).upper()
        if side_u not in ("BUY", "SELL"):
            raise LocalRejection("Invalid side.", code=-1117, sent=False)
        if otype not in SUPPORTED_ORDER_TYPES:
            # Conditional types live on /fapi/v1/algoOrder: place_protective_order (STOP_/TAKE_PROFIT_MARKET).
            raise LocalRejection("Invalid orderType.", code=-1116, sent=False)
        filters = self.symbol_filters(symbol)

        cid = client_order_id or (make_client_order_id(intent_id, slice_index) if intent_id
                                  else f"hg-adhoc-{uuid.uuid4().hex[:24]}")
        if not is_valid_client_order_id(cid):
            raise LocalRejection("Client order id is not valid.", code=-4015, sent=False)

        dual = self.get_position_mode()
        ps_in = position_side.upper() if position_side else None
        if dual:
            ps = ps_in or (_CLOSE_SIDE if reduce_only else _OPEN_SIDE)[side_u]
            if ps not in ("LONG", "SHORT"):
                raise LocalRejection("Order's position side does not match user's setting.", code=-4061, sent=False)
            closing = _CLOSE_SIDE[side_u] == ps
            if reduce_only and not closing:
                raise LocalRejection(f"ReduceOnly Order is rejected. ({side_u} {ps} would increase the leg)",
                                     code=-2022, sent=False)
        else:
            if ps_in not in (None, "BOTH"):
                raise LocalRejection("Order's position side does not match user's setting.", code=-4061, sent=False)
            ps, closing = "BOTH", bool(reduce_only)

        market = otype in MARKET_ORDER_TYPES
        qty = quantize_qty(quantity, filters, market=market)
        if qty <= 0 < to_decimal(quantity):  # floored to nothing: say why, not "quantity <= 0"
            raise LocalRejection("Quantity less than min quantity.", code=-4004, sent=False)
        px: Optional[Decimal] = None
        if not market:
            if price is None:
                raise LocalRejection("Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
                                     code=-1102, sent=False)
            px = quantize_price(price, filters, side_u)
        if filters.status != "TRADING" and not closing:
            raise LocalRejection("Invalid symbol status for opening position", code=-4140, sent=False)

        mark = to_decimal(mark_price) if mark_price is not None else None
        if market:
            mark = to_decimal(ref_price) if ref_price is not None else mark
            if mark is None and not closing and filters.min_notional > 0 and qty > 0:
                mark = self.mark_price(symbol).mark_price
        violations = check_order_filters(filters, side_u, qty, px, order_type=otype, reduce_only=closing,
                                         mark_price=mark)
        if violations:
            first = violations[0]
            err = LocalRejection(first.reason, code=first.code, sent=False)
            err.violations = violations  # type: ignore[attr-defined]
            raise err

        params: dict[str, str] = {
            "symbol": symbol, "side": side_u, "type": otype, "quantity": decimal_to_str(qty),
            "positionSide": ps, "newClientOrderId": cid, "newOrderRespType": "RESULT",
        }
        if px is not None:
            params["price"] = decimal_to_str(px)
            params["timeInForce"] = (time_in_force or "GTC").upper()
        if not dual and reduce_only:
            params["reduceOnly"] = "true"  # one-way only; in hedge mode Binance answers -1106
        return OrderRequest(symbol, side_u, otype, qty, px, ps, bool(reduce_only or closing), cid, params)

    def place_order(self, symbol: str, side: str, quantity: Any, **kwargs: Any) -> SubmitResult:
        """Prepare (quantize + local checks) and submit. Never raises for an order outcome: see SubmitResult.

        Keyword arguments are those of `prepare_order`. Pass `intent_id` (+ `slice_index`) so the
        clientOrderId is deterministic and a retry after a crash finds the same order.
        """
        try:
            req = self.prepare_order(symbol, side, quantity, **kwargs)
        except ExchangeError as e:  # a local rejection, or a read it needed failed: nothing was sent
            intent = kwargs.get("intent_id")
            cid = kwargs.get("client_order_id") or (
                make_client_order_id(intent, kwargs.get("slice_index", 0)) if intent else "")
            exec_log.warning("[ORDER_ERR] code=%s msg=%s local=True symbol=%s side=%s qty=%s cid=%s",
                             e.code, e.message, symbol, side, quantity, cid, extra=_ORDER_ERR_CHANNEL)
            return SubmitResult(Outcome.REJECTED, cid, None, code=e.code, reason=e.message, error_kind=e.kind,
                                local=True)
        return self.submit(req)

    def close_position(self, symbol: str, position_side: str, quantity: Any, **kwargs: Any) -> SubmitResult:
        """Close (part of) a leg. Hedge: LONG -> SELL+LONG, SHORT -> BUY+SHORT, no reduceOnly sent.
        One-way: pass position_side LONG/SHORT as the direction being closed; sent as BOTH + reduceOnly."""
        ps = position_side.upper()
        if ps not in ("LONG", "SHORT"):
            raise ValueError("position_side must be LONG or SHORT")
        side = "SELL" if ps == "LONG" else "BUY"
        leg = ps if self.get_position_mode() else None
        return self.place_order(symbol, side, quantity, position_side=leg, reduce_only=True, **kwargs)

    def submit(self, req: OrderRequest) -> SubmitResult:
        """Send a prepared order so that an ambiguous outcome can never become two orders.

        After a timeout/5xx/garbled answer we query by origClientOrderId before any resend: found ->
        accepted; "does not exist" -> resend with the SAME id (a late original then collides as -4116,
        which we resolve by fetching it); query itself failing -> UNKNOWN, never a blind resend.
        """
        params = dict(req.params)
        marker = " DRY_RUN" if self.dry_run else ""
        exec_log.info("[executor] SEND_ORDER%s %s", marker, dumps(params))
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
        order = OrderState.from_api(resp)
        if _is_dry(resp):
            return SubmitResult(Outcome.DRY_RUN, req.client_order_id, req, order, attempts=0)
        status = self.client.response.status_code if self.client.response is not None else 200
        exec_log.info("[executor] ORDER_REQ /fapi/v1/order %s %s", status, dumps(resp))
        return SubmitResult(Outcome.ACCEPTED, req.client_order_id, req, order, attempts=posted.sent)

    def _post_idempotent(self, endpoint: str, call: Callable[..., Any], params: dict, ref_id: str,
                         lookup: Callable[[], Any], *, id_name: str, tag: str) -> _Posted:
        """The submit state machine shared by orders and protective (algo) orders.

        POST; on a timeout / 5xx / dropped or garbled answer, wait one backoff and look the id up BEFORE any
        resend: found -> ACCEPTED (recovered); not there -> resend with the same id; lookup failing ->
        UNKNOWN. -4116 (duplicate id) -> look it up. 429/418/-1021 and connect failures were not processed:
        REJECTED. Any other exchange error is final: REJECTED.
        """
        sent = 0
        last: Optional[ExchangeError] = None
        for round_no in range(1, self.policy.max_attempts + 1):
            sent += 1
            try:
                resp = self._request(endpoint, call, params, is_order=True, retry_retryable=False)
            except DuplicateOrderError as e:  # -4116: an earlier send of this id landed
                try:
                    found = lookup()
                except ExchangeError as qe:
                    exec_log.error("[ORDER_ERR] cid=%s -4116 but the status query failed (%s): outcome UNKNOWN",
                                   ref_id, qe, extra=_ORDER_ERR_CHANNEL)
                    return _Posted(Outcome.UNKNOWN, error=e, sent=sent)
                if found is not None:
                    exec_log.info("[executor] %s_RECOVERED -4116 cid=%s status=%s", tag, ref_id, found.status)
                    return _Posted(Outcome.ACCEPTED, found=found, sent=sent)
                return _Posted(Outcome.UNKNOWN, error=e, sent=sent)
            except (RateLimitedError, TimestampError) as e:
                # Refused before processing (429/418/-1021), already retried inside _request: not placed.
                return _Posted(Outcome.REJECTED, error=e, sent=sent)
            except RetryableError as e:
                if not e.sent:  # provably never left the process (and _request retried it): not placed
                    return _Posted(Outcome.REJECTED, error=e, sent=sent)
                last = e
                exec_log.warning("[ORDER_ERR] code=%s msg=%s cid=%s outcome unknown; querying %s before any "
                                 "resend", e.code, e.message, ref_id, id_name, extra=_ORDER_ERR_CHANNEL)
                self._sleep(self.policy.backoff(round_no, self._rng))
                try:
                    found = lookup()
                except ExchangeError as qe:
                    exec_log.error("[ORDER_ERR] cid=%s status query failed (%s): outcome UNKNOWN, not resending",
                                   ref_id, qe, extra=_ORDER_ERR_CHANNEL)
                    return _Posted(Outcome.UNKNOWN, error=e, sent=sent)
                if found is not None:
                    exec_log.info("[executor] %s_RECOVERED cid=%s status=%s after %s", tag, ref_id, found.status,
                                  e.kind)
                    return _Posted(Outcome.ACCEPTED, found=found, sent=sent)
                continue  # the exchange does not have it: resend with the same id
            except ExchangeError as e:  # invalid order, margin, auth, ...: final
                return _Posted(Outcome.REJECTED, error=e, sent=sent)
            return _Posted(Outcome.ACCEPTED, response=resp, sent=sent)
        assert last is not None
        return _Posted(Outcome.UNKNOWN, error=last, sent=sent)

    def _lookup(self, symbol: str, client_order_id: str) -> Optional[OrderState]:
        return self.get_order(symbol, client_order_id=client_order_id)

    def _order_err(self, req: OrderRequest, e: ExchangeError, sent: int, outcome: Outcome) -> SubmitResult:
        exec_log.error("[ORDER_ERR] code=%s msg=%s kind=%s outcome=%s symbol=%s cid=%s", e.code, e.message, e.kind,
                       outcome.value, req.symbol, req.client_order_id, extra=_ORDER_ERR_CHANNEL)
        return SubmitResult(outcome, req.client_order_id, req, code=e.code, reason=e.message, error_kind=e.kind,
                            attempts=sent)

    def cancel_order(self, symbol: str, client_order_id: Optional[str] = None,
                     order_id: Optional[int] = None) -> CancelResult:
        """Cancel one order. A resent cancel is harmless (the second gets -2011), so retryables are retried;
        -2011/-2013 -> NOT_OPEN with the order's final state when the exchange still knows it."""
        params = _order_ref(symbol, client_order_id, order_id)
        exec_log.info("[executor] CANCEL_ORDER%s %s", " DRY_RUN" if self.dry_run else "", dumps(params))
        outcome, resp, err = self._cancel("order:delete", self.client.futures_cancel_order, params, "cancel",
                                          client_order_id)
        if outcome is CancelOutcome.NOT_OPEN:
            state = self._final_state(lambda: self.get_order(symbol, client_order_id, order_id))
            return CancelResult(outcome, symbol, client_order_id, order_id, state, err.code, err.message)
        if err is not None:
            return CancelResult(outcome, symbol, client_order_id, order_id, None, err.code, err.message)
        return CancelResult(outcome, symbol, client_order_id, order_id, OrderState.from_api(resp))

    def _cancel(self, endpoint: str, fn: Callable[..., Any], params: dict, what: str,
                client_id: Optional[str]) -> tuple[CancelOutcome, Any, Optional[ExchangeError]]:
        """One cancel call mapped to its outcome. A resent cancel is harmless, so retryables are retried by
        `_request`; unknown order -> NOT_OPEN, still retryable after the retries -> UNKNOWN, else REJECTED."""
        try:
            resp = self._request(endpoint, fn, params)
        except UnknownOrderError as e:
            return CancelOutcome.NOT_OPEN, None, e
        except RetryableError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s %s outcome UNKNOWN cid=%s", e.code, e.message, what,
                           client_id, extra=_ORDER_ERR_CHANNEL)
            return CancelOutcome.UNKNOWN, None, e
        except ExchangeError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s %s rejected cid=%s", e.code, e.message, what, client_id,
                           extra=_ORDER_ERR_CHANNEL)
            return CancelOutcome.REJECTED, None, e
        return (CancelOutcome.DRY_RUN if _is_dry(resp) else CancelOutcome.CANCELED), resp, None

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
        exec_log.info("[executor] CANCEL_ALL%s %s", " DRY_RUN" if self.dry_run else "", dumps({"symbol": symbol}))
        try:
            resp = self._request("allOpenOrders", self.client.futures_cancel_all_open_orders, {"symbol": symbol})
        except RetryableError as e:
            return CancelResult(CancelOutcome.UNKNOWN, symbol, code=e.code, reason=e.message)
        except ExchangeError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s cancel_all rejected symbol=%s", e.code, e.message, symbol,
                           extra=_ORDER_ERR_CHANNEL)
            return CancelResult(CancelOutcome.REJECTED, symbol, code=e.code, reason=e.message)
        outcome = CancelOutcome.DRY_RUN if _is_dry(resp) else CancelOutcome.CANCELED
        return CancelResult(outcome, symbol, code=resp.get("code"), reason=str(resp.get("msg", "")))

    # ================================================================== protective (conditional) orders
    def prepare_protective_order(self, symbol: str, position_side: str, kind: str, trigger_price: Any,
                                 quantity: Any = None, *, close_position: Optional[bool] = None,
                                 working_type: str = "MARK_PRICE", intent_id: Optional[str] = None,
                                 revision: int = 0, client_algo_id: Optional[str] = None,
                                 price_protect: bool = False) -> ProtectiveRequest:
        """Quantize and check a protective order; the `/fapi/v1/algoOrder` wire params, or LocalRejection.

        - `position_side` is the leg protected: LONG -> a SELL order, SHORT -> a BUY order.
        - `kind`: STOP_MARKET (stop loss) or TAKE_PROFIT_MARKET.
        - Either `quantity` (rounded down to MARKET_LOT_SIZE; closing, so exempt from min notional) or
          `close_position=True` (the whole leg at trigger time; the default when no quantity is given).
        - The trigger is put on the tick grid toward the market, so it never fires later than asked: a LONG
          leg's stop rounds up and its take-profit down, a SHORT leg's stop rounds down and its take-profit up.
        - Hedge mode: positionSide = the leg, never reduceOnly (-1106). One-way: positionSide BOTH, and
          reduceOnly=true with a quantity (never together with closePosition).
        - clientAlgoId = `make_client_algo_id(intent_id, kind, revision)` (deterministic) unless given.
        """
        kind_u = str(kind).upper()
        if kind_u not in PROTECTIVE_KINDS:
            raise LocalRejection("Invalid orderType.", code=-1116, sent=False)
        leg = str(position_side or "").upper()
        if leg not in ("LONG", "SHORT"):
            raise LocalRejection("Order's position side does not match user's setting.", code=-4061, sent=False)
        wt = str(working_type).upper()
        if wt not in WORKING_TYPES:
            raise LocalRejection("Data sent for parameter 'workingType' is not valid.", code=-1130, sent=False)
        filters = self.symbol_filters(symbol)
        cid = client_algo_id or (make_client_algo_id(intent_id, kind_u, revision) if intent_id
                                 else f"hp-adhoc-{uuid.uuid4().hex[:24]}")
        if not is_valid_client_order_id(cid):
            raise LocalRejection("Client order id is not valid.", code=-4015, sent=False)
        close = (quantity is None) if close_position is None else bool(close_position)
        if close and quantity is not None:
            raise LocalRejection("Quantity must be zero with closePosition equals true", code=-4137, sent=False)
        if not close and quantity is None:
            raise LocalRejection("Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
                                 code=-1102, sent=False)
        side = "SELL" if leg == "LONG" else "BUY"

        raw_trigger = to_decimal(trigger_price)
        if not raw_trigger.is_finite() or raw_trigger <= 0:
            raise LocalRejection("Stop price less than zero.", code=-4006, sent=False)
        round_up = (kind_u == "STOP_MARKET") == (leg == "LONG")  # toward the market: never fire later
        trigger = quantize_price(raw_trigger, filters, "SELL" if round_up else "BUY")  # SELL = up, BUY = down
        if trigger <= 0 or (filters.min_price > 0 and trigger < filters.min_price):
            raise LocalRejection("Price less than min price.", code=-4013, sent=False)
        if filters.max_price > 0 and trigger > filters.max_price:
            raise LocalRejection("Price greater than max price.", code=-4002, sent=False)

        qty: Optional[Decimal] = None
        if not close:
            qty = quantize_qty(quantity, filters, market=True)
            if qty <= 0 < to_decimal(quantity):
                raise LocalRejection("Quantity less than min quantity.", code=-4004, sent=False)
            violations = check_order_filters(filters, side, qty, None, order_type=kind_u, reduce_only=True)
            if violations:
                err = LocalRejection(violations[0].reason, code=violations[0].code, sent=False)
                err.violations = violations  # type: ignore[attr-defined]
                raise err

        dual = self.get_position_mode()
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

    def place_protective_order(self, symbol: str, position_side: str, kind: str, trigger_price: Any,
                               quantity: Any = None, *, pre_check: bool = True, **kwargs: Any) -> ProtectiveResult:
        """Prepare and submit a protective order. Never raises for an outcome: see ProtectiveResult.

        Keyword arguments are those of `prepare_protective_order` (`close_position`, `working_type`,
        `intent_id`, `revision`, `client_algo_id`, `price_protect`). Pass `intent_id`: the clientAlgoId is
        then deterministic and one intent can never get two protective orders of one kind.
        """
        try:
            req = self.prepare_protective_order(symbol, position_side, kind, trigger_price, quantity, **kwargs)
        except ExchangeError as e:
            intent = kwargs.get("intent_id")
            cid = kwargs.get("client_algo_id") or ""
            if not cid and intent and str(kind).upper() in PROTECTIVE_KINDS:
                cid = make_client_algo_id(intent, str(kind).upper(), kwargs.get("revision", 0))
            exec_log.warning("[ORDER_ERR] code=%s msg=%s local=True protective symbol=%s leg=%s kind=%s trigger=%s "
                             "cid=%s", e.code, e.message, symbol, position_side, kind, trigger_price, cid,
                             extra=_ORDER_ERR_CHANNEL)
            return ProtectiveResult(Outcome.REJECTED, cid, None, code=e.code, reason=e.message, error_kind=e.kind,
                                    local=True)
        return self.submit_protective(req, pre_check=pre_check)

    def submit_protective(self, req: ProtectiveRequest, *, pre_check: bool = True) -> ProtectiveResult:
        """Send a prepared protective order so that one clientAlgoId can never become two algo orders.

        `pre_check`: look the clientAlgoId up first (one GET, weight 1) and, if the exchange already has it in
        any state (waiting, fired, cancelled), return that order instead of sending. -4116 only guards ids of
        *open* algo orders, so without this a restarted executor would place a second stop for an intent whose
        first one already fired or was cancelled. Moving a stop on purpose = cancel, then `revision + 1`.
        Skipped in DRY_RUN (nothing is sent anyway). Then the same state machine as orders: after a timeout /
        5xx, query by clientAlgoId before any resend.
        """
        params = dict(req.params)
        marker = " DRY_RUN" if self.dry_run else ""
        exec_log.info("[executor] SEND_PROTECTIVE%s %s", marker, dumps(params))
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
        order = ProtectiveOrder.from_api(resp)
        if _is_dry(resp):
            return ProtectiveResult(Outcome.DRY_RUN, req.client_algo_id, req, order, attempts=0)
        status = self.client.response.status_code if self.client.response is not None else 200
        exec_log.info("[executor] PROTECTIVE_REQ /fapi/v1/algoOrder %s %s", status, dumps(resp))
        return ProtectiveResult(Outcome.ACCEPTED, req.client_algo_id, req, order, attempts=posted.sent)

    def _protective_found(self, req: ProtectiveRequest, found: ProtectiveOrder, sent: int) -> ProtectiveResult:
        """The exchange already holds this clientAlgoId. It is our order unless it protects something else."""
        if (found.kind, found.side) != (req.kind, req.side):
            reason = (f"clientAlgoId {req.client_algo_id} already belongs to {found.kind} {found.side} "
                      f"{found.position_side} (algoId {found.algo_id}); not sending")
            exec_log.error("[ORDER_ERR] code=-4116 msg=%s", reason, extra=_ORDER_ERR_CHANNEL)
            return ProtectiveResult(Outcome.REJECTED, req.client_algo_id, req, found, code=-4116, reason=reason,
                                    error_kind="duplicate_order", attempts=sent)
        return ProtectiveResult(Outcome.ACCEPTED, req.client_algo_id, req, found, attempts=sent, recovered=True)

    def _protective_err(self, req: ProtectiveRequest, e: ExchangeError, sent: int,
                        outcome: Outcome) -> ProtectiveResult:
        exec_log.error("[ORDER_ERR] code=%s msg=%s kind=%s outcome=%s protective symbol=%s cid=%s", e.code,
                       e.message, e.kind, outcome.value, req.symbol, req.client_algo_id, extra=_ORDER_ERR_CHANNEL)
        return ProtectiveResult(outcome, req.client_algo_id, req, code=e.code, reason=e.message, error_kind=e.kind,
                                attempts=sent)

    def get_protective_order(self, symbol: str, client_algo_id: Optional[str] = None,
                             algo_id: Optional[int] = None) -> Optional[ProtectiveOrder]:
        """A protective order by clientAlgoId (or algoId): `GET /fapi/v1/algoOrder`. None when the exchange
        does not know it (-2013) or it belongs to another symbol (the query takes no symbol; ids are
        account-wide). Binance forgets cancelled/expired algo orders without fills after 3 days."""
        try:
            doc = self._request("algoOrder:get", self.client.futures_get_algo_order, _algo_ref(client_algo_id, algo_id))
        except UnknownOrderError:
            return None
        order = ProtectiveOrder.from_api(doc)
        return order if order.symbol == symbol else None

    def open_protective_orders(self, symbol: Optional[str] = None) -> list[ProtectiveOrder]:
        """Protective orders waiting for their trigger: `GET /fapi/v1/openAlgoOrders` (weight 1, 40 for all)."""
        params = {"symbol": symbol} if symbol else {}
        rows = self._request("openAlgoOrders" if symbol else "openAlgoOrders:all",
                             self.client.futures_get_open_algo_orders, params)
        return [ProtectiveOrder.from_api(r) for r in rows]

    def cancel_protective_order(self, symbol: str, client_algo_id: Optional[str] = None,
                                algo_id: Optional[int] = None) -> ProtectiveCancelResult:
        """Cancel one protective order (`DELETE /fapi/v1/algoOrder`). A resent cancel is harmless, so
        retryables are retried; -2011/-2013 -> NOT_OPEN with the order's final state (e.g. FINISHED: it fired).
        The endpoint takes no symbol: the id alone names the order (`symbol` is for the result and the logs)."""
        ref = _algo_ref(client_algo_id, algo_id)
        exec_log.info("[executor] CANCEL_PROTECTIVE%s %s", " DRY_RUN" if self.dry_run else "",
                      dumps({"symbol": symbol, **ref}))
        outcome, resp, err = self._cancel("algoOrder:delete", self.client.futures_cancel_algo_order, ref,
                                          "protective cancel", client_algo_id)
        if outcome is CancelOutcome.NOT_OPEN:
            state = self._final_state(lambda: self.get_protective_order(symbol, client_algo_id, algo_id))
            return ProtectiveCancelResult(outcome, symbol, client_algo_id,
                                          algo_id if algo_id is not None else (state.algo_id if state else None),
                                          state, err.code, err.message)
        if err is not None:
            return ProtectiveCancelResult(outcome, symbol, client_algo_id, algo_id, None, err.code, err.message)
        aid = algo_id if algo_id is not None else (int(resp.get("algoId") or 0) or None)
        return ProtectiveCancelResult(outcome, symbol, resp.get("clientAlgoId") or client_algo_id, aid, None,
                                      reason=str(resp.get("msg", "")))

    def cancel_all_protective(self, symbol: str) -> CancelResult:
        """Cancel every protective (conditional) order of `symbol` that is waiting for its trigger:
        `DELETE /fapi/v1/algoOpenOrders`. Regular orders are untouched (that is `cancel_all`)."""
        exec_log.info("[executor] CANCEL_ALL_PROTECTIVE%s %s", " DRY_RUN" if self.dry_run else "",
                      dumps({"symbol": symbol}))
        try:
            resp = self._request("algoOpenOrders:delete", self.client.futures_cancel_all_algo_open_orders,
                                 {"symbol": symbol})
        except RetryableError as e:
            return CancelResult(CancelOutcome.UNKNOWN, symbol, code=e.code, reason=e.message)
        except ExchangeError as e:
            exec_log.error("[ORDER_ERR] code=%s msg=%s cancel_all_protective rejected symbol=%s", e.code, e.message,
                           symbol, extra=_ORDER_ERR_CHANNEL)
            return CancelResult(CancelOutcome.REJECTED, symbol, code=e.code, reason=e.message)
        outcome = CancelOutcome.DRY_RUN if _is_dry(resp) else CancelOutcome.CANCELED
        return CancelResult(outcome, symbol, code=_int_or_none(resp.get("code")), reason=str(resp.get("msg", "")))


def _order_ref(symbol: str, client_order_id: Optional[str], order_id: Optional[int]) -> dict[str, Any]:
    """How Binance names one order: origClientOrderId (ours, deterministic) or the exchange's orderId."""
    if not client_order_id and order_id is None:
        raise ValueError("client_order_id or order_id is required")
    if client_order_id:
        return {"symbol": symbol, "origClientOrderId": client_order_id}
    return {"symbol": symbol, "orderId": order_id}


def _algo_ref(client_algo_id: Optional[str], algo_id: Optional[int]) -> dict[str, Any]:
    """How Binance names one algo order: clientAlgoId (ours, deterministic) or algoId. No symbol: the algo
    query/cancel endpoints do not take one."""
    if not client_algo_id and algo_id is None:
        raise ValueError("client_algo_id or algo_id is required")
    return {"clientAlgoId": client_algo_id} if client_algo_id else {"algoId": int(algo_id)}  # type: ignore[arg-type]


def _int_or_none(value: Any) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _truthy(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def _is_dry(resp: Any) -> bool:
    return isinstance(resp, dict) and resp.get("dryRun") is True


def _margin_type(margin_type: str) -> str:
    mt = margin_type_name(margin_type)
    if mt not in MARGIN_TYPES:
        raise ValueError(f"margin_type must be CROSSED or ISOLATED, got {margin_type!r}")
    return mt


def iter_legs(positions: Iterable[Position], symbol: str) -> dict[str, Position]:
    """{LONG: leg, SHORT: leg} for one symbol (hedge mode)."""
    return {p.position_side: p for p in positions if p.symbol == symbol}
