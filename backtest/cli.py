"""`python -m backtest run ...`: one single-strategy backtest per symbol, summary as JSON or text.

    python -m backtest run --strategy ema_cross --params fast=24,slow=96 --symbols BTCUSDT --interval 1h \
        --data ../shared/data --fee-bps 5 --slippage-bps 3 [--funding] [--initial-cash 10000] \
        [--start 2023-01-01 --end 2024-01-01] [--mode fast|reference] [--fills] --json

With several symbols the capital is split equally and the summary adds the combined equity's figures.
Bad input (unknown strategy or parameter, missing data, bad dates) exits 2 with one line saying why.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backtest.costs import Costs
from backtest.data import funding_per_bar, load_bars
from backtest.engine import SingleResult, run_targets
from backtest.metrics import summary_figures
from backtest.reference import reference_single
from core.strategies import get_strategy
from marketdata import MarketDataError

__all__ = ["parse_params", "run_single", "run_universe", "main"]

_PARAM_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\[[^\]]*\]|[^,]*)\s*(?:,|$)")


def _value(text: str) -> Any:
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_params(text: str | None) -> dict[str, Any]:
    """'fast=24,slow=96' or 'lookbacks=[72,168],channel=336' -> dict (values as JSON, else strings)."""
    if not text:
        return {}
    out: dict[str, Any] = {}
    pos = 0
    while pos < len(text):
        m = _PARAM_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"bad --params {text!r} at {text[pos:]!r}: use name=value[,name=value]")
        out[m[1]] = _value(m[2])
        pos = m.end()
    return out


def run_single(strategy: str, params: dict[str, Any], klines: Any, funding: Any, costs: Costs,
               initial_cash: float, mode: str = "fast", targets: np.ndarray | None = None) -> SingleResult:
    """`targets`: the strategy's batch targets for `params` on `klines` when the caller has them already (a
    sweep computes a grid's targets in one `StrategySpec.many` call); the fast mode only."""
    spec = get_strategy(strategy)
    spec.params(params)  # validates before any work
    rate = funding_per_bar(klines, funding) if costs.funding else None
    if mode == "reference":
        return reference_single(klines, strategy, params, costs, initial_cash=initial_cash, funding_rate=rate)
    if targets is None:
        targets = spec(klines, params, bar_ms=klines.interval_ms)
    return run_targets(klines, targets, costs, initial_cash=initial_cash, funding_rate=rate)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m backtest", description="Backtests on the live decision core.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="one single-strategy backtest per symbol")
    r.add_argument("--strategy", required=True)
    r.add_argument("--params", default="")
    r.add_argument("--symbols", nargs="+", required=True)
    r.add_argument("--interval", default="1h")
    r.add_argument("--data", default="../shared/data")
    r.add_argument("--fee-bps", type=float, default=5.0)
    r.add_argument("--slippage-bps", type=float, default=3.0)
    r.add_argument("--funding", action="store_true", help="charge funding from the data's funding history")
    r.add_argument("--initial-cash", type=float, default=10_000.0)
    r.add_argument("--start", default=None, help="first bar (UTC date, inclusive)")
    r.add_argument("--end", default=None, help="last bar (UTC date, exclusive)")
    r.add_argument("--mode", choices=("fast", "reference"), default="fast")
    r.add_argument("--fills", action="store_true", help="include every fill in the JSON")
    r.add_argument("--json", action="store_true")
    return p


def run_universe(strategy: str, params: dict[str, Any], data: dict[str, Any], costs: Costs, initial_cash: float,
                 mode: str = "fast", with_fills: bool = False,
                 targets: Mapping[str, np.ndarray] | None = None) -> dict[str, Any]:
    """One strategy on each symbol of `data` ({symbol: (klines, funding)}) with the cash split equally: the
    single symbol's summary, or the combined equity's figures plus `per_symbol`. `targets`: per symbol, as
    `run_single` takes them."""
    cash_each = initial_cash / len(data)
    given = targets or {}
    results = {sym: run_single(strategy, params, k, f, costs, cash_each, mode, given.get(sym))
               for sym, (k, f) in data.items()}
    per: dict[str, Any] = {}
    for sym, res in results.items():
        per[sym] = res.summary()
        if with_fills:
            per[sym]["fill_list"] = [f.to_dict() for f in res.fills]
    if len(per) == 1:
        return {"symbol": next(iter(per)), **next(iter(per.values()))}
    # combined: the symbols' equities summed on the common bars (each had an equal share of the cash)
    common = np.array(sorted(set.intersection(*(set(r.time_ms.tolist()) for r in results.values()))), dtype=np.int64)
    total = np.zeros(len(common))
    for r in results.values():
        total += r.equity[np.searchsorted(r.time_ms, common)]
    combined = summary_figures(total, initial_cash, next(iter(results.values())).bar_ms)
    combined["fills"] = sum(p["fills"] for p in per.values())
    for key in ("fees_paid", "slippage_paid", "funding_paid", "traded_notional"):
        combined[key] = sum(p[key] for p in per.values())
    combined["turnover"] = combined["traded_notional"] / float(np.mean(total)) if len(total) else 0.0
    return {"symbols": list(per), **combined, "per_symbol": per}


def _run(args: argparse.Namespace) -> dict[str, Any]:
    params = parse_params(args.params)
    get_strategy(args.strategy).params(params)
    costs = Costs.from_bps(args.fee_bps, args.slippage_bps, args.funding)
    if not (args.initial_cash > 0 and np.isfinite(args.initial_cash)):
        raise ValueError(f"--initial-cash must be positive, got {args.initial_cash}")
    data = load_bars(args.data, args.symbols, args.interval, args.start, args.end)
    t0 = time.perf_counter()
    out = run_universe(args.strategy, params, data, costs, args.initial_cash, args.mode, args.fills)
    base = {"strategy": args.strategy, "params": params, "interval": args.interval, "mode": args.mode,
            "fee_bps": args.fee_bps, "slippage_bps": args.slippage_bps, "funding": args.funding,
            "elapsed_s": time.perf_counter() - t0}
    return {**base, **out}


def _text(out: dict[str, Any]) -> str:
    keys = ("final_equity", "total_return", "annual_return", "sharpe", "max_drawdown", "fills", "fees_paid",
            "slippage_paid", "funding_paid")
    return "\n".join(f"{k:>15}: {out[k]:.6g}" if isinstance(out[k], float) else f"{k:>15}: {out[k]}" for k in keys)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        out = _run(args)
    except (ValueError, MarketDataError, OSError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2) if args.json else _text(out))
    return 0
