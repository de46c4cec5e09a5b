"""core.timeframes: the one interval table (marketdata and the strategies read it)."""
from __future__ import annotations

import typing

import pytest

import core.strategies as strategies
from core import timeframes
from core.timeframes import DAY_MS, HOUR_MS, INTERVAL_MS, MINUTE_MS, interval_ms
from settings.models import Timeframe


def test_interval_table():
    assert list(INTERVAL_MS) == ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]
    assert (MINUTE_MS, HOUR_MS, DAY_MS) == (60_000, 3_600_000, 86_400_000)
    assert INTERVAL_MS["15m"] == 15 * MINUTE_MS and INTERVAL_MS["4h"] == 4 * HOUR_MS and INTERVAL_MS["1d"] == DAY_MS
    assert set(INTERVAL_MS) == set(typing.get_args(Timeframe))  # every configurable timeframe has a length
    with pytest.raises(TypeError):
        INTERVAL_MS["2d"] = 2 * DAY_MS  # type: ignore[index]  # read-only: nobody can drift it


def test_one_table_everywhere_in_the_core():
    assert strategies.TIMEFRAME_MS is INTERVAL_MS
    from core import regimes
    from core.strategies import base

    assert regimes.HOUR_MS is timeframes.HOUR_MS and base.HOUR_MS is timeframes.HOUR_MS and regimes.DAY_MS == DAY_MS


def test_interval_ms():
    assert interval_ms("1h") == HOUR_MS
    for bad in ("2d", "1H", "", None):
        with pytest.raises(ValueError, match="unknown interval"):
            interval_ms(bad)  # type: ignore[arg-type]  # a wrong value on purpose
