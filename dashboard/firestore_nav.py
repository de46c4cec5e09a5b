"""The one Firestore read of the project: the NAV series (docs/Telemetry_Format.md, docs/STATE_FILES.md).

Firestore is optional (FIRESTORE_PROJECT empty = local files only). Every call is bounded: the read runs
in a worker thread that is abandoned after `timeout_s` (credential discovery can otherwise stall on a
metadata-server lookup), and each request carries the same timeout with no retries.

Where the series is read, first found wins:
1. `hedge/{env}/nav_points/{t_ms}`, one document `{"t_ms": int, "nav_usd": float}` per point: what sync_state's
   mirror writes (execution/firestore_mirror.py). The newest MAX_POINTS are read once per process, then only
   the points after the last one already held (a year of hourly points is 8,760 billed document reads; a
   refresh every 30 s must not read them again).
2. The document `hedge/{env}/state/nav`: `{"nav_usd": float, "series": [{"t_ms": int, "nav_usd": float}, ...]}`;
   `points` is accepted for `series`, `nav`/`ts` for `nav_usd`/`t_ms` (seconds or milliseconds, or an ISO
   string); without a series, its own `nav_usd` at `as_of_ms` is one point.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

from dashboard.state_view import NavSeries, num, parse_iso_s
from execution.firestore_mirror import NAV_POINTS_COLLECTION as NAV_POINTS
from execution.firestore_mirror import ROOT_COLLECTION, STATE_COLLECTION

log = logging.getLogger("hedge.firestore")
DEFAULT_TIMEOUT_S = 3.0
MAX_POINTS = 10_000  # as many as the local nav_log.jsonl read (dashboard/state_view.local_nav_series)

# (project, env, emulator host) -> the nav_points series read so far, oldest first; and the client (one
# gRPC channel per process, not one per 30 s refresh)
_points_cache: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
_clients: dict[tuple[str, str], Any] = {}
_cache_lock = threading.Lock()


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
    for key in ("ts", "as_of_ms", "time", "updated_at"):
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


def _client(project: str, emulator_host: str) -> Any:
    with _cache_lock:
        client = _clients.get((project, emulator_host))
    if client is None:
        client = _new_client(project, emulator_host)
        with _cache_lock:
            _clients[(project, emulator_host)] = client
    return client


def _drop_client(project: str, emulator_host: str) -> None:
    """After a failure: the next read builds a fresh channel instead of waiting out gRPC's reconnect backoff."""
    with _cache_lock:
        client = _clients.pop((project, emulator_host), None)
    if client is not None:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing a broken channel may fail too
            pass


def _new_client(project: str, emulator_host: str) -> Any:
    import os

    from google.cloud import firestore  # deferred: importing it costs ~0.5 s and most runs never need it

    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if emulator_host:
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator_host  # the client reads it when it is built
    try:
        return firestore.Client(project=project)
    finally:
        if emulator_host:  # leave the process environment as it was
            if previous is None:
                os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
            else:
                os.environ["FIRESTORE_EMULATOR_HOST"] = previous


def _point_docs(query: Any, timeout_s: float) -> list[tuple[int, float]]:
    pts = []
    for snap in query.get(timeout=timeout_s, retry=None):
        d = snap.to_dict() or {}
        t, v = _ms_field(d), num(d.get("nav_usd", d.get("nav")))
        if t is not None and v is not None:
            pts.append((t, v))
    return pts


def _nav_points(db: Any, env: str, key: tuple[str, str, str], timeout_s: float) -> list[tuple[int, float]]:
    """The nav_points series: the newest MAX_POINTS on the first call, then only what came after."""
    from google.cloud import firestore

    points = db.collection(ROOT_COLLECTION).document(env).collection(NAV_POINTS)
    with _cache_lock:
        held = list(_points_cache.get(key, []))
    if held:
        new = _point_docs(points.where(filter=firestore.FieldFilter("t_ms", ">", held[-1][0]))
                          .order_by("t_ms").limit(MAX_POINTS), timeout_s)
        series = sorted(held + new)[-MAX_POINTS:] if len(new) < MAX_POINTS else []
    else:
        series = []
    if not series:  # first read, or more new points than one read holds: the newest MAX_POINTS
        series = sorted(_point_docs(points.order_by("t_ms", direction=firestore.Query.DESCENDING)
                                    .limit(MAX_POINTS), timeout_s))
    with _cache_lock:
        _points_cache[key] = series
    return series


def _fetch(project: str, env: str, timeout_s: float, emulator_host: str) -> tuple[list[tuple[int, float]], str]:
    """(points, where they were read): nav_points first, else the state/nav document."""
    db = _client(project, emulator_host)
    pts = _nav_points(db, env, (project, env, emulator_host), timeout_s)
    if pts:
        return pts, f"{ROOT_COLLECTION}/{env}/{NAV_POINTS}"
    snap = db.collection(ROOT_COLLECTION).document(env).collection(STATE_COLLECTION).document("nav").get(
        timeout=timeout_s, retry=None)
    return parse_nav_doc(snap.to_dict() if snap.exists else None), f"{ROOT_COLLECTION}/{env}/{STATE_COLLECTION}/nav"


def read_nav_series(project: str, env: str, *, emulator_host: str = "",
                    timeout_s: float = DEFAULT_TIMEOUT_S) -> NavSeries:
    """The Firestore NAV series, or NavSeries([], "none", reason) when unconfigured/unavailable/empty."""
    if not project:
        return NavSeries([], "none", "Firestore not configured (FIRESTORE_PROJECT empty)")
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["points"], box["where"] = _fetch(project, env, timeout_s, emulator_host)
        except Exception as exc:  # credentials, network, permissions: all mean "use the local files"
            box["error"] = exc
            _drop_client(project, emulator_host)

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
    pts = box["points"]
    if not pts:
        return NavSeries([], "none", f"Firestore has no NAV points ({ROOT_COLLECTION}/{env}/{NAV_POINTS} and "
                                     f"{ROOT_COLLECTION}/{env}/{STATE_COLLECTION}/nav are empty)")
    return NavSeries(pts, "firestore", f"{len(pts)} points from Firestore {box['where']}")


def nav_series(settings: Any, state_root: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[NavSeries, str]:
    """Firestore when configured and answering, else the local nav_log.jsonl; plus why Firestore was not used."""
    from dashboard.state_view import local_nav_series

    fs = read_nav_series(settings.FIRESTORE_PROJECT, settings.ENV, emulator_host=settings.FIRESTORE_EMULATOR_HOST,
                         timeout_s=timeout_s)
    if fs.points:
        return fs, ""
    return local_nav_series(state_root), fs.detail
