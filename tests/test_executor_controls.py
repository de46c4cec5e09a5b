"""Kill switch, --reduce-only and panic close against the real venue (real processes, real files)."""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

from execution.executor import kill_switch as ks
from tests.executor_support import (
    FAST_ARGS,
    FAST_VENUE,
    REPO_ROOT,
    config_copy,
    proc_env,
    read_jsonl,
    run_executor,
    write_env,
)

FAST = FAST_ARGS


@pytest.fixture(scope="module")
def ctl_venue(venue_factory):
    return venue_factory(**FAST_VENUE)


def _script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / name), *args], cwd=REPO_ROOT,
                          env=proc_env(), capture_output=True, text=True, timeout=60)


def test_kill_switch_file_fail_safe(tmp_path):
    assert ks.read(tmp_path).active is False
    (tmp_path / "kill_switch.json").write_text("{not json")
    assert ks.read(tmp_path).active is True  # unreadable = engaged
    (tmp_path / "kill_switch.json").write_text('{"active": "no"}')
    assert ks.read(tmp_path).active is True
    ks.release(tmp_path, "t")
    assert ks.read(tmp_path).active is False


def test_kill_switch_command_halts_new_risk_and_survives_restart(tmp_path, ctl_venue):
    ctl_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, ctl_venue, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    r = _script("kill_switch.py", "on", "--env-file", str(env))
    assert r.returncode == 2 and "--reason" in r.stderr  # a reason is required
    r = _script("kill_switch.py", "on", "--reason", "drill", "--env-file", str(env))
    assert r.returncode == 0 and "ENGAGED" in r.stdout, r.stderr
    state = tmp_path / "logs" / "state"
    assert json.loads((state / "kill_switch.json").read_text())["active"] is True
    for _ in range(2):  # two separate processes: the switch is a file, it survives the restart
        r = run_executor(env, cfg, "--cycles", "6", *FAST)
        assert r.returncode == 0, r.stderr[-2000:]
    ex = (tmp_path / "logs" / "executor.log").read_text()
    assert '"veto":["kill_switch"' in ex
    assert "[executor] INTENT" not in ex
    assert sum(ctl_venue.stats()["orders_received"].values()) == 0
    health = json.loads((state / "health.json").read_text())
    assert health["kill_switch"]["active"] is True and health["kill_switch"]["reason"] == "drill"
    assert health["account_state"] == "HALTED"
    r = _script("kill_switch.py", "off", "--env-file", str(env))
    assert r.returncode == 0 and "RELEASED" in r.stdout
    st = _script("kill_switch.py", "status", "--env-file", str(env))
    assert json.loads(st.stdout)["active"] is False
    r = run_executor(env, cfg, "--cycles", "6", *FAST)
    assert r.returncode == 0
    assert "[executor] INTENT" in (tmp_path / "logs" / "executor.log").read_text()


def test_reduce_only_sends_no_entry(tmp_path, ctl_venue):
    ctl_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, ctl_venue, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    r = run_executor(env, cfg, "--reduce-only", "--cycles", "6", *FAST)
    assert r.returncode == 0, r.stderr[-2000:]
    ex = (tmp_path / "logs" / "executor.log").read_text()
    assert '"reduce_only"' in ex and "[executor] INTENT" not in ex
    health = json.loads((tmp_path / "logs" / "state" / "health.json").read_text())
    assert health["reduce_only"] is True and health["account_state"] == "REDUCING"
    assert sum(ctl_venue.stats()["orders_received"].values()) == 0


def _hedged_book(venue) -> None:
    c = venue.client()
    for sym, q in (("BTCUSDT", "0.01"), ("ETHUSDT", "0.2"), ("SOLUSDT", "5")):
        for side, ps in (("BUY", "LONG"), ("SELL", "SHORT")):
            c.futures_create_order(symbol=sym, side=side, positionSide=ps, type="MARKET", quantity=q)
    mark = Decimal(c.futures_mark_price(symbol="ETHUSDT")["markPrice"])
    c.futures_create_order(symbol="ETHUSDT", side="BUY", positionSide="LONG", type="LIMIT", timeInForce="GTC",
                           quantity="0.1", price=str((mark * Decimal("0.8")).quantize(Decimal("0.01"))))
    btc = Decimal(c.futures_mark_price(symbol="BTCUSDT")["markPrice"])
    c.futures_create_algo_order(symbol="BTCUSDT", side="SELL", positionSide="LONG", algoType="CONDITIONAL",
                                type="STOP_MARKET", triggerPrice=str((btc * Decimal("0.7")).quantize(Decimal("0.1"))),
                                closePosition="true", workingType="MARK_PRICE", clientAlgoId="hp-test-sl")


def _legs(venue) -> dict:
    return {(p["symbol"], p["positionSide"]): Decimal(p["positionAmt"])
            for p in venue.client().futures_position_information() if Decimal(p["positionAmt"]) != 0}


