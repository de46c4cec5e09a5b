"""Speed of the signal half of the decision cycle (prints only; tests hold no timing assertions).

    .venv/bin/python benchmarks/bench_signals.py [--symbols 300] [--history 1000] [--cycles 48]

300 symbols with 1,000 hourly bars of history each. Every cycle one new bar arrives per symbol and the
live loop does, per symbol: screener fields (z, RSI, ATR, SMA cross), trend score, vol regime, the
symbol's strategy target (strategies assigned round robin, default parameters), carry / expectancy /
router scores, the hybrid with tier + regime weights, the gate, the breadcrumb line and the regime sizing
multiplier; then the cycle summary and the ranking. Target: well under 50 ms per cycle on one core.

For contrast it also times the naive loop that recomputes everything from the 1,000-bar history.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import make_bars, pin_one_core
from core.alpha import (
    RouterStats,
    Side,
    TradeStats,
    TrendState,
    carry_score,
    expectancy_score,
    rank_by_hybrid,
    router_score,
    score_symbol,
    trend_score,
)
from core.bars import Ohlc
from core.regimes import RegimeState, sizing_multiplier, vol_regime
from core.screener import (
    ScreenerState,
    format_breadcrumb,
    format_cycle_summary,
    screen_cycle,
    screen_symbol,
    screener_fields,
)
from core.strategies import STRATEGIES
from core.strategies.base import StrategyStateLike
from settings.models import STRATEGY_NAMES, TIERS, StrategyConfig, TrendSettings

H = 3_600_000


@dataclass
class SymbolLoop:
    """The live loop's per-symbol memory: immutable states, replaced every bar."""

    symbol: str
    tier: str
    strategy: str
    screener: ScreenerState
    trend: TrendState
    regime: RegimeState
    target: StrategyStateLike
    trades: TradeStats
    router: RouterStats
    position: Side | None = None


def start_loops(symbols: list[str], rng: np.random.Generator) -> list[SymbolLoop]:
    loops = []
    for i, s in enumerate(symbols):
        name = STRATEGY_NAMES[i % len(STRATEGY_NAMES)]
        loops.append(
            SymbolLoop(
                s, TIERS[i % len(TIERS)], name, ScreenerState.start(), TrendState.start(), RegimeState.start(H),
                STRATEGIES[name].start(bar_ms=H),
                TradeStats(int(rng.integers(0, 200)), float(rng.uniform(0.3, 0.6)), float(rng.uniform(0.8, 2.5))),
                RouterStats(float(rng.uniform(0, 8)), float(rng.uniform(0.7, 1)), float(rng.uniform(0.2, 0.9)),
                            int(rng.integers(0, 500))),
                "LONG" if i % 7 == 0 else None,
            )
        )
    return loops


def advance(loop: SymbolLoop, bar) -> None:
    """Indicator states only (used for the warm-up from history)."""
    loop.screener, _ = loop.screener.update(bar)
    loop.trend, _ = loop.trend.update(bar.close)
    loop.regime, _ = loop.regime.update(bar.close)
    loop.target, _ = loop.target.update(bar)


def warm(loop: SymbolLoop, history: Ohlc) -> None:
    """The states `advance` reaches over `history`, built from batch results."""
    loop.screener = ScreenerState.warm(history)
    loop.trend = TrendState.warm(history.close)
    loop.regime = RegimeState.warm(history.close, H)
    loop.target = STRATEGIES[loop.strategy].warm(history, bar_ms=H)


def run_cycle(loops: list[SymbolLoop], bars: dict[str, Ohlc], t: int, funding: np.ndarray, cfg: StrategyConfig,
              stages: dict[str, float]):
    hs, vr = cfg.hybrid_scoring, cfg.vol_regimes
    clock = time.perf_counter
    rows, results, lines = [], [], []
    for k, loop in enumerate(loops):
        bar = bars[loop.symbol].bar(t)
        t0 = clock()
        loop.screener, fields = loop.screener.update(bar)
        t1 = clock()
        loop.trend, trend = loop.trend.update(bar.close)
        t2 = clock()
        loop.regime, regime = loop.regime.update(bar.close)
        t3 = clock()
        loop.target, target = loop.target.update(bar)
        t4 = clock()
        result = score_symbol(
            loop.symbol, loop.tier, trend=trend, carry=carry_score(float(funding[k]), scoring=hs),
            expectancy=expectancy_score(loop.trades), router=router_score(loop.router),
            scoring=hs, regime=regime.vol_regime, vol_regimes=vr,
        )
        t5 = clock()
        row = screen_symbol(loop.symbol, "1h", fields, position_side=loop.position, hybrid=result, scoring=hs)
        lines.append(format_breadcrumb(row))
        sizing_multiplier(vr, loop.tier, regime.vol_regime)
        rows.append(row)
        results.append(result)
        t6 = clock()
        for name, dt in (("screener fields", t1 - t0), ("trend score", t2 - t1), ("vol regime", t3 - t2),
                         ("strategy target", t4 - t3), ("carry/expect/router + hybrid", t5 - t4),
                         ("gate + breadcrumb + sizing", t6 - t5)):
            stages[name] = stages.get(name, 0.0) + dt
    t7 = clock()
    cycle = screen_cycle(rows)
    summary = format_cycle_summary(cycle)
    ranked = rank_by_hybrid(results)
    stages["summary + ranking"] = stages.get("summary + ranking", 0.0) + clock() - t7
    return cycle, summary, ranked, lines


