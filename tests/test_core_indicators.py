"""core.indicators: hand-computed values, agreement with pandas and with plain-loop definitions,
incremental == batch, causality (bit for bit), the missing-data policy, and real data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core import indicators as ind
from core.bars import Bar, Ohlc
from core.indicators import (
    AtrState,
    CrossState,
    DonchianState,
    EmaState,
    EwmaVolState,
    RsiState,
    SmaState,
    ZScoreState,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- series generators


@st.composite
def price_paths(draw, min_size: int = 0, max_size: int = 250, gaps: bool = True) -> np.ndarray:
    """Random-walk prices with optional flat stretches, NaN / inf gaps and the odd jump."""
    n = draw(st.integers(min_size, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    vol = draw(st.sampled_from([0.0, 1e-6, 1e-3, 0.02, 0.2]))
    x = draw(st.sampled_from([1e-3, 1.0, 100.0, 60_000.0])) * np.exp(np.cumsum(rng.normal(0.0, vol, n)))
    if n > 2 and draw(st.booleans()):
        a = int(rng.integers(0, n - 1))
        b = int(rng.integers(a + 1, n + 1))
        x[a:b] = x[a]
    if n > 0 and gaps and draw(st.booleans()):
        k = int(rng.integers(1, max(2, n // 5)))
        idx = rng.choice(n, size=min(k, n), replace=False)
        x[idx] = rng.choice([np.nan, np.inf, -np.inf], size=len(idx))
    return x


raw_floats = st.lists(
    st.one_of(st.floats(min_value=0.5, max_value=2e5), st.just(float("nan"))), min_size=0, max_size=120
).map(lambda v: np.asarray(v, dtype=np.float64))

series = st.one_of(price_paths(), raw_floats)


@st.composite
def ohlc_paths(draw, max_size: int = 250) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    close = draw(price_paths(max_size=max_size, gaps=False))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    spread = np.abs(rng.normal(0.0, 0.01, len(close)))
    high = close * (1 + spread)
    low = close * (1 - spread * rng.uniform(0, 1, len(close)))
    if len(close) and draw(st.booleans()):
        for arr in (high, low, close):
            arr[rng.integers(0, len(close))] = np.nan
    return high, low, close


def fold(state, *columns):
    out = []
    for values in zip(*columns):
        state, value = state.update(*(float(v) for v in values))
        out.append(value)
    return out


def assert_agree(got, want, scale: float = 1.0, rtol: float = 1e-9) -> None:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want)), (got, want)
    ok = ~np.isnan(want)
    assert np.all(np.abs(got[ok] - want[ok]) <= rtol * (np.abs(want[ok]) + scale)), np.max(np.abs(got[ok] - want[ok]))


def finite_scale(x: np.ndarray) -> float:
    f = x[np.isfinite(x)]
    return float(np.max(np.abs(f))) if len(f) else 1.0


def valid_only(x: np.ndarray) -> np.ndarray:
    return x[np.isfinite(x)]


# ----------------------------------------------------------------------------- plain-loop references


def ref_sma(x, n):
    return np.array([np.mean(x[i - n + 1 : i + 1]) if i >= n - 1 else np.nan for i in range(len(x))])


def ref_zscore(x, n):
    out = np.full(len(x), np.nan)
    for i in range(n - 1, len(x)):
        w = x[i - n + 1 : i + 1]
        sd = np.std(w)
        out[i] = 0.0 if sd == 0 else (x[i] - np.mean(w)) / sd
    return out


def ref_rsi(close, period):
    out = np.full(len(close), np.nan)
    d = np.diff(close)
    if len(d) < period:
        return out
    g = np.mean(np.maximum(d[:period], 0))
    l = np.mean(np.maximum(-d[:period], 0))
    for t in range(period, len(close)):
        if t > period:
            g = (g * (period - 1) + max(d[t - 1], 0)) / period
            l = (l * (period - 1) + max(-d[t - 1], 0)) / period
        out[t] = 50.0 if g + l == 0 else 100.0 - 100.0 / (1.0 + g / l) if l > 0 else 100.0
    return out


def ref_atr(high, low, close, period):
    out = np.full(len(close), np.nan)
    tr = [max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1])) for t in range(1, len(close))]
    if len(tr) < period:
        return out
    a = np.mean(tr[:period])
    out[period] = a
    for t in range(period + 1, len(close)):
        a = (a * (period - 1) + tr[t - 1]) / period
        out[t] = a
    return out


def ref_donchian(high, low, n):
    up = np.full(len(high), np.nan)
    lo = np.full(len(high), np.nan)
    for t in range(n, len(high)):
        up[t] = max(high[t - n : t])
        lo[t] = min(low[t - n : t])
    return up, lo


# ----------------------------------------------------------------------------- hand-computed examples


def test_ema_hand_values_and_alpha():
    assert ind.ema_alpha(3) == 0.5
    assert ind.ema_alpha(1) == 1.0
    # span 3: alpha = 0.5, seeded with the first close
    np.testing.assert_allclose(ind.ema([1.0, 2.0, 3.0, 3.0], 3), [1.0, 1.5, 2.25, 2.625], rtol=0, atol=1e-15)
    # span 1 is the identity
    np.testing.assert_array_equal(ind.ema([4.0, 1.0, 7.0], 1), [4.0, 1.0, 7.0])


def test_sma_hand_values():
    np.testing.assert_allclose(ind.sma([1.0, 2.0, 3.0, 4.0], 2), [np.nan, 1.5, 2.5, 3.5], atol=1e-15)
    np.testing.assert_allclose(ind.sma([1.0, 2.0, 3.0], 3), [np.nan, np.nan, 2.0], atol=1e-15)
    assert np.isnan(ind.sma([1.0, 2.0], 3)).all()


def test_rsi_hand_values():
    # period 2, deltas +1 +1 -1: G=1, L=0 -> 100; then G=(1*1+0)/2=0.5, L=(0*1+1)/2=0.5 -> 50
    out = ind.rsi([1.0, 2.0, 3.0, 2.0], 2)
    assert np.isnan(out[:2]).all()
    assert out[2] == 100.0 and out[3] == 50.0
    assert ind.rsi([5.0, 5.0, 5.0, 5.0], 2)[-1] == 50.0  # flat: no gains, no losses
    assert ind.rsi([5.0, 4.0, 3.0, 2.0], 2)[-1] == 0.0


def test_atr_hand_values_uses_previous_close():
    high = [10.0, 11.0, 14.0, 12.0]
    low = [9.0, 10.0, 12.0, 8.0]
    close = [9.5, 10.5, 13.0, 9.0]
    # TR1 = max(1, |11-9.5|, |10-9.5|) = 1.5; TR2 = max(2, |14-10.5|, |12-10.5|) = 3.5; TR3 = max(4, 1, 5) = 5
    out = ind.atr(high, low, close, 2)
    assert np.isnan(out[:2]).all()
    assert out[2] == pytest.approx((1.5 + 3.5) / 2)
    assert out[3] == pytest.approx((2.5 * 1 + 5.0) / 2)
    np.testing.assert_allclose(ind.true_range(high, low, close), [1.0, 1.5, 3.5, 5.0])


def test_zscore_hand_values():
    z = ind.zscore([1.0, 2.0, 3.0], 3)
    assert z[2] == pytest.approx(1.0 / math.sqrt(2.0 / 3.0), rel=1e-14)
    assert ind.zscore([2.0, 2.0, 2.0, 2.0], 3)[-1] == 0.0  # flat window: defined as 0


def test_donchian_excludes_the_current_bar():
    high = [1.0, 5.0, 2.0, 3.0, 9.0]
    low = [0.5, 4.0, 1.0, 2.5, 8.0]
    upper, lower = ind.donchian(high, low, 2)
    np.testing.assert_array_equal(upper, [np.nan, np.nan, 5.0, 5.0, 3.0])
    np.testing.assert_array_equal(lower, [np.nan, np.nan, 0.5, 1.0, 1.0])
    # a close above the channel is a breakout precisely because the bar's own high is not in it
    assert 9.0 > upper[4]


def test_ewma_vol_hand_values():
    close = [1.0, math.exp(0.1), math.exp(0.1 - 0.2)]
    out = ind.ewma_vol(close, 3)  # alpha 0.5, normalised weights: (0.5*0.01 + 0.04) / 1.5 = 0.03
    assert np.isnan(out[0])
    assert out[1] == pytest.approx(0.1, rel=1e-12)
    assert out[2] == pytest.approx(math.sqrt(0.03), rel=1e-12)


def test_crossover_hand_values():
    fast = [1.0, 2.0, 3.0, 2.0, 1.0, 1.0, 2.0]
    slow = [2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    up, down = ind.crossover(fast, slow)
    # signs: - 0 + 0 - - 0 ; up where + follows <=0, down where - follows >=0
    np.testing.assert_array_equal(up, [False, False, True, False, False, False, False])
    np.testing.assert_array_equal(down, [False, False, False, False, True, False, False])


def test_deadband_treats_rounding_noise_as_equal():
    assert ind.deadband_sign(100.0, 100.0 * (1 + 1e-12)) == 0
    assert ind.deadband_sign(100.0 * (1 + 1e-6), 100.0) == 1
    assert ind.deadband_sign(-1.0, 1.0) == -1
    np.testing.assert_array_equal(ind.deadband_signs([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]), [-1, 0, 1])



def test_deadband_signs_equal_the_scalar_rule_element_by_element():
    """The vectorised signs (and `deadband_above`) agree with `deadband_sign` at and around the band's edges,
    on zeros, signed zeros, huge and tiny magnitudes; a NaN difference is 0."""
    rng = np.random.default_rng(5)
    a = rng.normal(100.0, 30.0, 4000) * rng.choice([1.0, -1.0, 1e-300, 1e300], 4000)
    rel = rng.choice([0.0, 1e-9, -1e-9, 1e-9 * (1 + 1e-15), -1e-9 * (1 - 1e-15), 2e-9, 5e-10, 1e-3], 4000)
    b = a * (1.0 + rel)
    edge = np.array([0.0, -0.0, 1.0, -1.0, 5e-324, 1e308, np.inf, -np.inf, np.nan])
    ea, eb = (x.ravel() for x in np.meshgrid(edge, edge))
    a, b = np.concatenate([a, ea]), np.concatenate([b, eb])
    with np.errstate(invalid="ignore", over="ignore"):
        signs = ind.deadband_signs(a, b)
        above = ind.deadband_above(a, b)
        want = [0 if np.isnan(x - y) else ind.deadband_sign(x, y) for x, y in zip(a.tolist(), b.tolist())]
    assert signs.dtype == np.int8
    np.testing.assert_array_equal(signs, want)
    np.testing.assert_array_equal(above, signs > 0)


# ----------------------------------------------------------------------------- pandas and plain loops


@pytest.mark.parametrize("span", [1, 2, 3, 5, 20, 168, 720, 5000])
def test_ema_equals_pandas_ewm_adjust_false(span):
    rng = np.random.default_rng(span)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 20_000)))  # spans many closed-form blocks
    want = pd.Series(x).ewm(span=span, adjust=False).mean().to_numpy()
    np.testing.assert_allclose(ind.ema(x, span), want, rtol=1e-12, atol=0)


def test_ema_of_a_constant_is_exactly_the_constant():
    x = np.full(5000, 123.456)
    assert np.array_equal(ind.ema(x, 20), x)
    assert np.array_equal(ind.sma(x, 20)[19:], x[19:])


def test_ema_with_gaps_equals_pandas_ignore_na():
    rng = np.random.default_rng(1)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 3000)))
    x[[0, 1, 10, 11, 12, 500, 2999]] = np.nan
    want = pd.Series(x).ewm(span=20, adjust=False, ignore_na=True).mean().to_numpy()
    np.testing.assert_allclose(ind.ema(x, 20), want, rtol=1e-12)


def test_windowed_indicators_equal_pandas_and_loops():
    rng = np.random.default_rng(2)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2000)))
    h = c * (1 + np.abs(rng.normal(0, 0.004, 2000)))
    lo = c * (1 - np.abs(rng.normal(0, 0.004, 2000)))
    s = pd.Series(c)
    np.testing.assert_allclose(ind.sma(c, 20), s.rolling(20).mean(), rtol=1e-12)
    np.testing.assert_allclose(ind.zscore(c, 20), ref_zscore(c, 20), rtol=1e-9, atol=1e-10)
    # pandas' rolling std is less precise (cumulative updates): agree to its precision
    np.testing.assert_allclose(ind.zscore(c, 20), (s - s.rolling(20).mean()) / s.rolling(20).std(ddof=0), atol=1e-6)
    up, dn = ind.donchian(h, lo, 50)
    np.testing.assert_array_equal(up, pd.Series(h).rolling(50).max().shift(1))
    np.testing.assert_array_equal(dn, pd.Series(lo).rolling(50).min().shift(1))
    np.testing.assert_allclose(ind.rsi(c, 14), ref_rsi(c, 14), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(ind.atr(h, lo, c, 14), ref_atr(h, lo, c, 14), rtol=1e-10)
    r = np.log(c[1:] / c[:-1])
    np.testing.assert_allclose(ind.ewma_vol(c, 168)[1:], np.sqrt(pd.Series(r * r).ewm(span=168).mean()), rtol=1e-12)
    np.testing.assert_allclose(ind.log_returns(c)[1:], r, rtol=0, atol=1e-14)  # difference of logs


@given(x=price_paths(gaps=False, min_size=1), n=st.integers(1, 30))
@PROPERTY
def test_sma_zscore_donchian_match_plain_loops(x, n):
    np.testing.assert_allclose(ind.sma(x, n), ref_sma(x, n), rtol=1e-10, atol=1e-10 * finite_scale(x))
    up, lo = ind.donchian(x, x, n)
    rup, rlo = ref_donchian(x, x, n)
    np.testing.assert_array_equal(up, rup)
    np.testing.assert_array_equal(lo, rlo)
    if n >= 2:
        got, want = ind.zscore(x, n), ref_zscore(x, n)
        # ill-conditioned windows (std ~ 1e-8 of the level) are excluded: both sides are rounding noise there
        level = np.abs(ind.sma(x, n))
        sd = np.sqrt(np.maximum(ref_sma(x * x, n) - ref_sma(x, n) ** 2, 0))
        ok = ~np.isnan(want) & ((sd > 1e-6 * level) | (want == 0))
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- incremental == batch


@given(x=series, span=st.sampled_from([1, 2, 3, 7, 20, 168]))
@PROPERTY
def test_ema_incremental_equals_batch(x, span):
    assert_agree(fold(EmaState.start(span), x), ind.ema(x, span), finite_scale(x))


@given(x=series, n=st.integers(1, 25))
@PROPERTY
def test_sma_incremental_equals_batch(x, n):
    assert_agree(fold(SmaState.start(n), x), ind.sma(x, n), finite_scale(x))


@given(x=series, period=st.integers(1, 20))
# a 1-ulp fall after a drop, period 1: the incremental Wilder step once cancelled it to "flat" (50 vs 0)
@example(x=np.array([2.0, 0.5, 0.49999999999999994]), period=1)
@PROPERTY
def test_rsi_incremental_equals_batch(x, period):
    assert_agree(fold(RsiState.start(period), x), ind.rsi(x, period), 100.0)


@given(hlc=ohlc_paths(), period=st.integers(1, 20))
@PROPERTY
def test_atr_incremental_equals_batch(hlc, period):
    high, low, close = hlc
    assert_agree(fold(AtrState.start(period), high, low, close), ind.atr(high, low, close, period), finite_scale(close))


@given(x=price_paths(), n=st.integers(2, 25))
@PROPERTY
def test_zscore_incremental_equals_batch(x, n):
    got, want = np.asarray(fold(ZScoreState.start(n), x)), ind.zscore(x, n)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    # z is a ratio: compare where the window is not flat to within rounding of the level
    ok = ~np.isnan(want) & (np.abs(want) > 0)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-6, atol=1e-6)
    assert np.array_equal(got == 0.0, want == 0.0)


@given(hlc=ohlc_paths(), n=st.integers(1, 40))
@PROPERTY
def test_donchian_incremental_equals_batch(hlc, n):
    high, low, _ = hlc
    pairs = fold(DonchianState.start(n), high, low)
    upper, lower = ind.donchian(high, low, n)
    assert_agree([p[0] for p in pairs], upper, rtol=0)
    assert_agree([p[1] for p in pairs], lower, rtol=0)


@given(x=series, span=st.sampled_from([1, 2, 5, 24, 168]))
@PROPERTY
def test_ewma_vol_incremental_equals_batch(x, span):
    # absolute floor 1e-12: near-zero vol (prices moving 1e-6) sits at float noise for both paths
    assert_agree(fold(EwmaVolState.start(span), x), ind.ewma_vol(x, span), 1e-12)


@given(x=series, fast=st.integers(1, 5), extra=st.integers(1, 10))
@PROPERTY
def test_crossover_incremental_equals_batch(x, fast, extra):
    f, s = ind.sma(x, fast), ind.sma(x, fast + extra)
    flags = fold(CrossState.start(), f, s)
    up, down = ind.crossover(f, s)
    assert np.array_equal([a for a, _ in flags], up)
    assert np.array_equal([b for _, b in flags], down)


def test_states_are_immutable_so_a_forming_bar_can_be_evaluated_without_committing():
    state = EmaState.start(3)
    state, _ = state.update(1.0)
    peek_state, peek = state.update(2.0)  # the still-forming bar
    assert peek == 1.5 and state.value == 1.0  # the committed state did not move
    with pytest.raises(AttributeError):
        state.value = 5.0  # type: ignore[misc]  # frozen: the assignment must raise
    again, value = state.update(3.0)  # the bar closed at a different price
    assert value == 2.0 and peek_state.value == 1.5


# ----------------------------------------------------------------------------- causality (bit for bit)


def _all_outputs(x: np.ndarray) -> list[np.ndarray]:
    h, l = x * 1.01, x * 0.99
    up, down = ind.crossover(ind.ema(x, 3), ind.ema(x, 8))
    return [
        ind.ema(x, 2), ind.ema(x, 50), ind.sma(x, 7), ind.rsi(x, 5), ind.atr(h, l, x, 5), ind.zscore(x, 6),
        *ind.donchian(h, l, 9), ind.ewma_vol(x, 10), ind.log_returns(x), up, down,
    ]


@given(x=price_paths(min_size=2, max_size=400), cut=st.floats(0, 1), noise=st.integers(0, 2**32 - 1))
@PROPERTY
def test_outputs_never_depend_on_later_bars(x, cut, noise):
    t = int(cut * (len(x) - 1))
    perturbed = x.copy()
    perturbed[t + 1 :] = np.random.default_rng(noise).uniform(1e-3, 1e6, len(x) - t - 1)
    for full, truncated, changed in zip(_all_outputs(x), _all_outputs(x[: t + 1]), _all_outputs(perturbed)):
        assert np.array_equal(full[: t + 1], truncated, equal_nan=True)
        assert np.array_equal(full[: t + 1], changed[: t + 1], equal_nan=True)


# ----------------------------------------------------------------------------- invariants


@given(x=series, period=st.integers(1, 20), n=st.integers(2, 20))
@PROPERTY
def test_bounds(x, period, n):
    r = ind.rsi(x, period)
    assert np.all((r[~np.isnan(r)] >= 0) & (r[~np.isnan(r)] <= 100))
    z = ind.zscore(x, n)
    assert np.all(np.abs(z[~np.isnan(z)]) <= math.sqrt(n - 1) + 1e-6)
    e = ind.ema(x, 5)
    v = valid_only(x)
    if len(v):
        assert np.nanmin(e) >= v.min() - 1e-9 * abs(v.min()) and np.nanmax(e) <= v.max() + 1e-9 * abs(v.max())
    vol = ind.ewma_vol(x, 10)
    assert np.all(vol[~np.isnan(vol)] >= 0)
    up, down = ind.crossover(ind.sma(x, 2), ind.sma(x, 5))
    assert not np.any(up & down)


@given(hlc=ohlc_paths(), n=st.integers(1, 30))
@PROPERTY
def test_channel_and_atr_invariants(hlc, n):
    high, low, close = hlc
    upper, lower = ind.donchian(high, low, n)
    ok = ~np.isnan(upper)
    assert np.all(lower[ok] <= upper[ok])
    a = ind.atr(high, low, close, n)
    assert np.all(a[~np.isnan(a)] >= 0)


# ----------------------------------------------------------------------------- missing data: skip


@given(x=series)
@PROPERTY
def test_skipping_equals_dropping_bad_bars_and_forward_filling(x):
    valid = np.isfinite(x)
    kept = x[valid]
    for fn in (lambda v: ind.ema(v, 4), lambda v: ind.sma(v, 3), lambda v: ind.rsi(v, 3), lambda v: ind.zscore(v, 4)):
        want = pd.Series(np.nan, index=range(len(x)))
        want[np.flatnonzero(valid)] = fn(kept)
        want = want.ffill().to_numpy()
        np.testing.assert_array_equal(fn(x), want)


def test_a_nan_price_never_poisons_later_values():
    rng = np.random.default_rng(3)
    x = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))
    x[200] = np.nan
    x[201] = np.inf
    for out in _all_outputs(x)[:-2]:
        assert np.all(np.isfinite(out[60:]))
    # at the skipped bar the output repeats the previous one, and the state is untouched
    e = ind.ema(x, 10)
    assert e[200] == e[199] == e[201]
    state = EmaState.start(10)
    for v in x[:200]:
        state, _ = state.update(v)
    same, value = state.update(float("nan"))
    assert same is state and value == e[199]
    up, down = ind.crossover(ind.sma(x, 3), ind.sma(x, 9))
    assert not up[200] and not down[200]


def test_leading_nans_and_all_nan_input():
    x = np.array([np.nan, np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(ind.ema(x, 3), [np.nan, np.nan, 1.0, 1.5])
    assert np.isnan(ind.rsi(np.full(10, np.nan), 3)).all()
    assert np.isnan(ind.ewma_vol([np.nan, -1.0, 0.0], 3)).all()  # non-positive prices have no log return
    assert len(ind.ema([], 5)) == 0 and len(ind.zscore([], 5)) == 0


def test_non_positive_prices_are_missing_for_log_returns():
    out = ind.log_returns([1.0, 0.0, -2.0, math.e])
    assert np.isnan(out[:3]).all()  # bar 0 has no return; the bad bars repeat it
    assert out[3] == pytest.approx(1.0)  # ln(e / 1): the return spans the skipped bars


@pytest.mark.parametrize(
    "call",
    [
        lambda: ind.ema([1.0], 0.5),
        lambda: ind.ema([1.0], float("nan")),
        lambda: ind.sma([1.0], 0),
        lambda: ind.sma([1.0], 2.5),
        lambda: ind.zscore([1.0], 1),
        lambda: ind.rsi([1.0], 0),
        lambda: ind.donchian([1.0], [1.0], 0),
        lambda: ind.ema(np.ones((2, 2)), 3),
        lambda: EmaState.start(0),
        lambda: SmaState.start(True),
    ],
)
def test_invalid_parameters_are_rejected(call):
    with pytest.raises(ValueError):
        call()


def test_ohlc_record():
    b = Ohlc.from_close([1.0, 2.0, 3.0])
    assert len(b) == 3 and b.bar(1) == Bar(2.0, 2.0, 2.0, 2.0)
    assert len(b.head(2)) == 2 and b.tail(2).close[0] == 2.0
    assert Ohlc.of(b) is b
    assert not Bar(1.0, float("nan"), 1.0, 1.0).is_valid()
    with pytest.raises(ValueError):
        Ohlc(np.ones(2), np.ones(3), np.ones(2), np.ones(2))


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def btc_1h(shared_data_dir):
    from marketdata.files import load_klines

    return load_klines(shared_data_dir / "klines" / "BTCUSDT-1h.csv.gz")


@pytest.mark.shared_data
def test_real_btc_ema_matches_pandas_and_incremental(btc_1h):
    close = btc_1h.close
    for span in (12, 26, 168, 720):
        want = pd.Series(close).ewm(span=span, adjust=False).mean().to_numpy()
        np.testing.assert_allclose(ind.ema(close, span), want, rtol=1e-12)
    tail = close[-3000:]
    assert_agree(fold(EmaState.start(168), tail), ind.ema(tail, 168), 0.0, rtol=1e-12)


@pytest.mark.shared_data
def test_real_btc_rsi_atr_and_vol(btc_1h):
    k = btc_1h.slice(-5000)
    np.testing.assert_allclose(ind.rsi(k.close, 14), ref_rsi(k.close, 14), rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(ind.atr(k.high, k.low, k.close, 14), ref_atr(k.high, k.low, k.close, 14), rtol=1e-9)
    vol = ind.ewma_vol(btc_1h.close, 720)[-1] * math.sqrt(24 * 365)
    assert 0.1 < vol < 2.0  # BTC's annualised vol is tens of percent
    up, lo = ind.donchian(k.high, k.low, 336)
    assert np.all(k.close[336:] <= up[336:] * 1.5)
