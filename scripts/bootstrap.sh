#!/usr/bin/env bash
# Create/refresh the project's virtualenv (.venv) from requirements.txt. Idempotent: a stamp of the
# requirements hash skips pip when nothing changed. Source it or run it; prints the venv python path.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
VENV="$ROOT/.venv"

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)'; then
  echo "[bootstrap] Python 3.11+ is required (found $("$PY" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x "$VENV/bin/python" ] && ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
  # Debian/Ubuntu ship venv/ensurepip separately (python3-venv)
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "[bootstrap] installing python3-venv" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 || true
  fi
  "$PY" -c 'import ensurepip, venv' 2>/dev/null \
    || { echo "[bootstrap] Python's venv module is missing: sudo apt-get install python3-venv" >&2; exit 1; }
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating virtualenv in $VENV" >&2
  "$PY" -m venv "$VENV"
fi
want="$(sha256sum "$ROOT/requirements.txt" | cut -d' ' -f1)"
have="$(cat "$VENV/.requirements.sha256" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "[bootstrap] installing Python packages from requirements.txt" >&2
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip 2>&1 | grep -v "is ignored: it is neither" >&2 || true
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$ROOT/requirements.txt" 2>&1 \
    | grep -v "is ignored: it is neither" >&2 || true
  "$VENV/bin/python" -c "import binance, pydantic, pandas, streamlit, telegram" \
    || { echo "[bootstrap] package install failed" >&2; exit 1; }
  echo "$want" > "$VENV/.requirements.sha256"
fi
echo "$VENV/bin/python"
