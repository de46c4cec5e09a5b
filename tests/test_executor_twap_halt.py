"""A TWAP child is never sent once the account is in a hard state; a resting maker entry is cancelled."""
from __future__ import annotations

import signal
import subprocess
import time
from decimal import Decimal

import pytest

from execution.executor import kill_switch as ks
from execution.executor.journal import Journal
from tests.executor_support import config_copy, executor_cmd, proc_env, write_env
from tests.test_executor_crash import SYMBOL, _journal_parent

pytestmark = pytest.mark.slow


def _wait(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_kill_switch_mid_twap_cancels_resting_child_and_the_rest(tmp_path, venue_factory):
    v = venue_factory(speed=10, extra=["--dual-side", "--weight-limit", "100000"])
    env = write_env(tmp_path, v, dry_run=False)
    # maker children rest up to 600 s of market time (60 s wall at 10x): the switch must cut that short
    cfg = config_copy(tmp_path, threshold=1.0, twap={"min_notional_usd": 50.0, "slices": 4, "interval_seconds": 10},
                      router={"maker_timeout_seconds": 600, "maker_offset_bps": 50})
    client = v.client()
    price = Decimal(client.futures_mark_price(symbol=SYMBOL)["markPrice"])
    qty = (Decimal(2000) / price).quantize(Decimal("0.001"))
    jpath = tmp_path / "logs" / "execution" / "orders.jsonl"
    _journal_parent(Journal(jpath), "halt-1", qty, price, v.market_time_ms())
    p = subprocess.Popen(executor_cmd(env, cfg, "--symbols", SYMBOL, "--interval", "0.2", "--nav-source", "account",
                                      "--cycles", "100000"), env=proc_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait(lambda: len(client.futures_get_open_orders(symbol=SYMBOL)) == 1, 60), "no resting maker child"
        t0 = time.monotonic()
        ks.engage(tmp_path / "logs" / "state", "drill mid-TWAP", "test")
        assert _wait(lambda: client.futures_get_open_orders(symbol=SYMBOL) == [], 10)
        cancel_s = time.monotonic() - t0
        assert _wait(lambda: Journal(jpath).intents["halt-1"].ended == "cancelled", 10)
        time.sleep(1.5)  # several TWAP intervals later: still nothing new
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    j = Journal(jpath)
    it = j.intents["halt-1"]
    assert it.end_reason.startswith("hard state: kill switch (drill mid-TWAP)"), it.end_reason
    sliced = {int(s.record["slice_index"]) for s in j.sends.values()}
    assert sliced == {1}, f"children sent after the switch: {sliced}"
    orders = client.futures_get_all_orders(symbol=SYMBOL)
    assert len(orders) == 1 and orders[0]["status"] == "CANCELED"
    assert cancel_s < 5
    router_log = (tmp_path / "logs" / "system.log").read_text()
    assert "TWAP_CANCELLED halt-1" in router_log
