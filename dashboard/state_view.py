"""The read side of the state files (docs/STATE_FILES.md), shared by the dashboard and the heartbeat.

Every file is read defensively: missing, torn, garbage, too-new, wrongly shaped or stale files become a
`Source` whose status says what is wrong, never an exception. Rows inside a file are cleaned one by one
(a bad row is dropped and counted), so one bad record never hides the rest.
Freshness: `as_of_ms` is market time and the readers here have no market clock, so age is judged from
`written_at` (wall clock), falling back to the file's mtime (docs/STATE_FILES.md, "Conventions").
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from execution.state_store import META_KEYS, SnapshotReader, tail_events

# Seconds after which a figure is flagged stale. Account files are refreshed every sync (seconds);
# intel/signals/screener/router once per decision cycle (a bar, up to 15 min); trades only when trading.
MAX_AGE_S: dict[str, float | None] = {
    "nav": 300, "positions": 300, "risk": 300, "synced_state": 300, "peak_state": None, "health": 300,
    "intel": 1800, "router": 1800, "signals": 1800, "screener": 1800, "trade_log": None, "kill_switch": None,
}
# The container each file must hold (docs/STATE_FILES.md); anything else is "malformed".
SHAPES: dict[str, tuple[str, type] | None] = {
    "nav": None, "positions": ("positions", list), "risk": ("risk", dict), "synced_state": None,
    "peak_state": None, "health": None, "intel": ("intel", dict), "router": None, "signals": ("signals", list),
    "screener": None, "trade_log": ("trades", list), "kill_switch": None,
}
NAV_LOG = "nav_log.jsonl"
# The page shows every problem on the panel it affects; re-logging them on every 30 s refresh is noise.
_quiet = logging.getLogger("hedge.state_view")
_quiet.setLevel(logging.ERROR)


def num(value: Any) -> float | None:
    """A finite number or None (booleans and strings are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def parse_iso_s(text: Any) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def human_age(seconds: float | None) -> str:
    if seconds is None:
        return "age unknown"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} d ago"


_PROBLEM_TEXT = {
    "missing": "not written yet (is its writer running?)",
    "corrupt": "not valid JSON or no schema_version (torn or hand-edited?)",
    "unreadable": "cannot be read (permissions?)",
    "unsupported_schema": "written by a newer Hedge: upgrade the dashboard",
}


@dataclass(frozen=True)
class Source:
    """One state file as read now: status ok | stale | missing | corrupt | unreadable | unsupported_schema |
    malformed. `data` is the payload (envelope removed) when usable (ok or stale), else None."""
    name: str
    status: str
    detail: str = ""
    age_s: float | None = None
    data: dict[str, Any] | None = None

    @property
    def usable(self) -> bool:
        return self.data is not None

    @property
    def stale(self) -> bool:
        return self.status == "stale"

    def label(self) -> str:
        file = f"{self.name}.json"
        if self.status == "ok":
            return f"{file}: {human_age(self.age_s)}"
        if self.status == "stale":
            return f"{file}: STALE — {human_age(self.age_s)}" + (f" ({self.detail})" if self.detail else "")
        return f"{file}: {self.status}" + (f" — {self.detail}" if self.detail else "")


def read_source(name: str, state_root: Path, now_s: float | None = None,
                max_age_s: float | None = None) -> Source:
    now_s = time.time() if now_s is None else now_s
    max_age_s = MAX_AGE_S.get(name) if max_age_s is None else max_age_s
    reader = SnapshotReader(name, root=state_root, logger=_quiet)
    doc = reader.read()
    if doc is None:
        kind = reader.problem or "missing"
        detail = _PROBLEM_TEXT.get(kind, kind.replace("_", " "))
        return Source(name, kind, detail)
    payload = {k: v for k, v in doc.items() if k not in META_KEYS}
    shape = SHAPES.get(name)
    if shape is not None and not isinstance(payload.get(shape[0]), shape[1]):
        return Source(name, "malformed", f"'{shape[0]}' is not a {shape[1].__name__}")
    written = parse_iso_s(doc.get("written_at"))
    if written is None:
        written = reader.last_good_mtime
    age = None if written is None else max(0.0, now_s - written)
    if payload.get("stale") is True:
        return Source(name, "stale", str(payload.get("stale_reason") or "flagged stale by its writer"), age, payload)
    if max_age_s is not None and age is not None and age > max_age_s:
        return Source(name, "stale", f"older than {max_age_s:.0f} s: is its writer running?", age, payload)
    return Source(name, "ok", "", age, payload)


