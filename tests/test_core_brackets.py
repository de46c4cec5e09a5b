"""core.brackets (maintenance margin, max notional, liquidation price) and check_order's bracket vetoes.

The math is checked against the worked example of docs/VENUE.md ("Worked example"): BTCUSDT tiers
[0, 50k) 50x 0.4 % cum 0; [50k, 250k) 25x 0.5 % cum 50; [250k, 1M) 10x 1 % cum 1300; mark 50,000,
wallet 10,000, leverage 20, BUY 2 BTC at 50,002.5 (taker fee 50.0025). The venue's own reported
liquidationPrice for real positions is compared in tests/test_exchange_brackets.py.
"""
import json
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.brackets import brackets_from_doc, cross_margin, liquidation_price, tiers_with_cum
from core.filters import SymbolFilters
from core.portfolio import NavPoint, OpenOrder, PortfolioSnapshot, PositionLeg
from core.risk_limits import RISK_INCREASE_ONLY_CODES, VETO_CODES, ProposedOrder, RiskContext, check_order
from settings.models import CorrelationGroups, RiskLimits
from tests.plugins.shared_data import find_shared_data
from tests.test_venue_other_bots import BRACKETS

BTC, ETH = "BTCUSDT", "ETHUSDT"
NOW = 1_700_000_000_000
DOC = BRACKETS[0]  # the worked example of docs/VENUE.md, as the venue test writes it
BR = brackets_from_doc(DOC)
Q8 = D("0.00000001")


# --------------------------------------------------------------------------- the math

def test_tiers_maintenance_and_max_notional_of_the_worked_example():
    assert [t.cum for t in BR.tiers] == [D(0), D(50), D(1300)]
    # cum from continuity reproduces the published one
    rows = [(t.floor, t.cap, t.initial_leverage, t.mmr) for t in BR.tiers]
    assert [t.cum for t in tiers_with_cum(rows)] == [D(0), D(50), D(1300)]
    assert BR.maint(D(100000)) == D(450)                       # 100,000 x 0.005 - 50 (tier 2)
    assert BR.maint(D(-100000)) == D(450)                      # a short's notional counts by size
    assert BR.maint(D(49999)) == D(49999) * D("0.004")         # tier 1
    assert BR.maint(D(50000)) == D(200)                        # floor is inclusive: tier 2, continuous
    assert BR.max_notional(20) == D(250000) and BR.max_notional(25) == D(250000)
    assert BR.max_notional(26) == D(50000) and BR.max_notional(10) == D(1000000)
    assert BR.max_notional(51) == D(0)                         # above tier 1: Binance -4028
    assert BR.max_leverage == 50


def test_liquidation_price_isolated_and_cross_equal_the_worked_example():
    amt, ep = D(2), D("50002.5")
    iso = liquidation_price(BR, amt, ep, D("100005") / 20, D(50000))     # isolated wallet = notional / leverage
    assert iso.quantize(Q8) == D("47715.95477387")
    cross = liquidation_price(BR, amt, ep, cross_margin(D(10000) - D("50.0025"), ()), D(50000))
    assert cross.quantize(Q8) == D("45228.64447236")
    # at the liquidation price the rule "margin + unrealized PnL <= maintenance" holds with equality
    for lp, margin in ((iso, D("5000.25")), (cross, D("9949.9975"))):
        assert abs(margin + (lp - ep) * amt - BR.maint(amt * lp)) < D("1e-12")


def test_liquidation_price_of_a_short_and_of_other_cross_legs():
    amt, ep = D(-2), D(50000)
    lp = liquidation_price(BR, amt, ep, D(5000), D(50000))
    assert lp > ep
    assert abs(D(5000) + (ep - lp) * 2 - BR.maint(2 * lp)) < D("1e-12")
    # another cross leg's loss and maintenance eat the margin: the liquidation comes nearer
    nearer = liquidation_price(BR, amt, ep, cross_margin(D(5000), [(D(-1000), D(300))]), D(50000))
    assert ep < nearer < lp
    assert liquidation_price(BR, D(0), ep, D(5000)) == 0
    assert liquidation_price(BR, D("0.001"), ep, D(10**6)) == 0      # a long the margin covers to zero


