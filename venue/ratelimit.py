"""Binance-style rate limits: request weight per IP per minute, new orders per account per 10 s and per
minute (fixed windows aligned to the wall clock, as Binance's), 429 + Retry-After past a limit, and a
418 ban for a client that keeps sending while it is being told 429."""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import VenueError

# Request weights of the USD-M endpoints (Binance's published values).
FIXED_WEIGHTS = {
    ("GET", "/fapi/v1/ping"): 1, ("GET", "/fapi/v1/time"): 1, ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("GET", "/api/v3/ping"): 1, ("GET", "/api/v3/time"): 1,
    ("GET", "/fapi/v1/fundingRate"): 1,
    ("POST", "/fapi/v1/order"): 0, ("GET", "/fapi/v1/order"): 1, ("DELETE", "/fapi/v1/order"): 1,
    ("GET", "/fapi/v1/openOrder"): 1,
    ("DELETE", "/fapi/v1/allOpenOrders"): 1, ("GET", "/fapi/v1/allOrders"): 5,
    ("GET", "/fapi/v1/userTrades"): 5, ("GET", "/fapi/v1/income"): 30,
    ("GET", "/fapi/v2/balance"): 5, ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v2/account"): 5, ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5, ("GET", "/fapi/v3/positionRisk"): 5,
    ("GET", "/fapi/v1/positionSide/dual"): 30, ("POST", "/fapi/v1/positionSide/dual"): 1,
    ("POST", "/fapi/v1/leverage"): 1, ("POST", "/fapi/v1/marginType"): 1,
    ("GET", "/fapi/v1/leverageBracket"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20, ("GET", "/dapi/v1/exchangeInfo"): 1,
    ("GET", "/sapi/v1/capital/config/getall"): 10, ("GET", "/sapi/v1/margin/allPairs"): 1,
    ("GET", "/sapi/v1/margin/isolated/allPairs"): 10,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30, ("POST", "/fapi/v1/multiAssetsMargin"): 1,
    ("GET", "/fapi/v1/commissionRate"): 20,
    ("POST", "/fapi/v1/algoOrder"): 0, ("GET", "/fapi/v1/algoOrder"): 1, ("DELETE", "/fapi/v1/algoOrder"): 1,
    ("DELETE", "/fapi/v1/algoOpenOrders"): 1, ("GET", "/fapi/v1/allAlgoOrders"): 5,
    ("POST", "/fapi/v1/listenKey"): 1, ("PUT", "/fapi/v1/listenKey"): 1, ("DELETE", "/fapi/v1/listenKey"): 1,
}
ORDER_ENDPOINTS = {("POST", "/fapi/v1/order"), ("POST", "/fapi/v1/algoOrder")}


def request_weight(method: str, path: str, params: dict) -> int:
    w = FIXED_WEIGHTS.get((method, path))
    if w is not None:
        return w
    sym = bool(params.get("symbol"))
    if path == "/fapi/v1/klines":
        limit = _int(params.get("limit"), 500)
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    if path == "/fapi/v1/depth":
        limit = _int(params.get("limit"), 500)
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    if path in ("/fapi/v1/ticker/price", "/fapi/v2/ticker/price"):
        return 1 if sym else 2
    if path == "/fapi/v1/ticker/bookTicker":
        return 2 if sym else 5
    if path == "/fapi/v1/ticker/24hr":
        return 1 if sym else 40
    if path == "/fapi/v1/premiumIndex":
        return 1 if sym else 10
    if path in ("/fapi/v1/openOrders", "/fapi/v1/openAlgoOrders"):
        return 1 if sym else 40
    return 1


def _int(v: str | None, default: int) -> int:
    try:
        return int(v) if v is not None else default
    except ValueError:
        return default


@dataclass
class _IpState:
    window: int = -1
    used: int = 0
    strikes: int = 0            # requests sent after a 429 in the same window
    limited: bool = False
    banned_until: int = 0


@dataclass
class _OrderState:
    win10: int = -1
    n10: int = 0
    win60: int = -1
    n60: int = 0


@dataclass
class RateLimiter:
    weight_per_min: int = 2400
    orders_per_min: int = 1200
    orders_per_10s: int = 300
    ban_after: int = 5              # requests sent while 429-limited before the 418 ban
    ban_seconds: int = 120          # Binance's first ban is 2 minutes, scaling up to 3 days
    ips: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)

    def reset(self) -> None:
        self.ips.clear()
        self.orders.clear()

    def _ban(self, st: _IpState, now_ms: int) -> VenueError:
        secs = max(1, -(-(st.banned_until - now_ms) // 1000))
        e = VenueError(-1003, http=418, msg=f"Way too many requests; IP banned until {st.banned_until}. "
                       "Please use the websocket for live updates to avoid bans.")
        e.retry_after = secs
        return e

    def force_ban(self, ip: str, now_ms: int) -> VenueError:
        st = self.ips.setdefault(ip, _IpState())
        st.banned_until = now_ms + self.ban_seconds * 1000
        return self._ban(st, now_ms)

    def too_many(self, now_ms: int) -> VenueError:
        e = VenueError(-1003, self.weight_per_min)
        e.retry_after = max(1, 60 - (now_ms // 1000) % 60)
        return e

    def charge(self, ip: str, weight: int, now_ms: int) -> int:
        """Add a request's weight; returns the minute's used weight or raises the 429/418 error."""
        st = self.ips.get(ip)
        if st is None:
            st = self.ips[ip] = _IpState()
        if st.banned_until > now_ms:
            raise self._ban(st, now_ms)
        win = now_ms // 60_000
        if win != st.window:
            st.window, st.used, st.limited = win, 0, False
        st.used += weight
        if st.used > self.weight_per_min:
            if st.limited:
                st.strikes += 1
                if st.strikes >= self.ban_after:
                    st.strikes = 0
                    st.banned_until = now_ms + self.ban_seconds * 1000
                    raise self._ban(st, now_ms)
            st.limited = True
            raise self.too_many(now_ms)
        return st.used

    def used(self, ip: str) -> int:
        st = self.ips.get(ip)
        return st.used if st else 0

    def count_order(self, key: str, now_ms: int) -> tuple[int, int]:
        st = self.orders.get(key)
        if st is None:
            st = self.orders[key] = _OrderState()
        w10, w60 = now_ms // 10_000, now_ms // 60_000
        if w10 != st.win10:
            st.win10, st.n10 = w10, 0
        if w60 != st.win60:
            st.win60, st.n60 = w60, 0
        st.n10 += 1
        st.n60 += 1
        if st.n10 > self.orders_per_10s:
            e = VenueError(-1015, self.orders_per_10s, "10 SECOND")
            e.retry_after = max(1, 10 - (now_ms // 1000) % 10)
            e.counts = (st.n10, st.n60)
            raise e
        if st.n60 > self.orders_per_min:
            e = VenueError(-1015, self.orders_per_min, "MINUTE")
            e.retry_after = max(1, 60 - (now_ms // 1000) % 60)
            e.counts = (st.n10, st.n60)
            raise e
        return st.n10, st.n60
