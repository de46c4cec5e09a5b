"""execution/state_store.py: atomic snapshots, last-good readers, append-only JSONL event logs."""
from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import random
import stat
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from execution import state_store as ss

SPAWN = multiprocessing.get_context("spawn")  # fresh interpreters: no inherited locks or handlers
STORE_LOGGER = "hedge.state_store"


@pytest.fixture(autouse=True)
def _fresh_warning_memory():
    ss._warned_problems.clear()
    ss._warned_bad_lines.clear()
    yield


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == STORE_LOGGER and r.levelno == logging.WARNING]


# ------------------------------------------------------------------------------------------ snapshots

def test_snapshot_round_trip_carries_schema_version_written_at_and_writer(tmp_path):
    path = ss.write_snapshot("risk", {"risk": {"portfolio_dd_pct": 0.02}}, root=tmp_path, writer="sync_state")
    assert path == tmp_path / "risk.json"
    doc = ss.read_snapshot("risk", root=tmp_path)
    assert doc["risk"] == {"portfolio_dd_pct": 0.02}
    assert doc["schema_version"] == ss.SCHEMA_VERSION and type(doc["schema_version"]) is int
    assert doc["writer"] == "sync_state"
    written = dt.datetime.fromisoformat(doc["written_at"].replace("Z", "+00:00"))
    assert written.tzinfo is not None and written.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.UTC) - written).total_seconds()) < 5
    # the file itself is plain JSON that jq can read: payload keys at the top level
    assert json.loads(path.read_text())["risk"]["portfolio_dd_pct"] == 0.02
    assert ss.read_snapshot("risk.json", root=tmp_path) == doc  # the suffix is optional


def test_snapshot_defaults_writer_and_replaces_stale_metadata(tmp_path):
    ss.write_snapshot("nav", {"nav": 1.0}, root=tmp_path)
    first = ss.read_snapshot("nav", root=tmp_path)
    assert first["writer"]  # program[pid]
    first["nav"] = 2.0
    first["schema_version"] = 99  # a document read back and re-written must not keep old metadata
    ss.write_snapshot("nav", first, root=tmp_path, schema_version=2)
    second = ss.read_snapshot("nav", root=tmp_path, max_schema_version=2)
    assert second["nav"] == 2.0 and second["schema_version"] == 2


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x\\y"])
def test_snapshot_names_are_plain_file_names(tmp_path, name):
    with pytest.raises(ValueError):
        ss.write_snapshot(name, {"a": 1}, root=tmp_path)


@pytest.mark.parametrize(
    "bad, where",
    [
        ({"risk": {"dd": float("nan")}}, "$.risk.dd"),
        ({"nav": float("inf")}, "$.nav"),
        ({"series": [1.0, 2.0, float("-inf")]}, "$.series[2]"),
        ({"qty": Decimal("NaN")}, "$.qty"),
        ({"qty": Decimal("Infinity")}, "$.qty"),
    ],
)
def test_nan_and_inf_are_rejected_with_the_field_named_and_nothing_written(tmp_path, bad, where):
    ss.write_snapshot("risk", {"ok": True}, root=tmp_path)
    before = (tmp_path / "risk.json").read_bytes()
    with pytest.raises(ss.StateValueError) as err:
        ss.write_snapshot("risk", bad, root=tmp_path)
    assert where in str(err.value) and "invalid JSON" in str(err.value)
    assert (tmp_path / "risk.json").read_bytes() == before  # old snapshot untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["risk.json"]  # no temp file left behind
    with pytest.raises(ss.StateValueError):
        ss.append_event(tmp_path / "events.jsonl", bad)
    assert not (tmp_path / "events.jsonl").exists()


def test_unsupported_types_are_a_clear_error(tmp_path):
    with pytest.raises(ss.StateValueError, match=r"\$\.blob: cannot write a bytes"):
        ss.write_snapshot("x", {"blob": b"\x00"}, root=tmp_path)
    with pytest.raises(ss.StateValueError, match="must be an object"):
        ss.write_snapshot("x", [1, 2], root=tmp_path)


