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

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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
# Sane ceilings for values without a natural one: a 30-digit MAX_POSITIONS or a 1e300 capital is a typo,
# and such numbers overflow float arithmetic downstream. Fields with a natural bound use a tighter one.
MAX_AMOUNT = 1e9  # USD amounts, multiples, spans
MAX_COUNT = 1_000_000  # bars, trades, orders
MAX_METRIC = 1e6  # unbounded statistics (Sharpe, returns): finite and plausible

Fraction = Annotated[float, Field(gt=0.0, le=1.0, description="fraction: 0.10 = 10 %")]
NonNegFraction = Annotated[float, Field(ge=0.0, le=1.0, description="fraction: 0.10 = 10 %")]
# strictly inside (0, 1): a 100 % stop distance would put a long's stop at price 0
OpenFraction = Annotated[float, Field(gt=0.0, lt=1.0, description="fraction: 0.10 = 10 %")]
Score = Annotated[float, Field(ge=-1.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0, le=MAX_AMOUNT)]
PositiveInt = Annotated[int, Field(gt=0, le=MAX_COUNT)]
NonNegFloat = Annotated[float, Field(ge=0.0, le=MAX_AMOUNT)]
NonNegInt = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Metric = Annotated[float, Field(ge=-MAX_METRIC, le=MAX_METRIC)]
Days = Annotated[int, Field(gt=0, le=3650)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _list_to_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


# A JSON/YAML list for a tuple field (strict mode takes only real tuples; the items stay strict).
ListAsTuple = BeforeValidator(_list_to_tuple)


class Frozen(BaseModel):
    """Base: unknown keys are errors (typos must not be silently ignored), instances are immutable, and types
    are strict: "5" is not a number, 0 / "false" are not booleans, 5.0 is not an integer (ints are floats)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


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


def _symbol_keyed(table: object) -> object:
    if isinstance(table, dict):
        check_symbol_keys(table)
    return table


# A mapping keyed by symbol (`Annotated[dict[str, X], SymbolKeys]`): a bad key is reported at that key.
SymbolKeys = BeforeValidator(_symbol_keyed)


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
    if len(params) > 100:
        raise FieldError((), f"{len(params)} parameters: at most 100")
    for key, value in params.items():
        ok = isinstance(value, (int, float)) or (
            isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )
        if not ok:
            shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
            raise FieldError((key,), f"must be a number, true/false or a list of numbers (got {shown})")
        numbers = value if isinstance(value, list) else [value]
        if len(numbers) > 100:
            raise FieldError((key,), f"a list of {len(numbers)} numbers: at most 100")
        if any(not isinstance(v, bool) and not -MAX_AMOUNT <= v <= MAX_AMOUNT for v in numbers):
            raise FieldError((key,), f"must be finite and within ±{MAX_AMOUNT:g}")
    return params
