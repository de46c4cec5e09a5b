"""The executor reads the leverage brackets through the adapter and check_order vetoes with them
(docs/RISK.md "Brackets and liquidation"): a venue whose brackets allow only 200 USD at 3x gets no entries."""
from __future__ import annotations

import json

from tests.executor_support import config_copy, read_jsonl, run_executor, write_env

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")


def test_executor_vetoes_entries_over_the_venues_brackets(tmp_path, venue_factory):
    # tier 1 allows up to 125x but only 200 USD; tier 2 allows 1x: at the executor's 3x the cap is 200 USD
    tiers = [{"bracket": 1, "initialLeverage": 125, "notionalCap": 200, "notionalFloor": 0, "maintMarginRatio": 0.004,
              "cum": 0.0},
             {"bracket": 2, "initialLeverage": 1, "notionalCap": 10**9, "notionalFloor": 200, "maintMarginRatio": 0.5,
              "cum": 99.2}]
    path = tmp_path / "brackets.json"
    path.write_text(json.dumps([{"symbol": s, "brackets": tiers} for s in SYMBOLS]))
    v = venue_factory(speed=14400, extra=["--dual-side", "--weight-limit", "100000", "--brackets", str(path)])
    env = write_env(tmp_path, v, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True)
    r = run_executor(env, cfg, "--cycles", "4", "--interval", "0.25", "--nav-source", "account",
                     "--symbols", *SYMBOLS)
    assert r.returncode == 0, r.stderr[-3000:]
    logs = "\n".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert "leverage brackets unavailable" not in logs
    vetoes = [line for line in logs.splitlines() if '"bracket_notional"' in line]
    assert vetoes, "no order was judged against the brackets"
    assert '"max_notional_usd":200.0' in vetoes[0]
    orders = tmp_path / "logs" / "execution" / "orders.jsonl"
    intents = [e for e in read_jsonl(orders) if e["event"] == "intent"] if orders.exists() else []
    assert intents == [], intents[:2]
