"""hedge-sync_state against the real venue process and the real python-binance client (issue 10).

In-process cycles (SyncState with a real adapter) for the fault cases, and the real command line
(`python execution/sync_state.py --once`, `python -m execution.sync_state`) for the runbook's jq queries,
the loop interval from runtime.yaml, exit codes and the [sync_state] breadcrumbs in logs/system.log.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from execution import state_store as ss
from execution.exchange_utils import build_adapter
from execution.nav_store import NavLog, reset_peak
from execution.sync_state import RETRY_POLICY, SyncState
from settings.env import load_env
from settings.loader import load_config

REPO = Path(__file__).resolve().parents[1]
H = 3_600_000
LOGGER = "hedge.sync_state"


@pytest.fixture(scope="module")
def v(venue_factory):
    return venue_factory(speed=1)


@pytest.fixture()
def hedge(v):
    v.reset(dual=True, paused=True)
    return v


def write_env(tmp_path: Path, v, **extra) -> Path:
    lines = {"ENV": "dev", "DRY_RUN": "1", "BINANCE_BASE_URL": v.base_url if v else "http://127.0.0.1:9",
             "STATE_ROOT": str(tmp_path / "state"), "LOG_DIR": str(tmp_path / "logs"), **extra}
    path = tmp_path / "test.env"
    path.write_text("".join(f"{k}={val}\n" for k, val in lines.items()))
    return path


def config(**risk_updates):
    cfg = load_config(REPO / "config")
    if risk_updates:
        cb = risk_updates.pop("max_portfolio_dd_nav_pct", None)
        risk = cfg.risk.model_copy(update=risk_updates)
        if cb is not None:
            risk = risk.model_copy(update={"circuit_breakers": risk.circuit_breakers.model_copy(
                update={"max_portfolio_dd_nav_pct": cb})})
        cfg = dataclasses.replace(cfg, risk=risk)
    return cfg


def make_sync(tmp_path, v, cfg=None, adapter_wrap=None, timeout=8.0, mirror=None) -> SyncState:
    settings = load_env(write_env(tmp_path, v))
    adapter = build_adapter(settings, timeout=timeout, policy=RETRY_POLICY)
    if adapter_wrap is not None:
        adapter = adapter_wrap(adapter)
    sync = SyncState(settings, cfg or config(), adapter, tmp_path / "state", mirror=mirror)
    sync.start()
    return sync


def doc(tmp_path, name):
    return ss.read_snapshot(name, root=tmp_path / "state")


def trade_both_legs(v, symbols=(("BTCUSDT", "0.01", "0.004"), ("ETHUSDT", "0.2", "0.3"), ("SOLUSDT", "3", "1"))):
    c = v.client()
    for sym, long_qty, short_qty in symbols:
        c.futures_create_order(symbol=sym, side="BUY", positionSide="LONG", type="MARKET", quantity=long_qty)
        c.futures_create_order(symbol=sym, side="SELL", positionSide="SHORT", type="MARKET", quantity=short_qty)
    return c


def venue_account(c):
    acct = c.futures_account()
    legs = {(p["symbol"], p["positionSide"]): p for p in c.futures_position_information()
            if Decimal(p["positionAmt"]) != 0}
    return Decimal(acct["totalWalletBalance"]) + Decimal(acct["totalUnrealizedProfit"]), legs


# ------------------------------------------------------------------------------------ invariant

def test_published_nav_equals_the_venue_account_to_the_cent_and_legs_match(hedge, tmp_path):
    hedge.clock(resume=True, speed=600)
    c = trade_both_legs(hedge)
    hedge.clock(step_ms=2 * H)  # marks move: unrealized PnL on every leg, funding booked
    c.futures_create_order(symbol="SOLUSDT", side="SELL", positionSide="LONG", type="MARKET", quantity="1")
    hedge.clock(pause=True)
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle() is True
    nav_venue, legs = venue_account(c)
    nav = doc(tmp_path, "nav")
    assert abs(Decimal(repr(nav["nav_usd"])) - nav_venue) < Decimal("0.01")
    assert nav["nav_usd"] == pytest.approx(nav["wallet_balance_usd"] + nav["unrealized_pnl_usd"], abs=1e-6)
    assert nav["stale"] is False and nav["unrealized_pnl_usd"] != 0
    published = {(p["symbol"], p["position_side"]): p for p in doc(tmp_path, "positions")["positions"]}
    assert set(published) == set(legs) and len(legs) == 6
    for key, row in legs.items():
        p = published[key]
        assert Decimal(repr(p["qty"])) == abs(Decimal(row["positionAmt"]))
        assert Decimal(repr(p["unrealized_pnl_usd"])) == Decimal(row["unRealizedProfit"])
        assert Decimal(repr(p["mark_price"])) == Decimal(row["markPrice"])
        assert p["hedged"] is True
    # the reserve is valued at the BTC mark and kept out of NAV
    btc_mark = float(c.futures_mark_price(symbol="BTCUSDT")["markPrice"])
    assert nav["reserve_usd"] == pytest.approx(0.013 * btc_mark) and nav["reserve_in_nav"] is False
    synced = doc(tmp_path, "synced_state")
    assert synced["nav"]["nav_usd"] == nav["nav_usd"] and synced["exchange_ok"] is True
    assert {b["asset"] for b in synced["balances"]} == {"USDT"}
    # trades: every fill, once
    trades = doc(tmp_path, "trade_log")["trades"]
    venue_trades = [t for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT") for t in c.futures_account_trades(symbol=s)]
    assert sorted(t["trade_id"] for t in trades) == sorted(t["id"] for t in venue_trades) and len(trades) == 7
    risk = doc(tmp_path, "risk")["risk"]
    l1 = risk["correlation_groups"]["L1_bluechips"]
    assert l1["gross_usd"] == pytest.approx(sum(p["notional_usd"] for p in published.values()))
    assert l1["gross_nav_pct"] == pytest.approx(l1["gross_usd"] / nav["nav_usd"]) and l1["status"] == "OK"


def test_trade_log_is_incremental_without_duplicates_across_restarts(hedge, tmp_path):
    c = trade_both_legs(hedge, (("BTCUSDT", "0.01", "0.01"),))
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle()
    assert len(doc(tmp_path, "trade_log")["trades"]) == 2
    assert sync.cycle()  # nothing new: nothing added
    trade_both_legs(hedge, (("BTCUSDT", "0.01", "0.01"), ("ETHUSDT", "0.1", "0.1")))
    restarted = make_sync(tmp_path, hedge)  # a new process picks up the cursors from trade_log.json
    assert restarted.cycle()
    log_doc = doc(tmp_path, "trade_log")
    ids = [t["trade_id"] for t in log_doc["trades"]]
    venue_ids = [t["id"] for s in ("BTCUSDT", "ETHUSDT") for t in c.futures_account_trades(symbol=s)]
    assert sorted(ids) == sorted(venue_ids) and len(ids) == len(set(ids)) == 6
    assert [t["time_ms"] for t in log_doc["trades"]] == sorted(t["time_ms"] for t in log_doc["trades"])
    assert log_doc["cursors"]["BTCUSDT"] == max(t["id"] for t in c.futures_account_trades(symbol="BTCUSDT"))


def test_24h_delta_and_daily_pnl_follow_the_market_clock(hedge, tmp_path):
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle()
    first = doc(tmp_path, "nav")
    assert first["nav_24h_ago_usd"] is None and first["day_start_nav_usd"] == first["nav_usd"]
    hedge.admin("POST", "/_venue/account/deposit", {"amount": "500"})
    hedge.clock(step_ms=25 * H)
    assert sync.cycle()
    later = doc(tmp_path, "nav")
    assert later["nav_24h_ago_usd"] == first["nav_usd"]
    assert later["nav_24h_delta_usd"] == pytest.approx(500.0, abs=1e-6)
    assert later["as_of_ms"] >= first["as_of_ms"] + 25 * H


# ------------------------------------------------------------------------------------ bad input

def _assert_kept_and_stale(tmp_path, before: dict, reason_part: str):
    for name in ("nav", "positions", "risk", "synced_state"):
        now = doc(tmp_path, name)
        assert now["stale"] is True and reason_part in now["stale_reason"], (name, now.get("stale_reason"))
        strip = {"stale", "stale_reason", "exchange_ok", "error", "written_at", "writer"}
        if name == "risk":
            assert now["risk"]["nav_fresh"] is False and before[name]["risk"]["nav_fresh"] is True
            now = {**now, "risk": {**now["risk"], "nav_fresh": True}}
        assert {k: x for k, x in now.items() if k not in strip} == {k: x for k, x in before[name].items()
                                                                   if k not in strip}, name
    assert doc(tmp_path, "synced_state")["exchange_ok"] is False


@pytest.mark.parametrize("fault, reason_part", [
    ({"kind": "error", "status": 503, "path": "/fapi/*"}, "exchange unavailable"),  # exchange down
    ({"kind": "drop", "path": "/fapi/*"}, "exchange unavailable"),
    ({"kind": "latency", "latency_ms": 2500, "path": "/fapi/v3/balance"}, "exchange unavailable"),  # slow
    ({"kind": "error", "status": 502, "path": "/fapi/v2/positionRisk"}, "exchange unavailable"),  # partial answer
    ({"kind": "rate_limit", "path": "/fapi/v1/premiumIndex"}, "exchange unavailable"),
])
def test_a_failed_read_keeps_the_last_good_values_marked_stale(hedge, tmp_path, caplog, fault, reason_part):
    trade_both_legs(hedge, (("BTCUSDT", "0.01", "0.002"),))
    sync = make_sync(tmp_path, hedge, timeout=1.0)
    assert sync.cycle()
    before = {n: doc(tmp_path, n) for n in ("nav", "positions", "risk", "synced_state")}
    nav_lines = (tmp_path / "state" / "nav_log.jsonl").read_text().count("\n")
    hedge.fault(**fault)
    caplog.set_level(logging.INFO, logger=LOGGER)
    try:
        assert sync.cycle() is False
        assert sync.cycle() is False  # the same incident: written once, then the files age
    finally:
        hedge.clear_faults()
    _assert_kept_and_stale(tmp_path, before, reason_part)
    assert (tmp_path / "state" / "nav_log.jsonl").read_text().count("\n") == nav_lines  # no point invented
    stale_logs = [r.getMessage() for r in caplog.records if "[sync_state] STALE" in r.getMessage()]
    assert len(stale_logs) == 1
    assert sync.cycle() is True  # recovery: fresh again
    assert doc(tmp_path, "nav")["stale"] is False
    assert any("[sync_state] RECOVERED" in r.getMessage() for r in caplog.records)


class _NaNMarks:
    """The real adapter, with one leg's markPrice (or the BTC premiumIndex mark) turned into NaN."""

    def __init__(self, adapter, where):
        self._a, self._where = adapter, where

    def __getattr__(self, name):
        return getattr(self._a, name)

    def positions(self, *a, **k):
        rows = self._a.positions(*a, **k)
        if self._where == "leg" and rows:
            rows[0] = dataclasses.replace(rows[0], mark_price=Decimal("NaN"))
        return rows

    def mark_prices(self):
        marks = self._a.mark_prices()
        if self._where == "btc":
            marks["BTCUSDT"] = dataclasses.replace(marks["BTCUSDT"], mark_price=Decimal("NaN"))
        return marks


