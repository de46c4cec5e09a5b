"""Sweep speed-up on Ray over one process, on this machine's cores (prints only).

    .venv/bin/python benchmarks/bench_sweep.py [--data ../shared/data] [--symbols BTCUSDT ETHUSDT] [--cpus N]

An 8 x 8 ema_cross grid (fast 6..96 x slow 120..960) on the given symbols' full 1h history: the same rows
from `run_chunk` in this process and from a local Ray runtime (127.0.0.1) with N CPUs (default: all);
the Ray time with warm workers (a second pass), with cold workers, and the runtime's start-up.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backtest.costs import Costs
from backtest.data import load_bars
from backtest.sweep import LOCAL_RAY_ENV, expand_grid, run_chunk, run_on_ray


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    ap.add_argument("--symbols", nargs="+", default=["BTCUSDT", "ETHUSDT"])
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    data = load_bars(args.data, args.symbols, "1h")
    combos = expand_grid({"fast": [6, 12, 18, 24, 36, 48, 72, 96], "slow": [120, 168, 240, 336, 480, 600, 720, 960]})
    unis = [[s] for s in args.symbols]
    costs = Costs.from_bps(5, 3)
    t0 = time.perf_counter()
    single = run_chunk("ema_cross", combos, unis, data, costs, 10_000.0)
    t_single = time.perf_counter() - t0
    for k, v in LOCAL_RAY_ENV.items():
        os.environ.setdefault(k, v)
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    t_start = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        rows, info = run_on_ray("ema_cross", combos, unis, data, costs, 10_000.0)
        t_cold = time.perf_counter() - t0  # workers start and import the engine
        t0 = time.perf_counter()
        rows, info = run_on_ray("ema_cross", combos, unis, data, costs, 10_000.0)
        t_ray = time.perf_counter() - t0
    finally:
        ray.shutdown()
    same = sorted(map(str, rows)) == sorted(map(str, single))
    n = len(single)
    print(f"bench_sweep: {n} runs ({len(combos)} combinations x {len(unis)} symbols), {os.cpu_count()} cores here")
    print(f"  one process             {t_single:8.2f} s")
    print(f"  Ray local, {info['cpus']} CPUs, warm {t_ray:8.2f} s  speed-up {t_single / t_ray:.2f}x  "
          f"(first pass with cold workers {t_cold:.2f} s; + {t_start:.1f} s runtime start; node {info['node_ip']}; "
          f"same rows: {same})")


if __name__ == "__main__":
    main()