@dataclass(frozen=True)
class NavSeries:
    points: list[tuple[int, float]]  # (t_ms, nav_usd), oldest first
    source: str  # "firestore" | "local" | "none"
    detail: str = ""


_series_cache: dict[tuple[str, int], tuple[tuple[int, int, int], NavSeries]] = {}


def local_nav_series(state_root: Path, limit: int = 10_000) -> NavSeries:
    """nav_log.jsonl's points; re-parsed only when the file changed (the page re-reads every 30 s)."""
    path = Path(state_root) / NAV_LOG
    try:
        st = path.stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = (0, 0, 0)
    key = (str(path), limit)
    cached = _series_cache.get(key)
    if cached is not None and cached[0] == stamp and stamp != (0, 0, 0):
        return cached[1]
    series = _parse_nav_log(path, limit)
    if len(_series_cache) > 16:
        _series_cache.clear()
    _series_cache[key] = (stamp, series)
    return series


def _parse_nav_log(path: Path, limit: int) -> NavSeries:
    events = tail_events(path, limit)
    pts = []
    for ev in events:
        t, v = ev.get("t_ms"), num(ev.get("nav_usd"))
        if isinstance(t, int) and not isinstance(t, bool) and v is not None:
            pts.append((t, v))
    pts.sort()
    if not pts:
        return NavSeries([], "none", f"{NAV_LOG} has no points yet")
    return NavSeries(pts, "local", f"{len(pts)} points from {NAV_LOG}")


@dataclass(frozen=True)
class StateView:
    state_root: Path
    log_dir: Path
    now_s: float
    sources: dict[str, Source] = field(default_factory=dict)

    def get(self, name: str) -> Source:
        return self.sources[name]

    def data(self, name: str) -> dict[str, Any]:
        return self.sources[name].data or {}


def load_view(state_root: str | os.PathLike[str], log_dir: str | os.PathLike[str],
              now_s: float | None = None) -> StateView:
    now_s = time.time() if now_s is None else now_s
    root = Path(state_root)
    return StateView(root, Path(log_dir), now_s, {n: read_source(n, root, now_s) for n in MAX_AGE_S})


# ---------------------------------------------------------------------------------------------- rows
def position_rows(view: StateView) -> tuple[list[dict[str, Any]], int]:
    """Clean position legs (positions.json, else synced_state.json) and how many bad rows were dropped."""
    raw = view.data("positions").get("positions")
    if not isinstance(raw, list):
        raw = view.data("synced_state").get("positions")
    if not isinstance(raw, list):
        return [], 0
    rows, bad = [], 0
    for p in raw:
        if not isinstance(p, dict) or not isinstance(p.get("symbol"), str) \
                or p.get("position_side") not in ("LONG", "SHORT", "BOTH") or num(p.get("qty")) is None:
            bad += 1
            continue
        rows.append({"symbol": p["symbol"], "side": p["position_side"], "qty": abs(num(p["qty"]) or 0.0),
                     "entry": num(p.get("entry_price")), "mark": num(p.get("mark_price")),
                     "notional_usd": num(p.get("notional_usd")), "upnl_usd": num(p.get("unrealized_pnl_usd")),
                     "leverage": num(p.get("leverage")), "liq_price": num(p.get("liquidation_price")),
                     "hedged": bool(p.get("hedged"))})
    return rows, bad