@pytest.mark.parametrize("bad", [
    {"symbol": BTC, "brackets": []},
    {"symbol": BTC},
    {"symbol": BTC, "brackets": [{**DOC["brackets"][0], "maintMarginRatio": "nan"}]},
    {"symbol": BTC, "brackets": [{**DOC["brackets"][0], "initialLeverage": 0}]},
    {"symbol": BTC, "brackets": [{**DOC["brackets"][0], "notionalCap": 0}]},
])
def test_malformed_brackets_raise(bad):
    with pytest.raises((KeyError, ValueError, ArithmeticError)):
        brackets_from_doc(bad)


# --------------------------------------------------------------------------- the vetoes

FILTERS = {s: SymbolFilters(
    symbol=s, tick_size=D("0.10"), min_price=D("0.10"), max_price=D(10**7), step_size=D("0.001"), min_qty=D("0.001"),
    max_qty=D(1000), market_step_size=D("0.001"), market_min_qty=D("0.001"), market_max_qty=D(1000),
    min_notional=D(100), percent_up=D("1.05"), percent_down=D("0.95"), status="TRADING") for s in (BTC, ETH)}
GROUPS = CorrelationGroups(groups={})
BIG = RiskLimits(MAX_LEVERAGE=50, per_symbol_nav_pct=1.0, max_gross_exposure_nav_pct=50)


def snap(nav, legs=(), brackets=None, mark=50000, **kw):
    return PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW - 1000, nav),), positions=tuple(legs),
                             filters=FILTERS, mark_prices={BTC: D(mark), ETH: D(2000)},
                             brackets={BTC: BR} if brackets is None else brackets, **kw)


def buy(qty, lev=None, sym=BTC, ps="LONG", side="BUY"):
    return ProposedOrder(sym, side, ps, D(str(qty)), leverage=None if lev is None else D(lev))


def test_bracket_notional_vetoes_post_trade_notional_over_the_cap_for_the_leverage():
    s = snap(10**7)
    assert check_order(buy(5, 20), s, BIG, GROUPS).approved            # 250,000 = the 20x cap: passes
    d = check_order(buy("5.002", 20), s, BIG, GROUPS)                   # 250,100 > 250,000
    assert d.codes == ("bracket_notional",)
    n = d.veto("bracket_notional").numbers
    assert (n["post_trade_usd"], n["max_notional_usd"], n["leverage"]) == (250100.0, 250000.0, 20.0)
    assert "-2027" in d.veto("bracket_notional").reason
    assert check_order(buy("5.002", 10), s, BIG, GROUPS).approved       # 10x allows 1,000,000


def test_bracket_notional_counts_the_leg_and_its_resting_entries():
    leg = PositionLeg(BTC, "LONG", D(4), entry_price=D(50000), mark_price=D(50000), leverage=D(20))
    rest = (OpenOrder(BTC, "BUY", "LONG", D("0.5"), D(50000)),)
    s = snap(10**7, legs=(leg,), open_orders=rest)                     # 200,000 + 25,000 pending
    assert check_order(buy("0.5"), s, BIG, GROUPS).approved             # leg leverage 20x: 250,000
    d = check_order(buy("0.6"), s, BIG, GROUPS)
    assert d.codes == ("bracket_notional",) and d.veto("bracket_notional").numbers["leg_notional_usd"] == 225000.0
    ctx = RiskContext.build(s, BIG, GROUPS)                            # an approved order counts as pending
    assert ctx.after(buy("0.5")).check(buy("0.002")).codes == ("bracket_notional",)


def test_a_leverage_no_bracket_allows_is_vetoed_and_the_default_is_the_configured_cap():
    limits = RiskLimits(MAX_LEVERAGE=100, per_symbol_nav_pct=1.0, max_gross_exposure_nav_pct=50)
    d = check_order(buy("0.01", 60), snap(10**7), limits, GROUPS)
    assert d.codes == ("bracket_notional",) and d.veto("bracket_notional").details == ("leverage_above_brackets",)
    # no order or leg leverage: the configured cap (100x) is the leverage judged
    assert check_order(buy("0.01"), snap(10**7), limits, GROUPS).codes == ("bracket_notional",)
    assert check_order(buy("0.01"), snap(10**7), BIG, GROUPS).approved  # 50x: tier 1