def test_a_nan_mark_on_a_leg_keeps_the_last_good_values(hedge, tmp_path):
    trade_both_legs(hedge, (("ETHUSDT", "0.1", "0.1"),))
    make_sync(tmp_path, hedge).cycle()
    before = {n: doc(tmp_path, n) for n in ("nav", "positions", "risk", "synced_state")}
    sync = make_sync(tmp_path, hedge, adapter_wrap=lambda a: _NaNMarks(a, "leg"))
    assert sync.cycle() is False
    _assert_kept_and_stale(tmp_path, before, "markPrice = NaN is not finite")


def test_a_nan_btc_mark_only_unprices_the_reserve(hedge, tmp_path):
    sync = make_sync(tmp_path, hedge, adapter_wrap=lambda a: _NaNMarks(a, "btc"))
    assert sync.cycle() is True
    nav = doc(tmp_path, "nav")
    assert nav["stale"] is False and nav["reserve_usd"] is None and nav["reserve_btc"] == 0.013


def test_corrupt_files_on_start_are_never_republished_and_the_peak_is_not_lowered(hedge, tmp_path, caplog):
    root = tmp_path / "state"
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle()
    nav_now = doc(tmp_path, "nav")["nav_usd"]
    log = NavLog(root, 200)
    log.load()
    log.append(doc(tmp_path, "nav")["as_of_ms"], Decimal("12345.5"))  # an earlier high, only in the NAV log
    garbage = b'{"schema_version": 1, "nav_usd": NaN'
    for name in ("nav", "peak_state", "positions", "trade_log"):
        (root / f"{name}.json").write_bytes(garbage)
    hedge.fault(kind="error", status=503, path="/fapi/*")
    caplog.set_level(logging.WARNING, logger=LOGGER)
    try:
        restarted = make_sync(tmp_path, hedge)
        assert restarted.cycle() is False
    finally:
        hedge.clear_faults()
    assert (root / "nav.json").read_bytes() == garbage  # nothing good to keep: left alone, never garbage on top
    assert (root / "positions.json").read_bytes() == garbage
    assert doc(tmp_path, "risk")["stale"] is True  # a good file from before is kept, marked stale
    assert doc(tmp_path, "peak_state")["peak_nav_usd"] == 12345.5  # rebuilt from the log, not lowered
    assert list(root.glob("peak_state.json.corrupt-*"))
    assert any("PEAK_RECOVERED" in r.getMessage() for r in caplog.records)
    assert restarted.cycle() is True
    nav = doc(tmp_path, "nav")
    assert nav["nav_usd"] == pytest.approx(nav_now) and nav["peak_nav_usd"] == 12345.5
    assert doc(tmp_path, "risk")["risk"]["circuit_breaker"]["active"] is True  # 19 % below the kept peak


