#!/usr/bin/env python3
"""Launch guard (docs/Production_Launch_SOP.md, §2; docs/Production_Launch_SOP.md): ALLOW_LAUNCH or BLOCK_LAUNCH.

    .venv/bin/python scripts/prod_launch_guard.py --rules config/prod_scale_rules_R1.yaml [--data var/data]
        [--env-file .env] [--db reports/futures/live/trading.db] [--consistency reports/consistency/latest.json]
        [--state-root logs/state] [--allow-live] [--skip-api] [--now-ms MS]

HARD checks (any failure blocks): the frozen config (hash recorded in the rules, trade_on, fee_bps,
slippage_bps, funding_rate.enabled, ensemble and weights), data freshness (last bar < 2 h) and gaps (none
> 3 h in 30 days) for every sleeve symbol, the preflight environment (scripts/assert_env_mainnet_dry_run.py),
the exchange API (time, hedge position mode, USDT balance through python-binance), the kill switch not
engaged, and stage 0's paper criteria exactly as the rules give them (30 days of paper NAV, 30D Sharpe >
-0.3, 30D MDD < 12 %, signal consistency > 98 %). SOFT checks (reported, never blocking): Telegram
configured, clock offset to the exchange < 100 ms, funding history present.
Prints one line per check, then the verdict; writes reports/launch_guard/latest.json.
Exit 0 ALLOW_LAUNCH, 1 BLOCK_LAUNCH, 2 bad input.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from backtest.config_files import frozen_checks, kill_switch_state, load_candidate, load_rules, resolve
from backtest.data_checks import check_klines
from backtest.live_metrics import DAY_MS, metrics_as_of
from backtest.trading_db import TradingDB
from execution.state_json import dumps
from execution.state_store import atomic_write_bytes
from marketdata import MarketDataError, load_dataset
from settings.env import load_env
from settings.errors import ConfigError


@dataclass(frozen=True)
class Check:
    name: str
    severity: str  # HARD | SOFT
    ok: bool
    detail: str


def data_checks(cand: Any, data_dir: Path, now: int) -> list[Check]:
    symbols = sorted({s.symbol for s in cand.ensemble.sleeves})
    try:
        data = load_dataset(data_dir, symbols, cand.interval)
    except MarketDataError as exc:
        return [Check("data", "HARD", False, f"{exc} (run scripts/download_data.py -c CONFIG)")]
    out = []
    for sym, (k, f) in data.items():
        c = check_klines(sym, k.open_time_ms, k.interval_ms, now)
        out.append(Check(f"data_fresh[{sym}]", "HARD", c.fresh, c.detail.split(", ")[0]))
        out.append(Check(f"data_gaps[{sym}]", "HARD", c.no_gaps, c.detail.split(", ")[1]))
        has_f = f is not None and len(f) and now - int(f.funding_time_ms[-1]) < 9 * 3_600_000
        out.append(Check(f"funding_history[{sym}]", "SOFT", bool(has_f),
                         "funding history current" if has_f else "funding history missing or older than 9 h"))
    return out


def preflight_check(env_file: str, allow_live: bool, log_dir: str | None) -> Check:
    cmd = [sys.executable, str(REPO_ROOT / "scripts" / "assert_env_mainnet_dry_run.py"), "--env-file", env_file]
    cmd += ["--allow-live"] if allow_live else []
    cmd += ["--log-dir", log_dir] if log_dir else []
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)
    lines = [ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.strip() and not ln.startswith("===")]
    problems = [ln.lstrip("* ") for ln in lines if ln.startswith("*")]
    detail = "; ".join(problems) if problems else (lines[-1] if lines else f"exit {p.returncode}")
    return Check("preflight_environment", "HARD", p.returncode == 0, detail)


def api_checks(env: Any) -> list[Check]:
    from execution.exchange_utils import build_adapter

    try:
        adapter = build_adapter(env, timeout=10.0)
        t0 = time.time()
        server = adapter.server_time_ms()
        offset = server - int((t0 + time.time()) / 2 * 1000)
        dual = adapter.get_position_mode(refresh=True)
        bal = adapter.balance("USDT")
    except Exception as exc:  # any failure to talk to the exchange blocks the launch, with the reason
        return [Check("api", "HARD", False, f"{type(exc).__name__}: {exc}")]
    out = [Check("api", "HARD", True, f"exchange answered; USDT wallet balance {getattr(bal, 'balance', None)}"),
           Check("api_hedge_mode", "HARD", bool(dual), f"dualSidePosition={dual} (Hedge trades in hedge mode)"),
           Check("clock_offset", "SOFT", abs(offset) < 100, f"offset to exchange time {offset:+d} ms (want < 100)")]
    return out


def paper_checks(rules: Any, cand: Any, db_path: Path, consistency: Path, now: int) -> list[Check]:
    stage0 = next((s for s in rules.stages if s.stage == 0), None)
    if stage0 is None:
        return [Check("paper", "HARD", False, "no stage 0 in the scale rules")]
    out: list[Check] = []
    t_ms = nav = None
    if db_path.is_file():
        with TradingDB(db_path) as db:
            t_ms, nav = db.nav("paper")
    if t_ms is None or len(t_ms) == 0:
        return [Check("paper_history", "HARD", False, f"no paper NAV in {db_path} (stage 0 not run)")]
    days = (int(t_ms[-1]) - int(t_ms[0])) / DAY_MS
    out.append(Check("paper_history", "HARD", days >= stage0.min_days,
                     f"{days:.1f} days of paper NAV (need {stage0.min_days})"))
    m = metrics_as_of(now, t_ms, nav, [], [], cand)
    if stage0.exit_sharpe_30d_gt is not None:
        ok = m.sharpe_30d is not None and m.sharpe_30d > stage0.exit_sharpe_30d_gt
        sharpe = m.sharpe_30d if m.sharpe_30d is None else round(m.sharpe_30d, 3)
        out.append(Check("paper_sharpe_30d", "HARD", ok,
                         f"30D paper Sharpe {sharpe} (must be > {stage0.exit_sharpe_30d_gt:g})"))
    if stage0.exit_mdd_lt is not None:
        ok = m.mdd_30d is not None and m.mdd_30d < stage0.exit_mdd_lt
        out.append(Check("paper_mdd_30d", "HARD", ok,
                         f"30D paper MDD {m.mdd_30d:.2%} (must be < {stage0.exit_mdd_lt:.0%})"
                         if m.mdd_30d is not None else "no 30D paper MDD"))
    if stage0.exit_signal_consistency_gt is not None:
        try:
            doc = json.loads(consistency.read_text())
            value = float(doc["signal_consistency"])
            ok = value > stage0.exit_signal_consistency_gt
            out.append(Check("signal_consistency", "HARD", ok, f"{value:.2%} of bars agree between paper and the "
                             f"backtest replay (must be > {stage0.exit_signal_consistency_gt:.0%}; {consistency})"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            out.append(Check("signal_consistency", "HARD", False,
                             f"no consistency report at {consistency} ({type(exc).__name__}); run "
                             "scripts/validate_live_consistency.py --source paper"))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rules", default=str(REPO_ROOT / "config" / "prod_scale_rules_R1.yaml"))
    ap.add_argument("--data", default=str(REPO_ROOT / "var" / "data"))
    ap.add_argument("--env-file", default=str(REPO_ROOT / ".env"))
    ap.add_argument("--db", default=str(REPO_ROOT / "reports" / "futures" / "live" / "trading.db"))
    ap.add_argument("--consistency", default=str(REPO_ROOT / "reports" / "consistency" / "latest.json"))
    ap.add_argument("--state-root", default=None)
    ap.add_argument("--log-dir", default=None, help="passed to the preflight")
    ap.add_argument("--out", default=str(REPO_ROOT / "reports" / "launch_guard"))
    ap.add_argument("--allow-live", action="store_true", help="passed to the preflight (DRY_RUN=0)")
    ap.add_argument("--skip-api", action="store_true", help="skip the exchange check (counts as a HARD failure)")
    ap.add_argument("--now-ms", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    now = args.now_ms if args.now_ms is not None else int(time.time() * 1000)
    try:
        rules = load_rules(args.rules)
        cand_path = resolve(rules.config_file)
        cand = load_candidate(cand_path)
    except (ConfigError, OSError) as exc:
        print(f"prod_launch_guard: {exc}", file=sys.stderr)
        return 2
    checks = [Check(c.name, "HARD", c.ok, c.detail) for c in frozen_checks(rules, cand_path)]
    checks += data_checks(cand, Path(args.data), now)
    checks.append(preflight_check(args.env_file, args.allow_live, args.log_dir))
    env = None
    try:
        env = load_env(args.env_file)
    except ConfigError as exc:
        checks.append(Check("env", "HARD", False, str(exc).splitlines()[0]))
    if env is not None:
        checks += ([Check("api", "HARD", False, "skipped (--skip-api)")] if args.skip_api else api_checks(env))
        root = Path(args.state_root) if args.state_root else REPO_ROOT / env.STATE_ROOT
        engaged, detail = kill_switch_state(root)
        checks.append(Check("kill_switch", "HARD", not engaged, detail))
        tg = bool(env.TELEGRAM_BOT_TOKEN.get_secret_value() and env.TELEGRAM_CHAT_ID)
        checks.append(Check("telegram", "SOFT", tg,
                            "configured" if tg else "FUTURES_TELEGRAM_BOT_TOKEN / _CHAT_ID unset"))
    checks += paper_checks(rules, cand, Path(args.db), Path(args.consistency), now)
    allow = all(c.ok for c in checks if c.severity == "HARD")
    verdict = "ALLOW_LAUNCH" if allow else "BLOCK_LAUNCH"
    for c in checks:
        print(f"[{c.severity}] {'PASS' if c.ok else ('FAIL' if c.severity == 'HARD' else 'WARN')} {c.name}: {c.detail}")
    warns = [c.name for c in checks if c.severity == "SOFT" and not c.ok]
    print(verdict + (f" (SOFT warnings: {', '.join(warns)})" if warns else ""))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "latest.json", (dumps({"as_of_ms": now, "verdict": verdict, "checks": [
        c.__dict__ for c in checks]}, indent=2) + "\n").encode())
    return 0 if allow else 1


if __name__ == "__main__":
    sys.exit(main())
