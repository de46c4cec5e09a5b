#!/usr/bin/env python3
"""Preflight guard (runbook 000 §6): refuse to start unless the environment is mainnet + DRY_RUN, no testnet.

    python scripts/assert_env_mainnet_dry_run.py [--env-file PATH] [--log-dir DIR] [--allow-live]

Exit 0: prints and appends to logs/system.log the audit line
        `[preflight] v7.4 mainnet + DRY_RUN=True testnet=False` (dev/local mode adds `base=...`).
Exit 1: prints one plain-English line per problem (what is wrong, how to fix it) and logs them.
ENV=dev is accepted only when BINANCE_BASE_URL is the local venue (a loopback address).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # the runbook runs it as a plain script from the repo root
    sys.path.insert(0, str(REPO_ROOT))

from dotenv import dotenv_values  # noqa: E402

from execution.log_setup import setup_logging  # noqa: E402
from settings.env import load_env  # noqa: E402
from settings.errors import ConfigError  # noqa: E402
from settings.preflight import (  # noqa: E402
    is_preflight_relevant,
    audit_line,
    misspelled_name_problems,
    preflight_problems,
    stray_testnet_problems,
)

log = logging.getLogger("hedge.preflight")
RULE = "=" * 100


def _resolve(path: str | os.PathLike[str]) -> Path:
    """Relative paths are relative to the repo root, wherever the script is started from."""
    p = Path(path)
    return p if p.is_absolute() else REPO_ROOT / p


def _raw_values(env_file: Path | None, environ: dict[str, str]) -> tuple[dict[str, str | None], list[str]]:
    """Variables as written (process environment over the file) and the key names found in the file."""
    file_values = dict(dotenv_values(env_file)) if env_file is not None and env_file.is_file() else {}
    relevant = {k: v for k, v in environ.items() if is_preflight_relevant(k)}
    return {**file_values, **relevant}, list(file_values)


def check(env_file: Path | None, allow_live: bool) -> tuple[list[str], object | None]:
    """(problems, settings or None when they could not be loaded)."""
    problems: list[str] = []
    if env_file is not None and not env_file.is_file():
        problems.append(
            f"no env file at {env_file}: create it (cp .env.example .env and edit), "
            "pass --env-file PATH, or use --no-env-file to rely on the process environment only"
        )
    raw, file_keys = _raw_values(env_file, dict(os.environ))
    problems.extend(misspelled_name_problems(file_keys))
    try:
        settings = load_env(env_file)
    except ConfigError as exc:
        for line in str(exc).splitlines():
            # the banner already names the file: keep "VARIABLE: reason (got 'value')"
            line = line.split(" or the process environment: ", 1)[-1]
            problems.append(f"{line}; fix this value and run the preflight again")
        # still report testnet switches: the operator should see everything in one run
        problems.extend(stray_testnet_problems(raw, include_modelled=True))
        return problems, None
    problems.extend(preflight_problems(settings, allow_live=allow_live, raw=raw))
    return problems, settings


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
    problems, settings = check(env_file, args.allow_live)

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
        print("Fix every line above, then run again: python scripts/assert_env_mainnet_dry_run.py",
              file=sys.stderr)
        print(RULE, file=sys.stderr)
        return 1

    line = audit_line(settings)  # type: ignore[arg-type]
    log.info(line)
    print(line)
    if args.allow_live and settings.is_production and not settings.DRY_RUN:  # type: ignore[union-attr]
        print("WARNING: LIVE mode accepted (--allow-live): real orders WILL be sent", file=sys.stderr)
        log.warning("[preflight] LIVE mode accepted via --allow-live: real orders will be sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
