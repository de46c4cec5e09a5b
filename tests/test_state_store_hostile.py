"""Issue 8, state store: hostile content never escapes a reader, never gets written, and killed writers'
temp files are swept. Property-based fuzz of snapshot and event files (bounded)."""
from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from execution import state_store as ss

REPO = Path(__file__).resolve().parents[1]
STORE_LOGGER = "hedge.state_store"
DEEP = 100_000


@pytest.fixture(autouse=True)
def _fresh_memory():
    ss._warned_problems.clear()
    ss._warned_bad_lines.clear()
    ss._swept_dirs.clear()
    yield


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == STORE_LOGGER and r.levelno == logging.WARNING]


HOSTILE = {
    "deep_list": "[" * DEEP + "]" * DEEP,
    "deep_object": '{"a":' * DEEP + "1" + "}" * DEEP,
    "deep_unclosed": '{"schema_version":1,"x":' + "[" * DEEP,
    "nan": '{"schema_version":1,"nav_usd":NaN}',
    "infinity": '{"schema_version":1,"nav_usd":Infinity}',
    "minus_infinity": '{"schema_version":1,"nav_usd":-Infinity}',
    "overflow": '{"schema_version":1,"nav_usd":1e999}',
    "overflow_neg": '{"schema_version":1,"x":[1,-1E+400]}',
    "huge_int": '{"schema_version":1,"x":' + "9" * 5000 + "}",
    "zero_schema": '{"schema_version":0,"nav_usd":1}',
    "bad_utf8": b'{"schema_version":1,"x":"\xff\xfe"}',
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_snapshot_keeps_the_last_good_value_with_one_warning(tmp_path, caplog, kind):
    caplog.set_level(logging.WARNING, logger=STORE_LOGGER)
    reader = ss.SnapshotReader("nav", root=tmp_path)
    ss.write_snapshot("nav", {"nav_usd": 100.0}, root=tmp_path)
    assert reader.read()["nav_usd"] == 100.0
    content = HOSTILE[kind]
    (tmp_path / "nav.json").write_bytes(content if isinstance(content, bytes) else content.encode())
    for _ in range(3):
        assert reader.read()["nav_usd"] == 100.0  # never raises, never returns the bad content
        assert reader.payload()["nav_usd"] == 100.0
    assert reader.problem == "corrupt"
    assert ss.read_snapshot("nav", default="none", root=tmp_path) == "none"
    assert ss.read_snapshot("nav", default="none", root=tmp_path) == "none"
    assert len(_warnings(caplog)) == 2  # one from the reader, one from the stateless read_snapshot


@pytest.mark.parametrize("kind", ["deep_list", "deep_object", "nan", "infinity", "overflow", "bad_utf8"])
def test_hostile_event_lines_are_skipped_by_read_and_tail(tmp_path, caplog, kind):
    caplog.set_level(logging.WARNING, logger=STORE_LOGGER)
    path = tmp_path / "events.jsonl"
    ss.append_event(path, {"seq": 1})
    content = HOSTILE[kind]
    line = content if isinstance(content, bytes) else content.encode()
    with open(path, "ab") as fh:
        fh.write(line.replace(b"\n", b" ") + b"\n")
    ss.append_event(path, {"seq": 2})
    events, offset = ss.read_events(path)
    assert [e["seq"] for e in events] == [1, 2] and offset == path.stat().st_size
    assert [e["seq"] for e in ss.tail_events(path, 10)] == [1, 2]
    assert [e["seq"] for e in ss.tail_events(path, 1)] == [2]
    assert len(_warnings(caplog)) == 1  # the same bad line is warned about once


@pytest.mark.parametrize("payload, fragment", [
    ({"x": float("nan")}, "$.x"),
    ({"x": [1.0, float("-inf")]}, "$.x[1]"),
    ({(1, 2): "tuple key"}, "$"),
    ({"text": "lone \ud800 surrogate"}, "unpaired surrogate"),
])
def test_unwritable_values_are_refused_and_nothing_is_written(tmp_path, payload, fragment):
    with pytest.raises(ss.StateValueError, match=fragment.replace("$", r"\$").replace("[", r"\[")):
        ss.write_snapshot("x", payload, root=tmp_path)
    with pytest.raises(ss.StateValueError):
        ss.append_event(tmp_path / "e.jsonl", payload)
    assert not (tmp_path / "x.json").exists() and not (tmp_path / "e.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_deep_and_circular_payloads_are_a_clear_error_not_a_crash(tmp_path):
    deep: list = []
    cur = deep
    for _ in range(DEEP):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    with pytest.raises(ss.StateValueError, match="nested too deeply"):
        ss.write_snapshot("x", {"deep": deep}, root=tmp_path)
    loop: dict = {}
    loop["self"] = loop
    with pytest.raises(ss.StateValueError, match="invalid JSON"):
        ss.write_snapshot("x", {"loop": loop}, root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_oversized_snapshot_is_refused_without_loading_it(tmp_path, monkeypatch):
    monkeypatch.setattr(ss, "MAX_SNAPSHOT_BYTES", 1000)
    ss.write_snapshot("nav", {"blob": "x" * 2000}, root=tmp_path)
    assert ss.read_snapshot("nav", default="none", root=tmp_path) == "none"


_KILLED_WRITER = """
import os, sys, time
from execution import state_store as ss
def stuck(*args):  # the process is killed between writing its temp file and the rename
    print("in-flight", flush=True)
    time.sleep(120)
os.replace = stuck
ss.write_snapshot("nav", {"blob": "x" * 10000}, root=sys.argv[1])
"""


def test_temp_files_of_killed_writers_are_swept_when_a_writer_starts(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = []
    for _ in range(5):  # alive together, so none sweeps another's file in flight
        procs.append(subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(tmp_path)], cwd=REPO, env=env,
                                      stdout=subprocess.PIPE, text=True))
    for proc in procs:
        assert proc.stdout.readline().strip() == "in-flight"
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]) == 5
    # a live writer's temp file must survive a sweep
    ss.write_snapshot("nav", {"i": "fresh"}, root=tmp_path)  # this process's first write: sweeps
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]) == 5
    ss._swept_dirs.clear()
    for proc in procs[:3]:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ss.write_snapshot("nav", {"i": "again"}, root=tmp_path)  # a writer starting: the 3 dead ones' files go
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert sorted(left) == sorted(n for n in left if any(f".{p.pid}." in n for p in procs[3:])) and len(left) == 2
    for proc in procs[3:]:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ss._swept_dirs.clear()
    ss.write_snapshot("nav", {"i": "last"}, root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nav.json"]
    assert ss.read_snapshot("nav", root=tmp_path)["i"] == "last"


def test_sweep_leaves_files_that_are_not_ours(tmp_path):
    other = tmp_path / ".editor-swap"
    other.write_text("x")
    os.utime(other, (time.time() - 7200,) * 2)
    assert ss.sweep_temp_files(tmp_path) == 0 and other.exists()


# ------------------------------------------------------------------------------------ fuzz

_json_scalars = st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats(allow_nan=False,
                                                                                 allow_infinity=False) | st.text(max_size=20)
_json_values = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=20)
_mutations = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "[" * 5000, '{"a":' * 3000,
                              "\x00", "\ufeff", '"\\ud800"', "}", "", "null", "[]", "\n"])


