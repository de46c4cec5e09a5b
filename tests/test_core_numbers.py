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


NON_FINITE = ["NaN", "nan", " -NaN ", "Infinity", "-inf", "+Inf", float("nan"), float("inf"), np.float64("-inf"),
              Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")]
JUNK = ["1_000", "١٢", "0x10", "1e", "e5", ".", "1.2.3", "12abc", "1 2", "inf1", "nano", "9" * (MAX_CHARS + 1), True,
        False, [1], {"a": 1}, object()]


@pytest.mark.parametrize("bad", NON_FINITE + JUNK)
def test_strict_form_refuses_everything_but_a_finite_number(bad):
    with pytest.raises(ValueError):
        parse_decimal(bad)
    assert to_decimal_or_nan(bad).is_nan()  # the form that never raises


@pytest.mark.parametrize("bad", NON_FINITE)
def test_non_finite_numbers_become_nan_for_the_checks_to_veto(bad):
    assert to_decimal(bad).is_nan()


@pytest.mark.parametrize("bad", JUNK)
def test_junk_raises(bad):
    with pytest.raises(ValueError):
        to_decimal(bad)


@pytest.mark.parametrize("empty", ["", " ", None])
def test_an_empty_field_is_the_default(empty):
    assert to_decimal(empty) == Decimal(0) and to_decimal(empty, default=Decimal(7)) == 7
    assert to_decimal_or_nan(empty).is_nan()


def test_the_accepted_forms():
    assert to_decimal("0.1") == Decimal("0.1") and to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(5) == 5 and str(to_decimal(np.int64(3))) == "3" and to_decimal("1E-3") == Decimal("0.001")
    assert to_decimal(None, default=Decimal(7)) == 7 and to_decimal(Decimal("2.50")) == Decimal("2.50")
    assert math.isclose(float(to_decimal("+.5")), 0.5)


def test_every_package_parses_decimals_through_this_module():
    """One parser (docs/ARCHITECTURE.md, "Conventions"): `Decimal(str(x))` / `Decimal(repr(x))` written elsewhere
    is a second parser with its own idea of floats, NaN and junk text."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offences = []
    for pkg in ("core", "execution", "venue", "settings", "backtest", "dashboard", "telegram", "scripts", "marketdata"):
        for path in sorted((root / pkg).rglob("*.py")):
            if path == root / "core" / "numbers.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Decimal"
                        and node.args and isinstance(node.args[0], ast.Call)
                        and isinstance(node.args[0].func, ast.Name) and node.args[0].func.id in ("str", "repr")):
                    offences.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not offences, "parse with core.numbers instead: " + ", ".join(offences)
