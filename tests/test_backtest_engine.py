"""The backtest engine: fill/fee/slippage/funding conventions on hand-computed cases, the fast path against
the bar-by-bar reference through core.cycle, and the CLI (docs/Backtest_Methodology.md)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from backtest.cli import parse_params, run_single
from backtest.costs import Costs, fill_price
from backtest.data import funding_per_bar, load_bars
from backtest.engine import simulate
from backtest.metrics import max_drawdown, summary_figures
from backtest.reference import reference_single
from core.strategies import STRATEGIES
from marketdata import Funding, Klines

H = 3_600_000


def _klines(close, symbol="TESTUSDT", seed=None):
    close = np.asarray(close, dtype=float)
    open_ = np.r_[close[0], close[:-1]]
    return Klines(symbol, "1h", np.arange(len(close)) * H + 1_700_000_000_000 // H * H, open_,
                  np.maximum(open_, close) * 1.001, np.minimum(open_, close) * 0.999, close, np.ones(len(close)))


def _walk(n, seed):
    rng = np.random.default_rng(seed)
    return _klines(100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n))))


def test_hand_computed_long_then_flip_then_flat():
    o = np.array([100.0, 110.0, 120.0, 90.0, 80.0])
    c = np.array([105.0, 115.0, 100.0, 85.0, 82.0])
    held = np.array([0.0, 1.0, -1.0, -1.0, 0.0])
    f, s = 0.001, 0.002
    r = simulate(o, c, held, Costs(f, s), initial_cash=1000.0)
    # bar 1: buy at 110*(1+s); qty = 1000/(p*(1+f))
    p1 = 110.0 * (1 + s)
    q1 = 1000.0 / (p1 * (1 + f))
    cash1 = 1000.0 - q1 * p1 - f * q1 * p1
    # bar 2: flip = one SELL at 120*(1-s): close q1 then open short with what is left
    p2 = 120.0 * (1 - s)
    cash2 = cash1 + q1 * p2 - f * q1 * p2
    q2 = -cash2 / (p2 * (1 + f))
    cash2b = cash2 - q2 * p2 - f * abs(q2) * p2
    # bar 4: BUY back at 80*(1+s)
    p4 = 80.0 * (1 + s)
    cash4 = cash2b + q2 * p4 - f * abs(q2) * p4
    assert [x.side for x in r.fills] == ["BUY", "SELL", "BUY"]
    assert [x.bar for x in r.fills] == [1, 2, 4]
    assert [x.price for x in r.fills] == pytest.approx([p1, p2, p4], rel=1e-15)
    assert r.fills[1].qty == pytest.approx(q1 + abs(q2), rel=1e-12)
    expect = [1000.0, cash1 + q1 * 115.0, cash2b + q2 * 100.0, cash2b + q2 * 85.0, cash4]
    assert r.equity.tolist() == pytest.approx(expect, rel=1e-12)
    assert r.fees == pytest.approx(f * (q1 * p1 + q1 * p2 + abs(q2) * p2 + abs(q2) * p4), rel=1e-12)
    assert r.slippage == pytest.approx(s * (q1 * 110 + (q1 + abs(q2)) * 120 + abs(q2) * 80), rel=1e-12)
    assert r.position.tolist() == pytest.approx([0, q1, q2, q2, 0], rel=1e-12)


def test_funding_paid_on_position_held_into_the_open_before_the_fill():
    o = np.array([100.0, 100.0, 100.0, 100.0])
    c = o.copy()
    held = np.array([0.0, 1.0, 1.0, -1.0])
    rate = np.array([0.0, 0.01, 0.02, 0.03])
    r = simulate(o, c, held, Costs(0.0, 0.0, funding=True), initial_cash=1000.0, funding_rate=rate)
    # bar 1: rate applies to the flat position (fill comes after): nothing; bar 2: long 10 pays 10*100*0.02 = 20;
    # bar 3: long (still held into the open) pays 10*100*0.03 = 30, then flips with 950 of cash
    assert r.funding == pytest.approx(50.0)
    assert r.equity.tolist() == pytest.approx([1000.0, 1000.0, 980.0, 950.0])
    off = simulate(o, c, held, Costs(0.0, 0.0, funding=False), initial_cash=1000.0, funding_rate=rate)
    assert off.funding == 0.0 and off.equity[-1] == pytest.approx(1000.0)
    # a short receives a positive rate
    short = simulate(o, c, -held, Costs(0.0, 0.0, funding=True), initial_cash=1000.0, funding_rate=rate)
    assert short.funding == pytest.approx(-50.0) and short.equity[2] == pytest.approx(1020.0)


def test_fill_price_is_adverse():
    assert fill_price(100.0, True, 0.0003) == pytest.approx(100.03)
    assert fill_price(100.0, False, 0.0003) == pytest.approx(99.97)


def test_funding_per_bar_matches_only_exact_open_times():
    k = _klines(np.full(10, 1.0))
    t = k.open_time_ms
    f = Funding("TESTUSDT", np.array([t[0] - H, t[2], t[5] + 1, t[8]]), np.array([0.5, 0.1, 0.7, -0.2]))
    assert funding_per_bar(k, f).tolist() == [0, 0, 0.1, 0, 0, 0, 0, 0, -0.2, 0]


def test_metrics_known_answers():
    eq = np.array([110.0, 99.0, 121.0, 60.5])
    assert max_drawdown(eq, 100.0) == pytest.approx(0.5)
    s = summary_figures(eq, 100.0, H)
    assert s["total_return"] == pytest.approx(-0.395) and s["final_equity"] == 60.5
    assert summary_figures(np.full(5, 100.0), 100.0, H)["sharpe"] == 0.0


@pytest.mark.parametrize("strategy,params", [
    ("ema_cross", {"fast": 5, "slow": 20}),
    ("tsmom_multi_ema", {"lookbacks": [10, 30]}),
    ("breakout_vol_atr", {"channel": 24, "time_stop_hours": 12, "risk_mult": 0.7, "atr_period": 14}),
    ("tsmom_ema", {"lookback": 24}),
])
def test_fast_path_and_bar_by_bar_reference_give_the_same_fills(strategy, params):
    k = _walk(600, seed=len(strategy))
    costs = Costs.from_bps(5, 3, funding=True)
    rate = np.where(np.arange(len(k)) % 8 == 0, 0.0001, 0.0)
    fast = run_single(strategy, params, k, None, Costs.from_bps(5, 3), 1000.0)
    ref = run_single(strategy, params, k, None, Costs.from_bps(5, 3), 1000.0, mode="reference")
    assert len(fast.fills) > 3
    assert fast.fills == ref.fills  # bit for bit without funding
    assert np.array_equal(fast.equity, ref.equity)
    from backtest.engine import run_targets
    a = run_targets(k, STRATEGIES[strategy](k, params), costs, initial_cash=1000.0, funding_rate=rate)
    b = reference_single(k, strategy, params, costs, initial_cash=1000.0, funding_rate=rate)
    # with funding the fast path sums the funding per segment: same fills, quantities to rounding
    assert [(x.bar, x.side, x.price) for x in a.fills] == [(x.bar, x.side, x.price) for x in b.fills]
    assert [x.qty_after for x in a.fills] == pytest.approx([x.qty_after for x in b.fills], rel=1e-12)
    assert a.funding == pytest.approx(b.funding, rel=1e-12) and a.funding != 0.0
    assert a.equity == pytest.approx(b.equity, rel=1e-12)


def test_reference_equals_fast_on_real_data(shared_data_dir):
    k, f = load_bars(shared_data_dir, ["ETHUSDT"], "1h", "2023-01-01", "2023-03-01")["ETHUSDT"]
    for strategy, params in (("ema_cross", {"fast": 24, "slow": 96}), ("tsmom_multi_ema", {"lookbacks": [72, 168, 336]})):
        a = run_single(strategy, params, k, f, Costs.from_bps(5, 3), 10_000.0)
        b = run_single(strategy, params, k, f, Costs.from_bps(5, 3), 10_000.0, mode="reference")
        assert a.fills == b.fills and len(a.fills) > 5


def test_parse_params():
    assert parse_params("fast=24,slow=96") == {"fast": 24, "slow": 96}
    assert parse_params("lookbacks=[72,168],risk_mult=0.7") == {"lookbacks": [72, 168], "risk_mult": 0.7}
    with pytest.raises(ValueError):
        parse_params("fast")


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "backtest", "run", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_cli_json_on_written_data(tmp_path, repo_root):
    from marketdata import write_funding, write_klines
    k = _walk(400, seed=7)
    k = Klines("BTCUSDT", "1h", k.open_time_ms, k.open, k.high, k.low, k.close, k.volume)
    write_klines(k, tmp_path)
    write_funding(Funding("BTCUSDT", k.open_time_ms[::8], np.full(50, 0.0001)), tmp_path)
    p = _cli("--strategy", "ema_cross", "--params", "fast=5,slow=20", "--symbols", "BTCUSDT", "--interval", "1h",
             "--data", str(tmp_path), "--fee-bps", "5", "--slippage-bps", "3", "--funding", "--initial-cash", "1000",
             "--json", cwd=repo_root)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    expect = run_single("ema_cross", {"fast": 5, "slow": 20}, k, Funding("BTCUSDT", k.open_time_ms[::8], np.full(50, 0.0001)),
                        Costs.from_bps(5, 3, True), 1000.0)
    assert out["final_equity"] == pytest.approx(expect.equity[-1], rel=1e-12)
    assert out["fills"] == len(expect.fills) and out["funding_paid"] != 0.0
    for key in ("total_return", "max_drawdown", "sharpe", "annual_return", "fees_paid", "slippage_paid", "turnover"):
        assert key in out
    dated = _cli("--strategy", "ema_cross", "--params", "fast=5,slow=20", "--symbols", "BTCUSDT", "--data",
                 str(tmp_path), "--start", "2023-11-15T00:00", "--json", cwd=repo_root)
    assert dated.returncode == 0, dated.stderr
    assert json.loads(dated.stdout)["bars"] < 400


@pytest.mark.parametrize("args,needle", [
    (("--strategy", "nope", "--symbols", "BTCUSDT"), "unknown strategy"),
    (("--strategy", "ema_cross", "--params", "fast=24,slo=96", "--symbols", "BTCUSDT"), "unknown parameter"),
    (("--strategy", "ema_cross", "--symbols", "BTCUSDT", "--data", "/nonexistent"), "does not exist"),
    (("--strategy", "ema_cross", "--symbols", "BTCUSDT", "--start", "yesterday"), "bad date"),
])
def test_cli_bad_input_exits_2_with_reason(args, needle, tmp_path, repo_root):
    (tmp_path / "klines").mkdir()
    full = list(args) + ([] if "--data" in args else ["--data", str(tmp_path)])
    p = _cli(*full, cwd=repo_root)
    assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr
