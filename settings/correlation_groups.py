"""`config/correlation_groups.json`: groups of correlated symbols and their NAV caps."""
from __future__ import annotations

from pydantic import (
    Field,
    field_validator,
)

from settings.model_base import (
    Fraction,
    Frozen,
    check_symbol_list,
)


class CorrelationGroup(Frozen):
    symbols: list[str] = Field(min_length=1, max_length=1000)
    max_group_nav_pct: Fraction

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, symbols: list[str]) -> list[str]:
        check_symbol_list(symbols, allow_duplicates=True)  # harmless: exposure counts each symbol once
        return symbols


class CorrelationGroups(Frozen):
    groups: dict[str, CorrelationGroup] = Field(default_factory=dict)
    near_cap_fraction: Fraction = 0.80  # OK below 80 % of the cap, NEAR from 80 % to 100 %, CAPPED above
