"""Leverage brackets through the real stack: the adapter's cached read of GET /fapi/v1/leverageBracket, the core's
liquidation math against the liquidationPrice the venue reports for real positions (isolated and cross,
python-binance), and check_order's bracket vetoes on a snapshot built from the adapter's reads.

Hand-made market (tests/plugins/venue.write_dataset): BTCUSDT flat at 50,000 and ETHUSDT flat at 2,000; BTC's
brackets are docs/VENUE.md's worked example, ETH gets the venue's default table.
"""
import json
from decimal import Decimal as D

import pytest

from core.brackets import brackets_from_doc, cross_margin, liquidation_price
from core.portfolio import PortfolioSnapshot
from core.risk.checks import post_trade_liquidation
from core.risk_limits import ProposedOrder, RiskContext, check_order
from execution.exchange import bridge
from execution.exchange.errors import ExchangeError
from settings.models import CorrelationGroups, RiskLimits
from tests.plugins.venue import write_dataset
from tests.test_exchange_venue import adapter_for
from tests.test_venue_other_bots import BRACKETS

pytestmark = pytest.mark.timeout(120)

BTC, ETH = "BTCUSDT", "ETHUSDT"
HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
DOC = BRACKETS[0]  # the worked example of docs/VENUE.md, as the venue test writes it
GROUPS = CorrelationGroups(groups={})
LIMITS = RiskLimits(MAX_LEVERAGE=50, per_symbol_nav_pct=1.0, max_gross_exposure_nav_pct=50)


