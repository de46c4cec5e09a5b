"""The adapter's reads (market data, account, orders' state) and symbol settings (docs/EXCHANGE.md quirks
13, 14, 26). Answers are parsed tolerantly: a garbled answer is a RetryableError ("invalid response"), never
a KeyError or TypeError out of a read.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from core.brackets import Brackets
from core.filters import SymbolFilters, parse_exchange_info
from core.numbers import to_decimal

from .bridge import brackets_from_answer
from .errors import ExchangeError, NoChangeNeededError, RetryableError, UnknownOrderError
from .ratelimit import RateLimits, depth_weight, klines_weight
from .records import (
    Balance,
    BookTicker,
    Depth,
    Kline,
    MarkPrice,
    OrderState,
    Position,
    SettingResult,
    SymbolConfig,
    SymbolSetup,
    UserTrade,
)
from .transport import Transport
from .wire import LocalRejection, check_margin_type, is_dry, log, order_ref, truthy

T = TypeVar("T")
BRACKETS_RETRY_MS = 300_000  # after a failed daily refresh of the brackets, try again in 5 minutes


class Account(Transport):
    def _parsed(self, endpoint: str, answer: Any, parse: Callable[[Any], T]) -> T:
        """`parse(answer)`, or RetryableError when the answer does not have the expected shape."""
        try:
            return parse(answer)
        except ExchangeError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            raise RetryableError(f"invalid response from {endpoint}: {type(exc).__name__}: {str(answer)[:200]}",
                                 sent=True) from None

    # ================================================================== market data
    def market_time_ms(self, symbol: str) -> int:
        """Market time: the time stamp the exchange puts on market data (premiumIndex `time`).

        On mainnet it equals server time; on the local venue replaying history it is the replay clock.
        Strategies, bars and funding schedules must use this, never the local or server clock.
        """
        return self.mark_price(symbol).time_ms

    def exchange_info(self, refresh: bool = False) -> dict[str, SymbolFilters]:
        now = self._clock_ms()
        if refresh or not self._filters or now - self._filters_at_ms > self._info_ttl_ms:
            doc = self._request("exchangeInfo", self.client.futures_exchange_info)
            self._filters = self._parsed("exchangeInfo", doc, parse_exchange_info)
            self._filters_at_ms = now
            self.budget.limits = RateLimits.from_exchange_info(doc.get("rateLimits", ()), self.budget.limits)
        return self._filters

    def leverage_brackets(self, refresh: bool = False) -> dict[str, Brackets]:
        """Every symbol's leverage brackets (GET /fapi/v1/leverageBracket, signed, weight 1), cached and
        refreshed daily (`brackets_ttl_s`): they change rarely and drive check_order's `bracket_notional` and
        `liquidation_distance` (docs/RISK.md). A failed refresh keeps the table it has (stale brackets beat
        none) and tries again after `BRACKETS_RETRY_MS`; with nothing cached the error is raised.
        Malformed elements are left out (their symbols are then unknown to the core)."""
        now = self._clock_ms()
        if not refresh and self._brackets and now - self._brackets_at_ms <= self._brackets_ttl_ms:
            return self._brackets
        try:
            answer = self._request("leverageBracket", self.client.futures_leverage_bracket)
            table, problems = self._parsed("leverageBracket", answer, brackets_from_answer)
        except ExchangeError as exc:
            if not self._brackets:
                raise
            self._brackets_at_ms = now - self._brackets_ttl_ms + BRACKETS_RETRY_MS
            log.warning("[brackets] refresh failed, keeping %d symbols from %d: %s", len(self._brackets),
                        self._brackets_at_ms, exc)
            return self._brackets
        if problems:
            log.warning("[brackets] %d malformed element(s) left out: %s", len(problems), "; ".join(problems[:5]))
        self._brackets, self._brackets_at_ms = table, now
        return table

    def symbol_filters(self, symbol: str) -> SymbolFilters:
        filters = self.exchange_info().get(symbol)
        if filters is None:
            raise LocalRejection("Invalid symbol.", code=-1121, sent=False)
        return filters

    def klines(self, symbol: str, interval: str, limit: int = 500, start_ms: int | None = None,
               end_ms: int | None = None) -> list[Kline]:
        params: dict[str, Any] = {"symbol": symbol, "interval": interval, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        rows = self._request("klines", self.client.futures_klines, params, weight=klines_weight(limit))
        return self._parsed("klines", rows, lambda rs: [Kline.from_api(r) for r in rs])

    def mark_price(self, symbol: str) -> MarkPrice:
        mp = self._parsed("premiumIndex", self._request("premiumIndex", self.client.futures_mark_price,
                                                        {"symbol": symbol}), MarkPrice.from_api)
        self._saw_market_time(mp.time_ms)
        return mp

    def mark_prices(self) -> dict[str, MarkPrice]:
        rows = self._request("premiumIndex:all", self.client.futures_mark_price)
        out = self._parsed("premiumIndex", rows, lambda rs: {r["symbol"]: MarkPrice.from_api(r) for r in rs})
        for mp in out.values():
            self._saw_market_time(mp.time_ms)
        return out

    def funding_rates(self, symbol: str, limit: int = 100, start_ms: int | None = None) -> list[dict]:
        params: dict[str, Any] = {"symbol": symbol, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        rows = self._request("fundingRate", self.client.futures_funding_rate, params)
        return self._parsed("fundingRate", rows, lambda rs: [
            {"symbol": r.get("symbol", symbol), "funding_time_ms": int(r["fundingTime"]),
             "funding_rate": to_decimal(r["fundingRate"])} for r in rs])

    def book_ticker(self, symbol: str) -> BookTicker:
        bt = self._parsed("bookTicker", self._request("bookTicker", self.client.futures_orderbook_ticker,
                                                      {"symbol": symbol}), BookTicker.from_api)
        self._saw_market_time(bt.time_ms)
        return bt

    def depth(self, symbol: str, limit: int = 20) -> Depth:
        d = self._parsed("depth", self._request("depth", self.client.futures_order_book,
                                                {"symbol": symbol, "limit": limit}, weight=depth_weight(limit)),
                         Depth.from_api)
        self._saw_market_time(d.time_ms)
        return d

    # ================================================================== account (reads)
    def balances(self) -> list[Balance]:
        rows = self._request("balance", self.client.futures_account_balance)
        return self._parsed("balance", rows, lambda rs: [Balance.from_api(b) for b in rs])

    def balance(self, asset: str = "USDT") -> Balance | None:
        return next((b for b in self.balances() if b.asset == asset), None)

    def positions(self, symbol: str | None = None, include_flat: bool = False,
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
            self._parsed("positionRisk", rows, self._learn_symbol_config)
        else:
            rows = self._request("positionRisk", self.client.futures_position_information, params)
        legs = self._parsed("positionRisk", rows, lambda rs: [self._with_settings(Position.from_api(r)) for r in rs])
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
        cfg = self._parsed("positionRisk:v2", rows, lambda rs: SymbolConfig.from_position_rows(symbol, rs))
        if cfg.leverage is not None:
            self._symbol_config[symbol] = cfg
        return cfg

    def _remember_setting(self, symbol: str, leverage: int | None = None, margin_type: str | None = None) -> None:
        """A setting write succeeded: update the cached config (only when the other setting is known too)."""
        old = self._symbol_config.get(symbol)
        if old is not None:
            self._symbol_config[symbol] = SymbolConfig(symbol, leverage if leverage is not None else old.leverage,
                                                       margin_type or old.margin_type)

    def open_orders(self, symbol: str | None = None) -> list[OrderState]:
        params = {"symbol": symbol} if symbol else {}
        rows = self._request("openOrders" if symbol else "openOrders:all", self.client.futures_get_open_orders, params)
        return self._parsed("openOrders", rows, lambda rs: [OrderState.from_api(r) for r in rs])

    def get_order(self, symbol: str, client_order_id: str | None = None,
                  order_id: int | None = None) -> OrderState | None:
        """Order status by clientOrderId (or orderId); None when the exchange does not know it (-2013)."""
        params = order_ref(symbol, client_order_id, order_id)
        try:
            return self._parsed("order:get", self._request("order:get", self.client.futures_get_order, params),
                                OrderState.from_api)
        except UnknownOrderError:
            return None

    def user_trades(self, symbol: str, start_ms: int | None = None, end_ms: int | None = None,
                    limit: int = 500, from_id: int | None = None) -> list[UserTrade]:
        params: dict[str, Any] = {"symbol": symbol, "limit": limit}
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        if from_id is not None:
            params["fromId"] = from_id
        rows = self._request("userTrades", self.client.futures_account_trades, params)
        return self._parsed("userTrades", rows, lambda rs: [UserTrade.from_api(t) for t in rs])

    def get_position_mode(self, refresh: bool = False) -> bool:
        """True = hedge mode (dualSidePosition). Cached: it changes only through set_position_mode."""
        if self._dual_side is None or refresh:
            doc = self._request("positionSide:get", self.client.futures_get_position_mode)
            self._dual_side = self._parsed("positionSide:get", doc, lambda d: truthy(d["dualSidePosition"]))
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
        if is_dry(resp):
            return SettingResult("position_mode", None, value, changed=False, dry_run=True, reason="DRY_RUN")
        self._dual_side = dual_side
        return SettingResult("position_mode", None, value, changed=True)

    def set_leverage(self, symbol: str, leverage: int) -> SettingResult:
        if not 1 <= int(leverage) <= 125:
            raise LocalRejection(f"Leverage {leverage} is not valid", code=-4028, sent=False)
        resp = self._request("leverage", self.client.futures_change_leverage,
                             {"symbol": symbol, "leverage": int(leverage)})
        if is_dry(resp):
            return SettingResult("leverage", symbol, str(leverage), changed=False, dry_run=True, reason="DRY_RUN")
        value = int(resp.get("leverage", leverage))
        self._remember_setting(symbol, leverage=value)
        return SettingResult("leverage", symbol, str(value), changed=True)

    def set_margin_type(self, symbol: str, margin_type: str) -> SettingResult:
        mt = check_margin_type(margin_type)
        try:
            resp = self._request("marginType", self.client.futures_change_margin_type,
                                 {"symbol": symbol, "marginType": mt})
        except NoChangeNeededError as e:  # -4046 "No need to change margin type."
            self._remember_setting(symbol, margin_type=mt)
            return SettingResult("margin_type", symbol, mt, changed=False, reason=e.message)
        if is_dry(resp):
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
        mt = check_margin_type(margin_type)
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

