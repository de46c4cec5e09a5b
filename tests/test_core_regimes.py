"""core.regimes: the docs/v7.4_Risk_and_Methodology.md table (every boundary), days -> bars, degenerate input, sizing and
weight modifiers from config, incremental == batch, intel.json shape, and the March 2020 crash."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import regimes as rg
from core.indicators import ewma_vol
from settings.loader import load_file
from settings.models import REGIMES, RatioThresholds, StrategyConfig, VolRegimeDefaults, VolRegimes

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
H = rg.HOUR_MS


@pytest.fixture(scope="module")
def strategy_config(repo_root) -> StrategyConfig:
    return load_file(repo_root / "config", "strategy_config.json")  # type: ignore[return-value]  # load_file returns the file's model


def gbm(n: int, hourly_vol: float, seed: int = 0, start: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return start * np.exp(np.cumsum(rng.normal(0.0, hourly_vol, n)))


# ----------------------------------------------------------------------------- classification table


@pytest.mark.parametrize(
    "ratio, regime",
    [
        (0.0, "low"),
        (0.5, "low"),
        (math.nextafter(0.75, 0), "low"),
        (0.75, "normal"),  # low <= ratio  -> normal
        (1.0, "normal"),
        (math.nextafter(1.25, 0), "normal"),
        (1.25, "high"),  # normal <= ratio -> high
        (1.5, "high"),
        (math.nextafter(1.75, 0), "high"),
        (1.75, "crisis"),  # ratio >= high -> crisis
        (10.0, "crisis"),
        (math.inf, "crisis"),
        (math.nan, "normal"),  # no ratio: the safe regime
    ],
)
def test_classify_ratio_boundaries_exactly_as_the_seed(ratio, regime):
    assert rg.classify_ratio(ratio, RatioThresholds()) == regime


def test_classify_uses_the_configured_thresholds(strategy_config):
    t = strategy_config.vol_regimes.defaults.ratio_low_high
    assert (t.low, t.normal, t.high) == (0.75, 1.25, 1.75)
    custom = RatioThresholds(low=0.5, normal=1.0, high=2.0)
    assert [rg.classify_ratio(r, custom) for r in (0.49, 0.5, 0.99, 1.0, 1.99, 2.0)] == [
        "low", "normal", "normal", "high", "high", "crisis",
    ]


@given(a=st.floats(0, 5), b=st.floats(0, 5))
@PROPERTY
def test_classification_is_monotone_in_the_ratio(a, b):
    order = {r: i for i, r in enumerate(REGIMES)}
    lo, hi = min(a, b), max(a, b)
    assert order[rg.classify_ratio(lo)] <= order[rg.classify_ratio(hi)]


def test_series_classification_matches_scalar_at_boundaries():
    # vol_regime_series (vectorised) must put a ratio that equals a threshold where classify_ratio does: in the
    # upper regime. Thresholds are set to ratios the series really computed, so every boundary is hit exactly.
    rng = np.random.default_rng(5)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 600) * np.repeat([1.0, 3.0, 0.3, 2.0], 150)))
    defaults = VolRegimeDefaults(short_days=1.0, long_days=3.0)
    ratios = rg.vol_regime_series(x, H, defaults).ratio
    ok = np.flatnonzero(np.isfinite(ratios))
    picks = sorted({float(ratios[i]) for i in ok[:: max(1, len(ok) // 40)]})
    for low, normal, high in zip(picks, picks[1:], picks[2:]):
        t = RatioThresholds(low=low, normal=normal, high=high)
        series = rg.vol_regime_series(x, H, VolRegimeDefaults(short_days=1.0, long_days=3.0, ratio_low_high=t))
        assert np.array_equal(series.ratio, ratios, equal_nan=True)
        hits = [i for i in ok if series.ratio[i] in (low, normal, high)]
        assert hits  # the boundaries are really exercised
        for i in hits:
            assert series.regime[i] == rg.classify_ratio(float(series.ratio[i]), t), (i, series.ratio[i], t)
        assert "low" not in {str(series.regime[i]) for i in hits}  # a ratio on a threshold is in the upper regime


# ----------------------------------------------------------------------------- days -> bars


def test_days_to_bars_by_interval():
    assert rg.days_to_bars(7, H) == 168.0
    assert rg.days_to_bars(30, H) == 720.0
    assert rg.days_to_bars(7, 15 * 60_000) == 672.0
    assert rg.days_to_bars(7, 24 * H) == 7.0
    assert rg.bars_per_year(H) == 8760.0
    with pytest.raises(ValueError):
        rg.days_to_bars(7, 0)


def test_vol_uses_spans_in_bars_of_the_given_interval():
    close = gbm(3000, 0.01)
    result = rg.vol_regime(close, H)
    ann = math.sqrt(8760)
    assert result.vol_short == pytest.approx(ewma_vol(close, 168)[-1] * ann, rel=1e-12)
    assert result.vol_long == pytest.approx(ewma_vol(close, 720)[-1] * ann, rel=1e-12)
    assert result.ratio == pytest.approx(ewma_vol(close, 168)[-1] / ewma_vol(close, 720)[-1], rel=1e-12)
    # the same closes read as 4h bars: 7 d = 42 bars, 30 d = 180 bars; ratio is interval-free in form
    as_4h = rg.vol_regime(close, 4 * H)
    assert as_4h.ratio == pytest.approx(ewma_vol(close, 42)[-1] / ewma_vol(close, 180)[-1], rel=1e-12)


def test_annualised_vol_recovers_the_simulated_vol():
    hourly = 0.6 / math.sqrt(8760)  # 60 % a year
    r = rg.vol_regime(gbm(20_000, hourly, seed=4))
    assert r.vol_long == pytest.approx(0.6, rel=0.15)
    assert r.vol_short == pytest.approx(0.6, rel=0.3)


# ----------------------------------------------------------------------------- regimes on synthetic paths


def test_steady_volatility_is_normal():
    r = rg.vol_regime(gbm(5000, 0.01, seed=1))
    assert r.vol_regime == "normal" and not r.insufficient_data and 0.75 <= r.ratio < 1.25


def test_a_sudden_volatility_spike_is_crisis_and_a_lull_is_low():
    # The ratio of two EWMAs is bounded (~sqrt(span_long / span_short) ~ 2.07 for 7 d / 30 d), so only a
    # sudden, recent shock reaches "crisis": a day at 10x the usual volatility does.
    base = gbm(3000, 0.005, seed=2)
    spike = np.concatenate([base, base[-1] * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.05, 24)))])
    assert rg.vol_regime(spike).vol_regime == "crisis"
    lull = np.concatenate([base, base[-1] * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.0005, 240)))])
    assert rg.vol_regime(lull).vol_regime == "low"


def test_moderately_raised_volatility_is_high():
    base = gbm(3000, 0.01, seed=5)
    raised = np.concatenate([base, base[-1] * np.exp(np.cumsum(np.random.default_rng(6).normal(0, 0.025, 72)))])
    r = rg.vol_regime(raised)  # three days at 2.5x: expected ratio ~1.44
    assert r.vol_regime == "high" and 1.25 <= r.ratio < 1.75


# ----------------------------------------------------------------------------- degenerate input


def test_too_few_bars_is_a_flagged_safe_result():
    r = rg.vol_regime(gbm(100, 0.01))
    assert r.vol_regime == "normal" and r.insufficient_data and math.isnan(r.ratio)
    assert r.n_returns == 99 and "needed" in r.note
    assert rg.vol_regime(gbm(100, 0.01), min_returns=50).insufficient_data is False


def test_flat_prices_and_empty_input_are_flagged_not_raised():
    flat = rg.vol_regime(np.full(2000, 50.0))
    assert flat.vol_regime == "normal" and flat.insufficient_data and math.isnan(flat.ratio)
    assert "zero" in flat.note
    empty = rg.vol_regime([])
    assert empty.insufficient_data and empty.n_returns == 0
    nans = rg.vol_regime([math.nan] * 500)
    assert nans.vol_regime == "normal" and nans.insufficient_data


def test_a_quiet_week_after_activity_is_low_not_degenerate():
    x = np.concatenate([gbm(1500, 0.01, seed=7), np.full(200, 1.0)])
    x[1500:] = x[1499]
    r = rg.vol_regime(x)
    assert r.vol_regime == "low" and not r.insufficient_data and r.ratio < 0.75


@given(
    values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0)), max_size=400),
    bar_hours=st.sampled_from([0.25, 1, 4, 24]),
)
@PROPERTY
def test_never_raises_on_any_data(values, bar_hours):
    r = rg.vol_regime(np.asarray(values, dtype=np.float64), int(bar_hours * H))
    assert r.vol_regime in REGIMES
    assert r.insufficient_data == math.isnan(r.ratio)
    json.dumps(r.to_intel_dict(), allow_nan=False)


def test_bad_parameters_raise():
    with pytest.raises(ValueError):
        rg.vol_regime([1.0, 2.0], bar_ms=-1)
    with pytest.raises(ValueError):
        rg.vol_regime([1.0, 2.0], min_returns=0)
    with pytest.raises(ValueError):
        rg.sizing_multiplier(VolRegimes(), "CORE", "panic")


# ----------------------------------------------------------------------------- incremental == batch


@st.composite
def price_paths(draw):
    n = draw(st.integers(0, 600))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vol = rng.choice([0.0, 0.001, 0.01, 0.05], size=max(n, 1))[:n] if n else np.zeros(0)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 1, n) * vol))
    if n and draw(st.booleans()):
        x[rng.integers(0, n, size=max(1, n // 20))] = rng.choice([np.nan, -1.0, 0.0, np.inf])
    return x


@given(x=price_paths(), days=st.sampled_from([(1.0, 3.0), (7.0, 30.0)]), bar_hours=st.sampled_from([1, 4]))
@PROPERTY
def test_incremental_state_equals_batch_series(x, days, bar_hours):
    defaults = VolRegimeDefaults(short_days=days[0], long_days=days[1])
    bar_ms = bar_hours * H
    series = rg.vol_regime_series(x, bar_ms, defaults)
    state = rg.RegimeState.start(bar_ms, defaults)
    for i, close in enumerate(x):
        state, result = state.update(float(close))
        want = series.at(i)
        assert result.vol_regime == want.vol_regime
        assert result.insufficient_data == want.insufficient_data
        assert result.n_returns == want.n_returns and result.note == want.note
        for a, b in ((result.vol_short, want.vol_short), (result.vol_long, want.vol_long), (result.ratio, want.ratio)):
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-300)


@given(x=price_paths(), cut=st.floats(0, 1))
@PROPERTY
def test_series_is_causal(x, cut):
    t = int(cut * max(len(x) - 1, 0))
    full = rg.vol_regime_series(x)
    part = rg.vol_regime_series(x[: t + 1])
    assert np.array_equal(full.ratio[: t + 1], part.ratio, equal_nan=True)
    assert np.array_equal(full.regime[: t + 1], part.regime)


# ----------------------------------------------------------------------------- sizing and weights


def test_core_sizing_multipliers_from_config(strategy_config):
    vr = strategy_config.vol_regimes
    assert [rg.sizing_multiplier(vr, "CORE", r) for r in REGIMES] == [1.15, 1.0, 0.75, 0.5]
    assert [rg.sizing_multiplier(vr, "ALT-EXT", r) for r in REGIMES] == [1.0, 1.0, 0.5, 0.25]
    assert rg.sizing_multiplier(vr, "UNKNOWN-TIER", "crisis") == 1.0


def test_effective_per_trade_nav_pct_seed_formula(strategy_config):
    # docs/v7.4_Risk_and_Methodology.md: base x multiplier (core.sizing applies it in Decimal; this checks the multiplier side)
    vr = strategy_config.vol_regimes
    base = strategy_config.tiers["CORE"].per_trade_nav_pct
    assert base == 0.04
    assert base * rg.sizing_multiplier(vr, "CORE", "low") == pytest.approx(0.046)
    assert base * rg.sizing_multiplier(vr, "CORE", "crisis") == pytest.approx(0.02)
    assert 0.025 * rg.sizing_multiplier(vr, "SATELLITE", "high") == pytest.approx(0.0175)


def test_weight_modifiers_from_config(strategy_config):
    vr = strategy_config.vol_regimes
    crisis = rg.weight_modifiers(vr, "crisis")
    assert (crisis.trend, crisis.carry, crisis.expectancy, crisis.router) == (1.0, 0.4, 0.8, 1.5)
    normal = rg.weight_modifiers(vr, "normal")
    assert (normal.trend, normal.carry, normal.expectancy, normal.router) == (1.0, 1.0, 1.0, 1.0)


# ----------------------------------------------------------------------------- intel.json


def test_to_intel_dict_contract():
    r = rg.vol_regime(gbm(3000, 0.01))
    d = r.to_intel_dict()
    assert d["vol_regime"] == r.vol_regime
    assert set(d["vol"]) == {"short", "long", "ratio"}
    assert d["vol"]["ratio"] == pytest.approx(r.ratio)
    json.dumps(d, allow_nan=False)
    flagged = rg.vol_regime([1.0, 2.0]).to_intel_dict()
    assert flagged["vol"]["ratio"] is None and flagged["insufficient_data"] is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.vol_regime = "low"  # type: ignore[misc]  # frozen


# ----------------------------------------------------------------------------- real data


def _index_at(klines, iso: str) -> int:
    ms = int(dt.datetime.fromisoformat(iso).replace(tzinfo=dt.UTC).timestamp() * 1000)
    return int(np.searchsorted(klines.open_time_ms, ms))


@pytest.fixture(scope="module")
def btc_1h(shared_data_dir):
    from marketdata.files import load_klines

    return load_klines(shared_data_dir / "klines" / "BTCUSDT-1h.csv.gz")


@pytest.mark.shared_data
def test_march_2020_crash_is_a_crisis(btc_1h, strategy_config):
    defaults = strategy_config.vol_regimes.defaults
    series = rg.vol_regime_series(btc_1h.close, H, defaults)
    before = series.at(_index_at(btc_1h, "2020-03-05T00:00"))
    assert before.vol_regime in ("low", "normal")
    crash = range(_index_at(btc_1h, "2020-03-12T00:00"), _index_at(btc_1h, "2020-03-14T00:00"))
    assert any(series.regime[i] == "crisis" for i in crash)
    assert series.at(_index_at(btc_1h, "2020-03-13T00:00")).vol_regime == "crisis"
    assert series.at(_index_at(btc_1h, "2020-04-05T00:00")).vol_regime in ("low", "normal")
    # crisis is rare over the whole history
    assert np.mean(series.regime == "crisis") < 0.01
    # the latest-bar helper and the incremental state agree with the series on real data
    k = btc_1h.slice(0, _index_at(btc_1h, "2020-03-13T00:00") + 1)
    assert rg.vol_regime(k.close, H, defaults).vol_regime == "crisis"


@pytest.mark.shared_data
def test_eth_and_sol_regimes_smoke(shared_data_dir):
    from marketdata.files import load_klines

    eth = load_klines(shared_data_dir / "klines" / "ETHUSDT-1h.csv.gz")
    s = rg.vol_regime_series(eth.close)
    crash = range(_index_at(eth, "2020-03-12T00:00"), _index_at(eth, "2020-03-14T00:00"))
    assert any(s.regime[i] == "crisis" for i in crash)
    sol15 = load_klines(shared_data_dir / "klines" / "SOLUSDT-15m.csv.gz").slice(-1000)
    r = rg.vol_regime(sol15.close, 15 * 60_000)  # 1,000 bars of 15m hold 10 days: long EWMA still warming
    assert r.vol_regime in REGIMES and not r.insufficient_data and 0.05 < r.vol_long < 5