@pytest.fixture(scope="module")
def venue(venue_factory, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("brackets")
    flat = {s: [(T0 + i * HOUR, p, p, p, p, 100.0) for i in range(48)] for s, p in ((BTC, 50000.0), (ETH, 2000.0))}
    data = write_dataset(tmp, flat)
    (tmp / "brackets.json").write_text(json.dumps([DOC]))
    return venue_factory(data=data, start=T0 + 23 * HOUR, paused=True, balance=10000,
                         extra=["--brackets", str(tmp / "brackets.json"), "--depth-notional", "10000000"])


@pytest.fixture
def fresh(venue):
    venue.reset(balance=10000, dual=False)
    a, _ = adapter_for(venue)
    yield venue, a
    a.client.session.close()


class Clock:
    def __init__(self, ms: int):
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_the_adapter_reads_brackets_once_a_day_and_keeps_them_through_a_failed_refresh(venue):
    venue.reset(balance=10000)
    clock = Clock(1_000_000)
    a, _ = adapter_for(venue, clock_ms=clock)
    table = a.leverage_brackets()
    assert table[BTC] == brackets_from_doc(DOC)                  # the venue's answer, parsed by the core
    assert ETH in table and table[ETH].max_leverage == 125         # the venue's default table
    sent = a.requests_sent
    clock.ms += 86_400_000                                         # within the day: cached, nothing sent
    assert a.leverage_brackets() is table and a.requests_sent == sent
    clock.ms += 1                                                  # a day later: read again
    venue.fault(kind="error", status=503, method="GET", path="/fapi/v1/leverageBracket", count=50)
    try:
        assert a.leverage_brackets() is table                      # the refresh failed: the old table stays
        assert a.requests_sent > sent
        sent = a.requests_sent
        assert a.leverage_brackets() is table and a.requests_sent == sent   # no retry storm: next try in 5 min
        clock.ms += 300_001
        a.leverage_brackets()
        assert a.requests_sent > sent
        # a fresh adapter with nothing cached gets the error (the executor then has no brackets: new risk vetoed)
        b, _ = adapter_for(venue, clock_ms=clock)
        with pytest.raises(ExchangeError):
            b.leverage_brackets()
    finally:
        venue.clear_faults()
    fresh_table = a.leverage_brackets(refresh=True)
    assert fresh_table == table and fresh_table is not table


def test_bridge_leaves_a_malformed_element_out():
    good, bad = dict(DOC), {"symbol": ETH, "brackets": [{"bracket": 1}]}
    table, problems = bridge.brackets_from_answer([good, bad])
    assert set(table) == {BTC} and len(problems) == 1 and problems[0].startswith(ETH)
    assert bridge.brackets_from_answer(good)[0][BTC] == brackets_from_doc(DOC)     # a bare object too
    with pytest.raises(TypeError):
        bridge.brackets_from_answer("nope")


def _lp(row) -> D:
    return D(row["liquidationPrice"])


@pytest.mark.parametrize("margin", ["ISOLATED", "CROSSED"])
def test_core_liquidation_price_equals_the_venues_for_the_worked_example(fresh, margin):
    v, a = fresh
    c = v.client()
    c.futures_change_leverage(symbol=BTC, leverage=20)
    if margin == "ISOLATED":
        c.futures_change_margin_type(symbol=BTC, marginType="ISOLATED")
    c.futures_create_order(symbol=BTC, side="BUY", type="MARKET", quantity="2", newOrderRespType="RESULT")
    row = c.futures_position_information(symbol=BTC)[0]
    br = a.leverage_brackets()[BTC]
    amt, ep, mark = D(row["positionAmt"]), D(row["entryPrice"]), D(row["markPrice"])
    if margin == "ISOLATED":
        m = D(row["isolatedWallet"])
    else:
        m = cross_margin(D(c.futures_account()["totalWalletBalance"]), ())
    ours = liquidation_price(br, amt, ep, m, mark)
    assert ours.quantize(D("0.00000001")) == _lp(row)
    assert _lp(row) == (D("47715.95477387") if margin == "ISOLATED" else D("45228.64447236"))


def test_core_cross_liquidation_equals_the_venues_with_several_hedge_legs(fresh):
    """Hedge mode, all cross: BTC LONG 2, BTC SHORT 0.5 and ETH SHORT 10; each leg's liquidation price is backed
    by the wallet and the OTHER legs' unrealized PnL minus their maintenance margin."""
    v, a = fresh
    v.reset(balance=10000, dual=True)
    c = v.client()
    c.futures_change_leverage(symbol=BTC, leverage=20)
    c.futures_change_leverage(symbol=ETH, leverage=10)
    for sym, side, ps, qty in ((BTC, "BUY", "LONG", "2"), (BTC, "SELL", "SHORT", "0.5"), (ETH, "SELL", "SHORT", "10")):
        c.futures_create_order(symbol=sym, side=side, positionSide=ps, type="MARKET", quantity=qty)
    rows = [r for r in c.futures_position_information() if D(r["positionAmt"]) != 0]
    assert len(rows) == 3
    table = a.leverage_brackets()
    wallet = D(c.futures_account()["totalWalletBalance"])

    def maint(r):
        return table[r["symbol"]].maint(D(r["positionAmt"]) * D(r["markPrice"]))

    for r in rows:
        others = [(D(o["unRealizedProfit"]), maint(o)) for o in rows if o is not r]
        ours = liquidation_price(table[r["symbol"]], D(r["positionAmt"]), D(r["entryPrice"]),
                                 cross_margin(wallet, others), D(r["markPrice"]))
        assert abs(ours - _lp(r)) <= D("0.00000001"), (r, ours)
        assert ours > 0


def _snapshot(a) -> PortfolioSnapshot:
    """What the executor builds each cycle (execution/executor/loop.py), from the adapter's reads."""
    positions = a.positions()
    marks = {s: m.mark_price for s, m in a.mark_prices().items()}
    now = a.market_time_ms(BTC)
    return PortfolioSnapshot(now_ms=now, nav_history=(bridge.nav_point(a.balances(), positions, now),),
                             positions=bridge.legs_from_positions(positions), filters=a.exchange_info(),
                             mark_prices=marks, hedge_mode=True, brackets=a.leverage_brackets())


def test_vetoes_on_a_snapshot_from_the_adapter_predict_the_venue(fresh):
    v, a = fresh
    v.reset(balance=10000, dual=True)
    c = v.client()
    c.futures_change_leverage(symbol=BTC, leverage=20)
    c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="MARKET", quantity="2")
    s = _snapshot(a)
    ctx = RiskContext.build(s, LIMITS, GROUPS)

    # bracket_notional: the 20x cap is 250,000 (100,000 held): 3.002 more BTC is over it, as the venue says
    big = ProposedOrder(BTC, "BUY", "LONG", D("3.002"), leverage=D(20))
    d = ctx.check(big)
    assert "bracket_notional" in d.codes and d.veto("bracket_notional").numbers["max_notional_usd"] == 250000.0
    with pytest.raises(Exception) as ei:
        c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="MARKET", quantity="3.002")
    assert getattr(ei.value, "code", None) == -2027

    # liquidation_distance: the worked example's leg is 9.5 % from liquidation; adding to it is vetoed at 10 %
    add = ProposedOrder(BTC, "BUY", "LONG", D("0.002"), price=D("50002.5"), leverage=D(20))
    d = ctx.check(add)
    v_ = d.veto("liquidation_distance")
    assert v_ is not None, d.to_dict()
    predicted = post_trade_liquidation(ctx.facts(add), ctx)
    assert predicted is not None
    # ... and the prediction is what the venue reports once the order has filled (within its taker fee)
    c.futures_create_order(symbol=BTC, side="BUY", positionSide="LONG", type="LIMIT", timeInForce="GTC",
                           price="50002.5", quantity="0.002")
    row = next(r for r in c.futures_position_information(symbol=BTC) if r["positionSide"] == "LONG")
    assert D(row["positionAmt"]) == predicted[0] and D(row["entryPrice"]) == predicted[1].quantize(D("0.00000001"))
    # the check does not foresee the order's own fee (taker 0.05 % of 100.005 USD); it moves the liquidation
    # price up by fee / (Q x (1 - MMR)), and that is the only difference
    fee_shift = D("0.0005") * D("100.005") / (D("2.002") * (1 - D("0.005")))
    assert abs(_lp(row) - predicted[2] - fee_shift) < D("0.000001"), (row["liquidationPrice"], predicted[2])

    # a close is never blocked by either, whatever the distance
    close = ProposedOrder(BTC, "SELL", "LONG", D(1), leverage=D(20))
    assert check_order(close, _snapshot(a), LIMITS, GROUPS).approved
