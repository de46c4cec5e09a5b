"""`.venv/bin/python -m settings check [--config-dir config] [--env-file .env] [--allow-live]`

Validates every config file and the environment, then asks the safety gate (settings/safety_gate.py, the
same decision the preflight script and every exchange client builder make) whether this environment may
talk to an exchange. Exit 0: all good; exit 2: a config problem or a refusal, one line each.
"""
from __future__ import annotations

import argparse
import sys

from settings.loader import CONFIG_FILES, load_or_exit
from settings.safety_gate import check_environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m settings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check"], help="check: validate every config file and .env")
    parser.add_argument("--config-dir", default="config")
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--allow-live", action="store_true",
                        help="judge the environment as the preflight does with --allow-live")
    args = parser.parse_args(argv)
    cfg, env = load_or_exit(args.config_dir, args.env_file)
    verdict = check_environment(args.env_file, allow_live=args.allow_live, settings=env)
    if verdict.problems:
        print(f"[config] REFUSED by the preflight / safety gate ({args.env_file} and the process environment):",
              file=sys.stderr)
        for problem in verdict.problems:
            print(f"[config]   {problem}", file=sys.stderr)
        return 2
    mode = "mainnet" if env.is_production else env.ENV
    print(f"[config] OK: {len(CONFIG_FILES)} files in {args.config_dir}/ valid; "
          f"{len(cfg.pairs.symbols)} symbols; ENV={env.ENV} DRY_RUN={env.DRY_RUN}; preflight: {mode} allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