def recompute_cycle(loops: list[SymbolLoop], bars: dict[str, Ohlc], t: int, history: int) -> None:
    """The naive loop: every indicator and target from the last `history` bars, every cycle."""
    for loop in loops:
        b = bars[loop.symbol]
        start = max(t + 1 - history, 0)
        window = Ohlc(b.open[start : t + 1], b.high[start : t + 1], b.low[start : t + 1], b.close[start : t + 1])
        screener_fields(window)
        trend_score(window.close, TrendSettings())
        vol_regime(window.close, H)
        STRATEGIES[loop.strategy](window)[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbols", type=int, default=300)
    ap.add_argument("--history", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=48)
    args = ap.parse_args()

    pinned = pin_one_core()
    t = time.perf_counter()
    symbols, bars, source = make_bars(args.symbols, args.history + args.cycles)
    print(f"signal cycle: {args.symbols} symbols x {args.history:,} 1h bars of history ({source}, "
          f"{time.perf_counter() - t:.1f} s to generate), {pinned}")
    rng = np.random.default_rng(42)
    cfg = StrategyConfig()
    loops = start_loops(symbols, rng)

    t = time.perf_counter()
    for loop in loops:
        b = bars[loop.symbol]
        for i in range(args.history):
            advance(loop, b.bar(i))
    cold = time.perf_counter() - t
    print(f"  cold start: fold {args.history:,} bars into every symbol's states   {cold * 1000:9.1f} ms "
          f"({cold / args.symbols * 1000:.2f} ms/symbol, once per process start)")
    t = time.perf_counter()
    for loop in start_loops(symbols, np.random.default_rng(42)):
        warm(loop, bars[loop.symbol].head(args.history))
    hot = time.perf_counter() - t
    print(f"  warm start: the same states built from batch results (XState.warm) {hot * 1000:9.1f} ms "
          f"({hot / args.symbols * 1000:.3f} ms/symbol, {cold / hot:.0f}x faster)")

    stages: dict[str, float] = {}
    per_cycle = []
    for c in range(args.cycles):
        funding = rng.normal(1e-4, 2e-4, args.symbols)
        t = time.perf_counter()
        cycle, summary, _, lines = run_cycle(loops, bars, args.history + c, funding, cfg, stages)
        per_cycle.append(time.perf_counter() - t)
    ms = np.array(per_cycle) * 1000
    print(f"\nincremental cycle (one new bar per symbol), {args.cycles} cycles:")
    print(f"  per cycle: median {np.median(ms):7.2f} ms   mean {ms.mean():7.2f} ms   "
          f"p95 {np.percentile(ms, 95):7.2f} ms   "
          f"max {ms.max():7.2f} ms   (target: well under 50 ms)")
    print(f"  per symbol: {np.median(ms) / args.symbols * 1000:.1f} us")
    timed_total = sum(stages.values())
    for name, total in stages.items():
        share = total / args.cycles * 1000
        print(f"    {name:<32s} {share:7.2f} ms/cycle  ({total / timed_total:5.1%})")
    print(f"  last cycle: {summary}; e.g. {lines[0]}")

    n_naive = 3
    t = time.perf_counter()
    for c in range(n_naive):
        recompute_cycle(loops, bars, args.history + args.cycles - 1 - c, args.history)
    naive = (time.perf_counter() - t) / n_naive * 1000
    print(f"\nfor contrast, recomputing everything from {args.history:,} bars each cycle: {naive:8.1f} ms/cycle "
          f"({naive / statistics.median(ms):.0f}x)")


if __name__ == "__main__":
    main()
