"""Trading against the venue with the real python-binance client: orders, rejections, modes, margin."""
import json
from decimal import Decimal as D

import pytest
from binance.exceptions import BinanceAPIException

from tests.plugins.venue import REPO_ROOT

BTC, ETH = "BTCUSDT", "ETHUSDT"
TAKER, MAKER = D("0.0005"), D("0.0002")


def api_error(fn, **kw) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as ei:
        fn(**kw)
    return ei.value


@pytest.fixture
def c(venue):
    """A clean account on a paused market (prices do not move unless a test steps the clock)."""
    venue.reset(paused=True)
    return venue.client()


def touch(c, symbol):
    bt = c.futures_orderbook_ticker(symbol=symbol)
    return D(bt["bidPrice"]), D(bt["askPrice"])


def mark(c, symbol):
    return D(c.futures_mark_price(symbol=symbol)["markPrice"])


def wallet(c):
    return D(c.futures_account_balance()[0]["balance"])


# ------------------------------------------------------------------------------------------- orders

def test_market_order_ack_result_query_and_trade(c, venue):
    bid, ask = touch(c, BTC)
    ack = c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010", newClientOrderId="m-1")
    # newOrderRespType=ACK (Binance's default): the order as accepted, before matching
    assert ack["status"] == "NEW" and ack["executedQty"] == "0.000" and ack["clientOrderId"] == "m-1"
    assert set(ack) >= {"orderId", "symbol", "status", "clientOrderId", "price", "avgPrice", "origQty",
                        "executedQty", "cumQty", "cumQuote", "timeInForce", "type", "reduceOnly", "closePosition",
                        "side", "positionSide", "stopPrice", "workingType", "priceProtect", "origType",
                        "updateTime"}
    got = c.futures_get_order(symbol=BTC, orderId=ack["orderId"])
    assert got["status"] == "FILLED" and got["executedQty"] == "0.010"
    assert D(got["avgPrice"]) == ask                      # 0.01 BTC fits in the best level
    assert got["updateTime"] == venue.market_time_ms()     # market time

    res = c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010",
                                 newOrderRespType="RESULT")
    assert res["status"] == "FILLED" and D(res["cumQuote"]) == ask * D("0.010")

    trades = c.futures_account_trades(symbol=BTC)
    assert len(trades) == 2
    t = trades[0]
    assert t["orderId"] == ack["orderId"] and t["maker"] is False and t["buyer"] is True
    assert D(t["price"]) == ask and t["qty"] == "0.010"
    assert D(t["commission"]) == (ask * D("0.01") * TAKER).quantize(D("1e-8"))
    assert t["commissionAsset"] == "USDT" and D(t["realizedPnl"]) == 0
    assert t["time"] == venue.market_time_ms()


def test_round_trip_realized_pnl_minus_fees_to_the_cent(c):
    start = wallet(c)
    bid, ask = touch(c, BTC)
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
    c.futures_create_order(symbol=BTC, side="SELL", type="MARKET", quantity="0.01")
    q = D("0.01")
    fee_in = (ask * q * TAKER).quantize(D("1e-8"))
    fee_out = (bid * q * TAKER).quantize(D("1e-8"))
    realized = (bid - ask) * q
    trades = c.futures_account_trades(symbol=BTC)
    assert D(trades[1]["realizedPnl"]) == realized
    assert wallet(c) == start + realized - fee_in - fee_out
    pos = c.futures_position_information(symbol=BTC, version=2)[0]
    assert pos["positionAmt"] == "0.000" and D(pos["unRealizedProfit"]) == 0
    income = c.futures_income_history(symbol=BTC)
    assert {r["incomeType"] for r in income} == {"COMMISSION", "REALIZED_PNL"}


def test_market_order_walks_the_book(c):
    depth = c.futures_order_book(symbol=ETH, limit=10)
    asks = [(D(p), D(q)) for p, q in depth["asks"]]
    qty = asks[0][1] + asks[1][1] + D("1.000")            # eats two levels and part of the third
    o = c.futures_create_order(symbol=ETH, side="BUY", type="MARKET", quantity=str(qty),
                               newOrderRespType="RESULT")
    cost = asks[0][0] * asks[0][1] + asks[1][0] * asks[1][1] + asks[2][0] * D("1.000")
    assert D(o["cumQuote"]) == cost
    assert D(o["avgPrice"]).quantize(D("0.01")) == (cost / qty).quantize(D("0.01"))
    assert D(o["avgPrice"]) > asks[0][0]                  # slippage


