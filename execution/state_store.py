"""The one way every process writes and reads `logs/state/*.json` snapshots and `*.jsonl` event logs.

Snapshots are replaced atomically (temp file in the same directory + fsync + os.replace + directory
fsync), so a reader sees either the previous or the next complete file, never a torn one.
Event logs are append-only JSONL: each event is ONE os.write() of a full line on an O_APPEND descriptor,
under an flock shared by all appenders, so lines from several processes never interleave.
Readers never crash on bad data: a corrupt snapshot or a bad/partial event line is skipped with a
warning and the caller gets "no data" (or the last good value).

Values must be strict JSON: NaN/inf are refused at write time, and a file holding NaN, Infinity or a number
that overflows to infinity (1e999) is corrupt on read. Any failure to parse (including RecursionError from
content nested 100,000 deep) is "bad data", never an exception out of a reader.
Temp files left by writers killed mid-write are swept when a process first writes into a directory.
Decimals are written as strings (exact; read them back with Decimal(x)); dataclasses and pydantic models
become objects; datetimes ISO 8601.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: appends still use O_APPEND, just without the lock
    fcntl = None  # type: ignore[assignment]  # module or None: callers check before locking

from execution.state_json import StateValueError, as_object, dumps, strict_loads, utf8

log = logging.getLogger("hedge.state_store")

SCHEMA_VERSION = 1  # the snapshot envelope version this code writes and understands
META_KEYS = ("schema_version", "written_at", "writer")
_SNAPSHOT_SUFFIX = ".json"
_TMP_SUFFIX = ".tmp"
_READ_CHUNK = 64 * 1024
# A snapshot bigger than this is not a state file: refuse it instead of loading gigabytes into memory.
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
# Temp names are `.<target>.<pid>.<random><suffix>` so a sweep can tell a dead writer's leftovers from a
# live writer's file in flight (mkstemp's random part is 8 characters of [a-z0-9_]).
_TMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)\.[a-z0-9_]{8}(?P<suffix>\.[A-Za-z0-9_-]+)$")


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _configured_state_root() -> Path:
    from settings.env import load_env  # deferred: importing this module must not read .env

    return Path(load_env().STATE_ROOT)


def state_root(root: str | os.PathLike[str] | None = None) -> Path:
    """An explicit root wins; otherwise EnvSettings.STATE_ROOT (default logs/state), read once."""
    return Path(root) if root is not None else _configured_state_root()


def snapshot_path(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """`risk` or `risk.json` -> <root>/risk.json. Names are plain file names, never paths."""
    base = name[: -len(_SNAPSHOT_SUFFIX)] if name.endswith(_SNAPSHOT_SUFFIX) else name
    if not base or base.startswith(".") or "/" in base or "\\" in base or "\0" in base:
        raise ValueError(f"invalid snapshot name {name!r}: use a plain name such as 'risk'")
    return state_root(root) / f"{base}{_SNAPSHOT_SUFFIX}"


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable: without it a power cut can bring back the old file (or none).
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # not supported on this platform/filesystem; the replace is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(target: Path, data: bytes, *, fsync: bool = True, mode: int | None = None,
                       tmp_suffix: str = _TMP_SUFFIX) -> Path:
    """Temp file in the same directory, flush (+fsync), os.replace (+fsync of the directory).

    A reader sees the old file or the new one, never half of either. The one atomic writer of the project.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        # keep an existing file's mode; mkstemp makes 0600 and dashboards may run as another user
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    _sweep_once(target.parent, tmp_suffix)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=tmp_suffix)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if fsync:
        _fsync_dir(target.parent)
    return target


