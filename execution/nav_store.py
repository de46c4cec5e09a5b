"""peak_state.json and nav_log.jsonl: the persisted high-water mark and the bounded NAV series.

peak_state.json is written by two parties — hedge-sync_state every cycle and the operator reset command
(scripts/reset_peak.py) — so every read-modify-write holds an exclusive flock on `.peak_state.lock` in
the state directory; a reset is never overwritten by a cycle that read the old peak.
(docs/STATE_FILES.md, docs/v7.4_Risk_and_Methodology.md §2.1)
"""
from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.account import BadReading, PeakState, recover_peak
from core.numbers import to_decimal
from core.portfolio import NavPoint
from execution import state_store as ss

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None  # type: ignore[assignment]  # module or None: callers check before locking

log = logging.getLogger("hedge.sync_state")

PEAK_FILE = "peak_state"
NAV_LOG_FILE = "nav_log.jsonl"
_LOCK_FILE = ".peak_state.lock"


@contextlib.contextmanager
def peak_lock(root: Path, timeout_s: float = 10.0) -> Iterator[None]:
    """Exclusive lock for a read-modify-write of peak_state.json (bounded wait, then TimeoutError)."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{root / _LOCK_FILE} held for over {timeout_s}s") from None
                    time.sleep(0.02)
        yield
    finally:
        os.close(fd)


def load_peak(root: Path) -> tuple[PeakState | None, str]:
    """(state, problem). state None with problem "" = no file yet; with a problem = the file is unusable."""
    path = ss.snapshot_path(PEAK_FILE, root)
    if not path.exists():
        return None, ""
    doc = ss.read_snapshot(PEAK_FILE, root=root)
    if doc is None:
        return None, f"{path} is corrupt or unreadable"
    try:
        return PeakState.from_dict(doc), ""
    except BadReading as exc:
        return None, f"{path}: {exc.reason}"


def save_peak(root: Path, state: PeakState, writer: str) -> None:
    ss.write_snapshot(PEAK_FILE, state.to_dict(), root=root, writer=writer)


def quarantine(path: Path, now_ms: int) -> Path | None:
    """Move a corrupt file aside (kept for forensics, never parsed again); None if it vanished."""
    target = path.with_name(f"{path.name}.corrupt-{now_ms}")
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    return target


def recover_peak_state(root: Path, history: list[NavPoint], now_ms: int, writer: str,
                       published: list[Any]) -> PeakState:
    """peak_state.json is corrupt on start: rebuild the peak from what survives — the NAV log and the last
    published nav.json / risk.json peaks — never lower than any of them, so a damaged file cannot clear
    a tripped circuit. The bad file is kept as peak_state.json.corrupt-<ms>."""
    path = ss.snapshot_path(PEAK_FILE, root)
    moved = quarantine(path, now_ms)
    peak = recover_peak([p.nav_usd for p in history] + list(published))
    at = max((p.ts_ms for p in history if peak is not None and p.nav_usd == peak), default=None)
    state = PeakState(peak, at)
    save_peak(root, state, writer)
    log.warning("[sync_state] PEAK_RECOVERED peak_nav_usd=%s from nav_log and published files; corrupt file "
                "kept at %s", None if peak is None else float(peak), moved)
    return state


def reset_peak(root: Path, new_peak: Decimal, by: str, reason: str, now_iso: str,
               writer: str) -> tuple[PeakState | None, PeakState]:
    """The operator reset: set the high-water mark to `new_peak` (usually the current NAV). Returns (old, new)."""
    with peak_lock(root):
        old, problem = load_peak(root)
        base = old or PeakState()
        new = PeakState(new_peak, base.peak_at_ms if old and old.peak_nav_usd == new_peak else None,
                        now_iso, by, None)
        save_peak(root, new, writer)
    log.warning("[sync_state] PEAK_RESET by=%s reason=%r old_peak_nav_usd=%s new_peak_nav_usd=%s%s", by, reason,
                None if old is None or old.peak_nav_usd is None else float(old.peak_nav_usd), float(new_peak),
                f" (old file unusable: {problem})" if problem else "")
    return old, new


class NavLog:
    """nav_log.jsonl: one `{"ts","t_ms","nav_usd"}` line per sync, compacted to the newest `keep` points.

    Appends are single-line O_APPEND writes (readers tail it); compaction atomically replaces the file
    once it holds 10 % (at least 20 lines) more than `keep`, so it stays bounded.
    """

    def __init__(self, root: Path, keep: int):
        self.path = root / NAV_LOG_FILE
        self.keep = keep
        self.points: deque[NavPoint] = deque(maxlen=keep)
        self._lines = 0

    def load(self) -> list[NavPoint]:
        for ev in ss.tail_events(self.path, self.keep):
            try:
                t_ms, nav = ev["t_ms"], ev["nav_usd"]
                if isinstance(t_ms, int) and not isinstance(t_ms, bool) and isinstance(nav, (int, float)) \
                        and not isinstance(nav, bool):
                    self.points.append(NavPoint(t_ms, to_decimal(float(nav))))
            except (KeyError, TypeError, ValueError):
                continue
        try:
            with open(self.path, "rb") as fh:
                self._lines = sum(1 for _ in fh)
        except FileNotFoundError:
            self._lines = 0
        return list(self.points)

    def append(self, t_ms: int, nav_usd: Decimal) -> dict[str, Any]:
        if self.points and t_ms < self.points[-1].ts_ms:
            raise BadReading("time_backwards", f"market time {t_ms} is before the last NAV point "
                                               f"{self.points[-1].ts_ms}")
        record = {"ts": ss.utc_now_iso(), "t_ms": t_ms, "nav_usd": float(nav_usd)}
        ss.append_event(self.path, record)
        self.points.append(NavPoint(t_ms, nav_usd))
        self._lines += 1
        if self._lines > self.keep + max(20, self.keep // 10):
            self.compact()
        return record

    def start_new_timeline(self, now_ms: int) -> Path:
        """The market clock moved back for good (a replay venue restarted from its start): keep the old
        series as nav_log.jsonl.<ms> and begin a new one. The high-water mark is NOT touched."""
        archived = self.path.with_name(f"{self.path.name}.{now_ms}")
        try:
            os.replace(self.path, archived)
        except FileNotFoundError:
            pass
        self.points.clear()
        self._lines = 0
        return archived

    def compact(self) -> None:
        tail = ss.tail_events(self.path, self.keep)
        data = b"".join(ss.encode_event(ev, stamp=False) for ev in tail)
        ss.atomic_write_bytes(self.path, data, fsync=True, tmp_suffix=".tmp")
        self._lines = len(tail)


@dataclass(frozen=True)
class NavInputs:
    """What a risk check needs from sync_state's files (the executor builds its PortfolioSnapshot from it):
    `nav_history` (newest `window` points, oldest first), `hwm_nav_usd` (peak_state.json; when that is absent
    or unusable, the highest peak nav.json / risk.json published), and nav.json's freshness: `stale` (true also
    when nav.json is missing or unusable), `stale_reason`, `as_of_ms` (market time of the last good figures,
    None without any)."""

    nav_history: tuple[NavPoint, ...]
    hwm_nav_usd: Decimal | None
    stale: bool
    stale_reason: str
    as_of_ms: int | None


def read_nav_inputs(root: Path, window: int) -> NavInputs:
    """Read nav_log.jsonl, peak_state.json and nav.json as the executor should: never raises on bad files."""
    log_ = NavLog(Path(root), max(1, int(window)))
    history = tuple(log_.load())
    peak, _ = load_peak(Path(root))
    nav = ss.read_snapshot("nav", root=root)
    hwm = peak.peak_nav_usd if peak else None
    if hwm is None:  # peak_state.json unusable: the published peaks, never a lower guess
        risk = ss.read_snapshot("risk", root=root) or {}
        hwm = recover_peak([(nav or {}).get("peak_nav_usd"), (risk.get("risk") or {}).get("peak_nav_usd")])
    if nav is None:
        return NavInputs(history, hwm, True, "nav.json missing or unusable", None)
    as_of = nav.get("as_of_ms")
    as_of = as_of if isinstance(as_of, int) and not isinstance(as_of, bool) else None
    return NavInputs(history, hwm, nav.get("stale") is not False,
                     str(nav.get("stale_reason", "")), as_of)