def test_limit_lifecycle_query_cancel(c):
    m = mark(c, BTC)
    price = (m * D("0.97")).quantize(D("0.1"))
    o = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                               price=str(price), newClientOrderId="rest-1")
    assert o["status"] == "NEW" and D(o["price"]) == price
    assert [x["orderId"] for x in c.futures_get_open_orders(symbol=BTC)] == [o["orderId"]]
    assert c.futures_get_order(symbol=BTC, origClientOrderId="rest-1")["orderId"] == o["orderId"]
    dup = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC",
                    quantity="0.01", price=str(price), newClientOrderId="rest-1")
    assert (dup.code, dup.message) == (-4116, "clientOrderId is duplicated")
    cx = c.futures_cancel_order(symbol=BTC, origClientOrderId="rest-1")
    assert cx["status"] == "CANCELED"
    e = api_error(c.futures_cancel_order, symbol=BTC, orderId=o["orderId"])
    assert (e.code, e.message) == (-2011, "Unknown order sent.")
    e = api_error(c.futures_get_order, symbol=BTC, orderId=123)
    assert (e.code, e.message) == (-2013, "Order does not exist.")
    # the client id is free again once the order is closed
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                           price=str(price), newClientOrderId="rest-1")
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                           price=str(price - 10))
    assert len(c.futures_get_open_orders(symbol=BTC)) == 2
    assert c.futures_cancel_all_open_orders(symbol=BTC)["code"] == 200
    assert c.futures_get_open_orders(symbol=BTC) == []
    statuses = [x["status"] for x in c.futures_get_all_orders(symbol=BTC)]
    assert statuses == ["CANCELED", "CANCELED", "CANCELED"]


def test_time_in_force_ioc_fok_gtx(c):
    bid, ask = touch(c, BTC)
    # GTX (post-only) that would cross is rejected as Binance does
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTX",
                  quantity="0.01", price=str(ask))
    assert (e.code, e.message) == (-5022, "Due to the order could not be executed as maker, the Post Only "
                                          "order will be rejected.")
    ok = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTX", quantity="0.01",
                                price=str(bid))
    assert ok["status"] == "NEW"
    # IOC that cannot fill expires
    ioc = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="IOC", quantity="0.01",
                                 price=str(bid), newOrderRespType="RESULT")
    assert ioc["status"] == "EXPIRED" and ioc["executedQty"] == "0.000"
    # FOK that cannot fill completely is rejected
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="LIMIT", timeInForce="FOK",
                  quantity="0.01", price=str(bid))
    assert e.code == -5021
    # a marketable limit takes liquidity at the ask (taker), not at its own price
    lim = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                                 price=str(ask + 50), newOrderRespType="RESULT")
    assert lim["status"] == "FILLED" and D(lim["avgPrice"]) == ask
    fok = c.futures_create_order(symbol=BTC, side="SELL", type="LIMIT", timeInForce="FOK", quantity="0.02",
                                 price=str(bid - 50), newOrderRespType="RESULT")
    assert fok["status"] == "FILLED" and D(fok["avgPrice"]) == bid


# ------------------------------------------------------------------------------------------- rejections

@pytest.mark.parametrize("kw,code,msg", [
    (dict(price="60000.05"), -4014, "Price not increased by tick size."),
    (dict(quantity="0.0105"), -1111, "Precision is over the maximum defined for this asset."),
    (dict(price="60000.123"), -1111, "Precision is over the maximum defined for this asset."),
    (dict(quantity="0.001"), -4164, "Order's notional must be no smaller than 100 (unless you choose reduce only)."),
    (dict(price="500.0"), -4013, "Price less than min price."),
    (dict(quantity="1001"), -4005, "Quantity greater than max quantity."),
    (dict(quantity="0"), -4003, "Quantity less than or equal to zero."),
    (dict(symbol="FOOUSDT"), -1121, "Invalid symbol."),
    (dict(side="HOLD"), -1117, "Invalid side."),
    (dict(type="ICEBERG"), -1116, "Invalid orderType."),
    (dict(timeInForce="GTE"), -1115, "Invalid timeInForce."),
    (dict(quantity=None), -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed."),
    (dict(timeInForce=None), -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
    (dict(quantity="1e-3"), -1100, None),
    (dict(newClientOrderId="x" * 37), -4015, None),
    (dict(positionSide="LONG"), -4061, "Order's position side does not match user's setting."),
])
def test_limit_rejections(c, kw, code, msg):
    m = mark(c, BTC)
    order = dict(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010",
                 price=str((m * D("0.99")).quantize(D("0.1"))))
    order.update(kw)
    order = {k: v for k, v in order.items() if v is not None}
    if kw.get("price") == "60000.05":
        order["price"] = str((m * D("0.99")).quantize(D("0.1")) + D("0.05"))
    e = api_error(c.futures_create_order, **order)
    assert e.status_code == 400 and e.code == code
    if msg:
        assert e.message == msg


def test_market_lot_size_and_percent_price(c, venue):
    m = mark(c, BTC)
    # MARKET_LOT_SIZE maxQty for BTCUSDT is 120 (LOT_SIZE allows 1000 for limits)
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity="121")
    assert e.code == -4005
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC",
                  quantity="0.01", price=str((m * D("1.06")).quantize(D("0.1"))))
    assert e.code == -4016
    e = api_error(c.futures_create_order, symbol=BTC, side="SELL", type="LIMIT", timeInForce="GTC",
                  quantity="0.01", price=str((m * D("0.94")).quantize(D("0.1"))))
    assert e.code == -4024
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity="0.01", price="1")
    assert e.code == -1106
    # conditional types go to /fapi/v1/algoOrder; sent to /fapi/v1/order they are refused (-4120)
    e = api_error(c._request_futures_api, method="post", path="order", signed=True,
                  data=dict(symbol=BTC, side="BUY", type="STOP_MARKET", quantity="0.01", stopPrice="1"))
    assert e.code == -4120
    st = venue.stats()
    assert st["rejects_by_code"]["-4005"] >= 1 and st["orders_rejected"]["MARKET"] >= 2
    assert st["orders_received"]["LIMIT"] >= 2


