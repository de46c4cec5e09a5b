"""The adapter's error taxonomy: every exchange failure becomes one of a few typed errors.

Callers branch on the class, never on Binance codes or HTTP statuses; those stay in this module.

    ExchangeError
    ├── RetryableError          5xx, -1000/-1001/-1006/-1007/-1008, network errors and timeouts
    │   ├── RateLimitedError    429, -1003, -1015 (honour retry_after)
    │   │   └── IpBannedError   418 (banned until `until_ms`: do not call again before then)
    │   └── TimestampError      -1021, -5028 (re-sync the clock, then retry once)
    ├── InvalidOrderError       filters, parameters, -1106, -4061, -2011/-2013, -4116 ...
    │   ├── UnknownOrderError   -2011, -2013 (the order is not there)
    │   └── DuplicateOrderError -4116 (clientOrderId already used: fetch the original)
    ├── InsufficientMarginError -2018, -2019, -2027, -2028, -4050, -4051
    ├── AuthError               -1002, -1022, -2014, -2015, -2017, -1099, -4056, -4057, 401
    ├── NoChangeNeededError     -4046, -4059, -4171 (the setting already has that value: success)
    └── AmbiguousError          a submit whose outcome could not be determined (for callers that raise;
                                the adapter itself reports it as Outcome.UNKNOWN)
"""
from __future__ import annotations

import re
from typing import Any

import requests
from binance.exceptions import BinanceAPIException, BinanceRequestException


class ExchangeError(Exception):
    """Base class. `code` is Binance's code (None for transport errors), `status` the HTTP status."""

    kind = "error"
    retryable = False

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None,
                 retry_after: float | None = None, until_ms: int | None = None, sent: bool = True):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retry_after = retry_after  # seconds, from Retry-After
        self.until_ms = until_ms  # epoch ms a ban ends (418)
        # False only when the request provably never left this process (connect refused / connect timeout):
        # a submit that failed that way is safe to resend without querying first.
        self.sent = sent

    def __str__(self) -> str:
        parts = [self.kind]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.status is not None:
            parts.append(f"http={self.status}")
        return f"{' '.join(parts)}: {self.message}"


class RetryableError(ExchangeError):
    kind = "retryable"
    retryable = True


class RateLimitedError(RetryableError):
    kind = "rate_limited"


class IpBannedError(RateLimitedError):
    kind = "ip_banned"
    retryable = False  # calling during a ban extends it (Binance: "2 minutes to 3 days")


class TimestampError(RetryableError):
    kind = "timestamp"


class InvalidOrderError(ExchangeError):
    kind = "invalid_order"


class UnknownOrderError(InvalidOrderError):
    kind = "unknown_order"


class DuplicateOrderError(InvalidOrderError):
    kind = "duplicate_order"


class InsufficientMarginError(ExchangeError):
    kind = "insufficient_margin"


class AuthError(ExchangeError):
    kind = "auth"


class NoChangeNeededError(ExchangeError):
    kind = "no_change_needed"


class AmbiguousError(ExchangeError):
    kind = "ambiguous"


# ------------------------------------------------------------------ code tables

RETRYABLE_CODES = frozenset({-1000, -1001, -1006, -1007, -1008})
RATE_LIMIT_CODES = frozenset({-1003, -1015})
TIMESTAMP_CODES = frozenset({-1021, -5028})
AUTH_CODES = frozenset({-1002, -1022, -1099, -2014, -2015, -2017, -4056, -4057, -1011})
MARGIN_CODES = frozenset({-2018, -2019, -2027, -2028, -4050, -4051})
UNKNOWN_ORDER_CODES = frozenset({-2011, -2013})
DUPLICATE_CODES = frozenset({-4116})
NO_CHANGE_CODES = frozenset({-4046, -4059, -4171})
# Codes that mean "this request is wrong and will stay wrong": params (-11xx), order rejections (-2xxx),
# filters and futures rules (-4xxx), order-type rejections (-5xxx). Anything not listed above in these
# ranges is an InvalidOrderError.
_INVALID_RANGES = ((-1199, -1100), (-2099, -2000), (-4999, -4000), (-5999, -5000))

_BAN_UNTIL = re.compile(r"banned until (\d{10,})")