@dataclass(frozen=True)
class _Fill:
    symbol: str
    qty: Decimal
    price: float
    at: dt.datetime


class _Intent(BaseModel):
    symbol: str
    qty: Decimal
    fills: list[dict]


def test_decimals_dataclasses_and_pydantic_models_serialize_sensibly(tmp_path):
    at = dt.datetime(2025, 8, 22, 8, 0, tzinfo=dt.UTC)
    fill = _Fill("BTCUSDT", Decimal("0.001"), 65000.5, at)
    intent = _Intent(symbol="ETHUSDT", qty=Decimal("0.042"), fills=[{"p": Decimal("1.10")}])
    ss.write_snapshot("positions", {"fill": fill, "intent": intent, "tags": {"b", "a"}, "path": Path("x/y")},
                      root=tmp_path)
    doc = ss.read_snapshot("positions", root=tmp_path)
    # Decimals are exact strings (read back with Decimal(x)), never a lossy float
    assert doc["fill"] == {"symbol": "BTCUSDT", "qty": "0.001", "price": 65000.5, "at": "2025-08-22T08:00:00+00:00"}
    assert doc["intent"] == {"symbol": "ETHUSDT", "qty": "0.042", "fills": [{"p": "1.10"}]}
    assert doc["tags"] == ["a", "b"] and doc["path"] == "x/y"
    assert Decimal(doc["fill"]["qty"]) == Decimal("0.001")
    # a dataclass can be the whole payload / event
    ss.write_snapshot("fill", fill, root=tmp_path)
    assert ss.read_snapshot("fill", root=tmp_path)["qty"] == "0.001"
    ss.append_event(tmp_path / "fills.jsonl", fill)
    assert ss.tail_events(tmp_path / "fills.jsonl", 1)[0]["symbol"] == "BTCUSDT"


def test_missing_snapshot_is_none_or_default_without_warning(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=STORE_LOGGER)
    assert ss.read_snapshot("risk", root=tmp_path) is None
    assert ss.read_snapshot("risk", default={}, root=tmp_path) == {}
    assert _warnings(caplog) == []


def test_corrupt_snapshot_warns_once_and_reader_keeps_last_good(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=STORE_LOGGER)
    reader = ss.SnapshotReader("nav", root=tmp_path)
    ss.write_snapshot("nav", {"nav": 100.0}, root=tmp_path)
    assert reader.payload() == {"nav": 100.0}

    (tmp_path / "nav.json").write_text('{"schema_version": 1, "nav": 1')  # torn by some other tool
    for _ in range(50):  # a dashboard polling
        assert reader.read()["nav"] == 100.0
        assert ss.read_snapshot("nav", root=tmp_path) is None
    warnings = _warnings(caplog)
    assert len(warnings) == 2, warnings  # one from the reader, one from read_snapshot; not one per poll
    assert reader.warnings == 1 and reader.problem == "corrupt"
    assert any("keeping the last good value" in w for w in warnings)

    ss.write_snapshot("nav", {"nav": 101.0}, root=tmp_path)  # recovered
    assert reader.read()["nav"] == 101.0 and reader.problem is None
    (tmp_path / "nav.json").write_text("")  # breaks again: a new incident, a new warning
    assert reader.read()["nav"] == 101.0
    (tmp_path / "nav.json").unlink()  # a different problem (missing) is worth one more warning
    assert reader.read()["nav"] == 101.0
    assert reader.warnings == 3


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', '{"nav": 1}', '{"schema_version": "1"}',
                                     '{"schema_version": true}', "\xff\xfe", "NaN"])
def test_non_object_or_unversioned_files_are_corrupt(tmp_path, content, caplog):
    (tmp_path / "intel.json").write_bytes(content.encode("latin-1"))
    assert ss.read_snapshot("intel", default="none", root=tmp_path) == "none"
    reader = ss.SnapshotReader("intel", root=tmp_path)
    assert reader.read() is None and reader.problem == "corrupt"


def test_newer_schema_version_is_treated_as_no_data(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=STORE_LOGGER)
    reader = ss.SnapshotReader("router", root=tmp_path)
    ss.write_snapshot("router", {"twap_trades_count": 1}, root=tmp_path)
    assert reader.read()["twap_trades_count"] == 1
    ss.write_snapshot("router", {"twap_trades_count": 2}, root=tmp_path, schema_version=ss.SCHEMA_VERSION + 1)
    assert reader.read()["twap_trades_count"] == 1  # last good, not the format we cannot read
    assert reader.problem == "unsupported_schema"
    assert ss.read_snapshot("router", root=tmp_path) is None
    assert any("upgrade the reader" in w for w in _warnings(caplog))
    # a reader that knows the new version reads it
    assert ss.read_snapshot("router", root=tmp_path, max_schema_version=ss.SCHEMA_VERSION + 1)["twap_trades_count"] == 2


def test_reader_age_and_staleness_follow_the_last_good_file(tmp_path):
    reader = ss.SnapshotReader("nav", root=tmp_path)
    assert reader.read() is None and reader.age_seconds() is None and reader.is_stale(3600)
    path = ss.write_snapshot("nav", {"nav": 1.0}, root=tmp_path)
    old = time.time() - 120
    os.utime(path, (old, old))
    reader.read()
    assert 119 <= reader.age_seconds() <= 130
    assert reader.is_stale(60) and not reader.is_stale(600)
    path.write_text("garbage")  # corrupt: the age keeps counting from the last good write
    reader.read()
    assert reader.age_seconds(now=old + 1000) == pytest.approx(1000, abs=1)
    ss.write_snapshot("nav", {"nav": 2.0}, root=tmp_path)
    reader.read()
    assert reader.age_seconds() < 5 and not reader.is_stale(60)


def test_staleness_boundary_is_strictly_older_than_the_limit(tmp_path):
    reader = ss.SnapshotReader("nav", root=tmp_path)
    ss.write_snapshot("nav", {"nav": 1.0}, root=tmp_path)
    reader.read()
    written = reader.last_good_mtime
    assert reader.age_seconds(now=written + 60) == 60
    assert not reader.is_stale(60, now=written + 60)  # exactly the limit: still fresh
    assert reader.is_stale(60, now=written + 60.5)
    assert reader.age_seconds(now=written - 5) == 0.0  # a clock behind the file never gives a negative age


def _durability_trace(monkeypatch):
    """Record fsync / replace calls in order, each still done for real."""
    trace: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        trace.append(("fsync", "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"))
        return real_fsync(fd)

    def replace(src, dst):
        trace.append(("replace", Path(dst).name))
        return real_replace(src, dst)

    monkeypatch.setattr(ss.os, "fsync", fsync)
    monkeypatch.setattr(ss.os, "replace", replace)
    return trace


def test_snapshot_is_fsynced_before_the_rename_and_the_directory_after(tmp_path, monkeypatch):
    trace = _durability_trace(monkeypatch)
    ss.write_snapshot("risk", {"a": 1}, root=tmp_path)
    # data on disk before it becomes visible under the real name; the rename itself made durable after
    assert trace == [("fsync", "file"), ("replace", "risk.json"), ("fsync", "dir")]
    trace.clear()
    ss.write_snapshot("risk", {"a": 2}, root=tmp_path, fsync=False)  # opt-out (tests, hot paths): no fsync
    assert trace == [("replace", "risk.json")]
    assert ss.read_snapshot("risk", root=tmp_path)["a"] == 2


