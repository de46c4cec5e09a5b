"""Client-side request budget driven by the exchange's own counters.

Binance reports, on every response, the IP's weight used in the current minute (`X-MBX-USED-WEIGHT-1M`)
and the account's order counts (`X-MBX-ORDER-COUNT-1M`, `-10S`). Those counters include every other
process on the same IP/account, which is exactly what a purely local limiter gets wrong (freqtrade #12441:
each bot believes it owns the whole 2400). So the budget trusts the last header it saw, adds what this
process has spent since, and asks the caller to wait for the window to roll over before the soft limit
(default 80 % of the limit) would be crossed.

Pure bookkeeping: it never sleeps and never reads a clock. The adapter passes `now_ms` (server time) and
does the sleeping with its injected sleep function.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The one table of the endpoints the adapter calls: logical name -> (method, path, request weight), Binance's
# published weights (the ":all" variants are the calls without a symbol). Orders weigh 0 on the IP weight and
# count 1 on the order counters. tests/test_exchange_weights.py checks every row against the venue's table
# (venue/ratelimit.py), so the two cannot drift apart.
ENDPOINTS: dict[str, tuple[str, str, int]] = {
    "time": ("GET", "/fapi/v1/time", 1),
    "ping": ("GET", "/fapi/v1/ping", 1),
    "exchangeInfo": ("GET", "/fapi/v1/exchangeInfo", 1),
    "premiumIndex": ("GET", "/fapi/v1/premiumIndex", 1),
    "premiumIndex:all": ("GET", "/fapi/v1/premiumIndex", 10),
    "bookTicker": ("GET", "/fapi/v1/ticker/bookTicker", 2),
    "bookTicker:all": ("GET", "/fapi/v1/ticker/bookTicker", 5),
    "balance": ("GET", "/fapi/v3/balance", 5),
    "account": ("GET", "/fapi/v2/account", 5),
    "positionRisk": ("GET", "/fapi/v3/positionRisk", 5),
    "positionRisk:v2": ("GET", "/fapi/v2/positionRisk", 5),
    "openOrders": ("GET", "/fapi/v1/openOrders", 1),
    "openOrders:all": ("GET", "/fapi/v1/openOrders", 40),
    "order:get": ("GET", "/fapi/v1/order", 1),
    "order:post": ("POST", "/fapi/v1/order", 0),
    "order:delete": ("DELETE", "/fapi/v1/order", 1),
    "allOpenOrders": ("DELETE", "/fapi/v1/allOpenOrders", 1),
    "userTrades": ("GET", "/fapi/v1/userTrades", 5),
    "leverage": ("POST", "/fapi/v1/leverage", 1),
    "marginType": ("POST", "/fapi/v1/marginType", 1),
    "leverageBracket": ("GET", "/fapi/v1/leverageBracket", 1),
    "positionSide:get": ("GET", "/fapi/v1/positionSide/dual", 30),
    "positionSide:post": ("POST", "/fapi/v1/positionSide/dual", 1),
    "fundingRate": ("GET", "/fapi/v1/fundingRate", 1),
    "klines": ("GET", "/fapi/v1/klines", 5),  # at the default limit 500; see klines_weight
    "depth": ("GET", "/fapi/v1/depth", 2),  # at limit <= 50; see depth_weight
    # conditional (algo) orders: POST weighs 0 on the IP weight and counts on the order counters
    "algoOrder:post": ("POST", "/fapi/v1/algoOrder", 0),
    "algoOrder:get": ("GET", "/fapi/v1/algoOrder", 1),
    "algoOrder:delete": ("DELETE", "/fapi/v1/algoOrder", 1),
    "openAlgoOrders": ("GET", "/fapi/v1/openAlgoOrders", 1),
    "openAlgoOrders:all": ("GET", "/fapi/v1/openAlgoOrders", 40),
    "algoOpenOrders:delete": ("DELETE", "/fapi/v1/algoOpenOrders", 1),
}


def endpoint_weight(name: str) -> int:
    """The request weight of a logical endpoint (1 for a name not in the table)."""
    row = ENDPOINTS.get(name)
    return row[2] if row is not None else 1


def klines_weight(limit: int) -> int:
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def depth_weight(limit: int) -> int:
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


@dataclass(frozen=True)
class RateLimits:
    weight_1m: int = 2400
    orders_1m: int = 1200
    orders_10s: int = 300

    @classmethod
    def from_exchange_info(cls, rate_limits: Iterable[Mapping[str, Any]], default: RateLimits) -> RateLimits:
        weight, o1m, o10s = default.weight_1m, default.orders_1m, default.orders_10s
        for rl in rate_limits if isinstance(rate_limits, (list, tuple)) else ():
            if not isinstance(rl, Mapping):
                continue  # exchangeInfo is untrusted input: a malformed row is skipped, not raised on
            kind, interval = rl.get("rateLimitType"), rl.get("interval")
            num = _header_int(rl, "intervalNum") if "intervalNum" in rl else 1
            limit = _header_int(rl, "limit")
            if num is None or not limit:
                continue
            if kind == "REQUEST_WEIGHT" and interval == "MINUTE" and num == 1:
                weight = limit
            elif kind == "ORDERS" and interval == "MINUTE" and num == 1:
                o1m = limit
            elif kind == "ORDERS" and interval == "SECOND" and num == 10:
                o10s = limit
        return cls(weight, o1m, o10s)


_MAX_COUNTER = 10 ** 9  # no real counter comes near this; anything beyond is garbage


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    """A counter header as an int in [0, 1e9], or None: headers are untrusted input (docs/EXCHANGE.md)."""
    for key in (name, name.lower(), name.upper()):
        if key in headers:
            raw = headers[key]
            if not isinstance(raw, (str, bytes, int)) or isinstance(raw, bool) or len(str(raw)) > 12:
                return None
            try:
                value = int(str(raw).strip(), 10) if not isinstance(raw, int) else raw
            except (TypeError, ValueError):
                return None
            return value if 0 <= value <= _MAX_COUNTER else None
    return None


class WeightBudget:
    def __init__(self, limits: RateLimits = RateLimits(), headroom: float = 0.8):
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        self.limits = limits
        self.headroom = headroom
        self.used_weight = 0  # in the window of `_weight_window`
        self.weight_spent = 0  # every request's table weight since start, all adapters sharing this budget
        self.orders_1m = 0
        self.orders_10s = 0
        self._weight_window = -1  # minute index (server ms // 60000) the counters belong to
        self._orders10_window = -1
        self.blocked_until_ms = 0  # 418 ban / 429 Retry-After: no request before this

    # ------------------------------------------------------------ observations
    def observe(self, headers: Mapping[str, str] | None, now_ms: int) -> None:
        """Adopt the exchange's counters from a response's headers (they include other processes)."""
        if not headers:
            return
        w = _header_int(headers, "X-MBX-USED-WEIGHT-1M")
        o1 = _header_int(headers, "X-MBX-ORDER-COUNT-1M")
        o10 = _header_int(headers, "X-MBX-ORDER-COUNT-10S")
        self._roll(now_ms)  # counters of an older window are void before the new values land
        if w is not None:
            self.used_weight = w
        if o1 is not None:
            self.orders_1m = o1
        if o10 is not None:
            self.orders_10s = o10

    def spend(self, weight: int, is_order: bool, now_ms: int) -> None:
        """Account for a request we are about to send (until its response headers replace the estimate)."""
        self._roll(now_ms)
        self.used_weight += weight
        self.weight_spent += weight
        if is_order:
            self.orders_1m += 1
            self.orders_10s += 1

    def block(self, until_ms: int) -> None:
        self.blocked_until_ms = max(self.blocked_until_ms, until_ms)

    # ------------------------------------------------------------ decisions
    def wait_ms(self, weight: int, is_order: bool, now_ms: int) -> tuple[int, str]:
        """How long to wait before sending (0 = go now) and why."""
        if now_ms < self.blocked_until_ms:
            return self.blocked_until_ms - now_ms, "blocked (Retry-After / ban)"
        self._roll(now_ms)
        soft_weight = int(self.limits.weight_1m * self.headroom)
        if weight and self.used_weight + weight > soft_weight:
            return _to_next(now_ms, 60_000), f"used_weight={self.used_weight}/{self.limits.weight_1m}"
        if is_order:
            if self.orders_10s + 1 > int(self.limits.orders_10s * self.headroom):
                return _to_next(now_ms, 10_000), f"orders_10s={self.orders_10s}/{self.limits.orders_10s}"
            if self.orders_1m + 1 > int(self.limits.orders_1m * self.headroom):
                return _to_next(now_ms, 60_000), f"orders_1m={self.orders_1m}/{self.limits.orders_1m}"
        return 0, ""

    def window_elapsed(self) -> None:
        """After sleeping out a window: forget its counters (the next response's headers set them again)."""
        self._weight_window = self._orders10_window = -1

    def _roll(self, now_ms: int) -> None:
        if now_ms // 60_000 != self._weight_window:
            self.used_weight, self.orders_1m, self._weight_window = 0, 0, now_ms // 60_000
        if now_ms // 10_000 != self._orders10_window:
            self.orders_10s, self._orders10_window = 0, now_ms // 10_000


def _to_next(now_ms: int, window_ms: int) -> int:
    # +50 ms so we land inside the new window despite clock jitter
    return window_ms - (now_ms % window_ms) + 50
