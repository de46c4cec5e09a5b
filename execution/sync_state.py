#!/usr/bin/env python3
"""hedge-sync_state: the truth about the account — NAV, peak, drawdown, positions, exposure — for every
other process (docs/STATE_FILES.md, docs/v7.4_Risk_and_Methodology.md).

    .venv/bin/python -m execution.sync_state [--once] [--env-file PATH] [--config-dir DIR]
    .venv/bin/python execution/sync_state.py            # one sync and exit (as --once), then jq logs/state/risk.json

Every `loop.sync_state_interval_seconds` (config/runtime.yaml) it reads balances, positions, marks and
new userTrades, and publishes nav.json, positions.json, risk.json, synced_state.json, trade_log.json,
peak_state.json and nav_log.jsonl under STATE_ROOT (optionally mirrored to Firestore).
When a read fails or answers garbage (exchange down or slow, a partial answer, a NaN), nothing is
overwritten with garbage: the last good values stay published, marked `stale` with the reason.
Exit codes: 0 done (--once: published fresh figures); 1 preflight refused the environment;
2 bad config; 3 (--once) the exchange could not be read — the last good values were marked stale.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # runbook 000 runs it as a plain script from the repo root
    sys.path.insert(0, str(REPO_ROOT))

from core.account import (  # noqa: E402 - after the sys.path insert above
    AccountReading,
    BadReading,
    PeakState,
    advance_peak,
    last_trade_ids,
    legs_payload,
    merge_trades,
    nav_figures,
    nav_log_keep,
    needs_confirmation,
    track_circuit,
)
from core.portfolio import PortfolioSnapshot  # noqa: E402 - after the sys.path insert above
from core.risk.state import to_risk_state  # noqa: E402 - after the sys.path insert above
from execution import state_store as ss  # noqa: E402 - after the sys.path insert above
from execution.account_reader import read_account, read_new_trades  # noqa: E402 - after the sys.path insert above
from execution.exchange import RetryPolicy  # noqa: E402 - after the sys.path insert above
from execution.nav_store import (  # noqa: E402 - after the sys.path insert above
    NavLog,
    load_peak,
    peak_lock,
    recover_peak_state,
    save_peak,
)

log = logging.getLogger("hedge.sync_state")
WRITER = "sync_state"
TRADE_LOG_KEEP = 1000
SNAPSHOTS = ("nav", "positions", "risk", "synced_state")
# Market time behind the NAV log this many cycles in a row = a new timeline (a replay venue restarted);
# a single backwards reading is bad data and is only marked stale.
TIMELINE_RESET_AFTER = 3
# One retry inside a cycle at most, and no long Retry-After waits: the next cycle is the real retry, and
# the loop must keep its pace (a slow exchange shows as stale figures, not as a stuck process).
RETRY_POLICY = RetryPolicy(max_attempts=2, base_delay_s=0.25, max_delay_s=1.0, max_retry_after_s=5.0)


@dataclass
class Published:
    """The last good figures, re-published with `stale` when a cycle cannot produce new ones."""
    nav: dict | None = None
    positions: dict | None = None
    risk: dict | None = None
    synced_state: dict | None = None


class SyncState:
    """One sync cycle = read → check → compute → publish. The loop around it lives in `run()`."""

    def __init__(self, env: Any, cfg: Any, adapter: Any, root: Path, *, mirror: Any = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)):
        self.env, self.cfg, self.adapter, self.root = env, cfg, adapter, Path(root)
        self.mirror = mirror
        self._monotonic, self._wall_ms = monotonic, wall_ms
        self.interval_s = float(cfg.runtime.loop.sync_state_interval_seconds)
        self.nav_log = NavLog(self.root, nav_log_keep(self.interval_s, cfg.risk.nav_history_len))
        self.last = Published()
        self.stale_reason = ""
        self.cycles = 0
        self.fresh_cycles = 0
        self._time_synced = False
        self._backwards = 0
        self._pending_nav: Decimal | None = None  # a NAV jump held until a second read confirms it
        self._trades: list[dict] = []
        self._cursors: dict[str, int] = {}

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Load what the last run left: NAV series, last good snapshots, trade log, high-water mark."""
        self.root.mkdir(parents=True, exist_ok=True)
        ss.sweep_temp_files(self.root)
        history = self.nav_log.load()
        for name in SNAPSHOTS:
            doc = ss.read_snapshot(name, root=self.root)
            if doc is not None:
                setattr(self.last, name, {k: v for k, v in doc.items() if k not in ss.META_KEYS})
            elif ss.snapshot_path(name, self.root).exists():
                log.warning("[sync_state] %s.json is unusable on start: it will be replaced by the first good sync",
                            name)
        trades_doc = ss.read_snapshot("trade_log", root=self.root) or {}
        if isinstance(trades_doc.get("trades"), list):
            self._trades = [t for t in trades_doc["trades"] if isinstance(t, dict)
                            and all(isinstance(t.get(k), int) and not isinstance(t.get(k), bool)
                                    for k in ("trade_id", "time_ms")) and isinstance(t.get("symbol"), str)]
        cursors = trades_doc.get("cursors")
        saved = {k: v for k, v in cursors.items() if isinstance(v, int)} if isinstance(cursors, dict) else {}
        self._cursors = {**last_trade_ids(self._trades), **saved}
        with peak_lock(self.root):
            state, problem = load_peak(self.root)
            if problem:
                published = [(self.last.nav or {}).get("peak_nav_usd"),
                             ((self.last.risk or {}).get("risk") or {}).get("peak_nav_usd")]
                recover_peak_state(self.root, history, self._wall_ms(), WRITER, published)
        log.info("[sync_state] START root=%s interval=%.1fs nav_points=%d keep=%d trades=%d",
                 self.root, self.interval_s, len(history), self.nav_log.keep, len(self._trades))

    # ------------------------------------------------------------------ one cycle
    def cycle(self) -> bool:
        """Run one sync; True when fresh figures were published, False when the last good ones were kept."""
        self.cycles += 1
        started = self._monotonic()
        deadline = started + max(1.0, self.interval_s * 0.8)
        try:
            if not self._time_synced:
                # the weight budget takes the exchange's own limits (exchangeInfo.rateLimits, docs/EXCHANGE.md):
                # the executor's spend on the same IP shows in the shared counter, measured against them. Read
                # them FIRST: once any answer has shown that counter, a budget still judging it against the
                # assumed default limit may refuse every call, this one included (found after a restart).
                self.adapter.exchange_info(refresh=True)
                self.adapter.sync_time()
                self._time_synced = True
            reading, balances = read_account(self.adapter, deadline=deadline, monotonic=self._monotonic)
        except BadReading as exc:
            what = "exchange too slow" if exc.code == "slow_exchange" else "bad exchange data"
            self._mark_stale(f"{what}: {exc.reason}")
            return False
        except Exception as exc:  # noqa: BLE001 - any failure of the read keeps the last good values
            self._mark_stale(f"exchange unavailable: {type(exc).__name__}: {str(exc)[:200]}")
            return False
        points = self.nav_log.points
        if points and reading.as_of_ms < points[-1].ts_ms:
            self._backwards += 1
            if self._backwards < TIMELINE_RESET_AFTER:
                self._mark_stale(f"bad exchange data: market time {reading.as_of_ms} is before the last NAV "
                                 f"point {points[-1].ts_ms}")
                return False
            archived = self.nav_log.start_new_timeline(self._wall_ms())
            log.warning("[sync_state] NAV_LOG_RESET market time stayed behind the NAV log for %d cycles (a replay "
                        "venue restarted?): old series kept at %s, the peak is kept", self._backwards, archived)
        self._backwards = 0
        last_nav = self.nav_log.points[-1].nav_usd if self.nav_log.points else None
        if needs_confirmation(last_nav, reading.nav_usd, self._pending_nav):
            self._pending_nav = reading.nav_usd
            self._mark_stale(f"unconfirmed NAV jump: {float(last_nav or 0):.2f} -> {float(reading.nav_usd):.2f} USDT "
                             "held until the next read confirms it")
            return False
        self._pending_nav = None
        try:
            self._publish(reading, balances)
        except BadReading as exc:
            self._mark_stale(f"bad exchange data: {exc.reason}")
            return False
        try:
            self._sync_trades(reading, deadline)
        except Exception as exc:  # noqa: BLE001 - the trade log is secondary: NAV stays published
            log.warning("[sync_state] trade log not updated this cycle: %s: %s", type(exc).__name__, exc)
        self.fresh_cycles += 1
        return True

    def _publish(self, reading: AccountReading, balances: list[dict]) -> None:
        nav = reading.nav_usd
        self.nav_log.append(reading.as_of_ms, nav)  # BadReading if market time went backwards
        history = list(self.nav_log.points)
        limits, groups = self.cfg.risk, self.cfg.correlation
        with peak_lock(self.root):
            state, problem = load_peak(self.root)
            if problem:  # damaged while we run: rebuild, never lower
                state = recover_peak_state(self.root, history, self._wall_ms(), WRITER,
                                           [(self.last.nav or {}).get("peak_nav_usd")])
            state = advance_peak(state or PeakState(), nav, reading.as_of_ms)
            snap = PortfolioSnapshot(now_ms=reading.as_of_ms, nav_history=tuple(history),
                                     positions=tuple(leg.as_position_leg() for leg in reading.legs),
                                     hwm_nav_usd=state.peak_nav_usd)
            risk = to_risk_state(snap, limits, groups)
            active = bool(risk["circuit_breaker"]["active"])
            was = state.circuit_tripped_at_ms
            state = track_circuit(state, active, reading.as_of_ms)
            save_peak(self.root, state, WRITER)
        if active and was is None:
            log.warning("[sync_state] CIRCUIT_TRIPPED dd=%.4f >= max_portfolio_dd_nav_pct=%.4f peak=%.2f nav=%.2f",
                        risk["portfolio_dd_pct"], limits.circuit_breakers.max_portfolio_dd_nav_pct,
                        float(state.peak_nav_usd or 0), float(nav))
        elif not active and was is not None:
            log.warning("[sync_state] CIRCUIT_CLEARED dd=%s peak=%.2f nav=%.2f", risk["portfolio_dd_pct"],
                        float(state.peak_nav_usd or 0), float(nav))
        risk["circuit_breaker"]["tripped_at_ms"] = state.circuit_tripped_at_ms
        risk["daily_loss_pct"] = risk["daily_loss"]["daily_loss_pct"]
        fresh = {"stale": False, "stale_reason": "", "last_ok_wall_ms": self._wall_ms()}
        nav_doc = {**nav_figures(reading, state, history, self.env.RESERVE_BTC), **fresh}
        legs = legs_payload(reading.legs)
        positions_doc = {"as_of_ms": reading.as_of_ms, **fresh, "positions": legs}
        risk_doc = {"as_of_ms": reading.as_of_ms, **fresh, "risk": risk}
        synced = {"as_of_ms": reading.as_of_ms, "env": self.env.ENV, "dry_run": bool(self.env.DRY_RUN),
                  "nav": nav_doc, "positions": legs, "balances": balances, "exchange_ok": True, "error": "",
                  "firestore": self.mirror.status() if self.mirror is not None else {"enabled": False},
                  **fresh}
        for name, doc in (("nav", nav_doc), ("positions", positions_doc), ("risk", risk_doc), ("synced_state", synced)):
            ss.write_snapshot(name, doc, root=self.root, writer=WRITER)
            setattr(self.last, name, doc)
            self._mirror(name, doc)
        self._mirror("peak_state", state.to_dict())
        if self.mirror is not None:
            self.mirror.append_nav({"t_ms": reading.as_of_ms, "nav_usd": float(nav)})
        if self.stale_reason:
            log.info("[sync_state] RECOVERED after: %s", self.stale_reason)
        self.stale_reason = ""
        log.info("[sync_state] nav=%.2f wallet=%.2f upnl=%.2f peak=%.2f dd=%s legs=%d circuit=%s as_of_ms=%d",
                 float(nav), float(reading.wallet_balance_usd), float(reading.unrealized_pnl_usd),
                 nav_doc["peak_nav_usd"], risk["portfolio_dd_pct"], len(legs), active, reading.as_of_ms)

    def _sync_trades(self, reading: AccountReading, deadline: float) -> None:
        symbols = list(dict.fromkeys([*self.cfg.pairs.symbols, *(leg.symbol for leg in reading.legs),
                                      *self._cursors]))
        rows, cursors, skipped = read_new_trades(self.adapter, symbols, self._cursors, deadline=deadline,
                                                 monotonic=self._monotonic)
        if skipped:
            log.info("[sync_state] trades not read this cycle for %d symbol(s) (next cycle): %s", len(skipped),
                     ",".join(skipped[:10]))
        if not rows and cursors == self._cursors and ss.snapshot_path("trade_log", self.root).exists():
            return
        self._trades = merge_trades(self._trades, rows, TRADE_LOG_KEEP)
        self._cursors = cursors
        doc = {"as_of_ms": reading.as_of_ms, "trades": self._trades, "cursors": cursors}
        ss.write_snapshot("trade_log", doc, root=self.root, writer=WRITER)
        self._mirror("trade_log", {"as_of_ms": reading.as_of_ms, "trades": self._trades[-200:]})
        if rows:
            log.info("[sync_state] trades +%d (log %d)", len(rows), len(self._trades))

    def _mark_stale(self, reason: str) -> None:
        """Re-publish the last good figures with stale=true — once per incident, so their written_at ages."""
        if reason == self.stale_reason:
            return
        first = not self.stale_reason
        self.stale_reason = reason
        log.warning("[sync_state] STALE %s: keeping the last good values%s", reason,
                    "" if first else " (reason changed)")
        for name in SNAPSHOTS:
            doc = getattr(self.last, name)
            if doc is None:
                continue  # nothing good to keep: leave the file as it is (never publish garbage)
            doc = {**doc, "stale": True, "stale_reason": reason}
            if name == "synced_state":
                doc.update(exchange_ok=False, error=reason)
            if name == "risk" and isinstance(doc.get("risk"), dict):  # the kept figures are not fresh any more
                doc["risk"] = {**doc["risk"], "nav_fresh": False}
            ss.write_snapshot(name, doc, root=self.root, writer=WRITER)
            setattr(self.last, name, doc)
            self._mirror(name, doc)

    def _mirror(self, name: str, doc: dict) -> None:
        if self.mirror is not None:
            self.mirror.publish(name, doc)

    # ------------------------------------------------------------------ the loop
    def run(self, stop: threading.Event, once: bool = False) -> int:
        self.start()
        while True:
            began = self._monotonic()
            try:
                ok = self.cycle()
            except Exception:  # noqa: BLE001 - e.g. a full disk: say so loudly, keep the process alive
                log.exception("[sync_state] cycle %d failed; retrying next interval", self.cycles)
                ok = False
            if once:
                return 0 if ok else 3
            if stop.wait(max(0.0, self.interval_s - (self._monotonic() - began))):
                log.info("[sync_state] STOP after %d cycles (%d fresh)", self.cycles, self.fresh_cycles)
                return 0


