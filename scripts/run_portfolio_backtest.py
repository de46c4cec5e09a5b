#!/usr/bin/env python3
"""Portfolio backtest of the frozen R1 candidate (docs/Production_Launch_SOP.md §8).

    .venv/bin/python scripts/run_portfolio_backtest.py -c config/prod_candidate_R1.yaml \
        --symbols BTCUSDT ETHUSDT SOLUSDT --weights 0.34 0.33 0.33 [--start 2023-12-01] [--end 2026-01-01] \
        [--data ../shared/data] [--config-dir config] [--rules config/prod_scale_rules_R1.yaml] \
        [--initial-cash 10000] [--mode fast|reference] [--out reports/backtests] [--json] [--no-progress]

Runs the candidate's sleeves through `backtest.portfolio` (next-open fills, fees, slippage, funding, ISOLATED
margin, sizing and `check_order` with the live risk files of --config-dir) and writes into
OUT/<name>_<start>_<end>/: summary.json, equity.csv, fills.csv, equity.png, equity.html. The frozen-config
checks (hash recorded in the scale rules, trade_on / costs / funding / ensemble) are recorded in the summary;
weights other than the frozen ones are allowed and marked `frozen: false`.
Exit 0 on a completed run, 2 on bad input (one line saying why).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from pydantic import ValidationError

from backtest.config_files import frozen_checks, load_candidate, load_rules, risk_setup, sha256_file
from backtest.data import load_bars
from backtest.plots import write_charts
from backtest.portfolio import PortfolioResult, align, run_portfolio
from marketdata import MarketDataError
from settings.errors import ConfigError
from settings.models import CandidateConfig


def with_weights(cand: CandidateConfig, symbols: Sequence[str], weights: Sequence[float] | None) -> CandidateConfig:
    """The candidate restricted to `symbols` (every sleeve's symbol must be listed) and, when given, with the
    sleeve on symbols[i] weighted weights[i] (validated: they must sum to 1)."""
    sleeves = cand.ensemble.sleeves
    missing = [s.symbol for s in sleeves if s.symbol not in symbols]
    extra = [s for s in symbols if s not in {x.symbol for x in sleeves}]
    if missing or extra:
        raise ValueError(f"--symbols must be the candidate's sleeve symbols {[s.symbol for s in sleeves]}"
                         + (f"; missing {missing}" if missing else "") + (f"; no sleeve for {extra}" if extra else ""))
    if weights is None:
        return cand
    if len(weights) != len(symbols):
        raise ValueError(f"--weights has {len(weights)} values for {len(symbols)} symbols")
    by_sym = dict(zip(symbols, weights))
    if any(sum(1 for s in sleeves if s.symbol == sym) > 1 for sym in symbols):
        raise ValueError("--weights per symbol needs one sleeve per symbol")
    data = cand.model_dump()
    for sl in data["ensemble"]["sleeves"]:
        sl["weight"] = float(by_sym[sl["symbol"]])
    try:
        return CandidateConfig.model_validate(data)
    except ValidationError as exc:  # weights not summing to 1, negative, ...
        raise ValueError("--weights: " + "; ".join(e["msg"] for e in exc.errors())) from None


def _progress_bar(enabled: bool):
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=1, unit="bar", desc="backtest", file=sys.stderr, disable=None, mininterval=0.5)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()
    return bar, update


def write_outputs(res: PortfolioResult, summary: dict[str, Any], out_dir: Path, title: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / "summary.json", out_dir / "equity.csv", out_dir / "fills.csv"]
    files[0].write_text(json.dumps(summary, indent=2))
    dd = res.drawdown
    names = list(res.sleeve_pnl)
    with files[1].open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["open_time_ms", "equity", "drawdown"] + [f"pnl_{n}" for n in names])
        for t in range(len(res.equity)):
            w.writerow([int(res.grid.time_ms[t]), repr(float(res.equity[t])), repr(float(dd[t]))]
                       + [repr(float(res.sleeve_pnl[n][t])) for n in names])
    with files[2].open("w", newline="") as fh:
        w = csv.writer(fh)
        cols = ["bar", "time_ms", "symbol", "side", "position_side", "intent", "qty", "price", "fee", "slippage_cost"]
        w.writerow(cols)
        for f in res.fills:
            w.writerow([getattr(f, c) for c in cols])
    contrib = {n: v / res.initial_cash for n, v in res.sleeve_pnl.items()}
    files += write_charts(out_dir, "equity", res.grid.time_ms, res.equity, dd, contrib, title)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-c", "--config", required=True, help="candidate yaml (config/prod_candidate_R1.yaml)")
    p.add_argument("--symbols", nargs="+", required=True)
    p.add_argument("--weights", nargs="+", type=float, default=None)
    p.add_argument("--start", default=None)
    p.add_argument("--end", default=None)
    p.add_argument("--data", default=str(REPO_ROOT.parent / "shared" / "data"))
    p.add_argument("--config-dir", default=None, help="risk_limits.json / correlation_groups.json (default: -c's dir)")
    p.add_argument("--rules", default=None,
                   help="scale rules with the frozen hash (default: -c's dir/prod_scale_rules_R1.yaml)")
    p.add_argument("--initial-cash", type=float, default=10_000.0)
    p.add_argument("--mode", choices=("fast", "reference"), default="fast")
    p.add_argument("--out", default=str(REPO_ROOT / "reports" / "backtests"))
    p.add_argument("--no-charts", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    cpath = Path(args.config)
    try:
        cand0 = load_candidate(cpath)
        cand = with_weights(cand0, args.symbols, args.weights)
        config_dir = Path(args.config_dir) if args.config_dir else cpath.parent
        rules_path = Path(args.rules) if args.rules else cpath.parent / "prod_scale_rules_R1.yaml"
        checks = frozen_checks(load_rules(rules_path), cpath) if rules_path.is_file() else []
        risk = risk_setup(config_dir, args.data)
        data = load_bars(args.data, list(args.symbols), cand.interval, args.start, args.end)
        grid = align({s: k for s, (k, _) in data.items()}, {s: f for s, (_, f) in data.items()})
    except (ValueError, ConfigError, MarketDataError, OSError) as exc:
        print(f"run_portfolio_backtest: {exc}", file=sys.stderr)
        return 2
    bar, update = _progress_bar(not args.no_progress)
    t0 = time.perf_counter()
    try:
        res = run_portfolio(cand, grid, risk, initial_cash=args.initial_cash, mode=args.mode, progress=update)
    except ValueError as exc:
        print(f"run_portfolio_backtest: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0
    summary = res.summary()
    frozen = all(c.ok for c in checks) and bool(checks) and cand == cand0
    summary.update({
        "candidate": cand.name, "config": str(cpath), "config_sha256": sha256_file(cpath),
        "frozen": frozen, "frozen_checks": [c.to_dict() for c in checks],
        "weights": {s.name: s.weight for s in cand.ensemble.sleeves},
        "risk_config_dir": str(config_dir), "elapsed_s": elapsed,
        "costs": {"fee_bps": cand.costs.fee_bps, "slippage_bps": cand.costs.slippage_bps,
                  "funding": cand.funding_rate.enabled, "leverage": cand.market.leverage,
                  "margin_type": cand.market.margin_type},
    })
    d0 = time.strftime("%Y%m%d", time.gmtime(summary["start_ms"] / 1000))
    d1 = time.strftime("%Y%m%d", time.gmtime(summary["end_ms"] / 1000))
    out_dir = Path(args.out) / f"{cand.name}_{d0}_{d1}_{args.mode}"
    title = f"{cand.name} {'+'.join(args.symbols)} {d0}-{d1} ({args.mode})"
    files = write_outputs(res, summary, out_dir, title) if not args.no_charts else []
    if args.no_charts:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        files = [out_dir / "summary.json"]
    summary["files"] = [str(f) for f in files]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for k in ("final_equity", "total_return", "annual_return", "sharpe", "max_drawdown", "fills", "trades",
                  "turnover", "fees_paid", "slippage_paid", "funding_paid", "liquidations", "vetoes",
                  "sleeve_contribution", "frozen", "elapsed_s"):
            print(f"{k:>20}: {summary[k]}")
        print(f"{'outputs':>20}: {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
