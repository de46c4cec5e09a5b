"""Speed of the full decision cycle, `core.cycle.step` (prints only; tests hold no timing assertions).

    .venv/bin/python benchmarks/bench_decision_cycle.py [--symbols 300] [--history 1000] [--cycles 100]
                                                        [--fold-symbols 300] [--numpy-data]

Target (the issue): "a full decision cycle — indicators, screener, scores, regimes, strategies, sizing and
check_order — for 300 symbols with 1,000 hourly bars each, updating by one new bar: under 50 ms on one core."

World: 300 symbols (`marketdata.synthetic`, or a numpy random walk with --numpy-data), strategies round robin
over the five registered ones (default parameters) and tiers round robin; exchange filters per symbol
(tick / step scaled to the price, min notional 5); premiumIndex-like funding / mark / index per symbol per
cycle and fixed trade / router statistics; a portfolio of 50 legs (30 symbols, 20 of them hedged), 10
resting orders, 500 NAV points; 10 correlation groups of 30 symbols; prod-like profile and risk limits.

Reports:
- cold start: folding 1,000 bars into every state bar by bar (before) vs building them from batch results
  (`DecisionCycle.warm`, after), and that both give the same decisions on the next bar;
- the cycle: median / p95 per cycle over --cycles cycles, each with one new bar for every symbol: first with
  the interpreter's default garbage collector, then after `gc.collect(); gc.freeze()` (what a long-running
  process should do once its warm start is done: a full collection then no longer walks every object loaded
  at start-up, which otherwise costs 20-80 ms every ~10 cycles); then the per-stage breakdown (a third pass
  with the `lap` hook on; the hook costs ~0.5 ms per cycle);
- what the cycle decided (candidates, approved, vetoed and why).
The snapshot is rebuilt before each cycle (new marks, a fresh NAV point) outside the timing: in the live loop
it comes from sync_state. Approved entries are not filled into the next snapshot.
"""
from __future__ import annotations

import argparse
import gc
import math
import statistics
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal as D
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import make_bars, pin_one_core
from core.alpha import RouterStats, TradeStats
from core.cycle import CycleConfig, DecisionCycle, SymbolInputs
from core.filters import SymbolFilters
from core.portfolio import NavPoint, OpenOrder, PortfolioSnapshot, PositionLeg
from settings.models import (
    STRATEGY_NAMES,
    TIERS,
    CorrelationGroup,
    CorrelationGroups,
    PairsUniverse,
    Profile,
    RiskLimits,
    StrategyBlock,
    StrategyConfig,
)

H = 3_600_000
START_MS = 1_704_067_200_000  # 2024-01-01T00:00Z, the synthetic bars' first open


