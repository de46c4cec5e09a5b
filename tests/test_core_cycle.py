"""core.cycle: one cycle equals the pieces called by hand; no lookahead; vetoes carry their reasons; warm start;
bookkeeping (stale bars, unknown symbols, tiers, strategy agreement)."""
from __future__ import annotations

import json
from decimal import Decimal as D

import numpy as np
import pytest

from core.alpha import (
    RouterStats,
    TradeStats,
    TrendState,
    carry_score,
    expectancy_score,
    router_score,
    score_symbol,
    trend_score,
)
from core.bars import Ohlc
from core.cycle import STATUSES, CycleConfig, DecisionCycle, SymbolInputs, step
from core.filters import SymbolFilters
from core.portfolio import NavPoint, PortfolioSnapshot, PositionLeg
from core.regimes import RegimeState, vol_regime
from core.risk_limits import ProposedOrder, RiskContext
from core.screener import ScreenerState, screen_symbol, screener_fields
from core.sizing import size_position
from core.strategies import STRATEGIES
from core.timeframes import HOUR_MS
from settings.models import (
    CorrelationGroup,
    CorrelationGroups,
    PairsUniverse,
    Profile,
    RiskLimits,
    StrategyBlock,
    StrategyConfig,
)

H = HOUR_MS
T0 = 1_704_067_200_000  # open time of bar 0
HISTORY = 400
N_BARS = 480
NOW = T0 + N_BARS * H

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT")
BLOCKS = {
    "BTCUSDT": StrategyBlock(strategy="breakout_vol_atr", tier="CORE", params={"channel": 48, "time_stop_hours": 24}),
    "ETHUSDT": StrategyBlock(strategy="tsmom_multi_ema", tier="CORE", params={"lookbacks": [24, 72]}),
    "SOLUSDT": StrategyBlock(strategy="tsmom_ema", tier="SATELLITE", params={"lookback": 48}),
    "BNBUSDT": StrategyBlock(strategy="ma_crossover", params={"enable_shorts": True}),
    "ADAUSDT": StrategyBlock(strategy="ema_cross", leverage=2, capital_per_trade=150.0),
    # XRPUSDT: no block -> no strategy (target 0), tier from the universe
}
UNIVERSE = PairsUniverse(symbols=list(SYMBOLS), overrides={"BNBUSDT": {"tier": "TACTICAL"}, "XRPUSDT": {"tier": "ALT-EXT"}})
GROUPS = CorrelationGroups(groups={"L1": CorrelationGroup(symbols=["BTCUSDT", "ETHUSDT", "SOLUSDT"], max_group_nav_pct=0.35)})
LIMITS = RiskLimits(per_symbol_nav_pct=0.2, MAX_POSITIONS=10)
PROFILE = Profile(max_position_usd=5000, max_leverage=3, enable_shorts=False, local_venue=True)
CONFIG = CycleConfig(strategy_config=StrategyConfig(strategies=BLOCKS), limits=LIMITS, groups=GROUPS, universe=UNIVERSE,
                     profile=PROFILE)

GOOD_TRADES = TradeStats(60, 0.55, 1.8)
GOOD_ROUTER = RouterStats(1.0, 0.95, 0.8, 200)


def make_bars(seed: int = 7, n: int = N_BARS) -> dict[str, Ohlc]:
    rng = np.random.default_rng(seed)
    out = {}
    for k, s in enumerate(SYMBOLS):
        c = (100.0 + 50 * k) * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
        spread = np.abs(rng.normal(0.0, 0.004, n))
        out[s] = Ohlc(c, c * (1 + spread), c * (1 - spread), c)
    return out


def filters(symbol: str) -> SymbolFilters:
    return SymbolFilters(symbol=symbol, tick_size=D("0.01"), min_price=D("0.01"), max_price=D("1000000"),
                         step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("100000"), market_step_size=D("0.001"),
                         market_min_qty=D("0.001"), market_max_qty=D("10000"), min_notional=D("5"),
                         percent_up=D("1.05"), percent_down=D("0.95"))


def snapshot(bars: dict[str, Ohlc], t: int, legs=(), **kw) -> PortfolioSnapshot:
    marks = {s: D(repr(float(b.close[t]))) for s, b in bars.items()}
    return PortfolioSnapshot(now_ms=NOW, nav_history=kw.pop("nav_history", (NavPoint(NOW - 10_000, 10_000),)),
                             positions=tuple(legs), filters={s: filters(s) for s in SYMBOLS}, mark_prices=marks, **kw)


