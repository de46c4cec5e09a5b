#!/usr/bin/env python3
"""Preflight guard (runbook 000 §6): refuse to start unless the environment is mainnet + DRY_RUN, no testnet.

    .venv/bin/python scripts/assert_env_mainnet_dry_run.py [--env-file PATH] [--log-dir DIR] [--allow-live]

Exit 0: prints and appends to logs/system.log the audit line
        `[preflight] v7.4 mainnet + DRY_RUN=True testnet=False` (dev/local mode adds `base=...`).
Exit 1: prints one plain-English line per problem (what is wrong, how to fix it) and logs them.
ENV=dev is accepted only when BINANCE_BASE_URL is the local venue (a loopback address).
The decision is `settings.safety_gate.check_environment`, the same one every exchange client builder makes.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# the runbook runs it as a plain script from the repo root: Hedge's imports below come after this (E402 is off
# for scripts/ in pyproject.toml)
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from execution.log_setup import setup_logging
from settings.preflight import audit_line
from settings.safety_gate import check_environment

log = logging.getLogger("hedge.preflight")
RULE = "=" * 100


def _resolve(path: str | os.PathLike[str]) -> Path:
    """Relative paths are relative to the repo root, wherever the script is started from."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--env-file", default=".env", help="env file to check (default: .env in the repo root)")
    source.add_argument("--no-env-file", action="store_true", help="check the process environment only")
    parser.add_argument("--log-dir", help="where system.log lives (default: LOG_DIR from the settings, else logs)")
    parser.add_argument("--allow-live", action="store_true",
                        help="LIVE phase only: accept DRY_RUN=0 on mainnet (testnet stays forbidden)")
    args = parser.parse_args(argv)

    env_file = None if args.no_env_file else _resolve(args.env_file)
    # the same decision build_client makes (settings/safety_gate.py): what this refuses, no client is built for
    verdict = check_environment(env_file, allow_live=args.allow_live, require_file=True)
    problems, settings = list(verdict.problems), verdict.settings

    log_dir = _resolve(args.log_dir or (settings.LOG_DIR if settings is not None else "logs"))
    try:
        # INFO whatever LOG_LEVEL says: the audit marker must always reach system.log; stderr is ours
        setup_logging("preflight", log_dir, "INFO", settings=settings, stderr=False)
    except OSError as exc:  # cannot log: still give the verdict, but a run without audit trail fails
        problems.append(f"cannot write logs to {log_dir} ({exc}): fix the directory or pass --log-dir DIR")

    shown_file = env_file if env_file is not None else "<process environment only>"
    if problems:
        print(RULE, file=sys.stderr)
        print(f"PREFLIGHT FAILED - Hedge must NOT start. Checked: {shown_file} "
              "(exported variables override the file)", file=sys.stderr)
        for problem in problems:
            print(f"  * {problem}", file=sys.stderr)
            log.error("[preflight] FAILED %s", problem)
        print("Fix every line above, then run again: .venv/bin/python scripts/assert_env_mainnet_dry_run.py",
              file=sys.stderr)
        print(RULE, file=sys.stderr)
        return 1

    assert settings is not None  # no problems means the settings loaded
    line = audit_line(settings)
    log.info(line)
    print(line)
    if args.allow_live and settings.is_production and not settings.DRY_RUN:
        print("WARNING: LIVE mode accepted (--allow-live): real orders WILL be sent", file=sys.stderr)
        log.warning("[preflight] LIVE mode accepted via --allow-live: real orders will be sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
