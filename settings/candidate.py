"""`config/prod_candidate_R1.yaml`: the frozen R1 ensemble candidate (market, costs, sleeves)."""
from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from settings.errors import FieldError
from settings.model_base import (
    Fraction,
    Frozen,
    MarginType,
    Name,
    ParamValue,
    StrategyName,
    Timeframe,
    check_params,
    check_symbol,
)


class MarketConfig(Frozen):
    type: Literal["futures"] = "futures"
    margin_type: MarginType = "ISOLATED"
    leverage: Annotated[int, Field(ge=1, le=125)] = 3


class CostsConfig(Frozen):
    fee_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 5.0
    slippage_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 3.0


class FundingConfig(Frozen):
    enabled: bool = True


class Sleeve(Frozen):
    name: Name
    symbol: str
    strategy: StrategyName
    weight: Fraction
    params: dict[str, ParamValue] = Field(default_factory=dict)

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, params: object) -> object:
        return check_params(params)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, s: str) -> str:
        return check_symbol(s)


class EnsembleConfig(Frozen):
    enabled: bool = True
    sleeves: list[Sleeve] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _weights(self) -> EnsembleConfig:
        total = math.fsum(s.weight for s in self.sleeves)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            parts = ", ".join(f"{s.name} {s.weight:g}" for s in self.sleeves)
            raise FieldError("sleeves", f"sleeve weights must sum to 1.0, they sum to {total:.6g} ({parts})")
        seen: dict[str, int] = {}
        for i, s in enumerate(self.sleeves):
            if s.name in seen:
                raise FieldError(("sleeves", i, "name"),
                                 f"duplicate sleeve name {s.name!r} (also sleeves[{seen[s.name]}])")
            seen[s.name] = i
        return self


class CandidateConfig(Frozen):
    name: Name
    interval: Timeframe = "1h"
    trade_on: Literal["next_open"]  # anti-lookahead: a signal on bar t fills at bar t+1's open
    market: MarketConfig = MarketConfig()
    costs: CostsConfig = CostsConfig()
    funding_rate: FundingConfig = FundingConfig()
    ensemble: EnsembleConfig