def test_insufficient_margin(c):
    c.futures_change_leverage(symbol=BTC, leverage=2)
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity="1")
    assert (e.code, e.message) == (-2019, "Margin is insufficient.")
    c.futures_change_leverage(symbol=BTC, leverage=20)
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="1")      # ~3 k margin: fine
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity="3")
    assert e.code == -2019
    # reducing never needs margin
    c.futures_create_order(symbol=BTC, side="SELL", type="MARKET", quantity="1", reduceOnly="true")


# ------------------------------------------------------------------------------------------- modes

def test_one_way_reduce_only_and_flip(c):
    e = api_error(c.futures_create_order, symbol=ETH, side="SELL", type="MARKET", quantity="0.01",
                  reduceOnly="true")
    assert (e.code, e.message) == (-2022, "ReduceOnly Order is rejected.")
    c.futures_create_order(symbol=ETH, side="BUY", type="MARKET", quantity="0.05")
    e = api_error(c.futures_create_order, symbol=ETH, side="BUY", type="MARKET", quantity="0.01",
                  reduceOnly="true")
    assert e.code == -2022
    # a reduce-only below min notional is exempt; larger than the position it is clipped to it
    c.futures_create_order(symbol=ETH, side="SELL", type="MARKET", quantity="0.001", reduceOnly="true")
    o = c.futures_create_order(symbol=ETH, side="SELL", type="MARKET", quantity="0.100", reduceOnly="true",
                               newOrderRespType="RESULT")
    assert o["status"] == "FILLED" and o["executedQty"] == "0.049"
    assert c.futures_position_information(symbol=ETH) == []       # flat: v3 lists nothing
    # without reduceOnly a one-way order flips the position
    c.futures_create_order(symbol=ETH, side="BUY", type="MARKET", quantity="0.02")
    c.futures_create_order(symbol=ETH, side="SELL", type="MARKET", quantity="0.05")
    pos = c.futures_position_information(symbol=ETH, version=2)
    assert [(p["positionSide"], p["positionAmt"]) for p in pos] == [("BOTH", "-0.030")]


