"""`reports/futures/live/trading.db` (SQLite): fills, NAV, funding, events and per-bar decisions of the live or
paper account, for the reports, the risk guard and the consistency check (docs/Production_Launch_SOP.md).

Tables (every row carries `source`: live | paper | backtest):
    fills      time_ms, symbol, side, position_side, qty, price, commission_usd, realized_pnl_usd, order_id,
               client_order_id, maker, expected_price (the decision's price, for realized slippage), sleeve
    nav        t_ms, nav_usd
    funding    t_ms, symbol, paid_usd (positive = paid, negative = received)
    events     t_ms, kind (FLATTEN_ALL, API_ISSUE, RISK_DECISION, ...), detail (JSON)
    decisions  bar_time_ms, symbol, target (the held target decided at that bar's close)
Every insert is idempotent (a unique key per row), so re-importing the state files adds nothing twice.
`sync_from_state` imports `trade_log.json` and `nav_log.jsonl` written by hedge-sync_state (docs/STATE_FILES.md).
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEFAULT_DB", "TradingDB", "sync_from_state"]

DEFAULT_DB = Path("reports/futures/live/trading.db")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (
    source TEXT NOT NULL, time_ms INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
    position_side TEXT NOT NULL DEFAULT '', qty REAL NOT NULL, price REAL NOT NULL,
    commission_usd REAL NOT NULL DEFAULT 0, realized_pnl_usd REAL NOT NULL DEFAULT 0,
    order_id TEXT NOT NULL DEFAULT '', client_order_id TEXT NOT NULL DEFAULT '', maker INTEGER NOT NULL DEFAULT 0,
    expected_price REAL, sleeve TEXT NOT NULL DEFAULT '',
    UNIQUE (source, order_id, time_ms, symbol, side, qty, price));
CREATE TABLE IF NOT EXISTS nav (source TEXT NOT NULL, t_ms INTEGER NOT NULL, nav_usd REAL NOT NULL,
    PRIMARY KEY (source, t_ms));
CREATE TABLE IF NOT EXISTS funding (source TEXT NOT NULL, t_ms INTEGER NOT NULL, symbol TEXT NOT NULL,
    paid_usd REAL NOT NULL, PRIMARY KEY (source, t_ms, symbol));
CREATE TABLE IF NOT EXISTS events (source TEXT NOT NULL, t_ms INTEGER NOT NULL, kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}', UNIQUE (source, t_ms, kind, detail));
CREATE TABLE IF NOT EXISTS decisions (source TEXT NOT NULL, bar_time_ms INTEGER NOT NULL, symbol TEXT NOT NULL,
    target REAL NOT NULL, PRIMARY KEY (source, bar_time_ms, symbol));
"""

_FILL_COLS = ("time_ms", "symbol", "side", "position_side", "qty", "price", "commission_usd", "realized_pnl_usd",
              "order_id", "client_order_id", "maker", "expected_price", "sleeve")


