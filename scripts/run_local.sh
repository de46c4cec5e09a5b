#!/usr/bin/env bash
# THE run command (README): set everything up and run Hedge on its embedded default — the local
# Binance USD-M venue on 127.0.0.1 with synthetic market data, no credentials, loopback only —
# under a real supervisord. Ctrl-C stops everything.
#   scripts/run_local.sh           run in the foreground until Ctrl-C
#   scripts/run_local.sh --smoke   start, check health through the real client, stop (used by tests)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$(bash scripts/bootstrap.sh)"
if [ ! -f .env ]; then
  cp .env.example .env && chmod 600 .env
  echo "[run] created .env from .env.example (local defaults: ENV=dev, DRY_RUN=1, local venue)"
fi
"$PY" -m settings check
"$PY" scripts/assert_env_mainnet_dry_run.py --env-file .env
mkdir -p var/supervisor logs/state
CONF=deploy/supervisor/hedge-local.conf
# One short socket path per checkout (unix socket paths are limited to 107 bytes).
HEDGE_SUPERVISOR_SOCK="${HEDGE_SUPERVISOR_SOCK:-${TMPDIR:-/tmp}/hedge-supervisor-$(printf %s "$ROOT" | sha256sum | cut -c1-12).sock}"
export HEDGE_SUPERVISOR_SOCK
CTL=(.venv/bin/supervisorctl -c "$CONF")

if [ "${1:-}" = "--smoke" ]; then
  .venv/bin/supervisord -c "$CONF"
  trap '"${CTL[@]}" shutdown >/dev/null 2>&1 || true' EXIT
  rc=0
  "$PY" scripts/local_status.py --env-file .env --wait 30 || rc=$?
  # supervisord reports STARTING until startsecs have passed, even when the venue already answers
  for _ in $(seq 1 40); do
    "${CTL[@]}" status 2>/dev/null | grep -q STARTING || break
    sleep 0.25
  done
  "${CTL[@]}" status || rc=1
  exit "$rc"
fi

echo "[run] starting the local stack under supervisord (logs in logs/, supervisor in var/supervisor/)"
echo "[run] status:  HEDGE_SUPERVISOR_SOCK=$HEDGE_SUPERVISOR_SOCK .venv/bin/supervisorctl -c $CONF status      health:  $PY scripts/local_status.py"
exec .venv/bin/supervisord -n -c "$CONF"