def test_hedge_mode(c):
    assert c.futures_get_position_mode() == {"dualSidePosition": False}
    e = api_error(c.futures_change_position_mode, dualSidePosition="false")
    assert e.code == -4059
    assert c.futures_change_position_mode(dualSidePosition="true") == {"code": 200, "msg": "success"}
    assert c.futures_get_position_mode() == {"dualSidePosition": True}

    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
    assert e.code == -4061                                   # BOTH (default) in hedge mode
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", positionSide="LONG", type="MARKET",
                  quantity="0.01", reduceOnly="false")
    assert (e.code, e.message) == (-1106, "Parameter 'reduceOnly' sent when not required.")
    e = api_error(c.futures_create_order, symbol=BTC, side="SELL", positionSide="LONG", type="MARKET",
                  quantity="0.01")
    assert e.code == -2022                                   # closing a LONG leg that does not exist

    c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="MARKET", quantity="0.02")
    c.futures_create_order(symbol=BTC, side="SELL", positionSide="SHORT", type="MARKET", quantity="0.01")
    legs = {p["positionSide"]: p for p in c.futures_position_information(symbol=BTC, version=2)}
    assert set(legs) == {"LONG", "SHORT"}
    assert legs["LONG"]["positionAmt"] == "0.020" and legs["SHORT"]["positionAmt"] == "-0.010"
    v3 = c.futures_position_information(symbol=BTC)
    assert {p["positionSide"] for p in v3} == {"LONG", "SHORT"}

    e = api_error(c.futures_create_order, symbol=BTC, side="SELL", positionSide="LONG", type="MARKET",
                  quantity="0.03")
    assert e.code == -2022                                   # more than the leg
    e = api_error(c.futures_change_position_mode, dualSidePosition="false")
    assert e.code == -4068
    # closing orders are exempt from min notional (0.001 BTC ~ 60 USDT < 100)
    c.futures_create_order(symbol=BTC, side="SELL", positionSide="LONG", type="MARKET", quantity="0.001")
    c.futures_create_order(symbol=BTC, side="SELL", positionSide="LONG", type="MARKET", quantity="0.019")
    c.futures_create_order(symbol=BTC, side="BUY", positionSide="SHORT", type="MARKET", quantity="0.01")
    assert c.futures_position_information(symbol=BTC) == []  # v3 lists only open legs
    m = mark(c, BTC)
    c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="LIMIT", timeInForce="GTC",
                           quantity="0.01", price=str((m * D("0.98")).quantize(D("0.1"))))
    e = api_error(c.futures_change_position_mode, dualSidePosition="false")
    assert e.code == -4067
    c.futures_cancel_all_open_orders(symbol=BTC)
    c.futures_change_position_mode(dualSidePosition="false")


def test_leverage_and_margin_type(c):
    r = c.futures_change_leverage(symbol=BTC, leverage=10)
    assert r["leverage"] == 10 and r["symbol"] == BTC and "maxNotionalValue" in r
    e = api_error(c.futures_change_leverage, symbol=BTC, leverage=0)
    assert e.code == -4028
    e = api_error(c.futures_change_margin_type, symbol=BTC, marginType="CROSSED")
    assert (e.code, e.message) == (-4046, "No need to change margin type.")
    assert c.futures_change_margin_type(symbol=BTC, marginType="ISOLATED") == {"code": 200, "msg": "success"}
    bid, ask = touch(c, BTC)
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.1")
    pos = c.futures_position_information(symbol=BTC, version=2)[0]
    assert pos["marginType"] == "isolated" and pos["leverage"] == "10"
    assert D(pos["isolatedWallet"]) == ask * D("0.1") / 10
    assert D(pos["isolatedMargin"]) == D(pos["isolatedWallet"]) + D(pos["unRealizedProfit"])
    liq = D(pos["liquidationPrice"])
    # isolated 10x long, maint 2.5 %: (entry - margin/qty) / (1 - 0.025), about 7.7 % below entry
    assert liq == ((ask - ask / 10) / D("0.975")).quantize(D("1e-8"))
    e = api_error(c.futures_change_margin_type, symbol=BTC, marginType="CROSSED")
    assert e.code == -4048
    c.futures_create_order(symbol=BTC, side="SELL", type="MARKET", quantity="0.1")
    m = mark(c, BTC)
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01",
                           price=str((m * D("0.98")).quantize(D("0.1"))))
    e = api_error(c.futures_change_margin_type, symbol=BTC, marginType="CROSSED")
    assert e.code == -4047


def test_account_balance_and_position_shapes(c):
    c.futures_create_order(symbol=ETH, side="BUY", type="MARKET", quantity="0.5")
    m = mark(c, ETH)
    for version in (2, 3):
        bal = c.futures_account_balance(version=version)[0]
        assert set(bal) >= {"accountAlias", "asset", "balance", "crossWalletBalance", "crossUnPnl",
                            "availableBalance", "maxWithdrawAmount", "marginAvailable", "updateTime"}
    acct = c.futures_account()
    assert set(acct) >= {"totalInitialMargin", "totalMaintMargin", "totalWalletBalance",
                         "totalUnrealizedProfit", "totalMarginBalance", "availableBalance", "assets", "positions"}
    eth = [p for p in acct["positions"] if p["symbol"] == ETH][0]
    assert eth["positionAmt"] == "0.500" and eth["leverage"] == "20" and eth["isolated"] is False
    assert len(acct["positions"]) == 10
    v3 = c.futures_account(version=3)
    assert [p["symbol"] for p in v3["positions"]] == [ETH]
    pos = c.futures_position_information(symbol=ETH)[0]
    entry = D(pos["entryPrice"])
    assert D(pos["unRealizedProfit"]) == ((m - entry) * D("0.5")).quantize(D("1e-8"))
    assert D(pos["notional"]) == m * D("0.5")
    assert D(pos["maintMargin"]) == m * D("0.5") * D("0.025")
    assert D(acct["totalWalletBalance"]) + D(acct["totalUnrealizedProfit"]) == D(acct["totalMarginBalance"])
    assert D(pos["positionInitialMargin"]) == (m * D("0.5") / 20).quantize(D("1e-8"))
    rates = c.futures_commission_rate(symbol=ETH)
    assert (rates["makerCommissionRate"], rates["takerCommissionRate"]) == ("0.0002", "0.0005")