def inputs() -> dict[str, SymbolInputs]:
    """Funding pushes BTC, ETH and XRP long and SOL short; BNB and ADA have no inputs."""
    return {
        "BTCUSDT": SymbolInputs(funding_rate=-0.002, trade_stats=GOOD_TRADES, router_stats=GOOD_ROUTER),
        "ETHUSDT": SymbolInputs(funding_rate=-0.002, trade_stats=GOOD_TRADES, router_stats=GOOD_ROUTER),
        "SOLUSDT": SymbolInputs(funding_rate=0.002, trade_stats=GOOD_TRADES, router_stats=GOOD_ROUTER),
        "XRPUSDT": SymbolInputs(funding_rate=-0.002, trade_stats=GOOD_TRADES),
    }


def legs(bars: dict[str, Ohlc], t: int = HISTORY) -> tuple[PositionLeg, ...]:
    """A BTC SHORT leg of ~1,000 USD (a BTC long entry then breaches the 2,000 USD symbol cap) and an XRP LONG."""
    btc = (D(1000) / D(repr(float(bars["BTCUSDT"].close[t])))).quantize(D("0.001"))
    return (PositionLeg("BTCUSDT", "SHORT", btc, mark_price=D(1)),  # re-marked by the snapshot's marks
            PositionLeg("XRPUSDT", "LONG", D("1"), mark_price=D(1)))


def history(bars: dict[str, Ohlc], n: int = HISTORY) -> dict[str, Ohlc]:
    return {s: b.head(n) for s, b in bars.items()}


def new_bars(bars: dict[str, Ohlc], t: int) -> dict:
    return {s: b.bar(t) for s, b in bars.items()}


# ----------------------------------------------------------------------------- the pieces by hand


def by_hand(bars, t, x, snap, config=CONFIG):
    """What the cycle must decide on bar t, from the public pieces (no core.cycle code)."""
    sc = config.strategy_config
    scoring, vr = sc.hybrid_scoring, sc.vol_regimes
    held = {leg.symbol: leg.position_side for leg in snap.positions if leg.qty > 0}
    out, candidates = {}, []
    for s in SYMBOLS:
        hist, bar = bars[s].head(t), bars[s].bar(t)
        block = BLOCKS.get(s)
        tier = block.tier if block is not None and block.tier else UNIVERSE.tier_of(s)
        fields = ScreenerState.warm(hist).update(bar)[1]
        trend = TrendState.warm(hist.close).update(bar.close)[1]
        regime = RegimeState.warm(hist.close, H).update(bar.close)[1]
        target = STRATEGIES[block.strategy].warm(hist, block.params).update(bar)[1] if block else 0.0
        xi = x.get(s, SymbolInputs())
        carry = carry_score(xi.funding_rate, scoring=scoring) if xi.funding_rate is not None else None
        hybrid = score_symbol(
            s, tier, trend=trend, carry=carry,
            expectancy=expectancy_score(xi.trade_stats) if xi.trade_stats else None,
            router=router_score(xi.router_stats) if xi.router_stats else None,
            scoring=scoring, regime=regime.vol_regime, vol_regimes=vr)
        row = screen_symbol(s, "1h", fields, position_side=held.get(s), hybrid=hybrid, scoring=scoring)
        out[s] = dict(fields=fields, regime=regime, hybrid=hybrid, target=target, row=row, tier=tier)
        if row.signal:
            candidates.append((-abs(hybrid.hybrid), s))
    ctx = RiskContext.build(snap, config.limits, config.groups, config.profile)
    for _, s in sorted(candidates):
        block, o = BLOCKS.get(s), out[s]
        sizing = size_position(s, ctx.nav_usd, bars[s].close[t], snap.filters[s], strategy_config=sc,
                               regime=o["regime"].vol_regime, tier=o["tier"], limits=config.limits, universe=UNIVERSE,
                               profile=config.profile, strategy_leverage=block.leverage if block else None,
                               capital_per_trade=block.capital_per_trade if block else None)
        o["sizing"] = sizing
        if not sizing.ok:
            continue
        side = "LONG" if o["row"].signal == "BUY" else "SHORT"
        order = ProposedOrder(s, o["row"].signal, side, sizing.qty, order_type="MARKET", intent="OPEN",
                              tag=block.strategy if block else "hybrid", leverage=sizing.exchange_leverage)
        o["order"], o["risk"] = order, ctx.check(order)
        if o["risk"].approved:
            ctx = ctx.after(order)
    return out, [s for _, s in sorted(candidates)]


