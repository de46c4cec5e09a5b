"""The 8-hour heartbeat's text and JSON payload (docs/Telemetry_Format.md). Pure: values in, text out.

Files hold fractions (0.0101); the message and its payload show percents (1.01), as the format says.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

TREND_BAND_PCT = 0.25  # ↑ above +0.25 %, ↓ below −0.25 %, → otherwise (docs/Telemetry_Format.md §3)
ARROWS = {"up": "↑", "down": "↓", "flat": "→"}
TOP_POSITIONS = 5
RECENT_TRADES = 5


@dataclass(frozen=True)
class NavFigures:
    nav_usd: float | None = None
    delta_usd: float | None = None  # NAV now − NAV 24 h ago
    delta_frac: float | None = None  # the same as a fraction of NAV 24 h ago
    drawdown_frac: float | None = None
    source: str = "none"  # firestore | local | exchange | none
    stale: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Leg:
    symbol: str
    side: str  # LONG | SHORT
    qty: float  # positive
    upnl: float
    hedged: bool = False


def trend(delta_pct: float | None) -> str:
    """up / down / flat from the 24 h change in percent; unknown change is flat."""
    if delta_pct is None:
        return "flat"
    if delta_pct > TREND_BAND_PCT:
        return "up"
    if delta_pct < -TREND_BAND_PCT:
        return "down"
    return "flat"


def top_legs(legs: list[Leg], n: int = TOP_POSITIONS) -> list[Leg]:
    """Group by (symbol, side), then the n largest by |uPnL| (ties: symbol, side for a stable order)."""
    grouped: dict[tuple[str, str], Leg] = {}
    for leg in legs:
        key = (leg.symbol, leg.side)
        prev = grouped.get(key)
        grouped[key] = leg if prev is None else Leg(leg.symbol, leg.side, prev.qty + leg.qty, prev.upnl + leg.upnl,
                                                     prev.hedged or leg.hedged)
    sides = {}
    for sym, side in grouped:
        sides.setdefault(sym, set()).add(side)
    ranked = sorted(grouped.values(), key=lambda g: (-abs(g.upnl), g.symbol, g.side))[:n]
    return [Leg(g.symbol, g.side, g.qty, g.upnl, g.hedged or sides[g.symbol] >= {"LONG", "SHORT"}) for g in ranked]


def _qty(q: float) -> str:
    text = f"{q:.3f}"
    return text if float(text) != 0 or q == 0 else f"{q:.8f}".rstrip("0")


def _pct1(x: float) -> str:
    return f"{x:.1f}%"


def build_payload(*, env: str, now: dt.datetime, nav: NavFigures, legs: list[Leg],
                  trades: list[tuple[str, float]], reserve_btc: float, screener: dict[str, Any] | None,
                  kpis: dict[str, float | None], warnings: list[str] | None = None) -> dict[str, Any]:
    """The JSON payload: the keys of docs/Telemetry_Format.md §2, plus nav_source and warnings."""
    delta_pct = None if nav.delta_frac is None else round(nav.delta_frac * 100, 2)
    top = top_legs(legs)
    return {
        "env": env,
        "timestamp": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "nav": None if nav.nav_usd is None else round(nav.nav_usd, 2),
        "nav_24h_delta_abs": None if nav.delta_usd is None else round(nav.delta_usd, 2),
        "nav_24h_delta_pct": delta_pct,
        "drawdown_pct": None if nav.drawdown_frac is None else round(nav.drawdown_frac * 100, 2),
        "trend": trend(None if nav.delta_frac is None else nav.delta_frac * 100),
        "reserve_btc": reserve_btc,
        "positions": [{"symbol": g.symbol, "side": g.side, "qty": g.qty, "uPnl": round(g.upnl, 3),
                       "hedged": g.hedged} for g in top],
        "recent_trades": [{"symbol": s, "pnl": round(p, 2)} for s, p in trades[:RECENT_TRADES]],
        "screener": {"attempted": (screener or {}).get("attempted"), "emitted": (screener or {}).get("emitted")},
        "kpis": {k: (None if v is None else round(v, 2)) for k, v in kpis.items()},
        "nav_source": nav.source,
        "warnings": list(nav.notes) + list(warnings or []),
    }


def render_text(payload: dict[str, Any], tz: str = "UTC") -> str:
    """The message as docs/Telemetry_Format.md §1 lays it out."""
    zone = ZoneInfo(tz)
    when = dt.datetime.strptime(payload["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    local = when.astimezone(zone)
    lines = [f"HEDGE — 8h Update ({payload['env']})", f"Time: {local:%Y-%m-%d %H:%M} {local.tzname()}", ""]
    nav, d_abs, d_pct = payload["nav"], payload["nav_24h_delta_abs"], payload["nav_24h_delta_pct"]
    delta = f"Δ24h: {d_abs:+,.2f}, {d_pct:+.2f}%" if d_abs is not None and d_pct is not None else "Δ24h: n/a"
    lines.append(f"NAV: {nav:,.2f} USDT  ({delta})" if nav is not None else f"NAV: n/a  ({delta})")
    dd = payload["drawdown_pct"]
    lines.append(f"Drawdown: {_pct1(dd) if dd is not None else 'n/a'}  |  Trend: {ARROWS[payload['trend']]}")
    lines += ["", f"Open Positions (top {TOP_POSITIONS}):"]
    shown: list[str] = []
    by_symbol: dict[str, list[dict[str, Any]]] = {}
    for p in payload["positions"]:
        if p["symbol"] not in by_symbol:
            shown.append(p["symbol"])
        by_symbol.setdefault(p["symbol"], []).append(p)
    for sym in shown:
        first, *rest = by_symbol[sym]
        line = f"• {sym}  {first['side']:<5} {_qty(first['qty'])}  uPnL {first['uPnl']:+.2f}"
        for other in rest:
            line += f"  |  {other['side']} {_qty(other['qty'])} uPnL {other['uPnl']:+.2f}"
        if first.get("hedged"):
            line += " (hedged)"
        lines.append(line)
    if not shown:
        lines.append("• none")
    lines += ["", f"Recent PnL (last {RECENT_TRADES} trades):"]
    lines += [f"• {t['symbol']} {t['pnl']:+.2f}" for t in payload["recent_trades"]] or ["• none"]
    lines += ["", "Notes:", f"• Reserve: {payload['reserve_btc']:g} BTC (not included in NAV)"]
    sc = payload["screener"]
    if sc.get("attempted") is not None or sc.get("emitted") is not None:
        lines.append(f"• Screener: attempted={sc.get('attempted')}, emitted={sc.get('emitted')} (last cycle)")
    else:
        lines.append("• Screener: no data")
    lines += [f"• {w}" for w in payload.get("warnings", [])]
    return "\n".join(lines)
