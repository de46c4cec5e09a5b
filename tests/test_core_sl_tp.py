"""core.sl_tp: level rules per side with protective tick rounding, trailing/time stops, the TP/SL registry."""
import json
from decimal import Decimal as D

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.filters import SymbolFilters, is_multiple
from core.portfolio import PositionLeg
from core.sl_tp import (
    ExitRule,
    PriceBar,
    TpSlRegistry,
    get_rule,
    make_rule,
    pending_exits,
    rearm,
    reconcile,
    register,
    remove,
    round_level,
    stop_loss_price,
    take_profit_price,
    time_stop_due,
    trailing_stop_price,
    update_on_bar,
    update_on_price,
)

BTC = SymbolFilters(
    symbol="BTCUSDT", tick_size=D("0.10"), min_price=D("556.80"), max_price=D("4529764"), step_size=D("0.001"),
    min_qty=D("0.001"), max_qty=D("1000"), market_step_size=D("0.001"), market_min_qty=D("0.001"),
    market_max_qty=D("120"), min_notional=D("100"), percent_up=D("1.05"), percent_down=D("0.95"),
)
H = 3_600_000


# --------------------------------------------------------------------------- levels

def test_percent_levels_on_the_correct_sides():
    assert stop_loss_price(100, "LONG", pct=0.02) == D("98.00")
    assert take_profit_price(100, "LONG", pct=0.04) == D("104.00")
    assert stop_loss_price(100, "SHORT", pct=0.02) == D("102.00")
    assert take_profit_price(100, "SHORT", pct=0.04) == D("96.00")
    assert stop_loss_price(100, "BOTH", pct=0.02, direction="SHORT") == D("102.00")


def test_atr_levels_round_toward_entry_on_the_tick():
    e, atr = D("67000.05"), D("1234.56")
    # LONG: SL 65,148.21 -> up to 65,148.3 ; TP 70,703.73 -> down to 70,703.7
    assert stop_loss_price(e, "LONG", atr=atr, atr_mult=1.5, filters=BTC) == D("65148.3")
    assert take_profit_price(e, "LONG", atr=atr, atr_mult=3, filters=BTC) == D("70703.7")
    # SHORT: SL 68,851.89 -> down to 68,851.8 ; TP 63,296.37 -> up to 63,296.4
    assert stop_loss_price(e, "SHORT", atr=atr, atr_mult=1.5, filters=BTC) == D("68851.8")
    assert take_profit_price(e, "SHORT", atr=atr, atr_mult=3, filters=BTC) == D("63296.4")


def test_rounding_never_lands_on_the_entry():
    # 100 x (1 - 0.0004) = 99.96 would round up to the entry 100.0: the stop becomes one tick below instead
    assert stop_loss_price(100, "LONG", pct=0.0004, tick_size="0.1") == D("99.9")
    assert stop_loss_price(100, "SHORT", pct=0.0004, tick_size="0.1") == D("100.1")
    assert take_profit_price(100, "LONG", pct=0.0004, tick_size="0.1") == D("100.1")
    assert round_level(5, 10, 0) == 5


def test_level_errors():
    with pytest.raises(ValueError):
        stop_loss_price(0, "LONG", pct=0.01)
    with pytest.raises(ValueError):
        stop_loss_price(100, "LONG", pct=0.01, atr=1, atr_mult=1)
    with pytest.raises(ValueError):
        stop_loss_price(100, "LONG", atr=-1, atr_mult=1)
    with pytest.raises(ValueError):
        stop_loss_price(100, "BOTH", pct=0.01)  # a one-way leg must say its direction
    with pytest.raises(ValueError):
        stop_loss_price(100, "LONG", pct=1.5)  # below zero and no tick to floor at
    assert stop_loss_price(100, "LONG", pct=1.5, tick_size="0.1") == D("0.1")  # floored at one tick
    with pytest.raises(ValueError):
        stop_loss_price("0.1", "LONG", pct=0.01, tick_size="0.1")  # entry is one tick: no price below it


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**8), st.integers(1, 500), st.sampled_from(["0.1", "0.01", "0.0001", "1", "0.5"]),
       st.sampled_from(["LONG", "SHORT"]))