def write_snapshot(
    name: str,
    payload: Mapping[str, Any] | Any,
    *,
    root: str | os.PathLike[str] | None = None,
    writer: str | None = None,
    schema_version: int = SCHEMA_VERSION,
    fsync: bool = True,
    indent: int | None = 2,
) -> Path:
    """Atomically replace <root>/<name>.json with payload plus schema_version, written_at and writer.

    Payload keys stay at the top level (`jq .risk logs/state/risk.json`); metadata keys already in the
    payload (e.g. a snapshot read back and modified) are replaced with fresh values.
    """
    if isinstance(schema_version, bool) or not isinstance(schema_version, int) or schema_version < 1:
        raise ValueError(f"schema_version must be a positive int, got {schema_version!r}")
    body = as_object(payload, "a snapshot payload")
    doc: dict[str, Any] = {
        "schema_version": schema_version,
        "written_at": utc_now_iso(),
        "writer": writer or _default_writer(),
    }
    doc.update((k, v) for k, v in body.items() if k not in META_KEYS)
    try:
        data = utf8(dumps(doc, indent=indent) + "\n")
    except StateValueError as exc:
        raise StateValueError(f"snapshot {name!r}: {exc}") from None

    target = snapshot_path(name, root)
    return atomic_write_bytes(target, data, fsync=fsync, tmp_suffix=_TMP_SUFFIX)


def _default_writer() -> str:
    prog = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "python"
    return f"{prog}[{os.getpid()}]"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def sweep_temp_files(root: str | os.PathLike[str] | None = None, *, older_than_s: float = 3600,
                     tmp_suffix: str = _TMP_SUFFIX) -> int:
    """Delete temp files left by writers that died mid-write; returns how many were removed.

    A temp file is removed when the writer pid in its name is no longer running, or (names without a pid,
    or a pid reused by another process) when it is older than `older_than_s`. A live writer's file in
    flight is never touched, so several writer processes may share a directory.
    """
    removed = 0
    cutoff = time.time() - older_than_s
    directory = state_root(root)
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    for entry in entries:
        name = entry.name
        if not name.startswith(".") or not name.endswith(tmp_suffix):
            continue
        m = _TMP_RE.match(name)
        if m is None and not re.match(r"^\.[^.].*\..+" + re.escape(tmp_suffix) + "$", name):
            continue  # not one of ours (`.<target>.<random><suffix>`, the older naming)
        try:
            dead_writer = m is not None and m.group("suffix") == tmp_suffix and not _pid_alive(int(m.group("pid")))
            if dead_writer or entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except (FileNotFoundError, ValueError):
            pass
        except OSError as exc:
            log.warning("cannot remove leftover temp file %s: %s", entry.path, exc)
    return removed


_swept_dirs: set[tuple[str, str]] = set()


def _sweep_once(directory: Path, tmp_suffix: str) -> None:
    """On a process's first write into a directory, clear what killed writers left behind."""
    key = (os.path.abspath(directory), tmp_suffix)
    if key in _swept_dirs:
        return
    _swept_dirs.add(key)
    removed = sweep_temp_files(directory, tmp_suffix=tmp_suffix)
    if removed:
        log.info("removed %d temp file(s) left by killed writers in %s", removed, directory)


class SnapshotProblem(Exception):
    """Why a snapshot read gave no data: missing, corrupt or unsupported schema."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def _load_snapshot(path: Path, max_schema_version: int) -> tuple[dict[str, Any], float]:
    """(document, mtime) or SnapshotProblem. mtime comes from the descriptor we read, so they match."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            mtime = st.st_mtime
            if st.st_size > MAX_SNAPSHOT_BYTES:
                raise SnapshotProblem("corrupt", f"{path} is {st.st_size} bytes, over the {MAX_SNAPSHOT_BYTES} limit")
            raw = fh.read(MAX_SNAPSHOT_BYTES + 1)
    except FileNotFoundError:
        raise SnapshotProblem("missing", f"{path} does not exist") from None
    except OSError as exc:
        raise SnapshotProblem("unreadable", f"{path}: {exc}") from None
    if len(raw) > MAX_SNAPSHOT_BYTES:  # grew between fstat and read
        raise SnapshotProblem("corrupt", f"{path} is over the {MAX_SNAPSHOT_BYTES} byte limit")
    try:
        doc = strict_loads(raw)
    except RecursionError:
        raise SnapshotProblem("corrupt", f"{path} is nested too deeply to parse ({len(raw)} bytes)") from None
    except Exception as exc:  # noqa: BLE001 - whatever the parser raises, the file is bad data
        raise SnapshotProblem("corrupt", f"{path} is not valid JSON ({type(exc).__name__}: {str(exc)[:200]}; "
                                         f"{len(raw)} bytes)") from None
    if not isinstance(doc, dict):
        raise SnapshotProblem("corrupt", f"{path} holds a {type(doc).__name__}, not an object")
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SnapshotProblem("corrupt", f"{path} has no positive integer schema_version (got {str(version)[:40]!r})")
    if version > max_schema_version:
        raise SnapshotProblem(
            "unsupported_schema",
            f"{path} has schema_version {version} but this reader knows up to {max_schema_version}; "
            "upgrade the reader",
        )
    return doc, mtime


