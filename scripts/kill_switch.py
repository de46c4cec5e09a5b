#!/usr/bin/env python3
"""Kill switch, the operator command (docs/Runbook.md "Executor — kill switch").

    .venv/bin/python scripts/kill_switch.py on --reason "manual: investigating fills"  # engage (halts new risk)
    .venv/bin/python scripts/kill_switch.py off                                        # release
    .venv/bin/python scripts/kill_switch.py status                                     # print the file
    [--env-file PATH] [--state-root DIR]

It writes STATE_ROOT/kill_switch.json (docs/STATE_FILES.md). The executor reads the file every cycle and
before every TWAP child: engaged, only orders that shrink a leg pass (core kill_switch veto), resting
entries are cancelled, and health.json shows it. It survives restarts because it is a file.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from execution.executor import kill_switch as ks
from execution.executor.cli import env_or_exit_code


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("on", "off", "status"))
    p.add_argument("--reason", default="", help="why (required for 'on')")
    p.add_argument("--by", default=None, help="who (default user@host)")
    p.add_argument("--env-file", default=".env")
    p.add_argument("--state-root", default=None, help="override the env's STATE_ROOT")
    a = p.parse_args(argv)
    env, code = env_or_exit_code(a.env_file)
    if env is None:
        return code
    root = Path(a.state_root) if a.state_root else Path(env.STATE_ROOT)
    if a.action == "on":
        if not a.reason.strip():
            print("kill_switch on needs --reason \"...\" (it is shown in health.json and the dashboard)",
                  file=sys.stderr)
            return 2
        k = ks.engage(root, a.reason.strip(), a.by)
        print(f"[kill_switch] ENGAGED reason={k.reason!r} since={k.since} by={k.by} file={root / 'kill_switch.json'}")
    elif a.action == "off":
        k = ks.release(root, a.by)
        print(f"[kill_switch] RELEASED since={k.since} by={k.by} file={root / 'kill_switch.json'}")
    else:
        k = ks.read(root)
        print(json.dumps(k.to_dict()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
