"""core.sizing: effective per-trade NAV %, leverage caps, quantity floored to the step, reasons."""
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.filters import SymbolFilters, is_multiple
from core.sizing import effective_per_trade_nav_pct, per_trade_nav_pct, qty_for_notional, size_position, target_leverage
from settings.models import PairsUniverse, Profile, RiskLimits, StrategyConfig, SymbolOverride


def filt(sym, tick, step, min_notional, min_qty=None):
    return SymbolFilters(
        symbol=sym, tick_size=D(tick), min_price=D(tick), max_price=D("10000000"), step_size=D(step),
        min_qty=D(min_qty or step), max_qty=D("1000"), market_step_size=D(step), market_min_qty=D(min_qty or step),
        market_max_qty=D("120"), min_notional=D(min_notional), percent_up=D("1.05"), percent_down=D("0.95"),
    )


BTC = filt("BTCUSDT", "0.10", "0.001", "100")
SOL = filt("SOLUSDT", "0.0010", "1", "5")
CFG = StrategyConfig()
UNIVERSE = PairsUniverse(
    symbols=["BTCUSDT", "SOLUSDT", "DOGEUSDT"],
    overrides={"BTCUSDT": SymbolOverride(target_leverage=3, tier="CORE", min_notional=100.0),
               "SOLUSDT": SymbolOverride(target_leverage=2, tier="TACTICAL", min_notional=10.0)},
)
LIMITS = RiskLimits()
PROD = Profile(max_position_usd=50000, max_leverage=3, enable_shorts=True, local_venue=False)


def test_effective_per_trade_nav_pct_is_exact():
    assert effective_per_trade_nav_pct(0.04, 1.15) == D("0.0460")
    assert per_trade_nav_pct(CFG, "CORE", "crisis") == (D("0.04"), D("0.5"), D("0.020"))
    assert per_trade_nav_pct(CFG, "SATELLITE", "high") == (D("0.025"), D("0.7"), D("0.0175"))


def test_target_leverage_is_the_minimum_of_every_bound():
    lev, exch, cands = target_leverage("BTCUSDT", limits=LIMITS, universe=UNIVERSE, profile=PROD, strategy_leverage=5)
    assert cands == {"target_leverage": 3, "strategy": 5, "profile": 3, "MAX_LEVERAGE": 5}
    assert (lev, exch) == (3, 3)
    lev, exch, _ = target_leverage("SOLUSDT", limits=RiskLimits(MAX_LEVERAGE=2.5), universe=UNIVERSE)
    assert (lev, exch) == (2, 2)
    lev, exch, _ = target_leverage("DOGEUSDT", limits=RiskLimits(MAX_LEVERAGE=2.5))
    assert (lev, exch) == (2, 2)  # floored: Binance leverage is an integer
    lev, exch, _ = target_leverage("DOGEUSDT", limits=RiskLimits(MAX_LEVERAGE=0.5))
    assert (lev, exch) == (D("0.5"), 1)  # below 1x: sized at 0.5x, the symbol stays at 1x
    assert target_leverage("DOGEUSDT")[:2] == (1, 1)


def test_exchange_leverage_is_floored_never_rounded_up():
    lev, exch, _ = target_leverage("DOGEUSDT", limits=RiskLimits(MAX_LEVERAGE=2.9))
    assert (lev, exch) == (2, 2)  # rounding to 3 would exceed the 2.9x bound
    lev, exch, _ = target_leverage("DOGEUSDT", limits=RiskLimits(MAX_LEVERAGE=0.99))
    assert (lev, exch) == (D("0.99"), 1)


def test_size_position_hand_computed_core_btc():
    # NAV 10,000, CORE low regime: 0.04 x 1.15 = 0.046 -> margin 460; leverage min(3, 3, 5) = 3 -> 1,380 USD
    r = size_position("BTCUSDT", 10000, 67000, BTC, strategy_config=CFG, regime="low", limits=LIMITS,
                      universe=UNIVERSE, profile=PROD)
    assert (r.tier, r.base_per_trade_nav_pct, r.sizing_multiplier) == ("CORE", D("0.04"), D("1.15"))
    assert r.effective_per_trade_nav_pct == D("0.046") and r.margin_usd == D("460")
    assert (r.leverage, r.exchange_leverage) == (3, 3)
    assert r.target_notional_usd == D("1380")
    assert r.raw_qty == D(1380) / D(67000)  # 0.020597...
    assert r.qty == D("0.020") and r.notional_usd == D("1340.000")
    assert r.ok and r.reason == ""
    d = r.to_dict()
    assert d["qty"] == "0.020" and d["ok"] is True


