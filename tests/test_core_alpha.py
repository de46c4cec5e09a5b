"""core.alpha: hand-computed hybrid scores, weights (default / tier / regime), each component's rule and
sign convention, gating boundaries, ranking, and the invariants as properties."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core import alpha as al
from core.alpha import (
    ComponentWeights,
    RouterStats,
    TradeStats,
    TrendState,
)
from core.regimes import vol_regime
from settings.loader import load_file
from settings.models import (
    CarrySettings,
    ExpectancySettings,
    HybridScoring,
    HybridWeights,
    RouterScoreSettings,
    ScoreThresholds,
    StrategyConfig,
    TrendSettings,
    VolRegimes,
    WeightModifiers,
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
score = st.floats(-1.0, 1.0)
DEFAULT = ComponentWeights(0.40, 0.25, 0.20, 0.15)


@pytest.fixture(scope="module")
def cfg(repo_root) -> StrategyConfig:
    return load_file(repo_root / "config", "strategy_config.json")  # type: ignore[return-value]  # load_file returns the file's model


# ----------------------------------------------------------------------------- hybrid: hand-computed


def test_hybrid_hand_example_with_default_weights():
    # 0.40*0.5 + 0.25*(-0.2) + 0.20*0.1 + 0.15*0.3 = 0.2 - 0.05 + 0.02 + 0.045
    assert al.hybrid_score(0.5, -0.2, 0.1, 0.3, DEFAULT) == pytest.approx(0.215, abs=1e-15)
    r = al.score_symbol("BTCUSDT", "CORE", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3)
    assert r.hybrid == pytest.approx(0.215, abs=1e-15)
    assert r.weights == DEFAULT and r.missing == ()


def test_default_weights_come_from_config(cfg):
    w = al.effective_weights(cfg.hybrid_scoring, "CORE")
    assert (w.trend, w.carry, w.expectancy, w.router) == (0.40, 0.25, 0.20, 0.15)
    assert al.effective_weights(HybridScoring(), "SATELLITE") == DEFAULT


def test_tier_weights_override(cfg):
    w = al.effective_weights(cfg.hybrid_scoring, "TACTICAL")
    assert (w.trend, w.carry, w.expectancy, w.router) == (0.50, 0.15, 0.20, 0.15)
    r = al.score_symbol("LINKUSDT", "TACTICAL", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3, scoring=cfg.hybrid_scoring)
    # 0.25 - 0.03 + 0.02 + 0.045
    assert r.hybrid == pytest.approx(0.285, abs=1e-15)


def test_regime_modifiers_multiply_then_renormalise(cfg):
    w = al.effective_weights(cfg.hybrid_scoring, "CORE", "crisis", cfg.vol_regimes)
    # raw = 0.40*1.0, 0.25*0.4, 0.20*0.8, 0.15*1.5 = 0.4, 0.1, 0.16, 0.225 (sum 0.885)
    assert w.trend == pytest.approx(0.4 / 0.885) and w.carry == pytest.approx(0.1 / 0.885)
    assert w.expectancy == pytest.approx(0.16 / 0.885) and w.router == pytest.approx(0.225 / 0.885)
    assert math.fsum(w.as_dict().values()) == pytest.approx(1.0, abs=1e-15)
    r = al.score_symbol(
        "BTCUSDT", "CORE", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3,
        scoring=cfg.hybrid_scoring, regime="crisis", vol_regimes=cfg.vol_regimes,
    )
    assert r.hybrid == pytest.approx((0.2 - 0.02 + 0.016 + 0.0675) / 0.885, abs=1e-15)
    assert r.regime == "crisis"
    # low / normal regimes leave the weights alone; "high" downweights carry
    assert al.effective_weights(cfg.hybrid_scoring, "CORE", "normal", cfg.vol_regimes) == DEFAULT
    high = al.effective_weights(cfg.hybrid_scoring, "CORE", "high", cfg.vol_regimes)
    assert high.carry == pytest.approx(0.175 / 0.935) and high.carry < 0.25


def test_unknown_regime_is_an_error_not_a_silent_default():
    with pytest.raises(ValueError, match="unknown regime"):
        al.effective_weights(HybridScoring(), "CORE", "Crisis", VolRegimes())


def test_all_zero_modifiers_fall_back_to_tier_weights():
    vr = VolRegimes(hybrid_weight_modifiers={"crisis": WeightModifiers(trend=0, carry=0, expectancy=0, router=0)})
    assert al.effective_weights(HybridScoring(), "CORE", "crisis", vr) == DEFAULT
    assert al.effective_weights(HybridScoring(), "CORE", "low", vr) == DEFAULT  # no entry: unmodified


def test_quality_components_strengthen_the_direction_not_choose_it():
    bearish = al.hybrid_score(-0.5, 0.2, 0.1, 0.3, DEFAULT)
    assert bearish == pytest.approx(-0.2 + 0.05 - 0.02 - 0.045)  # mirror of a bullish market
    assert al.hybrid_score(0.0, 0.0, 1.0, 1.0, DEFAULT) == 0.0  # great execution alone is no trade
    # orient_quality=False is docs/v7.4_Risk_and_Methodology.md literal weighted sum
    assert al.hybrid_score(-0.5, 0.2, 0.1, 0.3, DEFAULT, orient_quality=False) == pytest.approx(-0.2 + 0.05 + 0.02 + 0.045)


def test_missing_components_count_as_zero_and_are_listed():
    r = al.score_symbol("ETHUSDT", "CORE", trend=0.5, carry=None, expectancy=float("nan"), router=0.3)
    assert r.missing == ("carry", "expectancy")
    assert r.carry == 0.0 and r.expectancy == 0.0
    assert r.hybrid == pytest.approx(0.2 + 0.045)


def test_out_of_range_components_are_clipped():
    r = al.score_symbol("ETHUSDT", "CORE", trend=3.0, carry=-7.0, expectancy=1.0, router=1.0)
    assert r.trend == 1.0 and r.carry == -1.0


@given(t=score, c=score, e=score, r=score, tier=st.sampled_from(["CORE", "SATELLITE", "TACTICAL", "ALT-EXT"]),
       regime=st.sampled_from(["low", "normal", "high", "crisis", None]), orient=st.booleans())
@PROPERTY
def test_hybrid_is_bounded_and_weights_sum_to_one(t, c, e, r, tier, regime, orient):
    scoring = HybridScoring(tier_weights={"ALT-EXT": HybridWeights(trend=0.5, carry=0.1, expectancy=0.2, router=0.2)})
    res = al.score_symbol("XRPUSDT", tier, trend=t, carry=c, expectancy=e, router=r, scoring=scoring,
                          regime=regime, vol_regimes=VolRegimes(), orient_quality=orient)
    assert -1.0 <= res.hybrid <= 1.0
    assert math.fsum(res.weights.as_dict().values()) == pytest.approx(1.0, abs=1e-12)
    assert all(w >= 0 for w in res.weights.as_dict().values())


@given(t=score, c=score, e=score, r=score)
@PROPERTY
def test_hybrid_is_mirror_symmetric(t, c, e, r):
    assert al.hybrid_score(-t, -c, e, r, DEFAULT) == pytest.approx(-al.hybrid_score(t, c, e, r, DEFAULT), abs=1e-15)


@given(t1=score, t2=score, c=score, e=score, r=score)
@PROPERTY
def test_hybrid_is_non_decreasing_in_trend_when_direction_is_fixed(t1, t2, c, e, r):
    lo, hi = sorted((t1, t2))
    d_lo, d_hi = 0.4 * lo + 0.25 * c, 0.4 * hi + 0.25 * c
    assume(d_lo * d_hi > 0)  # the quality terms flip with direction; within one direction it is monotone
    assert al.hybrid_score(lo, c, e, r, DEFAULT) <= al.hybrid_score(hi, c, e, r, DEFAULT) + 1e-15


# ----------------------------------------------------------------------------- gating and ranking


@pytest.mark.parametrize(
    "hybrid, side",
    [
        (0.2, None),  # must EXCEED min_hybrid_score_long
        (math.nextafter(0.2, 1), "LONG"),
        (0.9, "LONG"),
        (0.0, None),
        (-0.2, None),  # must be BELOW -min_hybrid_score_short
        (math.nextafter(-0.2, -1), "SHORT"),
        (-1.0, "SHORT"),
        (float("nan"), None),
    ],
)
def test_gate_boundaries(hybrid, side):
    assert al.gate(hybrid, ScoreThresholds(min_hybrid_score_long=0.2, min_hybrid_score_short=0.2)) == side


def test_gate_uses_direction_specific_thresholds():
    t = ScoreThresholds(min_hybrid_score_long=0.1, min_hybrid_score_short=0.5)
    assert al.gate(0.15, t) == "LONG"
    assert al.gate(-0.45, t) is None and al.gate(-0.55, t) == "SHORT"


def test_gate_per_tier_from_config(cfg):
    hs = cfg.hybrid_scoring
    core = al.score_symbol("BTCUSDT", "CORE", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3, scoring=hs)
    assert al.gate_result(core, hs) == "LONG"  # 0.215 > 0.20
    tactical = al.score_symbol("LINKUSDT", "TACTICAL", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3, scoring=hs)
    assert tactical.hybrid == pytest.approx(0.285) and al.gate_result(tactical, hs) is None  # needs > 0.30
    alt = al.score_symbol("DOGEUSDT", "ALT-EXT", trend=-1.0, carry=-1.0, expectancy=0.5, router=0.5, scoring=hs)
    assert alt.hybrid < -0.4 and al.gate_result(alt, hs) == "SHORT"


def test_ranking_by_hybrid_with_stable_ties_by_symbol():
    def res(sym, h):
        return al.HybridResult(sym, "CORE", None, 0, 0, 0, 0, DEFAULT, h)

    ranked = al.rank_by_hybrid([res("SOLUSDT", 0.3), res("BTCUSDT", 0.5), res("ADAUSDT", 0.3), res("ETHUSDT", -0.1)])
    assert [r.symbol for r in ranked] == ["BTCUSDT", "ADAUSDT", "SOLUSDT", "ETHUSDT"]


@given(h=st.lists(st.tuples(st.sampled_from(["AUSDT", "BUSDT", "CUSDT", "DUSDT"]), st.sampled_from([-0.5, 0.0, 0.25, 0.5])), max_size=12))
@PROPERTY
def test_ranking_is_ordered_and_deterministic(h):
    rs = [al.HybridResult(s, "CORE", None, 0, 0, 0, 0, DEFAULT, v) for s, v in h]
    ranked = al.rank_by_hybrid(rs)
    keys = [(-r.hybrid, r.symbol) for r in ranked]
    assert keys == sorted(keys)
    assert [(-r.hybrid, r.symbol) for r in al.rank_by_hybrid(list(reversed(rs)))] == keys  # input order is irrelevant


# ----------------------------------------------------------------------------- carry


def test_carry_hand_values():
    assert al.annualise_funding(0.0001) == pytest.approx(0.1095)  # 0.01 % per 8h x 3 x 365
    assert al.annualise_funding(0.0001, interval_hours=4) == pytest.approx(0.219)
    assert al.carry_score(0.0001) == pytest.approx(-0.219)  # longs pay: unfavourable
    assert al.carry_score(-0.0003) == pytest.approx(0.657)  # longs are paid: favourable
    assert al.carry_score(0.001) == -1.0  # saturates at 50 % APR
    assert al.annualise_basis(100.01, 100.0) == pytest.approx(0.0001 * 1095)
    assert al.carry_score(None, mark=100.01, index=100.0) == pytest.approx(-0.219)
    assert al.carry_score(None, mark=99.99, index=100.0) == pytest.approx(0.219)  # perp cheap: good for a long
    both = al.carry_score(0.0001, mark=99.99, index=100.0)
    assert both == pytest.approx(0.5 * -0.219 + 0.5 * 0.219, abs=1e-12)
    assert al.carry_score(None) == 0.0 and al.carry_score(float("nan"), mark=1.0, index=float("nan")) == 0.0


def test_carry_saturation_comes_from_config():
    scoring = HybridScoring(carry_funding_saturation_apr=0.25)
    assert al.carry_score(0.0001, scoring=scoring) == pytest.approx(-0.438)
    weighted = al.carry_score(0.0001, mark=100.01, index=100.0, params=CarrySettings(funding_weight=1.0))
    assert weighted == pytest.approx(-0.219)


def test_short_side_carry_is_the_negation():
    long_side = al.carry_score(0.0002)
    assert al.for_side(long_side, "LONG") == long_side
    assert al.for_side(long_side, "SHORT") == -long_side > 0  # shorts are paid when funding is positive
    with pytest.raises(ValueError):
        al.for_side(0.1, "BUY")  # type: ignore[arg-type]  # a wrong value on purpose


@given(f1=st.floats(-0.01, 0.01), f2=st.floats(-0.01, 0.01), basis=st.floats(-0.01, 0.01))
@PROPERTY
def test_higher_funding_never_raises_the_long_carry(f1, f2, basis):
    lo, hi = sorted((f1, f2))
    index = 100.0
    mark = index * (1 + basis)
    assert al.carry_score(hi, mark, index) <= al.carry_score(lo, mark, index) + 1e-15
    assert al.carry_score(hi) <= al.carry_score(lo) + 1e-15


@given(f=st.floats(-0.01, 0.01), m1=st.floats(90, 110), m2=st.floats(90, 110))
@PROPERTY
def test_a_richer_perp_never_raises_the_long_carry(f, m1, m2):
    lo, hi = sorted((m1, m2))
    assert al.carry_score(f, hi, 100.0) <= al.carry_score(f, lo, 100.0) + 1e-15


@given(f=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
       m=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
       i=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)))
@PROPERTY
def test_carry_is_always_in_range(f, m, i):
    c = al.carry_score(f, m, i)
    assert -1.0 <= c <= 1.0


# ----------------------------------------------------------------------------- expectancy


def test_expectancy_hand_values():
    stats = TradeStats(n_trades=20, win_rate=0.5, payoff_ratio=2.0)
    assert al.expectancy_per_unit_risk(stats) == pytest.approx(0.5)  # 0.5*2 - 0.5
    assert al.expectancy_score(stats) == pytest.approx(math.tanh(1.0) * 0.5)  # shrink 20 / (20 + 20)
    assert al.expectancy_score(stats, ExpectancySettings(prior_trades=0.0)) == pytest.approx(math.tanh(1.0))
    assert al.expectancy_score(stats, ExpectancySettings(scale=1.0, prior_trades=0.0)) == pytest.approx(math.tanh(0.5))
    losing = TradeStats(n_trades=180, win_rate=0.4, payoff_ratio=1.0)
    assert al.expectancy_score(losing) == pytest.approx(math.tanh(-0.4) * 0.9)
    assert al.expectancy_score(TradeStats(0, 0.0, 0.0)) == 0.0
    assert al.expectancy_score(None) == 0.0


def test_few_trades_shrink_toward_zero():
    edge = [al.expectancy_score(TradeStats(n, 0.6, 2.0)) for n in (1, 5, 20, 100, 10_000)]
    assert edge == sorted(edge) and edge[0] < 0.05 and edge[-1] > 0.9


def test_trade_stats_from_pnls():
    s = TradeStats.from_pnls([2.0, -1.0, 4.0, -1.0, 0.0, float("nan")])
    assert s.n_trades == 5 and s.win_rate == 0.4 and s.loss_rate == 0.4 and s.payoff_ratio == 3.0
    assert al.expectancy_per_unit_risk(s) == pytest.approx(0.4 * 3 - 0.4)  # = mean pnl / avg loss = 0.8
    no_losses = TradeStats.from_pnls([1.0, 2.0])
    assert no_losses.payoff_ratio == math.inf and al.expectancy_score(no_losses) > 0
    assert TradeStats.from_pnls([]).n_trades == 0
    with pytest.raises(ValueError):
        TradeStats(5, 1.5, 1.0)
    with pytest.raises(ValueError):
        TradeStats(5, 0.5, 1.0, loss_rate=0.9)


@given(p1=st.floats(0, 1), p2=st.floats(0, 1), payoff=st.floats(0, 100), n=st.integers(1, 1000))
@PROPERTY
def test_expectancy_non_decreasing_in_win_rate(p1, p2, payoff, n):
    lo, hi = sorted((p1, p2))
    assert al.expectancy_score(TradeStats(n, lo, payoff)) <= al.expectancy_score(TradeStats(n, hi, payoff)) + 1e-15


@given(p=st.floats(0, 1), a=st.floats(0, 100), b=st.floats(0, 100), n=st.integers(0, 1000))
@PROPERTY
def test_expectancy_non_decreasing_in_payoff_and_bounded(p, a, b, n):
    lo, hi = sorted((a, b))
    s_lo, s_hi = al.expectancy_score(TradeStats(n, p, lo)), al.expectancy_score(TradeStats(n, p, hi))
    assert s_lo <= s_hi + 1e-15
    assert -1.0 <= s_lo <= 1.0 and -1.0 <= s_hi <= 1.0


# ----------------------------------------------------------------------------- router quality


def test_router_hand_values():
    # slip 1 - 2*0.25 = 0.5; fill 0.8; maker 0.2 -> 0.5*0.5 + 0.25*0.8 + 0.25*0.2 = 0.5; shrink 90/100
    assert al.router_score(RouterStats(2.5, 0.9, 0.6, 90)) == pytest.approx(0.45)
    assert al.router_score(RouterStats(-3.0, 1.0, 1.0, 10**9)) == pytest.approx(1.0, abs=1e-8)
    assert al.router_score(RouterStats(50.0, 0.0, 0.0, 10**9)) == pytest.approx(-1.0, abs=1e-8)
    assert al.router_score(RouterStats(5.0, 0.5, 0.5, 100)) == 0.0  # neutral execution
    assert al.router_score(RouterStats(1.0, 1.0, 1.0, 0)) == 0.0  # no orders: no evidence
    assert al.router_score(None) == 0.0
    with pytest.raises(ValueError):
        RouterStats(1.0, 1.2, 0.5, 3)
    with pytest.raises(ValueError):
        RouterScoreSettings(weight_slippage=0.9)


@given(s1=st.floats(-50, 100), s2=st.floats(-50, 100), f=st.floats(0, 1), m=st.floats(0, 1), n=st.integers(0, 10_000))
@PROPERTY
def test_router_non_increasing_in_slippage_and_bounded(s1, s2, f, m, n):
    lo, hi = sorted((s1, s2))
    a, b = al.router_score(RouterStats(lo, f, m, n)), al.router_score(RouterStats(hi, f, m, n))
    assert b <= a + 1e-15 and -1.0 <= a <= 1.0 and -1.0 <= b <= 1.0


@given(s=st.floats(-50, 100), f1=st.floats(0, 1), f2=st.floats(0, 1), m=st.floats(0, 1), n=st.integers(1, 10_000))
@PROPERTY
def test_router_non_decreasing_in_fill_and_maker(s, f1, f2, m, n):
    lo, hi = sorted((f1, f2))
    assert al.router_score(RouterStats(s, lo, m, n)) <= al.router_score(RouterStats(s, hi, m, n)) + 1e-15
    assert al.router_score(RouterStats(s, m, lo, n)) <= al.router_score(RouterStats(s, m, hi, n)) + 1e-15


# ----------------------------------------------------------------------------- trend


def path(n: int, drift: float, vol: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(drift + rng.normal(0.0, vol, n)))


def test_trend_signs_on_clear_trends():
    assert all(al.trend_score(path(1000, 0.003, 0.005, seed=s)) > 0.9 for s in range(5))
    assert all(al.trend_score(path(1000, -0.003, 0.005, seed=s)) < -0.9 for s in range(5))
    flat = [al.trend_score(path(1000, 0.0, 0.01, seed=s)) for s in range(30)]
    assert abs(np.mean(flat)) < 0.25 and max(abs(x) for x in flat) < 1.0


def test_trend_hand_statistics():
    p = TrendSettings(ema_span=3, horizons=(1,), vol_span=3, scale=1.0)
    d = 0.5  # alpha 0.5
    assert al.ema_gap_std_factor(p) == pytest.approx(d / math.sqrt(1 - d * d))
    close = np.array([1.0, math.e])  # one log return of 1: sigma = 1
    ema_last = 1.0 + 0.5 * (math.e - 1.0)
    want = math.tanh(((1.0 - math.log(ema_last)) / al.ema_gap_std_factor(p) + 1.0) / 2)
    assert al.trend_score(close, p) == pytest.approx(want, rel=1e-12)


def test_trend_needs_history_and_volatility():
    assert al.trend_score(path(100, 0.01, 0.01)) == 0.0  # < 169 bars for the 168-bar horizon
    assert al.trend_score(np.full(500, 10.0)) == 0.0  # no volatility: no evidence
    # rounding-level wiggles are not a trend (they would be after normalising by their own tiny vol)
    assert al.trend_score(10.0 * np.exp(np.cumsum(np.full(500, 1e-12)))) == 0.0
    assert al.trend_score(10.0 * np.exp(np.cumsum(np.full(500, 1e-4)))) > 0.99  # a real steady climb
    assert al.trend_score([]) == 0.0
    with pytest.raises(ValueError):
        TrendSettings(horizons=())
    with pytest.raises(ValueError):
        TrendSettings(scale=0)


@st.composite
def closes(draw):
    n = draw(st.integers(0, 400))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # drift 0 or clearly above the flat-series floor (TrendSettings.min_vol): at the floor itself a
    # rescaling may move sigma across it, which is the floor's purpose, not a defect
    drift = draw(st.one_of(st.just(0.0), st.floats(1e-6, 0.01), st.floats(-0.01, -1e-6)))
    x = 50.0 * np.exp(np.cumsum(rng.normal(drift, draw(st.sampled_from([0.0, 0.001, 0.02])), n)))
    if n and draw(st.booleans()):
        x[rng.integers(0, n, size=max(1, n // 10))] = np.nan
    return x


SMALL = TrendSettings(ema_span=20, horizons=(5, 10, 30), vol_span=20)


@given(x=closes())
@PROPERTY
def test_trend_incremental_equals_batch_and_is_bounded(x):
    batch = al.trend_scores(x, SMALL)
    state = TrendState.start(SMALL)
    for i, c in enumerate(x):
        state, v = state.update(float(c))
        assert v == pytest.approx(batch[i], abs=1e-9)
    assert np.all(np.abs(batch) <= 1.0)


@given(x=closes(), k=st.floats(1e-3, 1e3))
@PROPERTY
def test_trend_is_invariant_to_the_price_unit(x, k):
    np.testing.assert_allclose(al.trend_scores(x * k, SMALL), al.trend_scores(x, SMALL), atol=1e-8)


@given(x=closes(), cut=st.floats(0, 1))
@PROPERTY
def test_trend_is_causal(x, cut):
    t = int(cut * max(len(x) - 1, 0))
    assert np.array_equal(al.trend_scores(x, SMALL)[: t + 1], al.trend_scores(x[: t + 1], SMALL))


# ----------------------------------------------------------------------------- intel.json and real data


def test_intel_record_contract():
    r = al.score_symbol("BTCUSDT", "CORE", trend=0.5, carry=-0.2, expectancy=0.1, router=0.3)
    regime = vol_regime(path(2000, 0, 0.01))
    rec = al.intel_record(r, regime)
    for key in ("trend_score", "carry_score", "hybrid_score", "vol_regime", "vol"):
        assert key in rec
    assert rec["hybrid_score"] == pytest.approx(0.215) and set(rec["vol"]) == {"short", "long", "ratio"}
    json.dumps(rec, allow_nan=False)
    assert "vol" not in al.intel_record(r)


@pytest.mark.shared_data
def test_real_data_scores_are_plausible(shared_data_dir, cfg):
    from marketdata.files import load_funding, load_klines

    k = load_klines(shared_data_dir / "klines" / "BTCUSDT-1h.csv.gz")
    f = load_funding(shared_data_dir / "funding" / "BTCUSDT-funding.csv")
    trend = al.trend_scores(k.close)
    assert np.all(np.abs(trend) <= 1) and trend[-1] == pytest.approx(al.trend_score(k.close[-2000:]), abs=1e-6)
    # a long bull run (Oct 2020 - Jan 2021) is scored bullish on average, the 2022 bear market bearish
    t = k.open_time_ms
    bull = (t >= 1_601_510_400_000) & (t < 1_609_459_200_000)
    bear = (t >= 1_651_363_200_000) & (t < 1_656_633_600_000)
    assert trend[bull].mean() > 0.2 and trend[bear].mean() < -0.1
    carries = np.array([al.carry_score(r, scoring=cfg.hybrid_scoring) for r in f.funding_rate])
    assert np.all(np.abs(carries) <= 1)
    assert np.mean(carries < 0) > 0.5  # BTC funding is mostly positive: longs usually pay
