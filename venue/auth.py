"""Binance request signing: X-MBX-APIKEY + HMAC-SHA256 over totalParams (raw query string followed by
the raw body, each without its `signature=` item). Verified over the bytes as sent: python-binance and
other clients order and quote parameters differently, so re-serialising parsed params would break them.
"""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from .errors import VenueError, missing
from .params import SIGNATURE_RE, integer
from .records import Account

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000
MAX_AHEAD_MS = 1000


def strip_signature(raw: str) -> tuple[str, str | None]:
    """(raw string without the signature item, the signature) - done on the raw text."""
    if "signature=" not in raw:
        return raw, None
    keep, sig = [], None
    for item in raw.split("&"):
        if item.startswith("signature="):
            sig = item[len("signature="):]
        else:
            keep.append(item)
    return "&".join(keep), sig


def parse_params(raw_query: str, raw_body: str) -> dict[str, str]:
    """Query string and body as one dict. A parameter sent twice - twice in one part, or once in the query
    and once in the body - is -1101, as Binance: the signature covers query + body as sent, so a re-split
    of the same signed bytes must not verify into a different request."""
    params: dict[str, str] = {}
    for raw in (raw_query, raw_body):
        if raw:
            for k, v in parse_qsl(raw, keep_blank_values=True):
                if k in params:
                    raise VenueError(-1101)
                params[k] = v
    return params


def check_known(params: dict, allowed: frozenset) -> None:
    """Unknown parameters on an order endpoint: -1104, as Binance ("read N parameter(s) but was sent M")."""
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise VenueError(-1104, len(params) - len(unknown), len(params))


def check_key(api_key: str | None, accounts: dict[str, Account]) -> Account:
    if not api_key:
        raise VenueError(-2014)
    acct = accounts.get(api_key)
    if acct is None:
        raise VenueError(-2015)
    return acct


def verify_signed(raw_query: str, raw_body: str, params: dict, secret: str, server_ms: int) -> None:
    """Timestamp / recvWindow first (as Binance), then the signature."""
    ts_i = integer(params, "timestamp", lo=0, code=-1102)
    if ts_i is None:                            # absent or empty
        raise missing("timestamp")
    recv = integer(params, "recvWindow", DEFAULT_RECV_WINDOW, lo=1, hi=MAX_RECV_WINDOW)
    if ts_i - server_ms > MAX_AHEAD_MS:
        raise VenueError(-1021, msg="Timestamp for this request was 1000ms ahead of the server's time.")
    if server_ms - ts_i > recv:
        raise VenueError(-1021)
    q, sig_q = strip_signature(raw_query)
    b, sig_b = strip_signature(raw_body)
    sig = sig_q or sig_b
    if not sig:
        raise missing("signature")
    if not SIGNATURE_RE.fullmatch(sig):       # also keeps non-ASCII out of compare_digest (TypeError)
        raise VenueError(-1022)
    want = hmac.new(secret.encode(), (q + b).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig.lower()):
        raise VenueError(-1022)
