"""`config/profiles.yaml`: the dev / demo / prod profile table (docs/Runbook.md in docs/ARCHITECTURE.md)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    field_validator,
)

from settings.model_base import (
    Frozen,
    PositiveFloat,
)

ProfileName = Literal["dev", "demo", "prod"]


class Profile(Frozen):
    """docs/Runbook.md profile. `max_position_usd` caps ONE SYMBOL's post-trade gross notional in USD, both
    hedge-mode legs together (|long| + |short|), as core/risk_limits.py checks it; it is not a portfolio cap."""

    max_position_usd: PositiveFloat
    max_leverage: Annotated[float, Field(gt=0.0, le=125.0)]
    enable_shorts: bool
    local_venue: bool  # docs/Runbook.md "mock broker": our local Binance-compatible venue


class Profiles(Frozen):
    profiles: dict[ProfileName, Profile]

    @field_validator("profiles")
    @classmethod
    def _all(cls, table: dict[str, Profile]) -> dict[str, Profile]:
        missing = [p for p in ("dev", "demo", "prod") if p not in table]
        if missing:
            raise ValueError(f"missing profiles: {', '.join(missing)} (dev, demo and prod are all required)")
        return table
