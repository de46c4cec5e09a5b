"""The ensemble backtest (backtest.portfolio): sizing + check_order + next-open fills, ISOLATED liquidation,
funding, the fast path against the core.cycle reference, and scripts/run_portfolio_backtest.py."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

from backtest.config_files import exchange_filters, frozen_checks, load_rules, sha256_file
from backtest.portfolio import RiskSetup, align, run_portfolio
from marketdata import Funding, Klines, write_funding, write_klines
from settings.models import CandidateConfig, CorrelationGroups, RiskLimits

H = 3_600_000
T0 = 1_700_000_000_000 // H * H
LOOSE = RiskLimits(per_symbol_nav_pct=1.0, per_symbol_nav_pct_overrides={}, max_gross_exposure_nav_pct=3.0, KILL_DD_PCT=0.9, KILL_DAILY_LOSS_PCT=0.9,
                   circuit_breakers={"max_portfolio_dd_nav_pct": 0.8})


def _kl(symbol, close, start=0):
    close = np.asarray(close, dtype=float)
    o = np.r_[close[0], close[:-1]]
    return Klines(symbol, "1h", T0 + (start + np.arange(len(close))) * H, o, np.maximum(o, close) * 1.002,
                  np.minimum(o, close) * 0.998, close, np.ones(len(close)))


def _walk(symbol, n, level, seed, start=0):
    rng = np.random.default_rng(seed)
    return _kl(symbol, level * np.exp(np.cumsum(rng.normal(0, 0.01, n))), start)


def _cand(sleeves, fee=5, slip=3, funding=True, leverage=3):
    return CandidateConfig.model_validate({
        "name": "T", "interval": "1h", "trade_on": "next_open", "market": {"leverage": leverage},
        "costs": {"fee_bps": fee, "slippage_bps": slip}, "funding_rate": {"enabled": funding},
        "ensemble": {"sleeves": [{"name": n, "symbol": s, "strategy": st, "weight": w, "params": p}
                                 for n, s, st, w, p in sleeves]}})


R1_LIKE = [("BTC", "BTCUSDT", "ema_cross", 0.5, {"fast": 5, "slow": 20}),
           ("ETH", "ETHUSDT", "tsmom_multi_ema", 0.5, {"lookbacks": [10, 30]})]


def _risk(limits=LOOSE, groups=CorrelationGroups()):
    return RiskSetup(limits, groups, exchange_filters(None))


def test_first_fill_is_sized_from_the_previous_close_and_filled_at_the_open():
    # ema_cross(2, 3) flat for 3 bars, then +1 on a rising series: decided at close of bar 3, filled at bar 4
    close = np.array([30000, 30100, 30200, 30300, 30400, 30500, 30600], dtype=float)
    k = _kl("BTCUSDT", close)
    cand = _cand([("BTC", "BTCUSDT", "ema_cross", 1.0, {"fast": 2, "slow": 3})], funding=False)
    res = run_portfolio(cand, align({"BTCUSDT": k}), _risk(), initial_cash=10_000.0)
    assert len(res.fills) == 1
    f = res.fills[0]
    assert (f.bar, f.side, f.position_side, f.intent) == (4, "BUY", "LONG", "OPEN")
    qty = math.floor(10_000.0 / close[3] / 0.001) * 0.001  # target x NAV at the close of bar 3, floored to the step
    assert f.qty == pytest.approx(qty, abs=1e-12)
    assert f.price == pytest.approx(k.open[4] * 1.0003)
    assert f.fee == pytest.approx(0.0005 * qty * f.price)
    cash = 10_000.0 - qty * f.price - f.fee
    assert res.equity[4:].tolist() == pytest.approx((cash + qty * close[4:]).tolist())
    assert res.equity[:4].tolist() == [10_000.0] * 4


def test_isolated_long_is_liquidated_at_its_liquidation_price():
    up = np.linspace(30000, 31000, 30)
    crash = np.r_[up, [15000, 15000, 15000, 15000]]  # one bar through the liquidation price
    k = _kl("BTCUSDT", crash)
    cand = _cand([("BTC", "BTCUSDT", "ema_cross", 1.0, {"fast": 2, "slow": 3})], funding=False, leverage=3)
    res = run_portfolio(cand, align({"BTCUSDT": k}), _risk(), maint_margin_rate=0.005)
    liq = [f for f in res.fills if f.intent == "LIQUIDATION"]
    assert res.liquidations == 1 and len(liq) == 1
    opened = [f for f in res.fills if f.intent == "OPEN"][0]
    expect = opened.price * (1 - 1 / 3) / (1 - 0.005)
    assert liq[0].price == pytest.approx(expect, rel=1e-12)
    assert k.low[liq[0].bar] <= expect < k.low[liq[0].bar - 1]
    # the loss is the isolated margin's worth: entry -> liquidation price on the quantity, plus both fees
    j = liq[0].bar
    assert res.equity[j] == pytest.approx(10_000.0 - opened.fee - opened.qty * (opened.price - liq[0].price) - liq[0].fee)
    assert 10_000.0 - res.equity[j] == pytest.approx(opened.qty * opened.price / 3, rel=0.02)


def test_check_order_vetoes_are_counted_and_not_filled():
    k = _walk("BTCUSDT", 300, 30000, 1)
    cand = _cand([("BTC", "BTCUSDT", "ema_cross", 1.0, {"fast": 5, "slow": 20})])
    capped = LOOSE.model_copy(update={"per_symbol_nav_pct_overrides": {"BTCUSDT": 0.5}})
    res = run_portfolio(cand, align({"BTCUSDT": k}), _risk(capped))
    assert res.vetoes.get("symbol_nav_cap", 0) > 0
    assert all(f.intent != "OPEN" for f in res.fills)
    assert np.all(res.equity == 10_000.0)
    free = run_portfolio(cand, align({"BTCUSDT": k}), _risk())
    assert free.vetoes == {} and any(f.intent == "OPEN" for f in free.fills)


def test_funding_is_paid_by_longs_on_a_positive_rate():
    k = _kl("BTCUSDT", np.r_[np.linspace(30000, 33000, 60)])
    f = Funding("BTCUSDT", k.open_time_ms[::8], np.full(8, 0.001))
    cand = _cand([("BTC", "BTCUSDT", "ema_cross", 1.0, {"fast": 2, "slow": 3})], funding=True)
    on = run_portfolio(cand, align({"BTCUSDT": k}, {"BTCUSDT": f}), _risk())
    off = run_portfolio(_cand([("BTC", "BTCUSDT", "ema_cross", 1.0, {"fast": 2, "slow": 3})], funding=False),
                        align({"BTCUSDT": k}, {"BTCUSDT": f}), _risk())
    assert on.fills == off.fills
    assert on.funding > 0 and off.funding == 0.0
    assert off.equity[-1] - on.equity[-1] == pytest.approx(on.funding, rel=1e-9)


@pytest.mark.parametrize("funding", [False, True])
def test_fast_and_reference_modes_give_the_same_fills(funding):
    btc, eth = _walk("BTCUSDT", 500, 30000, 3), _walk("ETHUSDT", 460, 2000, 4, start=40)  # ETH starts later
    fund = {s: Funding(s, k.open_time_ms[::8], np.full(len(k.open_time_ms[::8]), 0.0002)) for s, k in
            (("BTCUSDT", btc), ("ETHUSDT", eth))}
    grid = align({"BTCUSDT": btc, "ETHUSDT": eth}, fund)
    cand = _cand(R1_LIKE, funding=funding)
    fast = run_portfolio(cand, grid, _risk())
    ref = run_portfolio(cand, grid, _risk(), mode="reference")
    assert len(fast.fills) > 20
    assert fast.fills == ref.fills
    assert fast.equity == pytest.approx(ref.equity, rel=1e-12)
    assert fast.summary()["sleeve_contribution"] == pytest.approx(ref.summary()["sleeve_contribution"], rel=1e-9, abs=1e-12)


def test_r1_fast_equals_reference_on_real_data(shared_data_dir, repo_root):
    from backtest.config_files import load_candidate, risk_setup
    from backtest.data import load_bars

    cand = load_candidate(repo_root / "config" / "prod_candidate_R1.yaml")
    data = load_bars(shared_data_dir, ["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2024-01-01", "2024-03-01")
    grid = align({s: k for s, (k, _) in data.items()}, {s: f for s, (_, f) in data.items()})
    for risk in (risk_setup(repo_root / "config", shared_data_dir), _risk()):
        fast = run_portfolio(cand, grid, risk)
        ref = run_portfolio(cand, grid, risk, mode="reference")
        assert fast.fills == ref.fills and len(fast.fills) > 10
        assert fast.vetoes == ref.vetoes


def test_frozen_checks(tmp_path, repo_root):
    rules = load_rules(repo_root / "config" / "prod_scale_rules_R1.yaml")
    cand = repo_root / "config" / "prod_candidate_R1.yaml"
    assert rules.config_sha256 == sha256_file(cand)
    assert all(c.ok for c in frozen_checks(rules, cand))
    changed = tmp_path / "prod_candidate_R1.yaml"
    changed.write_text(cand.read_text().replace("slippage_bps: 3", "slippage_bps: 2"))
    bad = {c.name: c for c in frozen_checks(rules, changed)}
    assert not bad["config_hash"].ok and "modified" in bad["config_hash"].detail
    assert not bad["slippage_bps"].ok and bad["fee_bps"].ok
    unhashed = rules.model_copy(update={"config_sha256": None})
    assert not frozen_checks(unhashed, cand)[0].ok


def _script(*args, cwd):
    return subprocess.run([sys.executable, "scripts/run_portfolio_backtest.py", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_run_portfolio_backtest_script_writes_outputs(tmp_path, repo_root):
    data = tmp_path / "data"
    for i, (s, lvl) in enumerate((("BTCUSDT", 30000), ("ETHUSDT", 2000), ("SOLUSDT", 100))):
        k = _walk(s, 1200, lvl, 10 + i)
        write_klines(k, data)
        write_funding(Funding(s, k.open_time_ms[::8], np.full(150, 0.0001)), data)
    out = tmp_path / "out"
    p = _script("-c", "config/prod_candidate_R1.yaml", "--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT", "--weights",
                "0.34", "0.33", "0.33", "--data", str(data), "--out", str(out), "--start", "2023-11-20",
                "--no-progress", "--json", cwd=repo_root)
    assert p.returncode == 0, p.stderr
    s = json.loads(p.stdout)
    assert s["frozen"] is True and s["config_sha256"] == sha256_file(repo_root / "config/prod_candidate_R1.yaml")
    assert set(s["sleeve_contribution"]) == {"BTC", "ETH", "SOL"} and s["bars"] < 1200
    for name in ("summary.json", "equity.csv", "fills.csv", "equity.png", "equity.html"):
        assert any(f.endswith(name) for f in s["files"])
    for f in s["files"]:
        assert (tmp_path / f).stat().st_size > 0 if not f.startswith("/") else __import__("os").path.getsize(f) > 0
    other = _script("-c", "config/prod_candidate_R1.yaml", "--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT", "--weights",
                    "0.5", "0.25", "0.25", "--data", str(data), "--out", str(out), "--no-progress", "--no-charts",
                    "--json", cwd=repo_root)
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["frozen"] is False


@pytest.mark.parametrize("args,needle", [
    (("--weights", "0.5", "0.5", "0.5"), "sum to 1"),
    (("--weights", "0.5", "0.5"), "3 symbols"),
    (("--start", "2030-01-01"), "no bars"),
])
def test_run_portfolio_backtest_bad_input(args, needle, tmp_path, repo_root):
    data = tmp_path / "data"
    for i, (s, lvl) in enumerate((("BTCUSDT", 30000), ("ETHUSDT", 2000), ("SOLUSDT", 100))):
        write_klines(_walk(s, 50, lvl, i), data)
    p = _script("-c", "config/prod_candidate_R1.yaml", "--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT", "--data",
                str(data), "--out", str(tmp_path / "o"), "--no-progress", *args, cwd=repo_root)
    assert p.returncode == 2 and needle in p.stderr and "Traceback" not in p.stderr