def test_level_properties(entry_ticks, bps, tick, side):
    assume(entry_ticks > 1)  # at one tick no LONG stop exists (tested above)
    t = D(tick)
    entry = entry_ticks * t
    pct = D(bps) / 10_000
    sl = stop_loss_price(entry, side, pct=pct, tick_size=t)
    tp = take_profit_price(entry, side, pct=pct, tick_size=t)
    assert is_multiple(sl, t) and is_multiple(tp, t)
    raw_sl = entry * (1 - pct) if side == "LONG" else entry * (1 + pct)
    if side == "LONG":
        assert 0 < sl < entry < tp
        assert sl >= raw_sl or sl == entry - t  # never wider, except the one-tick-off-entry case
    else:
        assert tp < entry < sl
        assert sl <= raw_sl or sl == entry + t
    assert abs(sl - raw_sl) < t or sl in (entry - t, entry + t, t)


def test_trailing_and_time_stop_rules():
    assert trailing_stop_price(100, "LONG", 0.01) == D("99.00")
    assert trailing_stop_price(100, "SHORT", 0.01) == D("101.00")
    assert trailing_stop_price("67123.4", "LONG", 0.01, tick_size="0.1") == D("66452.2")  # 66,452.166 -> up
    assert not time_stop_due(0, 72 * H, 72 * H - 1)
    assert time_stop_due(0, 72 * H, 72 * H)
    assert not time_stop_due(0, None, 10**15)


# --------------------------------------------------------------------------- registry

def long_rule(**kw):
    args = dict(sl_pct=0.02, tp_pct=0.04, tick_size="0.01") | kw
    return make_rule("SOLUSDT", "LONG", 100, 0, **args)


def test_register_get_replace_remove():
    reg = register(TpSlRegistry(), long_rule())
    assert len(reg) == 1 and ("SOLUSDT", "LONG") in reg
    r = get_rule(reg, "SOLUSDT", "long")
    assert (r.stop_loss, r.take_profit) == (D("98.00"), D("104.00"))
    reg2 = register(reg, long_rule(sl_pct=0.03))
    assert len(reg2) == 1 and get_rule(reg2, "SOLUSDT", "LONG").stop_loss == D("97.00")
    assert get_rule(reg, "SOLUSDT", "LONG").stop_loss == D("98.00")  # immutable: the old value is unchanged
    assert len(remove(reg2, "SOLUSDT", "LONG")) == 0
    assert remove(reg2, "BTCUSDT", "LONG") is reg2


def test_rule_validates_sides():
    with pytest.raises(ValueError, match="wrong side"):
        ExitRule("SOLUSDT", "LONG", "", D(100), 0, stop_loss=D(101))
    with pytest.raises(ValueError, match="wrong side"):
        ExitRule("SOLUSDT", "SHORT", "", D(100), 0, take_profit=D(101))
    with pytest.raises(ValueError):
        TpSlRegistry((long_rule(), long_rule()))


def test_stop_loss_fires_once_and_stays_pending_until_removed():
    reg = register(TpSlRegistry(), long_rule())
    reg, exits = update_on_price(reg, {"SOLUSDT": 99}, 1000)
    assert exits == []
    reg, exits = update_on_price(reg, {"SOLUSDT": "97.9"}, 2000)
    assert [(e.reason, e.trigger_price, e.observed_price, e.ts_ms) for e in exits] == [
        ("stop_loss", D("98.00"), D("97.9"), 2000)]
    reg, again = update_on_price(reg, {"SOLUSDT": 90}, 3000)
    assert again == []  # no duplicate exit while the close is in flight
    assert [e.reason for e in pending_exits(reg)] == ["stop_loss"]
    assert len(remove(reg, "SOLUSDT", "LONG")) == 0
    assert get_rule(rearm(reg, "SOLUSDT", "LONG"), "SOLUSDT", "LONG").triggered is None


def test_take_profit_and_short_sides():
    reg = register(TpSlRegistry(), make_rule("ETHUSDT", "SHORT", 2000, 0, sl_pct=0.02, tp_pct=0.05, tick_size="0.01"))
    _, exits = update_on_price(reg, {"ETHUSDT": 2039}, 1)
    assert exits == []
    _, exits = update_on_price(reg, {"ETHUSDT": 2040}, 1)  # SL 2,040 for a short: at the level fires
    assert exits[0].reason == "stop_loss"
    _, exits = update_on_price(reg, {"ETHUSDT": 1900}, 1)
    assert exits[0].reason == "take_profit" and exits[0].trigger_price == D("1900.00")


def test_exit_scanner_is_bounded_by_the_registry():
    reg = register(TpSlRegistry(), long_rule())
    marks = {"BTCUSDT": 1, "ETHUSDT": 1, "SOLUSDT": 99}  # crashing prices of unregistered symbols
    new, exits = update_on_price(reg, marks, 1)
    assert exits == []
    _, exits = update_on_price(TpSlRegistry(), marks, 1)
    assert exits == []