# ---------------------------------------------------------------------- process wiring

def _resolve(path: Path) -> Path:
    return path if path.is_absolute() else REPO_ROOT / path


def preflight_gate(env_file: Path | None) -> tuple[Any, list[str]]:
    """(settings, problems): the one safety gate (settings.safety_gate), as every process asks it.

    An empty list means the environment may start.
    """
    from settings.safety_gate import check_environment

    verdict = check_environment(env_file)
    return verdict.settings, list(verdict.problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", action="store_true", help="publish once and exit")
    parser.add_argument("--env-file", default=".env", help="env file (default .env in the repo root)")
    parser.add_argument("--config-dir", help="config directory (default CONFIG_DIR from the environment)")
    args = parser.parse_args(argv)

    env_file = _resolve(Path(args.env_file))
    settings, problems = preflight_gate(env_file)
    if problems or settings is None:
        for p in problems:
            print(f"[sync_state] preflight refused: {p}", file=sys.stderr)
        return 1
    from execution.log_setup import setup_logging
    from settings.errors import ConfigError
    from settings.loader import load_config

    setup_logging("sync_state", _resolve(Path(settings.LOG_DIR)), settings=settings)
    try:
        cfg = load_config(_resolve(Path(args.config_dir or settings.CONFIG_DIR)))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        log.error("[sync_state] bad config: %s", str(exc).splitlines()[0])
        return 2
    from execution.exchange_utils import build_adapter

    adapter = build_adapter(settings, timeout=float(cfg.runtime.exchange.request_timeout_seconds), policy=RETRY_POLICY)
    from execution.firestore_mirror import mirror_from_settings

    mirror = mirror_from_settings(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sync = SyncState(settings, cfg, adapter, _resolve(Path(settings.STATE_ROOT)), mirror=mirror)
    try:
        return sync.run(stop, once=args.once)
    finally:
        if mirror is not None:
            mirror.close(timeout=2.0)
        with_session = getattr(adapter.client, "session", None)
        if with_session is not None:
            with_session.close()


if __name__ == "__main__":
    # `python execution/sync_state.py` (a file path, no module spec) is the runbook's one-shot check: one sync,
    # then the jq queries (docs/Runbook.md); the service runs `-m execution.sync_state` and loops.
    sys.exit(main(None if __spec__ is not None else ["--once", *sys.argv[1:]]))