def _last(raw: Any, n: int, valid) -> tuple[list[dict[str, Any]], int]:
    """The last n valid records of a list, newest first, and how many were invalid."""
    if not isinstance(raw, list):
        return [], 0
    good = [r for r in raw if isinstance(r, dict) and valid(r)]
    return list(reversed(good[-n:])), len(raw) - len(good)


def trade_rows(view: StateView, n: int) -> tuple[list[dict[str, Any]], int]:
    """The last n trades by time, newest first."""
    raw = view.data("trade_log").get("trades")
    if isinstance(raw, list):
        raw = sorted(raw, key=lambda t: (t["time_ms"] if isinstance(t, dict) and isinstance(t.get("time_ms"), int)
                                         else 0))
    return _last(raw, n, lambda t: isinstance(t.get("symbol"), str) and isinstance(t.get("time_ms"), int))


def signal_rows(view: StateView, n: int) -> tuple[list[dict[str, Any]], int]:
    return _last(view.data("signals").get("signals"), n, lambda s: isinstance(s.get("symbol"), str))


def _per_key(raw: Any, build) -> tuple[list[dict[str, Any]], int]:
    """Rows from a {name: record} mapping; records that are not objects are counted, not shown."""
    if not isinstance(raw, dict):
        return [], 0
    rows = [build(name, d) for name, d in raw.items() if isinstance(d, dict)]
    return rows, len(raw) - len(rows)


def _intel_row(sym: str, d: dict[str, Any]) -> dict[str, Any]:
    vol = d.get("vol") if isinstance(d.get("vol"), dict) else {}
    regime = d.get("vol_regime") if d.get("vol_regime") in ("low", "normal", "high", "crisis") else None
    return {"symbol": sym, "tier": d.get("tier") if isinstance(d.get("tier"), str) else "",
            "trend": num(d.get("trend_score")), "carry": num(d.get("carry_score")),
            "expectancy": num(d.get("expectancy_score")), "router": num(d.get("router_score")),
            "hybrid": num(d.get("hybrid_score")), "regime": regime,
            "vol_short": num(vol.get("short")), "vol_long": num(vol.get("long")),
            "vol_ratio": num(vol.get("ratio")), "funding_rate": num(d.get("funding_rate"))}


def intel_rows(view: StateView) -> tuple[list[dict[str, Any]], int]:
    """Per-symbol scores and regime, ranked by hybrid score (unknown last)."""
    rows, bad = _per_key(view.data("intel").get("intel"), _intel_row)
    rows.sort(key=lambda r: -(r["hybrid"] if r["hybrid"] is not None else -9))
    return rows, bad


def _group_row(name: str, g: dict[str, Any]) -> dict[str, Any]:
    pct, cap = num(g.get("gross_nav_pct")), num(g.get("max_group_nav_pct"))
    status = g.get("status") if g.get("status") in ("OK", "NEAR", "CAPPED") else group_status(pct, cap)
    return {"group": name, "gross_usd": num(g.get("gross_usd")), "exposure_pct": pct, "cap_pct": cap,
            "status": status, "symbols": ", ".join(s for s in g.get("symbols") or [] if isinstance(s, str))}


def group_rows(view: StateView) -> tuple[list[dict[str, Any]], int]:
    risk = view.data("risk").get("risk")
    return _per_key(risk.get("correlation_groups") if isinstance(risk, dict) else None, _group_row)


def group_status(pct: float | None, cap: float | None) -> str:
    """The rule of docs/STATE_FILES.md (risk.json): OK below 80 % of the cap, NEAR up to it, CAPPED at it."""
    if pct is None or cap is None or cap <= 0:
        return "?"
    return "CAPPED" if pct >= cap else "NEAR" if pct >= 0.8 * cap else "OK"


def screener_tail(view: StateView, n: int = 10) -> list[str]:
    tail = view.data("screener").get("tail")
    return [str(line) for line in tail[-n:]] if isinstance(tail, list) else []
