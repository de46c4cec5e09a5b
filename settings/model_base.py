"""The shared ground of the config models (one module per config file, `settings.models` re-exports them):
the frozen base, the value types and the symbol / strategy-param checks.

Conventions: every `*_pct` / `*_nav_pct` value is a FRACTION (0.10 = 10 %), validated to (0, 1] unless noted.
Unknown keys are errors (a typo must never be silently ignored); every section has defaults, so a file may
omit a section it does not change. Types are strict: a quoted "5" is not a number, 0 / "false" are not
booleans.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
)

from settings.errors import FieldError

Tier = Literal["CORE", "SATELLITE", "TACTICAL", "ALT-EXT"]
TIERS: tuple[str, ...] = ("CORE", "SATELLITE", "TACTICAL", "ALT-EXT")
Regime = Literal["low", "normal", "high", "crisis"]
REGIMES: tuple[str, ...] = ("low", "normal", "high", "crisis")
StrategyName = Literal["breakout_vol_atr", "tsmom_multi_ema", "tsmom_ema", "ma_crossover", "ema_cross"]
STRATEGY_NAMES: tuple[str, ...] = ("breakout_vol_atr", "tsmom_multi_ema", "tsmom_ema", "ma_crossover", "ema_cross")
Timeframe = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]
MarginType = Literal["ISOLATED", "CROSSED"]
TradingState = Literal["ACTIVE", "REDUCING", "HALTED"]

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}USDT$")

Fraction = Annotated[float, Field(gt=0.0, le=1.0, description="fraction: 0.10 = 10 %")]
NonNegFraction = Annotated[float, Field(ge=0.0, le=1.0, description="fraction: 0.10 = 10 %")]
# strictly inside (0, 1): a 100 % stop distance would put a long's stop at price 0
OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0, description="fraction: 0.10 = 10 %")]
Score = Annotated[float, Field(ge=-1.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
PositiveInt = Annotated[int, Field(gt=0)]


class Frozen(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored), instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def symbol_problem(symbol: object) -> str | None:
    if not isinstance(symbol, str) or not _SYMBOL_RE.match(symbol):
        hint = f" (write {symbol.upper()!r})" if isinstance(symbol, str) and _SYMBOL_RE.match(symbol.upper()) else ""
        return f"{symbol!r} is not a USD-M USDT perpetual symbol such as 'BTCUSDT' (upper case){hint}"
    return None


def check_symbol(symbol: str) -> str:
    problem = symbol_problem(symbol)
    if problem:
        raise ValueError(problem)
    return symbol


def check_symbol_keys(table: dict[str, object]) -> None:
    """Mapping keyed by symbol: point at the bad key."""
    for key in table:
        problem = symbol_problem(key)
        if problem:
            raise FieldError((key,), problem)


def check_symbol_list(symbols: list[str], allow_duplicates: bool = False) -> None:
    """List of symbols: point at the bad item; no duplicates unless allowed."""
    first: dict[str, int] = {}
    for i, s in enumerate(symbols):
        problem = symbol_problem(s)
        if problem:
            raise FieldError((i,), problem)
        if s in first and not allow_duplicates:
            raise FieldError((i,), f"duplicate symbol {s} (already at [{first[s]}]); list each symbol once")
        first[s] = i


ParamValue = float | int | bool | list[int] | list[float]


def check_params(params: object) -> object:
    """Strategy params: numbers, true/false or lists of numbers; one clear error instead of one per type."""
    if not isinstance(params, dict):
        return params  # pydantic reports the type
    for key, value in params.items():
        ok = isinstance(value, (int, float)) or (
            isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )
        if not ok:
            raise FieldError((key,), f"must be a number, true/false or a list of numbers (got {value!r})")
    return params
