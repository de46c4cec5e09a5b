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
    if slice_index < 0 or revision < 0:
        raise ValueError("slice_index and revision must be >= 0")
    return _make_id(PREFIX, intent_id, f"{slice_index}" + (f"r{revision}" if revision else ""))


# Protective (conditional) orders: `clientAlgoId`. A separate prefix, because the order a fired conditional
# becomes carries the clientAlgoId as its clientOrderId: it must never collide with a regular order's id.
PROTECTIVE_PREFIX = "hp"
PROTECTIVE_KIND_TAGS = {"STOP_MARKET": "sl", "TAKE_PROFIT_MARKET": "tp"}


def make_client_algo_id(intent_id: str, kind: str, revision: int = 0) -> str:
    """Deterministic `clientAlgoId` of the protective order of `kind` for `intent_id`.

    `hp-<readable intent>-<10 hex of sha256(intent)>-<sl|tp>[r<revision>]`: one STOP_MARKET and one
    TAKE_PROFIT_MARKET per intent, the same id after a crash and restart. `revision` is for a deliberate
    re-placement (moving a stop = cancel, then place revision + 1).
    """
    tag = PROTECTIVE_KIND_TAGS.get(str(kind).upper())
    if tag is None:
        raise ValueError(f"kind must be one of {sorted(PROTECTIVE_KIND_TAGS)}, got {kind!r}")
    if revision < 0:
        raise ValueError("revision must be >= 0")
    return _make_id(PROTECTIVE_PREFIX, intent_id, tag + (f"r{revision}" if revision else ""))


def _make_id(prefix: str, intent_id: str, suffix: str) -> str:
    if not intent_id:
        raise ValueError("intent_id must be non-empty")
    digest = hashlib.sha256(intent_id.encode("utf-8")).hexdigest()[:10]
    tail = f"-{digest}-{suffix}"
    room = MAX_LEN - len(prefix) - 1 - len(tail)
    if room < 0:
        raise ValueError("slice_index/revision too large for a 36-character id")
    readable = _UNSAFE.sub("_", intent_id)[:room].strip("_-")
    cid = f"{prefix}-{readable}{tail}" if readable else f"{prefix}{tail}"
    assert VALID.match(cid), cid
    return cid


def is_valid_client_order_id(cid: str) -> bool:
    return bool(cid) and bool(VALID.match(cid))
