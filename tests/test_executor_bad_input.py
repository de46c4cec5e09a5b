"""Bad input: stale/missing NAV, 5xx / 429 / 418 / timeouts, unknown symbols, NaN bars, kline gaps, config reload
errors (docs/Runbook.md "Bad input")."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from execution.executor.bars import finite_kline as _finite_kline
from execution.state_store import write_snapshot
from tests.executor_support import (
    FAST_VENUE,
    config_copy,
    executor_cmd,
    proc_env,
    read_jsonl,
    run_executor,
    write_env,
)

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


def test_418_ban_is_waited_out_without_a_crash_or_an_order(tmp_path, venue_factory):
    """A 418 (IP banned for --ban-seconds): the adapter sends nothing until the ban ends, the cycles that cannot
    read the market fail one by one (health ok=false), and trading resumes after it."""
    v = venue_factory(speed=14400, extra=["--dual-side", "--weight-limit", "100000", "--ban-seconds", "3"])
    v.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, v, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    p = subprocess.Popen(executor_cmd(env, cfg, "--cycles", "40", "--symbols", "BTCUSDT", "ETHUSDT",
                                      "--nav-source", "account", *FAST),
                         env=proc_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(tmp_path / "logs" / "executor.log", "[executor] START ")
        v.fault(kind="ban", path="/fapi/v1/premiumIndex", count=1)
        rc = p.wait(timeout=90)
    finally:
        if p.poll() is None:
            p.kill()
    assert rc == 0
    system = (tmp_path / "logs" / "system.log").read_text()
    assert "[exutil] IP_BANNED until_ms=" in system and "[executor] CYCLE_ERROR" in system
    health = json.loads((tmp_path / "logs" / "state" / "health.json").read_text())
    assert health["cycle"] == 40 and health["ok"] is True  # the ban ended and the loop went on
    orders = read_jsonl(tmp_path / "logs" / "execution" / "orders.jsonl")
    ids = [o["client_order_id"] for o in orders if o.get("event") == "order_sent"]
    assert len(ids) == len(set(ids))  # never one client order id sent twice


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


def _wait_for(log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert text in log.read_text(), f"{text!r} not logged in {timeout} s"


def _four_symbol_run(tmp_path: Path, venue, **cfg_kw) -> tuple[subprocess.Popen, Path]:
    """A DRY_RUN executor on BTC/ETH/SOL/BNB against the paused venue, started (START logged)."""
    venue.reset(balance=10000, dual=True, speed=14400, paused=True)
    env = write_env(tmp_path, venue, dry_run=True)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True, **cfg_kw)
    p = subprocess.Popen(executor_cmd(env, cfg, "--cycles", "400", "--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT",
                                      "BNBUSDT", *FAST, "--nav-source", "account"),
                         env=proc_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = tmp_path / "logs" / "executor.log"
    try:
        _wait_for(log, "[executor] START ")
    except BaseException:
        p.kill()
        raise
    return p, log


def _decisions(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if "[decision] {" in line:
            out.append(json.loads(line.split("[decision] ", 1)[1]))
    return out


def test_kline_gap_no_entry_on_the_bar_after_it_others_trade_on(tmp_path, bad_venue):
    """The venue serves BTCUSDT's 1h klines with three bars missing (Binance's shape: no rows for the period).
    The running executor logs KLINE_GAP with the missing open times, decides BTC's first bar after the gap as
    `kline_gap` (no entry, no order), keeps deciding and entering the other symbols, and never fails a cycle."""
    H = 3_600_000
    p, log = _four_symbol_run(tmp_path, bad_venue)
    try:
        b0 = bad_venue.market_time_ms() // H * H  # the open bar; bars before it are warm
        gap = (b0 + 2 * H, b0 + 5 * H)  # bars opening at b0+2h, +3h, +4h never exist
        bad_venue.fault(kind="kline_gap", symbol="BTCUSDT", start_ms=gap[0], end_ms=gap[1])
        bad_venue.clock(resume=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            text = log.read_text()
            after = text.split("KLINE_GAP BTCUSDT", 1)[1] if "KLINE_GAP BTCUSDT" in text else ""
            if after.count("[screener] attempted=") >= 6:
                break
            time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=60)
        bad_venue.clock(pause=True)
        bad_venue.clear_faults()
    assert rc == 0
    text = log.read_text()
    want = f"[executor] KLINE_GAP BTCUSDT 3 bar(s) missing, open {gap[0]}..{gap[1] - H} "
    assert want in text, [ln for ln in text.splitlines() if "KLINE_GAP" in ln]
    assert f"the bar at {gap[1]} " in text
    assert "KLINE_GAP ETHUSDT" not in text and "CYCLE_ERROR" not in text
    decisions = _decisions(text)
    btc_after = [d for d in decisions if d["symbol"] == "BTCUSDT" and d.get("bar_time_ms") == gap[1]]
    assert [(d["status"], d["reasons"]) for d in btc_after] == [("kline_gap", ["kline_gap"])]
    assert not [d for d in decisions if d["symbol"] == "BTCUSDT" and gap[0] <= d.get("bar_time_ms", 0) < gap[1]]
    assert any(d["symbol"] == "BTCUSDT" and d.get("bar_time_ms", 0) > gap[1] for d in decisions)  # decided again
    intents = [json.loads(ln.split("[executor] INTENT ", 1)[1]) for ln in text.splitlines() if "[executor] INTENT " in ln]
    assert f"hy-BTCUSDT-LO-{gap[1] // 1000}" not in {i["intent_id"] for i in intents}
    assert f"hy-BTCUSDT-SO-{gap[1] // 1000}" not in {i["intent_id"] for i in intents}
    others_after = [i for i in intents if i["symbol"] != "BTCUSDT" and int(i["intent_id"].rsplit("-", 1)[1]) * 1000 >= gap[0]]
    assert others_after, "the other symbols kept entering through BTC's gap"


def test_418_at_start_is_waited_out_then_the_cycles_run(tmp_path, venue_factory):
    """The venue bans the first start request (418, --ban-seconds 3): the executor logs START_WAIT, sends
    nothing until the ban ends, starts, runs its cycles and exits 0 - no START_FAILED, no restart loop."""
    v = venue_factory(speed=14400, extra=["--dual-side", "--weight-limit", "100000", "--ban-seconds", "3"])
    v.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, v, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    v.fault(kind="ban", path="/fapi/*", count=1)
    r = run_executor(env, cfg, "--cycles", "4", "--symbols", "BTCUSDT", "ETHUSDT", "--nav-source", "account", *FAST)
    assert r.returncode == 0, r.stderr[-3000:]
    text = (tmp_path / "logs" / "executor.log").read_text()
    assert "START_FAILED" not in text
    wait_at = text.index("[executor] START_WAIT attempt=1 IpBannedError")
    assert "retrying in " in text[wait_at:].splitlines()[0]
    assert text.index("[executor] START ") > wait_at
    assert v.stats()["responses"].get("fault:ban") == 1 and "418" not in v.stats()["responses"]  # no request hit the ban
    health = json.loads((tmp_path / "logs" / "state" / "health.json").read_text())
    assert health["cycle"] == 4 and health["ok"] is True


def test_sigterm_during_the_start_wait_exits_without_starting(tmp_path, venue_factory):
    v = venue_factory(speed=14400, extra=["--dual-side", "--weight-limit", "100000", "--ban-seconds", "3"])
    v.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, v, dry_run=False)
    cfg = config_copy(tmp_path)
    v.fault(kind="error", path="/fapi/*", status=503)  # until cleared: start keeps failing, backing off
    p = subprocess.Popen(executor_cmd(env, cfg, "--cycles", "4", "--nav-source", "account", *FAST),
                         env=proc_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(tmp_path / "logs" / "executor.log", "[executor] START_WAIT attempt=1 ")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
        v.clear_faults()
    assert rc == 0
    text = (tmp_path / "logs" / "executor.log").read_text()
    assert "stopped by a signal before start completed" in text and "[executor] START " not in text
    assert sum(v.stats()["orders_received"].values()) == 0


def test_symbol_delisted_mid_run_stops_its_entries_others_trade_on(tmp_path, bad_venue):
    """ETHUSDT turns SETTLING, then SOLUSDT leaves exchangeInfo, while the executor runs four symbols
    (exchangeInfo re-read every second): each gets one clear line, neither opens again, BTC/BNB keep entering,
    no cycle fails."""
    p, log = _four_symbol_run(tmp_path, bad_venue, exchange={"exchange_info_refresh_seconds": 1})
    try:
        bad_venue.clock(resume=True)
        _wait_cycles(log, "[executor] START ", 4)
        bad_venue.listing(symbol="ETHUSDT", status="SETTLING")
        _wait_for(log, "[executor] SYMBOL_STATUS ETHUSDT TRADING -> SETTLING")
        bad_venue.listing(symbol="SOLUSDT", listed=False)
        _wait_for(log, "['SOLUSDT'] left exchangeInfo")
        _wait_cycles(log, "['SOLUSDT'] left exchangeInfo", 12)
    finally:
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=60)
        bad_venue.clock(pause=True)
        bad_venue.reset(balance=10000, dual=True, speed=14400)  # the listing back to the shipped one
    assert rc == 0
    text = log.read_text()
    assert "CYCLE_ERROR" not in text and "Traceback" not in text
    eth_at, sol_at = text.index("SYMBOL_STATUS ETHUSDT"), text.index("['SOLUSDT'] left exchangeInfo")
    assert "no new orders for it" in text[eth_at:].splitlines()[0]

    def opens(part: str) -> list[dict]:
        rows = [json.loads(ln.split("[executor] INTENT ", 1)[1]) for ln in part.splitlines() if "[executor] INTENT " in ln]
        return [i for i in rows if i["intent"] == "OPEN"]

    assert not [i for i in opens(text[eth_at:]) if i["symbol"] == "ETHUSDT"]
    assert not [i for i in opens(text[sol_at:]) if i["symbol"] == "SOLUSDT"]
    assert {i["symbol"] for i in opens(text[eth_at:])} & {"BTCUSDT", "BNBUSDT"}, "the others kept entering"
    eth_after = [d for d in _decisions(text[eth_at:]) if d["symbol"] == "ETHUSDT"]
    assert eth_after and not [d for d in eth_after if d["status"] == "approved"]
    assert all("symbol_not_trading" in json.dumps(d["risk"]["vetoes"]) for d in eth_after if d["status"] == "vetoed")
    health = json.loads((tmp_path / "logs" / "state" / "health.json").read_text())
    assert health["symbols"] == ["BTCUSDT", "ETHUSDT", "BNBUSDT"]


def _wait_cycles(log: Path, after: str, n: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if after in text and text.split(after, 1)[1].count("[screener] attempted=") >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"{n} cycles after {after!r} not logged in {timeout} s")
