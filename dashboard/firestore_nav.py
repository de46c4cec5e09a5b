"""The one Firestore read of the project: the NAV series at `hedge/{env}/state/nav` (docs/Telemetry_Format.md).

Firestore is optional (FIRESTORE_PROJECT empty = local files only). Every call is bounded: the read runs
in a worker thread that is abandoned after `timeout_s` (credential discovery can otherwise stall on a
metadata-server lookup), and the request itself carries the same timeout with no retries.

Document shape accepted (`hedge/{env}/state/nav`): `{"nav_usd": float, "series": [{"t_ms": int,
"nav_usd": float}, ...]}`; `points` is accepted for `series`, `nav`/`ts` for `nav_usd`/`t_ms` (seconds or
milliseconds, or an ISO string).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from dashboard.state_view import NavSeries, num, parse_iso_s

log = logging.getLogger("hedge.firestore")
DEFAULT_TIMEOUT_S = 3.0


def _t_ms(value: Any) -> int | None:
    if isinstance(value, dt.datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, str):
        s = parse_iso_s(value)
        return None if s is None else int(s * 1000)
    n = num(value)
    if n is None:
        return None
    return int(n if n > 1e11 else n * 1000)  # seconds or milliseconds


def _ms_field(d: dict[str, Any]) -> int | None:
    """`t_ms` is milliseconds as named; `ts` / `time` / `updated_at` may be seconds, ms, ISO text or a datetime."""
    t = d.get("t_ms")
    if isinstance(t, int) and not isinstance(t, bool):
        return t
    for key in ("ts", "time", "updated_at"):
        if key in d:
            return _t_ms(d[key])
    return None


def parse_nav_doc(doc: dict[str, Any] | None) -> list[tuple[int, float]]:
    """(t_ms, nav) points from the nav document, oldest first; bad points are skipped."""
    if not isinstance(doc, dict):
        return []
    raw = doc.get("series", doc.get("points"))
    pts = []
    for p in raw if isinstance(raw, list) else []:
        if not isinstance(p, dict):
            continue
        t = _ms_field(p)
        v = num(p.get("nav_usd", p.get("nav")))
        if t is not None and v is not None:
            pts.append((t, v))
    if not pts:
        t = _ms_field(doc)
        v = num(doc.get("nav_usd", doc.get("nav")))
        if t is not None and v is not None:
            pts.append((t, v))
    return sorted(pts)


def _fetch(project: str, env: str, timeout_s: float, emulator_host: str) -> dict[str, Any] | None:
    import os

    from google.cloud import firestore  # deferred: importing it costs ~0.5 s and most runs never need it

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if emulator_host:
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator_host  # the client reads it when it is built
    try:
        client = firestore.Client(project=project)
    finally:
        if emulator_host:  # leave the process environment as it was
            if previous is None:
                os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
            else:
                os.environ["FIRESTORE_EMULATOR_HOST"] = previous
    snap = client.collection("hedge").document(env).collection("state").document("nav").get(
        timeout=timeout_s, retry=None)
    return snap.to_dict() if snap.exists else None


def read_nav_series(project: str, env: str, *, emulator_host: str = "",
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> NavSeries:
    """The Firestore NAV series, or NavSeries([], "none", reason) when unconfigured/unavailable/empty."""
    if not project:
        return NavSeries([], "none", "Firestore not configured (FIRESTORE_PROJECT empty)")
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["doc"] = _fetch(project, env, timeout_s, emulator_host)
        except Exception as exc:  # credentials, network, permissions: all mean "use the local files"
            box["error"] = exc

    # A daemon thread, not a pool: a stuck call must never keep a short-lived process (the heartbeat) alive.
    worker = threading.Thread(target=work, name="firestore-nav", daemon=True)
    worker.start()
    worker.join(timeout_s + 0.5)
    if worker.is_alive():
        return NavSeries([], "none", f"Firestore did not answer within {timeout_s:.0f} s")
    if "error" in box:
        exc = box["error"]
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
        log.warning("Firestore NAV read failed: %s", reason)
        return NavSeries([], "none", f"Firestore unavailable ({reason})")
    pts = parse_nav_doc(box.get("doc"))
    if not pts:
        return NavSeries([], "none", f"Firestore hedge/{env}/state/nav has no NAV points")
    return NavSeries(pts, "firestore", f"{len(pts)} points from Firestore hedge/{env}/state/nav")


def nav_series(settings: Any, state_root: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[NavSeries, str]:
    """Firestore when configured and answering, else the local nav_log.jsonl; plus why Firestore was not used."""
    from dashboard.state_view import local_nav_series

    fs = read_nav_series(settings.FIRESTORE_PROJECT, settings.ENV, emulator_host=settings.FIRESTORE_EMULATOR_HOST,
                         timeout_s=timeout_s)
    if fs.points:
        return fs, ""
    return local_nav_series(state_root), fs.detail
