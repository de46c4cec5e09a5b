"""The adapter's transport: one logical request (budget wait, retries, Retry-After, -1021 re-sync, 418
ban) and the exchange's clocks (docs/EXCHANGE.md "Retry policy", "The two clocks", quirks 17-22).

Every header and field from the exchange is untrusted input: a Retry-After of -1, nan or 1e308 becomes a
bounded, safe wait, never an exception (errors.parse_retry_after); a garbled time answer is an error the
caller maps to an outcome.
"""
from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Any

from core.brackets import Brackets
from core.filters import SymbolFilters

from .client import HedgeClient
from .errors import (
    ExchangeError,
    IpBannedError,
    RateLimitedError,
    RetryableError,
    TimestampError,
    classify,
)
from .ratelimit import WeightBudget, endpoint_weight
from .records import ServerTime, SymbolConfig
from .retry import RetryPolicy
from .wire import log

# A ban whose end the exchange does not say (or says absurdly) is honoured for this long, at most a day.
_DEFAULT_BAN_S = 60.0
_MAX_BAN_MS = 24 * 3600 * 1000


class Transport:
    def __init__(
        self,
        client: HedgeClient,
        *,
        policy: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        rng: random.Random | None = None,
        budget: WeightBudget | None = None,
        exchange_info_ttl_s: float = 3600.0,
        brackets_ttl_s: float = 86_400.0,
        order_recv_window_ms: int = 2000,
        recv_window_polls: int = 4,
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
        self._brackets: dict[str, Brackets] = {}  # leverage brackets, refreshed daily (account.leverage_brackets)
        self._brackets_at_ms = 0
        self._brackets_ttl_ms = int(brackets_ttl_s * 1000)
        self._dual_side: bool | None = None
        self._setup_done: dict[str, tuple[int, str]] = {}
        self._symbol_config: dict[str, SymbolConfig] = {}  # leverage / margin type as last read or set
        self.last_market_time_ms = 0  # newest market-time stamp seen on any market data
        self.requests_sent = 0
        # recvWindow of order and protective-order POSTs (docs/EXCHANGE.md "Idempotent submission"): short,
        # because after an ambiguous submit the adapter waits until it has passed before trusting "not found".
        if not 100 <= int(order_recv_window_ms) <= 60_000:
            raise ValueError("order_recv_window_ms must be within [100, 60000] (Binance's bounds)")
        self.order_recv_window_ms = int(order_recv_window_ms)
        self.recv_window_polls = max(1, int(recv_window_polls))
        self.order_posts_sent = 0  # order / protective POSTs that left (or may have left) this process
        self.last_signed_ms = 0  # upper bound of the timestamp python-binance signed the last send with

    @property
    def dry_run(self) -> bool:
        return self.client.dry_run

    # ================================================================== the request core
    def _now_ms(self) -> int:
        """Local clock corrected to the exchange's wall clock (the clock signatures are checked against)."""
        return self._clock_ms() + int(self.client.timestamp_offset)

    def _request(self, endpoint: str, fn: Callable[..., Any], params: dict | None = None, *,
                 weight: int | None = None, is_order: bool = False, retry_retryable: bool = True) -> Any:
        """One logical call: budget wait, -1021 re-sync (once), Retry-After on 429, backoff for retryables.

        `retry_retryable=False` is for submits: a timeout/5xx there is ambiguous and the caller resolves it
        by querying, never by blind resending. 429 and -1021 are retried even then, because the exchange
        rejected those requests before processing them.
        """
        params = params or {}
        weight = endpoint_weight(endpoint) if weight is None else weight
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
                    until = self._ban_until_ms(err)
                    err.until_ms = until
                    self.budget.block(until)
                    log.error("[exutil] IP_BANNED until_ms=%s endpoint=%s: no request until then", until, endpoint)
                    raise err from err.__cause__
                if isinstance(err, TimestampError):
                    if resynced:
                        raise err from err.__cause__
                    log.warning("[exutil] -1021 on %s: re-syncing time and retrying once", endpoint)
                    self.sync_time()
                    resynced = True
                    attempt -= 1  # the re-sync retry is free: the request was refused, not processed
                    continue
                if isinstance(err, RateLimitedError):
                    # retry_after is already parsed safely (finite, >= 0, bounded) or None: use our own backoff
                    wait = err.retry_after if err.retry_after is not None else self.policy.backoff(attempt, self._rng)
                    if not wait <= self.policy.max_retry_after_s or attempt >= self.policy.max_attempts:
                        raise err from err.__cause__
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
                raise err from err.__cause__
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
        if wait_ms / 1000 > self.policy.max_retry_after_s:
            # a caller that must keep its pace (sync_state: max_retry_after_s=5) is not put to sleep for the
            # rest of the window: it gets a local rate-limit error, nothing sent (docs/EXCHANGE.md)
            # (no changing figure in the text: sync_state logs STALE once per distinct reason)
            raise RateLimitedError(f"local weight budget spent: the window resets later than "
                                   f"max_retry_after_s={self.policy.max_retry_after_s:g}",
                                   retry_after=wait_ms / 1000, sent=False)
        if wait_ms > 0:
            log.warning("[exutil] RATE_BUDGET slow down %s: sleeping %.3fs until the window resets", why,
                        wait_ms / 1000)
            self._sleep(wait_ms / 1000)
            self.budget.window_elapsed()  # the window we waited for has rolled; headers will confirm


    def _ban_until_ms(self, err: IpBannedError) -> int:
        """When a 418 ban ends: the exchange's `until_ms` if it is sane, else now + Retry-After (or 60 s);
        never later than a day from now, never in the past (both are garbage)."""
        now = self._now_ms()
        until = err.until_ms if isinstance(err.until_ms, int) and now < err.until_ms <= now + _MAX_BAN_MS else None
        if until is None:
            ra = err.retry_after if err.retry_after is not None and math.isfinite(err.retry_after) else _DEFAULT_BAN_S
            until = now + int(min(max(ra, 1.0), _MAX_BAN_MS / 1000) * 1000)
        return until

    def sync_time(self) -> ServerTime:
        """`GET /fapi/v1/time` -> `client.timestamp_offset` (server minus local, at the round-trip midpoint)."""
        stamps: dict[str, int] = {}

        def timed_call() -> Any:
            # Time only the attempt that answered: retries before it must not skew the midpoint.
            stamps["t0"] = self._clock_ms()
            answer = self.client.futures_time()
            stamps["t1"] = self._clock_ms()
            return answer

        server = _server_time(self._request("time", timed_call))
        t0, t1 = stamps["t0"], stamps["t1"]
        offset = server - (t0 + t1) // 2
        self.client.timestamp_offset = offset
        log.info("[exutil] TIME_SYNC offset_ms=%d rtt_ms=%d", offset, t1 - t0)
        return ServerTime(server, offset, float(t1 - t0))

    def server_time_ms(self) -> int:
        """The exchange's wall clock (signatures, recvWindow, rate-limit windows). Not market time."""
        return _server_time(self._request("time", self.client.futures_time))

    def _saw_market_time(self, t_ms: int) -> None:
        if t_ms > self.last_market_time_ms:
            self.last_market_time_ms = t_ms

    # ================================================================== the duplicate window
    def _signing_clock_ms(self) -> int:
        """python-binance's signing clock: it stamps `timestamp = time.time() * 1000 + timestamp_offset`.
        Read right after a send, it bounds from above the timestamp that send carried."""
        return int(time.time() * 1000 + float(getattr(self.client, "timestamp_offset", 0) or 0))

    def _send_order(self, call: Callable[..., Any]) -> Callable[..., Any]:
        """`call` with the short order recvWindow, remembering when its signature was stamped."""
        def send(**params: Any) -> Any:
            saved: int = getattr(self.client, "REQUEST_RECVWINDOW", 5000)
            self.client.REQUEST_RECVWINDOW = self.order_recv_window_ms
            self.order_posts_sent += 1
            try:
                return call(**params)
            finally:
                self.last_signed_ms = self._signing_clock_ms()
                self.client.REQUEST_RECVWINDOW = saved
        return send

    def _await_recv_window(self, signed_ms: int, min_wait_s: float) -> bool:
        """Wait until the exchange can no longer execute a request signed at or before `signed_ms`.

        Binance refuses a request whose timestamp is older than recvWindow when it ARRIVES. So once server
        time has passed `signed_ms + recvWindow`, a late original can never be executed any more and a
        "not found" is final: a resend cannot double (docs/EXCHANGE.md "Idempotent submission"). Judged by
        the exchange's clock (GET /fapi/v1/time), at most `recv_window_polls` polls. False when the window
        could not be seen to pass (time query failing, the server clock not advancing): the caller must
        then not trust "not found".
        """
        deadline = signed_ms + self.order_recv_window_ms
        wait_s = max(min_wait_s, (deadline - self._signing_clock_ms()) / 1000 + 0.05)
        for _ in range(self.recv_window_polls):
            self._sleep(min(max(wait_s, 0.0), self.order_recv_window_ms / 1000 + 1.0))
            try:
                server = self.server_time_ms()
            except ExchangeError as e:
                log.warning("[exutil] RECV_WINDOW cannot read server time (%s): not trusting 'not found'", e)
                return False
            if server > deadline:
                return True
            wait_s = (deadline - server) / 1000 + 0.05
        log.warning("[exutil] RECV_WINDOW server time did not pass %d after %d polls: not trusting 'not found'",
                    deadline, self.recv_window_polls)
        return False


def _server_time(doc: Any) -> int:
    """`serverTime` of a /fapi/v1/time answer; a garbled answer is a retryable error, not a KeyError."""
    value = doc.get("serverTime") if isinstance(doc, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise RetryableError(f"invalid time answer: {str(doc)[:200]}")
    try:
        ms = int(value)
    except ValueError:
        raise RetryableError(f"invalid serverTime: {str(value)[:50]}") from None
    if not 0 < ms < 10 ** 14:
        raise RetryableError(f"invalid serverTime: {ms}")
    return ms