def test_a_cycle_equals_the_pieces_called_by_hand():
    bars = make_bars()
    snap = snapshot(bars, HISTORY, legs(bars))
    cycle = DecisionCycle.warm(history(bars), CONFIG, last_bar_ms=T0 + (HISTORY - 1) * H)
    new, result = step(cycle, new_bars(bars, HISTORY), inputs(), snap, CONFIG, bar_time_ms=T0 + HISTORY * H)
    want, order = by_hand(bars, HISTORY, inputs(), snap)

    assert [d.symbol for d in result.decisions] == list(SYMBOLS)
    assert list(result.checked) == order
    for d in result.decisions:
        w = want[d.symbol]
        assert d.fields == w["fields"] and d.regime == w["regime"] and d.hybrid == w["hybrid"]
        assert d.target == w["target"] and d.row == w["row"] and d.tier == w["tier"]
        assert d.sizing == w.get("sizing") and d.order == w.get("order") and d.risk == w.get("risk")
        assert d.status in STATUSES
    statuses = {d.symbol: d.status for d in result.decisions}
    # the scenario covers every branch that matters
    assert statuses["XRPUSDT"] == "in_position"  # gate LONG, LONG leg held: no second entry
    assert statuses["SOLUSDT"] == "vetoed"  # a short with shorts disabled by the profile
    assert statuses["BTCUSDT"] == "vetoed"  # the existing BTC leg + this entry breach the symbol cap
    assert statuses["ETHUSDT"] == "approved"
    assert [o.symbol for o in result.orders] == ["ETHUSDT"]
    assert result.screener.attempted == len(SYMBOLS) and result.screener.emitted == 3
    assert new.states["ETHUSDT"].last_bar_ms == T0 + HISTORY * H and new.states["ETHUSDT"].bars == HISTORY + 1


def test_a_vetoed_order_carries_its_reasons():
    bars = make_bars()
    cycle = DecisionCycle.warm(history(bars), CONFIG)
    _, result = cycle.step(new_bars(bars, HISTORY), inputs(), snapshot(bars, HISTORY, legs(bars)), CONFIG)
    sol, btc = result.decision("SOLUSDT"), result.decision("BTCUSDT")
    assert sol.reasons == ("invalid_order",) and sol.risk.veto("invalid_order").details == ("shorts_disabled",)
    assert "shorts" in sol.risk.veto("invalid_order").reason
    assert sol.order.side == "SELL" and sol.order.position_side == "SHORT" and sol.order.intent == "OPEN"
    assert btc.reasons == ("symbol_nav_cap",) and btc.risk.veto("symbol_nav_cap").numbers["post_trade_usd"] > 2000
    payload = json.loads(json.dumps(btc.to_dict()))
    assert payload["status"] == "vetoed" and payload["reasons"] == ["symbol_nav_cap"]
    assert payload["risk"]["vetoes"][0]["code"] == "symbol_nav_cap" and payload["intel"]["hybrid_score"] > 0.2

    # the kill switch vetoes every entry, each with its own coded reason
    _, killed = cycle.step(new_bars(bars, HISTORY), inputs(), snapshot(bars, HISTORY, legs(bars), kill_switch=True), CONFIG)
    entries = [d for d in killed.decisions if d.order is not None]
    assert entries and all(d.status == "vetoed" and "kill_switch" in d.reasons for d in entries)
    assert all("kill switch" in d.risk.veto("kill_switch").reason for d in entries)
    assert killed.orders == () and killed.risk_context is not None


def test_approved_entries_count_against_the_caps_of_later_ones():
    bars = make_bars()
    x = {s: SymbolInputs(funding_rate=-0.002, trade_stats=GOOD_TRADES, router_stats=GOOD_ROUTER) for s in SYMBOLS}
    tight = CycleConfig(strategy_config=StrategyConfig(strategies=BLOCKS), limits=LIMITS, universe=UNIVERSE,
                        groups=CorrelationGroups(groups={"ALL": CorrelationGroup(symbols=list(SYMBOLS), max_group_nav_pct=0.2)}))
    _, result = DecisionCycle.warm(history(bars), tight).step(new_bars(bars, HISTORY), x, snapshot(bars, HISTORY), tight)
    checked = [result.decision(s) for s in result.checked]
    assert checked[0].approved  # the best |hybrid| first; each alone fits the 2,000 USD group cap ...
    assert any(d.status == "vetoed" and "correlation_cap" in d.reasons for d in checked[1:])  # ... not together
    assert result.risk_context.group_gross["ALL"] == sum(d.sizing.qty * D(repr(float(bars[d.symbol].close[HISTORY])))
                                                         for d in result.approved)


