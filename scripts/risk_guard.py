#!/usr/bin/env python3
"""Risk guard (docs/Production_Launch_SOP.md): KEEP / SCALE_UP / REDUCE / PAUSE / FLATTEN_ALL.

    .venv/bin/python scripts/risk_guard.py --config config/prod_scale_rules_R1.yaml [--dry-run]
        [--db reports/futures/live/trading.db] [--state-root logs/state] [--source live|paper]
        [--out reports/risk_guard] [--assumed-funding-apr 0.01] [--stale-hours 2] [--now-ms MS]

Imports hedge-sync_state's trade_log.json / nav_log.jsonl into trading.db, computes the daily metrics of the
last days (backtest.live_metrics) and applies the scale-up, scale-down and hard-stop tables of the rules.
Writes reports/risk_guard/latest_decision.json (atomic) and appends decisions.jsonl; alerts on Telegram for
anything but KEEP. On FLATTEN_ALL (not --dry-run) it engages the kill switch (STATE_ROOT/kill_switch.json,
docs/STATE_FILES.md) and runs scripts/panic_close.py --reason TEXT when it exists.
Exit: 0 decided (and carried out); 2 bad input; 3 FLATTEN_ALL not fully carried out (panic close missing
or failed: the decision file says so — close positions by hand, SOP §5.1).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from backtest.alerts import send_telegram
from backtest.config_files import kill_switch_state, load_candidate, load_rules, resolve
from backtest.live_metrics import daily_metrics, decide
from backtest.trading_db import TradingDB, sync_from_state
from execution.state_json import dumps
from execution.state_store import append_event, atomic_write_bytes, utc_now_iso, write_snapshot
from settings.env import load_env
from settings.errors import ConfigError

PANIC_CLOSE = REPO_ROOT / "scripts" / "panic_close.py"


def account_inputs(db: TradingDB, source: str) -> dict[str, Any]:
    t_ms, nav = db.nav(source)
    fills = db.fills(source)
    funding = [(int(t), s, float(p)) for t, s, p in db.conn.execute(
        "SELECT t_ms, symbol, paid_usd FROM funding WHERE source=? ORDER BY t_ms", (source,))]
    flatten = [e["t_ms"] for e in db.events("FLATTEN_ALL", source)]
    return {"t_ms": t_ms, "nav": nav, "fills": fills, "funding": funding, "flatten_times_ms": flatten}


def flatten(reason: str, state_root: Path, dry_run: bool,
            panic_close: Path = PANIC_CLOSE) -> tuple[dict[str, Any], bool]:
    """Engage the kill switch and run the panic close; (actions record, fully carried out)."""
    if dry_run:
        return {"kill_switch": "dry-run: not engaged", "panic_close": "dry-run: not run"}, True
    write_snapshot("kill_switch", {"active": True, "reason": reason, "since": utc_now_iso(), "by": "risk_guard"},
                   root=state_root, writer="risk_guard")
    actions: dict[str, Any] = {"kill_switch": f"engaged ({state_root / 'kill_switch.json'})"}
    if not panic_close.is_file():
        actions["panic_close"] = ("missing: scripts/panic_close.py does not exist, positions were NOT closed; "
                                  "close them by hand (docs/Production_Launch_SOP.md §5.1)")
        return actions, False
    try:
        p = subprocess.run([sys.executable, str(panic_close), "--reason", reason], capture_output=True, text=True,
                           timeout=600, cwd=REPO_ROOT)
        ok = p.returncode == 0
        actions["panic_close"] = f"exit {p.returncode}" + ("" if ok else f": {(p.stderr or p.stdout)[-500:]}")
        return actions, ok
    except (OSError, subprocess.TimeoutExpired) as exc:
        actions["panic_close"] = f"failed: {exc}"
        return actions, False


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="scale rules (config/prod_scale_rules_R1.yaml)")
    ap.add_argument("--dry-run", action="store_true", help="decide and alert, but never engage the kill switch")
    ap.add_argument("--db", default=str(REPO_ROOT / "reports" / "futures" / "live" / "trading.db"))
    ap.add_argument("--state-root", default=None, help="default: STATE_ROOT from the environment (logs/state)")
    ap.add_argument("--source", default="live", choices=("live", "paper"))
    ap.add_argument("--out", default=str(REPO_ROOT / "reports" / "risk_guard"))
    ap.add_argument("--env-file", default=str(REPO_ROOT / ".env"))
    ap.add_argument("--assumed-funding-apr", type=float, default=None,
                    help="the backtest's funding drag (APR) the funding drift is measured against")
    ap.add_argument("--stale-hours", type=float, default=2.0)
    ap.add_argument("--now-ms", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--panic-close", default=str(PANIC_CLOSE), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    try:
        rules = load_rules(args.config)
        candidate = load_candidate(resolve(rules.config_file))
        env = load_env(args.env_file)
    except (ConfigError, OSError) as exc:
        print(f"risk_guard: {exc}", file=sys.stderr)
        return 2
    if args.state_root:
        state_root = Path(args.state_root)
    else:
        state_root = env.STATE_ROOT if env.STATE_ROOT.is_absolute() else REPO_ROOT / env.STATE_ROOT
    now = args.now_ms if args.now_ms is not None else int(time.time() * 1000)
    with TradingDB(args.db) as db:
        imported = sync_from_state(db, state_root, args.source)
        acct = account_inputs(db, args.source)
        days = max(rules.scale_up.consecutive_days, rules.scale_down.slippage_sustained_days,
                   rules.yellow_days_before_reduce + 1)
        history = daily_metrics(now, days, candidate=candidate, assumed_funding_apr=args.assumed_funding_apr, **acct)
        stale = ""
        if len(acct["t_ms"]) and now - int(acct["t_ms"][-1]) > args.stale_hours * 3_600_000:
            stale = f"last NAV point is {(now - int(acct['t_ms'][-1])) / 3_600_000:.1f} h old"
        d = decide(history, rules, kill_switch_active=kill_switch_state(state_root)[0], nav_stale_reason=stale)
        record: dict[str, Any] = {"as_of_ms": now, "source": args.source, "dry_run": args.dry_run, **d.to_dict(),
                                  "imported": imported, "history": [h.to_dict() for h in history]}
        complete = True
        if d.decision == "FLATTEN_ALL":
            actions, complete = flatten("; ".join(d.reasons), state_root, args.dry_run, Path(args.panic_close))
            record["actions"] = actions
            if not args.dry_run:
                db.add_event(now, "FLATTEN_ALL", {"reasons": list(d.reasons)}, args.source)
        db.add_event(now, "RISK_DECISION", {"decision": d.decision}, args.source)
    if d.decision != "KEEP":
        text = f"[risk_guard{' dry-run' if args.dry_run else ''}] {d.decision}: " + "; ".join(d.reasons)
        if "actions" in record:
            text += " | " + "; ".join(f"{k}: {v}" for k, v in record["actions"].items())
        record["telegram"] = send_telegram(text, env)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "latest_decision.json", (dumps(record, indent=2) + "\n").encode())
    append_event(out / "decisions.jsonl", {k: record[k] for k in ("as_of_ms", "decision", "reasons", "dry_run")})
    print(f"{d.decision}: " + "; ".join(d.reasons))
    if "actions" in record:
        for k, v in record["actions"].items():
            print(f"  {k}: {v}")
    return 0 if complete else 3


if __name__ == "__main__":
    sys.exit(main())
