"""DRY_RUN gate, secret hygiene and the header-driven weight budget, against the real venue process."""
import json
import logging
import random
import re
import time
from decimal import Decimal as D
from urllib.parse import parse_qs, urlsplit

import pytest

from execution.exchange import AuthError, CancelOutcome, Outcome
from execution.exchange_utils import build_adapter
from settings.env import EnvSettings

pytestmark = pytest.mark.timeout(60)

WRITE_PATHS = ("/fapi/v1/order", "/fapi/v1/allOpenOrders", "/fapi/v1/leverage", "/fapi/v1/marginType")


def adapter_for(v, dry_run, **kw):
    s = EnvSettings(_env_file=None, ENV="dev", DRY_RUN=dry_run, BINANCE_BASE_URL=v.base_url,
                    BINANCE_API_KEY=v.api_key, BINANCE_API_SECRET=v.api_secret)
    sleeps = []
    return build_adapter(s, sleep=sleeps.append, rng=random.Random(3), **kw), sleeps


def test_dry_run_sends_no_write_and_logs_the_full_order(venue, caplog):
    venue.reset(dual=True)
    caplog.set_level(logging.INFO)
    a, _ = adapter_for(venue, dry_run=True)
    lines = [r.getMessage() for r in caplog.records]
    assert "[exutil] ENV context testnet=False dry_run=True" in lines

    r = a.place_order("BTCUSDT", "BUY", "0.0123", order_type="LIMIT", price="50000.07", intent_id="dry-1",
                      mark_price="51000")
    assert r.outcome is Outcome.DRY_RUN and r.ok and not r.accepted
    assert r.order.status == "DRY_RUN" and r.order.client_order_id == r.client_order_id
    c = a.close_position("BTCUSDT", "SHORT", "0.002", intent_id="dry-2")  # MARKET: notional exempt
    assert c.outcome is Outcome.DRY_RUN
    assert a.cancel_order("BTCUSDT", client_order_id=r.client_order_id).outcome is CancelOutcome.DRY_RUN
    assert a.cancel_all("BTCUSDT").outcome is CancelOutcome.DRY_RUN
    setup = a.ensure_symbol_setup("BTCUSDT", leverage=7, margin_type="ISOLATED")
    assert setup.leverage.dry_run and setup.margin_type.dry_run and not setup.leverage.changed
    assert a.set_position_mode(False).dry_run

    stats = venue.stats()
    assert stats["orders_received"] == {} and stats["orders_accepted"] == {}
    for path in WRITE_PATHS:
        assert path not in stats["requests"], path
    # reads still reach the exchange
    assert a.balance("USDT").balance == D("10000")
    assert a.get_position_mode(refresh=True) is True  # the swallowed switch changed nothing
    assert a.positions() == [] and a.mark_price("ETHUSDT").mark_price > 0
    assert venue.stats()["requests"]["/fapi/v3/balance"] == 1

    text = caplog.text
    m = re.search(r"\[executor\] SEND_ORDER DRY_RUN (\{.*\})", text)
    assert m, text
    would = json.loads(m.group(1))
    assert would == {"newClientOrderId": r.client_order_id, "newOrderRespType": "RESULT", "positionSide": "LONG",
                     "price": "50000", "quantity": "0.012", "side": "BUY", "symbol": "BTCUSDT",
                     "timeInForce": "GTC", "type": "LIMIT"}
    assert "[exutil] DRY_RUN swallowed POST /fapi/v1/order {" in text
    for path in ("DELETE /fapi/v1/order", "DELETE /fapi/v1/allOpenOrders", "POST /fapi/v1/leverage",
                 "POST /fapi/v1/marginType", "POST /fapi/v1/positionSide/dual"):
        assert f"[exutil] DRY_RUN swallowed {path}" in text
    assert "ORDER_REQ" not in text
    assert a.client.dry_run_swallowed == 7


def test_secrets_never_reach_the_logs(venue_factory, caplog):
    key, secret = "hk-9f8e7d6c5b4a", "hs-0a1b2c3d4e5f6a7b"
    v = venue_factory(api_key=key, api_secret=secret, extra=["--dual-side"])
    caplog.set_level(logging.DEBUG)  # every logger, urllib3's request lines included
    a, _ = adapter_for(v, dry_run=False)
    a.balances()
    sig = parse_qs(urlsplit(a.client.response.request.url).query)["signature"][0]
    r = a.place_order("BTCUSDT", "BUY", "0.01", intent_id="sec-1", ref_price="55000")
    assert r.accepted
    a.get_order("BTCUSDT", client_order_id=r.client_order_id)
    bad, _ = adapter_for(v, dry_run=False)
    bad.client.API_SECRET = "wrong-secret-value"
    with pytest.raises(AuthError):
        bad.balances()  # -1022: the error path logs too
    text = caplog.text
    assert "GET /fapi/v3/balance?" in text  # urllib3's debug line is there ...
    assert "signature=***" in text  # ... with the signature masked
    for s in (key, secret, sig, "wrong-secret-value"):
        assert s not in text, s


def test_weight_budget_slows_down_before_the_limit(venue_factory, caplog):
    v = venue_factory(extra=["--weight-limit", "60"])
    if time.time() % 60 > 57:  # keep the whole test inside one rate-limit window
        time.sleep(60 - time.time() % 60 + 0.1)
    caplog.set_level(logging.WARNING)
    a, sleeps = adapter_for(v, dry_run=False)
    a.exchange_info()  # weight 1; also adopts the venue's REQUEST_WEIGHT limit of 60
    assert a.budget.limits.weight_1m == 60
    for _ in range(10):  # 5 each: without the budget the 12th would be a 429
        a.balances()
    assert a.budget.used_weight <= 60
    assert any(0 < s <= 60.05 for s in sleeps), sleeps
    assert "RATE_BUDGET slow down used_weight=" in caplog.text
    assert "429" not in v.stats()["responses"]
