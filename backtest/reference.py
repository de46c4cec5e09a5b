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

from decimal import Decimal
from typing import Any, Mapping

import numpy as np

from backtest.costs import Costs
from backtest.engine import Book, SingleResult
from core.cycle import CycleConfig, DecisionCycle
from core.indicators import Bar
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
        legs = (PositionLeg(symbol, "LONG" if qty > 0 else "SHORT", Decimal(repr(abs(float(qty)))), mark_price=Decimal(repr(float(close)))),)
    return PortfolioSnapshot(now_ms, nav_history=(NavPoint(now_ms, Decimal(repr(float(nav)))),), positions=legs)


def reference_single(klines: Any, strategy: str, params: Mapping[str, Any], costs: Costs, *,
                     initial_cash: float = 10_000.0, funding_rate: np.ndarray | None = None) -> SingleResult:
    """The single-strategy backtest of `backtest.engine.run_targets`, bar by bar through `core.cycle`."""
    sym, bar_ms = klines.symbol, klines.interval_ms
    config = cycle_config_for({sym: (strategy, params)}, klines.interval)
    cycle = DecisionCycle.start([sym], config)
    n = len(klines)
    o, h, l, c, t = (np.asarray(a).tolist() for a in (klines.open, klines.high, klines.low, klines.close,
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
        cycle, result = cycle.step({sym: Bar(o[i], h[i], l[i], c[i])}, None, snap, config, bar_time_ms=t[i])
        pending = result.decisions[0].target
    return SingleResult(np.asarray(klines.open_time_ms), equity, position, held, tuple(book.fills), book.fees,
                        book.slippage, book.funding, float(initial_cash), int(bar_ms))
