"""Speed figures for core.indicators (prints only; tests hold no timing assertions).

    .venv/bin/python benchmarks/bench_indicators.py [--bars 60000] [--repeat 30]

Batch: every indicator over 60,000 bars, alone and all together (targets: EMA < 2 ms, all < 20 ms).
Incremental: the cost of one `state.update(...)` per indicator (what the live loop pays per new bar).
Figures are the best and the median of `--repeat` runs, pinned to one core when the OS allows it.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import pin_one_core
from core import indicators as ind


def bars(n: int):
    """60,000 hourly bars: synthetic market (deterministic) when marketdata is importable, else a GBM."""
    try:
        from marketdata.synthetic import generate_klines

        k = generate_klines("BTCUSDT", "2019-01-01", n, seed=1)
        return k.high.copy(), k.low.copy(), k.close.copy(), "marketdata.synthetic BTCUSDT 1h"
    except ImportError:
        rng = np.random.default_rng(1)
        c = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.006, n)))
        s = np.abs(rng.normal(0, 0.004, n))
        return c * (1 + s), c * (1 - s), c, "numpy GBM"


def measure(fn, repeat: int) -> tuple[float, float]:
    fn()  # warm caches and allocator
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1e3, statistics.median(times) * 1e3


def report(label: str, best: float, median: float, target: float | None = None) -> None:
    verdict = "" if target is None else ("  OK" if best < target else "  OVER TARGET") + f" (target < {target:g} ms)"
    print(f"  {label:<42s} best {best:8.3f} ms   median {median:8.3f} ms{verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bars", type=int, default=60_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--updates", type=int, default=20_000, help="bars folded per incremental figure")
    args = ap.parse_args()

    pinned = pin_one_core()
    high, low, close, source = bars(args.bars)
    print(f"core.indicators: {args.bars:,} bars ({source}), {pinned}, numpy {np.__version__}")

    fast, slow = ind.sma(close, 5), ind.sma(close, 20)
    batch = {
        "ema(span=20)": lambda: ind.ema(close, 20),
        "ema(span=720)": lambda: ind.ema(close, 720),
        "sma(20)": lambda: ind.sma(close, 20),
        "rsi(14)": lambda: ind.rsi(close, 14),
        "atr(14)": lambda: ind.atr(high, low, close, 14),
        "zscore(20)": lambda: ind.zscore(close, 20),
        "donchian(336)": lambda: ind.donchian(high, low, 336),
        "ewma_vol(168)": lambda: ind.ewma_vol(close, 168),
        "crossover(sma5, sma20)": lambda: ind.crossover(fast, slow),
    }

    def all_indicators():
        ind.ema(close, 20)
        f, s = ind.sma(close, 5), ind.sma(close, 20)
        ind.rsi(close, 14)
        ind.atr(high, low, close, 14)
        ind.zscore(close, 20)
        ind.donchian(high, low, 336)
        ind.ewma_vol(close, 168)
        ind.crossover(f, s)

    print("\nbatch")
    for label, fn in batch.items():
        report(label, *measure(fn, args.repeat), target=2.0 if label.startswith("ema") else None)
    report("ALL: ema sma sma rsi atr z donchian vol x", *measure(all_indicators, args.repeat), target=20.0)

    # gaps cost one compress + one expand
    gappy = close.copy()
    gappy[::97] = np.nan
    report("ema(span=20) with 1 % NaN bars", *measure(lambda: ind.ema(gappy, 20), args.repeat))

    print(f"\nincremental: one update, averaged over {args.updates:,} bars (warm windows)")
    n = min(args.updates, args.bars)
    h, lo, c = high[:n].tolist(), low[:n].tolist(), close[:n].tolist()
    states = {
        "EmaState(20)": (ind.EmaState.start(20), lambda st, i: st.update(c[i])),
        "SmaState(20)": (ind.SmaState.start(20), lambda st, i: st.update(c[i])),
        "RsiState(14)": (ind.RsiState.start(14), lambda st, i: st.update(c[i])),
        "AtrState(14)": (ind.AtrState.start(14), lambda st, i: st.update(h[i], lo[i], c[i])),
        "ZScoreState(20)": (ind.ZScoreState.start(20), lambda st, i: st.update(c[i])),
        "DonchianState(336)": (ind.DonchianState.start(336), lambda st, i: st.update(h[i], lo[i])),
        "EwmaVolState(168)": (ind.EwmaVolState.start(168), lambda st, i: st.update(c[i])),
        "CrossState": (ind.CrossState.start(), lambda st, i: st.update(c[i], c[i - 1])),
    }
    total = 0.0
    for label, (state, step) in states.items():
        t = time.perf_counter()
        for i in range(n):
            state, _ = step(state, i)
        per = (time.perf_counter() - t) / n * 1e6
        total += per
        print(f"  {label:<42s} {per:8.2f} us/update")
    print(f"  {'all of the above, per bar':<42s} {total:8.2f} us   (x 300 symbols = {total * 300 / 1000:.2f} ms)")
    window = close[:1000]
    best, _ = measure(lambda: (ind.ema(window, 20), ind.rsi(window, 14), ind.zscore(window, 20)), args.repeat)
    print(f"  {'(for scale: batch ema+rsi+z over 1,000 bars)':<42s} {best * 1000:8.2f} us")


if __name__ == "__main__":
    main()
