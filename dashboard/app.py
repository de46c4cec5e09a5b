"""hedge-dashboard: the read-only Streamlit view of Hedge (docs/Investors_Access.md, docs/Runbook.md §5).

    .venv/bin/streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port 8501 -- --env-file .env

It reads only the state files (docs/STATE_FILES.md) and, when configured, the Firestore NAV series. It has
no trading controls and writes nothing. NGINX with Basic Auth is the only way in (deploy/nginx/).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `streamlit run dashboard/app.py` puts dashboard/ first, not the repo root
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402 - after the sys.path insert above

from dashboard import panels  # noqa: E402 - after the sys.path insert above
from dashboard.firestore_nav import nav_series  # noqa: E402 - after the sys.path insert above
from dashboard.state_view import load_view  # noqa: E402 - after the sys.path insert above
from settings.env import load_env  # noqa: E402 - after the sys.path insert above
from settings.errors import ConfigError  # noqa: E402 - after the sys.path insert above

REFRESH_S = 30


def _env_file() -> str:
    args = sys.argv[1:]
    if "--env-file" in args and args.index("--env-file") + 1 < len(args):
        return args[args.index("--env-file") + 1]
    return str(REPO_ROOT / ".env")


def _resolve(path: Path) -> Path:
    return path if path.is_absolute() else REPO_ROOT / path


def page() -> None:
    started = time.perf_counter()
    try:
        settings = load_env(_env_file())
    except ConfigError as exc:
        st.error(f"Configuration problem — the dashboard cannot read its settings:\n\n{exc}")
        return
    state_root, log_dir = _resolve(settings.STATE_ROOT), _resolve(settings.LOG_DIR)
    mode = f"{settings.ENV}{' · DRY_RUN' if settings.DRY_RUN else ' · LIVE'}"
    st.title("Hedge")
    now = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    st.caption(f"{mode} · read-only · refreshes every {REFRESH_S} s · {now}")
    view = load_view(state_root, log_dir)
    series, fs_note = nav_series(settings, state_root)
    overview, risk, hybrid, regimes, execution = st.tabs(
        ["Overview", "Risk", "Hybrid / Carry", "Vol regimes", "Execution"])
    with overview:
        panels.kpis(view)
        panels.reserve(view, settings.RESERVE_BTC)
        panels.nav_chart(series, fs_note if settings.FIRESTORE_PROJECT else "")
        panels.positions(view)
        left, right = st.columns(2)
        with left:
            panels.signals(view)
        with right:
            panels.trades(view)
        panels.screener(view)
    with risk:
        panels.risk(view)
    with hybrid:
        panels.hybrid(view)
    with regimes:
        panels.regimes(view)
    with execution:
        panels.execution(view)
    st.caption(f"rendered in {(time.perf_counter() - started) * 1000:.0f} ms")


st.set_page_config(page_title="Hedge", page_icon="📈", layout="wide")
st.fragment(run_every=REFRESH_S)(page)()
