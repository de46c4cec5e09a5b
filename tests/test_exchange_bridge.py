"""execution/exchange/bridge.py: adapter records -> the core's snapshot records (the core never parses wire
rows), and unknown leverage stays unknown all the way to check_order."""
from decimal import Decimal as D

from core.filters import SymbolFilters
from core.portfolio import NavPoint, PortfolioSnapshot
from core.risk_limits import ProposedOrder, check_order
from execution.exchange import Balance, OrderState, Position, ProtectiveOrder
from execution.exchange.bridge import (
    leg_from_position,
    legs_from_positions,
    nav_point,
    nav_usd,
    open_order_from_protective,
    open_orders_from_states,
)
from settings.models import CorrelationGroups, RiskLimits

NOW = 1_700_000_000_000
SOL = SymbolFilters("SOLUSDT", D("0.001"), D("0.001"), D("100000"), D("1"), D("1"), D("100000"), D("1"), D("1"),
                    D("100000"), D("5"), D("1.05"), D("0.95"))


def test_position_rows_become_legs():
    short = leg_from_position(Position.from_api({
        "symbol": "ETHUSDT", "positionSide": "SHORT", "positionAmt": "-0.500", "entryPrice": "2010",
        "markPrice": "2000", "leverage": "3", "unRealizedProfit": "5"}))
    assert (short.qty, short.direction, short.notional_usd, short.leverage) == (D("0.500"), "SHORT", D("1000.000"), 3)
    both = leg_from_position(Position.from_api({"symbol": "SOLUSDT", "positionSide": "BOTH", "positionAmt": "-2",
                                                "markPrice": "100"}))
    assert both.direction == "SHORT" and both.qty == 2
    flat = Position.from_api({"symbol": "SOLUSDT", "positionSide": "LONG", "positionAmt": "0"})
    assert legs_from_positions([flat]) == ()


def test_v3_row_without_leverage_stays_unknown_and_is_vetoed():
    v3 = Position.from_api({"symbol": "SOLUSDT", "positionSide": "LONG", "positionAmt": "1", "entryPrice": "100",
                            "markPrice": "100", "unRealizedProfit": "0"})
    leg = leg_from_position(v3)
    assert v3.leverage is None and leg.leverage is None  # not 1x
    snap = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW - 1000, 10000),), positions=(leg,),
                             filters={"SOLUSDT": SOL}, mark_prices={"SOLUSDT": D(100)})
    d = check_order(ProposedOrder("SOLUSDT", "BUY", "LONG", 1), snap, RiskLimits(), CorrelationGroups())
    assert d.codes == ("max_leverage",) and d.veto("max_leverage").details == ("leverage_unknown",)
    assert check_order(ProposedOrder("SOLUSDT", "SELL", "LONG", 1), snap, RiskLimits(), CorrelationGroups()).approved


def test_open_orders_remaining_qty_and_types():
    rows = [
        {"symbol": "BTCUSDT", "orderId": 1, "clientOrderId": "a", "side": "BUY", "positionSide": "LONG",
         "type": "LIMIT", "status": "PARTIALLY_FILLED", "price": "50000", "origQty": "0.010", "executedQty": "0.004"},
        {"symbol": "BTCUSDT", "orderId": 2, "clientOrderId": "b", "side": "SELL", "positionSide": "LONG",
         "type": "MARKET", "status": "NEW", "price": "0", "origQty": "0.002", "executedQty": "0"},
        {"symbol": "BTCUSDT", "orderId": 3, "clientOrderId": "c", "side": "BUY", "positionSide": "LONG",
         "type": "LIMIT", "status": "FILLED", "price": "50000", "origQty": "0.010", "executedQty": "0.010"},
    ]
    a, b = open_orders_from_states(OrderState.from_api(r) for r in rows)
    assert (a.qty, a.price, a.opens_risk, a.client_order_id) == (D("0.006"), D("50000"), True, "a")
    assert (b.price, b.order_type, b.opens_risk) == (None, "MARKET", False)


def test_protective_order_is_a_resting_close_and_nav():
    p = ProtectiveOrder.from_api({"symbol": "BTCUSDT", "algoId": 9, "clientAlgoId": "hp-x-sl", "orderType":
                                  "STOP_MARKET", "side": "SELL", "positionSide": "LONG", "algoStatus": "NEW",
                                  "triggerPrice": "49000", "quantity": "0", "closePosition": True})
    o = open_order_from_protective(p)
    assert not o.opens_risk and o.order_type == "STOP_MARKET" and o.price is None
    bals = [Balance.from_api({"asset": "USDT", "balance": "10000", "availableBalance": "9800"})]
    pos = [Position.from_api({"symbol": "BTCUSDT", "positionSide": "LONG", "positionAmt": "0.01",
                              "unRealizedProfit": "12.5"})]
    assert nav_usd(bals, pos) == D("10012.5") and nav_usd(bals, pos, "BNB") is None
    assert nav_point(bals, pos, NOW) == NavPoint(NOW, D("10012.5"))