def test_unknown_brackets_veto_new_risk_and_let_closes_through():
    leg = PositionLeg(BTC, "LONG", D(1), entry_price=D(50000), mark_price=D(50000), leverage=D(5))
    s = snap(10**7, legs=(leg,), brackets={ETH: BR})                   # the adapter read none for BTC
    d = check_order(buy("0.01", 5), s, BIG, GROUPS)
    assert d.codes == ("bracket_notional",) and d.veto("bracket_notional").details == ("brackets_unknown",)
    assert check_order(buy("0.5", 5, side="SELL"), s, BIG, GROUPS).approved     # a close is never blocked
    # ETH has brackets, but BTC's open leg has none: its maintenance is unknown, the cross margin unjudgeable
    assert check_order(buy("0.1", 5, sym=ETH), s, BIG, GROUPS).approved          # (only ETH's own brackets gate)
    # no bracket source at all (backtests, callers without an adapter): the bracket checks are not judged
    no_source = PortfolioSnapshot(now_ms=NOW, nav_history=(NavPoint(NOW - 1000, 10**7),), positions=(leg,),
                                  filters=FILTERS, mark_prices={BTC: D(50000)})
    assert no_source.brackets is None
    assert check_order(buy(30, 5), no_source, BIG, GROUPS).approved   # 1.55M: over the 5x cap were it judged


def worked_example_snapshot(**kw):
    """The cross worked example as the core sees it: BTC LONG 2 @ 50,002.5, mark 50,000, wallet 9,949.9975."""
    upnl = (D(50000) - D("50002.5")) * 2
    leg = PositionLeg(BTC, "LONG", D(2), entry_price=D("50002.5"), mark_price=D(50000), leverage=D(20),
                      unrealized_pnl=upnl)
    return snap(D("9949.9975") + upnl, legs=(leg,), **kw)


def test_liquidation_distance_vetoes_a_post_trade_liquidation_too_near_the_mark():
    s = worked_example_snapshot()
    o = buy("0.002", 20)
    d = check_order(o, s, BIG, GROUPS)
    v = d.veto("liquidation_distance")
    assert v is not None, d.to_dict()
    # hand-computed: Q = 2.002, EP = (2 x 50,002.5 + 0.002 x 50,000) / 2.002, margin = the cross wallet
    q = D("2.002")
    ep = (2 * D("50002.5") + D("0.002") * 50000) / q
    lp = (D("9949.9975") + 50 - q * ep) / (q * D("0.005") - q)
    assert v.numbers["liquidation_price"] == pytest.approx(float(lp), rel=1e-12)
    assert v.numbers["liquidation_distance_pct"] == pytest.approx(float((50000 - lp) / 50000), rel=1e-12)
    assert 0.09 < v.numbers["liquidation_distance_pct"] < 0.10 and v.numbers["min_liquidation_distance_pct"] == 0.10
    assert v.numbers["margin_mode"] == "CROSSED"
    # a looser configured fraction passes it; 0 turns the check off
    assert "liquidation_distance" not in check_order(o, s, BIG.model_copy(
        update={"min_liquidation_distance_pct": 0.09}), GROUPS).codes
    assert "liquidation_distance" not in check_order(o, s, BIG.model_copy(
        update={"min_liquidation_distance_pct": 0.0}), GROUPS).codes


