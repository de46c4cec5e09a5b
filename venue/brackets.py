"""Notional and leverage brackets (docs/VENUE.md "Margin, brackets and liquidation").

Each symbol has tiers by position notional: the highest leverage the tier allows, its maintenance margin
ratio and `cum`, so that maintenance margin = notional x maintMarginRatio - cum is continuous across tiers.
With `--data DIR` the venue loads Binance's own brackets from DIR/exchange/leverageBracket-fapi.json (the
answer of GET /fapi/v1/leverageBracket); a symbol missing there, or a venue without that file, gets the
default table below, built on the symbol's exchangeInfo `maintMarginPercent`.
"""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

# The bracket math is core's (one implementation, shared with the risk check): docs/RISK.md
from core.brackets import Brackets, Tier, brackets_from_doc, tiers_with_cum

__all__ = ["Brackets", "Tier", "DEFAULT_TABLE", "default_brackets", "from_binance", "load_file", "bracket_table"]

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


def default_brackets(symbol: str, maint_margin: Decimal) -> Brackets:
    rows = []
    for i, (floor, lev, mmr) in enumerate(DEFAULT_TABLE):
        cap = DEFAULT_TABLE[i + 1][0] if i + 1 < len(DEFAULT_TABLE) else DEFAULT_TOP_CAP
        rate = maint_margin if mmr is None else max(mmr, maint_margin)
        rows.append((Decimal(floor), Decimal(cap), lev, rate))
    return Brackets(symbol, tiers_with_cum(rows))


def from_binance(doc: dict) -> Brackets:
    """One element of Binance's leverageBracket answer. `cum` is taken as published."""
    return brackets_from_doc(doc)


def load_file(path: Path) -> dict[str, Brackets]:
    return {b.symbol: b for b in (from_binance(d) for d in json.loads(Path(path).read_text()))}


def bracket_table(specs: dict, path: Path | None) -> dict[str, Brackets]:
    """Brackets for every served symbol: the file's where it has them, the default table otherwise."""
    loaded = load_file(path) if path is not None and Path(path).is_file() else {}
    return {sym: loaded.get(sym) or default_brackets(sym, spec.maint_margin) for sym, spec in specs.items()}
