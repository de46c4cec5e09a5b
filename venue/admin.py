"""The /_venue/ admin API: clock, faults, deposits, reset, stats, config (docs/VENUE.md "Admin API").

Every call is validated completely before anything changes, so a rejected call leaves the venue exactly as
it was (400 with {"error": ...}). Requests must come from a loopback peer AND name a loopback Host (or carry
the --admin-token): a web page in a browser on the same machine can reach 127.0.0.1, but under DNS
rebinding it sends its own host name, and a cross-site form cannot send `Content-Type: application/json`
without a CORS preflight the venue never grants - so state-changing calls also require that type.
"""
from __future__ import annotations

import dataclasses
import hmac
import ipaddress
import json
import math
from decimal import Decimal
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from aiohttp import web

from core.numbers import is_non_finite, parse_decimal

from .faults import KINDS, Fault
from .records import s8

if TYPE_CHECKING:
    from .server import Venue

MAX_MONEY = Decimal("1e15")
MAX_SPEED = 1e7
MAX_MS = 4_102_444_800_000          # 2100-01-01: no market or step time beyond it
MAX_SKEW_MS = 86_400_000
TOKEN_HEADER = "X-Venue-Admin-Token"
# Binance USD-M contract statuses (exchangeInfo `status`); delisting goes TRADING -> SETTLING -> CLOSE
SYMBOL_STATUSES = ("TRADING", "PENDING_TRADING", "PRE_DELIVERING", "DELIVERING", "DELIVERED", "PRE_SETTLE",
                   "SETTLING", "CLOSE", "BREAK")


class AdminError(Exception):
    def __init__(self, msg: str, status: int = 400):
        super().__init__(msg)
        self.status = status


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").split("%")[0]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_name(host_header: str) -> str:
    """'127.0.0.1:8080' -> '127.0.0.1', '[::1]:8080' -> '::1', 'localhost' -> 'localhost'."""
    if host_header.startswith("["):
        return host_header[1:host_header.find("]")] if "]" in host_header else host_header
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


# ---------------------------------------------------------------------------------------- values
def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def parse_json_body(raw: bytes) -> dict:
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise AdminError(f"body must be a JSON object ({type(exc).__name__})") from exc
    if not isinstance(body, dict):
        raise AdminError(f"body must be a JSON object, not {type(body).__name__}")
    return body


