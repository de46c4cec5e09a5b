"""HTTP surface: the Binance USD-M REST paths python-binance uses, plus the /_venue/ admin API.

One catch-all aiohttp route dispatches on (method, path) from a dict: cheaper than the router plus
middlewares, and it lets rate limits, faults and auth run in one place, in Binance's order
(weight is charged first, then API key, timestamp and signature).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from core.numbers import to_decimal

from . import auth
from .account_views import AccountViews
from .admin import Admin
from .engine import Engine
from .errors import VenueError, missing
from .faults import Fault, Faults, klines_with_gaps
from .filters import SymbolSpec
from .other_markets import capital_config, other_exchange_info
from .params import ORDER_ENDPOINT_PARAMS, Params, integer, time_param
from .params import limit as params_limit
from .ratelimit import ORDER_ENDPOINTS, RateLimiter, request_weight
from .records import Account, Stats
from .replay import INTERVAL_MS

PUBLIC, KEY, SIGNED = 0, 1, 2
JSON = "application/json"

# a route handler: (params, account or None for PUBLIC routes) -> the JSON answer, or bytes already serialised
Handler = Callable[[Params, Any], Any]


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class Venue(AccountViews):
    def __init__(self, engine: Engine, exchange_info: dict, limiter: RateLimiter, api_key: str,
                 api_secret: str, balance: Decimal, tick_ms: int = 100, admin_token: str | None = None):
        self.engine = engine
        self.market = engine.market
        self.clock = engine.market.clock
        self.exchange_info = exchange_info
        self._exchange_info_original = exchange_info  # /_venue/symbol changes a copy; reset restores this
        self.limiter = limiter
        self.faults = Faults()
        self.api_key, self.api_secret, self.balance = api_key, api_secret, balance
        self.tick_ms = tick_ms
        self.requests: defaultdict[str, int] = defaultdict(int)       # by path
        self.statuses: defaultdict[int | str, int] = defaultdict(int)  # by HTTP status or "fault:<kind>"
        self.start_market_ms = self.clock.now_ms()
        self._update_id = 1_000_000
        self._xinfo_parts: tuple[bytes, bytes] | None = None
        engine.add_account(api_key, api_secret, balance)
        self.routes = self._routes()
        self._admin = Admin(self, admin_token)
        self._ticker: asyncio.Task | None = None

    # ------------------------------------------------------------------ plumbing
    def wall_ms(self) -> int:
        return int(time.time() * 1000) + self.faults.clock_skew_ms

    def _routes(self) -> dict[tuple[str, str], tuple[int, Handler]]:
        e = self.engine
        r = {
            ("GET", "/api/v3/ping"): (PUBLIC, lambda p, a: {}),
            ("GET", "/api/v3/time"): (PUBLIC, lambda p, a: {"serverTime": self.wall_ms()}),
            ("GET", "/fapi/v1/ping"): (PUBLIC, lambda p, a: {}),
            ("GET", "/fapi/v1/time"): (PUBLIC, lambda p, a: {"serverTime": self.wall_ms()}),
            ("GET", "/fapi/v1/exchangeInfo"): (PUBLIC, self.h_exchange_info),
            ("GET", "/fapi/v1/klines"): (PUBLIC, self.h_klines),
            ("GET", "/fapi/v1/premiumIndex"): (PUBLIC, self.h_premium_index),
            ("GET", "/fapi/v1/fundingRate"): (PUBLIC, self.h_funding_rate),
            ("GET", "/fapi/v1/depth"): (PUBLIC, self.h_depth),
            ("GET", "/fapi/v1/ticker/bookTicker"): (PUBLIC, self.h_book_ticker),
            ("GET", "/fapi/v1/ticker/price"): (PUBLIC, self.h_ticker_price),
            ("GET", "/fapi/v2/ticker/price"): (PUBLIC, self.h_ticker_price),
            ("GET", "/fapi/v1/ticker/24hr"): (PUBLIC, self.h_ticker_24h),
            ("POST", "/fapi/v1/listenKey"): (KEY, lambda p, a: {"listenKey": secrets.token_hex(32)}),
            ("PUT", "/fapi/v1/listenKey"): (KEY, lambda p, a: {}),
            ("DELETE", "/fapi/v1/listenKey"): (KEY, lambda p, a: {}),
            ("GET", "/fapi/v2/balance"): (SIGNED, self.h_balance),
            ("GET", "/fapi/v3/balance"): (SIGNED, self.h_balance),
            ("GET", "/fapi/v2/account"): (SIGNED, lambda p, a: self.h_account(p, a, 2)),
            ("GET", "/fapi/v3/account"): (SIGNED, lambda p, a: self.h_account(p, a, 3)),
            ("GET", "/fapi/v2/positionRisk"): (SIGNED, lambda p, a: self.h_position_risk(p, a, 2)),
            ("GET", "/fapi/v3/positionRisk"): (SIGNED, lambda p, a: self.h_position_risk(p, a, 3)),
            ("GET", "/fapi/v1/positionSide/dual"): (SIGNED, lambda p, a: {"dualSidePosition": a.dual}),
            ("POST", "/fapi/v1/positionSide/dual"): (SIGNED, _swap(e.set_position_mode)),
            ("POST", "/fapi/v1/leverage"): (SIGNED, _swap(e.set_leverage)),
            ("POST", "/fapi/v1/marginType"): (SIGNED, _swap(e.set_margin_type)),
            ("GET", "/fapi/v1/leverageBracket"): (SIGNED, self.h_leverage_bracket),
            # what a stock ccxt `binance` asks while loading markets (docs/VENUE.md "Other bots")
            ("GET", "/api/v3/exchangeInfo"): (PUBLIC, lambda p, a: other_exchange_info(self.wall_ms())),
            ("GET", "/dapi/v1/exchangeInfo"): (PUBLIC, lambda p, a: other_exchange_info(self.wall_ms())),
            ("GET", "/sapi/v1/capital/config/getall"): (SIGNED, lambda p, a: capital_config(a)),
            ("GET", "/sapi/v1/margin/allPairs"): (KEY, lambda p, a: []),
            ("GET", "/sapi/v1/margin/isolated/allPairs"): (SIGNED, lambda p, a: []),
            ("GET", "/fapi/v1/multiAssetsMargin"): (SIGNED, lambda p, a: {"multiAssetsMargin": a.multi_assets}),
            ("POST", "/fapi/v1/multiAssetsMargin"): (SIGNED, _swap(e.set_multi_assets)),
            ("POST", "/fapi/v1/order"): (SIGNED, _swap(e.place_order)),
            ("GET", "/fapi/v1/order"): (SIGNED, _swap(e.get_order)),
            ("DELETE", "/fapi/v1/order"): (SIGNED, _swap(e.cancel_order)),
            ("GET", "/fapi/v1/openOrder"): (SIGNED, self.h_open_order),
            ("GET", "/fapi/v1/openOrders"): (SIGNED, _swap(e.open_orders)),
            ("GET", "/fapi/v1/allOrders"): (SIGNED, _swap(e.all_orders)),
            ("DELETE", "/fapi/v1/allOpenOrders"): (SIGNED, _swap(e.cancel_all)),
            ("GET", "/fapi/v1/userTrades"): (SIGNED, _swap(e.user_trades)),
            ("GET", "/fapi/v1/income"): (SIGNED, _swap(e.income)),
            ("GET", "/fapi/v1/commissionRate"): (SIGNED, self.h_commission),
            ("POST", "/fapi/v1/algoOrder"): (SIGNED, _swap(e.place_algo)),
            ("GET", "/fapi/v1/algoOrder"): (SIGNED, _swap(e.get_algo)),
            ("DELETE", "/fapi/v1/algoOrder"): (SIGNED, _swap(e.cancel_algo)),
            ("GET", "/fapi/v1/openAlgoOrders"): (SIGNED, _swap(e.open_algos)),
            ("GET", "/fapi/v1/algoOpenOrders"): (SIGNED, _swap(e.open_algos)),
            ("DELETE", "/fapi/v1/algoOpenOrders"): (SIGNED, _swap(e.cancel_all_algos)),
            ("GET", "/fapi/v1/allAlgoOrders"): (SIGNED, _swap(e.all_algos)),
        }
        return r

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        app.on_startup.append(self._start_ticker)
        app.on_cleanup.append(self._stop_ticker)
        return app

    async def _start_ticker(self, app: web.Application) -> None:
        self._ticker = asyncio.create_task(self._tick_loop())

    async def _stop_ticker(self, app: web.Application) -> None:
        if self._ticker:
            self._ticker.cancel()

    async def _tick_loop(self) -> None:
        """Advance the engine even when nobody calls: resting orders fill, funding settles on time."""
        while True:
            await asyncio.sleep(self.tick_ms / 1000)
            try:
                self.engine.sync(self.clock.now_ms())
            except Exception as exc:      # never let the ticker die silently
                print(f"[venue] tick error: {exc!r}", flush=True)

    @staticmethod
    def _drop(request: web.Request) -> web.Response:
        """Close the connection with no response at all (a lost response, as the client sees it)."""
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError()

    # ------------------------------------------------------------------ dispatch
    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        if path.startswith("/_venue/"):
            return await self.admin(request)
        self.requests[path] += 1
        route = self.routes.get((method, path))
        latency, fault = self.faults.take(method, path)
        if latency:  # read the request first: a delayed request is delivered late, never lost (venue/faults.py)
            with contextlib.suppress(web.HTTPRequestEntityTooLarge):  # _read_body answers 413 below
                await request.read()
            await asyncio.sleep(latency / 1000)
        if fault is not None and fault.kind != "ambiguous":
            return await self._pre_fault(request, fault)
        if route is None:              # JSON like every other answer: clients parse it, never an HTML page
            self.statuses[404] += 1
            return web.Response(status=404, content_type=JSON, body=_dumps(VenueError(-5000, path, method).body()))
        kind, handler = route
        ip = request.remote or "?"
        now_wall = self.wall_ms()
        headers = {}
        order_ep = (method, path) in ORDER_ENDPOINTS
        try:
            raw_query = request.rel_url.raw_query_string
            raw_body = await self._read_body(request)
            params = auth.parse_params(raw_query, raw_body)
            used = self.limiter.charge(ip, request_weight(method, path, params), now_wall)
            headers["X-MBX-USED-WEIGHT-1M"] = str(used)
            acct: Account | None = None
            if kind != PUBLIC:
                acct = auth.check_key(request.headers.get("X-MBX-APIKEY"), self.engine.accounts)
                if kind == SIGNED:
                    auth.verify_signed(raw_query, raw_body, params, acct.api_secret, now_wall)
            allowed = ORDER_ENDPOINT_PARAMS.get((method, path))
            if allowed is not None:
                auth.check_known(params, allowed)
            if order_ep:
                assert acct is not None, "order endpoints are SIGNED"
                n10, n60 = self.limiter.count_order(acct.api_key, now_wall)
                headers["X-MBX-ORDER-COUNT-10S"] = str(n10)
                headers["X-MBX-ORDER-COUNT-1M"] = str(n60)
            result = handler(params, acct)
            status, body = 200, (result if isinstance(result, bytes) else _dumps(result))
        except VenueError as err:
            status, body = err.http, _dumps(err.body())
            if err.retry_after is not None:
                headers["Retry-After"] = str(err.retry_after)
            if err.counts:
                headers["X-MBX-ORDER-COUNT-10S"], headers["X-MBX-ORDER-COUNT-1M"] = map(str, err.counts)
            if "X-MBX-USED-WEIGHT-1M" not in headers:
                headers["X-MBX-USED-WEIGHT-1M"] = str(self.limiter.used(ip))
        except (ValueError, ArithmeticError):
            status, body = 400, _dumps(VenueError(-1102, msg="A mandatory parameter was not sent, was empty/null, "
                                                  "or malformed.").body())
        except Exception:                  # a venue bug: answer like Binance's unknown error, log it
            traceback.print_exc()
            status, body = 500, _dumps(VenueError(-1000).body())
        self.statuses[status] += 1
        if fault is not None:          # ambiguous: executed above, now lose the answer
            return await self._lose_response(request, fault)
        return web.Response(status=status, body=body, headers=headers, content_type=JSON)

    @staticmethod
    async def _read_body(request: web.Request) -> str:
        """The raw body as text. Over client_max_size (1 MiB): HTTP 413 with Binance's -1101-style JSON
        error rather than aiohttp's exception; bytes that are not UTF-8: -1100 (illegal characters)."""
        if not request.body_exists:  # (not can_read_body: a delay fault may have read the body already)
            return ""
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise VenueError(-1101, msg="Request body too large.", http=413) from exc
        try:
            return raw.decode()
        except UnicodeDecodeError as exc:
            raise VenueError(-1100, msg="Illegal characters found in a parameter.") from exc

    async def _pre_fault(self, request: web.Request, f: Fault) -> web.StreamResponse:
        self.statuses[f"fault:{f.kind}"] += 1
        if f.kind == "error":
            if f.status == 502:
                return web.Response(status=502, content_type="text/html",
                                    text="<html><head><title>502 Bad Gateway</title></head><body>"
                                         "<center><h1>502 Bad Gateway</h1></center></body></html>")
            msg = f.msg or "Internal error; unable to process your request. Please try again."
            return web.Response(status=f.status, content_type=JSON,
                                body=_dumps({"code": f.code or -1001, "msg": msg}))
        if f.kind == "timeout":
            await asyncio.sleep(f.hold_ms / 1000)
            return self._drop(request)
        if f.kind == "drop":
            return self._drop(request)
        if f.kind == "rate_limit":
            err = self.limiter.too_many(self.wall_ms())
            return web.Response(status=429, body=_dumps(err.body()), content_type=JSON,
                                headers={"Retry-After": str(err.retry_after)})
        if f.kind == "ban":
            err = self.limiter.force_ban(request.remote or "?", self.wall_ms())
            return web.Response(status=418, body=_dumps(err.body()), content_type=JSON,
                                headers={"Retry-After": str(err.retry_after)})
        if f.kind == "reject_1021":
            return web.Response(status=400, content_type=JSON, body=_dumps(VenueError(-1021).body()))
        raise AssertionError(f.kind)

    async def _lose_response(self, request: web.Request, f: Fault) -> web.StreamResponse:
        self.statuses[f"fault:ambiguous:{f.mode}"] += 1
        if f.mode == "503":
            msg = f.msg or "Unknown error, please check your request or try again later."
            return web.Response(status=503, content_type=JSON, body=_dumps({"code": f.code or -1000, "msg": msg}))
        if f.mode == "timeout":
            await asyncio.sleep(f.hold_ms / 1000)
        return self._drop(request)

    # ------------------------------------------------------------------ market data
    def _spec(self, params: dict) -> SymbolSpec:
        return self.engine.spec(params.get("symbol"))

    def _symbols(self, params: dict) -> list[SymbolSpec]:
        sym = params.get("symbol")
        if sym:
            return [self._spec(params)]
        return [self.engine.specs[s] for s in self.market.symbols]

    def h_leverage_bracket(self, params: Params, acct: Account) -> list[dict]:
        """One symbol or all, as a list of {symbol, brackets} (what the live API answers; its documentation
        shows a bare object for one symbol)."""
        specs = self._symbols(params)
        return [self.engine.brackets[s.symbol].view() for s in specs]

    def h_exchange_info(self, params: Params, acct: Account | None) -> bytes:
        # serialised once (hundreds of symbols); only serverTime changes
        if self._xinfo_parts is None:
            doc = dict(self.exchange_info, serverTime=0)
            head, tail = _dumps(doc).split(b'"serverTime":0', 1)
            self._xinfo_parts = (head + b'"serverTime":', tail)
        head, tail = self._xinfo_parts
        return head + str(self.wall_ms()).encode() + tail

    def h_klines(self, params: Params, acct: Account | None) -> list[list]:
        spec = self._spec(params)
        iv = params.get("interval")
        if not iv:
            raise missing("interval")
        if iv not in INTERVAL_MS:
            raise VenueError(-1120)
        ivms = INTERVAL_MS[iv]
        limit = params_limit(params, 500, 1500)
        start, end = time_param(params, "startTime"), time_param(params, "endTime")
        now = self.clock.now_ms()
        align = 345_600_000 if iv == "1w" else 0      # weekly bars open on Monday 00:00 UTC
        series = self.market.series(spec.symbol)
        gaps = self.faults.kline_gaps(spec.symbol)
        if gaps:
            rows = klines_with_gaps(series, gaps, ivms, start, end, limit, now, align)
        else:
            rows = series.klines(ivms, start, end, limit, now, align_ms=align)
        tick = float(spec.tick)
        pd_, qd = spec.price_decimals, spec.qty_decimals
        out = []
        for t0, o, hi, lo, c, v in rows:
            o, hi, lo, c = (round(x / tick) * tick for x in (o, hi, lo, c))
            qv = v * (o + hi + lo + c) / 4
            out.append([t0, f"{o:.{pd_}f}", f"{hi:.{pd_}f}", f"{lo:.{pd_}f}", f"{c:.{pd_}f}", f"{v:.{qd}f}",
                        t0 + ivms - 1, f"{qv:.5f}", max(1, int(v * 7)), f"{v / 2:.{qd}f}", f"{qv / 2:.5f}", "0"])
        return out

    def _premium(self, spec: SymbolSpec, now: int) -> dict:
        s = self.market.series(spec.symbol)
        mark = self.engine.mark(spec.symbol, now)
        _, rate = s.last_funding(now)
        return {"symbol": spec.symbol, "markPrice": f"{mark:.8f}", "indexPrice": f"{mark:.8f}",
                "estimatedSettlePrice": f"{mark:.8f}", "lastFundingRate": f"{to_decimal(rate):.8f}",
                "interestRate": "0.00010000", "nextFundingTime": s.next_funding_time(now), "time": now}

    def h_premium_index(self, params: Params, acct: Account | None) -> dict | list[dict]:
        now = self.clock.now_ms()
        if params.get("symbol"):
            return self._premium(self._spec(params), now)
        return [self._premium(s, now) for s in self._symbols(params)]

    def h_funding_rate(self, params: Params, acct: Account | None) -> list[dict]:
        now = self.clock.now_ms()
        limit = params_limit(params, 100, 1000)
        start, end = time_param(params, "startTime"), time_param(params, "endTime")
        end = now if end is None else min(end, now)
        out: list[dict[str, Any]] = []          # JSON rows
        for spec in self._symbols(params):
            for t, r in self.market.series(spec.symbol).funding_history(start, end, limit):
                out.append({"symbol": spec.symbol, "fundingTime": t, "fundingRate": f"{to_decimal(r):.8f}",
                            "markPrice": f"{self.engine.mark(spec.symbol, t):.8f}"})
        out.sort(key=lambda x: x["fundingTime"])
        return out[:limit] if start is not None else out[-limit:]

    def _next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id

    def h_depth(self, params: Params, acct: Account | None) -> dict:
        spec = self._spec(params)
        limit = integer(params, "limit", 500, lo=1, hi=1000)
        now = self.clock.now_ms()
        mark = self.engine.mark(spec.symbol, now)
        book = self.engine.book
        def fmt(side: str) -> list[list[str]]:
            return [[spec.px(p), spec.qty(q)] for p, q in book.levels(spec, mark, side, limit)]

        return {"lastUpdateId": self._next_update_id(), "E": now, "T": now, "bids": fmt("bid"), "asks": fmt("ask")}

    def _book_ticker(self, spec: SymbolSpec, now: int) -> dict:
        mark = self.engine.mark(spec.symbol, now)
        (bp, bq), = self.engine.book.levels(spec, mark, "bid", 1)
        (ap, aq), = self.engine.book.levels(spec, mark, "ask", 1)
        return {"symbol": spec.symbol, "bidPrice": spec.px(bp), "bidQty": spec.qty(bq), "askPrice": spec.px(ap),
                "askQty": spec.qty(aq), "time": now, "lastUpdateId": self._next_update_id()}

    def h_book_ticker(self, params: Params, acct: Account | None) -> dict | list[dict]:
        now = self.clock.now_ms()
        if params.get("symbol"):
            return self._book_ticker(self._spec(params), now)
        return [self._book_ticker(s, now) for s in self._symbols(params)]

    def h_ticker_price(self, params: Params, acct: Account | None) -> dict | list[dict]:
        now = self.clock.now_ms()
        def row(s: SymbolSpec) -> dict:
            return {"symbol": s.symbol, "price": s.px(self.engine.mark(s.symbol, now)), "time": now}

        if params.get("symbol"):
            return row(self._spec(params))
        return [row(s) for s in self._symbols(params)]

    def _ticker_24h(self, spec: SymbolSpec, now: int) -> dict:
        s = self.market.series(spec.symbol)
        t0 = now - 86_400_000
        op, last = spec.round_price(s.price_at(t0)), spec.round_price(s.price_at(now))
        lo, hi = s.range_between(t0, now)
        vol = s._volume_between(t0, now)
        chg = last - op
        return {"symbol": spec.symbol, "priceChange": spec.px(chg),
                "priceChangePercent": f"{(chg / op * 100) if op else 0:.3f}",
                "weightedAvgPrice": spec.px(spec.round_price((lo + hi) / 2)), "lastPrice": spec.px(last),
                "lastQty": spec.qty(spec.step), "openPrice": spec.px(op),
                "highPrice": spec.px(spec.round_price(hi)), "lowPrice": spec.px(spec.round_price(lo)),
                "volume": f"{vol:.{spec.qty_decimals}f}", "quoteVolume": f"{vol * float(last):.2f}",
                "openTime": t0, "closeTime": now, "firstId": 0, "lastId": 0, "count": max(1, int(vol * 7))}

    def h_ticker_24h(self, params: Params, acct: Account | None) -> dict | list[dict]:
        now = self.clock.now_ms()
        if params.get("symbol"):
            return self._ticker_24h(self._spec(params), now)
        return [self._ticker_24h(s, now) for s in self._symbols(params)]

    # ------------------------------------------------------------------ admin (venue/admin.py validates)
    async def admin(self, request: web.Request) -> web.Response:
        return await self._admin.handle(request)

    def set_listing(self, symbol: str, status: str | None) -> dict:
        """Serve `symbol` in exchangeInfo with `status` (None: leave it out, as after a delisting). The
        document only: orders on the symbol are still accepted (docs/VENUE.md "Known gaps")."""
        rows = []
        for row in self.exchange_info.get("symbols", ()):
            if row.get("symbol") != symbol:
                rows.append(row)
        if status is not None:
            orig = next(r for r in self._exchange_info_original["symbols"] if r.get("symbol") == symbol)
            rows.append(dict(orig, status=status))
        self.exchange_info = dict(self.exchange_info, symbols=rows)
        self._xinfo_parts = None
        return {"symbol": symbol, "listed": status is not None, "status": status}

    def reset(self, balance: Decimal | None = None, dual: bool = False, clock: tuple | None = None) -> None:
        """Fresh account(s), stats, faults and rate-limit counters; `clock` = (start_ms or None for the
        original start, speed or None to keep it, paused) restarts the market clock. Arguments are valid."""
        e = self.engine
        e.accounts.clear()
        e.stats = Stats()
        self.requests.clear()
        self.statuses.clear()
        self.faults.clear()
        self.limiter.reset()
        self.exchange_info, self._xinfo_parts = self._exchange_info_original, None
        if clock is not None:
            start, speed, paused = clock
            self.clock.restart(self.start_market_ms if start is None else start,
                               self.clock.speed if speed is None else speed, paused)
        e.last_sync = self.clock.now_ms()
        acct = e.add_account(self.api_key, self.api_secret, self.balance if balance is None else balance)
        acct.dual = dual
        e.reset_index()

    def stats_view(self) -> dict:
        return {"requests": dict(self.requests), "responses": {str(k): v for k, v in self.statuses.items()},
                **self.engine.stats.view(), "symbols_loaded": self.market.loaded(), **self.clock.state()}

    def config_view(self) -> dict:
        lim = self.limiter
        return {"symbols": self.market.symbols, "maker_fee": str(self.engine.maker_fee),
                "taker_fee": str(self.engine.taker_fee), "weight_per_min": lim.weight_per_min,
                "orders_per_min": lim.orders_per_min, "orders_per_10s": lim.orders_per_10s,
                "ban_after": lim.ban_after, "ban_seconds": lim.ban_seconds}


def _swap(fn: Callable[[Account, Params], Any]) -> Handler:
    """Engine methods take (account, params); route handlers are called (params, account)."""
    return lambda params, acct: fn(acct, params)


def make_socket(host: str, port: int) -> socket.socket:
    """Listening socket with TCP_NODELAY inherited by accepted connections (Nagle + delayed ACK would
    add ~40 ms to every keep-alive round trip)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock
