"""core.strategies: registry, hand-made scenarios for every rule, the anti-lookahead proof (truncating or
perturbing the future never changes a past target), incremental == batch, parameters from config, the
R1 ensemble, and real data."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.bars import Bar, Ohlc
from core.indicators import ema
from core.strategies import (
    STRATEGIES,
    TIMEFRAME_MS,
    EnsembleState,
    candidate_targets,
    ensemble_targets,
    get_strategy,
    start_candidate,
    start_for_block,
    targets_for_block,
    targets_for_execution,
)
from core.strategies.base import hours_to_bars, resolve_params
from settings.loader import load_file
from settings.models import STRATEGY_NAMES, CandidateConfig, EnsembleConfig, Sleeve, StrategyBlock, StrategyConfig

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
H = 3_600_000

# Small parameters so that random series of a few hundred bars trade often.
SMALL_PARAMS = {
    "ema_cross": {"fast": 3, "slow": 8},
    "tsmom_ema": {"lookback": 10},
    "tsmom_multi_ema": {"lookbacks": [3, 5, 10]},
    "breakout_vol_atr": {"channel": 10, "atr_period": 3, "atr_mult": 1.5, "time_stop_hours": 6, "risk_mult": 0.7},
    "ma_crossover": {"short_ma_period": 3, "long_ma_period": 8, "trailing_stop_pct": 0.01, "enable_shorts": True},
}
LONG_ONLY = {
    "tsmom_ema": {"lookback": 10, "enable_shorts": False},
    "tsmom_multi_ema": {"lookbacks": [3, 5, 10], "enable_shorts": False},
    "breakout_vol_atr": {"channel": 10, "atr_period": 3, "enable_shorts": False},
    "ma_crossover": {"short_ma_period": 3, "long_ma_period": 8},
}


def ohlc(close, high=None, low=None, opens=None) -> Ohlc:
    c = np.asarray(close, dtype=np.float64)
    h = c.copy() if high is None else np.asarray(high, dtype=np.float64)
    lo = c.copy() if low is None else np.asarray(low, dtype=np.float64)
    o = c.copy() if opens is None else np.asarray(opens, dtype=np.float64)
    return Ohlc(o, h, lo, c)


def fold(state, bars: Ohlc) -> np.ndarray:
    out = []
    for i in range(len(bars)):
        state, target = state.update(bars.bar(i))
        out.append(target)
    return np.asarray(out)


@st.composite
def market(draw, min_size: int = 1, max_size: int = 300) -> Ohlc:
    """Random OHLC with trends, chop, flat stretches and the odd missing bar."""
    n = draw(st.integers(min_size, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    regime_vol = rng.choice([0.0, 0.002, 0.01, 0.04], size=n)
    drift = rng.choice([-0.005, 0.0, 0.005], size=n)
    close = 100 * np.exp(np.cumsum(drift + regime_vol * rng.normal(0, 1, n)))
    spread = np.abs(rng.normal(0, 0.006, n))
    high, low = close * (1 + spread), close * (1 - spread * rng.uniform(0, 1, n))
    opens = np.concatenate([close[:1], close[:-1]])
    if n and draw(st.booleans()):
        idx = rng.integers(0, n, size=max(1, n // 25))
        rng.choice([close, high, low])[idx] = np.nan
    return Ohlc(opens, high, low, close)


# ----------------------------------------------------------------------------- registry and conventions


def test_registry_keys_are_the_config_strategy_names():
    assert tuple(STRATEGIES) == STRATEGY_NAMES
    assert all(spec.name == name for name, spec in STRATEGIES.items())
    assert get_strategy("ema_cross") is STRATEGIES["ema_cross"]
    with pytest.raises(ValueError, match="unknown strategy"):
        get_strategy("martingale")


def test_targets_for_execution_shifts_by_one_bar():
    held = targets_for_execution([0.0, 1.0, -1.0, 0.5])
    np.testing.assert_array_equal(held, [0.0, 0.0, 1.0, -1.0])
    assert len(targets_for_execution([])) == 0 and list(targets_for_execution([0.7])) == [0.0]


def test_the_position_filled_at_an_open_ignores_that_bar():
    # held[t] is filled at open[t]; it may depend on bars 0..t-1 only, so rewriting bar t (and later)
    # must leave held[0..t] as it was: the executor can never act on a close it has not seen.
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 300)))
    bars = ohlc(close, close * 1.01, close * 0.99)
    for name in STRATEGY_NAMES:
        held = targets_for_execution(STRATEGIES[name](bars, SMALL_PARAMS[name]))
        for t in (20, 150, 299):
            other = ohlc(close.copy(), close * 1.01, close * 0.99)
            for col in (other.close, other.high, other.low):
                col[t:] = rng.uniform(1, 1000, len(col) - t)
            again = targets_for_execution(STRATEGIES[name](other, SMALL_PARAMS[name]))
            assert np.array_equal(again[: t + 1], held[: t + 1]), name


def test_hours_to_bars():
    assert hours_to_bars(72, H) == 72
    assert hours_to_bars(72, 4 * H) == 18
    assert hours_to_bars(5, 4 * H) == 2  # rounded up
    assert hours_to_bars(72, 15 * 60_000) == 288
    with pytest.raises(ValueError):
        hours_to_bars(1, 0)


def test_params_resolution():
    assert resolve_params("x", {"a": 1, "b": 0.5, "c": True, "d": (1, 2)}, {"b": 2, "d": [3, 4.0]}) == {
        "a": 1, "b": 2.0, "c": True, "d": (3, 4),
    }
    with pytest.raises(ValueError, match="unknown parameter"):
        STRATEGIES["ema_cross"].params({"fsat": 3})
    with pytest.raises(ValueError):
        STRATEGIES["ema_cross"].params({"fast": 2.5})
    with pytest.raises(ValueError):
        STRATEGIES["ma_crossover"].params({"enable_shorts": 1})
    for name, bad in [
        ("ema_cross", {"fast": 26, "slow": 12}),
        ("tsmom_ema", {"lookback": 0}),
        ("tsmom_multi_ema", {"lookbacks": []}),
        ("breakout_vol_atr", {"risk_mult": 1.5}),
        ("breakout_vol_atr", {"atr_mult": 0}),
        ("ma_crossover", {"trailing_stop_pct": 1.0}),
        ("ma_crossover", {"short_ma_period": 20, "long_ma_period": 5}),
    ]:
        with pytest.raises(ValueError):
            STRATEGIES[name](ohlc([1.0, 2.0]), bad)


def test_warmup_bars():
    assert STRATEGIES["ema_cross"].warmup_bars() == 26
    assert STRATEGIES["tsmom_multi_ema"].warmup_bars() == 72
    assert STRATEGIES["breakout_vol_atr"].warmup_bars() == 336
    assert STRATEGIES["ma_crossover"].warmup_bars() == 21


# ----------------------------------------------------------------------------- anti-lookahead proof


@pytest.mark.parametrize("name", STRATEGY_NAMES)
@given(bars=market(min_size=2), cut=st.floats(0, 1), noise=st.integers(0, 2**32 - 1))
@PROPERTY
def test_no_strategy_reads_a_bar_it_has_not_seen(name, bars, cut, noise):
    spec = STRATEGIES[name]
    for params in (SMALL_PARAMS[name], LONG_ONLY.get(name, SMALL_PARAMS[name])):
        full = spec(bars, params)
        t = int(cut * (len(bars) - 1))
        # 1. the future removed
        assert np.array_equal(spec(bars.head(t + 1), params), full[: t + 1])
        # 2. the future replaced by anything else (including missing bars)
        rng = np.random.default_rng(noise)
        other = [col.copy() for col in (bars.open, bars.high, bars.low, bars.close)]
        for col in other:
            col[t + 1 :] = rng.uniform(1.0, 1e4, len(col) - t - 1)
            if len(col) > t + 1:
                col[rng.integers(t + 1, len(col))] = np.nan
        assert np.array_equal(spec(Ohlc(*other), params)[: t + 1], full[: t + 1])


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_no_lookahead_with_default_parameters_on_a_long_series(name):
    generate_klines = pytest.importorskip("marketdata.synthetic").generate_klines
    k = generate_klines("BTCUSDT", "2024-01-01", 2500, seed=7)
    full = STRATEGIES[name](k)
    for t in (700, 1000, 1789, 2498):
        assert np.array_equal(STRATEGIES[name](k.slice(0, t + 1)), full[: t + 1])


# ----------------------------------------------------------------------------- incremental == batch


@pytest.mark.parametrize("name", STRATEGY_NAMES)
@given(bars=market(min_size=0))
@PROPERTY
def test_incremental_state_reproduces_batch_targets(name, bars):
    spec = STRATEGIES[name]
    for params in (SMALL_PARAMS[name], LONG_ONLY.get(name, SMALL_PARAMS[name])):
        batch = spec(bars, params)
        np.testing.assert_array_equal(fold(spec.start(params), bars), batch)
        assert np.all(np.abs(batch) <= 1.0) and np.all(np.isfinite(batch))


@pytest.mark.parametrize("name", STRATEGY_NAMES)
@given(bars=market(min_size=0))
@PROPERTY
def test_many_equals_one_call_per_parameter_set(name, bars):
    """`spec.many` (a sweep's shared work, e.g. ema_cross's EMAs per span) gives each set's targets bit for bit."""
    spec = STRATEGIES[name]
    sets = [SMALL_PARAMS[name], LONG_ONLY.get(name, SMALL_PARAMS[name]), SMALL_PARAMS[name], None]
    if name == "ema_cross":  # spans shared between sets, in both roles
        sets += [{"fast": 3, "slow": 5}, {"fast": 5, "slow": 8}, {"fast": 8, "slow": 13}]
    got = spec.many(bars, sets)
    assert len(got) == len(sets)
    for params, targets in zip(sets, got):
        want = spec(bars, params)
        assert targets.dtype == want.dtype and targets.tobytes() == want.tobytes()
    with pytest.raises(ValueError):
        spec.many(bars, [SMALL_PARAMS[name], {"no_such_parameter": 1}])


@pytest.mark.parametrize("name", ["tsmom_ema", "tsmom_multi_ema", "breakout_vol_atr", "ma_crossover"])
@given(bars=market(min_size=0))
@PROPERTY
def test_long_only_settings_never_go_short(name, bars):
    assert np.all(STRATEGIES[name](bars, LONG_ONLY[name]) >= 0.0)


@pytest.mark.parametrize("name", STRATEGY_NAMES)
def test_missing_bars_hold_the_previous_target(name):
    rng = np.random.default_rng(11)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, 400)))
    bars = ohlc(close, close * 1.01, close * 0.99)
    gappy = ohlc(close.copy(), close * 1.01, close * 0.99)
    for i in (50, 51, 200, 399):
        gappy.close[i] = np.nan
    t = STRATEGIES[name](gappy, SMALL_PARAMS[name])
    for i in (50, 51, 200, 399):
        assert t[i] == t[i - 1]
    assert np.all(np.isfinite(t))
    clean = STRATEGIES[name](bars, SMALL_PARAMS[name])
    np.testing.assert_array_equal(t[:50], clean[:50])


# ----------------------------------------------------------------------------- ema_cross


def test_ema_cross_hand_scenario():
    close = np.concatenate([np.linspace(100, 120, 30), np.linspace(119, 90, 30)])
    t = STRATEGIES["ema_cross"](ohlc(close), {"fast": 3, "slow": 8})
    assert np.all(t[:8] == 0.0)  # flat for the first `slow` bars
    assert np.all(t[8:30] == 1.0)  # rising: fast above slow
    assert t[-1] == -1.0 and set(np.unique(t[8:])) <= {-1.0, 1.0}
    f, s = ema(close, 3), ema(close, 8)
    np.testing.assert_array_equal(t[8:], np.where(f[8:] > s[8:], 1.0, -1.0))


