"""Firestore mirror against a real Firestore-protocol server: `@firestore-emulator/server` (npm), installed
from tests/firestore_emulator/package-lock.json with `npm ci` on first use and started on 127.0.0.1 by the
`emulator` fixture (tests/plugins/firestore.py; serve.js binds loopback only). The client is the real
google-cloud-firestore, reached through FIRESTORE_EMULATOR_HOST.
"""
from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest

from execution import state_store as ss
from execution.firestore_mirror import mirror_from_settings
from tests.plugins.firestore import PROJECT

H = 3_600_000


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