def test_failed_replace_keeps_the_old_snapshot_and_leaves_no_temp_file(tmp_path, monkeypatch):
    ss.write_snapshot("risk", {"a": 1}, root=tmp_path)
    before = (tmp_path / "risk.json").read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(ss.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        ss.write_snapshot("risk", {"a": 2}, root=tmp_path)
    assert (tmp_path / "risk.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["risk.json"]


def test_file_mode_is_0644_for_a_new_file_and_kept_for_an_existing_one(tmp_path):
    path = ss.write_snapshot("risk", {"a": 1}, root=tmp_path)
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600: the dashboard may run as another user
    path.chmod(0o640)
    ss.write_snapshot("risk", {"a": 2}, root=tmp_path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_sweep_removes_only_old_temp_files(tmp_path):
    ss.write_snapshot("risk", {"a": 1}, root=tmp_path)
    stale = tmp_path / ".risk.json.abc.tmp"
    fresh = tmp_path / ".risk.json.def.tmp"
    stale.write_text("x")
    fresh.write_text("x")
    os.utime(stale, (time.time() - 7200,) * 2)
    assert ss.sweep_temp_files(tmp_path) == 1
    assert not stale.exists() and fresh.exists() and (tmp_path / "risk.json").exists()


def test_state_root_comes_from_settings_when_not_given(tmp_path, monkeypatch):
    monkeypatch.setattr(ss, "_configured_state_root", lambda: tmp_path / "configured")
    ss.write_snapshot("risk", {"a": 1})
    assert (tmp_path / "configured" / "risk.json").exists()
    assert ss.state_root(tmp_path) == tmp_path


def _hammer_writer(root: str, ready, done, count: int, queue) -> None:
    rng = random.Random(7)
    ready.wait(30)
    writes = 0
    while writes < count:  # a fixed amount of work, not a rate: speed is for benchmarks/, not tests
        size = rng.choice((0, 10, 300, 4_000, 20_000, 150_000))  # crosses page and buffer sizes
        ss.write_snapshot("nav", {"seq": writes, "size": size, "blob": "x" * size}, root=root,
                          writer="hammer", fsync=writes % 8 == 0, indent=None if writes % 2 else 2)
        writes += 1
    done.set()
    queue.put(("writer", writes))


def _hammer_reader(root: str, ready, done, queue) -> None:
    path = Path(root) / "nav.json"
    reader = ss.SnapshotReader("nav", root=root)
    reads = torn = 0
    last_seq = -1
    ready.set()
    while not done.is_set():
        raw = path.read_bytes()  # the raw bytes, as any other tool would see them
        try:
            doc = json.loads(raw)
            ok = len(doc["blob"]) == doc["size"] and doc["schema_version"] == 1
        except (ValueError, KeyError):
            ok = False
        via_reader = reader.read()
        if not ok or via_reader is None or len(via_reader["blob"]) != via_reader["size"]:
            torn += 1
        elif via_reader["seq"] < last_seq:  # replacement is ordered: never step back in time
            torn += 1
        else:
            last_seq = via_reader["seq"]
        reads += 1
    queue.put(("reader", (reads, torn, reader.warnings)))


HAMMER_WRITES = 800


def test_concurrent_writer_and_reader_processes_never_see_a_torn_snapshot(tmp_path):
    ss.write_snapshot("nav", {"seq": -1, "size": 0, "blob": ""}, root=tmp_path)
    ready, done, queue = SPAWN.Event(), SPAWN.Event(), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_hammer_reader, args=(str(tmp_path), ready, done, queue)),
        SPAWN.Process(target=_hammer_writer, args=(str(tmp_path), ready, done, HAMMER_WRITES, queue)),
    ]
    for p in procs:
        p.start()
    results = dict(queue.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    reads, torn, warnings = results["reader"]
    assert results["writer"] == HAMMER_WRITES, results
    assert reads >= 20, results  # the reader ran alongside the writer
    assert torn == 0 and warnings == 0, results
    assert [p.name for p in tmp_path.iterdir()] == ["nav.json"]  # no temp files left


# ------------------------------------------------------------------------------------------ event logs

def test_append_and_tail_by_offset(tmp_path):
    log_path = tmp_path / "execution" / "twap_events.jsonl"  # parent directories are created
    events, offset = ss.read_events(log_path)
    assert (events, offset) == ([], 0)
    ss.append_event(log_path, {"execution_style": "twap", "slice_index": 0, "slice_count": 4})
    ss.append_event(log_path, {"execution_style": "twap", "slice_index": 1, "slice_count": 4}, fsync=True)
    events, offset = ss.read_events(log_path)
    assert [e["slice_index"] for e in events] == [0, 1]
    assert all("ts" in e for e in events)
    assert offset == log_path.stat().st_size
    assert ss.read_events(log_path, offset) == ([], offset)
    ss.append_event(log_path, {"slice_index": 2, "ts": "given"}, stamp=True)
    more, offset2 = ss.read_events(log_path, offset)
    assert more == [{"slice_index": 2, "ts": "given"}] and offset2 > offset
    lines = log_path.read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line) for line in lines[:-1])  # one object per line


