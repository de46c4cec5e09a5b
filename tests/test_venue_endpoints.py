"""Every python-binance method the issue names, called once against the venue with the real sync and async
clients: the call succeeds and the answer has Binance's shape. (Behaviour is tested in test_venue_*.)"""
import asyncio

import pytest

BTC = "BTCUSDT"


@pytest.fixture(scope="module")
def hedge_venue(venue_factory):
    v = venue_factory()
    v.client().futures_change_position_mode(dualSidePosition="true")  # Hedge trades in hedge mode
    return v


def test_every_named_sync_endpoint_answers_with_binance_shapes(hedge_venue):
    c = hedge_venue.client()
    assert c.futures_ping() == {}
    assert isinstance(c.futures_time()["serverTime"], int)
    info = c.futures_exchange_info()
    assert {s["symbol"] for s in info["symbols"]} >= {BTC, "ETHUSDT"} and info["rateLimits"]
    k = c.futures_klines(symbol=BTC, interval="1h", limit=5)
    assert len(k) == 5 and len(k[0]) == 12 and isinstance(k[0][1], str)
    pi = c.futures_mark_price(symbol=BTC)
    assert {"markPrice", "indexPrice", "lastFundingRate", "nextFundingTime", "time"} <= set(pi)
    assert isinstance(c.futures_funding_rate(symbol=BTC, limit=3), list)
    book = c.futures_order_book(symbol=BTC, limit=5)
    assert len(book["bids"]) == 5 and float(book["bids"][0][0]) < float(book["asks"][0][0])
    assert {"bidPrice", "askPrice"} <= set(c.futures_orderbook_ticker(symbol=BTC))
    assert float(c.futures_symbol_ticker(symbol=BTC)["price"]) > 0
    for version in (2, 3):
        bal = c.futures_account_balance(version=version)
        assert bal[0]["asset"] == "USDT" and "availableBalance" in bal[0]
        assert isinstance(c.futures_position_information(symbol=BTC, version=version), list)
    assert "totalWalletBalance" in c.futures_account()
    assert c.futures_get_position_mode()["dualSidePosition"] is True
    c.futures_change_leverage(symbol=BTC, leverage=3)
    try:
        c.futures_change_margin_type(symbol=BTC, marginType="CROSSED")
    except Exception as exc:  # -4046 "No need to change margin type." is Binance's answer when already set
        assert getattr(exc, "code", None) == -4046

    bid = float(book["bids"][0][0])
    limit_price = f"{round(bid * 0.95, 1):.1f}"
    o = c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="LIMIT", timeInForce="GTC",
                               quantity="0.002", price=limit_price, newClientOrderId="cover-limit-1")
    assert o["clientOrderId"] == "cover-limit-1" and o["status"] == "NEW"
    assert c.futures_get_order(symbol=BTC, origClientOrderId="cover-limit-1")["status"] == "NEW"
    assert [x["clientOrderId"] for x in c.futures_get_open_orders(symbol=BTC)] == ["cover-limit-1"]
    assert c.futures_cancel_order(symbol=BTC, origClientOrderId="cover-limit-1")["status"] == "CANCELED"
    m = c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="MARKET", quantity="0.002",
                               newClientOrderId="cover-mkt-1")
    assert m["clientOrderId"] == "cover-mkt-1"
    assert {x["clientOrderId"] for x in c.futures_get_all_orders(symbol=BTC)} >= {"cover-limit-1", "cover-mkt-1"}
    trades = c.futures_account_trades(symbol=BTC)
    assert trades and trades[-1]["positionSide"] == "LONG"

    # conditional order path: python-binance routes STOP_MARKET to /fapi/v1/algoOrder
    stop = c.futures_create_order(symbol=BTC, side="SELL", positionSide="LONG", type="STOP_MARKET",
                                  quantity="0.002", stopPrice=f"{round(bid * 0.8, 1):.1f}")
    assert "algoId" in stop
    assert c.futures_get_open_orders(symbol=BTC, conditional=True)
    assert c.futures_cancel_all_open_orders(symbol=BTC)
    c.futures_cancel_all_open_orders(symbol=BTC, conditional=True)
    assert c.futures_get_open_orders(symbol=BTC, conditional=True) == []
    assert c.futures_get_open_orders(symbol=BTC) == []


def test_async_client_endpoints(hedge_venue):
    async def run():
        ac = await hedge_venue.async_client()
        try:
            assert (await ac.futures_time())["serverTime"] > 0
            assert float((await ac.futures_mark_price(symbol=BTC))["markPrice"]) > 0
            assert (await ac.futures_klines(symbol=BTC, interval="1h", limit=2))
            assert (await ac.futures_account_balance())[0]["asset"] == "USDT"
            o = await ac.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="MARKET",
                                              quantity="0.002", newClientOrderId="async-mkt-1")
            assert o["clientOrderId"] == "async-mkt-1"
            legs = await ac.futures_position_information(symbol=BTC)
            assert any(p["positionSide"] == "LONG" and float(p["positionAmt"]) > 0 for p in legs)
        finally:
            await ac.close_connection()

    asyncio.run(run())