class Laps:
    """The `lap` hook: time since the previous lap, summed per stage name."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.t = time.perf_counter()

    def reset(self) -> None:
        self.t = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.totals[stage] += now - self.t
        self.t = now


def filters_for(symbol: str, price: float) -> SymbolFilters:
    mag = math.floor(math.log10(price))
    tick = D(1).scaleb(mag - 4)
    step = D(1).scaleb(min(0, 1 - mag))  # BTC 60,000 -> 0.001, SOL 150 -> 0.1, 5 -> 1
    return SymbolFilters(symbol=symbol, tick_size=tick, min_price=tick, max_price=D(10) ** (mag + 3),
                         step_size=step, min_qty=step, max_qty=D(10) ** (7 - mag), market_step_size=step,
                         market_min_qty=step, market_max_qty=D(10) ** (6 - mag), min_notional=D(5),
                         percent_up=D("1.05"), percent_down=D("0.95"))


def build_config(symbols: list[str]) -> CycleConfig:
    blocks = {s: StrategyBlock(strategy=STRATEGY_NAMES[i % len(STRATEGY_NAMES)], tier=TIERS[i % len(TIERS)], leverage=3)
              for i, s in enumerate(symbols)}
    groups = CorrelationGroups(groups={
        f"G{g}": CorrelationGroup(symbols=symbols[g::10], max_group_nav_pct=0.35) for g in range(10)})
    return CycleConfig(
        strategy_config=StrategyConfig(strategies=blocks),
        limits=RiskLimits(MAX_POSITIONS=60, per_symbol_nav_pct=0.2, max_gross_exposure_nav_pct=0.8),
        groups=groups,
        universe=PairsUniverse(symbols=symbols),
        profile=Profile(max_position_usd=50_000, max_leverage=3, enable_shorts=True, local_venue=False),
    )


class World:
    """Everything outside the core: filters, the portfolio, market inputs, per-cycle snapshots."""

    def __init__(self, symbols: list[str], bars: dict, history: int, rng: np.random.Generator) -> None:
        self.symbols, self.bars = symbols, bars
        self.filters = {s: filters_for(s, float(bars[s].close[history - 1])) for s in symbols}
        self.trades = {s: TradeStats(int(rng.integers(0, 200)), float(rng.uniform(0.3, 0.6)),
                                     float(rng.uniform(0.8, 2.5)))
                       for s in symbols}
        self.router = {s: RouterStats(float(rng.uniform(0, 8)), float(rng.uniform(0.7, 1)),
                                      float(rng.uniform(0.2, 0.9)), int(rng.integers(0, 500)))
                       for s in symbols}
        self.rng = rng
        held = symbols[:30]
        self.legs = [(s, "LONG", "0.5") for s in held] + [(s, "SHORT", "0.3") for s in held[:20]]
        self.orders = held[:10]

    def inputs(self, t: int) -> dict[str, SymbolInputs]:
        out = {}
        funding = self.rng.normal(1e-4, 2e-4, len(self.symbols))
        premium = self.rng.normal(0.0, 5e-4, len(self.symbols))
        for k, s in enumerate(self.symbols):
            close = float(self.bars[s].close[t])
            out[s] = SymbolInputs(float(funding[k]), close * (1 + float(premium[k])), close, self.trades[s],
                                  self.router[s])
        return out

    def snapshot(self, t: int, inputs: dict[str, SymbolInputs]) -> PortfolioSnapshot:
        now = START_MS + (t + 1) * H  # the bar t has just closed
        marks = {s: D(repr(inputs[s].mark_price)) for s in self.symbols}
        legs = []
        for s, side, units in self.legs:  # about 1,000 USD a leg
            f = self.filters[s]
            qty = (D(units) * 2000 / marks[s]).quantize(f.step_size) or f.step_size
            legs.append(PositionLeg(s, side, qty, entry_price=marks[s], mark_price=marks[s], leverage=3))
        orders = [OpenOrder(s, "BUY", "LONG", self.filters[s].step_size * 10,
                            (marks[s] * D("0.99")).quantize(self.filters[s].tick_size)) for s in self.orders]
        history = tuple(NavPoint(now - 30_000 * (500 - i), 100_000 + (i % 37) * 10) for i in range(500))
        return PortfolioSnapshot(now_ms=now, nav_history=history, positions=tuple(legs), open_orders=tuple(orders),
                                 filters=self.filters, mark_prices=marks, day_start_nav_usd=100_000)


def bars_at(bars: dict, symbols: list[str], t: int) -> dict:
    return {s: bars[s].bar(t) for s in symbols}


def head(bars: dict, n: int) -> dict:
    return {s: b.head(n) for s, b in bars.items()}


def same_decisions(a, b) -> tuple[bool, float]:
    """Same status, gate, order and veto codes for every symbol; and the largest |hybrid| difference."""
    worst, same = 0.0, True
    for x, y in zip(a.decisions, b.decisions):
        same &= (x.symbol, x.status, x.gate, x.order, x.reasons) == (y.symbol, y.status, y.gate, y.order, y.reasons)
        worst = max(worst, abs(x.hybrid.hybrid - y.hybrid.hybrid))
    return same and len(a.decisions) == len(b.decisions), worst


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symbols", type=int, default=300)
    ap.add_argument("--history", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--fold-symbols", type=int, default=None,
                    help="symbols to fold bar by bar for the 'before' cold start (default: all; ~25 ms each)")
    ap.add_argument("--numpy-data", action="store_true", help="numpy random walk instead of marketdata.synthetic")
    args = ap.parse_args()

    pinned = pin_one_core()
    t0 = time.perf_counter()
    symbols, bars, source = make_bars(args.symbols, args.history + args.cycles, synthetic=not args.numpy_data)
    print(f"decision cycle: {args.symbols} symbols x {args.history:,} 1h bars of history ({source}, "
          f"{time.perf_counter() - t0:.1f} s to generate), {pinned}")
    config = build_config(symbols)
    world = World(symbols, bars, args.history, np.random.default_rng(42))
    history = head(bars, args.history)
    last_ms = START_MS + (args.history - 1) * H

    # ---------------------------------------------------------------- cold start
    print("\ncold start (once per process start):")
    t0 = time.perf_counter()
    warm = DecisionCycle.warm(history, config, last_bar_ms=last_ms)
    after = time.perf_counter() - t0
    n_fold = min(args.fold_symbols or args.symbols, args.symbols)
    t0 = time.perf_counter()
    folded = DecisionCycle.warm({s: history[s] for s in symbols[:n_fold]}, config, last_bar_ms=last_ms,
                                from_batch=False)
    before = (time.perf_counter() - t0) * args.symbols / n_fold
    note = "" if n_fold == args.symbols else f" (measured on {n_fold} symbols, scaled)"
    print(f"  before: fold {args.history:,} bars into every state, bar by bar  {ms(before)}  "
          f"({before / args.symbols * 1000:.2f} ms/symbol){note}")
    print(f"  after:  DecisionCycle.warm (states from batch results)      {ms(after)}  "
          f"({after / args.symbols * 1000:.3f} ms/symbol, {before / after:.0f}x faster)")
    inputs = world.inputs(args.history)
    snap = world.snapshot(args.history, inputs)
    bar_ms = START_MS + args.history * H
    sub = symbols[:n_fold]
    _, r_warm = warm.step(bars_at(bars, sub, args.history), inputs, snap, config, bar_time_ms=bar_ms)
    _, r_fold = folded.step(bars_at(bars, sub, args.history), inputs, snap, config, bar_time_ms=bar_ms)
    same, worst = same_decisions(r_warm, r_fold)
    print(f"  next bar from warmed vs folded states: same decisions for {len(sub)} symbols: {same}; "
          f"max |hybrid difference| {worst:.1e}")

    # ---------------------------------------------------------------- the cycle
    def run(state: DecisionCycle, lap=None):
        """Time every cycle; keep only a summary of each result (a live loop logs its results and drops them)."""
        per_cycle, summaries, extras = [], [], []
        result = None
        for c in range(args.cycles):
            t = args.history + c
            new_bars = bars_at(bars, symbols, t)
            inputs = world.inputs(t)
            snap = world.snapshot(t, inputs)
            del result
            if lap is not None:
                lap.reset()
            t0 = time.perf_counter()
            state, result = state.step(new_bars, inputs, snap, config, bar_time_ms=START_MS + t * H, lap=lap)
            per_cycle.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _ = result.intel  # the intel record is a computed property: its cost is what is timed
            [d.to_dict() for d in result.decisions if d.risk is not None]
            extras.append(time.perf_counter() - t0)
            summaries.append((len(result.checked), len(result.orders), Counter(d.status for d in result.decisions),
                              Counter(code for d in result.decisions if d.status == "vetoed" for code in d.reasons)))
        return per_cycle, summaries, extras, result

    print(f"\nfull cycle (one new bar for each of {args.symbols} symbols), {args.cycles} cycles "
          f"(target: under 50 ms on one core):")

    def report(label: str, per_cycle: list[float]) -> None:
        x = np.array(per_cycle) * 1000
        print(f"  {label:<26s} median {np.median(x):6.2f} ms   p95 {np.percentile(x, 95):6.2f} ms   "
              f"mean {x.mean():6.2f} ms   max {x.max():6.2f} ms")

    per_cycle, *_ = run(warm)
    report("default gc:", per_cycle)
    gc.collect()
    gc.freeze()
    per_cycle, summaries, extras, last = run(warm)
    report("after gc.freeze():", per_cycle)

    laps = Laps()
    lapped, *_ = run(warm, laps)
    total = sum(laps.totals.values())
    print(f"  by stage (second pass with the lap hook on: median {np.median(lapped) * 1000:.2f} ms/cycle):")
    for name, secs in laps.totals.items():
        print(f"    {name:<30s} {secs / args.cycles * 1000:7.2f} ms/cycle  ({secs / total:5.1%})")

    n_cand = [s[0] for s in summaries]
    n_ok = [s[1] for s in summaries]
    statuses: Counter = sum((s[2] for s in summaries), Counter())
    vetoes: Counter = sum((s[3] for s in summaries), Counter())
    print(f"\n  per cycle: {statistics.mean(n_cand):.0f} entry candidates sized and checked, "
          f"{statistics.mean(n_ok):.1f} approved")
    print(f"  statuses over all cycles: {dict(statuses)}")
    print(f"  veto codes: {dict(vetoes.most_common())}")
    first = last.approved[0] if last.approved else None
    if first is not None and first.order is not None and first.sizing is not None:
        o = first.order
        print(f"  e.g. approved: {o.side} {o.position_side} {o.qty} {first.symbol} (hybrid {first.hybrid.hybrid:+.3f}, "
              f"{first.regime.vol_regime}, tier {first.tier}, margin {first.sizing.margin_usd:.2f} USD "
              f"x{first.sizing.leverage})")
    vetoed = next((d for d in last.decisions if d.status == "vetoed"), None)
    if vetoed is not None:
        print(f"  e.g. vetoed:   {vetoed.symbol}: {vetoed.risk.vetoes[0].reason}")

    print(f"\n  not in the cycle (executor side): intel records for every symbol + [decision] payloads "
          f"for checked entries: {statistics.median(extras) * 1000:.2f} ms/cycle (median)")


if __name__ == "__main__":
    main()