# Stateless read_snapshot() still warns once per (path, problem) until the file reads fine again.
_warned_problems: dict[str, str] = {}


def read_snapshot(
    name: str,
    default: Any = None,
    *,
    root: str | os.PathLike[str] | None = None,
    max_schema_version: int = SCHEMA_VERSION,
) -> Any:
    """The snapshot document (payload + metadata), or `default` when missing/corrupt/too new.

    A missing file is normal before the first write and is not warned about here; corrupt or
    too-new files log ONE warning until the file becomes readable again.
    """
    path = snapshot_path(name, root)
    key = str(path)
    try:
        doc, _ = _load_snapshot(path, max_schema_version)
    except SnapshotProblem as problem:
        if problem.kind != "missing" and _warned_problems.get(key) != problem.kind:
            log.warning("state snapshot unusable, treating as no data: %s", problem)
        _warned_problems[key] = problem.kind
        return default
    _warned_problems.pop(key, None)
    return doc


class SnapshotReader:
    """Polls one snapshot and keeps the LAST GOOD value through missing/corrupt/too-new files.

    `read()` returns the newest good document (or None if there never was one); a problem is warned
    about once when it starts (or changes kind), not on every poll. `age_seconds()` is measured from
    the mtime of the last good file, so a file that stays corrupt keeps ageing and trips staleness.
    """

    def __init__(
        self,
        name: str,
        *,
        root: str | os.PathLike[str] | None = None,
        max_schema_version: int = SCHEMA_VERSION,
        logger: logging.Logger | None = None,
    ):
        self.path = snapshot_path(name, root)
        self.max_schema_version = max_schema_version
        self._log = logger or log
        self.last_good: dict[str, Any] | None = None
        self.last_good_mtime: float | None = None
        self.problem: str | None = None  # kind of the current problem, None when the last read was good
        self.warnings = 0

    def read(self) -> dict[str, Any] | None:
        try:
            doc, mtime = _load_snapshot(self.path, self.max_schema_version)
        except SnapshotProblem as problem:
            if self.problem != problem.kind:
                self.warnings += 1
                keep = "keeping the last good value" if self.last_good is not None else "no data yet"
                self._log.warning("state snapshot unusable (%s): %s", keep, problem)
            self.problem = problem.kind
            return self.last_good
        if self.problem is not None:
            self._log.info("state snapshot %s readable again", self.path)
        self.problem = None
        self.last_good, self.last_good_mtime = doc, mtime
        return doc

    def payload(self) -> dict[str, Any] | None:
        """The last good document without the envelope keys."""
        doc = self.read()
        return None if doc is None else {k: v for k, v in doc.items() if k not in META_KEYS}

    def age_seconds(self, now: float | None = None) -> float | None:
        """Seconds since the last good file was written (None when there never was good data)."""
        if self.last_good_mtime is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.last_good_mtime)

    def is_stale(self, max_age_s: float, now: float | None = None) -> bool:
        """True when there is no good data or it is older than max_age_s (the stale-NAV veto input)."""
        age = self.age_seconds(now)
        return age is None or age > max_age_s


# --------------------------------------------------------------------------------------------------
# Event logs (JSONL)
# --------------------------------------------------------------------------------------------------

def encode_event(record: Mapping[str, Any] | Any, *, stamp: bool = True) -> bytes:
    """One newline-terminated JSON object. Adds `ts` (ISO UTC) unless the record has one."""
    body = as_object(record, "an event")
    if stamp and "ts" not in body:
        body = {"ts": utc_now_iso(), **body}
    return utf8(dumps(body) + "\n")  # compact JSON never contains a raw newline