def _only(body: dict, allowed: set, what: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise AdminError(f"{what}: unknown keys {unknown}; allowed {sorted(allowed)}")


def _bool(body: dict, key: str) -> bool:
    v = body[key]
    if not isinstance(v, bool):
        raise AdminError(f"{key} must be true or false")
    return v


def _int(body: dict, key: str, lo: int, hi: int) -> int:
    v = body[key]
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise AdminError(f"{key} must be an integer in [{lo}, {hi}]")
    return v


def _speed(body: dict) -> float:
    v = body["speed"]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 < v <= MAX_SPEED:
        raise AdminError(f"speed must be a number in (0, {MAX_SPEED:g}]")
    return float(v)


def _money(body: dict, key: str, positive: bool) -> Decimal:
    v = body[key]
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise AdminError(f"{key} must be a decimal number")
    if not is_non_finite(v):
        try:
            d = parse_decimal(v)
        except ValueError as exc:
            raise AdminError(f"{key} must be a decimal number") from exc
    if is_non_finite(v) or d > MAX_MONEY or d < 0 or (positive and d == 0):
        raise AdminError(f"{key} must be a finite number {'>' if positive else '>='} 0 and <= {MAX_MONEY}")
    return d


def validate_fault_rule(rule: dict) -> None:
    """Types of a fault rule from the Fault record's own fields, so a new field is checked too."""
    if rule.get("kind") not in KINDS:
        raise AdminError(f"kind must be one of {list(KINDS)}")
    fields = {f.name: str(f.type) for f in dataclasses.fields(Fault)}
    for key, v in rule.items():
        t = fields.get(key)
        if t is None or key in ("id", "fired"):
            raise AdminError(f"unknown fault field {key!r}")
        optional = "None" in t
        if v is None:
            if not optional:
                raise AdminError(f"{key} may not be null")
            continue
        if t.startswith("int"):
            lo = -10_000 if key == "code" else 0
            hi = 599 if key == "status" else MAX_MS if key in ("start_ms", "end_ms") else 10 ** 9
            _int(rule, key, lo, hi)
        elif t.startswith("str") and not isinstance(v, str):
            raise AdminError(f"{key} must be a string")
        elif t.startswith("bool"):
            _bool(rule, key)
        elif t.startswith("float") and (isinstance(v, bool) or not isinstance(v, (int, float))
                                         or not math.isfinite(v) or v < 0):
            raise AdminError(f"{key} must be a finite number >= 0")


# ---------------------------------------------------------------------------------------- the API
class Admin:
    def __init__(self, venue: Venue, token: str | None = None):
        self.v = venue
        self.token = token

    def _authorised(self, request: web.Request) -> None:
        if not is_loopback(request.remote):
            raise AdminError("admin API is loopback-only", 403)
        sent = request.headers.get(TOKEN_HEADER)
        if self.token and sent is not None and hmac.compare_digest(sent.encode(), self.token.encode()):
            return
        if not is_loopback(_host_name(request.headers.get("Host", ""))):
            raise AdminError("admin API answers only a loopback Host (or the admin token)", 403)
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null" and not is_loopback(urlsplit(origin).hostname):
            raise AdminError("admin API refuses cross-origin requests", 403)
        if origin == "null":
            raise AdminError("admin API refuses cross-origin requests", 403)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            self._authorised(request)
            method = request.method
            raw = b""
            if method not in ("GET", "HEAD"):
                if request.content_type != "application/json":
                    raise AdminError("admin calls that change state need Content-Type: application/json", 415)
                try:
                    raw = await request.read()
                except web.HTTPRequestEntityTooLarge as exc:
                    raise AdminError("body too large", 413) from exc
            body = parse_json_body(raw)
            return web.json_response(self.route(request.path, method, body))
        except AdminError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)

    def route(self, path: str, method: str, body: dict) -> dict:
        v = self.v
        if path == "/_venue/stats" and method == "GET":
            return v.stats_view()
        if path == "/_venue/config" and method == "GET":
            return v.config_view()
        if path == "/_venue/clock" and method in ("GET", "POST"):
            if method == "POST":
                self.clock_control(body)
            v.engine.sync(v.clock.now_ms())
            return v.clock.state()
        if path == "/_venue/faults" and method in ("GET", "POST", "DELETE"):
            if method == "POST":
                self.add_fault(body)
            elif method == "DELETE":
                v.faults.clear()
            return v.faults.view()
        if path in ("/_venue/account/deposit", "/_venue/account/withdraw") and method == "POST":
            what = path.rsplit("/", 1)[1]
            _only(body, {"amount", "api_key"}, what)
            if "amount" not in body:
                raise AdminError(f"{what} needs amount")
            amount = _money(body, "amount", positive=True)
            acct = v.engine.accounts.get(body.get("api_key", v.api_key))
            if acct is None:
                raise AdminError("unknown api_key")
            if what == "withdraw":
                if amount > acct.wallet:
                    raise AdminError(f"withdraw {amount} exceeds the wallet {s8(acct.wallet)}")
                amount = -amount  # booked like a deposit: the wallet and a (negative) TRANSFER income
            v.engine.deposit(acct, amount)
            return {"asset": "USDT", "balance": s8(acct.wallet)}
        if path == "/_venue/symbol" and method == "POST":
            return self.listing(body)
        if path == "/_venue/reset" and method == "POST":
            self.reset(body)
            return {"ok": True, **v.clock.state()}
        raise AdminError(f"unknown admin call {method} {path}", 404)

    def clock_control(self, body: dict) -> None:
        """Any of {"pause": true} {"resume": true} {"speed": 60} {"step_ms": 3600000} {"to_ms": t}:
        all checked first, then applied in that order."""
        _only(body, {"pause", "resume", "speed", "step_ms", "to_ms"}, "clock")
        clock = self.v.clock
        if body and getattr(clock, "wall", False):
            raise AdminError("the market clock follows the wall clock (--clock wall)")
        pause = _bool(body, "pause") if "pause" in body else False
        resume = _bool(body, "resume") if "resume" in body else False
        speed = _speed(body) if "speed" in body else None
        step = _int(body, "step_ms", 0, MAX_MS) if "step_ms" in body else None
        to = _int(body, "to_ms", 0, MAX_MS) if "to_ms" in body else None
        now = clock.now_ms()
        if to is not None and to < now + (step or 0):
            raise AdminError("to_ms is in the past: the market clock never goes backwards (use /_venue/reset)")
        if pause:
            clock.pause()
        if speed is not None:
            clock.set_speed(speed)
        if step is not None:
            clock.step(step)
        if to is not None:
            clock.set_time(max(to, clock.now_ms()))
        if resume:
            clock.resume()

    def add_fault(self, body: dict) -> None:
        rule = dict(body)
        skew = None
        if "clock_skew_ms" in rule:
            skew = _int(rule, "clock_skew_ms", -MAX_SKEW_MS, MAX_SKEW_MS)
            del rule["clock_skew_ms"]
        if rule:
            validate_fault_rule(rule)
            try:
                self.v.faults.add(rule)           # raises before it appends anything
            except (ValueError, TypeError) as exc:
                raise AdminError(str(exc)) from exc
        if skew is not None:
            self.v.faults.clock_skew_ms = skew

    def listing(self, body: dict) -> dict:
        """{"symbol": S, "status": "SETTLING"} serves S with that exchangeInfo status; {"symbol": S, "listed":
        false} leaves it out of exchangeInfo (a delisting); {"symbol": S, "status": "TRADING"} restores it."""
        _only(body, {"symbol", "status", "listed"}, "symbol")
        symbol = body.get("symbol")
        known = {r.get("symbol") for r in self.v._exchange_info_original.get("symbols", ())}
        if not isinstance(symbol, str) or symbol not in known:
            raise AdminError("symbol must be a symbol of the venue's exchangeInfo")
        listed = _bool(body, "listed") if "listed" in body else True
        status = body.get("status", "TRADING")
        if status not in SYMBOL_STATUSES:
            raise AdminError(f"status must be one of {list(SYMBOL_STATUSES)}")
        if not listed and "status" in body:
            raise AdminError("give status or listed=false, not both")
        return self.v.set_listing(symbol, status if listed else None)

    def reset(self, body: dict) -> None:
        _only(body, {"balance", "dual", "start_ms", "speed", "paused"}, "reset")
        balance = _money(body, "balance", positive=False) if "balance" in body else None
        dual = _bool(body, "dual") if "dual" in body else False
        start = _int(body, "start_ms", 0, MAX_MS) if "start_ms" in body else None
        speed = _speed(body) if "speed" in body else None
        paused = _bool(body, "paused") if "paused" in body else False
        clock = None
        if "start_ms" in body or "paused" in body or "speed" in body:
            if getattr(self.v.clock, "wall", False):
                raise AdminError("the market clock follows the wall clock (--clock wall): reset takes no clock keys")
            clock = (start, speed, paused)
        self.v.reset(balance=balance, dual=dual, clock=clock)