def test_bad_marks_neither_trigger_nor_trail():
    reg = register(TpSlRegistry(), long_rule(trail_pct=0.01))
    for bad in ("NaN", 0, -5, "Infinity"):
        new, exits = update_on_price(reg, {"SOLUSDT": bad}, 1)
        assert exits == [] and new == reg


def test_trailing_stop_ratchets_and_fires():
    reg = register(TpSlRegistry(), make_rule("SOLUSDT", "LONG", 100, 0, trail_pct=0.01, tick_size="0.01"))
    assert get_rule(reg, "SOLUSDT", "LONG").trail_stop == D("99.00")
    reg, _ = update_on_price(reg, {"SOLUSDT": 105}, 1)
    r = get_rule(reg, "SOLUSDT", "LONG")
    assert (r.trail_anchor, r.trail_stop) == (D(105), D("103.95"))
    reg, exits = update_on_price(reg, {"SOLUSDT": 104}, 2)
    assert exits == [] and get_rule(reg, "SOLUSDT", "LONG").trail_stop == D("103.95")  # never loosens
    reg, exits = update_on_price(reg, {"SOLUSDT": "103.95"}, 3)
    assert [(e.reason, e.trigger_price) for e in exits] == [("trailing_stop", D("103.95"))]


def test_short_trailing_stop():
    reg = register(TpSlRegistry(), make_rule("SOLUSDT", "SHORT", 100, 0, trail_pct=0.01, tick_size="0.01"))
    reg, _ = update_on_price(reg, {"SOLUSDT": 90}, 1)
    assert get_rule(reg, "SOLUSDT", "SHORT").trail_stop == D("90.90")
    reg, exits = update_on_price(reg, {"SOLUSDT": 91}, 2)
    assert exits[0].reason == "trailing_stop" and exits[0].trigger_price == D("90.90")


def test_tighter_of_stop_loss_and_trailing_stop_is_reported():
    reg = register(TpSlRegistry(), long_rule(sl_pct=0.05, tp_pct=None, trail_pct=0.01))
    reg, _ = update_on_price(reg, {"SOLUSDT": 110}, 1)  # trail 108.90, SL 95
    _, exits = update_on_price(reg, {"SOLUSDT": 90}, 2)  # both crossed: the trail was crossed first
    assert (exits[0].reason, exits[0].trigger_price) == ("trailing_stop", D("108.90"))


def test_time_stop():
    reg = register(TpSlRegistry(), long_rule(time_stop_ms=72 * H))
    _, exits = update_on_price(reg, {"SOLUSDT": 100}, 72 * H - 1)
    assert exits == []
    _, exits = update_on_price(reg, {"SOLUSDT": 100}, 72 * H)
    assert exits[0].reason == "time_stop" and exits[0].trigger_price == 100
    _, exits = update_on_price(reg, {}, 72 * H)  # no mark: still times out
    assert exits[0].reason == "time_stop"


def test_update_on_bar_gap_priority_and_trailing():
    reg = register(TpSlRegistry(), long_rule())
    _, exits = update_on_bar(reg, {"SOLUSDT": PriceBar(95, 96, 94, 95)}, 1)  # gapped below the 98 stop
    assert (exits[0].reason, exits[0].trigger_price) == ("stop_loss", D(95))
    _, exits = update_on_bar(reg, {"SOLUSDT": PriceBar(100, 105, 97, 101)}, 1)  # both SL and TP inside the bar
    assert exits[0].reason == "stop_loss" and exits[0].trigger_price == D("98.00")
    _, exits = update_on_bar(reg, {"SOLUSDT": PriceBar(100, 105, 99, 104)}, 1)
    assert (exits[0].reason, exits[0].trigger_price) == ("take_profit", D("104.00"))
    _, exits = update_on_bar(reg, {"SOLUSDT": PriceBar(106, 107, 105, 106)}, 1)  # gapped above TP: fill at open
    assert (exits[0].reason, exits[0].trigger_price) == ("take_profit", D(106))
    tr = register(TpSlRegistry(), make_rule("SOLUSDT", "LONG", 100, 0, trail_pct=0.01, tick_size="0.01"))
    tr, exits = update_on_bar(tr, {"SOLUSDT": PriceBar(100, 110, "99.5", 109)}, 1)  # judged on the old 99 stop
    assert exits == [] and get_rule(tr, "SOLUSDT", "LONG").trail_stop == D("108.90")
    with pytest.raises(ValueError):
        PriceBar(100, 99, 98, 100)


