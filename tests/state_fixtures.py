"""Fixture state for the dashboard, the heartbeat and the local stack: real files in the format of
docs/STATE_FILES.md, written the one way every process writes them (`write_snapshot`, `append_event`).

    build(root, "normal")  -> writes <root>/logs/state/*.json and <root>/logs/execution/*.jsonl

Scenarios: normal, empty (no files at all), corrupt (torn/garbage/partial files), circuit_tripped,
group_capped, stale (written two hours ago and flagged stale by the writer). `build_big` writes a year of
hourly NAV and N symbols of intel for the benchmark.

Also a command: `.venv/bin/python -m tests.state_fixtures normal --root /tmp/x` (used by the local docs).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

from execution.state_store import append_event, atomic_write_bytes, write_snapshot

SCENARIOS = ("normal", "empty", "corrupt", "circuit_tripped", "group_capped", "stale")
WRITER = "fixture"
HOUR_MS = 3_600_000


def iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def paths(root: Path) -> tuple[Path, Path]:
    """(state_root, log_dir) under root, the layout of a checkout (logs/state, logs)."""
    return Path(root) / "logs" / "state", Path(root) / "logs"


def _positions(as_of_ms: int) -> list[dict]:
    legs = [
        ("SOLUSDT", "LONG", 1.0, 100.0, 93.9, 3),
        ("SOLUSDT", "SHORT", 1.0, 99.6, 93.9, 3),
        ("ETHUSDT", "SHORT", 0.042, 3000.0, 3006.9, 5),
        ("BTCUSDT", "SHORT", 0.001, 65160.0, 65003.0, 5),
        ("DOGEUSDT", "LONG", 500.0, 0.16, 0.161, 3),
        ("LINKUSDT", "LONG", 10.0, 14.0, 14.05, 3),
    ]
    both = {s for s, side, *_ in legs if side == "LONG"} & {s for s, side, *_ in legs if side == "SHORT"}
    out = []
    for symbol, side, qty, entry, mark, lev in legs:
        sign = 1 if side == "LONG" else -1
        upnl = round(sign * qty * (mark - entry), 4)
        out.append({"symbol": symbol, "position_side": side, "qty": qty, "entry_price": entry,
                    "mark_price": mark, "notional_usd": round(qty * mark, 4), "unrealized_pnl_usd": upnl,
                    "leverage": lev, "liquidation_price": round(entry * (0.7 if sign > 0 else 1.3), 4),
                    "hedged": symbol in both})
    return out


def _groups(nav: float, positions: list[dict], l1_cap: float = 0.35) -> dict:
    groups = {"L1_bluechips": (["BTCUSDT", "ETHUSDT", "SOLUSDT"], l1_cap),
              "L2_alts": (["DOGEUSDT", "LINKUSDT", "LTCUSDT", "SUIUSDT", "WIFUSDT"], 0.25)}
    out = {}
    for name, (symbols, cap) in groups.items():
        gross = sum(p["notional_usd"] for p in positions if p["symbol"] in symbols)
        pct = gross / nav
        status = "CAPPED" if pct >= cap else "NEAR" if pct >= 0.8 * cap else "OK"
        out[name] = {"symbols": symbols, "gross_usd": round(gross, 4), "gross_nav_pct": round(pct, 6),
                     "max_group_nav_pct": cap, "status": status}
    return out


def _intel(now_ms: int, n: int) -> dict:
    majors = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "DOGEUSDT", "LINKUSDT", "LTCUSDT", "SUIUSDT"]
    symbols = majors[:n] + [f"ALT{i:03d}USDT" for i in range(max(0, n - len(majors)))]
    regimes = ("low", "normal", "high", "crisis")
    tiers = ("CORE", "SATELLITE", "TACTICAL", "ALT-EXT")
    out = {}
    for i, sym in enumerate(symbols):
        trend = round(((i * 37) % 200 - 100) / 100, 3)
        carry = round(((i * 53) % 120 - 60) / 100, 3)
        hybrid = round(max(-1.0, min(1.0, 0.4 * trend + 0.25 * carry + 0.05)), 4)
        ratio = 0.7 + (i % 9) * 0.1
        out[sym] = {"trend_score": trend, "carry_score": carry, "expectancy_score": 0.1, "router_score": 0.2,
                    "hybrid_score": hybrid, "hybrid_score_plain": round(hybrid * 0.9, 4),
                    "tier": tiers[i % 4] if i >= 3 else "CORE", "vol_regime": regimes[(i * 3) % 4 if i else 1],
                    "vol": {"short": round(0.01 * ratio, 5), "long": 0.01, "ratio": round(ratio, 3)},
                    "funding_rate": 0.0001, "basis": 0.0002, "last_close": 100.0 + i, "bar_close_ms": now_ms}
    return out


def write_all(state_root: Path, log_dir: Path, now_ms: int, *, nav: float = 10012.5, peak: float = 10100.0,
              circuit: bool = False, l1_cap: float = 0.35, stale: bool = False, nav_points: int = 48,
              intel_symbols: int = 8, stale_reason: str = "") -> None:
    positions = _positions(now_ms)
    upnl = round(sum(p["unrealized_pnl_usd"] for p in positions), 4)
    dd = round((peak - nav) / peak, 6)
    nav_24h = nav - 62.5
    nav_doc = {"nav_usd": nav, "wallet_balance_usd": round(nav - upnl, 4), "unrealized_pnl_usd": upnl,
               "available_balance_usd": round(nav * 0.9, 2), "peak_nav_usd": peak, "latest_nav_usd": nav,
               "current_dd_pct": dd, "nav_24h_ago_usd": nav_24h, "nav_24h_delta_usd": round(nav - nav_24h, 4),
               "nav_24h_delta_pct": round((nav - nav_24h) / nav_24h, 6), "day_start_nav_usd": 10000.0,
               "daily_pnl_usd": round(nav - 10000.0, 4), "daily_pnl_pct": round((nav - 10000.0) / 10000.0, 6),
               "reserve_btc": 0.013, "reserve_btc_mark": 65000.0, "reserve_usd": 845.0,
               "as_of_ms": now_ms, "stale": stale, "stale_reason": stale_reason}
    kw = {"root": state_root, "writer": WRITER, "fsync": False}
    write_snapshot("nav", nav_doc, **kw)
    write_snapshot("peak_state", {"peak_nav_usd": peak, "peak_at_ms": now_ms - 30 * HOUR_MS, "reset_at": None,
                                  "reset_by": None}, **kw)
    write_snapshot("positions", {"as_of_ms": now_ms, "stale": stale, "positions": positions}, **kw)
    gross = round(sum(p["notional_usd"] for p in positions), 4)
    tripped_at = now_ms - HOUR_MS if circuit else None
    write_snapshot("risk", {"as_of_ms": now_ms, "stale": stale, "risk": {
        "portfolio_dd_pct": dd, "peak_nav_usd": peak, "latest_nav_usd": nav,
        "circuit_breaker": {"active": circuit, "max_portfolio_dd_nav_pct": 0.10, "tripped_at_ms": tripped_at},
        "daily_loss_pct": max(0.0, round((10000.0 - nav) / 10000.0, 6)), "gross_exposure_usd": gross,
        "gross_exposure_nav_pct": round(gross / nav, 6),
        "correlation_groups": _groups(nav, positions, l1_cap)}}, **kw)
    write_snapshot("synced_state", {"as_of_ms": now_ms, "env": "dev", "dry_run": True, "nav": nav_doc,
                                    "positions": positions,
                                    "balances": [{"asset": "USDT", "wallet_balance": nav_doc["wallet_balance_usd"],
                                                  "unrealized_pnl": upnl, "available_balance": nav * 0.9}],
                                    "exchange_ok": True, "error": ""}, **kw)
    trades = []
    for i, (sym, pnl) in enumerate([("LINKUSDT", 0.0), ("DOGEUSDT", 1.05), ("BTCUSDT", 0.22),
                                    ("ETHUSDT", -0.58), ("SOLUSDT", 3.12), ("SOLUSDT", -1.4)]):
        trades.append({"time_ms": now_ms - (6 - i) * 600_000, "symbol": sym, "side": "SELL",
                       "position_side": "LONG", "qty": 1.0, "price": 100.0 + i, "realized_pnl_usd": pnl,
                       "commission_usd": 0.04, "order_id": 1000 + i, "client_order_id": f"hx-fixture-{i}",
                       "maker": i % 2 == 0})
    write_snapshot("trade_log", {"trades": trades}, **kw)
    write_snapshot("intel", {"as_of_ms": now_ms, "intel": _intel(now_ms, intel_symbols)}, **kw)
    write_snapshot("router", {"as_of_ms": now_ms, "twap_trades_count": 3, "single_trades_count": 17,
                              "twap_avg_slippage_bps": 1.8, "single_avg_slippage_bps": 2.6, "maker_ratio": 0.64,
                              "fill_rate": 0.97, "orders_sent": 32, "orders_filled": 31, "dry_run": True}, **kw)
    write_snapshot("signals", {"as_of_ms": now_ms, "signals": [
        {"time_ms": now_ms - 900_000 * (3 - i), "symbol": s, "signal": sig, "position_side": ps, "intent": it,
         "hybrid_score": h, "gross_usd": g, "qty": q, "veto": v, "source": "hybrid"}
        for i, (s, sig, ps, it, h, g, q, v) in enumerate([
            ("SOLUSDT", "BUY", "LONG", "OPEN", 0.42, 100.0, 1.0, []),
            ("ETHUSDT", "SELL", "SHORT", "OPEN", -0.37, 126.0, 0.042, []),
            ("BTCUSDT", "BUY", "LONG", "OPEN", 0.51, 650.0, 0.01, ["correlation_cap"]),
        ])]}, **kw)
    tail = [f"[screener] SYM{i:02d}USDT 15m z=+{i * 0.3:.2f} rsi=5{i % 10}.0 atr=0.011 cross_up={i % 2 == 0} "
            f"cross_down=False in_trade=False side=-" for i in range(12)]
    write_snapshot("screener", {"as_of_ms": now_ms, "attempted": 15, "emitted": 1, "tail": tail}, **kw)
    write_snapshot("health", {"timestamp": iso(now_ms), "ok": True, "profile": "dev", "symbols": ["BTCUSDT"],
                              "last_decisions": {"BTCUSDT": "hold"}, "message": "", "error": "", "dry_run": True,
                              "kill_switch": {"active": False, "reason": "", "since": None}, "reduce_only": False,
                              "account_state": "NORMAL", "cycle": 12, "last_cycle_ms": now_ms}, **kw)
    nav_log = state_root / "nav_log.jsonl"
    start = now_ms - (nav_points - 1) * HOUR_MS
    lines = []
    for i in range(nav_points):
        t = start + i * HOUR_MS
        v = nav if i == nav_points - 1 else round(nav_24h + 40 * ((i % 24) / 24) + (i % 7), 2)
        lines.append(json.dumps({"ts": iso(t), "t_ms": t, "nav_usd": v}))
    if nav_points > 1000:  # the benchmark's year of points: one write, not 8760 appends
        atomic_write_bytes(nav_log, ("\n".join(lines) + "\n").encode(), fsync=False)
    else:
        for line in lines:
            append_event(nav_log, json.loads(line))
    for i in range(4):
        append_event(log_dir / "execution" / "twap_events.jsonl", {
            "execution_style": "twap", "slice_index": i, "slice_count": 4, "slice_qty": 0.25,
            "parent_gross_usd": 650.0, "symbol": "BTCUSDT", "side": "BUY", "position_side": "LONG",
            "intent_id": "fixture-1", "client_order_id": f"hx-twap-{i}", "dry_run": True,
            "config": {"min_notional_usd": 500.0, "slices": 4, "interval_seconds": 10}})


def age_files(state_root: Path, seconds: float) -> None:
    """Make every snapshot look written `seconds` ago (written_at and mtime), as a dead writer leaves them."""
    then = time.time() - seconds
    for path in state_root.glob("*.json"):
        doc = json.loads(path.read_text())
        doc["written_at"] = iso(int(then * 1000))
        path.write_text(json.dumps(doc))
        os.utime(path, (then, then))


def build(root: str | os.PathLike[str], scenario: str, now_ms: int | None = None) -> tuple[Path, Path]:
    """Write one scenario under root; returns (state_root, log_dir)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; one of {', '.join(SCENARIOS)}")
    state_root, log_dir = paths(Path(root))
    state_root.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if scenario == "empty":
        return state_root, log_dir
    if scenario == "normal":
        write_all(state_root, log_dir, now_ms)
    elif scenario == "circuit_tripped":
        write_all(state_root, log_dir, now_ms, nav=8900.0, peak=10100.0, circuit=True)
    elif scenario == "group_capped":
        write_all(state_root, log_dir, now_ms, l1_cap=0.02)
    elif scenario == "stale":
        old = now_ms - 2 * HOUR_MS
        write_all(state_root, log_dir, old, stale=True, stale_reason="exchange unreachable since 2 h")
        age_files(state_root, 2 * 3600)
    elif scenario == "corrupt":
        write_all(state_root, log_dir, now_ms)
        # a torn file (what a non-atomic writer leaves), garbage, a wrong shape, a too-new schema, a partial record
        (state_root / "nav.json").write_text('{"schema_version": 1, "nav_usd": 100')
        (state_root / "risk.json").write_bytes(b"\x00\xff not json")
        (state_root / "intel.json").write_text(json.dumps({"schema_version": 1, "intel": ["not", "a", "map"]}))
        (state_root / "router.json").write_text(json.dumps({"schema_version": 99, "maker_ratio": 1}))
        (state_root / "positions.json").write_text(json.dumps(
            {"schema_version": 1, "positions": [{"symbol": "SOLUSDT"}, "junk", {"position_side": "LONG"}]}))
        (state_root / "signals.json").write_text("[]")
        with open(state_root / "nav_log.jsonl", "a") as fh:
            fh.write('{"t_ms": "soon", "nav_usd": "lots"}\nnot json at all\n{"t_ms": 1, "nav_')
    return state_root, log_dir


def build_big(root: str | os.PathLike[str], hours: int = 24 * 365, symbols: int = 300,
              now_ms: int | None = None) -> tuple[Path, Path]:
    """A year of hourly NAV points and `symbols` symbols of intel (the benchmark's page)."""
    state_root, log_dir = paths(Path(root))
    state_root.mkdir(parents=True, exist_ok=True)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    write_all(state_root, log_dir, now_ms, nav_points=hours, intel_symbols=symbols)
    return state_root, log_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write fixture state files")
    parser.add_argument("scenario", choices=SCENARIOS + ("big",))
    parser.add_argument("--root", default=".", help="writes ROOT/logs/state and ROOT/logs/execution")
    args = parser.parse_args(argv)
    if args.scenario == "big":
        state_root, _ = build_big(args.root)
    else:
        state_root, _ = build(args.root, args.scenario)
    print(f"[fixtures] {args.scenario} state written to {state_root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