def test_other_cross_legs_bring_the_liquidation_nearer():
    # a SHORT ETH leg losing 3,000 (its loss is in the NAV) and its maintenance: BTC's cross margin shrinks
    eth = PositionLeg(ETH, "SHORT", D(150), entry_price=D(1980), mark_price=D(2000), leverage=D(5),
                      unrealized_pnl=D(-3000))
    nav = D(20000) - 3000
    base = snap(nav, brackets={BTC: BR, ETH: BR})
    with_eth = snap(nav, legs=(eth,), brackets={BTC: BR, ETH: BR})
    o = buy(3, 10)                                                     # 150,000 of BTC; LP 44,539 alone: 10.9 %
    far = check_order(o, base, BIG, GROUPS)
    near = check_order(o, with_eth, BIG, GROUPS)                       # LP 45,109: 9.8 % from the mark
    assert "liquidation_distance" not in far.codes
    v = near.veto("liquidation_distance")
    assert v is not None, near.to_dict()
    margin = D(17000) + 3000 + (D(-3000) - BR.maint(D(300000)))        # wallet 20,000 + ETH's unPnL - maint 1,700
    assert margin == D(15300)
    assert v.numbers["liquidation_price"] == pytest.approx(float(liquidation_price(BR, D(3), D(50000), margin)))
    # an open leg without brackets makes the cross margin unjudgeable: bracket_notional does not fire (BTC's
    # brackets are known) and the distance is not guessed
    assert "liquidation_distance" not in check_order(o, snap(nav, legs=(eth,)), BIG, GROUPS).codes


def test_new_codes_are_in_the_table_and_only_guard_new_risk():
    for code in ("bracket_notional", "liquidation_distance"):
        assert code in VETO_CODES and code in RISK_INCREASE_ONLY_CODES
    assert VETO_CODES.index("max_leverage") < VETO_CODES.index("bracket_notional") < VETO_CODES.index("max_positions")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leg_milli=st.integers(1, 30_000), frac=st.floats(0.0001, 1.0), mark=st.integers(20_000, 80_000),
       nav=st.integers(1, 20_000), ps=st.sampled_from(["LONG", "SHORT"]), known=st.booleans())
def test_closes_pass_the_bracket_vetoes_they_reduce(leg_milli, frac, mark, nav, ps, known):
    """However near liquidation or far over the bracket a leg is, shrinking it is never blocked by them."""
    qty = D(leg_milli) / 1000
    close = max(D(1), (qty * 1000 * D(repr(frac))).to_integral_value()) / 1000
    leg = PositionLeg(BTC, ps, qty, entry_price=D(50000), mark_price=D(mark), leverage=D(50),
                      unrealized_pnl=(D(mark) - 50000) * qty * (1 if ps == "LONG" else -1))
    s = snap(nav, legs=(leg,), mark=mark, brackets={BTC: BR} if known else {})
    o = ProposedOrder(BTC, "SELL" if ps == "LONG" else "BUY", ps, close, leverage=D(50))
    d = check_order(o, s, BIG, GROUPS)
    assert d.approved and d.checks["is_reduce"], d.to_dict()
    # the same quantity the other way grows the leg: the bracket vetoes are then judged (and never raise)
    grow = ProposedOrder(BTC, "BUY" if ps == "LONG" else "SELL", ps, close, leverage=D(50))
    assert not set(check_order(grow, s, BIG, GROUPS).codes) - set(VETO_CODES)


SHARED = find_shared_data()
REAL = SHARED / "exchange" / "leverageBracket-fapi.json" if SHARED is not None else None


@pytest.mark.skipif(REAL is None or not REAL.is_file(), reason="../shared/data/exchange/leverageBracket-fapi.json absent")
def test_binances_real_brackets_parse_and_are_continuous():
    docs = json.loads(REAL.read_text())
    table = {b.symbol: b for b in map(brackets_from_doc, docs)}
    assert len(table) == len(docs) >= 300
    for br in table.values():
        for a, b in zip(br.tiers, br.tiers[1:]):
            assert a.cap == b.floor and a.initial_leverage >= b.initial_leverage
            # maintenance margin is continuous at each floor (Binance publishes cum rounded)
            assert abs((b.floor * a.mmr - a.cum) - (b.floor * b.mmr - b.cum)) <= max(D(1), b.floor * D("1e-6"))
        assert br.max_notional(1) == br.tiers[-1].cap


def test_a_degenerate_tier_never_raises_out_of_the_check():
    from core.brackets import Brackets, Tier

    odd = Brackets(BTC, (Tier(1, 50, D(0), D(10**9), D(1), D(0)),))   # MMR 1: the long formula divides by 0
    d = check_order(buy("0.01", 5), snap(10**7, brackets={BTC: odd}), BIG, GROUPS)
    assert "liquidation_distance" not in d.codes and d.approved
