"""`config/pairs_universe.json`: the symbols Hedge trades and their per-symbol overrides."""
from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from settings.errors import FieldError
from settings.model_base import (
    Fraction,
    Frozen,
    PositiveFloat,
    SymbolKeys,
    Tier,
    check_symbol_list,
)


class SymbolOverride(Frozen):
    """Per-symbol settings. `max_nav_pct`: per-symbol cap, a fraction of NAV (gross, both legs)."""

    target_leverage: Annotated[int, Field(ge=1, le=125)] | None = None
    min_notional: PositiveFloat | None = None
    tier: Tier | None = None
    max_nav_pct: Fraction | None = None


class PairsUniverse(Frozen):
    symbols: list[str] = Field(min_length=1, max_length=1000)
    overrides: Annotated[dict[str, SymbolOverride], SymbolKeys] = Field(default_factory=dict)
    default_tier: Tier = "SATELLITE"

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, symbols: list[str]) -> list[str]:
        check_symbol_list(symbols)
        return symbols

    @model_validator(mode="after")
    def _overrides_in_universe(self) -> PairsUniverse:
        unknown = [s for s in self.overrides if s not in self.symbols]
        if unknown:
            also = f" (also: {', '.join(unknown[1:])})" if len(unknown) > 1 else ""
            raise FieldError(
                ("overrides", unknown[0]),
                f"override for {unknown[0]}, which is not in 'symbols'{also}: "
                "add it to 'symbols' or delete the override",
            )
        return self

    def tier_of(self, symbol: str) -> str:
        o = self.overrides.get(symbol)
        return o.tier if o and o.tier else self.default_tier
