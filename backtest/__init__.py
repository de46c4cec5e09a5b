"""Backtests on the live decision core (docs/Backtest_Methodology.md).

    backtest.engine     the single-strategy engine: targets -> next-open fills at full equity (fast path)
    backtest.reference  the bar-by-bar reference mode driving `core.cycle` as the executor does
    backtest.portfolio  the ensemble engine: sleeves, sizing, `check_order`, ISOLATED margin, NAV bar by bar
    backtest.metrics    returns, Sharpe, drawdown
    backtest.data       bars and funding from a data directory (the ../shared/data layout)
    python -m backtest run ...   one backtest, summary as JSON
"""