def test_ema_cross_equal_averages_count_as_not_above():
    t = STRATEGIES["ema_cross"](ohlc(np.full(40, 50.0)), {"fast": 3, "slow": 8})
    assert np.all(t[:8] == 0) and np.all(t[8:] == -1.0)


# ----------------------------------------------------------------------------- tsmom


def test_tsmom_ema_hand_scenario():
    up = np.linspace(100, 150, 50)
    t = STRATEGIES["tsmom_ema"](ohlc(np.concatenate([up, up[::-1]])), {"lookback": 10})
    assert np.all(t[:10] == 0) and np.all(t[10:50] == 1.0) and t[-1] == -1.0
    assert np.all(STRATEGIES["tsmom_ema"](ohlc(up[::-1]), {"lookback": 10, "enable_shorts": False}) == 0.0)


def test_tsmom_multi_ema_steps_with_agreeing_horizons():
    rising = np.linspace(100, 130, 30)
    t = STRATEGIES["tsmom_multi_ema"](ohlc(rising), {"lookbacks": [2, 4]})
    np.testing.assert_array_equal(t[:6], [0, 0, 0.5, 0.5, 1.0, 1.0])
    # long rise then a short dip: the fast horizon turns first, the slow one still says up
    close = np.concatenate([np.linspace(100, 200, 200), np.linspace(199, 190, 6)])
    last = STRATEGIES["tsmom_multi_ema"](ohlc(close), {"lookbacks": [3, 100]})[-1]
    assert last == 0.0  # (-1 + 1) / 2
    levels = STRATEGIES["tsmom_multi_ema"](ohlc(100 + 10 * np.sin(np.arange(900) / 40)))
    assert set(np.unique(levels)) <= {-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1}