def test_panic_close_dry_run_touches_nothing(tmp_path, ctl_venue):
    ctl_venue.reset(balance=100000, dual=True, speed=1)
    _hedged_book(ctl_venue)
    before = _legs(ctl_venue)
    received = sum(ctl_venue.stats()["orders_received"].values())
    env = write_env(tmp_path, ctl_venue, dry_run=True)
    r = _script("panic_close.py", "--env-file", str(env))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "DRY_RUN" in r.stdout and "closes=6" in r.stdout
    assert _legs(ctl_venue) == before
    assert sum(ctl_venue.stats()["orders_received"].values()) == received
    assert len(ctl_venue.client().futures_get_open_orders()) == 1
    assert not (tmp_path / "logs" / "state" / "kill_switch.json").exists()


def test_panic_close_flattens_a_hedged_book(tmp_path, ctl_venue):
    ctl_venue.reset(balance=100000, dual=True, speed=1)
    _hedged_book(ctl_venue)
    assert len(_legs(ctl_venue)) == 6
    env = write_env(tmp_path, ctl_venue, dry_run=False)
    r = _script("panic_close.py", "--env-file", str(env), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert _legs(ctl_venue) == {}
    assert rep["left_open"] == [] and len(rep["closes"]) == 6
    assert {(c["symbol"], c["position_side"], c["side"]) for c in rep["closes"]} == {
        (s, "LONG", "SELL") for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")} | {
        (s, "SHORT", "BUY") for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}
    assert all(c["outcome"] == "accepted" and c["status"] == "FILLED" for c in rep["closes"])
    c = ctl_venue.client()
    assert c.futures_get_open_orders() == []
    assert rep["cancelled_protective"] and rep["cancelled_protective"][0]["orders"] == ["hp-test-sl"]
    assert ks.read(tmp_path / "logs" / "state").active is True  # a running executor opens nothing now
    sent = read_jsonl(tmp_path / "logs" / "execution" / "panic_close.jsonl")
    assert len(sent) == 6


def test_exchange_side_stops_for_every_leg_and_none_twice_after_restart(tmp_path, ctl_venue):
    ctl_venue.reset(balance=100000, dual=True, speed=1, paused=True)
    _hedged_book(ctl_venue)  # 3 symbols x 2 legs, plus a manual stop (hp-test-sl) the executor leaves alone
    env = write_env(tmp_path, ctl_venue, dry_run=False)
    cfg = config_copy(tmp_path, threshold=1.0)  # no entries: only protection
    args = ["--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT", "--interval", "0.2", "--nav-source", "account"]
    c = ctl_venue.client()

    def ours():
        return sorted((a["symbol"], a["positionSide"], a["orderType"], a["clientAlgoId"])
                      for a in c.futures_get_open_algo_orders() if a["clientAlgoId"].startswith("hp-pr-"))

    assert run_executor(env, cfg, "--cycles", "2", *args).returncode == 0
    algos = ours()
    legs = {(s, p) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT") for p in ("LONG", "SHORT")}
    assert {(s, p, k) for s, p, k, _ in algos} == {(s, p, k) for s, p in legs
                                                   for k in ("STOP_MARKET", "TAKE_PROFIT_MARKET")}
    assert any(a["clientAlgoId"] == "hp-test-sl" for a in c.futures_get_open_algo_orders())
    r = run_executor(env, cfg, "--cycles", "2", *args)  # restart: the same ids are found, nothing placed twice
    assert r.returncode == 0, r.stderr[-2000:]
    assert ours() == algos
    c.futures_create_order(symbol="SOLUSDT", side="SELL", positionSide="LONG", type="MARKET", quantity="5")
    assert run_executor(env, cfg, "--cycles", "2", *args).returncode == 0
    assert {(s, p) for s, p, _, _ in ours()} == legs - {("SOLUSDT", "LONG")}  # the closed leg's stops are gone


def test_trade_stats_count_only_closing_fills_per_symbol():
    """Expectancy is fed from the executor's own fills: opening fills (no realized PnL) are not trades."""
    import math

    from execution.executor.loop import _trade_stats

    fills = [{"symbol": "BTCUSDT", "realized_pnl": "0"}, {"symbol": "BTCUSDT", "realized_pnl": "30"},
             {"symbol": "BTCUSDT", "realized_pnl": "-10"}, {"symbol": "BTCUSDT", "realized_pnl": "10"},
             {"symbol": "ETHUSDT", "realized_pnl": "5"}, {"symbol": "SOLUSDT", "realized_pnl": None}]
    st = _trade_stats(fills)
    assert set(st) == {"BTCUSDT", "ETHUSDT"}
    assert st["BTCUSDT"].n_trades == 3 and math.isclose(st["BTCUSDT"].win_rate, 2 / 3)
    assert math.isclose(st["BTCUSDT"].payoff_ratio, 20 / 10) and st["ETHUSDT"].payoff_ratio == math.inf
