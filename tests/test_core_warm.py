"""Warm start: every incremental state built from batch results (`XState.warm(...)`, `spec.warm(...)`,
`SymbolState.warm`) equals the state reached by folding the same bars one by one, and then updates the same.

Windowed states must be identical; recursive ones (EMA, Wilder, EWMA) agree to ~1e-13 relative, compared here
at 1e-9 of the series' scale (the tolerance of the batch-vs-incremental tests). Discrete outputs (flags,
targets, regimes, statuses) must be exactly equal.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from core.alpha import TrendState
from core.bars import Bar, Ohlc
from core.cycle import CycleConfig, SymbolState
from core.indicators import (
    AtrState,
    CrossState,
    DonchianState,
    EmaState,
    EwmaVolState,
    RsiState,
    SmaState,
    ZScoreState,
    sma,
)
from core.regimes import HOUR_MS, RegimeState
from core.screener import ScreenerState
from core.strategies import STRATEGIES
from core.strategies.base import fold_bars
from settings.models import ScreenerSettings, StrategyBlock, StrategyConfig, TrendSettings
from tests.test_core_indicators import PROPERTY, ohlc_paths, price_paths, series

RTOL = 1e-9


def scale_of(*arrays: np.ndarray) -> float:
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    return max([float(f.max()) for f in finite if len(f)] + [1.0])


def assert_close(got, want, scale: float, path: str = "state") -> None:
    """Recursive comparison of states / outputs: floats within RTOL x (|want| + scale), the rest exactly."""
    if dataclasses.is_dataclass(want) and not isinstance(want, type):
        assert type(got) is type(want), path
        for f in dataclasses.fields(want):
            assert_close(getattr(got, f.name), getattr(want, f.name), scale, f"{path}.{f.name}")
    elif isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), (path, got, want)
        for i, (g, w) in enumerate(zip(got, want)):
            assert_close(g, w, scale, f"{path}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert isinstance(got, float), (path, got)
        if math.isnan(want) or math.isinf(want):
            assert got == want or (math.isnan(got) and math.isnan(want)), (path, got, want)
        else:
            assert abs(got - want) <= RTOL * (abs(want) + scale), (path, got, want)
    else:
        assert got == want, (path, got, want)


def fold(state, rows):
    outs = []
    for row in rows:
        state, out = state.update(*row)
        outs.append(out)
    return state, outs


def rows_of(*columns: np.ndarray) -> list[tuple[float, ...]]:
    return [tuple(float(v) for v in vals) for vals in zip(*columns)]


def check_warm(start, warm, history_rows, more_rows, scale: float) -> None:
    """warm == fold(start, history), then both fold `more_rows` to the same outputs and states."""
    folded, _ = fold(start, history_rows)
    assert_close(warm, folded, scale)
    a, out_a = fold(warm, more_rows)
    b, out_b = fold(folded, more_rows)
    assert_close(out_a, out_b, scale, "outputs")
    assert_close(a, b, scale)


# ----------------------------------------------------------------------------- indicators


@given(x=series, more=series, span=st.sampled_from([1, 2, 3, 7, 20, 168]))
@PROPERTY
def test_ema_warm_equals_fold(x, more, span):
    check_warm(EmaState.start(span), EmaState.warm(x, span), rows_of(x), rows_of(more), scale_of(x, more))


@given(x=series, more=series, n=st.integers(1, 25))
@PROPERTY
def test_sma_warm_equals_fold(x, more, n):
    folded, _ = fold(SmaState.start(n), rows_of(x))
    assert SmaState.warm(x, n) == folded or math.isnan(folded.value)  # exact (NaN != NaN during warm-up)
    check_warm(SmaState.start(n), SmaState.warm(x, n), rows_of(x), rows_of(more), scale_of(x, more))


@given(x=price_paths(), more=price_paths(max_size=40), n=st.integers(2, 25))
@PROPERTY
def test_zscore_warm_equals_fold(x, more, n):
    check_warm(ZScoreState.start(n), ZScoreState.warm(x, n), rows_of(x), rows_of(more), scale_of(x, more))


@given(x=series, more=series, period=st.integers(1, 20))
@PROPERTY
def test_rsi_warm_equals_fold(x, more, period):
    check_warm(RsiState.start(period), RsiState.warm(x, period), rows_of(x), rows_of(more), 100.0)


@given(hlc=ohlc_paths(), more=ohlc_paths(max_size=40), period=st.integers(1, 20))
@PROPERTY
def test_atr_warm_equals_fold(hlc, more, period):
    check_warm(AtrState.start(period), AtrState.warm(*hlc, period), rows_of(*hlc), rows_of(*more), scale_of(*hlc, *more))


@given(hlc=ohlc_paths(), more=ohlc_paths(max_size=40), n=st.integers(1, 40))
@PROPERTY
def test_donchian_warm_equals_fold_exactly(hlc, more, n):
    high, low, _ = hlc
    check_warm(DonchianState.start(n), DonchianState.warm(high, low, n), rows_of(high, low), rows_of(*more[:2]), 0.0)


@given(x=series, more=series, span=st.sampled_from([1, 2, 5, 24, 168]))
@PROPERTY
def test_ewma_vol_warm_equals_fold(x, more, span):
    check_warm(EwmaVolState.start(span), EwmaVolState.warm(x, span), rows_of(x), rows_of(more), 0.0)


@given(x=series, more=series, fast=st.integers(1, 5), extra=st.integers(1, 10))
@PROPERTY
def test_cross_warm_equals_fold_exactly(x, more, fast, extra):
    f, s = sma(x, fast), sma(x, fast + extra)
    mf, ms = sma(more, fast), sma(more, fast + extra)
    check_warm(CrossState.start(), CrossState.warm(f, s), rows_of(f, s), rows_of(mf, ms), 0.0)


def test_warm_of_nothing_is_start():
    empty = np.array([])
    assert EmaState.warm(empty, 10) == EmaState.start(10)
    assert RsiState.warm([np.nan, np.inf], 14) == RsiState.start(14)
    assert AtrState.warm(empty, empty, empty, 14) == AtrState.start(14)
    assert DonchianState.warm(empty, empty, 5) == DonchianState.start(5)
    assert EwmaVolState.warm([-1.0, 0.0], 10) == EwmaVolState.start(10)
    assert CrossState.warm([np.nan], [1.0]) == CrossState.start()


# ----------------------------------------------------------------------------- composite states


def bar_rows(b: Ohlc) -> list[tuple[Bar]]:
    return [(b.bar(i),) for i in range(len(b))]


def ohlc(hlc) -> Ohlc:
    high, low, close = hlc
    return Ohlc(close, high, low, close)


@given(hlc=ohlc_paths(max_size=300), more=ohlc_paths(max_size=30), small=st.booleans())
@PROPERTY
def test_screener_state_warm_equals_fold(hlc, more, small):
    params = ScreenerSettings(z_window=4, rsi_period=3, atr_period=3, fast_ma=2, slow_ma=5) if small else ScreenerSettings()
    b, m = ohlc(hlc), ohlc(more)
    check_warm(ScreenerState.start(params), ScreenerState.warm(b, params), bar_rows(b), bar_rows(m), scale_of(*hlc, *more))


def test_screener_warm_reports_a_crossover_on_the_last_bar():
    close = np.array([10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 12.0])  # SMA(2) jumps above SMA(5) on the last bar
    b = Ohlc.from_close(close)
    params = ScreenerSettings(z_window=3, rsi_period=2, atr_period=2, fast_ma=2, slow_ma=5)
    folded, _ = fold(ScreenerState.start(params), bar_rows(b))
    warm = ScreenerState.warm(b, params)
    assert warm.fields.cross_up and folded.fields.cross_up
    assert_close(warm, folded, 12.0)


@given(x=price_paths(max_size=300), more=price_paths(max_size=30), short=st.booleans())
@PROPERTY
def test_trend_state_warm_equals_fold(x, more, short):
    params = TrendSettings(ema_span=20, horizons=(3, 10, 30), vol_span=20) if short else TrendSettings()
    check_warm(TrendState.start(params), TrendState.warm(x, params), rows_of(x), rows_of(more), 1.0)


@given(x=price_paths(max_size=300), more=price_paths(max_size=30), bar_hours=st.sampled_from([1, 4, 24]))
@PROPERTY
def test_regime_state_warm_equals_fold(x, more, bar_hours):
    bar_ms = bar_hours * HOUR_MS
    warm = RegimeState.warm(x, bar_ms)
    check_warm(RegimeState.start(bar_ms), warm, rows_of(x), rows_of(more), 0.0)
    folded, outs = fold(RegimeState.start(bar_ms), rows_of(x))
    if outs:
        assert_close(warm.result, outs[-1], 0.0)  # `result` is what the last update returned


SMALL_PARAMS = {
    "breakout_vol_atr": {"channel": 20, "atr_period": 5, "time_stop_hours": 10.0, "target_atr_pct": 0.01},
    "tsmom_multi_ema": {"lookbacks": [3, 10, 40]},
    "tsmom_ema": {"lookback": 10, "enable_shorts": False},
    "ma_crossover": {"enable_shorts": True, "trailing_stop_pct": 0.005},
    "ema_cross": {"fast": 3, "slow": 9},
}


@given(hlc=ohlc_paths(max_size=300), more=ohlc_paths(max_size=40), name=st.sampled_from(sorted(STRATEGIES)),
       defaults=st.booleans())
@PROPERTY
def test_strategy_warm_equals_fold(hlc, more, name, defaults):
    spec = STRATEGIES[name]
    params = None if defaults else SMALL_PARAMS[name]
    b, m = ohlc(hlc), ohlc(more)
    warm = spec.warm(b, params)
    for other in (fold_bars(spec.start(params), b).target, spec(b, params)[-1] if len(b) else 0.0):
        # same side; the same size (a vol-scaled breakout size is a float of the ATR: equal to ~1e-15)
        assert np.sign(warm.target) == np.sign(other) and abs(warm.target - other) <= 1e-9
    check_warm(spec.start(params), warm, bar_rows(b), bar_rows(m), scale_of(*hlc, *more))


def test_strategy_without_warm_fn_falls_back_to_folding():
    spec = dataclasses.replace(STRATEGIES["ema_cross"], warm_fn=None)
    b = Ohlc.from_close(100.0 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.01, 80))))
    assert spec.warm(b) == fold_bars(spec.start(), b)


@given(hlc=ohlc_paths(max_size=250), more=ohlc_paths(max_size=20), name=st.sampled_from(sorted(STRATEGIES)))
@PROPERTY
def test_symbol_state_warm_equals_fold(hlc, more, name):
    config = CycleConfig(
        strategy_config=StrategyConfig(strategies={"ABCUSDT": StrategyBlock(strategy=name, params=SMALL_PARAMS[name])}),
        screener=ScreenerSettings(z_window=4, rsi_period=3, atr_period=3, fast_ma=2, slow_ma=5),
        trend=TrendSettings(ema_span=20, horizons=(3, 10, 30), vol_span=20),
    )
    b, m = ohlc(hlc), ohlc(more)
    warm = SymbolState.warm("ABCUSDT", b, config)
    folded = SymbolState.start("ABCUSDT", config).fold(b)
    scale = scale_of(*hlc, *more)
    assert_close(warm, folded, scale)
    for i in range(len(m)):
        warm, *out_w = warm.advance(m.bar(i))
        folded, *out_f = folded.advance(m.bar(i))
        assert_close(out_w, out_f, scale, f"bar {i}")
    assert_close(warm, folded, scale)
