#!/usr/bin/env python3
"""Operator command: reset the persisted NAV high-water mark (peak_state.json) the DD circuit measures from.

    .venv/bin/python scripts/reset_peak.py --by alice --reason "new capital base after withdrawal"  # to the latest NAV
    .venv/bin/python scripts/reset_peak.py --by alice --reason "..." --value 12000                   # to a given NAV

Why it exists: the peak only rises by itself (docs/v7.4_Risk_and_Methodology.md §2.1), so a tripped DD
circuit holds until NAV recovers or the config changes. A deliberate reset (after a withdrawal, or when the
risk committee accepts the loss) is this command — never a hand edit. It takes the same lock as
hedge-sync_state, writes peak_state.json with `reset_at` / `reset_by`, and logs
`[sync_state] PEAK_RESET by=... reason=... old_peak_nav_usd=... new_peak_nav_usd=...` to logs/system.log.
Refuses to reset to the latest NAV when nav.json is stale or missing (pass --value then).
Exit 0 done, 1 refused, 2 bad arguments or environment.
"""
from __future__ import annotations

import argparse
import logging
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from core.numbers import to_decimal
from execution import state_store as ss
from execution.log_setup import setup_logging
from execution.nav_store import reset_peak
from settings.env import load_env
from settings.errors import ConfigError

log = logging.getLogger("hedge.sync_state")


def _resolve(p: Path) -> Path:
    return p if p.is_absolute() else REPO_ROOT / p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--by", required=True, help="who resets (recorded in peak_state.json and the log)")
    parser.add_argument("--reason", required=True, help="why (recorded in the log)")
    parser.add_argument("--value", help="new peak NAV in USDT (default: latest_nav_usd from nav.json)")
    parser.add_argument("--env-file", default=".env")
    args = parser.parse_args(argv)
    if not args.by.strip() or not args.reason.strip():
        print("--by and --reason must not be empty", file=sys.stderr)
        return 2
    try:
        settings = load_env(_resolve(Path(args.env_file)))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    root = _resolve(Path(settings.STATE_ROOT))
    if args.value is not None:
        try:
            value = Decimal(args.value)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite() or value <= 0:
            print(f"--value {args.value!r} must be a positive number of USDT", file=sys.stderr)
            return 2
    else:
        nav = ss.read_snapshot("nav", root=root)
        latest = (nav or {}).get("latest_nav_usd")
        if nav is None or nav.get("stale") or not isinstance(latest, (int, float)) or isinstance(latest, bool) \
                or not latest > 0:
            print(f"refused: {root / 'nav.json'} is missing, stale or has no latest_nav_usd; is hedge-sync_state "
                  "running? Pass --value USD to set the peak explicitly.", file=sys.stderr)
            return 1
        value = to_decimal(float(latest))
    setup_logging("reset_peak", _resolve(Path(settings.LOG_DIR)), "INFO", settings=settings, stderr=False)
    old, new = reset_peak(root, value, args.by.strip(), args.reason.strip(), ss.utc_now_iso(), writer="reset_peak")
    before = None if old is None or old.peak_nav_usd is None else float(old.peak_nav_usd)
    print(f"peak_nav_usd reset: {before} -> {float(new.peak_nav_usd)} by {new.reset_by} at {new.reset_at}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
