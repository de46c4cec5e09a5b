"""hedge-executor as a real process against the real venue: CLI, start lines, state files, DRY_RUN."""
from __future__ import annotations

import json
import re

import pytest

from tests.executor_support import FAST_ARGS, FAST_VENUE, config_copy, read_jsonl, run_executor, write_env

FAST = FAST_ARGS


@pytest.fixture(scope="module")
def fast_venue(venue_factory):
    return venue_factory(**FAST_VENUE)


def test_dry_run_many_cycles_intents_but_zero_orders(tmp_path, fast_venue):
    fast_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, fast_venue, dry_run=True)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True, twap={"min_notional_usd": 50.0})
    r = run_executor(env, cfg, "--profile", "dev", "--cycles", "25", *FAST)
    assert r.returncode == 0, r.stderr[-3000:]
    logs = tmp_path / "logs"
    ex = (logs / "executor.log").read_text()
    system = (logs / "system.log").read_text()
    assert "[exutil] base=" in system and "[exutil] ENV context testnet=False dry_run=True" in system
    assert "[executor] account OK — futures=True testnet=False dry_run=True" in ex
    assert ex.count("[executor] INTENT ") >= 3
    for crumb in ('[screener] ', '"veto":', "[screener->executor] {", "[executor] SEND_ORDER DRY_RUN {",
                  '"positionSide":'):
        assert crumb in ex, crumb
    assert "[exutil] DRY_RUN swallowed POST /fapi/v1/order" in system
    stats = fast_venue.stats()
    assert sum(stats["orders_received"].values()) == 0, stats
    events = read_jsonl(logs / "execution" / "twap_events.jsonl")
    assert events and all(e["dry_run"] is True for e in events)
    assert any(e["execution_style"] == "twap" and e["slice_count"] > 1 for e in events)
    for key in ("execution_style", "slice_index", "slice_count", "slice_qty", "parent_gross_usd", "config"):
        assert key in events[0]
    state = logs / "state"
    intel = json.loads((state / "intel.json").read_text())
    btc = intel["intel"]["BTCUSDT"]
    for k in ("trend_score", "carry_score", "hybrid_score", "hybrid_score_plain", "vol_regime", "vol"):
        assert k in btc
    assert -1 <= btc["hybrid_score"] <= 1 and btc["vol_regime"] in ("low", "normal", "high", "crisis")
    health = json.loads((state / "health.json").read_text())
    assert health["ok"] is True and health["dry_run"] is True and health["cycle"] == 25
    assert health["kill_switch"]["active"] is False and health["account_state"] == "NORMAL"
    signals = json.loads((state / "signals.json").read_text())["signals"]
    assert signals and {"symbol", "signal", "position_side", "intent", "gross_usd", "source"} <= set(signals[-1])
    router = json.loads((state / "router.json").read_text())
    assert router["dry_run"] is True and router["orders_filled"] == 0 and router["orders_sent"] > 0
    screener = json.loads((state / "screener.json").read_text())
    assert screener["attempted"] == 10 and len(screener["tail"]) >= 10
    journal = read_jsonl(logs / "execution" / "orders.jsonl")
    sends = [e for e in journal if e["event"] == "send"]
    assert sends and all(any(f["event"] == "order_final" and f["client_order_id"] == s["client_order_id"]
                             and f["status"] == "DRY_RUN" for f in journal) for s in sends)


def test_dry_run_flag_wins_over_env(tmp_path, fast_venue):
    fast_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, fast_venue, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    r = run_executor(env, cfg, "--dry-run", "--cycles", "8", *FAST)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "dry_run=True" in (tmp_path / "logs" / "executor.log").read_text()
    assert sum(fast_venue.stats()["orders_received"].values()) == 0


