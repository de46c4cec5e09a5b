"""Crash safety against the real venue: SIGKILL the executor at random points of a TWAP, restart, repeat.

Invariants checked after every trial (docs/Reconciliation.md): never a duplicate order (each exchange
order id is a journaled client order id, once; the parent is never over-filled), never a lost fill (every
venue trade is a journaled fill), and the final position equals the journal's fills.
"""
from __future__ import annotations

import os
import random
import subprocess
import time
from decimal import Decimal

import pytest

from execution.executor.journal import Journal, positions_from_fills
from tests.executor_support import config_copy, executor_cmd, proc_env, read_jsonl, run_executor, write_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

SYMBOL = "BTCUSDT"
TRIALS = int(os.environ.get("HEDGE_CRASH_TRIALS", "3"))
SPEED = 10
MAX_RESTARTS = 4


def _count(path, text: str) -> int:
    try:
        return path.read_text().count(text)
    except OSError:
        return 0


def _journal_parent(journal: Journal, intent_id: str, qty: Decimal, price: Decimal, now_ms: int) -> None:
    step = Decimal("0.001")
    n = 4
    units = int(qty / step)
    parts = [(units // n + (1 if i < units % n else 0)) * step for i in range(n)]
    journal.intent({"intent_id": intent_id, "symbol": SYMBOL, "side": "BUY", "position_side": "LONG",
                    "intent": "OPEN", "qty": str(qty), "price": str(price), "gross_usd": float(qty * price),
                    "style": "twap", "slices": [{"index": i + 1, "qty": str(q)} for i, q in enumerate(parts)],
                    "interval_seconds": 10.0, "urgent": False, "created_ms": now_ms, "source": "test",
                    "reason": "crash drill", "dry_run": False})


@pytest.fixture(scope="module")
def crash_venue(venue_factory):
    # speed 10: a 10 s TWAP interval is 1 s of wall time and a 5 s maker timeout 0.5 s, so the parent spans
    # several seconds and the random kills land before, between and inside its children
    return venue_factory(speed=SPEED, extra=["--dual-side", "--weight-limit", "100000"])


def test_sigkill_at_random_points_of_a_twap(tmp_path, crash_venue):
    rng = random.Random(20261206)
    for trial in range(TRIALS):
        crash_venue.reset(balance=100000, dual=True, speed=SPEED)
        crash_venue.clear_faults()
        tdir = tmp_path / f"t{trial}"
        tdir.mkdir()
        env = write_env(tdir, crash_venue, dry_run=False)
        cfg = config_copy(tdir, threshold=1.0, twap={"min_notional_usd": 50.0, "slices": 4, "interval_seconds": 10})
        if trial % 2 == 1:  # the venue books the order, then the answer is lost
            crash_venue.fault(kind="ambiguous", path="/fapi/v1/order", method="POST", count=2, mode="drop")
        client = crash_venue.client()
        price = Decimal(client.futures_mark_price(symbol=SYMBOL)["markPrice"])
        qty = (Decimal(2000) / price).quantize(Decimal("0.001"))
        journal_path = tdir / "logs" / "execution" / "orders.jsonl"
        log = tdir / "logs" / "executor.log"
        iid = f"drill-{trial}"
        _journal_parent(Journal(journal_path), iid, qty, price, crash_venue.market_time_ms())
        cmd = executor_cmd(env, cfg, "--symbols", SYMBOL, "--interval", "0.2", "--nav-source", "account",
                           "--cycles", "100000")
        lives = 0
        for _ in range(MAX_RESTARTS):
            starts = _count(log, "[executor] START ")
            p = subprocess.Popen(cmd, env=proc_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while _count(log, "[executor] START ") == starts and p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)  # the kill is timed from the end of the start sequence, not from exec
            time.sleep(rng.uniform(0.0, 2.5))
            p.kill()  # SIGKILL: no handler, no flush
            p.wait()
            lives += 1
            if Journal(journal_path).intents[iid].ended:
                break
        crash_venue.clear_faults()
        # one clean run settles whatever the last kill left and syncs the fills
        r = run_executor(env, cfg, "--symbols", SYMBOL, "--interval", "0.2", "--nav-source", "account",
                         "--cycles", "3")
        assert r.returncode == 0, r.stderr[-2000:]
        j = Journal(journal_path)
        it = j.intents[iid]
        assert it.ended, f"trial {trial}: parent still open"
        # 1. never a duplicate order: every exchange order is a journaled id, each id once
        orders = client.futures_get_all_orders(symbol=SYMBOL)
        cids = [o["clientOrderId"] for o in orders]
        assert len(cids) == len(set(cids)), f"trial {trial}: duplicate client ids {cids}"
        assert set(cids) <= set(j.sends), f"trial {trial}: an order the journal does not name"
        executed = sum(Decimal(o["executedQty"]) for o in orders)
        assert executed <= qty, f"trial {trial}: parent {qty} over-filled ({executed})"
        if it.ended == "done" and "reconcile" not in it.end_reason:
            assert it.filled == qty, f"trial {trial}: done with {it.filled} of {qty}"
        # 2. never a lost fill: every venue trade is journaled
        trades = client.futures_account_trades(symbol=SYMBOL)
        assert {int(t["id"]) for t in trades} == {tid for s, tid in j.trade_ids if s == SYMBOL}
        # 3. final position == journal
        legs = {(p["symbol"], p["positionSide"]): abs(Decimal(p["positionAmt"]))
                for p in client.futures_position_information() if Decimal(p["positionAmt"]) != 0}
        assert positions_from_fills(j.fills) == legs, f"trial {trial}"
        finals = [s.final["status"] for s in j.sends.values() if s.final]
        print(f"trial {trial}: lives={lives} sends={len(j.sends)} finals={finals} end={it.ended} "
              f"filled={it.filled}/{qty} reason={it.end_reason!r}")
        assert sum(1 for e in read_jsonl(journal_path) if e.get("event") == "intent" and e["intent_id"] == iid) == 1
