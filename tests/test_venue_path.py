"""The replayed price path (venue.replay.Series) against brute force: ranges, first crossings, klines."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from venue.replay import Series

D = 60                      # a 60 ms "bar" keeps brute force over every millisecond cheap


def make_series(seed: int, n: int = 12) -> Series:
    rng = np.random.default_rng(seed)
    o = 100 + rng.normal(0, 2, n).cumsum()
    c = o + rng.normal(0, 1, n)
    h = np.maximum(o, c) + rng.uniform(0, 1, n)
    l = np.minimum(o, c) - rng.uniform(0, 1, n)
    t = np.arange(n, dtype=np.int64) * D + 1_200          # aligned to 4-bar candles too
    return Series("TESTUSDT", D, t, o, h, l, c, np.ones(n), np.zeros(0, np.int64), np.zeros(0))


def path_points(s: Series, a: int, b: int):
    """Every integer time in [a, b] plus each bar's close (the left limit at its end)."""
    pts = [s.price_at(t) for t in range(a, b + 1)]
    for i, t0 in enumerate(s.t.tolist()):
        if a < t0 + D <= b:
            pts.append(float(s.c[i]))
    return pts


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10_000), a=st.integers(1_200, 1_900), span=st.integers(1, 500))
def test_range_between_matches_brute_force(seed, a, span):
    s = make_series(seed)
    b = a + span
    lo, hi = s.range_between(a, b)
    pts = path_points(s, a, b)
    # the exact path also reaches vertices between integer milliseconds: never narrower than sampling
    assert lo <= min(pts) + 1e-9 and hi >= max(pts) - 1e-9
    assert lo >= min(pts) - 0.5 and hi <= max(pts) + 0.5


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10_000), a=st.integers(1_200, 1_800), span=st.integers(1, 400),
       below=st.booleans(), strict=st.booleans(), q=st.floats(0.05, 0.95))
def test_first_cross_is_the_first(seed, a, span, below, strict, q):
    s = make_series(seed)
    b = a + span
    lo, hi = s.range_between(a, b)
    level = lo + (hi - lo) * q

    def hit(p):
        if below:
            return p < level if strict else p <= level
        return p > level if strict else p >= level

    got = s.first_cross(a, b, level, below=below, strict=strict)
    first = next((t for t in range(a + 1, b + 1) if hit(s.price_at(t))), None)
    if first is not None:
        assert got is not None and a < got[0] <= first
    if got is not None:
        assert a < got[0] <= b
        # no sampled millisecond before the reported one satisfies the condition (1 ms rounding slack)
        assert all(not hit(s.price_at(t)) for t in range(a + 1, got[0] - 1))


def test_klines_aggregate_and_stop_at_now():
    s = make_series(7, n=48)
    now = int(s.t[40]) + 25
    rows = s.klines(4 * D, None, None, 100, now)
    assert rows[-1][0] <= now < rows[-1][0] + 4 * D
    assert all(r[0] <= now for r in rows)
    full = rows[1]                                        # a complete 4-bar candle
    i = int((full[0] - s.t[0]) // D)
    assert full[1] == s.o[i] and full[4] == s.c[i + 3]
    assert full[2] == s.h[i:i + 4].max() and full[3] == s.l[i:i + 4].min()
    assert full[5] == s.v[i:i + 4].sum()
    part = rows[-1]
    assert part[4] == s.price_at(now)                     # the current candle closes at "now"
