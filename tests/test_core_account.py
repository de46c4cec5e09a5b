"""core/account.py: NAV, reserve, high-water mark, 24h delta, daily PnL, legs, trade-log merge."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import account as acc
from core.portfolio import NavPoint

T0 = 1_700_006_400_000  # a UTC midnight
H = 3_600_000


def leg(sym="BTCUSDT", side="LONG", amt="0.01", entry="50000", mark="50100", upnl="1", lev=5, liq="0"):
    return acc.check_leg(sym, side, amt, entry, mark, upnl, lev, liq)


def test_nav_is_wallet_plus_every_legs_unrealized_pnl_and_never_the_reserve():
    r = acc.make_reading("1000.5", "900", [leg(upnl="1.25"), leg(side="SHORT", amt="-0.005", upnl="-0.5"),
                                           leg("ETHUSDT", "SHORT", "-1", "3000", "2990", "10")], T0, "60000")
    assert r.nav_usd == D("1000.5") + D("1.25") - D("0.5") + D("10")
    figs = acc.nav_figures(r, acc.PeakState(), [NavPoint(T0, r.nav_usd)], 0.013)
    assert figs["nav_usd"] == float(r.nav_usd) and figs["reserve_usd"] == pytest.approx(0.013 * 60000)
    assert figs["reserve_in_nav"] is False and figs["nav_usd"] == figs["latest_nav_usd"]


@pytest.mark.parametrize("field, value, code", [
    ("amt", "NaN", "not_a_number"), ("upnl", "Infinity", "not_a_number"), ("mark", D("NaN"), "non_finite"),
    ("upnl", float("inf"), "non_finite"), ("amt", D("-Infinity"), "non_finite"), ("mark", float("nan"), "non_finite"),
    ("mark", "0", "bad_mark"), ("entry", "abc", "not_a_number"), ("amt", "-1", "bad_leg"),
    ("lev", "inf", "not_a_number"), ("liq", "1e999999", "non_finite"), ("amt", "1_000", "not_a_number"),
    ("entry", "\u0663", "not_a_number"), ("upnl", " 1", "not_a_number"), ("amt", True, "not_a_number"),
    ("mark", "", "not_a_number"),
])
def test_a_bad_value_in_a_leg_makes_the_reading_bad(field, value, code):
    with pytest.raises(acc.BadReading) as err:
        leg(**{field: value})
    assert err.value.code == code


def test_flat_legs_are_dropped_and_duplicates_refused():
    assert leg(amt="0", mark="nan") is None  # a flat leg's mark does not matter
    with pytest.raises(acc.BadReading, match="duplicate_leg"):
        acc.check_legs([leg(), leg()])
    with pytest.raises(acc.BadReading, match="bad_leg"):
        acc.check_leg("BTCUSDT", "UP", "1", "1", "1", "0")


@pytest.mark.parametrize("wallet, t", [("NaN", T0), ("1e999", T0), ("1", 0), ("1", True)])
def test_a_bad_wallet_or_time_makes_the_reading_bad(wallet, t):
    with pytest.raises(acc.BadReading):
        acc.make_reading(wallet, "1", [], t)


@pytest.mark.parametrize("mark", ["NaN", "-1", "0", None, "x"])
def test_a_bad_btc_mark_unprices_only_the_reserve(mark):
    r = acc.make_reading("100", "100", [], T0, mark)
    figs = acc.nav_figures(r, acc.PeakState(), [NavPoint(T0, r.nav_usd)], 0.013)
    assert figs["reserve_usd"] is None and figs["reserve_btc_mark"] is None and figs["nav_usd"] == 100.0


def test_peak_only_rises_and_tracks_the_circuit():
    s = acc.advance_peak(acc.PeakState(), D(100), T0)
    s = acc.advance_peak(s, D(90), T0 + 1)
    assert (s.peak_nav_usd, s.peak_at_ms) == (D(100), T0)
    s = acc.advance_peak(s, D(-5), T0 + 2)
    assert s.peak_nav_usd == D(100)
    s = acc.track_circuit(s, True, T0 + 3)
    assert acc.track_circuit(s, True, T0 + 9).circuit_tripped_at_ms == T0 + 3  # kept while it holds
    assert acc.track_circuit(s, False, T0 + 9).circuit_tripped_at_ms is None
    assert acc.PeakState.from_dict(s.to_dict()) == s


@pytest.mark.parametrize("bad", [{"peak_nav_usd": "NaN"}, {"peak_nav_usd": -1}, {"peak_nav_usd": "x"}])
def test_a_bad_persisted_peak_is_refused(bad):
    with pytest.raises(acc.BadReading):
        acc.PeakState.from_dict(bad)


def test_recovered_peak_is_the_highest_usable_value():
    assert acc.recover_peak([D(5), None, "nan", 7.5, -1, "x", float("inf")]) == D("7.5")
    assert acc.recover_peak([None]) is None


def test_24h_delta_and_daily_pnl():
    hist = [NavPoint(T0 - 2 * H, D(900)), NavPoint(T0, D(1000)), NavPoint(T0 + 20 * H, D(1100)),
            NavPoint(T0 + 25 * H, D(1050))]
    r = acc.make_reading("1050", "1", [], T0 + 25 * H)
    figs = acc.nav_figures(r, acc.PeakState(D(1100), T0 + 20 * H), hist, 0)
    assert figs["nav_24h_ago_usd"] == 1000.0 and figs["nav_24h_ago_ms"] == T0  # newest at or before now-24h
    assert figs["nav_24h_delta_usd"] == 50.0 and figs["nav_24h_delta_pct"] == pytest.approx(0.05)
    assert figs["day_start_nav_usd"] == 1100.0  # the last point at or before today's 00:00 UTC
    assert figs["daily_pnl_usd"] == -50.0 and figs["daily_pnl_pct"] == pytest.approx(-50 / 1100)
    assert figs["current_dd_pct"] == pytest.approx(50 / 1100)
    short = acc.nav_figures(r, acc.PeakState(), hist[-1:], 0)
    assert short["nav_24h_ago_usd"] is None and short["nav_24h_delta_usd"] is None  # history too short


def test_nav_log_keeps_at_least_200_points_and_25_hours():
    assert acc.nav_log_keep(3600, 2) == 200
    assert acc.nav_log_keep(30, 500) == 3000
    assert acc.nav_log_keep(3600, 1000) == 1000


def test_legs_are_marked_hedged_when_both_sides_are_held():
    rows = acc.legs_payload(acc.check_legs([leg(), leg(side="SHORT", amt="-0.002"), leg("ETHUSDT")]))
    assert [(r["symbol"], r["position_side"], r["hedged"]) for r in rows] == [
        ("BTCUSDT", "LONG", True), ("BTCUSDT", "SHORT", True), ("ETHUSDT", "LONG", False)]
    assert rows[1]["qty"] == 0.002 and rows[0]["notional_usd"] == pytest.approx(501.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 40), st.integers(0, 10**6)), max_size=120),
       st.integers(0, 120))
def test_merge_trades_never_duplicates_and_keeps_the_newest(raw, split):
    trades = [{"symbol": s, "trade_id": i, "time_ms": t} for s, i, t in raw]
    merged = acc.merge_trades(trades[:split], trades[split:] + trades[: split // 2], keep=200)
    keys = [acc.trade_key(t) for t in merged]
    assert len(keys) == len(set(keys)) == len({acc.trade_key(t) for t in trades}) if len(set(
        acc.trade_key(t) for t in trades)) <= 200 else len(keys) == 200
    assert [t["time_ms"] for t in merged] == sorted(t["time_ms"] for t in merged)
    assert acc.last_trade_ids(merged) == {s: max(i for s2, i in keys if s2 == s) for s, _ in keys}


_hostile = st.one_of(st.text(max_size=12), st.floats(), st.integers(-10**40, 10**40), st.none(), st.booleans(),
                     st.sampled_from(["NaN", "-Infinity", "1e999", "1_000", "٣", " 1", "0x10", "1e-999999"]))


@settings(max_examples=300, deadline=None)
@given(st.tuples(st.text(max_size=10), st.sampled_from(["LONG", "SHORT", "BOTH", "long", "", "X"]), _hostile,
                 _hostile, _hostile, _hostile, _hostile, _hostile))
def test_fuzz_a_leg_is_either_valid_and_finite_or_a_bad_reading(args):
    try:
        leg_ = acc.check_leg(*args)
    except acc.BadReading:
        return
    if leg_ is None:
        return
    for value in (leg_.qty, leg_.entry_price, leg_.mark_price, leg_.unrealized_pnl_usd, leg_.liquidation_price,
                  leg_.notional_usd):
        assert value.is_finite() and abs(float(value)) != float("inf")
    assert leg_.qty > 0 and leg_.mark_price > 0 and leg_.position_side in acc.HEDGE_SIDES
    acc.legs_payload([leg_])  # renders to JSON-ready floats without error


@pytest.mark.parametrize("last, nav, pending, held", [
    (None, D(5), None, False), (D(100), D(120), None, False), (D(100), D(125), None, False),
    (D(100), D("125.01"), None, True), (D(100), D(74), None, True), (D(100), D(0), None, True),
    (D(100), D(-3), D(-3), False), (D(100), D(300), D(300), False), (D(100), D(300), D(200), True),
    (D(100), D("301"), D(300), False),
])
def test_large_nav_jumps_need_a_confirming_second_read(last, nav, pending, held):
    assert acc.needs_confirmation(last, nav, pending) is held