def _finite_everywhere(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_everywhere(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_everywhere(v) for v in value)
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(good=st.dictionaries(st.text(min_size=1, max_size=8), _json_values, max_size=4),
       junk=st.binary(max_size=300), cut=st.integers(0, 400), splice=_mutations)
def test_fuzz_snapshot_reader_never_raises_and_only_returns_good_documents(tmp_path, good, junk, cut, splice):
    root = tmp_path / "fuzz"
    ss.write_snapshot("s", good, root=root, fsync=False)
    reader = ss.SnapshotReader("s", root=root)
    first = reader.read()
    assert {k: v for k, v in first.items() if k not in ss.META_KEYS} == {k: v for k, v in good.items()
                                                                         if k not in ss.META_KEYS}
    text = (root / "s.json").read_bytes()
    for content in (junk, text[:cut] + splice.encode() + text[cut:], text[:cut], splice.encode()):
        (root / "s.json").write_bytes(content)
        doc = reader.read()
        assert isinstance(doc, dict) and _finite_everywhere(doc)
        assert isinstance(doc.get("schema_version"), int)
        other = ss.read_snapshot("s", root=root)
        assert other is None or (isinstance(other, dict) and _finite_everywhere(other))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.binary(max_size=80) | _mutations.map(str.encode) |
                      _json_values.map(lambda v: json.dumps({"v": v}).encode()), max_size=12),
       tail_n=st.integers(1, 20))
def test_fuzz_event_readers_never_raise_and_only_return_finite_objects(tmp_path, lines, tail_n):
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(b"\n".join(lines))
    ss.append_event(path, {"last": True})
    events, offset = ss.read_events(path)
    assert offset == path.stat().st_size
    assert events and events[-1]["last"] is True
    assert all(isinstance(e, dict) and _finite_everywhere(e) for e in events)
    tail = ss.tail_events(path, tail_n)
    assert tail == events[-tail_n:]
