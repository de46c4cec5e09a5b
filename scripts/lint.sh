#!/usr/bin/env bash
# Lint and type-check with the pinned tools (configuration: pyproject.toml). Exit non-zero on any finding.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PY:-.venv/bin/python}"
"$PY" -m ruff check .
"$PY" -m mypy
