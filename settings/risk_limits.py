"""`config/risk_limits.json`: circuit breaker, kill switch, position / leverage / NAV caps (docs/RISK.md)."""
from __future__ import annotations

from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
    model_validator,
)

from settings.errors import FieldError
from settings.model_base import (
    MAX_COUNT,
    Fraction,
    Frozen,
    NonNegFraction,
    SymbolKeys,
    TradingState,
)


class CircuitBreakers(Frozen):
    max_portfolio_dd_nav_pct: Fraction = 0.10


class RiskLimits(Frozen):
    """Names in upper case are the runbook's own (docs/Runbook.md); all percentages are fractions."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    circuit_breakers: CircuitBreakers = CircuitBreakers()
    KILL_DD_PCT: Fraction = 0.15
    KILL_DAILY_LOSS_PCT: Fraction = 0.05
    MAX_POSITIONS: Annotated[int, Field(gt=0, le=1000)] = 10
    MAX_LEVERAGE: Annotated[float, Field(gt=0.0, le=125.0)] = 5.0
    per_symbol_nav_pct: Fraction = 0.20
    per_symbol_nav_pct_overrides: Annotated[dict[str, Fraction], SymbolKeys] = Field(default_factory=dict)
    max_gross_exposure_nav_pct: Annotated[float, Field(gt=0.0, le=50.0)] = 0.80
    nav_freshness_seconds: Annotated[float, Field(gt=0.0, le=86_400.0)] = 90.0
    nav_history_len: Annotated[int, Field(ge=2, le=MAX_COUNT)] = 500
    # The post-trade leg's liquidation price must stay at least this fraction of the mark away from it
    # (docs/RISK.md `liquidation_distance`); 0 turns the distance check off, the bracket check stays.
    min_liquidation_distance_pct: NonNegFraction = 0.10
    kill_switch: bool = False
    trading_state: TradingState = "ACTIVE"

    @model_validator(mode="after")
    def _circuit_before_kill(self) -> RiskLimits:
        if self.circuit_breakers.max_portfolio_dd_nav_pct > self.KILL_DD_PCT:
            raise FieldError(
                ("circuit_breakers", "max_portfolio_dd_nav_pct"),
                f"{self.circuit_breakers.max_portfolio_dd_nav_pct:g} must not exceed KILL_DD_PCT "
                f"({self.KILL_DD_PCT:g}): the circuit stops new risk before the kill switch flattens",
            )
        return self

    def symbol_nav_cap(self, symbol: str) -> float:
        return self.per_symbol_nav_pct_overrides.get(symbol, self.per_symbol_nav_pct)