# ----------------------------------------------------------------------------- breakout_vol_atr


def _breakout_bars(after: list[tuple[float, float, float]]) -> Ohlc:
    """15 quiet bars (close 100, high 101, low 99), a breakout bar, then `after` (close, high, low)."""
    rows = [(100.0, 101.0, 99.0)] * 15 + [(105.0, 106.0, 100.0)] + after
    c, h, lo = (np.array(col) for col in zip(*rows))
    return ohlc(c, h, lo)


BREAKOUT = {"channel": 10, "atr_period": 3, "atr_mult": 2.0, "time_stop_hours": 5, "risk_mult": 0.7}


def test_breakout_entry_and_time_stop():
    bars = _breakout_bars([(105.0, 105.5, 104.5)] * 8)
    t = STRATEGIES["breakout_vol_atr"](bars, BREAKOUT)
    assert np.all(t[:15] == 0.0)
    assert t[15] == pytest.approx(0.7)  # close 105 > upper = max(high of bars 5..14) = 101
    np.testing.assert_allclose(t[16:20], 0.7)
    assert t[20] == 0.0  # held 5 bars of 1h: time stop
    assert np.all(t[21:] == 0.0)  # 105 is not above the new channel (106): no re-entry


def test_breakout_time_stop_is_in_hours_not_bars():
    bars = _breakout_bars([(105.0, 105.5, 104.5)] * 8)
    t = STRATEGIES["breakout_vol_atr"](bars, BREAKOUT, bar_ms=4 * H)  # 5 h = 2 bars of 4h
    np.testing.assert_allclose(t[15:17], 0.7)
    assert t[17] == 0.0
    never = STRATEGIES["breakout_vol_atr"](bars, {**BREAKOUT, "time_stop_hours": 0})
    assert np.all(never[15:] == pytest.approx(0.7))


def test_breakout_atr_stop_trails_and_exits():
    # ATR(3) at the breakout = (2 + 2 + 6) / 3; entry stop = 105 - 2 * 10/3 = 98.33; after bar 16
    # (TR 1) ATR = (10/3 * 2 + 1) / 3 = 2.556 and the stop trails up to 105 - 5.111 = 99.89
    bars = _breakout_bars([(105.0, 105.5, 104.5), (99.5, 105.0, 99.0), (105.0, 105.5, 104.5)])
    t = STRATEGIES["breakout_vol_atr"](bars, {**BREAKOUT, "time_stop_hours": 0})
    assert t[15] == pytest.approx(0.7) and t[16] == pytest.approx(0.7)
    assert t[17] == 0.0  # close 99.5 <= trailed stop 99.89 (but above the entry stop 98.33)
    assert t[18] == 0.0


def test_breakout_short_side_and_long_only():
    rows = [(100.0, 101.0, 99.0)] * 15 + [(94.0, 100.0, 93.0)] + [(94.0, 94.5, 93.5)] * 3
    c, h, lo = (np.array(col) for col in zip(*rows))
    t = STRATEGIES["breakout_vol_atr"](ohlc(c, h, lo), BREAKOUT)
    assert t[15] == pytest.approx(-0.7) and t[18] == pytest.approx(-0.7)
    assert np.all(STRATEGIES["breakout_vol_atr"](ohlc(c, h, lo), {**BREAKOUT, "enable_shorts": False}) == 0)


def test_breakout_volatility_scaled_size():
    bars = _breakout_bars([(105.0, 105.5, 104.5)] * 3)
    # ATR / close at entry = (10/3) / 105 = 3.17 %; target 1 % -> size 0.7 * 0.01 / 0.0317
    t = STRATEGIES["breakout_vol_atr"](bars, {**BREAKOUT, "target_atr_pct": 0.01})
    assert t[15] == pytest.approx(0.7 * 0.01 / ((10 / 3) / 105))
    calm = STRATEGIES["breakout_vol_atr"](bars, {**BREAKOUT, "target_atr_pct": 0.5})
    assert calm[15] == pytest.approx(0.7)  # never above risk_mult


