"""Strict request-parameter parsing, as Binance does it (docs/VENUE.md "Bad input").

Every pattern is matched against the WHOLE value (`fullmatch`): `^...$` would accept a trailing newline
(`quantity=0.002%0A`), and `int()` accepts `1_000`, surrounding blanks and non-ASCII digits. The
character classes are ASCII-only on purpose.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal, overload

from .errors import VenueError, bad_param, missing

NUM_PATTERN = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
NUM_RE = re.compile(r"([0-9]{1,20})(\.[0-9]{1,20})?")
INT_RE = re.compile(r"-?[0-9]{1,19}")
CLIENT_ID_PATTERN = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"
CLIENT_ID_RE = re.compile(r"[\.A-Z:/a-z0-9_-]{1,36}")
SIGNATURE_RE = re.compile(r"[0-9a-fA-F]{64}")
INT64_MAX = 2 ** 63 - 1

Params = dict[str, str]     # one request's parameters (query and body), as venue.auth.parse_params reads them


@overload
def num(params: dict, name: str, required: Literal[True] = True) -> Decimal: ...
@overload
def num(params: dict, name: str, required: bool) -> Decimal | None: ...


def num(params: dict, name: str, required: bool = True) -> Decimal | None:
    """A decimal parameter: ASCII digits, optional fraction, nothing else (-1100 otherwise)."""
    v = params.get(name)
    if v is None or v == "":
        if required:
            raise missing(name)
        return None
    if not NUM_RE.fullmatch(v):
        raise VenueError(-1100, name, NUM_PATTERN)
    return Decimal(v)


@overload
def integer(params: dict, name: str, default: int, *, lo: int | None = None, hi: int | None = None,
            code: int = -1130) -> int: ...
@overload
def integer(params: dict, name: str, default: None = None, *, lo: int | None = None, hi: int | None = None,
            code: int = -1130) -> int | None: ...


def integer(params: dict, name: str, default: int | None = None, *, lo: int | None = None,
            hi: int | None = None, code: int = -1130) -> int | None:
    """An integer parameter (ASCII digits, optional '-'), within [lo, hi]; absent or empty -> default.
    Malformed or out of range -> `code` (-1130 "Data sent for parameter ... is not valid" by default)."""
    v = params.get(name)
    if v is None or v == "":
        return default
    if not INT_RE.fullmatch(v):
        raise VenueError(code, name) if code in (-1130, -1102) else VenueError(code, v)
    n = int(v)
    if abs(n) > INT64_MAX or (lo is not None and n < lo) or (hi is not None and n > hi):
        raise VenueError(code, name) if code in (-1130, -1102) else VenueError(code, v)
    return n


def limit(params: dict, default: int, maximum: int) -> int:
    """`limit`: 1..maximum when sent (Binance rejects 0 and negatives rather than answering everything);
    values above the maximum are capped, as Binance does for its list endpoints."""
    n = integer(params, "limit", default, lo=1)
    return min(n, maximum)


def time_param(params: dict, name: str) -> int | None:
    return integer(params, name, None, lo=0)


def flag(params: dict, name: str) -> bool | None:
    v = params.get(name)
    if v is None:
        return None
    lv = v.lower()
    if lv not in ("true", "false"):
        raise bad_param(name)
    return lv == "true"


def client_id(v: str, name: str = "newClientOrderId") -> str:
    if len(v) > 36:
        raise VenueError(-4015)
    if not CLIENT_ID_RE.fullmatch(v):
        raise VenueError(-1100, name, CLIENT_ID_PATTERN)
    return v


# Parameters Binance reads on the order endpoints (USD-M "New Order", "Query / Cancel Order",
# "New Algo Order", ...). Anything else is -1104 there, as on Binance; other endpoints ignore extras.
_SIGNED = ("recvWindow", "timestamp", "signature")
_ORDER_NEW = ("symbol", "side", "positionSide", "type", "timeInForce", "quantity", "reduceOnly", "price",
              "newClientOrderId", "stopPrice", "closePosition", "activationPrice", "callbackRate",
              "workingType", "priceProtect", "newOrderRespType", "priceMatch", "selfTradePreventionMode",
              "goodTillDate")
_ALGO_NEW = ("algoType", "symbol", "side", "positionSide", "type", "timeInForce", "quantity", "price",
             "triggerPrice", "workingType", "priceMatch", "closePosition", "priceProtect", "reduceOnly",
             "activatePrice", "callbackRate", "clientAlgoId", "newOrderRespType", "selfTradePreventionMode",
             "goodTillDate")
ORDER_ENDPOINT_PARAMS: dict[tuple[str, str], frozenset] = {
    ("POST", "/fapi/v1/order"): frozenset(_ORDER_NEW + _SIGNED),
    ("GET", "/fapi/v1/order"): frozenset(("symbol", "orderId", "origClientOrderId") + _SIGNED),
    ("DELETE", "/fapi/v1/order"): frozenset(("symbol", "orderId", "origClientOrderId") + _SIGNED),
    ("GET", "/fapi/v1/openOrder"): frozenset(("symbol", "orderId", "origClientOrderId") + _SIGNED),
    ("DELETE", "/fapi/v1/allOpenOrders"): frozenset(("symbol",) + _SIGNED),
    ("POST", "/fapi/v1/algoOrder"): frozenset(_ALGO_NEW + _SIGNED),
    # `symbol` is tolerated on the algo query / cancel: python-binance's futures_get_order /
    # futures_cancel_order route there with whatever the caller passed for a regular order
    ("GET", "/fapi/v1/algoOrder"): frozenset(("symbol", "algoId", "clientAlgoId") + _SIGNED),
    ("DELETE", "/fapi/v1/algoOrder"): frozenset(("symbol", "algoId", "clientAlgoId") + _SIGNED),
    ("DELETE", "/fapi/v1/algoOpenOrders"): frozenset(("symbol",) + _SIGNED),
}