# ----------------------------------------------------------------------------- anti-lookahead


def run(bars, first=HISTORY, last=N_BARS, config=CONFIG):
    cycle = DecisionCycle.warm(history(bars, first), config)
    out = []
    for t in range(first, last):
        cycle, result = cycle.step(new_bars(bars, t), inputs(), snapshot(bars, t, legs(bars, t)), config, bar_time_ms=T0 + t * H)
        out.append(result)
    return out


def test_decisions_never_depend_on_later_bars():
    bars = make_bars()
    cut = HISTORY + 30
    rng = np.random.default_rng(99)
    changed = {}
    for s, b in bars.items():
        c = b.close.copy()
        c[cut + 1:] *= np.exp(rng.normal(0.0, 0.05, len(c) - cut - 1))
        changed[s] = Ohlc(c, c * 1.01, c * 0.99, c)
        changed[s].high[: cut + 1], changed[s].low[: cut + 1] = b.high[: cut + 1], b.low[: cut + 1]
    a, b = run(bars, last=cut + 5), run(changed, last=cut + 5)
    for ra, rb in zip(a[: cut + 1 - HISTORY], b[: cut + 1 - HISTORY]):
        assert ra.decisions == rb.decisions
    assert any(ra.decisions != rb.decisions for ra, rb in zip(a[cut + 1 - HISTORY:], b[cut + 1 - HISTORY:]))


def test_each_decision_equals_batch_functions_on_the_bars_so_far():
    bars = make_bars()
    results = run(bars, last=HISTORY + 40)
    for k in (0, 13, 39):
        t = HISTORY + k
        for d in results[k].decisions:
            b = bars[d.symbol].head(t + 1)
            f = screener_fields(b)
            assert (d.fields.z, d.fields.rsi, d.fields.atr) == pytest.approx((f.z, f.rsi, f.atr), rel=1e-9)
            assert (d.fields.cross_up, d.fields.cross_down) == (f.cross_up, f.cross_down)
            assert d.hybrid.trend == pytest.approx(trend_score(b.close), abs=1e-9)
            assert d.regime.vol_regime == vol_regime(b.close, H).vol_regime
            block = BLOCKS.get(d.symbol)
            assert d.target == (STRATEGIES[block.strategy](b, block.params)[-1] if block else 0.0)


# ----------------------------------------------------------------------------- warm start and bookkeeping


def test_warm_from_batch_decides_like_folding_bar_by_bar():
    bars = make_bars(seed=11)
    snap = snapshot(bars, HISTORY, legs(bars))
    fast = DecisionCycle.warm(history(bars), CONFIG)
    slow = DecisionCycle.warm(history(bars), CONFIG, from_batch=False)
    for t in range(HISTORY, HISTORY + 5):
        fast, rf = fast.step(new_bars(bars, t), inputs(), snap, CONFIG)
        slow, rs = slow.step(new_bars(bars, t), inputs(), snap, CONFIG)
        for a, b in zip(rf.decisions, rs.decisions):
            assert (a.status, a.gate, a.row.signal, a.order, a.reasons, a.target) == \
                (b.status, b.gate, b.row.signal, b.order, b.reasons, b.target)
            assert a.hybrid.hybrid == pytest.approx(b.hybrid.hybrid, abs=1e-12)


