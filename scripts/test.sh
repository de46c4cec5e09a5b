#!/usr/bin/env bash
# THE test command (README, CI): set everything up, then run the whole test suite on 2 workers.
# Extra arguments go to pytest, e.g. scripts/test.sh tests/test_settings_config.py -x
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/install_system_packages.sh
PY="$(bash scripts/bootstrap.sh)"
workers="${HEDGE_TEST_WORKERS:-2}"
set +e
"$PY" -m pytest -n "$workers" -q "$@"
rc=$?
set -e
if [ "$rc" = "5" ]; then echo "[test] no tests were collected" >&2; exit 1; fi
exit "$rc"
