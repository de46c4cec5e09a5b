"""Notional and leverage brackets (docs/VENUE.md "Margin, brackets and liquidation").

Each symbol has tiers by position notional: the highest leverage the tier allows, its maintenance margin
ratio and `cum`, so that maintenance margin = notional x maintMarginRatio - cum is continuous across tiers.
With `--data DIR` the venue loads Binance's own brackets from DIR/exchange/leverageBracket-fapi.json (the
answer of GET /fapi/v1/leverageBracket); a symbol missing there, or a venue without that file, gets the
default table below, built on the symbol's exchangeInfo `maintMarginPercent`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ZERO = Decimal(0)

# The default table: (notional floor in USDT, highest leverage, maintenance margin ratio or None for the
# symbol's maintMarginPercent). Tier 1 keeps the venue's historical rules (up to 125x, the exchangeInfo
# rate); larger positions step through Binance's usual ladder, so -2027 and tiered maintenance exist on
# synthetic data too. `cum` is derived (continuity), never written by hand.
DEFAULT_TABLE = (
    (0, 125, None),
    (5_000_000, 20, Decimal("0.05")),
    (20_000_000, 10, Decimal("0.1")),
    (50_000_000, 5, Decimal("0.125")),
    (100_000_000, 2, Decimal("0.25")),
    (200_000_000, 1, Decimal("0.5")),
)
DEFAULT_TOP_CAP = 500_000_000


@dataclass(frozen=True)
class Tier:
    bracket: int
    initial_leverage: int
    floor: Decimal          # notionalFloor (inclusive)
    cap: Decimal            # notionalCap
    mmr: Decimal            # maintMarginRatio
    cum: Decimal

    def view(self) -> dict:
        return {"bracket": self.bracket, "initialLeverage": self.initial_leverage,
                "notionalCap": _num(self.cap), "notionalFloor": _num(self.floor),
                "maintMarginRatio": float(self.mmr), "cum": float(self.cum)}


def _num(x: Decimal) -> int | float:
    return int(x) if x == x.to_integral_value() else float(x)


@dataclass(frozen=True)
class Brackets:
    symbol: str
    tiers: tuple[Tier, ...]

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
        """Maintenance margin of a position of this notional: n x mmr - cum of its tier."""
        n = abs(notional)
        t = self.tier(n)
        return n * t.mmr - t.cum

    def maint_f(self, notional: float) -> float:
        n = abs(notional)
        for t in self.tiers:
            if n < t.cap:
                return n * float(t.mmr) - float(t.cum)
        t = self.tiers[-1]
        return n * float(t.mmr) - float(t.cum)

    def max_notional(self, leverage: int) -> Decimal:
        """The largest position notional the leverage allows: the cap of the last tier permitting it."""
        caps = [t.cap for t in self.tiers if t.initial_leverage >= leverage]
        return max(caps) if caps else ZERO

    def view(self) -> dict:
        return {"symbol": self.symbol, "brackets": [t.view() for t in self.tiers]}


def _tiers(rows: list[tuple[Decimal, Decimal, int, Decimal]]) -> tuple[Tier, ...]:
    """rows: (floor, cap, leverage, mmr) ascending -> tiers with cum from continuity."""
    out, cum, prev = [], ZERO, None
    for i, (floor, cap, lev, mmr) in enumerate(rows):
        if prev is not None:
            cum = cum + floor * (mmr - prev)
        out.append(Tier(i + 1, lev, floor, cap, mmr, cum))
        prev = mmr
    return tuple(out)


def default_brackets(symbol: str, maint_margin: Decimal) -> Brackets:
    rows = []
    for i, (floor, lev, mmr) in enumerate(DEFAULT_TABLE):
        cap = DEFAULT_TABLE[i + 1][0] if i + 1 < len(DEFAULT_TABLE) else DEFAULT_TOP_CAP
        rate = maint_margin if mmr is None else max(mmr, maint_margin)
        rows.append((Decimal(floor), Decimal(cap), lev, rate))
    return Brackets(symbol, _tiers(rows))


def from_binance(doc: dict) -> Brackets:
    """One element of Binance's leverageBracket answer. `cum` is taken as published."""
    tiers = []
    for b in sorted(doc["brackets"], key=lambda b: int(b["bracket"])):
        tiers.append(Tier(int(b["bracket"]), int(b["initialLeverage"]), Decimal(str(b["notionalFloor"])),
                          Decimal(str(b["notionalCap"])), Decimal(str(b["maintMarginRatio"])),
                          Decimal(str(b["cum"]))))
    if not tiers:
        raise ValueError(f"{doc.get('symbol')}: no brackets")
    return Brackets(str(doc["symbol"]), tuple(tiers))


def load_file(path: Path) -> dict[str, Brackets]:
    return {b.symbol: b for b in (from_binance(d) for d in json.loads(Path(path).read_text()))}


def bracket_table(specs: dict, path: Path | None) -> dict[str, Brackets]:
    """Brackets for every served symbol: the file's where it has them, the default table otherwise."""
    loaded = load_file(path) if path is not None and Path(path).is_file() else {}
    return {sym: loaded.get(sym) or default_brackets(sym, spec.maint_margin) for sym, spec in specs.items()}
