"""Deterministic client order ids: the same intent slice always gets the same `newClientOrderId`.

That is what makes a resend safe: Binance answers -4116 for a duplicate id, and a lost response can be
resolved by `GET /fapi/v1/order?origClientOrderId=...`. The id is derived, never random.

Format: `hg-<readable part of the intent id>-<10 hex of sha256(intent id)>-<slice>[r<revision>]`, at most
36 characters from Binance's set `^[\\.A-Z\\:/a-z0-9_-]{1,36}$`. The hash keeps ids of intents that share a
long prefix (or differ only in characters we had to replace) distinct. `revision` is for a deliberate
re-placement of the same slice after a cancel (a new order, so a new id).
"""
from __future__ import annotations

import hashlib
import re

MAX_LEN = 36
PREFIX = "hg"
VALID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")  # ':', '/', '.' are legal too, but keep ids grep- and path-friendly


def make_client_order_id(intent_id: str, slice_index: int = 0, revision: int = 0) -> str:
    if not intent_id:
        raise ValueError("intent_id must be non-empty")
    if slice_index < 0 or revision < 0:
        raise ValueError("slice_index and revision must be >= 0")
    digest = hashlib.sha256(intent_id.encode("utf-8")).hexdigest()[:10]
    tail = f"-{digest}-{slice_index}" + (f"r{revision}" if revision else "")
    room = MAX_LEN - len(PREFIX) - 1 - len(tail)
    if room < 0:
        raise ValueError("slice_index/revision too large for a 36-character id")
    readable = _UNSAFE.sub("_", intent_id)[:room].strip("_-")
    cid = f"{PREFIX}-{readable}{tail}" if readable else f"{PREFIX}{tail}"
    assert VALID.match(cid), cid
    return cid


def is_valid_client_order_id(cid: str) -> bool:
    return bool(cid) and bool(VALID.match(cid))
