"""The R1 ensemble as the executor's decision source, against the venue (config chooses the source)."""
from __future__ import annotations

from decimal import Decimal

from execution.executor.ensemble import EnsembleSource
from tests.executor_support import config_copy, read_jsonl, run_executor, write_env


def test_ensemble_source_trades_the_sleeves_only(tmp_path, venue_factory):
    v = venue_factory(speed=14400, extra=["--dual-side", "--weight-limit", "100000"])
    env = write_env(tmp_path, v, dry_run=False)
    cfg = config_copy(tmp_path, threshold=0.02, shorts=True, executor={"decision_source": "ensemble"})
    r = run_executor(env, cfg, "--cycles", "10", "--interval", "0.25", "--nav-source", "account",
                     "--symbols", "BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
    assert r.returncode == 0, r.stderr[-3000:]
    ex = (tmp_path / "logs" / "executor.log").read_text()
    assert "[executor] SOURCE ensemble R1" in ex
    intents = [e for e in read_jsonl(tmp_path / "logs" / "execution" / "orders.jsonl") if e["event"] == "intent"]
    assert intents, "the ensemble sent nothing in 10 cycles"
    assert all(e["source"] == "ensemble" and e["intent_id"].startswith("en-") for e in intents)
    assert {e["symbol"] for e in intents} <= {"BTCUSDT", "ETHUSDT", "SOLUSDT"}  # XRPUSDT has no sleeve
    assert '"source":"ensemble"' in ex and "[executor] INTENT" in ex
    import json

    intel = json.loads((tmp_path / "logs" / "state" / "intel.json").read_text())["intel"]
    assert {"hybrid_score", "hybrid_score_plain", "ensemble_target"} <= set(intel["BTCUSDT"])


def _filters():
    from core.filters import SymbolFilters

    return SymbolFilters.from_exchange_info({"symbol": "BTCUSDT", "filters": [
        {"filterType": "PRICE_FILTER", "tickSize": "0.1", "minPrice": "0.1", "maxPrice": "1000000"},
        {"filterType": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001", "maxQty": "1000"},
        {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001", "minQty": "0.001", "maxQty": "1000"},
        {"filterType": "MIN_NOTIONAL", "notional": "5"}]})


def test_dead_band_and_flip_orders():
    src = EnsembleSource.__new__(EnsembleSource)
    src.symbols, src.dead_band = ["BTCUSDT"], Decimal("0.02")
    nav, mark = Decimal(10000), {"BTCUSDT": Decimal(100)}
    f = {"BTCUSDT": _filters()}
    src.targets = {"BTCUSDT": 0.34}
    o = src.orders(nav, mark, {}, f)
    assert [(x.order.side, x.order.position_side, x.order.intent, x.order.qty) for x in o] == [("BUY", "LONG", "OPEN", Decimal("34"))]
    assert src.orders(nav, mark, {("BTCUSDT", "LONG"): Decimal("33")}, f) == []  # 100 USD < 2 % of NAV
    src.targets = {"BTCUSDT": -0.2}  # flip: close the long first, then open the short
    o = src.orders(nav, mark, {("BTCUSDT", "LONG"): Decimal("34")}, f)
    assert [(x.order.side, x.order.position_side, x.order.intent, x.order.qty) for x in o] == [
        ("SELL", "LONG", "CLOSE", Decimal("34")), ("SELL", "SHORT", "OPEN", Decimal("20"))]
    src.targets = {"BTCUSDT": 0.0}
    o = src.orders(nav, mark, {("BTCUSDT", "LONG"): Decimal("0.1")}, f)  # a zero target closes even a dust leg
    assert [(x.order.intent, x.order.qty) for x in o] == [("CLOSE", Decimal("0.1"))]
