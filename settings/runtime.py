"""`config/runtime.yaml`: router (maker-first, TWAP), loop intervals, exchange client settings, active profile."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
)

from settings.model_base import (
    Fraction,
    Frozen,
    PositiveFloat,
    Timeframe,
)
from settings.profiles import ProfileName


class TwapConfig(Frozen):
    enabled: bool = True
    min_notional_usd: PositiveFloat = 500.0
    slices: Annotated[int, Field(ge=1, le=100)] = 4
    interval_seconds: Annotated[float, Field(ge=0.0, le=3600.0)] = 10.0


class RouterConfig(Frozen):
    maker_first: bool = True
    maker_offset_bps: Annotated[float, Field(ge=0.0, le=100.0)] = 1.0
    maker_timeout_seconds: Annotated[float, Field(gt=0.0, le=600.0)] = 5.0
    taker_fallback: bool = True
    max_slippage_bps: Annotated[float, Field(gt=0.0, le=1000.0)] = 30.0
    twap: TwapConfig = TwapConfig()


class LoopConfig(Frozen):
    executor_interval_seconds: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    sync_state_interval_seconds: Annotated[float, Field(gt=0.0, le=3600.0)] = 30.0
    screener_timeframe: Timeframe = "15m"
    history_bars: Annotated[int, Field(ge=50, le=5000)] = 1000


class ExchangeConfig(Frozen):
    recv_window_ms: Annotated[int, Field(ge=1000, le=60000)] = 5000
    request_timeout_seconds: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0
    max_retries: Annotated[int, Field(ge=0, le=10)] = 3
    weight_budget_fraction: Fraction = 0.8  # slow down above 80 % of the exchange's 1-minute weight
    # exchangeInfo (weight 1) is re-read at most this often: a symbol's status change (delisting: SETTLING /
    # BREAK / gone) reaches the executor within it (docs/Runbook.md "Bad input")
    exchange_info_refresh_seconds: Annotated[float, Field(ge=1.0, le=86_400.0)] = 300.0


class ExecutorConfig(Frozen):
    decision_source: Literal["hybrid", "ensemble"] = "hybrid"  # hybrid: screener + gate; ensemble: R1 sleeves
    ensemble_dead_band_nav_pct: Fraction = 0.02  # no rebalance while |target - held| notional is below this


class RuntimeConfig(Frozen):
    profile: ProfileName = "dev"
    router: RouterConfig = RouterConfig()
    loop: LoopConfig = LoopConfig()
    exchange: ExchangeConfig = ExchangeConfig()
    executor: ExecutorConfig = ExecutorConfig()
