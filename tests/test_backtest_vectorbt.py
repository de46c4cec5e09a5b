"""Correctness against another engine: ema_cross(24, 96) on real BTCUSDT 1h, fee 5 bps, slippage 3 bps,
next-open fills, full equity long/short, no funding — same final equity (1e-9 relative) and trade count as
vectorbt (docs/Backtest_Methodology.md states the conventions both follow)."""
import numpy as np
import pytest

from backtest.cli import run_single
from backtest.costs import Costs
from backtest.data import load_bars


@pytest.mark.slow
def test_ema_cross_matches_vectorbt_on_real_data(shared_data_dir):
    vbt = pytest.importorskip("vectorbt")
    import pandas as pd

    k, f = load_bars(shared_data_dir, ["BTCUSDT"], "1h")["BTCUSDT"]
    ours = run_single("ema_cross", {"fast": 24, "slow": 96}, k, f, Costs.from_bps(5, 3), 10_000.0)
    held = ours.held
    prev = np.r_[0.0, held[:-1]]
    change = held != prev
    idx = pd.to_datetime(k.open_time_ms, unit="ms")

    def s(x):
        return pd.Series(x, index=idx)

    pf = vbt.Portfolio.from_signals(
        close=s(k.close), price=s(k.open),  # orders at the open of the bar, value marked at the close
        entries=s(change & (held > 0)), short_entries=s(change & (held < 0)),
        exits=s(change & (held == 0) & (prev > 0)), short_exits=s(change & (held == 0) & (prev < 0)),
        size=np.inf, fees=0.0005, slippage=0.0003, init_cash=10_000.0, freq="1h")
    value = pf.value().to_numpy()
    assert len(ours.fills) > 500
    assert pf.orders.count() == len(ours.fills)
    assert ours.equity[-1] == pytest.approx(value[-1], rel=1e-9)
    assert np.max(np.abs(ours.equity / value - 1.0)) < 1e-9  # the whole curve, not only the end
