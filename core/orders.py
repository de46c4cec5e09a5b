"""The order vocabulary: hedge-mode side rules and the intent of an order, written once.

Used by the core (risk, cycle, screener, portfolio, SL/TP), the exchange adapter and the venue test helpers,
so "which side opens a LONG leg" or "does this order close that leg" has one answer everywhere
(docs/RISK.md "Which orders reduce risk", docs/EXCHANGE.md quirk 4).

Hedge mode (dual-side, Hedge's production mode): a position is a *leg* (symbol, LONG|SHORT).
    BUY  + LONG  opens / grows the long leg       SELL + LONG  closes / shrinks it
    SELL + SHORT opens / grows the short leg      BUY  + SHORT closes / shrinks it
One-way mode uses positionSide BOTH; whether an order closes depends on the net position, not on the pair.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

__all__ = [
    "BUY", "SELL", "LONG", "SHORT", "BOTH", "SIDES", "LEGS", "POSITION_SIDES",
    "Intent", "parse_intent", "entry_side", "exit_side", "entry_leg", "exit_leg",
    "closes_leg", "opens_leg", "intent_of", "direction_side", "leg_direction",
]

BUY, SELL = "BUY", "SELL"
LONG, SHORT, BOTH = "LONG", "SHORT", "BOTH"
SIDES = (BUY, SELL)
LEGS = (LONG, SHORT)
POSITION_SIDES = (LONG, SHORT, BOTH)

_ENTRY_SIDE = {LONG: BUY, SHORT: SELL}
_EXIT_SIDE = {LONG: SELL, SHORT: BUY}
_ENTRY_LEG = {BUY: LONG, SELL: SHORT}
_EXIT_LEG = {SELL: LONG, BUY: SHORT}


class Intent(StrEnum):
    """What an order is meant to do to its leg. The one vocabulary: no synonyms (INCREASE, EXIT, ...)."""

    OPEN = "OPEN"    # open or grow a leg
    CLOSE = "CLOSE"  # shrink or close a leg


def parse_intent(value: Any) -> Intent | None:
    """None / "" -> None (undeclared); an Intent or "open"/"close" (any case) -> the Intent.

    Anything else raises ValueError: callers that must never raise (the risk choke point) catch it and veto.
    """
    if value is None or isinstance(value, Intent):
        return value
    text = str(value).strip().upper()
    if not text:
        return None
    try:
        return Intent(text)
    except ValueError:
        raise ValueError(f"intent must be OPEN or CLOSE, got {value!r}") from None


def _u(value: Any) -> str:
    return str(value).strip().upper()


def entry_side(leg: str) -> str:
    """The order side that opens/grows `leg` (LONG -> BUY, SHORT -> SELL). KeyError for anything else."""
    return _ENTRY_SIDE[_u(leg)]


def exit_side(leg: str) -> str:
    """The order side that closes/shrinks `leg` (LONG -> SELL, SHORT -> BUY)."""
    return _EXIT_SIDE[_u(leg)]


def entry_leg(side: str) -> str:
    """The hedge leg an opening order of `side` adds to (BUY -> LONG, SELL -> SHORT)."""
    return _ENTRY_LEG[_u(side)]


def exit_leg(side: str) -> str:
    """The hedge leg a closing order of `side` shrinks (SELL -> LONG, BUY -> SHORT)."""
    return _EXIT_LEG[_u(side)]


def closes_leg(side: str, position_side: str) -> bool:
    """Hedge mode: True for SELL+LONG and BUY+SHORT (the order shrinks that leg). False for BOTH."""
    return _EXIT_LEG.get(_u(side)) == _u(position_side)


def opens_leg(side: str, position_side: str) -> bool:
    """Hedge mode: True for BUY+LONG and SELL+SHORT (the order grows that leg). False for BOTH."""
    return _ENTRY_LEG.get(_u(side)) == _u(position_side)


def intent_of(side: str, position_side: str) -> Intent | None:
    """What a hedge-mode (side, leg) pair does; None when it cannot tell (BOTH, or a bad value)."""
    if closes_leg(side, position_side):
        return Intent.CLOSE
    if opens_leg(side, position_side):
        return Intent.OPEN
    return None


def direction_side(direction: str, intent: Intent) -> str:
    """The side that opens (Intent.OPEN) or closes (Intent.CLOSE) a position pointing `direction`."""
    return entry_side(direction) if intent is Intent.OPEN else exit_side(direction)


def leg_direction(position_side: str, direction: str | None = None) -> str:
    """Which way a leg points: a hedge leg is its own side; a one-way (BOTH) leg must say (LONG/SHORT).

    ValueError when they contradict (LONG leg said to point SHORT) or a BOTH leg gives no direction.
    """
    ps = _u(position_side)
    d = _u(direction) if direction else ""
    if ps in LEGS:
        if d and d != ps:
            raise ValueError(f"direction {direction!r} contradicts position_side {ps}")
        return ps
    if ps == BOTH and d in LEGS:
        return d
    raise ValueError(f"need position_side LONG/SHORT, or BOTH with direction LONG/SHORT "
                     f"(got {position_side!r}, {direction!r})")
