#!/usr/bin/env python3
"""Parameter sweep through the backtest engine on Ray (docs/Backtest_Methodology.md).

    .venv/bin/python scripts/sweep.py --strategy ema_cross --grid fast=12,24,48 slow=96,192,288 \
        --symbols BTCUSDT [--universe BTCUSDT,ETHUSDT --universe SOLUSDT] [--interval 1h] [--data DIR] \
        [--fee-bps 5 --slippage-bps 3 --funding] [--initial-cash 10000] [--start --end] \
        [--address ray://host:10001 | --local] [--num-cpus N] [--rank-by sharpe] [--top 10] [--out DIR]

Every combination of the grid x every universe (default: --symbols as one universe) runs through
`backtest.cli.run_universe` (the same engine as `.venv/bin/python -m backtest run`). By default on a local Ray runtime
bound to 127.0.0.1 (nothing listens beyond loopback); `--address` joins a cluster; `--local` runs in this
process without Ray. Writes OUT/results.csv and results.parquet (one row per combination and universe),
OUT/best.json (the top configurations by --rank-by) and OUT/heatmap.png (the metric over the first two grid
parameters, first universe). Exit 0, 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from backtest.costs import Costs
from backtest.data import load_bars
from backtest.sweep import METRICS, expand_grid, parse_grid, rank, run_chunk, run_on_ray
from core.strategies import get_strategy
from marketdata import MarketDataError


def write_heatmap(rows: list[dict], grid: dict, metric: str, path: Path, universe: str) -> Path | None:
    names = list(grid)
    if len(names) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    a, b = names[0], names[1]
    va, vb = [json.dumps(v) for v in grid[a]], [json.dumps(v) for v in grid[b]]
    z = np.full((len(va), len(vb)), np.nan)
    for r in rows:
        if r["universe"] == universe and r.get(metric) is not None:
            i, j = va.index(json.dumps(r[f"p_{a}"])), vb.index(json.dumps(r[f"p_{b}"]))
            z[i, j] = r[metric] if np.isnan(z[i, j]) else max(z[i, j], r[metric])  # best over other params
    fig, ax = plt.subplots(figsize=(1.2 * len(vb) + 3, 0.8 * len(va) + 2))
    im = ax.imshow(z, cmap="RdYlGn", aspect="auto")
    ax.set_xticks(range(len(vb)), vb)
    ax.set_yticks(range(len(va)), va)
    ax.set_xlabel(b)
    ax.set_ylabel(a)
    for i in range(len(va)):
        for j in range(len(vb)):
            if np.isfinite(z[i, j]):
                ax.text(j, i, f"{z[i, j]:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(im, ax=ax, label=metric)
    ax.set_title(f"{metric} — {universe}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strategy", required=True)
    ap.add_argument("--grid", nargs="+", required=True)
    ap.add_argument("--symbols", nargs="+", default=None)
    ap.add_argument("--universe", action="append", default=None, help="comma-separated symbols; repeatable")
    ap.add_argument("--interval", default="1h")
    ap.add_argument("--data", default=str(REPO_ROOT.parent / "shared" / "data"))
    ap.add_argument("--fee-bps", type=float, default=5.0)
    ap.add_argument("--slippage-bps", type=float, default=3.0)
    ap.add_argument("--funding", action="store_true")
    ap.add_argument("--initial-cash", type=float, default=10_000.0)
    ap.add_argument("--start", default=None)
    ap.add_argument("--end", default=None)
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--address", default=None, help="a Ray cluster to join (default: a local runtime)")
    where.add_argument("--local", action="store_true", help="no Ray: run in this process")
    ap.add_argument("--num-cpus", type=int, default=None)
    ap.add_argument("--rank-by", default="sharpe", choices=METRICS)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        spec = get_strategy(args.strategy)
        grid = parse_grid(args.grid)
        unknown = sorted(set(grid) - set(spec.defaults))
        if unknown:
            raise ValueError(f"{args.strategy}: unknown grid parameter(s) {', '.join(unknown)}; known: "
                             f"{', '.join(spec.defaults)}")
        if args.universe:
            universes = [u.split(",") for u in args.universe]
        else:
            universes = [args.symbols] if args.symbols else None
        if not universes:
            raise ValueError("give --symbols or --universe")
        symbols = sorted({s for u in universes for s in u})
        data = load_bars(args.data, symbols, args.interval, args.start, args.end)
        costs = Costs.from_bps(args.fee_bps, args.slippage_bps, args.funding)
    except (ValueError, MarketDataError, OSError) as exc:
        print(f"sweep: {exc}", file=sys.stderr)
        return 2
    combos = expand_grid(grid)
    from tqdm import tqdm

    bar = tqdm(total=len(combos) * len(universes), unit="run", desc="sweep", file=sys.stderr,
               disable=True if args.no_progress else None)
    t0 = time.perf_counter()
    if args.local:
        rows = []
        for c in combos:
            rows += run_chunk(args.strategy, [c], universes, data, costs, args.initial_cash)
            bar.update(len(universes))
        info: dict[str, Any] = {"runtime": "local process"}
    else:
        rows, info = run_on_ray(args.strategy, combos, universes, data, costs, args.initial_cash,
                                address=args.address, num_cpus=args.num_cpus, progress=bar.update)
    bar.close()
    elapsed = time.perf_counter() - t0
    out = Path(args.out) if args.out else REPO_ROOT / "reports" / "sweeps" / time.strftime(
        f"{args.strategy}_%Y%m%dT%H%M%SZ", time.gmtime())
    out.mkdir(parents=True, exist_ok=True)
    import pandas as pd

    key = ["universe", "params"]
    df = pd.DataFrame(rows).sort_values(key, kind="stable").reset_index(drop=True)
    df.to_csv(out / "results.csv", index=False)
    df.assign(**{c: df[c].map(json.dumps) for c in df.columns if c.startswith("p_") and df[c].map(
        lambda v: isinstance(v, list)).any()}).to_parquet(out / "results.parquet", index=False)
    best = rank(rows, args.rank_by, ascending=args.rank_by == "max_drawdown")[: args.top]
    (out / "best.json").write_text(json.dumps({"rank_by": args.rank_by, "best": best, "runtime": info,
                                               "elapsed_s": elapsed, "runs": len(rows)}, indent=2, default=str))
    heat = write_heatmap(rows, grid, args.rank_by, out / "heatmap.png", ",".join(universes[0]))
    errors = [r for r in rows if r["error"]]
    print(f"{len(rows)} runs in {elapsed:.2f} s on {info.get('address', info.get('runtime'))}"
          + (f" ({info['cpus']} CPUs, {info['tasks']} tasks, node {info['node_ip']}, listening on "
             f"{', '.join(info['listen_addresses']) or 'nothing'})" if "cpus" in info else "")
          + (f"; {len(errors)} rejected combinations (see results.csv 'error')" if errors else ""))
    print(f"best by {args.rank_by}:")
    for r in best:
        print(f"  {r['universe']:<24} {r['params']:<40} sharpe {r['sharpe']:7.3f}  return {r['total_return']:+9.2%}  "
              f"mdd {r['max_drawdown']:6.2%}  fills {r['fills']}")
    print(f"results: {out / 'results.csv'}" + (f"; heatmap: {heat}" if heat else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
