#!/usr/bin/env python3
"""Daily / weekly production report (docs/Production_Launch_SOP.md, §7; docs/Production_Launch_SOP.md).

    .venv/bin/python scripts/prod_report.py --daily|--weekly [--config config/prod_candidate_R1.yaml]
        [--rules config/prod_scale_rules_R1.yaml] [--db reports/futures/live/trading.db] [--state-root logs/state]
        [--source live|paper] [--out reports/prod_reports] [--assumed-funding-apr X] [--now-ms MS]

14D and 20D rolling Sharpe, running MDD, 30D return, realized slippage vs assumed, funding drag (APR), sleeve
14D contributions, each with its green / yellow / red band, from trading.db (hedge-sync_state's state files
are imported first). Archived as reports/prod_reports/{daily/YYYY-MM-DD | weekly/YYYY-Www}/ with report.md,
report.json and charts (nav.png, nav.html). The weekly report adds a day-by-day table of the week.
Exit 0 with a report (also when there is no data yet: it says so), 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from backtest.config_files import load_candidate, load_rules, resolve
from backtest.data import parse_date
from backtest.live_metrics import DAY_MS, bands, daily_metrics, stage_status
from backtest.metrics import drawdown_series
from backtest.plots import write_charts
from backtest.trading_db import TradingDB, sync_from_state
from execution.state_json import dumps
from execution.state_store import atomic_write_bytes
from settings.env import load_env
from settings.errors import ConfigError

LABELS = {"sharpe_14d": "14D rolling Sharpe", "sharpe_20d": "20D rolling Sharpe", "running_mdd": "Running MDD",
          "return_30d": "30D return", "slippage_ratio": "Realized slippage / assumed",
          "funding_drag_apr": "Funding drag (annualised)", "negative_sleeves_14d": "Sleeves negative over 14D"}
PCT = {"running_mdd", "return_30d", "funding_drag_apr"}


def fmt(name: str, v: Any) -> str:
    if v is None:
        return "n/a"
    if name in PCT:
        return f"{v:.2%}"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    kind = ap.add_mutually_exclusive_group(required=True)
    kind.add_argument("--daily", action="store_true")
    kind.add_argument("--weekly", action="store_true")
    ap.add_argument("--config", default=None, help="candidate (default: the rules' config_file)")
    ap.add_argument("--rules", default=str(REPO_ROOT / "config" / "prod_scale_rules_R1.yaml"))
    ap.add_argument("--db", default=str(REPO_ROOT / "reports" / "futures" / "live" / "trading.db"))
    ap.add_argument("--state-root", default=None)
    ap.add_argument("--source", default="live", choices=("live", "paper"))
    ap.add_argument("--out", default=str(REPO_ROOT / "reports" / "prod_reports"))
    ap.add_argument("--env-file", default=str(REPO_ROOT / ".env"))
    ap.add_argument("--assumed-funding-apr", type=float, default=None)
    ap.add_argument("--stage", type=int, default=None, help="evaluate this stage's exit and abort rules")
    ap.add_argument("--stage-start", default=None, help="UTC date the stage began (default: the first NAV point)")
    ap.add_argument("--no-charts", action="store_true")
    ap.add_argument("--now-ms", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        rules = load_rules(args.rules)
        candidate = load_candidate(Path(args.config) if args.config else resolve(rules.config_file))
        env = load_env(args.env_file)
    except (ConfigError, OSError) as exc:
        print(f"prod_report: {exc}", file=sys.stderr)
        return 2
    state_root = Path(args.state_root) if args.state_root else REPO_ROOT / env.STATE_ROOT
    now = args.now_ms if args.now_ms is not None else int(time.time() * 1000)
    with TradingDB(args.db) as db:
        sync_from_state(db, state_root, args.source)
        t_ms, nav = db.nav(args.source)
        fills = db.fills(args.source)
        funding = [(int(t), s, float(p)) for t, s, p in db.conn.execute(
            "SELECT t_ms, symbol, paid_usd FROM funding WHERE source=? ORDER BY t_ms", (args.source,))]
        flatten = [e["t_ms"] for e in db.events("FLATTEN_ALL", args.source)]
        api_issues = len(db.events("API_ISSUE", args.source, since_ms=now - DAY_MS))
    ndays = 7 if args.weekly else 1
    hist = daily_metrics(now, ndays, t_ms=t_ms, nav=nav, fills=fills, funding=funding, candidate=candidate,
                         flatten_times_ms=flatten, assumed_funding_apr=args.assumed_funding_apr)
    m = hist[-1]
    b = bands(m, rules)
    day = time.strftime("%Y-%m-%d", time.gmtime(now / 1000))
    sub = f"weekly/{time.strftime('%G-W%V', time.gmtime(now / 1000))}" if args.weekly else f"daily/{day}"
    out = Path(args.out) / sub
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# {candidate.name} {'weekly' if args.weekly else 'daily'} report — {day} ({args.source})", ""]
    if m.nav_usd is None:
        lines += ["No NAV recorded yet in trading.db: nothing to report (is hedge-sync_state running?).", ""]
    lines += ["| metric | value | band |", "|---|---|---|"]
    rows = [("sharpe_14d", m.sharpe_14d, "—")] + [(k, v["value"], v["band"]) for k, v in b.items()]
    for k, v, band in rows:
        lines.append(f"| {LABELS.get(k, k)} | {fmt(k, v)} | {band} |")
    lines += ["", "| sleeve | 14D contribution |", "|---|---|"]
    lines += [f"| {k} | {v:.2%} |" for k, v in m.sleeve_14d.items()]
    stage = None
    if args.stage is not None:
        st = next((x for x in rules.stages if x.stage == args.stage), None)
        if st is None:
            print(f"prod_report: no stage {args.stage} in {args.rules}", file=sys.stderr)
            return 2
        begin = parse_date(args.stage_start) if args.stage_start else (int(t_ms[0]) if len(t_ms) else now)
        cons = None
        try:
            latest = REPO_ROOT / "reports" / "consistency" / "latest.json"
            cons = float(json.loads(latest.read_text())["signal_consistency"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        stage = stage_status(m, st, days_in_stage=(now - begin) / DAY_MS, api_issues_24h=api_issues,
                             signal_consistency=cons)
        lines += ["", f"Stage {st.stage}: exit {'MET' if stage['exit_met'] else 'not met'}; "
                  f"abort {'TRIGGERED: ' + '; '.join(stage['abort_triggers']) if stage['abort'] else 'no'}"]
        lines += [f"- [{'x' if c['met'] else ' '}] {c['criterion']}" for c in stage["exit_criteria"]]
    if args.weekly:
        lines += ["", "| day | NAV | 20D Sharpe | running MDD | 30D return |", "|---|---|---|---|---|"]
        for h in hist:
            d = time.strftime("%Y-%m-%d", time.gmtime((h.day_end_ms - DAY_MS) / 1000))
            lines.append(f"| {d} | {fmt('nav', h.nav_usd)} | {fmt('sharpe_20d', h.sharpe_20d)} | "
                         f"{fmt('running_mdd', h.running_mdd)} | {fmt('return_30d', h.return_30d)} |")
    files = [out / "report.md", out / "report.json"]
    atomic_write_bytes(files[0], ("\n".join(lines) + "\n").encode())
    atomic_write_bytes(files[1], (dumps({"as_of_ms": now, "kind": "weekly" if args.weekly else "daily",
                                         "source": args.source, "metrics": m.to_dict(), "bands": b, "stage": stage,
                                         "history": [h.to_dict() for h in hist]}, indent=2) + "\n").encode())
    if not args.no_charts and len(t_ms) >= 2:
        keep = t_ms >= now - 90 * DAY_MS
        tt, vv = t_ms[keep], nav[keep]
        if len(tt) >= 2:
            contrib = _sleeve_curves(candidate, tt, fills, funding, float(vv[0]))
            files += write_charts(out, "nav", tt, vv, drawdown_series(vv), contrib,
                                  f"{candidate.name} NAV, last 90 days ({args.source})")
    print("\n".join(lines))
    print(f"\narchived: {out}")
    return 0


def _sleeve_curves(candidate: Any, t_ms: np.ndarray, fills: list, funding: list, base: float) -> dict[str, np.ndarray]:
    """Cumulative realized PnL - commission - funding per sleeve, as a fraction of the first NAV."""
    out = {}
    for s in candidate.ensemble.sleeves:
        ev_t = ([f["time_ms"] for f in fills if f["symbol"] == s.symbol]
                + [t for t, sym, _ in funding if sym == s.symbol])
        ev_v = [(f.get("realized_pnl_usd") or 0.0) - (f.get("commission_usd") or 0.0) for f in fills
                if f["symbol"] == s.symbol] + [-p for _, sym, p in funding if sym == s.symbol]
        order = np.argsort(ev_t, kind="stable")
        et, ev = np.asarray(ev_t, dtype=np.int64)[order], np.cumsum(np.asarray(ev_v, dtype=float)[order])
        idx = np.searchsorted(et, t_ms, side="right") - 1
        share = s.weight / sum(x.weight for x in candidate.ensemble.sleeves if x.symbol == s.symbol)
        out[s.name] = np.where(idx >= 0, ev[np.maximum(idx, 0)] if len(ev) else 0.0, 0.0) * share / base
    return out


if __name__ == "__main__":
    sys.exit(main())