# ----------------------------------------------------------------------------- ma_crossover (docs/Runbook.md)


def test_ma_crossover_entry_and_trailing_stop():
    close = [100.0] * 10 + [101.0, 102.0, 103.0, 101.9, 101.9, 101.9]
    t = STRATEGIES["ma_crossover"](ohlc(close), {"short_ma_period": 2, "long_ma_period": 4})
    assert np.all(t[:10] == 0.0)
    assert t[10] == pytest.approx(0.4)  # cross up; |target| = target_leverage 2 / max_leverage 5
    assert t[11] == t[12] == pytest.approx(0.4)
    assert t[13] == 0.0  # 101.9 <= peak 103 * 0.99 = 101.97: trailing stop
    assert np.all(t[14:] == 0.0)  # the cross down at 14 opens nothing: shorts disabled by default


def test_ma_crossover_exits_on_cross_down_and_reverses_with_shorts():
    close = [100.0] * 10 + [101.0, 101.5, 101.6, 101.3, 100.2, 99.0, 98.5, 98.4]
    long_only = STRATEGIES["ma_crossover"](ohlc(close), {"short_ma_period": 2, "long_ma_period": 4, "trailing_stop_pct": 0.05})
    both = STRATEGIES["ma_crossover"](
        ohlc(close), {"short_ma_period": 2, "long_ma_period": 4, "trailing_stop_pct": 0.05, "enable_shorts": True}
    )
    first_exit = int(np.argmax((long_only == 0) & (np.arange(len(close)) > 10)))
    assert long_only[10] == pytest.approx(0.4) and long_only[first_exit] == 0.0
    assert both[first_exit] == pytest.approx(-0.4)  # the same crossover reverses to short
    full = STRATEGIES["ma_crossover"](ohlc(close), {"short_ma_period": 2, "long_ma_period": 4, "target_leverage": 5.0})
    assert full[10] == 1.0


def test_ma_crossover_seed_defaults():
    p = STRATEGIES["ma_crossover"].params()
    assert (p["short_ma_period"], p["long_ma_period"], p["trailing_stop_pct"], p["enable_shorts"]) == (5, 20, 0.01, False)


# ----------------------------------------------------------------------------- config blocks and the R1 ensemble


@pytest.fixture(scope="module")
def strategy_config(repo_root) -> StrategyConfig:
    return load_file(repo_root / "config", "strategy_config.json")  # type: ignore[return-value]  # load_file returns the file's model


@pytest.fixture(scope="module")
def r1(repo_root) -> CandidateConfig:
    return load_file(repo_root / "config", "prod_candidate_R1.yaml")  # type: ignore[return-value]  # load_file returns the file's model


@pytest.fixture(scope="module")
def synthetic_r1_bars():
    generate_klines = pytest.importorskip("marketdata.synthetic").generate_klines
    return {s: generate_klines(s, "2024-01-01", 1500, seed=3) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}


def test_every_configured_block_runs(strategy_config, synthetic_r1_bars):
    bars = synthetic_r1_bars["BTCUSDT"]
    for block in strategy_config.strategies.values():
        t = targets_for_block(block, bars)
        assert len(t) == len(bars) and np.all(np.abs(t) <= 1)
        np.testing.assert_array_equal(fold(start_for_block(block), Ohlc.of(bars)), t)
    assert set(TIMEFRAME_MS) >= {"15m", "1h", "4h"} and TIMEFRAME_MS["15m"] == 15 * 60_000
    fifteen = StrategyBlock(strategy="breakout_vol_atr", timeframe="15m", params={"channel": 20, "time_stop_hours": 1})
    assert start_for_block(fifteen).rules.time_stop_bars == 4


def test_r1_ensemble_weights_and_sums(r1, synthetic_r1_bars):
    assert [(s.name, s.symbol, s.strategy, s.weight) for s in r1.ensemble.sleeves] == [
        ("BTC", "BTCUSDT", "breakout_vol_atr", 0.34),
        ("ETH", "ETHUSDT", "tsmom_multi_ema", 0.33),
        ("SOL", "SOLUSDT", "tsmom_ema", 0.33),
    ]
    out = ensemble_targets(r1.ensemble, synthetic_r1_bars)
    via_candidate = candidate_targets(r1, synthetic_r1_bars)  # interval 1h
    assert all(np.array_equal(via_candidate.per_symbol[s], out.per_symbol[s]) for s in out.per_symbol)
    assert start_candidate(r1).per_symbol == {"BTCUSDT": 0.0, "ETHUSDT": 0.0, "SOLUSDT": 0.0}
    for sleeve in r1.ensemble.sleeves:
        raw = out.per_sleeve[sleeve.name]
        np.testing.assert_array_equal(raw, STRATEGIES[sleeve.strategy](synthetic_r1_bars[sleeve.symbol], sleeve.params))
        np.testing.assert_allclose(out.per_symbol[sleeve.symbol], sleeve.weight * raw)
        assert np.max(np.abs(out.per_symbol[sleeve.symbol])) <= sleeve.weight + 1e-12
    gross = sum(np.abs(v) for v in out.per_symbol.values())
    assert np.all(gross <= 1.0 + 1e-12)
    assert np.any(out.per_sleeve["BTC"] != 0) and np.any(out.per_sleeve["ETH"] != 0)