def test_stale_and_unknown_bars_are_ignored_and_states_are_immutable():
    bars = make_bars()
    last = T0 + (HISTORY - 1) * H
    cycle = DecisionCycle.warm(history(bars), CONFIG, last_bar_ms=last)
    snap = snapshot(bars, HISTORY, legs(bars))
    nb = {**new_bars(bars, HISTORY), "DOGEUSDT": bars["BTCUSDT"].bar(HISTORY)}
    again, stale = cycle.step(nb, inputs(), snap, CONFIG, bar_time_ms=last)  # the last history bar again
    assert stale.decisions == () and set(stale.ignored) == set(nb) and again.states == cycle.states
    new, fresh = cycle.step(nb, inputs(), snap, CONFIG, bar_time_ms=last + H)
    assert len(fresh.decisions) == len(SYMBOLS) and fresh.ignored == ("DOGEUSDT",)
    assert cycle.states["BTCUSDT"].bars == HISTORY and new.states["BTCUSDT"].bars == HISTORY + 1  # old state unchanged
    # a symbol without a bar this cycle keeps its state and gets no decision
    partial = {s: bar for s, bar in new_bars(bars, HISTORY).items() if s != "SOLUSDT"}
    newer, res = cycle.step(partial, inputs(), snap, CONFIG)
    assert res.decision("SOLUSDT") is None and newer.states["SOLUSDT"] is cycle.states["SOLUSDT"]


def test_the_first_bar_after_a_gap_is_never_an_entry_and_the_next_one_may_be():
    """Bars missing before ETH's bar (a kline gap): the indicators fold the bars that exist, nothing invented;
    ETH's decision on that bar is `kline_gap` with no order; the next contiguous bar decides as usual."""
    bars = make_bars()
    last = T0 + (HISTORY - 1) * H
    cycle = DecisionCycle.warm(history(bars), CONFIG, last_bar_ms=last)
    snap = snapshot(bars, HISTORY, legs(bars))
    _, normal = cycle.step(new_bars(bars, HISTORY), inputs(), snap, CONFIG, bar_time_ms=last + H)
    assert normal.decision("ETHUSDT").approved  # the same bar without a gap is an entry ...
    after_gap, res = cycle.step(new_bars(bars, HISTORY), inputs(), snap, CONFIG, bar_time_ms=last + 3 * H)
    eth = res.decision("ETHUSDT")
    assert eth.status == "kline_gap" and eth.order is None and eth.reasons == ("kline_gap",)  # ... not after a gap
    assert "ETHUSDT" not in res.checked and res.orders == ()
    assert eth.fields == normal.decision("ETHUSDT").fields  # fed the real bar, no filler bars
    assert after_gap.states["ETHUSDT"].bars == HISTORY + 1 and after_gap.states["ETHUSDT"].last_bar_ms == last + 3 * H
    _, nxt = after_gap.step(new_bars(bars, HISTORY + 1), inputs(), snapshot(bars, HISTORY + 1, legs(bars)), CONFIG,
                            bar_time_ms=last + 4 * H)
    assert "kline_gap" not in {d.status for d in nxt.decisions}


def test_warming_up_symbols_never_enter_and_missing_data_is_not_an_error():
    bars = make_bars()
    cycle = DecisionCycle.warm({s: b.head(10) for s, b in bars.items()}, CONFIG, symbols=SYMBOLS + ("LTCUSDT",))
    assert cycle.states["LTCUSDT"].bars == 0
    snap = PortfolioSnapshot(now_ms=NOW)  # no NAV, no filters, no marks
    _, result = cycle.step(new_bars(bars, 10), inputs(), snap, CONFIG)
    assert {d.status for d in result.decisions} == {"warming_up"} and result.risk_context is None
    # with history but neither NAV nor filters: candidates are unsized, with the reason
    cycle = DecisionCycle.warm(history(bars), CONFIG)
    _, result = cycle.step(new_bars(bars, HISTORY), inputs(), PortfolioSnapshot(now_ms=NOW), CONFIG)
    unsized = [d for d in result.decisions if d.status == "unsized"]
    assert unsized and all(d.reasons == ("no_filters",) for d in unsized)
    nofilter = snapshot(bars, HISTORY, nav_history=())
    _, result = cycle.step(new_bars(bars, HISTORY), inputs(), nofilter, CONFIG)
    assert all(d.reasons == ("invalid_input",) for d in result.decisions if d.status == "unsized")


def test_hedged_symbol_does_not_get_a_second_entry_on_a_held_side():
    bars = make_bars()
    legs = (PositionLeg("SOLUSDT", "LONG", D("1"), mark_price=D(1)), PositionLeg("SOLUSDT", "SHORT", D("1"), mark_price=D(1)))
    _, result = DecisionCycle.warm(history(bars), CONFIG).step(new_bars(bars, HISTORY), inputs(),
                                                               snapshot(bars, HISTORY, legs), CONFIG)
    sol = result.decision("SOLUSDT")
    assert sol.gate == "SHORT" and sol.status == "in_position" and sol.row.side == "SHORT" and sol.row.in_trade