# ------------------------------------------------------------------------------------------- algo orders

def test_conditional_orders_via_algo_endpoint(c):
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.01")
    m = mark(c, BTC)
    sl = c.futures_create_order(symbol=BTC, side="SELL", type="STOP_MARKET",
                                stopPrice=str((m * D("0.9")).quantize(D("0.1"))), closePosition="true")
    assert sl["algoType"] == "CONDITIONAL" and sl["orderType"] == "STOP_MARKET" and sl["algoStatus"] == "NEW"
    assert sl["clientAlgoId"].startswith("x-") and sl["closePosition"] is True
    tp = c.futures_create_order(symbol=BTC, side="SELL", type="TAKE_PROFIT_MARKET",
                                stopPrice=str((m * D("1.1")).quantize(D("0.1"))), quantity="0.01",
                                reduceOnly="true", clientAlgoId="tp-1")
    assert tp["clientAlgoId"] == "tp-1" and tp["triggerPrice"] == str((m * D("1.1")).quantize(D("0.1")))
    assert c.futures_get_order(symbol=BTC, clientAlgoId="tp-1")["algoId"] == tp["algoId"]
    assert c.futures_get_algo_order(algoId=sl["algoId"])["algoStatus"] == "NEW"
    assert {a["algoId"] for a in c.futures_get_open_orders(symbol=BTC, conditional=True)} == \
        {sl["algoId"], tp["algoId"]}
    e = api_error(c.futures_create_order, symbol=BTC, side="SELL", type="STOP_MARKET",
                  stopPrice=str((m * D("1.01")).quantize(D("0.1"))), closePosition="true")
    assert (e.code, e.message) == (-2021, "Order would immediately trigger.")
    e = api_error(c.futures_create_order, symbol=BTC, side="SELL", type="STOP_MARKET",
                  stopPrice=str((m * D("0.9")).quantize(D("0.1"))), closePosition="true", quantity="0.01")
    assert e.code == -4137
    r = c.futures_cancel_order(symbol=BTC, algoId=tp["algoId"])
    assert r == {"algoId": tp["algoId"], "clientAlgoId": "tp-1", "code": "200", "msg": "success"}
    assert api_error(c.futures_cancel_algo_order, algoId=tp["algoId"]).code == -2011
    assert c.futures_cancel_all_open_orders(symbol=BTC, conditional=True)["code"] == 200
    assert c.futures_get_open_orders(symbol=BTC, conditional=True) == []
    assert c.futures_get_algo_order(algoId=sl["algoId"])["algoStatus"] == "CANCELED"
    assert api_error(c.futures_get_algo_order, algoId=999).code == -2013


def test_step_size_and_min_qty_with_a_custom_exchange_info(venue_factory, tmp_path):
    """--exchange-info replaces the filters: a 0.005 lot on BTCUSDT makes -4023 / -4004 reachable (with
    the real 0.001 lot every off-step quantity has too many decimals, which is -1111)."""
    doc = json.loads((REPO_ROOT / "venue" / "exchange_info_default.json").read_text())
    for f in doc["symbols"][0]["filters"]:
        if f["filterType"] in ("LOT_SIZE", "MARKET_LOT_SIZE"):
            f["stepSize"], f["minQty"] = "0.005", "0.005"
    path = tmp_path / "xinfo.json"
    path.write_text(json.dumps(doc))
    v = venue_factory(paused=True, extra=["--exchange-info", str(path)])
    c = v.client()
    lot = [f for f in c.futures_exchange_info()["symbols"][0]["filters"] if f["filterType"] == "LOT_SIZE"][0]
    assert lot["stepSize"] == "0.005"
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity="0.012")
    assert (e.code, e.message) == (-4023, "Qty not increased by step size.")
    e = api_error(c.futures_create_order, symbol=BTC, side="BUY", type="MARKET", quantity="0.003")
    assert (e.code, e.message) == (-4004, "Quantity less than min quantity.")
    assert c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="0.010")["status"] == "NEW"
