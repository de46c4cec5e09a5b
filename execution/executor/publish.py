"""The executor's state files (docs/STATE_FILES.md "Written by hedge-executor"): intel, router, signals,
screener, health. Snapshots are atomic (`write_snapshot`); readers keep their last good value."""
from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from core.alpha import hybrid_score
from execution.state_store import utc_now_iso, write_snapshot

log = logging.getLogger("hedge.executor")
WRITER = "executor"
SIGNALS_KEPT = 200
SCREENER_TAIL = 50


def _f(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def plain_hybrid(h: Any) -> float:
    """docs/v7.4_Risk_and_Methodology.md's plain weighted sum (quality terms not oriented by the trend+carry sign)."""
    return hybrid_score(h.trend, h.carry, h.expectancy, h.router, h.weights, orient_quality=False)


class Publisher:
    def __init__(self, root: Path, *, dry_run: bool, profile: str):
        self.root = Path(root)
        self.dry_run = dry_run
        self.profile = profile
        self.intel: dict[str, dict[str, Any]] = {}
        self.signals: deque[dict[str, Any]] = deque(maxlen=SIGNALS_KEPT)
        self.screener_tail: deque[str] = deque(maxlen=SCREENER_TAIL)
        self.last_decisions: dict[str, str] = {}

    def _write(self, name: str, payload: dict[str, Any]) -> None:
        try:
            write_snapshot(name, payload, root=self.root, writer=WRITER)
        except Exception as e:  # noqa: BLE001 - a full disk must not stop trading decisions; say it loudly
            log.error("[executor] STATE_WRITE %s failed: %s", name, e)

    # ------------------------------------------------------------------ per cycle
    def decision(self, d: Any, *, funding_rate: float | None, basis: float | None, bar_close_ms: int) -> None:
        rec = dict(d.intel)
        rec["hybrid_score_plain"] = plain_hybrid(d.hybrid)
        rec["vol_regime"] = d.regime.vol_regime
        rec.update(funding_rate=_f(funding_rate), basis=_f(basis), last_close=_f(d.bar.close),
                   bar_close_ms=bar_close_ms, status=d.status)
        self.intel[d.symbol] = {k: (_f(v) if isinstance(v, float) else v) for k, v in rec.items()}
        self.last_decisions[d.symbol] = _decision_word(d)

    def screener_lines(self, lines: Iterable[str]) -> None:
        self.screener_tail.extend(lines)

    def signal(self, rec: dict[str, Any]) -> None:
        self.signals.append(rec)

    def flush(self, *, as_of_ms: int, attempted: int, emitted: int, router_metrics: dict[str, Any],
              health: dict[str, Any]) -> None:
        self._write("intel", {"as_of_ms": as_of_ms, "intel": self.intel})
        self._write("signals", {"as_of_ms": as_of_ms, "signals": list(self.signals)})
        self._write("screener", {"as_of_ms": as_of_ms, "attempted": attempted, "emitted": emitted,
                                 "tail": list(self.screener_tail)})
        self._write("router", {"as_of_ms": as_of_ms, **router_metrics, "dry_run": self.dry_run})
        self.health(**health)

    def health(self, *, ok: bool, symbols: list[str], message: str = "", error: str = "",
               kill_switch: dict[str, Any], reduce_only: bool, account_state: str, cycle: int,
               last_cycle_ms: int | None, **extra: Any) -> None:
        self._write("health", {
            "timestamp": utc_now_iso(), "ok": ok, "profile": self.profile, "symbols": symbols,
            "last_decisions": dict(self.last_decisions), "message": message, "error": error,
            "dry_run": self.dry_run, "kill_switch": kill_switch, "reduce_only": reduce_only,
            "account_state": account_state, "cycle": cycle, "last_cycle_ms": last_cycle_ms, **extra})


def _decision_word(d: Any) -> str:
    if d.status == "approved":
        return "buy" if d.gate == "LONG" else "sell"
    if d.status == "vetoed":
        return "vetoed"
    return "hold"
