#!/usr/bin/env python3
"""Live/paper vs backtest replay (docs/Production_Launch_SOP.md, stage 0's signal consistency).

    .venv/bin/python scripts/validate_live_consistency.py [-c config/prod_candidate_R1.yaml] [--source paper|live]
        [--data var/data] [--db reports/futures/live/trading.db] [--start DATE] [--end DATE]
        [--config-dir config] [--out reports/consistency]

Replays the period through the backtest on the same bars (the candidate's batch targets; history before the
period warms the strategies) and compares, bar by bar, the held target the live/paper loop recorded in
trading.db `decisions` (bar_time_ms, symbol, target) with the replay's. Signal consistency = agreeing
(bar, symbol) pairs / compared pairs; every mismatch is listed with both targets and a reason (missing
bar in the data, bar not decided live, different target). Also the seed's deviations of live vs replay:
return, Sharpe (allowed ±0.3), MDD (allowed ±3 %), trade count — from trading.db NAV and fills against the
replay's portfolio backtest over the same period.
Writes OUT/latest.json (read by prod_launch_guard.py) and prints a summary. Exit 0 when consistency
> the stage-0 bar (0.98) and the deviations are within the seed's bounds, 1 otherwise, 2 bad input.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from backtest.config_files import load_candidate, risk_setup
from backtest.data import load_bars, parse_date
from backtest.metrics import max_drawdown, sharpe
from backtest.portfolio import align, run_portfolio, weighted_targets
from backtest.trading_db import TradingDB
from execution.state_json import dumps
from execution.state_store import atomic_write_bytes
from marketdata import MarketDataError
from settings.errors import ConfigError

SHARPE_DEV, MDD_DEV, CONSISTENCY_BAR = 0.3, 0.03, 0.98


def compare(replay: dict[tuple[int, str], float], live: dict[tuple[int, str], float],
            bars: set[tuple[int, str]]) -> dict[str, Any]:
    """Agreement of live vs replay targets on the (bar, symbol) pairs the live loop decided."""
    agree, mismatches = 0, []
    for key in sorted(live):
        t, sym = key
        lv = live[key]
        if key not in bars:
            mismatches.append({"bar_time_ms": t, "symbol": sym, "live": lv, "replay": None,
                               "reason": "no such bar in the data (the live loop decided a bar the data lacks)"})
            continue
        rv = replay.get(key, 0.0)
        if abs(lv - rv) <= 1e-9:
            agree += 1
        else:
            mismatches.append({"bar_time_ms": t, "symbol": sym, "live": lv, "replay": rv,
                               "reason": "different target on the same bar"})
    missed = sorted(k for k in bars if k not in live and k[0] >= min((t for t, _ in live), default=math.inf))
    n = len(live)
    return {"compared": n, "agree": agree, "signal_consistency": agree / n if n else None,
            "mismatches": mismatches, "bars_not_decided_live": len(missed)}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-c", "--config", default=str(REPO_ROOT / "config" / "prod_candidate_R1.yaml"))
    ap.add_argument("--source", default="paper", choices=("paper", "live"))
    ap.add_argument("--data", default=str(REPO_ROOT / "var" / "data"))
    ap.add_argument("--db", default=str(REPO_ROOT / "reports" / "futures" / "live" / "trading.db"))
    ap.add_argument("--config-dir", default=None)
    ap.add_argument("--start", default=None)
    ap.add_argument("--end", default=None)
    ap.add_argument("--out", default=str(REPO_ROOT / "reports" / "consistency"))
    args = ap.parse_args(argv)
    try:
        cand = load_candidate(args.config)
        symbols = sorted({s.symbol for s in cand.ensemble.sleeves})
        data = load_bars(args.data, symbols, cand.interval, None, args.end)
        grid = align({s: k for s, (k, _) in data.items()}, {s: f for s, (_, f) in data.items()})
        risk = risk_setup(Path(args.config_dir) if args.config_dir else Path(args.config).parent, args.data)
    except (ConfigError, MarketDataError, ValueError, OSError) as exc:
        print(f"validate_live_consistency: {exc}", file=sys.stderr)
        return 2
    with TradingDB(args.db) as db:
        live = db.decisions(args.source)
        nav_t, nav_v = db.nav(args.source)
        fills = db.fills(args.source)
    start_ms = parse_date(args.start) if args.start else (min(t for t, _ in live) if live else None)
    if start_ms is None:
        print(f"validate_live_consistency: no {args.source} decisions in {args.db} to compare", file=sys.stderr)
        return 2
    live = {k: v for k, v in live.items() if k[0] >= start_ms}
    targets = weighted_targets(cand, grid)  # decided at each bar's close, warmed by the history before start
    replay, bars = {}, set()
    for i, sym in enumerate(grid.symbols):
        ok = np.isfinite(grid.close[i])
        for t, x, valid in zip(grid.time_ms.tolist(), targets[i].tolist(), ok.tolist()):
            if t >= start_ms and valid:
                replay[(t, sym)] = x
                bars.add((t, sym))
    out: dict[str, Any] = {"as_of": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "source": args.source,
                           "start_ms": start_ms, **compare(replay, live, bars)}
    # the portfolio replay over the same period vs the recorded NAV and fills
    lo = int(np.searchsorted(grid.time_ms, start_ms))
    res = run_portfolio(cand, grid, risk, initial_cash=float(nav_v[0]) if len(nav_v) else 10_000.0)
    eq = res.equity[lo:]
    dev: dict[str, Any] = {}
    if len(eq) > 1 and len(nav_v) > 1:
        base = res.equity[lo - 1] if lo > 0 else res.initial_cash
        rep = {"return": float(eq[-1] / base - 1), "sharpe": sharpe(eq[1:] / eq[:-1] - 1, grid.bar_ms),
               "mdd": max_drawdown(eq),
               "trades": sum(1 for f in res.fills if f.time_ms >= start_ms and f.intent == "OPEN")}
        lr = nav_v[1:] / nav_v[:-1] - 1
        step = float(np.median(np.diff(nav_t))) if len(nav_t) > 1 else grid.bar_ms
        liv = {"return": float(nav_v[-1] / nav_v[0] - 1), "sharpe": sharpe(lr, int(step)), "mdd": max_drawdown(nav_v),
               "trades": len(fills)}
        dev = {"replay": rep, "live": liv, "deviation": {k: liv[k] - rep[k] for k in rep},
               "within": {"sharpe": abs(liv["sharpe"] - rep["sharpe"]) <= SHARPE_DEV,
                          "mdd": abs(liv["mdd"] - rep["mdd"]) <= MDD_DEV}}
    out["performance"] = dev
    ok = out["signal_consistency"] is not None and out["signal_consistency"] > CONSISTENCY_BAR and all(
        dev.get("within", {}).values())
    out["ok"] = ok
    outdir = Path(args.out)
    outdir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(outdir / "latest.json", (dumps(out, indent=2) + "\n").encode())
    sc = out["signal_consistency"]
    print(f"signal consistency: {sc:.2%} ({out['agree']}/{out['compared']} bar decisions agree; "
          f"{len(out['mismatches'])} mismatches)" if sc is not None else "signal consistency: nothing compared")
    for m in out["mismatches"][:20]:
        print(f"  mismatch {time.strftime('%Y-%m-%d %H:%M', time.gmtime(m['bar_time_ms'] / 1000))} {m['symbol']}: "
              f"live {m['live']} replay {m['replay']} — {m['reason']}")
    if dev:
        d = dev["deviation"]
        print(f"live - replay: return {d['return']:+.2%}, Sharpe {d['sharpe']:+.2f} (±{SHARPE_DEV}), "
              f"MDD {d['mdd']:+.2%} (±{MDD_DEV:.0%}), trades {d['trades']:+d}")
    print("OK" if ok else "NOT CONSISTENT")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
