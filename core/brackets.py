"""Leverage brackets: maintenance margin, the notional a leverage allows, liquidation price (docs/RISK.md
"Brackets and liquidation", docs/VENUE.md "Margin, brackets and liquidation").

Pure and the one implementation: the venue's margin model (venue/brackets.py, venue/engine.py) and the risk
check (core/risk/checks.py `bracket_notional`, `liquidation_distance`) both use it.

A symbol has tiers by position notional: `[floor, cap)`, the highest leverage the tier allows, its
maintenance margin ratio (MMR) and `cum`, so that maintenance margin = |notional| x MMR - cum is
continuous across tiers.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.numbers import parse_decimal

__all__ = ["Tier", "Brackets", "tiers_with_cum", "brackets_from_doc", "liquidation_price", "cross_margin"]

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass(frozen=True)
class Tier:
    bracket: int
    initial_leverage: int
    floor: Decimal  # notionalFloor (inclusive)
    cap: Decimal  # notionalCap (exclusive)
    mmr: Decimal  # maintMarginRatio
    cum: Decimal

    def view(self) -> dict[str, Any]:
        """Binance's JSON shape of one bracket (GET /fapi/v1/leverageBracket)."""
        return {"bracket": self.bracket, "initialLeverage": self.initial_leverage,
                "notionalCap": _num(self.cap), "notionalFloor": _num(self.floor),
                "maintMarginRatio": float(self.mmr), "cum": float(self.cum)}


def _num(x: Decimal) -> int | float:
    return int(x) if x == x.to_integral_value() else float(x)


@dataclass(frozen=True)
class Brackets:
    symbol: str
    tiers: tuple[Tier, ...]  # ascending by floor, at least one

    @property
    def max_leverage(self) -> int:
        return self.tiers[0].initial_leverage

    def tier(self, notional: Decimal) -> Tier:
        """The tier whose [floor, cap) holds |notional| (the last tier beyond its cap)."""
        n = abs(notional)
        for t in self.tiers:
            if n < t.cap:
                return t
        return self.tiers[-1]

    def maint(self, notional: Decimal) -> Decimal:
        """Maintenance margin of a position of this notional: |n| x mmr - cum of its tier."""
        n = abs(notional)
        t = self.tier(n)
        return n * t.mmr - t.cum

    def maint_f(self, notional: float) -> float:
        """`maint` in floats (the venue's indexed advance bounds many legs per bar)."""
        n = abs(notional)
        for t in self.tiers:
            if n < t.cap:
                return n * float(t.mmr) - float(t.cum)
        t = self.tiers[-1]
        return n * float(t.mmr) - float(t.cum)

    def max_notional(self, leverage: int | Decimal) -> Decimal:
        """The largest position notional the leverage allows: the cap of the last tier permitting it
        (0 when even tier 1 does not allow it: Binance -4028)."""
        caps = [t.cap for t in self.tiers if t.initial_leverage >= leverage]
        return max(caps) if caps else ZERO

    def view(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "brackets": [t.view() for t in self.tiers]}


def tiers_with_cum(rows: Iterable[tuple[Decimal, Decimal, int, Decimal]]) -> tuple[Tier, ...]:
    """rows (floor, cap, leverage, mmr) ascending -> tiers whose `cum` follows from continuity:
    cum_i = cum_(i-1) + floor_i x (mmr_i - mmr_(i-1))."""
    out: list[Tier] = []
    cum, prev = ZERO, None
    for i, (floor, cap, lev, mmr) in enumerate(rows):
        if prev is not None:
            cum = cum + floor * (mmr - prev)
        out.append(Tier(i + 1, lev, floor, cap, mmr, cum))
        prev = mmr
    return tuple(out)


def brackets_from_doc(doc: Mapping[str, Any]) -> Brackets:
    """One element of Binance's leverageBracket answer (`{symbol, brackets: [...]}`); `cum` as published.
    Raises ValueError / KeyError / TypeError on a malformed element (callers turn that into their error)."""
    rows = doc["brackets"]
    tiers = tuple(
        Tier(int(b["bracket"]), int(b["initialLeverage"]), parse_decimal(b["notionalFloor"]),
             parse_decimal(b["notionalCap"]), parse_decimal(b["maintMarginRatio"]), parse_decimal(b["cum"]))
        for b in sorted(rows, key=lambda b: int(b["bracket"])))
    if not tiers:
        raise ValueError(f"{doc.get('symbol')}: no brackets")
    for t in tiers:
        if not (t.initial_leverage >= 1 and t.cap > t.floor >= 0 and 0 <= t.mmr < 1 and t.cum.is_finite()):
            raise ValueError(f"{doc.get('symbol')}: bracket {t.bracket} is not a valid tier: {t.view()}")
    return Brackets(str(doc["symbol"]), tiers)


def cross_margin(cross_wallet: Decimal, others: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """The margin backing one cross leg: cross wallet + sum over the OTHER cross legs of
    (unrealized PnL - maintenance margin); `others` yields (unrealized PnL, maintenance margin)."""
    return cross_wallet + sum((un - mm for un, mm in others), ZERO)


def liquidation_price(brackets: Brackets, amount: Decimal, entry: Decimal, margin: Decimal,
                      mark: Decimal | None = None) -> Decimal:
    """Binance's single-position liquidation price, with the tier that holds the liquidation notional:

        LP = (margin + cum - side x Q x EP) / (Q x MMR - side x Q)

    side +1 long / -1 short (the sign of `amount`), Q = |amount|, EP = entry price; `margin` is the isolated
    wallet (isolated) or `cross_margin(...)` (cross). Tiers are tried from 1 up; when none is self-consistent
    the tier of the current notional (at `mark`, else the entry) is used. 0 for a flat leg or when the margin
    covers any fall to zero (a long that cannot be liquidated)."""
    if amount == 0:
        return ZERO
    q = abs(amount)
    side = ONE if amount > 0 else -ONE
    tiers = brackets.tiers
    for t in tiers:
        cand = (margin + t.cum - side * q * entry) / (q * t.mmr - side * q)
        if t.floor <= q * cand < t.cap or (t is tiers[-1] and q * cand >= t.floor):
            return max(cand, ZERO)
    t = brackets.tier(q * (mark if mark is not None else entry))
    return max((margin + t.cum - side * q * entry) / (q * t.mmr - side * q), ZERO)
