"""The dashboard's panels (docs/Investors_Access.md). Read-only: nothing here writes a file or sends anything.

Each panel takes a StateView and renders what it can; a missing, corrupt or stale source is named on the
panel (st.warning / st.info) instead of raising.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import state_view as sv
from dashboard.state_view import NavSeries, Source, StateView, num

STATUS_BADGE = {"OK": "🟢 OK", "NEAR": "🟡 NEAR", "CAPPED": "🔴 CAPPED", "?": "⚪ ?"}
STATUS_COLOUR = {"OK": "#d4f4dd", "NEAR": "#fff3c4", "CAPPED": "#ffd6d6"}
REGIME_BADGE = {"low": "🔵 low", "normal": "🟢 normal", "high": "🟠 high", "crisis": "🔴 crisis", None: "⚪ n/a"}
MAX_CHART_POINTS = 1200  # a year of hourly points is 8760; a laptop-wide chart shows ~1200 px


def usd(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+,.2f} USDT" if signed else f"{x:,.2f} USDT"


def pct(x: float | None, signed: bool = False, digits: int = 2) -> str:
    """Files hold fractions (0.032); people read percents (3.20 %)."""
    if x is None:
        return "n/a"
    return f"{x * 100:+.{digits}f} %" if signed else f"{x * 100:.{digits}f} %"


def when(ms: Any) -> str:
    if not isinstance(ms, int) or isinstance(ms, bool):
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def source_note(src: Source) -> None:
    """One line under a figure: how fresh it is, or what is wrong with it (stale is flagged, not hidden)."""
    if src.status == "ok":
        st.caption(f"✅ {src.label()}")
    elif src.status == "stale":
        st.warning(f"⚠️ {src.label()}")
    elif src.status == "missing":
        st.info(f"ℹ️ {src.label()}")
    else:
        st.error(f"❌ {src.label()}")


def _skipped(bad: int, what: str) -> None:
    if bad:
        st.warning(f"⚠️ {bad} malformed {what} skipped")


# ---------------------------------------------------------------------------------------------- overview
def kpis(view: StateView) -> None:
    nav_src, risk_src = view.get("nav"), view.get("risk")
    nav = view.data("nav")
    nav_from = ""
    if not nav_src.usable:  # synced_state carries the same nav record
        nav = view.data("synced_state").get("nav") or {}
        nav = nav if isinstance(nav, dict) else {}
        nav_from = "synced_state.json" if nav else ""
    risk = view.data("risk").get("risk") or {}
    legs, bad_legs = sv.position_rows(view)
    exposure = num(risk.get("gross_exposure_usd")) if isinstance(risk, dict) else None
    if exposure is None and legs:
        exposure = sum(r["notional_usd"] or 0.0 for r in legs)
    exposure_pct = num(risk.get("gross_exposure_nav_pct")) if isinstance(risk, dict) else None
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric("NAV", usd(num(nav.get("nav_usd"))))
    d_usd, d_pct = num(nav.get("nav_24h_delta_usd")), num(nav.get("nav_24h_delta_pct"))
    c2.metric("24h PnL", usd(d_usd, signed=True), pct(d_pct, signed=True) if d_pct is not None else None)
    c3.metric("Drawdown", pct(num(nav.get("current_dd_pct"))))
    c4.metric("Open positions", str(len(legs)) if legs or (view.get("positions").usable and not bad_legs) else "n/a")
    c5.metric("Exposure", usd(exposure), pct(exposure_pct) + " of NAV" if exposure_pct is not None else None,
              delta_color="off")
    source_note(nav_src)
    if nav_from:
        st.caption(f"NAV figures taken from {nav_from} ({view.get('synced_state').label()})")
    if view.get("positions").status != "ok":
        source_note(view.get("positions"))
    if risk_src.status not in ("ok", "missing"):
        source_note(risk_src)


def reserve(view: StateView, reserve_btc_setting: float) -> None:
    nav = view.data("nav")
    btc = num(nav.get("reserve_btc"))
    btc = reserve_btc_setting if btc is None else btc
    usd_value = num(nav.get("reserve_usd"))
    worth = f" (≈ {usd_value:,.0f} USDT)" if usd_value is not None else ""
    st.info(f"🪙 BTC reserve: **{btc:g} BTC**{worth} — informational, **not included in NAV**.")


def chart_points(pts: list[tuple[int, float]], limit: int = MAX_CHART_POINTS) -> list[tuple[int, float]]:
    """At most `limit` points to draw: the series cut into equal runs of points and, from each run, its lowest
    and highest point in time order. Every peak and trough survives (a drawdown spike stays visible); only
    points between the extremes of a run are left out. Short series are returned as they are."""
    if len(pts) <= limit:
        return pts
    size = -(-2 * len(pts) // limit)  # two points kept per run
    out: list[tuple[int, float]] = []
    for i in range(0, len(pts), size):
        run = pts[i:i + size]
        lo, hi = min(run, key=lambda p: p[1]), max(run, key=lambda p: p[1])
        out.extend(sorted({lo, hi}))
    if out[-1] != pts[-1]:  # the latest NAV is always drawn
        out.append(pts[-1])
    return out


def nav_chart(series: NavSeries, firestore_note: str) -> None:
    st.subheader("NAV")
    if not series.points:
        st.info(f"ℹ️ No NAV history yet: {series.detail}" + (f"; {firestore_note}" if firestore_note else ""))
        return
    pts = chart_points(series.points)
    frame = pd.DataFrame({"time": pd.to_datetime([t for t, _ in pts], unit="ms", utc=True),
                          "nav": [v for _, v in pts]})
    # y axis fitted to the data (not from 0): a 1 % move must be visible at a glance. Straight segments:
    # a smoothed line would invent values between the drawn minima and maxima.
    st.vega_lite_chart(frame, {
        "mark": {"type": "line", "tooltip": True},
        "encoding": {"x": {"field": "time", "type": "temporal", "title": None},
                     "y": {"field": "nav", "type": "quantitative", "title": "NAV (USDT)",
                           "scale": {"zero": False}}},
        "height": 260}, width="stretch")
    origin = "Firestore" if series.source == "firestore" else "local nav_log.jsonl"
    drawn = (f"; drawn at {len(pts)} points (each run's low and high kept)"
             if len(pts) < len(series.points) else "")
    st.caption(f"Source: {origin} — {series.detail}{drawn}; last point {when(series.points[-1][0])}"
               + (f" ({firestore_note})" if firestore_note else ""))


def positions(view: StateView) -> None:
    st.subheader("Positions (hedge mode: LONG and SHORT legs)")
    legs, bad = sv.position_rows(view)
    _skipped(bad, "position rows")
    if not legs:
        src = view.get("positions")
        if src.usable and not bad:
            st.info("No open positions.")
        else:
            st.warning(f"⚠️ Positions unavailable — {src.label()}" + (" (no readable rows)" if bad else ""))
        return
    frame = pd.DataFrame([{"symbol": r["symbol"], "side": r["side"], "qty": r["qty"], "entry": r["entry"],
                           "mark": r["mark"], "notional (USDT)": r["notional_usd"], "uPnL (USDT)": r["upnl_usd"],
                           "leverage": r["leverage"], "hedged": "⇄ hedged" if r["hedged"] else ""} for r in legs])
    st.dataframe(frame, hide_index=True, width="stretch")


def _records(view: StateView, source: str, title: str, rows: list[dict[str, Any]], bad: int, what: str,
             to_row) -> None:
    """A table of recent records (signals, trades), or what is missing about them."""
    st.subheader(title)
    _skipped(bad, what)
    src = view.get(source)
    if not rows:
        st.info(f"No {what} yet." if src.usable else f"ℹ️ {what.capitalize()} unavailable — {src.label()}")
        return
    st.dataframe(pd.DataFrame([to_row(r) for r in rows]), hide_index=True, width="stretch")
    source_note(src)


def signals(view: StateView) -> None:
    rows, bad = sv.signal_rows(view, 10)
    _records(view, "signals", "Signals (latest intents)", rows, bad, "signals", lambda s: {
        "time": when(s.get("time_ms")), "symbol": s.get("symbol"), "signal": s.get("signal"),
        "side": s.get("position_side"), "intent": s.get("intent"), "hybrid": num(s.get("hybrid_score")),
        "gross (USDT)": num(s.get("gross_usd")), "veto": ", ".join(map(str, s.get("veto") or [])) or "—"})


def trades(view: StateView) -> None:
    rows, bad = sv.trade_rows(view, 5)
    _records(view, "trade_log", "Trade log (most recent 5)", rows, bad, "trades", lambda t: {
        "time": when(t.get("time_ms")), "symbol": t.get("symbol"), "side": t.get("side"),
        "position side": t.get("position_side"), "qty": num(t.get("qty")), "price": num(t.get("price")),
        "realized PnL (USDT)": num(t.get("realized_pnl_usd")), "maker": "maker" if t.get("maker") else "taker"})


def screener(view: StateView) -> None:
    st.subheader("Screener tail (last 10 lines)")
    src = view.get("screener")
    data = view.data("screener")
    lines = sv.screener_tail(view, 10)
    if not src.usable:
        st.info(f"ℹ️ Screener output unavailable — {src.label()}")
        return
    st.caption(f"attempted={data.get('attempted', 'n/a')}, emitted={data.get('emitted', 'n/a')} (last cycle)")
    # st.text, not st.code: st.code pulls in the browser's syntax highlighter (1.5 MB of JS, ~0.5 s of browser
    # CPU per page load; dashboard/README.md "Speed") to show ten lines of plain text
    st.text("\n".join(lines) if lines else "(no screener lines yet)")
    source_note(src)


# ---------------------------------------------------------------------------------------------- risk
def risk(view: StateView) -> None:
    src = view.get("risk")
    data = view.data("risk").get("risk")
    kill = view.data("kill_switch")
    if kill.get("active") is True:
        st.error(f"🛑 KILL SWITCH ENGAGED — {kill.get('reason') or 'no reason given'} (since {kill.get('since')})")
    if not isinstance(data, dict):
        st.warning(f"⚠️ Risk state unavailable — {src.label()}")
        return
    cb = data.get("circuit_breaker") if isinstance(data.get("circuit_breaker"), dict) else {}
    dd, cap = num(data.get("portfolio_dd_pct")), num(cb.get("max_portfolio_dd_nav_pct"))
    if cb.get("active") is True:
        since = when(cb.get("tripped_at_ms"))
        st.error(f"🚨 **CIRCUIT TRIPPED** — portfolio drawdown {pct(dd)} ≥ cap {pct(cap)}"
                 f"{' since ' + since if since else ''}: no new orders until NAV recovers or the limit changes.")
    else:
        st.success(f"Drawdown circuit armed — portfolio drawdown {pct(dd)} of a {pct(cap)} cap.")
    c1, c2, c3 = st.columns(3)
    c1.metric("Portfolio drawdown", pct(dd))
    c2.metric("Daily loss", pct(num(data.get("daily_loss_pct"))))
    c3.metric("Gross exposure", pct(num(data.get("gross_exposure_nav_pct"))) + " of NAV")
    st.subheader("Correlation groups")
    rows, bad = sv.group_rows(view)
    _skipped(bad, "correlation groups")
    if rows:
        frame = pd.DataFrame([{"group": r["group"], "exposure": pct(r["exposure_pct"]), "cap": pct(r["cap_pct"]),
                               "status": STATUS_BADGE.get(r["status"], r["status"]), "symbols": r["symbols"]}
                              for r in rows])
        colours = [STATUS_COLOUR.get(r["status"], "") for r in rows]
        styled = frame.style.apply(lambda col: [f"background-color: {c}" if c else "" for c in colours],
                                   subset=["status"])
        st.dataframe(styled, hide_index=True, width="stretch")
        capped = [r["group"] for r in rows if r["status"] == "CAPPED"]
        if capped:
            st.warning(f"🔴 CAPPED: {', '.join(capped)} — new orders adding to these groups are blocked.")
    else:
        st.info("No correlation groups in risk.json.")
    source_note(src)


# ---------------------------------------------------------------------------------------------- intel
def _intel_or_note(view: StateView) -> list[dict[str, Any]] | None:
    rows, bad = sv.intel_rows(view)
    _skipped(bad, "intel records")
    if not rows:
        src = view.get("intel")
        st.info("No symbols in intel.json yet." if src.usable else f"ℹ️ Intel unavailable — {src.label()}")
        return None
    return rows


def hybrid(view: StateView) -> None:
    st.subheader("Hybrid / carry — per-symbol breakdown, ranked by hybrid score")
    rows = _intel_or_note(view)
    if rows is None:
        return
    frame = pd.DataFrame([{"rank": i + 1, "symbol": r["symbol"], "tier": r["tier"], "hybrid": r["hybrid"],
                           "trend": r["trend"], "carry": r["carry"], "expectancy": r["expectancy"],
                           "router": r["router"], "funding": r["funding_rate"]} for i, r in enumerate(rows)])
    top = frame.head(20).melt(id_vars="symbol", value_vars=["trend", "carry", "hybrid"], var_name="score")
    # a Vega-Lite spec, not st.bar_chart: the same chart without building it through Altair on every render
    st.vega_lite_chart(top, {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {"x": {"field": "symbol", "type": "nominal", "sort": None, "title": None},
                     "xOffset": {"field": "score"}, "y": {"field": "value", "type": "quantitative", "title": None},
                     "color": {"field": "score", "type": "nominal", "title": None}},
        "height": 240}, width="stretch")
    st.dataframe(frame, hide_index=True, width="stretch", height=360)
    source_note(view.get("intel"))


def regimes(view: StateView) -> None:
    st.subheader("Volatility regimes (EWMA short/long ratio)")
    rows = _intel_or_note(view)
    if rows is None:
        return
    counts = {k: sum(1 for r in rows if r["regime"] == k) for k in ("low", "normal", "high", "crisis")}
    cols = st.columns(4)
    for col, (k, n) in zip(cols, counts.items()):
        col.metric(REGIME_BADGE[k], f"{n}", f"{n / len(rows) * 100:.0f} % of symbols", delta_color="off")
    if counts["crisis"]:
        st.warning(f"🔴 {counts['crisis']} symbol(s) in the crisis regime: sizing is cut for them.")
    frame = pd.DataFrame([{"symbol": r["symbol"], "regime": REGIME_BADGE.get(r["regime"]), "tier": r["tier"],
                           "vol short": r["vol_short"], "vol long": r["vol_long"], "ratio": r["vol_ratio"]}
                          for r in sorted(rows, key=lambda r: r["symbol"])])
    st.dataframe(frame, hide_index=True, width="stretch", height=360)
    source_note(view.get("intel"))


# ---------------------------------------------------------------------------------------------- execution
def execution(view: StateView) -> None:
    st.subheader("Execution — maker-first router and TWAP")
    src = view.get("router")
    data = view.data("router")
    if not src.usable:
        st.info(f"ℹ️ Router metrics unavailable — {src.label()}")
    else:
        if data.get("dry_run") is True:
            st.caption("DRY_RUN: these orders were logged, not sent to the exchange.")
        c1, c2, c3, c4 = st.columns(4)
        tw, sg = num(data.get("twap_trades_count")), num(data.get("single_trades_count"))
        c1.metric("TWAP / single trades", f"{tw:.0f} / {sg:.0f}" if tw is not None and sg is not None else "n/a")
        ts, ss = num(data.get("twap_avg_slippage_bps")), num(data.get("single_avg_slippage_bps"))
        c2.metric("Avg slippage TWAP / single",
                  f"{ts:.1f} / {ss:.1f} bps" if ts is not None and ss is not None else "n/a")
        mr, fr = num(data.get("maker_ratio")), num(data.get("fill_rate"))
        c3.metric("Maker ratio", pct(mr, digits=1))
        c4.metric("Fill rate", pct(fr, digits=1))
        source_note(src)
    events = sv.tail_events(view.log_dir / "execution" / "twap_events.jsonl", 10)
    if events:
        st.caption("Last TWAP / single events (logs/execution/twap_events.jsonl)")
        frame = pd.DataFrame([{"time": e.get("ts"), "style": e.get("execution_style"), "symbol": e.get("symbol"),
                               "side": e.get("side"), "slice": f"{e.get('slice_index')}/{e.get('slice_count')}",
                               "slice qty": num(e.get("slice_qty")), "parent (USDT)": num(e.get("parent_gross_usd"))}
                              for e in reversed(events)])
        st.dataframe(frame, hide_index=True, width="stretch")