def error_for(code: int | None, status: int | None, message: str = "", *,
              retry_after: float | None = None) -> ExchangeError:
    """Pure mapping from (Binance code, HTTP status) to the taxonomy. Status wins for 418/429/5xx."""
    msg = message or (f"HTTP {status}" if status else "exchange error")
    kw: dict[str, Any] = dict(code=code, status=status, retry_after=retry_after)
    if status == 418:
        m = _BAN_UNTIL.search(msg[:1000])
        until = int(m.group(1)) if m and len(m.group(1)) <= 16 else None  # the adapter bounds it further
        return IpBannedError(msg, until_ms=until, **kw)
    if status == 429 or code in RATE_LIMIT_CODES:
        return RateLimitedError(msg, **kw)
    if code in TIMESTAMP_CODES:
        return TimestampError(msg, **kw)
    if code in AUTH_CODES or status in (401, 403) and code is None:
        return AuthError(msg, **kw)
    if code in MARGIN_CODES:
        return InsufficientMarginError(msg, **kw)
    if code in UNKNOWN_ORDER_CODES:
        return UnknownOrderError(msg, **kw)
    if code in DUPLICATE_CODES:
        return DuplicateOrderError(msg, **kw)
    if code in NO_CHANGE_CODES:
        return NoChangeNeededError(msg, **kw)
    if code in RETRYABLE_CODES or (status is not None and status >= 500):
        # Binance documents 5xx as "execution status UNKNOWN": retryable for reads, ambiguous for submits.
        return RetryableError(msg, **kw)
    if code is not None and any(lo <= code <= hi for lo, hi in _INVALID_RANGES):
        return InvalidOrderError(msg, **kw)
    if code in (-1013, -1014, -1020, -1023):
        return InvalidOrderError(msg, **kw)
    return ExchangeError(msg, **kw)


# A Retry-After beyond a day is nonsense; it is kept as "a day" so the caller still sees "too long to wait".
MAX_RETRY_AFTER_S = 86_400.0


def parse_retry_after(value: object) -> float | None:
    """Retry-After (seconds) as a finite number in [0, a day], or None when it is absent or garbage.

    Headers are untrusted input (docs/EXCHANGE.md quirk 18): -1, nan, "soon", 1e308 or a 5,000-digit number
    must never raise, nor make us sleep forever or not at all. None = the caller uses its own backoff; a
    huge value is capped at a day (and then exceeds any wait the adapter is willing to do inside a call).
    """
    if value is None or isinstance(value, bool):
        return None
    text = value.decode("latin-1", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if not text or len(text) > 32:
        return None
    try:
        seconds = float(text)
    except ValueError:  # an HTTP-date form is legal in HTTP but Binance never sends it: use our backoff
        return None
    if seconds != seconds or seconds < 0:  # NaN, negative
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def _retry_after(response) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None or not hasattr(headers, "get"):
        return None
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
    except Exception:  # noqa: BLE001 - a broken headers object is garbage input, not a crash
        return None
    return parse_retry_after(value)


def classify(exc: BaseException) -> ExchangeError:
    """Any exception from python-binance / requests -> the taxonomy. ExchangeErrors pass through."""
    if isinstance(exc, ExchangeError):
        return exc
    if isinstance(exc, BinanceAPIException):
        code = exc.code if isinstance(exc.code, int) and exc.code != 0 else None
        err = error_for(code, exc.status_code, str(exc.message or ""), retry_after=_retry_after(exc.response))
        err.__cause__ = exc
        return err
    if isinstance(exc, BinanceRequestException):  # 2xx with a body that is not JSON: truncated/garbled
        return _wrap(RetryableError(f"invalid response: {exc.message}"[:300]), exc)
    if isinstance(exc, (requests.exceptions.ConnectTimeout,)):
        return _wrap(RetryableError(f"connect timeout: {exc}", sent=False), exc)
    if isinstance(exc, requests.exceptions.Timeout):  # read timeout: the request may have been processed
        return _wrap(RetryableError(f"timeout: {exc}"), exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        # Refused / reset before a byte was sent is provably unsent; a dropped connection after sending
        # ("Connection aborted", "RemoteDisconnected") is not.
        text = str(exc)
        unsent = "NewConnectionError" in text or "Connection refused" in text
        return _wrap(RetryableError(f"connection error: {text}"[:300], sent=not unsent), exc)
    if isinstance(exc, requests.exceptions.RequestException):
        return _wrap(RetryableError(f"request error: {exc}"[:300]), exc)
    return _wrap(ExchangeError(f"{type(exc).__name__}: {exc}"[:300]), exc)


def _wrap(err: ExchangeError, cause: BaseException) -> ExchangeError:
    err.__cause__ = cause
    return err