def test_reconcile_with_positions():
    reg = register(register(TpSlRegistry(), long_rule()), make_rule("BTCUSDT", "SHORT", 100000, 0, sl_pct=0.01))
    legs = [PositionLeg("SOLUSDT", "LONG", 1), PositionLeg("ETHUSDT", "SHORT", 1), PositionLeg("XRPUSDT", "LONG", 0)]
    new, gone, unprotected = reconcile(reg, legs)
    assert gone == (("BTCUSDT", "SHORT"),) and unprotected == (("ETHUSDT", "SHORT"),)
    assert [r.key for r in new.entries] == [("SOLUSDT", "LONG")]


def test_registry_round_trips_through_plain_json():
    reg = register(TpSlRegistry(), long_rule(trail_pct=0.01, time_stop_ms=72 * H))
    reg = register(reg, make_rule("BTCUSDT", "BOTH", "67000.05", 5, direction="SHORT", atr="1234.56",
                                  sl_atr_mult=1.5, tp_atr_mult=3, filters=BTC))
    reg, _ = update_on_price(reg, {"SOLUSDT": 97, "BTCUSDT": 66000}, 9)
    doc = json.loads(json.dumps(reg.to_dict()))
    assert doc["version"] == 1 and len(doc["entries"]) == 2
    back = TpSlRegistry.from_dict(doc)
    assert back == reg
    assert get_rule(back, "SOLUSDT", "LONG").triggered == "trailing_stop"  # trail 99 is tighter than SL 98
    with pytest.raises(ValueError):
        TpSlRegistry.from_dict({"version": 99, "entries": []})


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=30), st.sampled_from(["LONG", "SHORT"]),
       st.integers(1, 300))
def test_trailing_stop_is_monotone_and_round_trips(path, side, bps):
    reg = register(TpSlRegistry(), make_rule("SOLUSDT", side, path[0], 0, trail_pct=D(bps) / 10_000, tick_size="1"))
    prev = get_rule(reg, "SOLUSDT", side).trail_stop
    for i, p in enumerate(path):
        reg, exits = update_on_price(reg, {"SOLUSDT": p}, i)
        r = get_rule(reg, "SOLUSDT", side)
        assume(r.trail_stop is not None)
        assert (r.trail_stop >= prev) if side == "LONG" else (r.trail_stop <= prev)
        prev = r.trail_stop
        assert TpSlRegistry.from_dict(json.loads(json.dumps(reg.to_dict()))) == reg
        if r.triggered:
            assert [e.reason for e in exits] in ([], ["trailing_stop"])
            break


def test_rule_from_config_reads_the_settings_type_directly():
    from decimal import Decimal as _D

    from core.sl_tp import make_rule, rule_from_config
    from settings.models import SlTpConfig

    cfg = SlTpConfig(sl_atr_mult=2.0, tp_atr_mult=3.0, sl_pct=0.02, tp_pct=0.04, trail_pct=0.01, time_stop_hours=6)
    r = rule_from_config("BTCUSDT", "LONG", "100", 0, cfg, atr="2", tick_size="0.01")
    assert (r.stop_loss, r.take_profit) == (_D("96.00"), _D("106.00"))  # entry -/+ mult x ATR
    assert r.time_stop_ms == 6 * 3_600_000
    no_atr = rule_from_config("BTCUSDT", "SHORT", "100", 0, cfg, tick_size="0.01")
    assert (no_atr.stop_loss, no_atr.take_profit) == (_D("102.00"), _D("96.00"))  # percent form
    assert r == make_rule("BTCUSDT", "LONG", "100", 0, atr="2", tick_size="0.01", sl_atr_mult=2.0, tp_atr_mult=3.0,
                          sl_pct=0.02, tp_pct=0.04, trail_pct=0.01, time_stop_ms=6 * 3_600_000)


def test_update_on_bar_takes_the_float_bar_of_core_bars_too():
    from core.bars import Bar as FloatBar

    reg = register(TpSlRegistry(), make_rule("SOLUSDT", "LONG", 100, 0, sl_pct=0.02, tp_pct=0.05, tick_size="0.01"))
    _, exits = update_on_bar(reg, {"SOLUSDT": FloatBar(95.0, 96.0, 94.0, 95.0)}, 1)
    assert [(e.reason, e.trigger_price) for e in exits] == [("stop_loss", D(95))]
    with pytest.raises(ValueError):
        update_on_bar(reg, {"SOLUSDT": FloatBar(100.0, 99.0, 98.0, 100.0)}, 1)  # inconsistent
