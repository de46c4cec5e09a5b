"""Sweeps (backtest.sweep, scripts/sweep.py): grid parsing, rejected combinations as rows, ranking, and the
same table from one process and from a local Ray runtime on 127.0.0.1."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from backtest.costs import Costs
from backtest.sweep import expand_grid, parse_grid, rank, run_chunk
from marketdata import Klines, write_klines


def _data(tmp_path):
    for i, s in enumerate(("BTCUSDT", "ETHUSDT")):
        rng = np.random.default_rng(i)
        c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 800)))
        o = np.r_[c[0], c[:-1]]
        write_klines(Klines(s, "1h", 1_700_000_000_000 // 3_600_000 * 3_600_000 + np.arange(800) * 3_600_000, o,
                            np.maximum(o, c), np.minimum(o, c), c, np.ones(800)), tmp_path / "data")
    return tmp_path / "data"


def test_parse_and_expand_grid():
    g = parse_grid(["fast=12,24", "slow=96", "lookbacks=[72,168];[168]"])
    assert g == {"fast": [12, 24], "slow": [96], "lookbacks": [[72, 168], [168]]}
    assert expand_grid({"a": [1, 2], "b": ["x", "y"]}) == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"},
                                                           {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    with pytest.raises(ValueError):
        parse_grid(["fast"])


def test_run_chunk_rows_errors_and_rank(tmp_path):
    from backtest.data import load_bars
    data = load_bars(_data(tmp_path), ["BTCUSDT", "ETHUSDT"], "1h")
    rows = run_chunk("ema_cross", [{"fast": 5, "slow": 20}, {"fast": 30, "slow": 20}, {"fast": 10, "slow": 40}],
                     [["BTCUSDT"], ["BTCUSDT", "ETHUSDT"]], data, Costs.from_bps(5, 3), 1000.0)
    assert len(rows) == 6
    bad = [r for r in rows if r["error"]]
    assert len(bad) == 2 and all("fast < slow" in r["error"] for r in bad)
    from backtest.cli import run_single
    one = next(r for r in rows if r["params"] == json.dumps({"fast": 5, "slow": 20}) and r["universe"] == "BTCUSDT")
    expect = run_single("ema_cross", {"fast": 5, "slow": 20}, *data["BTCUSDT"], Costs.from_bps(5, 3), 1000.0)
    assert one["final_equity"] == expect.equity[-1] and one["fills"] == len(expect.fills)
    ranked = rank(rows, "sharpe")
    assert len(ranked) == 4 and [r["sharpe"] for r in ranked] == sorted((r["sharpe"] for r in ranked), reverse=True)


def _sweep(repo_root, data, out, *extra):
    return subprocess.run([sys.executable, "scripts/sweep.py", "--strategy", "ema_cross", "--grid", "fast=5,10",
                           "slow=20,40", "--universe", "BTCUSDT", "--universe", "BTCUSDT,ETHUSDT", "--data", str(data),
                           "--out", str(out), "--no-progress", *extra],
                          cwd=repo_root, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_sweep_on_local_ray_equals_one_process(tmp_path, repo_root):
    data = _data(tmp_path)
    local = _sweep(repo_root, data, tmp_path / "local", "--local")
    assert local.returncode == 0, local.stderr
    ray_run = _sweep(repo_root, data, tmp_path / "ray", "--num-cpus", "2")
    assert ray_run.returncode == 0, ray_run.stderr[-3000:]
    assert "node 127.0.0.1" in ray_run.stdout  # the local runtime runs on loopback only
    a = pd.read_csv(tmp_path / "local" / "results.csv")
    b = pd.read_csv(tmp_path / "ray" / "results.csv")
    assert len(a) == 8 and a.equals(b)
    assert pd.read_parquet(tmp_path / "ray" / "results.parquet").shape[0] == 8
    best = json.loads((tmp_path / "ray" / "best.json").read_text())
    assert best["runtime"]["node_ip"] == "127.0.0.1" and best["best"][0]["sharpe"] == a["sharpe"].max()
    listen = best["runtime"]["listen_addresses"]
    assert listen and set(listen) <= {"127.0.0.1", "::ffff:127.0.0.1"}, listen  # nothing beyond loopback
    assert (tmp_path / "ray" / "heatmap.png").stat().st_size > 0


def test_sweep_bad_input(tmp_path, repo_root):
    p = subprocess.run([sys.executable, "scripts/sweep.py", "--strategy", "ema_cross", "--grid", "fats=5",
                        "--symbols", "BTCUSDT", "--data", str(_data(tmp_path)), "--local"],
                       cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "unknown grid parameter" in p.stderr