def append_event(
    path: str | os.PathLike[str], record: Mapping[str, Any] | Any, *, fsync: bool = False, stamp: bool = True
) -> None:
    """Append one event as one line. Safe with several writer processes on the same file."""
    line = encode_event(record, stamp=stamp)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_RDWR only so we can peek at the last byte; with O_APPEND every write still lands at the end
    fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            # Serialise appenders so "does the file end with a newline?" and the write are one step
            # (another process's big write is not visible all at once). Released by close().
            fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        # A writer that crashed mid-line left no trailing newline: start a fresh line instead of gluing
        # onto the fragment (which readers then skip as one bad line).
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line
        written = os.write(fd, line)
        while written < len(line):  # regular files do not short-write in practice (disk full aside)
            written += os.write(fd, line[written:])
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


# Warn about a given bad line once per process, not on every poll that re-reads it.
_warned_bad_lines: dict[str, set[int]] = {}


def _parse_lines(chunk: bytes, base_offset: int) -> tuple[list[dict[str, Any]], list[int]]:
    """Parse complete lines of chunk (which must end with a newline). Returns (events, bad offsets)."""
    events: list[dict[str, Any]] = []
    bad: list[int] = []
    pos = 0
    for raw in chunk.split(b"\n")[:-1]:
        offset = base_offset + pos
        pos += len(raw) + 1
        text = raw.strip()
        if not text:
            continue
        try:
            value = strict_loads(text)
        except Exception:  # noqa: BLE001 - RecursionError, NaN, bad UTF-8...: whatever it is, a bad line
            bad.append(offset)
            continue
        if isinstance(value, dict):
            events.append(value)
        else:
            bad.append(offset)
    return events, bad


def _warn_bad(path: Path, ino: int, bad: list[int]) -> None:
    if not bad:
        return
    seen = _warned_bad_lines.setdefault(f"{path}@{ino}", set())  # inode: a rotated file starts afresh
    new = [o for o in bad if o not in seen]
    if new:
        seen.update(new)
        log.warning("skipped %d bad line(s) in %s (first at byte %d)", len(new), path, new[0])


def read_events(path: str | os.PathLike[str], since_offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete events after since_offset, and the offset to pass next time (for tailing).

    A last line without its newline (being written, or left by a crash) is not consumed: the returned
    offset stops before it. A file smaller than since_offset was truncated/rotated: read from 0.
    """
    target = Path(path)
    try:
        with open(target, "rb") as fh:
            st = os.fstat(fh.fileno())
            size = st.st_size
            if since_offset > size:
                log.info("%s shrank below offset %d (rotated?); reading from the start", target, since_offset)
                since_offset = 0
            fh.seek(since_offset)
            data = fh.read(size - since_offset)
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1  # 0 when there is no complete line yet
    events, bad = _parse_lines(data[:end], since_offset)
    _warn_bad(target, st.st_ino, bad)
    return events, since_offset + end


def tail_events(path: str | os.PathLike[str], n: int) -> list[dict[str, Any]]:
    """The last n valid events (oldest first), reading backwards so big logs stay cheap."""
    if n <= 0:
        return []
    target = Path(path)
    try:
        fh = open(target, "rb")
    except FileNotFoundError:
        return []
    with fh:
        st = os.fstat(fh.fileno())
        pos = st.st_size  # everything before pos is still unread
        pending = b""  # unparsed bytes starting at pos
        trimmed = False  # has a trailing partial line (no newline yet) been cut off?
        events: list[dict[str, Any]] = []
        bad_all: list[int] = []
        while pos > 0 and len(events) < n:
            new_pos = max(0, pos - _READ_CHUNK)
            fh.seek(new_pos)
            pending = fh.read(pos - new_pos) + pending
            pos = new_pos
            if not trimmed:
                last_nl = pending.rfind(b"\n")
                if last_nl < 0:
                    continue
                pending, trimmed = pending[: last_nl + 1], True
            if pos > 0:
                # bytes up to the first newline may continue a line that starts before pos: keep them
                cut = pending.find(b"\n") + 1
                complete, pending, base = pending[cut:], pending[:cut], pos + cut
            else:
                complete, pending, base = pending, b"", 0
            found, bad = _parse_lines(complete, base)
            events = found + events
            bad_all.extend(bad)
    _warn_bad(target, st.st_ino, bad_all)
    return events[-n:]
