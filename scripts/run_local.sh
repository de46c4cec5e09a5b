#!/usr/bin/env bash
# THE run command (README): set everything up and run Hedge on this machine under a real supervisord with
# its config and socket inside the project (no root configuration touched). Default: the local Binance
# USD-M venue (synthetic market data, no credentials), executor, sync_state, the dashboard and nginx with
# Basic Auth, all on 127.0.0.1. Programs whose code does not exist yet are skipped with a notice.
#   bash scripts/run_local.sh            run in the foreground until Ctrl-C
#   bash scripts/run_local.sh --detach   start in the background; control it with scripts/hedgectl
#   bash scripts/run_local.sh --smoke    start, check health through the real client and nginx, stop (tests)
#   bash scripts/run_local.sh --mainnet  mainnet + DRY_RUN: the same stack without the venue; refused
#                                        unless .env is ENV=mainnet/prod, DRY_RUN=1 and the preflight passes
#   --http-port N (dashboard URL, default 8080)  --dashboard-port N (Streamlit, default 8501)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
action=foreground
prep=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) action=smoke ;;
    --detach) action=detach ;;
    --mainnet) prep+=(--mainnet) ;;
    --http-port|--dashboard-port) prep+=("$1" "${2:?$1 needs a port number}"); shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "[run] unknown argument: $1 (see: bash scripts/run_local.sh --help)" >&2; exit 2 ;;
  esac
  shift
done
PY="$(bash scripts/bootstrap.sh)"
if [ ! -f .env ]; then
  cp .env.example .env && chmod 600 .env
  echo "[run] created .env from .env.example (local defaults: ENV=dev, DRY_RUN=1, local venue)"
fi
"$PY" -m settings check
"$PY" scripts/assert_env_mainnet_dry_run.py --env-file .env
"$PY" scripts/local_stack.py prepare "${prep[@]}"
CONF=var/supervisor/supervisord.conf
CTL=(.venv/bin/supervisorctl -c "$CONF")

wait_started() {  # supervisord reports STARTING until startsecs have passed (a loaded machine: up to 60 s)
  for _ in $(seq 1 240); do
    # supervisorctl exits non-zero while a program is not RUNNING: read its text, not its status (pipefail)
    local out
    out="$("${CTL[@]}" status 2>/dev/null || true)"
    [[ "$out" == *STARTING* ]] || return 0
    sleep 0.25
  done
}

case "$action" in
  smoke)
    .venv/bin/supervisord -c "$CONF"
    trap 'scripts/hedgectl shutdown >/dev/null 2>&1 || true' EXIT
    rc=0
    "$PY" scripts/local_status.py --env-file .env --wait 30 --dashboard-wait 60 || rc=$?
    wait_started
    "${CTL[@]}" status || rc=1
    exit "$rc"
    ;;
  detach)
    .venv/bin/supervisord -c "$CONF"
    wait_started
    "${CTL[@]}" status || true
    "$PY" scripts/local_stack.py info
    ;;
  foreground)
    "$PY" scripts/local_stack.py info
    echo "[run] starting under supervisord (logs in logs/, supervisor in var/supervisor/); Ctrl-C stops all"
    exec .venv/bin/supervisord -n -c "$CONF"
    ;;
esac