def test_strategy_agreement_tiers_and_config_checks():
    bars = make_bars()
    agree = CycleConfig(strategy_config=StrategyConfig(strategies=BLOCKS), limits=LIMITS, groups=GROUPS,
                        universe=UNIVERSE, profile=PROFILE, require_strategy_agreement=True)
    _, result = DecisionCycle.warm(history(bars), agree).step(new_bars(bars, HISTORY), inputs(),
                                                              snapshot(bars, HISTORY, legs(bars)), agree)
    for d in result.decisions:
        if d.status == "strategy_disagrees":
            assert (d.gate == "LONG" and d.target <= 0) or (d.gate == "SHORT" and d.target >= 0)
        elif d.order is not None:
            assert (d.target > 0) if d.gate == "LONG" else (d.target < 0)
    assert {d.symbol: d.tier for d in result.decisions} == {
        "BTCUSDT": "CORE", "ETHUSDT": "CORE", "SOLUSDT": "SATELLITE", "BNBUSDT": "TACTICAL", "XRPUSDT": "ALT-EXT",
        "ADAUSDT": "SATELLITE"}
    assert result.decision("XRPUSDT").strategy is None and result.decision("XRPUSDT").target == 0.0
    assert result.decision("XRPUSDT").intel["strategy_target"] == 0.0
    with pytest.raises(ValueError, match="4h"):
        CycleConfig(strategy_config=StrategyConfig(strategies={"BTCUSDT": StrategyBlock(strategy="ema_cross", timeframe="4h")}))
    with pytest.raises(ValueError, match="unknown interval"):
        CycleConfig(timeframe="7m")
    assert CycleConfig().tier_for("ANYUSDT") == "SATELLITE"


def test_capital_per_trade_and_leverage_come_from_the_block():
    bars = make_bars()
    x = {"ADAUSDT": SymbolInputs(funding_rate=-0.002, trade_stats=GOOD_TRADES, router_stats=GOOD_ROUTER)}
    _, result = DecisionCycle.warm(history(bars), CONFIG).step(new_bars(bars, HISTORY), x, snapshot(bars, HISTORY), CONFIG)
    ada = result.decision("ADAUSDT")
    assert ada.order is not None and ada.sizing.margin_usd == D("150") and ada.sizing.exchange_leverage == 2
    assert ada.order.leverage == D(2) and ada.order.tag == "ema_cross"


def test_the_mark_price_when_given_is_the_sizing_price():
    bars = make_bars()
    close = float(bars["ETHUSDT"].close[HISTORY])
    x = inputs()
    x["ETHUSDT"] = SymbolInputs(funding_rate=-0.002, mark_price=close * 2, trade_stats=GOOD_TRADES,
                                router_stats=GOOD_ROUTER)
    cycle = DecisionCycle.warm(history(bars), CONFIG)
    _, plain = cycle.step(new_bars(bars, HISTORY), inputs(), snapshot(bars, HISTORY, legs(bars)), CONFIG)
    _, marked = cycle.step(new_bars(bars, HISTORY), x, snapshot(bars, HISTORY, legs(bars)), CONFIG)
    a, b = plain.decision("ETHUSDT").sizing, marked.decision("ETHUSDT").sizing
    assert a.price == D(repr(close)) and b.price == D(repr(close * 2))
    assert a.target_notional_usd == b.target_notional_usd  # same money, at twice the price: about half the qty
    assert b.qty == (b.target_notional_usd / b.price).quantize(D("0.001"), rounding="ROUND_DOWN")


def test_a_one_way_account_gets_both_position_side_entries():
    bars = make_bars()
    snap = snapshot(bars, HISTORY, hedge_mode=False)
    _, result = DecisionCycle.warm(history(bars), CONFIG).step(new_bars(bars, HISTORY), inputs(), snap, CONFIG)
    entries = [d for d in result.decisions if d.order is not None]
    assert entries and all(d.order.position_side == "BOTH" for d in entries)
    assert result.approved and all(o.position_side == "BOTH" for o in result.orders)
    for d in entries:  # never vetoed for sending LONG/SHORT to a one-way account (Binance -4061)
        problems = d.risk.veto("invalid_order").details if d.risk.veto("invalid_order") else ()
        assert "position_side_mode_mismatch" not in problems
