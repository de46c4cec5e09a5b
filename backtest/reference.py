"""The bar-by-bar reference mode: `core.cycle` driven one closed bar at a time, as the executor drives it.

Per bar t (docs/Backtest_Methodology.md):
    at the open   funding settles on the position held (when bar t's open time is a funding time), then
                  the target decided at the close of bar t-1 is filled (`Book.rebalance`, the same rule as
                  the fast path)
    at the close  equity is marked; the account snapshot (NAV history, position) goes to
                  `core.cycle.step` with the closed bar, whose `Decision.target` is the next target
Nothing is computed in batch here, so the fast path (`backtest.engine.simulate`) is checked against it:
the tests prove both give the same fills.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from backtest.costs import Costs
from backtest.engine import Book, SingleResult
from core.bars import Bar
from core.cycle import CycleConfig, DecisionCycle
from core.numbers import to_decimal
from core.portfolio import NavPoint, PortfolioSnapshot, PositionLeg
from settings.models import StrategyBlock

__all__ = ["cycle_config_for", "reference_single"]


def cycle_config_for(strategies: Mapping[str, tuple[str, Mapping[str, Any]]], interval: str) -> CycleConfig:
    """A cycle whose symbols run the given (strategy, params) as their strategy_config blocks."""
    from settings.models import StrategyConfig

    blocks = {sym: StrategyBlock(strategy=name, params=dict(params), timeframe=interval)
              for sym, (name, params) in strategies.items()}
    return CycleConfig(strategy_config=StrategyConfig(strategies=blocks), timeframe=interval)


def _snapshot(now_ms: int, nav: float, symbol: str, qty: float, close: float) -> PortfolioSnapshot:
    legs = ()
    if qty != 0.0:
        legs = (PositionLeg(symbol, "LONG" if qty > 0 else "SHORT", to_decimal(abs(float(qty))),
                            mark_price=to_decimal(float(close))),)
    return PortfolioSnapshot(now_ms, nav_history=(NavPoint(now_ms, to_decimal(float(nav))),), positions=legs)


def reference_single(klines: Any, strategy: str, params: Mapping[str, Any], costs: Costs, *,
                     initial_cash: float = 10_000.0, funding_rate: np.ndarray | None = None) -> SingleResult:
    """The single-strategy backtest of `backtest.engine.run_targets`, bar by bar through `core.cycle`."""
    sym, bar_ms = klines.symbol, klines.interval_ms
    config = cycle_config_for({sym: (strategy, params)}, klines.interval)
    cycle = DecisionCycle.start([sym], config)
    n = len(klines)
    o, h, lo, c, t = (np.asarray(a).tolist() for a in (klines.open, klines.high, klines.low, klines.close,
                                                       klines.open_time_ms))
    rate = np.zeros(n) if funding_rate is None else np.nan_to_num(np.asarray(funding_rate, dtype=np.float64))
    rate_l = rate.tolist()
    book = Book(costs, float(initial_cash))
    equity, position, held = np.empty(n), np.empty(n), np.empty(n)
    pending = 0.0
    for i in range(n):
        if costs.funding and rate_l[i] != 0.0 and book.qty != 0.0:
            book.pay_funding(o[i], rate_l[i])
        book.rebalance(i, t[i], o[i], pending)
        held[i] = book.target
        equity[i] = book.equity(c[i])
        position[i] = book.qty
        close_ms = t[i] + bar_ms
        snap = _snapshot(close_ms, equity[i], sym, book.qty, c[i])
        cycle, result = cycle.step({sym: Bar(o[i], h[i], lo[i], c[i])}, None, snap, config, bar_time_ms=t[i])
        pending = result.decisions[0].target
    return SingleResult(np.asarray(klines.open_time_ms), equity, position, held, tuple(book.fills), book.fees,
                        book.slippage, book.funding, float(initial_cash), int(bar_ms))


def drive_portfolio(sim: Any, candidate: Any, progress: Any = None) -> None:
    """The ensemble bar by bar: `core.cycle.step` per closed bar gives each symbol's strategy target (one
    sleeve per symbol: the cycle holds one strategy block per symbol); the weighted target, when it changes,
    is rebalanced at the symbol's next open by the same `_Sim.rebalance` as the fast path."""
    g = sim.grid
    by_symbol: dict[str, Any] = {}
    for sleeve in candidate.ensemble.sleeves:
        if sleeve.symbol in by_symbol:
            raise ValueError(f"reference mode drives core.cycle, which holds one strategy per symbol; "
                             f"{sleeve.symbol} has two sleeves ({by_symbol[sleeve.symbol].name}, {sleeve.name})")
        by_symbol[sleeve.symbol] = sleeve
    config = cycle_config_for({s: (x.strategy, x.params) for s, x in by_symbol.items()}, candidate.interval)
    cycle = DecisionCycle.start(g.symbols, config)
    index = {s: i for i, s in enumerate(g.symbols)}
    o, h, lo, c = (a.tolist() for a in (g.open, g.high, g.low, g.close))
    times = g.time_ms.tolist()
    decided = [0.0] * len(g.symbols)
    pending: dict[int, float] = {}
    n = len(times)
    for t in range(n):
        sim.settle_funding(t)
        ready = [(i, tgt) for i, tgt in pending.items() if math.isfinite(o[i][t])]
        if ready:
            sim.rebalance(t, ready)
            for i, _ in ready:
                del pending[i]
        sim.segment(t, t + 1)
        bars = {s: Bar(o[i][t], h[i][t], lo[i][t], c[i][t]) for s, i in index.items() if math.isfinite(c[i][t])}
        now = times[t] + g.bar_ms
        snap = PortfolioSnapshot(now, nav_history=(NavPoint(now, to_decimal(float(sim.equity[t]))),))
        cycle, result = cycle.step(bars, None, snap, config, bar_time_ms=times[t])
        for d in result.decisions:
            sleeve = by_symbol.get(d.symbol)
            target = sleeve.weight * d.target if sleeve is not None else 0.0
            i = index[d.symbol]
            if target != decided[i]:
                decided[i] = target
                pending[i] = target
        if progress is not None and (t % 500 == 0 or t == n - 1):
            progress(t + 1, n)