def test_partial_last_line_is_skipped_and_the_next_append_is_intact(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=STORE_LOGGER)
    log_path = tmp_path / "nav_log.jsonl"
    ss.append_event(log_path, {"nav": 1})
    with open(log_path, "ab") as fh:  # a writer killed in the middle of its line
        fh.write(b'{"nav": 2, "pad": "xxxx')
    events, offset = ss.read_events(log_path)
    assert [e["nav"] for e in events] == [1]
    assert offset < log_path.stat().st_size  # the fragment is not consumed: it may still be completed
    assert [e["nav"] for e in ss.tail_events(log_path, 5)] == [1]

    ss.append_event(log_path, {"nav": 3})
    raw = log_path.read_bytes()
    assert raw.endswith(b'\n{"ts"') is False and b'xxxx\n{"ts":' in raw  # started on a fresh line
    more, offset = ss.read_events(log_path, offset)
    assert [e["nav"] for e in more] == [3]
    assert offset == log_path.stat().st_size
    assert [e["nav"] for e in ss.tail_events(log_path, 5)] == [1, 3]
    assert [e["nav"] for e in ss.read_events(log_path)[0]] == [1, 3]
    assert any("skipped 1 bad line" in w for w in _warnings(caplog))


def test_bad_lines_are_skipped_with_one_counted_warning(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger=STORE_LOGGER)
    log_path = tmp_path / "events.jsonl"
    log_path.write_bytes(b'{"i": 0}\nnot json\n\n[1, 2]\n{"i": 1}\n\xff\xfe\n   \n{"i": 2}\r\n')
    for _ in range(3):  # polling the same bytes does not repeat the warning
        events, _ = ss.read_events(log_path)
        assert [e["i"] for e in events] == [0, 1, 2]
        assert [e["i"] for e in ss.tail_events(log_path, 10)] == [0, 1, 2]
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "skipped 3 bad line(s)" in warnings[0]


def test_tail_events_reads_backwards_across_chunks(tmp_path):
    log_path = tmp_path / "big.jsonl"
    with open(log_path, "wb") as fh:
        for i in range(3000):
            fh.write(ss.encode_event({"i": i, "pad": "y" * (i % 500)}))
    with open(log_path, "ab") as fh:
        fh.write(b'{"i": "partial')
    assert log_path.stat().st_size > 4 * ss._READ_CHUNK
    assert [e["i"] for e in ss.tail_events(log_path, 3)] == [2997, 2998, 2999]
    assert [e["i"] for e in ss.tail_events(log_path, 500)] == list(range(2500, 3000))
    assert [e["i"] for e in ss.tail_events(log_path, 10_000)] == list(range(3000))
    assert ss.tail_events(log_path, 0) == [] and ss.tail_events(tmp_path / "none.jsonl", 5) == []
    # a single huge line bigger than a chunk
    huge = tmp_path / "huge.jsonl"
    ss.append_event(huge, {"i": "a"})
    ss.append_event(huge, {"i": "b", "pad": "z" * (3 * ss._READ_CHUNK)})
    assert [e["i"] for e in ss.tail_events(huge, 2)] == ["a", "b"]


