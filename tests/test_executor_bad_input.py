"""Bad input: stale/missing NAV, 5xx / 429 / timeouts, unknown symbols, NaN bars, config reload errors."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from execution.executor.loop import _finite_kline
from execution.state_store import write_snapshot
from tests.executor_support import FAST_VENUE, config_copy, executor_cmd, proc_env, run_executor, write_env

FAST = ["--interval", "0.25"]


@pytest.fixture(scope="module")
def bad_venue(venue_factory):
    return venue_factory(**FAST_VENUE)


def test_missing_then_stale_nav_vetoes_every_entry(tmp_path, bad_venue):
    bad_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, bad_venue, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    r = run_executor(env, cfg, "--cycles", "5", *FAST)  # default --nav-source sync_state, no nav.json
    assert r.returncode == 0, r.stderr[-2000:]
    state = tmp_path / "logs" / "state"
    write_snapshot("nav", {"nav_usd": 10000.0, "as_of_ms": bad_venue.market_time_ms() - 3_600_000, "stale": False},
                   root=state)
    r = run_executor(env, cfg, "--cycles", "5", *FAST)
    assert r.returncode == 0, r.stderr[-2000:]
    ex = (tmp_path / "logs" / "executor.log").read_text()
    assert '"nav_stale"' in ex and "[executor] INTENT" not in ex
    assert sum(bad_venue.stats()["orders_received"].values()) == 0


def test_5xx_429_timeouts_and_unknown_symbol_do_not_stop_the_loop(tmp_path, bad_venue):
    bad_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, bad_venue, dry_run=True)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    bad_venue.fault(kind="error", path="/fapi/v1/klines", status=503, count=6)
    bad_venue.fault(kind="rate_limit", path="/fapi/v1/premiumIndex", count=1)
    bad_venue.fault(kind="timeout", path="/fapi/v2/balance", count=1, hold_ms=200)
    r = run_executor(env, cfg, "--cycles", "8", "--symbols", "BTCUSDT", "ETHUSDT", "FOOUSDT",
                     "--nav-source", "account", *FAST)
    bad_venue.clear_faults()
    assert r.returncode == 0, r.stderr[-3000:]
    system = (tmp_path / "logs" / "system.log").read_text()
    assert "SYMBOL FOOUSDT not in exchangeInfo" in system
    health = json.loads((tmp_path / "logs" / "state" / "health.json").read_text())
    assert health["cycle"] == 8 and health["symbols"] == ["BTCUSDT", "ETHUSDT"] and health["ok"] is True


def test_nan_bar_is_not_a_bar():
    class K:
        open, high, low, close = 1.0, float("nan"), 1.0, 1.0

    assert not _finite_kline(K())
    K.high = 2.0
    assert _finite_kline(K())


def test_config_reload_error_keeps_running(tmp_path, bad_venue):
    bad_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, bad_venue, dry_run=True)
    cfg = config_copy(tmp_path)
    p = subprocess.Popen(executor_cmd(env, cfg, "--cycles", "400", "--nav-source", "account", *FAST),
                         env=proc_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "logs" / "executor.log"
    try:
        deadline = time.monotonic() + 60
        while "[executor] START " not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.1)
        (cfg / "risk_limits.json").write_text('{"MAX_POSITIONS": "many"}')
        os.kill(p.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "CONFIG_RELOAD failed" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        text = log.read_text()
        assert "CONFIG_RELOAD failed, keeping the running configuration" in text and "risk_limits.json" in text
        cycles = text.count("[screener] attempted=")
        time.sleep(1.5)
        assert p.poll() is None and log.read_text().count("[screener] attempted=") > cycles
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 0
