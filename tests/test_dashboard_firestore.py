"""The dashboard's NAV series from Firestore, against a real Firestore-protocol server (the `emulator` fixture,
tests/plugins/firestore.py): sync_state's mirror (execution/firestore_mirror.py) writes the NAV points, the
dashboard's reader (dashboard/firestore_nav.py) reads that series back, and the page (AppTest) draws it with
its source labelled Firestore. Configured but unreachable or empty: the local nav_log.jsonl, and the page
says why (docs/Telemetry_Format.md).
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from dashboard.firestore_nav import nav_series, read_nav_series
from dashboard.panels import chart_points, when
from execution import state_store as ss
from execution.firestore_mirror import mirror_from_settings
from tests.plugins.dashboard_server import free_port
from tests.plugins.firestore import PROJECT
from tests.state_fixtures import paths
from tests.test_dashboard_app import run_app, tab, texts

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC: far from the fixture's local nav_log, whose points are "now"


def settings_for(host: str, env: str = "dev") -> SimpleNamespace:
    return SimpleNamespace(FIRESTORE_PROJECT=PROJECT, FIRESTORE_EMULATOR_HOST=host, ENV=env)


def mirror_nav(host: str, points: list[tuple[int, float]], env: str = "dev") -> None:
    mirror = mirror_from_settings(settings_for(host, env), timeout_s=2.0, idle_s=0.05)
    assert mirror is not None
    try:
        for t, v in points:
            mirror.append_nav({"t_ms": t, "nav_usd": v})
        mirror.publish("nav", {"nav_usd": points[-1][1], "as_of_ms": points[-1][0], "stale": False})
        assert mirror.wait_idle(30), mirror.status()
    finally:
        mirror.close()


def source_caption(at) -> str:
    return next(c for c in texts(tab(at, "Overview"), "caption") if c.startswith("Source:"))


def test_the_page_draws_the_series_the_mirror_wrote_labelled_firestore(emulator, monkeypatch, tmp_path):
    points = [(T0 + i * H, 10_000.0 + i) for i in range(300)]
    mirror_nav(emulator.host, points)

    series = read_nav_series(PROJECT, "dev", emulator_host=emulator.host)
    assert series.source == "firestore" and series.points == points
    assert series.detail == "300 points from Firestore hedge/dev/nav_points"

    at = run_app(monkeypatch, tmp_path, "normal", FIRESTORE_PROJECT=PROJECT, FIRESTORE_EMULATOR_HOST=emulator.host)
    caption = source_caption(at)
    assert caption.startswith("Source: Firestore — 300 points from Firestore hedge/dev/nav_points"), caption
    assert f"last point {when(points[-1][0])}" in caption  # Firestore's last point, not the local file's

    # the next refresh reads only the points written since (the dashboard holds the rest), and has them all
    later = [(T0 + i * H, 10_000.0 + i) for i in range(300, 303)]
    mirror_nav(emulator.host, later)
    again = read_nav_series(PROJECT, "dev", emulator_host=emulator.host)
    assert again.points == points + later and again.detail.startswith("303 points")


def test_sync_state_nav_reaches_the_dashboard_through_firestore(emulator, venue_factory, tmp_path):
    from tests.test_sync_state import make_sync  # the same real-venue set-up as the sync_state tests

    venue = venue_factory(speed=1)
    venue.reset(dual=True, paused=True)
    mirror = mirror_from_settings(settings_for(emulator.host), timeout_s=2.0, idle_s=0.05)
    try:
        sync = make_sync(tmp_path, venue, mirror=mirror)
        assert sync.cycle()
        assert mirror.wait_idle(30), mirror.status()
    finally:
        mirror.close()
    local = ss.read_snapshot("nav", root=tmp_path / "state")
    series, why_not = nav_series(settings_for(emulator.host), tmp_path / "state")
    assert why_not == "" and series.source == "firestore"
    assert series.points[-1] == (local["as_of_ms"], local["nav_usd"])


@pytest.mark.timeout(60)
def test_unreachable_firestore_falls_back_to_the_local_file_and_says_so(monkeypatch, tmp_path):
    nobody = f"127.0.0.1:{free_port()}"  # a loopback port with nothing listening
    at = run_app(monkeypatch, tmp_path, "normal", FIRESTORE_PROJECT=PROJECT, FIRESTORE_EMULATOR_HOST=nobody)
    caption = source_caption(at)
    assert caption.startswith("Source: local nav_log.jsonl"), caption
    assert "(Firestore unavailable (" in caption or "(Firestore did not answer" in caption, caption
    state_root, _ = paths(tmp_path)
    series, why_not = nav_series(settings_for(nobody), state_root, timeout_s=2.0)
    assert series.source == "local" and series.points and why_not.startswith(("Firestore unavailable",
                                                                              "Firestore did not answer"))


def test_empty_firestore_falls_back_to_the_local_file_and_says_so(emulator, monkeypatch, tmp_path):
    at = run_app(monkeypatch, tmp_path, "normal", FIRESTORE_PROJECT=PROJECT, FIRESTORE_EMULATOR_HOST=emulator.host)
    caption = source_caption(at)
    assert caption.startswith("Source: local nav_log.jsonl"), caption
    assert "(Firestore has no NAV points (hedge/dev/nav_points and hedge/dev/state/nav are empty))" in caption


def test_a_state_nav_document_alone_is_read_when_there_are_no_points(emulator):
    from google.cloud import firestore

    db = firestore.Client(project=PROJECT)
    db.collection("hedge").document("dev").collection("state").document("nav").set(
        {"nav_usd": 10_250.0, "series": [{"t_ms": T0, "nav_usd": 10_000.0}, {"t_ms": T0 + H, "nav_usd": 10_250.0}]})
    series = read_nav_series(PROJECT, "dev", emulator_host=emulator.host)
    assert series.points == [(T0, 10_000.0), (T0 + H, 10_250.0)]
    assert series.detail == "2 points from Firestore hedge/dev/state/nav"


def test_a_year_hourly_is_drawn_at_most_1200_points_with_every_low_and_high_kept():
    points = [(T0 + i * H, 10_000.0 + (i % 24)) for i in range(8760)]
    points[4321] = (points[4321][0], 7_500.0)  # a one-hour crash
    points[6000] = (points[6000][0], 12_000.0)  # a one-hour spike
    drawn = chart_points(points)
    assert len(drawn) <= 1200 and drawn[0] == points[0] and drawn[-1] == points[-1]
    assert [t for t, _ in drawn] == sorted({t for t, _ in drawn})  # in time order, no repeats
    assert set(drawn) <= set(points)  # real points only, none invented
    assert points[4321] in drawn and points[6000] in drawn
    assert chart_points(points[:500]) == points[:500]  # short series drawn as they are