def test_read_events_restarts_when_the_file_was_truncated(tmp_path):
    log_path = tmp_path / "events.jsonl"
    for i in range(10):
        ss.append_event(log_path, {"i": i})
    _, offset = ss.read_events(log_path)
    log_path.unlink()  # rotated away
    assert ss.read_events(log_path, offset) == ([], 0)
    ss.append_event(log_path, {"i": "new"})
    events, _ = ss.read_events(log_path, offset)
    assert [e["i"] for e in events] == ["new"]


def test_append_waits_for_the_lock_other_appenders_hold(tmp_path):
    """The flock makes "does the file end with a newline?" + write one step across processes."""
    import fcntl
    import threading

    path = tmp_path / "locked.jsonl"
    path.write_bytes(b'{"i": 0}\n')
    holder = os.open(path, os.O_WRONLY | os.O_APPEND)  # another open file description: excluded like a process
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        t = threading.Thread(target=ss.append_event, args=(path, {"i": 1}))
        t.start()
        t.join(0.3)
        assert t.is_alive() and path.read_bytes() == b'{"i": 0}\n'  # blocked, nothing written
        os.write(holder, b'{"i": "half')  # the holder leaves a partial line behind ...
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    t.join(10)
    assert not t.is_alive()
    # ... and the waiting appender, judging the file only once it holds the lock, starts on a fresh line
    assert path.read_bytes().startswith(b'{"i": 0}\n{"i": "half\n{"ts":')
    assert [e["i"] for e in ss.read_events(path)[0]] == [0, 1]


def _appender(path: str, writer: int, count: int, ready) -> None:
    rng = random.Random(writer)
    ready.wait(30)
    for seq in range(count):
        # some lines are far bigger than PIPE_BUF (4096): O_APPEND on a regular file keeps them whole
        ss.append_event(path, {"writer": writer, "seq": seq, "pad": "p" * rng.choice((0, 50, 900, 6000, 20000))})


def test_two_processes_appending_concurrently_lose_and_interleave_nothing(tmp_path):
    path = tmp_path / "shared.jsonl"
    count = 1500
    ready = SPAWN.Event()
    procs = [SPAWN.Process(target=_appender, args=(str(path), w, count, ready)) for w in (1, 2)]
    for p in procs:
        p.start()
    ready.set()
    # tail while they write: every event must arrive exactly once, in each writer's order
    seen: list[dict] = []
    offset = 0
    deadline = time.monotonic() + 60
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        batch, offset = ss.read_events(path, offset)
        seen.extend(batch)
        time.sleep(0.005)
    for p in procs:
        p.join(10)
        assert p.exitcode == 0
    batch, offset = ss.read_events(path, offset)
    seen.extend(batch)

    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    parsed = [json.loads(line) for line in lines[:-1]]  # every line is valid JSON
    assert len(parsed) == 2 * count
    assert sorted((e["writer"], e["seq"]) for e in parsed) == [(w, s) for w in (1, 2) for s in range(count)]
    assert len(seen) == 2 * count
    for w in (1, 2):
        assert [e["seq"] for e in seen if e["writer"] == w] == list(range(count))


# ------------------------------------------------------------------------------------------ properties

_json_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=20) | st.floats(
    allow_nan=False, allow_infinity=False
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(st.text(min_size=1, max_size=10).filter(lambda k: k not in ss.META_KEYS),
                               _json_values, max_size=5))
def test_any_json_payload_round_trips_exactly(tmp_path, payload):
    ss.write_snapshot("prop", payload, root=tmp_path, fsync=False)
    doc = ss.read_snapshot("prop", root=tmp_path)
    assert {k: v for k, v in doc.items() if k not in ss.META_KEYS} == payload
    line = ss.encode_event(payload, stamp=False)
    assert line.count(b"\n") == 1 and json.loads(line) == payload  # never a raw newline inside a line