class TradingDB:
    """A connection to trading.db (created with its tables on first use; WAL so readers never block)."""

    def __init__(self, path: str | Path = DEFAULT_DB):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=10.0)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> TradingDB:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ writes (idempotent)
    def add_fills(self, rows: Iterable[Mapping[str, Any]], source: str = "live") -> int:
        vals = [(source, *(_fill_value(r, c) for c in _FILL_COLS)) for r in rows]
        with self.conn:
            cur = self.conn.executemany(
                f"INSERT OR IGNORE INTO fills (source, {', '.join(_FILL_COLS)}) "
                f"VALUES ({', '.join('?' * (len(_FILL_COLS) + 1))})",
                vals)
        return cur.rowcount

    def add_nav(self, points: Iterable[tuple[int, float]], source: str = "live") -> int:
        with self.conn:
            cur = self.conn.executemany("INSERT OR IGNORE INTO nav VALUES (?, ?, ?)",
                                        [(source, int(t), float(v)) for t, v in points])
        return cur.rowcount

    def add_funding(self, rows: Iterable[tuple[int, str, float]], source: str = "live") -> int:
        with self.conn:
            cur = self.conn.executemany("INSERT OR IGNORE INTO funding VALUES (?, ?, ?, ?)",
                                        [(source, int(t), s, float(p)) for t, s, p in rows])
        return cur.rowcount

    def add_event(self, t_ms: int, kind: str, detail: Mapping[str, Any] | None = None, source: str = "live") -> None:
        with self.conn:
            self.conn.execute("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
                              (source, int(t_ms), kind, json.dumps(dict(detail or {}), sort_keys=True)))

    def add_decisions(self, rows: Iterable[tuple[int, str, float]], source: str = "live") -> int:
        with self.conn:
            cur = self.conn.executemany("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?)",
                                        [(source, int(t), s, float(x)) for t, s, x in rows])
        return cur.rowcount

    # ------------------------------------------------------------------ reads
    def nav(self, source: str = "live") -> tuple[np.ndarray, np.ndarray]:
        rows = self.conn.execute("SELECT t_ms, nav_usd FROM nav WHERE source=? ORDER BY t_ms", (source,)).fetchall()
        return (np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=np.float64))

    def fills(self, source: str = "live", since_ms: int = 0) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            f"SELECT {', '.join(_FILL_COLS)} FROM fills WHERE source=? AND time_ms>=? ORDER BY time_ms",
            (source, since_ms))
        return [dict(zip(_FILL_COLS, r)) for r in cur.fetchall()]

    def funding_paid(self, source: str = "live", since_ms: int = 0) -> dict[str, float]:
        cur = self.conn.execute("SELECT symbol, SUM(paid_usd) FROM funding WHERE source=? AND t_ms>=? GROUP BY symbol",
                                (source, since_ms))
        return {s: float(v) for s, v in cur.fetchall()}

    def events(self, kind: str | None = None, source: str = "live", since_ms: int = 0) -> list[dict[str, Any]]:
        q = "SELECT t_ms, kind, detail FROM events WHERE source=? AND t_ms>=?" + (" AND kind=?" if kind else "")
        args: tuple[Any, ...] = (source, since_ms) + ((kind,) if kind else ())
        return [{"t_ms": t, "kind": k, "detail": json.loads(d)}
                for t, k, d in self.conn.execute(q + " ORDER BY t_ms", args)]

    def decisions(self, source: str = "live") -> dict[tuple[int, str], float]:
        cur = self.conn.execute("SELECT bar_time_ms, symbol, target FROM decisions WHERE source=?", (source,))
        return {(int(t), s): float(x) for t, s, x in cur.fetchall()}


def _fill_value(r: Mapping[str, Any], col: str) -> Any:
    v = r.get(col)
    if col == "maker":
        return int(bool(v))
    if col in ("order_id", "client_order_id", "sleeve", "position_side"):
        return "" if v is None else str(v)
    if col == "commission_usd" and v is None:
        return 0.0
    if col == "realized_pnl_usd" and v is None:
        return 0.0
    return v


def sync_from_state(db: TradingDB, state_root: str | Path, source: str = "live") -> dict[str, int]:
    """Import hedge-sync_state's `trade_log.json` (fills) and `nav_log.jsonl` (NAV points); a missing or
    unreadable file imports nothing (the last good rows stay)."""
    root = Path(state_root)
    added = {"fills": 0, "nav": 0}
    try:
        doc = json.loads((root / "trade_log.json").read_text())
        trades = doc.get("trades", []) if isinstance(doc, dict) else []
        added["fills"] = db.add_fills([t for t in trades if isinstance(t, dict) and "time_ms" in t], source)
    except (OSError, ValueError):
        pass
    try:
        from execution.state_store import read_events

        events, _ = read_events(root / "nav_log.jsonl")
        added["nav"] = db.add_nav([(e["t_ms"], e["nav_usd"]) for e in events
                                   if isinstance(e.get("t_ms"), int) and isinstance(e.get("nav_usd"), (int, float))],
                                  source)
    except (OSError, ValueError):
        pass
    return added
