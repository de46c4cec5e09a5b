"""core.screener: the exact docs/Runbook.md breadcrumb lines, the fields, emission gating, batch == incremental."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import indicators as ind
from core.alpha import score_symbol
from core.bars import Bar, Ohlc
from core.screener import (
    ScreenerCycle,
    ScreenerFields,
    ScreenerRow,
    ScreenerState,
    emission_signal,
    format_breadcrumb,
    format_cycle_summary,
    screen_cycle,
    screen_symbol,
    screener_fields,
)
from settings.models import HybridScoring, ScoreThresholds, ScreenerSettings

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def bars_from(close, spread=0.005, seed=0) -> Ohlc:
    c = np.asarray(close, dtype=np.float64)
    rng = np.random.default_rng(seed)
    s = np.abs(rng.normal(0, spread, len(c)))
    return Ohlc(c, c * (1 + s), c * (1 - s), c)


def walk(n, seed=0, drift=0.0, vol=0.01):
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(drift + rng.normal(0, vol, n)))


# ----------------------------------------------------------------------------- breadcrumb lines


def test_breadcrumb_line_is_exactly_the_seed_format():
    row = ScreenerRow("SOLUSDT", "15m", 2.5712, 53.34, 0.01149, True, False, False, "-")
    assert format_breadcrumb(row) == (
        "[screener] SOLUSDT 15m z=+2.57 rsi=53.3 atr=0.011 cross_up=True cross_down=False in_trade=False side=-"
    )


def test_breadcrumb_signs_sides_and_missing_values():
    row = ScreenerRow("BTCUSDT", "1h", -1.204, 7.06, 0.0046, False, True, True, "SHORT")
    assert format_breadcrumb(row) == (
        "[screener] BTCUSDT 1h z=-1.20 rsi=7.1 atr=0.005 cross_up=False cross_down=True in_trade=True side=SHORT"
    )
    warm = ScreenerRow("ETHUSDT", "1h", math.nan, math.nan, math.nan, False, False, False, "-")
    assert "z=nan rsi=nan atr=nan" in format_breadcrumb(warm)
    zero = ScreenerRow("ETHUSDT", "1h", 0.0, 50.0, 0.0, False, False, False, "-")
    assert "z=+0.00 rsi=50.0 atr=0.000" in format_breadcrumb(zero)


def test_cycle_summary_line():
    rows = [ScreenerRow(f"S{i}USDT", "15m", 0, 50, 0.01, False, False, False, "-") for i in range(14)]
    rows.append(ScreenerRow("SOLUSDT", "15m", 2.57, 53.3, 0.011, True, False, False, "-", 0.4, "BUY"))
    cycle = screen_cycle(rows)
    assert (cycle.attempted, cycle.emitted) == (15, 1)
    assert format_cycle_summary(cycle) == "[screener] attempted=15 emitted=1"
    assert format_cycle_summary(ScreenerCycle(())) == "[screener] attempted=0 emitted=0"


# ----------------------------------------------------------------------------- fields


def test_fields_are_the_indicators_at_the_last_bar():
    b = bars_from(walk(300, seed=1))
    f = screener_fields(b)
    assert f.z == pytest.approx(ind.zscore(b.close, 20)[-1])
    assert f.rsi == pytest.approx(ind.rsi(b.close, 14)[-1])
    assert f.atr == pytest.approx(ind.atr(b.high, b.low, b.close, 14)[-1] / b.close[-1])  # a fraction
    assert 0 < f.atr < 0.05 and f.ready


def test_atr_is_a_fraction_of_price_hand_example():
    # constant range of 2 around a price of 100: TR = 2, ATR = 2, atr field = 0.02
    c = np.full(40, 100.0)
    f = screener_fields(Ohlc(c, c + 1, c - 1, c), ScreenerSettings(atr_period=14))
    assert f.atr == pytest.approx(0.02)
    assert f.z == 0.0 and f.rsi == 50.0  # flat closes


def test_cross_flags_fire_on_the_crossing_bar_only():
    close = np.concatenate([np.full(30, 100.0) - np.arange(30) * 0.1, 97.0 + np.arange(1, 11) * 1.0])
    p = ScreenerSettings(fast_ma=3, slow_ma=8)
    flags = [(screener_fields(Ohlc.from_close(close[: i + 1]), p).cross_up) for i in range(len(close))]
    assert sum(flags) == 1
    i = flags.index(True)
    fast, slow = ind.sma(close, 3), ind.sma(close, 8)
    assert fast[i] > slow[i] and fast[i - 1] <= slow[i - 1]


def test_warm_up_and_empty_input_are_not_ready():
    assert not screener_fields(Ohlc.from_close([])).ready
    assert not screener_fields(bars_from(walk(10))).ready
    assert ScreenerSettings().history_bars == 21
    with pytest.raises(ValueError):
        ScreenerSettings(fast_ma=20, slow_ma=5)
    with pytest.raises(ValueError):
        ScreenerSettings(z_window=1)


@st.composite
def bar_paths(draw):
    n = draw(st.integers(0, 120))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    c = 100 * np.exp(np.cumsum(rng.normal(0, draw(st.sampled_from([0.0, 0.003, 0.03])), n)))
    b = bars_from(c, seed=int(rng.integers(1000)))
    if n and draw(st.booleans()):
        for col in (b.close, b.high, b.low):
            col[rng.integers(0, n, size=max(1, n // 15))] = np.nan
    return b


@given(b=bar_paths(), fast=st.integers(1, 4), slow_extra=st.integers(1, 8))
@PROPERTY
def test_incremental_state_equals_batch_at_every_bar(b, fast, slow_extra):
    p = ScreenerSettings(z_window=6, rsi_period=5, atr_period=4, fast_ma=fast, slow_ma=fast + slow_extra)
    state = ScreenerState.start(p)
    for i in range(len(b)):
        state, got = state.update(b.bar(i))
        want = screener_fields(b.head(i + 1), p)
        for name in ("z", "rsi", "atr"):
            a, w = getattr(got, name), getattr(want, name)
            assert (math.isnan(a) and math.isnan(w)) or a == pytest.approx(w, rel=1e-6, abs=1e-9), name
        assert (got.cross_up, got.cross_down) == (want.cross_up, want.cross_down)


# ----------------------------------------------------------------------------- emission


def test_emission_signal_rules():
    assert emission_signal("LONG", None) == "BUY"
    assert emission_signal("SHORT", None) == "SELL"
    assert emission_signal("LONG", "LONG") is None  # already long: do not double it
    assert emission_signal("SHORT", "LONG") == "SELL"  # a flip is an intent
    assert emission_signal(None, "SHORT") is None


def test_screen_symbol_gates_with_the_hybrid_of_the_tier():
    scoring = HybridScoring(tier_thresholds={"TACTICAL": ScoreThresholds(min_hybrid_score_long=0.3, min_hybrid_score_short=0.3)})
    fields = ScreenerFields(2.57, 53.3, 0.011, True, False)
    core = score_symbol("SOLUSDT", "CORE", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3, scoring=scoring)
    row = screen_symbol("SOLUSDT", "15m", fields, hybrid=core, scoring=scoring)
    assert row.signal == "BUY" and row.emitted and row.hybrid == pytest.approx(0.215)
    assert row.side == "-" and not row.in_trade
    tactical = score_symbol("LINKUSDT", "TACTICAL", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3, scoring=scoring)
    assert not screen_symbol("LINKUSDT", "15m", fields, hybrid=tactical, scoring=scoring).emitted  # 0.285 <= 0.30
    held = screen_symbol("SOLUSDT", "15m", fields, position_side="LONG", hybrid=core, scoring=scoring)
    assert held.in_trade and held.side == "LONG" and not held.emitted
    bear = score_symbol("SOLUSDT", "CORE", trend=-0.9, carry=0.1, expectancy=0.2, router=0.1)
    assert screen_symbol("SOLUSDT", "15m", fields, hybrid=bear).signal == "SELL"


def test_no_scores_or_no_data_means_no_emission():
    fields = ScreenerFields(2.57, 53.3, 0.011, True, False)
    assert not screen_symbol("SOLUSDT", "15m", fields).emitted
    strong = score_symbol("SOLUSDT", "CORE", trend=1, carry=1, expectancy=1, router=1)
    warm = ScreenerFields(math.nan, math.nan, math.nan, False, False)
    row = screen_symbol("SOLUSDT", "15m", warm, hybrid=strong)
    assert not row.emitted and row.hybrid == 1.0
    with pytest.raises(ValueError):
        screen_symbol("SOLUSDT", "15m", fields, position_side="BUY")  # type: ignore[arg-type]  # a wrong value on purpose


def test_cycle_signals_are_ordered_by_conviction():
    def row(sym, h, sig):
        return ScreenerRow(sym, "1h", 0, 50, 0.01, False, False, False, "-", h, sig)

    cycle = screen_cycle([row("AUSDT", 0.3, "BUY"), row("BUSDT", -0.6, "SELL"), row("CUSDT", 0.1, None), row("DUSDT", 0.3, "BUY")])
    assert [r.symbol for r in cycle.signals] == ["BUSDT", "AUSDT", "DUSDT"]
    assert (cycle.attempted, cycle.emitted) == (4, 3)


# ----------------------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_real_sol_15m_breadcrumb(shared_data_dir):
    from marketdata.files import load_klines

    k = load_klines(shared_data_dir / "klines" / "SOLUSDT-15m.csv.gz").slice(-1000)
    f = screener_fields(k)
    assert f.ready and 0 <= f.rsi <= 100 and 0 < f.atr < 0.1 and abs(f.z) <= math.sqrt(19) + 1e-9
    line = format_breadcrumb(screen_symbol("SOLUSDT", "15m", f))
    assert line.startswith("[screener] SOLUSDT 15m z=") and line.endswith("in_trade=False side=-")
    # the live loop's incremental state over the same bars gives the same line
    state = ScreenerState.start()
    for i in range(len(k)):
        state, g = state.update(Bar(float(k.open[i]), float(k.high[i]), float(k.low[i]), float(k.close[i])))
    assert format_breadcrumb(screen_symbol("SOLUSDT", "15m", g)) == line
    # crossovers on real data are events, not states
    up, down = ind.crossover(ind.sma(k.close, 5), ind.sma(k.close, 20))
    assert 0 < up.sum() < 100 and abs(int(up.sum()) - int(down.sum())) <= 1
