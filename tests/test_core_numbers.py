"""core/numbers.py: THE Decimal parser (one rule for exchange answers, config and analytics values)."""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.numbers import MAX_CHARS, parse_decimal, to_decimal, to_decimal_or_nan


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_keep_their_short_repr(x):
    assert parse_decimal(x) == Decimal(repr(x)) and parse_decimal(np.float64(x)) == Decimal(repr(x))


@settings(max_examples=200)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=8))
def test_plain_text_round_trips(d):
    text = format(d, "f")
    if len(text) <= MAX_CHARS:
        assert parse_decimal(text) == d and parse_decimal(f"  {text}\n") == d


@pytest.mark.parametrize("bad", ["", " ", "1_000", "١٢", "NaN", "nan", "Infinity", "-inf", "0x10", "1e", "e5", ".",
                                 "1.2.3", "12abc", "1 2", "9" * (MAX_CHARS + 1), True, False, float("nan"),
                                 float("inf"), Decimal("NaN"), Decimal("Infinity"), [1], {"a": 1}, object()])
def test_junk_is_refused(bad):
    if bad in ("", " "):
        assert to_decimal(bad) == Decimal(0)  # an empty exchange field
    else:
        with pytest.raises(ValueError):
            to_decimal(bad)
    assert to_decimal_or_nan(bad).is_nan()


def test_the_accepted_forms():
    assert to_decimal("0.1") == Decimal("0.1") and to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(5) == 5 and str(to_decimal(np.int64(3))) == "3" and to_decimal("1E-3") == Decimal("0.001")
    assert to_decimal(None, default=Decimal(7)) == 7 and to_decimal(Decimal("2.50")) == Decimal("2.50")
    assert math.isclose(float(to_decimal("+.5")), 0.5)
