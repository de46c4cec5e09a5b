"""Firestore mirror against a real Firestore-protocol server: `@firestore-emulator/server` (npm), installed
from tests/firestore_emulator/package-lock.json with `npm ci` on first use and started on 127.0.0.1 by
these tests (tests/firestore_emulator/serve.js binds loopback only). The client is the real
google-cloud-firestore, reached through FIRESTORE_EMULATOR_HOST.
"""
from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from execution import state_store as ss
from execution.firestore_mirror import mirror_from_settings

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

REPO = Path(__file__).resolve().parents[1]
EMU_DIR = REPO / "tests" / "firestore_emulator"
PROJECT = "hedge-test"
H = 3_600_000


def ensure_emulator_installed() -> None:
    """`npm ci` from the committed lock file, once (a lock serialises parallel test workers)."""
    if (EMU_DIR / "node_modules" / "@firestore-emulator" / "server").is_dir():
        return
    if not shutil.which("npm") or not shutil.which("node"):
        pytest.skip("node/npm not installed: scripts/install_system_packages.sh installs them")
    with open(EMU_DIR / ".install.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not (EMU_DIR / "node_modules" / "@firestore-emulator" / "server").is_dir():
            out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=EMU_DIR,
                                 capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                pytest.fail(f"`npm ci` in {EMU_DIR} failed (exit {out.returncode}); the Firestore tests need "
                            f"@firestore-emulator/server from package-lock.json:\n{out.stderr[-2000:]}")


class Emulator:
    def __init__(self):
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> Emulator:
        self.proc = subprocess.Popen(["node", "serve.js", str(self.port)], cwd=EMU_DIR, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout], daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line.startswith("[firestore-emulator] ready 127.0.0.1:"):
                self.port = int(line.rsplit(":", 1)[1])
                return self
        self.stop()
        raise RuntimeError("the Firestore emulator did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture()
def emulator(monkeypatch):
    ensure_emulator_installed()
    emu = Emulator().start()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emu.host)
    yield emu
    emu.stop()


def reader():
    from google.cloud import firestore

    return firestore.Client(project=PROJECT)


def state_doc(client, env, name):
    snap = client.collection("hedge").document(env).collection("state").document(name).get(timeout=5)
    return snap.to_dict() if snap.exists else None


def nav_point(client, env, t_ms):
    snap = client.collection("hedge").document(env).collection("nav_points").document(str(t_ms)).get(timeout=5)
    return snap.to_dict() if snap.exists else None


def settings_for(emu, env="dev"):
    return SimpleNamespace(FIRESTORE_PROJECT=PROJECT, FIRESTORE_EMULATOR_HOST=emu.host, ENV=env)


def test_no_project_means_no_mirror():
    assert mirror_from_settings(SimpleNamespace(FIRESTORE_PROJECT="", FIRESTORE_EMULATOR_HOST="", ENV="dev")) is None


def test_documents_and_nav_points_reach_firestore(emulator):
    mirror = mirror_from_settings(settings_for(emulator, "prod"), timeout_s=2.0, idle_s=0.05)
    try:
        mirror.publish("nav", {"nav_usd": 1.0, "stale": False})
        mirror.publish("nav", {"nav_usd": 2.5, "stale": False, "as_of_ms": 7})  # coalesced: the newest wins
        mirror.publish("risk", {"risk": {"circuit_breaker": {"active": False}, "correlation_groups": {
            "L1": {"symbols": ["BTCUSDT"], "status": "OK"}}}})
        for i in range(3):
            mirror.append_nav({"t_ms": 1000 + i, "nav_usd": 100.0 + i})
        assert mirror.wait_idle(30), mirror.status()
    finally:
        mirror.close()
    db = reader()
    assert state_doc(db, "prod", "nav") == {"nav_usd": 2.5, "stale": False, "as_of_ms": 7}
    assert state_doc(db, "prod", "risk")["risk"]["correlation_groups"]["L1"]["status"] == "OK"
    assert [nav_point(db, "prod", 1000 + i)["nav_usd"] for i in range(3)] == [100.0, 101.0, 102.0]
    assert mirror.sent_points == 3 and mirror.dropped_points == 0


def test_sync_loop_mirrors_keeps_going_through_an_outage_and_catches_up(emulator, v_hedge, tmp_path, caplog):
    from tests.test_sync_state import make_sync  # the same real-venue set-up as the sync_state tests

    caplog.set_level(logging.INFO, logger="hedge.sync_state")
    mirror = mirror_from_settings(settings_for(emulator), timeout_s=1.0, max_backoff_s=0.5, idle_s=0.05)
    try:
        sync = make_sync(tmp_path, v_hedge, mirror=mirror)
        assert sync.cycle()
        assert mirror.wait_idle(30), mirror.status()
        db = reader()
        local = ss.read_snapshot("nav", root=tmp_path / "state")
        assert state_doc(db, "dev", "nav")["nav_usd"] == local["nav_usd"]
        assert state_doc(db, "dev", "positions")["positions"] == ss.read_snapshot("positions", root=tmp_path / "state")["positions"]
        assert state_doc(db, "dev", "peak_state")["peak_nav_usd"] == local["peak_nav_usd"]
        db.close()

        emulator.stop()  # outage: the loop keeps publishing locally, the mirror degrades
        outage_points = []
        for i in range(3):
            v_hedge.admin("POST", "/_venue/account/deposit", {"amount": str(10 * (i + 1))})
            v_hedge.clock(step_ms=H)
            assert sync.cycle() is True  # fresh local figures every cycle, whatever Firestore does
            outage_points.append(ss.read_snapshot("nav", root=tmp_path / "state"))
        deadline = time.monotonic() + 20
        while mirror.status()["ok"] and time.monotonic() < deadline:
            time.sleep(0.05)
        status = mirror.status()
        assert status["ok"] is False and status["pending_nav_points"] >= 3 and status["last_error"]
        assert sum("FIRESTORE_DEGRADED" in r.getMessage() for r in caplog.records) == 1
        assert ss.read_snapshot("synced_state", root=tmp_path / "state")["firestore"]["enabled"] is True

        emulator.start()  # same port: Firestore is back (empty: the emulator keeps nothing across restarts)
        assert mirror.wait_idle(60), mirror.status()
        assert any("FIRESTORE_RECOVERED" in r.getMessage() for r in caplog.records)
        db = reader()
        for nav in outage_points:  # every NAV point of the outage arrived, keyed by its market time
            assert nav_point(db, "dev", nav["as_of_ms"])["nav_usd"] == nav["nav_usd"]
        assert state_doc(db, "dev", "nav")["nav_usd"] == outage_points[-1]["nav_usd"]  # the latest state
        assert state_doc(db, "dev", "risk")["risk"] == ss.read_snapshot("risk", root=tmp_path / "state")["risk"]
        db.close()
    finally:
        mirror.close()


def test_a_full_queue_drops_the_oldest_points_and_counts_them(emulator):
    emulator.stop()
    mirror = mirror_from_settings(settings_for(emulator), queue_max=5, timeout_s=0.5, max_backoff_s=0.2, idle_s=0.05)
    try:
        for i in range(12):
            mirror.append_nav({"t_ms": i, "nav_usd": float(i)})
        assert mirror.dropped_points == 7 and mirror.status()["pending_nav_points"] == 5
        emulator.start()
        assert mirror.wait_idle(60), mirror.status()
    finally:
        mirror.close()
    db = reader()
    assert nav_point(db, "dev", 11)["nav_usd"] == 11.0 and nav_point(db, "dev", 7)["nav_usd"] == 7.0
    assert nav_point(db, "dev", 6) is None


@pytest.fixture()
def v_hedge(venue_factory):
    v = venue_factory(speed=1)
    v.reset(dual=True, paused=True)
    return v
