"""THE Decimal parser of Hedge (pure): one way to turn a number from anywhere into a `Decimal`.

Money and exchange quantities are Decimals (docs/ARCHITECTURE.md, "Conventions"). Values arrive as str from
the exchange and config, as float from analytics, as int, Decimal or numpy scalars. Rules, in one place:
- floats go through `repr(float(x))`, so 0.1 becomes Decimal('0.1'), not its binary expansion (and a numpy
  float64, whose repr is 'np.float64(0.1)', is converted first);
- text is stripped and must be a plain number: '1_000', non-ASCII digits, 'NaN', 'Infinity' and anything
  longer than MAX_CHARS are refused (Decimal() itself accepts all of those);
- three forms, one rule: `parse_decimal` is strict (a finite number or ValueError); `to_decimal` gives
  `default` for None or '' (a field the exchange left empty) and Decimal('NaN') for a non-finite number (NaN,
  ±Infinity as float, Decimal or text), so the core's checks veto it rather than raise (docs/ARCHITECTURE.md,
  "Conventions"), and raises ValueError on junk text; `to_decimal_or_nan` never raises: NaN for anything that
  is not a finite number (an order field the risk checks veto).
"""
from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal(0)
NAN = Decimal("NaN")
MAX_CHARS = 64  # no price, quantity or balance is longer; a 5,000-digit "number" is an attack, not a value


def _is_plain_number(text: str) -> bool:
    """[+-]digits[.digits][e[+-]digits], ASCII only: what Decimal() accepts minus '1_000', '١٢', 'NaN', 'Inf'."""
    if not text.isascii():
        return False
    mantissa, _, exponent = text.lower().partition("e")
    if exponent or text.lower().endswith("e"):
        exponent = exponent[1:] if exponent[:1] in "+-" and exponent else exponent
        if not exponent.isdigit():
            return False
    mantissa = mantissa[1:] if mantissa[:1] in "+-" else mantissa
    whole, _, fraction = mantissa.partition(".")
    return bool(whole or fraction) and (not whole or whole.isdigit()) and (not fraction or fraction.isdigit())

__all__ = ["MAX_CHARS", "NAN", "ZERO", "is_non_finite", "parse_decimal", "to_decimal", "to_decimal_or_nan"]


def parse_decimal(value: Any) -> Decimal:
    """A finite Decimal from int / float / Decimal / numeric text, or ValueError saying what was wrong."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return value
    if isinstance(value, int) or (hasattr(value, "__index__") and not isinstance(value, (str, bytes))):
        return Decimal(int(value))  # int and numpy integers: exact
    if isinstance(value, float) or type(value).__name__.startswith("float"):  # float and numpy floats
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"not a number: {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"not a finite number: {value!r}")
        return Decimal(repr(number))
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if len(text) > MAX_CHARS or not _is_plain_number(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"not a number: {shown!r}")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only what Decimal parses
        raise ValueError(f"not a number: {text!r}") from None


def is_non_finite(value: Any) -> bool:
    """True for a NaN or an infinity in any of the forms parse_decimal refuses them in."""
    if isinstance(value, Decimal):
        return not value.is_finite()
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        try:
            return not math.isfinite(float(value))
        except (TypeError, ValueError, OverflowError):
            return False
    if isinstance(value, str):
        return value.strip().lower().lstrip("+-") in ("nan", "snan", "inf", "infinity")
    return False


def to_decimal(value: Any, default: Decimal = ZERO) -> Decimal:
    """`parse_decimal`, with `default` for None or '' (a field the exchange left empty) and NaN for a non-finite
    number, which every core check vetoes; junk text still raises ValueError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if is_non_finite(value):
        return NAN
    return parse_decimal(value)


def to_decimal_or_nan(value: Any) -> Decimal:
    """`parse_decimal`, or Decimal('NaN') for anything that is not a finite number: a bad value is vetoed by the
    caller's checks (NaN fails every comparison), never raised on."""
    try:
        return parse_decimal(value)
    except ValueError:
        return NAN