def test_market_time_going_backwards_is_bad_data_then_a_new_timeline(hedge, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle()
    sync.nav_log.append(doc(tmp_path, "nav")["as_of_ms"] + 10 * H, Decimal(10**6))  # a point "from the future"
    assert sync.cycle() is False and sync.cycle() is False
    assert "before the last NAV point" in doc(tmp_path, "nav")["stale_reason"]
    assert (tmp_path / "state" / "nav_log.jsonl").read_text().count("\n") == 2  # no point appended
    # it persists (a replay venue restarted from its start): a new series; the high-water mark stays
    assert sync.cycle() is True
    assert any("NAV_LOG_RESET" in r.getMessage() for r in caplog.records)
    assert (tmp_path / "state" / "nav_log.jsonl").read_text().count("\n") == 1
    assert len(list((tmp_path / "state").glob("nav_log.jsonl.*"))) == 1
    assert doc(tmp_path, "nav")["stale"] is False


# ------------------------------------------------------------------------------------ the DD circuit

def test_circuit_trips_holds_across_restarts_and_clears_on_config_change_or_operator_reset(hedge, tmp_path, caplog):
    root = tmp_path / "state"
    caplog.set_level(logging.INFO, logger=LOGGER)
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle()
    nav = Decimal(repr(doc(tmp_path, "nav")["nav_usd"]))
    reset_peak(root, nav * Decimal("1.25"), "test", "simulate an earlier high", ss.utc_now_iso(), "test")
    assert sync.cycle()
    risk = doc(tmp_path, "risk")["risk"]
    assert risk["circuit_breaker"]["active"] is True and risk["portfolio_dd_pct"] == pytest.approx(0.2)
    tripped_at = risk["circuit_breaker"]["tripped_at_ms"]
    assert tripped_at == doc(tmp_path, "nav")["as_of_ms"]
    assert sum("CIRCUIT_TRIPPED" in r.getMessage() for r in caplog.records) == 1
    # the peak never ages out: a restart and hundreds of NAV points later it still holds
    restarted = make_sync(tmp_path, hedge, cfg=config(nav_history_len=2))
    for _ in range(3):
        hedge.clock(step_ms=H)
        assert restarted.cycle()
    risk = doc(tmp_path, "risk")["risk"]
    assert risk["circuit_breaker"]["active"] is True and risk["circuit_breaker"]["tripped_at_ms"] == tripped_at
    assert sum("CIRCUIT_TRIPPED" in r.getMessage() for r in caplog.records) == 1
    # a config change (threshold above the DD) clears it
    looser = make_sync(tmp_path, hedge, cfg=config(max_portfolio_dd_nav_pct=0.25, KILL_DD_PCT=0.3))
    assert looser.cycle()
    assert doc(tmp_path, "risk")["risk"]["circuit_breaker"] == {"max_portfolio_dd_nav_pct": 0.25, "active": False,
                                                                "tripped_at_ms": None}
    assert any("CIRCUIT_CLEARED" in r.getMessage() for r in caplog.records)
    # back on the normal config it trips again; the operator reset (the real command) clears it
    assert make_sync(tmp_path, hedge).cycle()
    assert doc(tmp_path, "risk")["risk"]["circuit_breaker"]["active"] is True
    env = write_env(tmp_path, hedge)
    out = subprocess.run([sys.executable, "scripts/reset_peak.py", "--by", "ops-alice", "--reason", "accepted loss",
                          "--env-file", str(env)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    peak = doc(tmp_path, "peak_state")
    assert peak["reset_by"] == "ops-alice" and peak["reset_at"] and peak["peak_nav_usd"] == doc(tmp_path, "nav")["nav_usd"]
    system_log = (tmp_path / "logs" / "system.log").read_text()
    assert "[sync_state] PEAK_RESET by=ops-alice reason='accepted loss'" in system_log
    assert make_sync(tmp_path, hedge).cycle()
    assert doc(tmp_path, "risk")["risk"]["circuit_breaker"]["active"] is False


def test_reset_command_refuses_a_stale_nav_and_bad_values(hedge, tmp_path):
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle()
    hedge.fault(kind="error", status=503, path="/fapi/*")
    try:
        assert sync.cycle() is False
    finally:
        hedge.clear_faults()
    env = write_env(tmp_path, hedge)
    before = (tmp_path / "state" / "peak_state.json").read_bytes()
    for extra, code in (([], 1), (["--value", "nan"], 2), (["--value", "-5"], 2), (["--value", "abc"], 2)):
        out = subprocess.run([sys.executable, "scripts/reset_peak.py", "--by", "x", "--reason", "y",
                              "--env-file", str(env), *extra], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode == code, (extra, out.stderr)
    assert (tmp_path / "state" / "peak_state.json").read_bytes() == before


# ------------------------------------------------------------------------------------ NAV log bound

def test_nav_log_is_bounded_and_keeps_at_least_keep_points(tmp_path):
    log = NavLog(tmp_path, 200)
    log.load()
    for i in range(700):
        log.append(1_700_000_000_000 + i * 1000, Decimal(10000 + i))
    lines = (tmp_path / "nav_log.jsonl").read_text().splitlines()
    assert 200 <= len(lines) <= 220
    assert json.loads(lines[-1])["nav_usd"] == 10699.0
    again = NavLog(tmp_path, 200)
    pts = again.load()
    assert len(pts) == 200 and pts[-1].nav_usd == Decimal("10699.0")


# ------------------------------------------------------------------------------------ the command line

def _run(args, env_file, timeout=90, **kw):
    return subprocess.run([sys.executable, *args, "--env-file", str(env_file)], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout, **kw)


def test_runbook_command_and_jq_queries_work_as_written(hedge, tmp_path):
    trade_both_legs(hedge, (("SOLUSDT", "2", "1"),))
    env = write_env(tmp_path, hedge)
    out = _run(["execution/sync_state.py"], env)  # as the runbook writes it: the file form syncs once and exits
    assert out.returncode == 0, out.stderr[-3000:]
    risk_path = tmp_path / "state" / "risk.json"
    q1 = subprocess.run(["jq", ".risk | {portfolio_dd_pct, circuit_breaker}", str(risk_path)], capture_output=True,
                        text=True, check=True)
    got = json.loads(q1.stdout)
    assert got["portfolio_dd_pct"] == 0 and got["circuit_breaker"]["active"] is False
    assert got["circuit_breaker"]["max_portfolio_dd_nav_pct"] == 0.1
    q2 = subprocess.run(["jq", ".risk.correlation_groups", str(risk_path)], capture_output=True, text=True, check=True)
    groups = json.loads(q2.stdout)
    assert groups["L1_bluechips"]["status"] == "OK" and groups["L1_bluechips"]["gross_nav_pct"] > 0
    assert {"gross_nav_pct", "max_group_nav_pct", "status"} <= set(groups["L2_alts"])
    for name in ("nav", "positions", "risk", "synced_state", "trade_log", "peak_state"):
        d = doc(tmp_path, name)
        assert d is not None and d["writer"] == "sync_state" and d["written_at"].endswith("Z"), name
    assert (tmp_path / "state" / "nav_log.jsonl").read_text().count("\n") == 1
    system_log = (tmp_path / "logs" / "system.log").read_text()
    assert "[sync_state] START" in system_log and "[sync_state] nav=" in system_log
    assert "[exutil] ENV context testnet=False dry_run=True" in system_log
    assert "hedge-local-secret" not in system_log
    # the module form too; a second run appends one more NAV point
    assert _run(["-m", "execution.sync_state", "--once"], env).returncode == 0
    assert (tmp_path / "state" / "nav_log.jsonl").read_text().count("\n") == 2


def test_once_with_the_exchange_down_exits_3_and_writes_no_garbage(tmp_path):
    env = write_env(tmp_path, None)  # nothing listens on 127.0.0.1:9
    out = _run(["execution/sync_state.py", "--once"], env, timeout=120)
    assert out.returncode == 3, out.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "state").iterdir() if not p.name.startswith(".")) == []
    assert "[sync_state] STALE exchange unavailable" in (tmp_path / "logs" / "system.log").read_text()


def test_preflight_refusal_stops_the_process(tmp_path):
    env = write_env(tmp_path, None, BINANCE_BASE_URL="https://example.com")  # ENV=dev off the local venue
    out = _run(["execution/sync_state.py", "--once"], env)
    assert out.returncode == 1 and "not the local venue" in out.stderr
    assert not (tmp_path / "state").exists()


def test_the_loop_runs_at_the_configured_interval_and_stops_cleanly_on_sigterm(hedge, tmp_path):
    cfg_dir = tmp_path / "config"
    shutil.copytree(REPO / "config", cfg_dir)
    runtime = cfg_dir / "runtime.yaml"
    runtime.write_text(runtime.read_text().replace("sync_state_interval_seconds: 30", "sync_state_interval_seconds: 0.3"))
    env = write_env(tmp_path, hedge)
    proc = subprocess.Popen([sys.executable, "-m", "execution.sync_state", "--env-file", str(env), "--config-dir",
                             str(cfg_dir)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    nav_log = tmp_path / "state" / "nav_log.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not nav_log.exists() or nav_log.read_text().count("\n") < 4):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-3000:]
    assert nav_log.read_text().count("\n") >= 4
    assert "interval=0.3s" in err and "[sync_state] STOP after" in err


def test_read_nav_inputs_gives_the_executor_history_peak_and_freshness(hedge, tmp_path):
    from execution.nav_store import read_nav_inputs

    root = tmp_path / "state"
    empty = read_nav_inputs(root, 500)
    assert empty.nav_history == () and empty.hwm_nav_usd is None and empty.stale is True and empty.as_of_ms is None
    sync = make_sync(tmp_path, hedge)
    assert sync.cycle() and sync.cycle()
    got = read_nav_inputs(root, 500)
    nav = doc(tmp_path, "nav")
    assert len(got.nav_history) == 2 and got.nav_history[-1].nav_usd == Decimal(repr(nav["nav_usd"]))
    assert got.hwm_nav_usd == Decimal(repr(nav["peak_nav_usd"])) and got.stale is False
    assert got.as_of_ms == nav["as_of_ms"] and len(read_nav_inputs(root, 1).nav_history) == 1
    hedge.fault(kind="error", status=503, path="/fapi/*")
    try:
        assert sync.cycle() is False
    finally:
        hedge.clear_faults()
    stale = read_nav_inputs(root, 500)
    assert stale.stale is True and "exchange unavailable" in stale.stale_reason and stale.as_of_ms == nav["as_of_ms"]
    (root / "peak_state.json").write_text("{")
    assert read_nav_inputs(root, 500).hwm_nav_usd == Decimal(repr(nav["peak_nav_usd"]))  # the published peak


class _GarbledWalletOnce:
    """The real adapter; its first balances() answer has the USDT wallet read as 0 (a field gone missing)."""

    def __init__(self, adapter):
        self._a, self.garble = adapter, False

    def __getattr__(self, name):
        return getattr(self._a, name)

    def balances(self):
        rows = self._a.balances()
        if self.garble:
            self.garble = False
            rows = [dataclasses.replace(b, balance=Decimal(0)) if b.asset == "USDT" else b for b in rows]
        return rows


def test_an_implausible_nav_jump_is_held_until_a_second_read_confirms_it(hedge, tmp_path):
    wrapped = {}
    sync = make_sync(tmp_path, hedge, adapter_wrap=lambda a: wrapped.setdefault("a", _GarbledWalletOnce(a)))
    assert sync.cycle()
    good = doc(tmp_path, "nav")
    wrapped["a"].garble = True  # one garbled answer: NAV would read ~0 and trip the circuit
    assert sync.cycle() is False
    held = doc(tmp_path, "nav")
    assert held["stale"] is True and "unconfirmed NAV jump" in held["stale_reason"] and held["nav_usd"] == good["nav_usd"]
    assert doc(tmp_path, "risk")["risk"]["circuit_breaker"]["active"] is False
    assert sync.cycle() is True and doc(tmp_path, "nav")["nav_usd"] == pytest.approx(good["nav_usd"])
    # a real jump (a large deposit) is published once a second read agrees
    hedge.admin("POST", "/_venue/account/deposit", {"amount": "20000"})
    assert sync.cycle() is False
    assert sync.cycle() is True
    assert doc(tmp_path, "nav")["nav_usd"] == pytest.approx(good["nav_usd"] + 20000, abs=0.01)
    assert doc(tmp_path, "nav")["peak_nav_usd"] == pytest.approx(good["nav_usd"] + 20000, abs=0.01)