def test_sleeves_on_one_symbol_net_out(synthetic_r1_bars):
    ens = EnsembleConfig(sleeves=[
        Sleeve(name="A", symbol="BTCUSDT", strategy="ema_cross", weight=0.5, params={"fast": 3, "slow": 8}),
        Sleeve(name="B", symbol="BTCUSDT", strategy="ema_cross", weight=0.5, params={"fast": 3, "slow": 8}),
    ])
    out = ensemble_targets(ens, synthetic_r1_bars)
    np.testing.assert_allclose(out.per_symbol["BTCUSDT"], out.per_sleeve["A"])
    with pytest.raises(ValueError, match="no bars"):
        ensemble_targets(ens, {"ETHUSDT": synthetic_r1_bars["ETHUSDT"]})


def test_ensemble_incremental_equals_batch(r1, synthetic_r1_bars):
    out = ensemble_targets(r1.ensemble, synthetic_r1_bars)
    state = EnsembleState.start(r1.ensemble)
    n = len(synthetic_r1_bars["BTCUSDT"])
    views = {s: Ohlc.of(k) for s, k in synthetic_r1_bars.items()}
    for i in range(n):
        state, per_symbol = state.update({s: v.bar(i) for s, v in views.items()})
        for symbol, target in per_symbol.items():
            assert target == pytest.approx(out.per_symbol[symbol][i], abs=1e-15)
    assert state.per_sleeve["BTC"] == out.per_sleeve["BTC"][-1]
    held, _ = state.update({"BTCUSDT": Bar(1.0, 1.0, 1.0, float("nan"))})  # ETH/SOL missing, BTC bad
    assert held.per_symbol == state.per_symbol


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real_r1_bars(shared_data_dir):
    from marketdata.files import load_klines

    bars = {s: load_klines(shared_data_dir / "klines" / f"{s}-1h.csv.gz") for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}
    start = max(int(k.open_time_ms[0]) for k in bars.values())
    return {s: k.slice(int(np.searchsorted(k.open_time_ms, start))) for s, k in bars.items()}


@pytest.mark.shared_data
def test_r1_on_real_data(r1, real_r1_bars):
    out = ensemble_targets(r1.ensemble, real_r1_bars)
    btc = out.per_sleeve["BTC"]
    entries = np.flatnonzero((btc != 0) & (np.roll(btc, 1) == 0))
    assert 5 < len(entries) < 500  # a breakout system trades, but rarely
    holds = np.diff(np.flatnonzero(np.diff((btc != 0).astype(int)) != 0))[::2]
    assert np.all(holds <= 72)  # the 72 h time stop on 1h bars
    assert set(np.unique(btc)) <= {-0.7, 0.0, 0.7}
    eth = out.per_sleeve["ETH"]
    assert np.mean(eth != 0) > 0.5 and set(np.unique(eth)) <= {-1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1}
    # the live loop (incremental) agrees with the backtest (batch) on the latest month of real bars
    for sleeve in r1.ensemble.sleeves:
        bars = Ohlc.of(real_r1_bars[sleeve.symbol])
        batch = STRATEGIES[sleeve.strategy](bars, sleeve.params)
        np.testing.assert_array_equal(fold(STRATEGIES[sleeve.strategy].start(sleeve.params), bars)[-720:], batch[-720:])


@pytest.mark.shared_data
def test_no_lookahead_on_real_data(real_r1_bars):
    k = real_r1_bars["BTCUSDT"]
    for name in STRATEGY_NAMES:
        full = STRATEGIES[name](k)
        for t in (5000, 12345):
            assert np.array_equal(STRATEGIES[name](k.slice(0, t + 1)), full[: t + 1])