def test_fixed_capital_and_cap_clip():
    r = size_position("SOLUSDT", 10000, 150, SOL, strategy_config=CFG, regime="normal", universe=UNIVERSE,
                      limits=LIMITS, capital_per_trade=100)
    assert (r.margin_usd, r.target_notional_usd, r.qty) == (D(100), D(200), D(1))
    r = size_position("SOLUSDT", 10000, 150, SOL, strategy_config=CFG, regime="normal", universe=UNIVERSE,
                      limits=LIMITS, cap_notional_usd=120)
    assert (r.target_notional_usd, r.qty) == (D(120), D(0)) and r.reason == "rounds_to_zero"


@pytest.mark.parametrize("nav, price, reason", [
    (10, 67000, "rounds_to_zero"),     # 10 x 0.04 x 3 = 1.2 USD: 0.0000179 BTC
    (1000, 67000, "below_min_notional"),  # 120 USD -> 0.001 BTC = 67 < 100
    (0, 67000, "invalid_input"),
    (10000, 0, "invalid_input"),
    (float("nan"), 67000, "invalid_input"),
    (10000, "abc", "invalid_input"),
])
def test_unsendable_sizes_carry_a_reason(nav, price, reason):
    r = size_position("BTCUSDT", nav, price, BTC, strategy_config=CFG, regime="normal", universe=UNIVERSE, limits=LIMITS)
    assert r.reason == reason and not r.ok


def test_below_min_qty_and_universe_min_notional_override():
    f = filt("SOLUSDT", "0.0010", "1", "5", min_qty="3")
    r = size_position("SOLUSDT", 10000, 150, f, strategy_config=CFG, regime="normal", universe=UNIVERSE, limits=LIMITS)
    # TACTICAL 0.015 x 10,000 = 150 margin x 2 = 300 USD -> 2 SOL < min qty 3
    assert (r.qty, r.reason) == (D(2), "below_min_qty")
    # override min_notional 10 > exchange 5: 1 SOL at 8 = 8 USD fails on the override
    r = size_position("SOLUSDT", 1000, 8, SOL, strategy_config=CFG, regime="normal", universe=UNIVERSE, limits=LIMITS,
                      capital_per_trade=5)
    assert (r.qty, r.min_notional, r.reason) == (D(1), D(10), "below_min_notional")


def test_min_notional_boundary_and_cap_validation():
    # margin 5 x 2x (SOL override) = 10 USD at price 10 -> 1 SOL = 10 USD: exactly the override's min notional
    r = size_position("SOLUSDT", 10000, 10, SOL, strategy_config=CFG, regime="normal", universe=UNIVERSE, limits=LIMITS,
                      capital_per_trade=5)
    assert (r.qty, r.notional_usd, r.min_notional, r.reason) == (D(1), D(10), D(10), "")
    for bad_cap in (-1, float("nan"), "abc"):
        r = size_position("SOLUSDT", 10000, 150, SOL, strategy_config=CFG, regime="normal", universe=UNIVERSE,
                          limits=LIMITS, cap_notional_usd=bad_cap)
        assert r.reason == "invalid_input" and r.qty == 0


def test_limit_entries_use_lot_size_and_market_entries_market_lot_size():
    f = SymbolFilters(symbol="SOLUSDT", tick_size=D("0.001"), min_price=D("0.001"), max_price=D("1000000"),
                      step_size=D("0.1"), min_qty=D("0.1"), max_qty=D("1000"), market_step_size=D("1"),
                      market_min_qty=D("1"), market_max_qty=D("1000"), min_notional=D("5"),
                      percent_up=D("1.05"), percent_down=D("0.95"))
    kw = dict(strategy_config=CFG, regime="normal", universe=UNIVERSE, limits=LIMITS, capital_per_trade=100)
    # 100 margin x 2x = 200 USD at 150 = 1.333... SOL
    assert size_position("SOLUSDT", 10000, 150, f, market=True, **kw).qty == D(1)
    assert size_position("SOLUSDT", 10000, 150, f, market=False, **kw).qty == D("1.3")


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**7), st.sampled_from(["low", "normal", "high", "crisis"]),
       st.sampled_from(["CORE", "SATELLITE", "TACTICAL", "ALT-EXT"]))
def test_qty_never_exceeds_target_and_is_a_step_multiple(nav, price_tenths, regime, tier):
    price = D(price_tenths) / 10
    r = size_position("BTCUSDT", nav, price, BTC, strategy_config=CFG, regime=regime, tier=tier, limits=LIMITS)
    assert is_multiple(r.qty, BTC.step_size)
    assert r.qty * price <= r.target_notional_usd
    assert r.target_notional_usd - r.qty * price < BTC.step_size * price  # floored by less than one step
    assert r.ok == (r.qty >= BTC.min_qty and r.qty * price >= BTC.min_notional)


def test_qty_for_notional_market_lot():
    raw, q = qty_for_notional(1000, 3, SOL)
    assert q == 333 and raw == D(1000) / D(3)
