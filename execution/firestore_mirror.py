"""Mirror of sync_state's files to Firestore (runbook 001: `hedge/{env}/state/{nav,positions,risk,...}`).

Local files stay the source of truth; Firestore is a best-effort copy for remote readers:

- `publish(name, doc)` and `append_nav(point)` only record what to send (O(1), under a lock) and return;
  a background worker does every network call, each with a bounded timeout and no library retries. So a
  Firestore outage never stops or slows the sync loop.
- State documents are coalesced (only the newest version of each is sent); NAV points wait in a bounded
  queue (oldest dropped, counted, when it is full). Points are documents keyed by their market time
  (`hedge/{env}/nav_points/{t_ms}`), so a re-send after an ambiguous failure never duplicates one.
- On failure the mirror is DEGRADED (one `[sync_state] FIRESTORE_DEGRADED` warning), backs off up to
  `max_backoff_s`, and when Firestore answers again it catches up — the latest documents and every queued
  point — and logs `[sync_state] FIRESTORE_RECOVERED`.
(docs/STATE_FILES.md "Firestore mirror")
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("hedge.sync_state")

ROOT_COLLECTION = "hedge"
STATE_COLLECTION = "state"
NAV_POINTS_COLLECTION = "nav_points"
BATCH_LIMIT = 400  # Firestore allows 500 writes per commit


class FirestoreMirror:
    def __init__(self, client_factory: Callable[[], Any], env: str, *, queue_max: int = 5000,
                 timeout_s: float = 3.0, max_backoff_s: float = 30.0, idle_s: float = 1.0):
        self._factory = client_factory
        self.env = env
        self.timeout_s = timeout_s
        self.max_backoff_s = max_backoff_s
        self._idle_s = idle_s
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._docs: dict[str, dict] = {}  # name -> newest unsent version
        self._points: deque[dict] = deque(maxlen=queue_max)
        self.dropped_points = 0
        self.sent_docs = 0
        self.sent_points = 0
        self.degraded_since: float | None = None
        self.last_error = ""
        self._client: Any = None
        self._thread = threading.Thread(target=self._run, name="firestore-mirror", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- called by the sync loop
    def publish(self, name: str, doc: dict) -> None:
        with self._lock:
            self._docs[name] = doc
        self._wake.set()

    def append_nav(self, point: dict) -> None:
        with self._lock:
            if len(self._points) == self._points.maxlen:
                self.dropped_points += 1
                if self.dropped_points == 1 or self.dropped_points % 1000 == 0:
                    log.warning("[sync_state] FIRESTORE queue full: %d oldest NAV point(s) dropped so far "
                                "(local nav_log.jsonl keeps them)", self.dropped_points)
            self._points.append(point)
        self._wake.set()

    def status(self) -> dict[str, Any]:
        with self._lock:
            since = self.degraded_since
            return {"enabled": True, "ok": since is None,
                    "degraded_for_s": None if since is None else round(time.monotonic() - since, 3),
                    "pending_docs": len(self._docs), "pending_nav_points": len(self._points),
                    "dropped_nav_points": self.dropped_points, "last_error": self.last_error}

    def close(self, timeout: float = 2.0) -> None:
        """Stop the worker after one last bounded attempt to flush (never blocks longer than `timeout`)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """Tests and drills: True once everything queued has been sent."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._docs and not self._points and self.degraded_since is None:
                    return True
            time.sleep(0.05)
        return False

    # ----------------------------------------------------------------- the worker
    def _run(self) -> None:
        backoff = 0.0
        while True:
            self._wake.wait(backoff or self._idle_s)
            self._wake.clear()
            stopping = self._stop.is_set()
            try:
                self._flush()
            except Exception as exc:  # noqa: BLE001 - any failure is an outage; the loop must not care
                self._degraded(exc)
                self._drop_client()  # a fresh channel next time: no waiting out gRPC's reconnect backoff
                backoff = min(self.max_backoff_s, max(0.5, backoff * 2))
            else:
                backoff = 0.0
            if stopping:
                return

    def _flush(self) -> None:
        with self._lock:
            docs = dict(self._docs)
            points = list(self._points)
        if not docs and not points:
            return
        if self._client is None:
            self._client = self._factory()
        db = self._client
        base = db.collection(ROOT_COLLECTION).document(self.env)
        for start in range(0, max(len(points), 1), BATCH_LIMIT):
            chunk = points[start:start + BATCH_LIMIT]
            batch = db.batch()
            if start == 0:
                for name, doc in docs.items():
                    batch.set(base.collection(STATE_COLLECTION).document(name), _clean(doc))
            for p in chunk:
                batch.set(base.collection(NAV_POINTS_COLLECTION).document(str(int(p["t_ms"]))), _clean(p))
            batch.commit(retry=None, timeout=self.timeout_s)
            with self._lock:
                if start == 0:
                    for name, doc in docs.items():
                        if self._docs.get(name) is doc:  # not replaced by a newer version meanwhile
                            del self._docs[name]
                    self.sent_docs += len(docs)
                for p in chunk:  # sent points are at the front unless an overflow already dropped them
                    if self._points and self._points[0] is p:
                        self._points.popleft()
                self.sent_points += len(chunk)
        if self.degraded_since is not None:
            log.warning("[sync_state] FIRESTORE_RECOVERED after %.1fs: caught up %d document(s), %d NAV point(s)",
                        time.monotonic() - self.degraded_since, len(docs), len(points))
            with self._lock:
                self.degraded_since = None
                self.last_error = ""

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing a broken channel may fail too
                pass

    def _degraded(self, exc: BaseException) -> None:
        text = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        with self._lock:
            first = self.degraded_since is None
            if first:
                self.degraded_since = time.monotonic()
            self.last_error = text
        if first:
            log.warning("[sync_state] FIRESTORE_DEGRADED %s: local files stay current; retrying in the "
                        "background", text)


def _clean(doc: dict) -> dict:
    """Firestore has no nested arrays; our documents have none, but never let one stop the mirror."""
    def fix(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [({"items": fix(x)} if isinstance(x, list) else fix(x)) for x in v]
        return v
    return fix(doc)


def mirror_from_settings(settings: Any, **kwargs: Any) -> FirestoreMirror | None:
    """A mirror when FIRESTORE_PROJECT is set (else None: the mirror is optional). The client is built in
    the worker thread, so missing credentials degrade the mirror instead of failing the process."""
    project = getattr(settings, "FIRESTORE_PROJECT", "")
    if not project:
        return None
    emulator = getattr(settings, "FIRESTORE_EMULATOR_HOST", "")
    if emulator:  # the client library reads it from the process environment
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator

    def factory() -> Any:
        from google.cloud import firestore

        return firestore.Client(project=project)

    log.info("[sync_state] FIRESTORE mirror to %s/%s/%s (project %s%s)", ROOT_COLLECTION, settings.ENV,
             STATE_COLLECTION, project, f", emulator {emulator}" if emulator else "")
    return FirestoreMirror(factory, settings.ENV, **kwargs)