def test_live_orders_fill_and_journal_matches_positions(tmp_path, fast_venue):
    fast_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, fast_venue, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True, twap={"min_notional_usd": 50.0},
                      router={"maker_timeout_seconds": 600})
    r = run_executor(env, cfg, "--cycles", "12", "--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT", *FAST)
    assert r.returncode == 0, r.stderr[-3000:]
    # Exchange-side stops keep working after the exit: freeze the market, and let a restart's
    # reconciliation journal whatever fired meanwhile (docs/Reconciliation.md scenario 11)
    fast_venue.clock(pause=True)
    r = run_executor(env, cfg, "--once", "--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT", *FAST)
    assert r.returncode == 0, r.stderr[-3000:]  # (the next test's reset restarts the clock)
    logs = tmp_path / "logs"
    ex = (logs / "executor.log").read_text()
    assert "[executor] ORDER_REQ /fapi/v1/order 200" in ex
    assert re.search(r'"timeInForce": ?"GTX"', ex)  # maker-first: post-only children before any taker fallback
    journal = read_jsonl(logs / "execution" / "orders.jsonl")
    fills = [e for e in journal if e["event"] == "fill"]
    assert fills, "no fill journaled"
    from decimal import Decimal

    from execution.executor.journal import positions_from_fills

    implied = positions_from_fills(fills)
    client = fast_venue.client()
    legs = {(p["symbol"], p["positionSide"]): abs(Decimal(p["positionAmt"]))
            for p in client.futures_position_information() if Decimal(p["positionAmt"]) != 0}
    assert implied == legs
    # every send was journaled before its order existed: each exchange order id is a journaled id, once
    sent = {e["client_order_id"] for e in journal if e["event"] == "send"}
    for sym in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        orders = client.futures_get_all_orders(symbol=sym)
        cids = [o["clientOrderId"] for o in orders]
        assert len(cids) == len(set(cids))
        # regular orders are journaled sends; a fired exchange-side stop/TP carries its clientAlgoId (hp-pr-)
        assert {c for c in cids if not c.startswith("hp-pr-")} <= sent
    router = json.loads((logs / "state" / "router.json").read_text())
    assert router["orders_filled"] > 0 and router["dry_run"] is False


def test_cli_errors(tmp_path, fast_venue):
    env = write_env(tmp_path, fast_venue, dry_run=True)
    once = run_executor(env, None, "--once", "--symbols", "BTCUSDT", "--nav-source", "account")
    assert once.returncode == 0, once.stderr[-2000:]
    assert json.loads((tmp_path / "logs" / "state" / "health.json").read_text())["cycle"] == 1
    assert run_executor(env, None, "--cycles", "0").returncode == 2
    bad = write_env(tmp_path, fast_venue, dry_run=True, env="mainnet")  # mainnet + loopback URL: gate refuses
    r = run_executor(bad, None, "--once")
    assert r.returncode == 3
    assert "safety gate refused" in r.stderr
    missing = run_executor(tmp_path / "nope.env", None, "--once")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_dev_fast_decides_at_once_on_a_real_time_venue(tmp_path, venue_factory):
    """The operator's `--profile dev --dev-fast` against the local stack's venue (real-time clock, 1h bars):
    cycle 1 decides the newest closed bar (left out of the warm-up) instead of waiting up to an hour."""
    v = venue_factory(extra=["--dual-side"])  # speed 1, as scripts/run_local.sh runs it
    v.reset(balance=10000, dual=True)
    env = write_env(tmp_path, v, dry_run=True)
    r = run_executor(env, None, "--profile", "dev", "--dev-fast", "--once")
    assert r.returncode == 0, r.stderr[-3000:]
    ex = (tmp_path / "logs" / "executor.log").read_text()
    assert "the newest is decided by cycle 1 (--dev-fast)" in ex
    assert "[screener] attempted=10 " in ex and ex.count("[decision] {") == 10
    # without --dev-fast the newest closed bar is warm-up history: nothing to decide until the next close
    r = run_executor(env, None, "--profile", "dev", "--once", "--nav-source", "account")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "logs" / "executor.log").read_text().count("[screener] attempted=") == 1


def test_dev_fast_with_the_shipped_config_makes_intents_within_a_few_dozen_cycles(tmp_path, fast_venue):
    """`--profile dev --dev-fast` with config/ as shipped (no threshold or profile override), one new 1h bar per
    cycle: entries are approved and become intents within 36 cycles (the dev profile trades both sides, as prod)."""
    fast_venue.reset(balance=10000, dual=True, speed=14400)
    env = write_env(tmp_path, fast_venue, dry_run=True)
    r = run_executor(env, None, "--profile", "dev", "--dev-fast", "--interval", "0.25", "--cycles", "36")
    assert r.returncode == 0, r.stderr[-3000:]
    ex = (tmp_path / "logs" / "executor.log").read_text()
    assert "[executor] INTENT {" in ex and '"status":"approved"' in ex and "[screener->executor] {" in ex
