"""The shipped dev configuration trades: `--profile dev --dev-fast` against the venue replaying real Binance
data produces intents within its first few dozen cycles (DRY_RUN: the venue receives no order)."""
from __future__ import annotations

import pytest

from tests.executor_support import run_executor, write_env

pytestmark = [pytest.mark.slow, pytest.mark.shared_data, pytest.mark.timeout(300)]


def test_shipped_dev_config_produces_intents_on_real_data(tmp_path, venue_factory, shared_data_dir):
    # --dev-fast loops every 2 s against a 3600x venue (2 bars per cycle); the test runs the same market
    # pace twice as fast (7200x, 1 s) to stay short.
    v = venue_factory(data=shared_data_dir, speed=7200, extra=["--dual-side", "--weight-limit", "100000"])
    env = write_env(tmp_path, v, dry_run=True)
    r = run_executor(env, None, "--profile", "dev", "--dev-fast", "--interval", "1", "--cycles", "30", timeout=250)
    assert r.returncode == 0, r.stderr[-3000:]
    ex = (tmp_path / "logs" / "executor.log").read_text()
    assert ex.count("[executor] INTENT ") >= 1, "no intent in 30 cycles with the shipped config"
    assert "[executor] SEND_ORDER DRY_RUN" in ex
    assert sum(v.stats()["orders_received"].values()) == 0
