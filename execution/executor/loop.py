"""hedge-executor's live loop: start sequence, one cycle per new closed bar, router ticks in between.

docs/Runbook.md "Executor — start and stop". Start: settings -> safety gate + client ->
`[executor] account OK` heartbeat -> symbols (delisted dropped) -> hedge mode / leverage / margin type
written only where they differ -> warm start from closed klines (`DecisionCycle.warm`) ->
`gc.collect(); gc.freeze()` -> reconciliation -> loop.
Each cycle: market time (premiumIndex `time`) -> new closed bars only -> funding / basis -> snapshot
(positions, open orders, NAV + peak from sync_state's files) -> `core.cycle.step` -> SL/TP exits ->
check_order -> router. The pure core decides; this module only moves data in and out.
"""
from __future__ import annotations

import gc
import logging
import signal
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from core import sl_tp
from core.alpha import TradeStats
from core.bars import Bar
from core.cycle import CycleConfig, DecisionCycle, SymbolInputs
from core.numbers import to_decimal
from core.orders import Intent
from core.portfolio import NavPoint, PortfolioSnapshot
from core.risk_limits import ProposedOrder, RiskContext
from core.screener import format_breadcrumb, format_cycle_summary
from core.timeframes import interval_ms
from execution.log_setup import format_breadcrumb as crumb
from execution.state_store import SnapshotReader, tail_events
from settings.profiles import ProfileName

from . import kill_switch as ks
from .bars import KLINE_POLL_LIMIT, finite, finite_kline, log_gaps, new_closed_bars
from .ensemble import EnsembleSource
from .exchange_port import ExchangePort
from .journal import Journal
from .protective import Protector
from .publish import Publisher
from .reconcile import reconcile_start, settle, sync_fills
from .router import Router, RouterSettings

log = logging.getLogger("hedge.executor")
slog = logging.getLogger("hedge.screener")
dlog = logging.getLogger("hedge.decision")

HEARTBEAT_S = 600.0  # the `[executor] account OK` line: at start, then every 10 minutes


@dataclass
class Options:
    profile: ProfileName = "dev"
    dry_run: bool = True
    interval_s: float = 60.0
    once: bool = False
    cycles: int | None = None
    symbols: list[str] | None = None
    reduce_only: bool = False
    leverage: int | None = None
    order_type: str | None = None  # market | limit | None (maker-first per config)
    tif: str | None = None
    nav_source: str = "sync_state"  # sync_state | account (dev/test only: NAV from this cycle's balance)
    resume_max_age_s: float = 900.0
    # --dev-fast (never production): the newest closed bar is left out of the warm-up and decided by cycle 1,
    # so a check against a real-time venue sees decisions at once instead of at the next bar close (up to an
    # hour later on 1h bars). A restart in the same bar makes the same intent id: journaled once, never resent.
    decide_last_bar: bool = False


@dataclass
class _History:
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    open_time_ms: np.ndarray

    @classmethod
    def of(cls, klines: list[Any]) -> _History:
        o, h, lo, c = (np.array([float(getattr(k, f)) for k in klines]) for f in ("open", "high", "low", "close"))
        return cls(o, h, lo, c, open_time_ms=np.array([k.open_time_ms for k in klines], dtype=np.int64))


class Executor:
    def __init__(self, port: ExchangePort, cfg: Any, env: Any, opts: Options):
        self.port = port
        self.cfg = cfg
        self.env = env
        self.o = opts
        self.state_root = Path(env.STATE_ROOT)
        self.log_dir = Path(env.LOG_DIR)
        self.journal = Journal(self.log_dir / "execution" / "orders.jsonl")
        self.publisher = Publisher(self.state_root, dry_run=port.dry_run, profile=opts.profile)
        self.profile = cfg.profiles.profiles[opts.profile]
        router_settings = RouterSettings.from_config(cfg.runtime.router, opts.order_type, opts.tif)
        self.router = Router(port, self.journal, router_settings,
                             twap_events=self.log_dir / "execution" / "twap_events.jsonl",
                             hard_state=self.hard_state, filters=self._filters_of)
        self.timeframe = _cycle_timeframe(cfg)
        self.bar_ms = interval_ms(self.timeframe)
        self.cycle_cfg = CycleConfig(strategy_config=cfg.strategy, limits=cfg.risk, groups=cfg.correlation,
                                     universe=cfg.pairs, profile=self.profile, timeframe=self.timeframe)
        self.nav_reader = SnapshotReader("nav", root=self.state_root)
        self.peak_reader = SnapshotReader("peak_state", root=self.state_root)
        self.symbols: list[str] = []
        self.source = cfg.runtime.executor.decision_source
        self.ensemble: EnsembleSource | None = None
        self.filters: dict[str, Any] = {}
        self.brackets: dict[str, Any] = {}  # leverage brackets; empty = unknown: new risk vetoed (docs/RISK.md)
        self.state: DecisionCycle | None = None
        self.registry = sl_tp.TpSlRegistry()
        self.protector = Protector(port)
        self.cycle_no = 0
        self.last_cycle_ms: int | None = None
        self.own_nav: list[NavPoint] = []
        self.risk_ctx: RiskContext | None = None
        self.stop = False
        self.account_state = "NORMAL"
        self.last_error = ""
        self.reload_requested = False
        self.prev_legs: dict = {}
        self._heartbeat_at = 0.0
        self.config_dir = str(getattr(cfg, "config_dir", "config"))

    # ================================================================== start
    def start(self) -> None:
        self._heartbeat(self.port.account())
        self.filters = self.port.filters()
        wanted = self.o.symbols or list(self.cfg.pairs.symbols)
        if self.source == "ensemble":  # the sleeves' symbols are always traded
            wanted = list(dict.fromkeys(wanted + [sl.symbol for sl in self.cfg.candidate.ensemble.sleeves]))
        self.symbols = [s for s in wanted if s in self.filters]
        for s in wanted:
            if s not in self.filters:
                log.warning("[executor] SYMBOL %s not in exchangeInfo (delisted or unknown): skipped", s)
        if not self.symbols:
            raise RuntimeError("no tradable symbol left (check --symbols / pairs_universe.json)")
        if not self.port.hedge_mode():
            log.warning("[executor] account is in one-way mode: switching to hedge mode (dualSidePosition=true)")
            self.port.set_hedge_mode()
        for s in self.symbols:
            lev = self.o.leverage or _target_leverage(self.cfg.pairs, s)
            try:
                capped = int(min(lev, self.profile.max_leverage, self.cfg.risk.MAX_LEVERAGE))
                self.port.ensure_setup(s, capped, "CROSSED")
            except Exception as e:  # noqa: BLE001 - a refused setting (e.g. open orders) must not stop the start
                log.warning("[executor] SYMBOL_SETUP %s failed: %s", s, e)
        now = self.port.market_time_ms(self.symbols[0])
        self.state = self._warm(now)
        gc.collect()
        gc.freeze()  # docs/ARCHITECTURE.md: full collections over the warmed objects add 20-80 ms spikes
        rep = reconcile_start(self.port, self.journal, self.symbols, now, hard_state=self.hard_state,
                              resume_max_age_ms=int(self.o.resume_max_age_s * 1000))
        self.reconcile_report = rep
        log.info("[executor] START profile=%s symbols=%d timeframe=%s dry_run=%s reduce_only=%s market_time=%d",
                 self.o.profile, len(self.symbols), self.timeframe, self.port.dry_run, self.o.reduce_only, now)

    def _heartbeat(self, acct: Any) -> None:
        log.info("[executor] account OK — futures=True testnet=%s dry_run=%s balances: %s positions: %d",
                 self.env.testnet, self.port.dry_run, list(acct.balances), len(acct.legs))
        self._heartbeat_at = time.monotonic()

    def _warm(self, now_ms: int) -> DecisionCycle:
        history: dict[str, _History] = {}
        n = int(self.cfg.runtime.loop.history_bars)
        # one klines request per symbol, weight 5 each (limit <= 1000)
        fetched = self.port.klines_many([(s, self.timeframe, min(1000, n), None) for s in self.symbols])
        for s in self.symbols:
            ks_ = fetched[s]
            if isinstance(ks_, Exception):
                log.warning("[executor] WARM %s klines unavailable (%s): starts cold", s, ks_)
                continue
            rows = [k for k in ks_ if k.close_time_ms < now_ms and finite_kline(k)]
            if self.o.decide_last_bar:
                rows = rows[:-1]
            log_gaps(s, [k.open_time_ms for k in rows], self.bar_ms, live=False)
            if rows:
                history[s] = _History.of(rows)
        log.info("[executor] WARM %d/%d symbols, %s bars each (closed bars before %d%s)", len(history),
                 len(self.symbols), {s: len(h.close) for s, h in list(history.items())[:3]}, now_ms,
                 "; the newest is decided by cycle 1 (--dev-fast)" if self.o.decide_last_bar else "")
        if self.source == "ensemble":
            self.ensemble = EnsembleSource(self.cfg.candidate, history, bar_ms=self.bar_ms,
                                           dead_band_nav_pct=self.cfg.runtime.executor.ensemble_dead_band_nav_pct)
            log.info("[executor] SOURCE ensemble %s sleeves=%s targets=%s", self.cfg.candidate.name,
                     [sl.name for sl in self.cfg.candidate.ensemble.sleeves], self.ensemble.targets)
        return DecisionCycle.warm(history, self.cycle_cfg, symbols=self.symbols)

    # ================================================================== states
    def kill(self) -> ks.KillSwitch:
        return ks.read(self.state_root)

    def hard_state(self) -> str:
        """Why the account may not take new risk now ("" = it may): kill switch, HALTED, DD circuit."""
        k = self.kill()
        if k.active:
            return f"kill switch ({k.reason})"
        if self.cfg.risk.trading_state == "HALTED":
            return "trading_state HALTED (risk_limits.json)"
        c = self.risk_ctx
        if c is not None and (c.circuit_active or c.kill_dd_active or c.daily_loss_active):
            return "drawdown circuit" if c.circuit_active or c.kill_dd_active else "daily loss limit"
        return ""

    def _account_state(self) -> str:
        if self.hard_state():
            return "HALTED"
        if self.o.reduce_only or self.cfg.risk.trading_state == "REDUCING":
            return "REDUCING"
        return "NORMAL"

    # ================================================================== run
    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        signal.signal(signal.SIGHUP, self._on_hup)
        limit = 1 if self.o.once else self.o.cycles
        while not self.stop:
            t0 = time.monotonic()
            try:
                self.cycle()
                self.last_error = ""
            except Exception as e:  # noqa: BLE001 - one bad cycle (5xx, timeout, bad data) is logged, not fatal
                self.last_error = f"{type(e).__name__}: {e}"
                log.exception("[executor] CYCLE_ERROR %s", self.last_error)
                self._health(ok=False)
            if limit is not None and self.cycle_no >= limit:
                self._drain(deadline_s=max(5.0, self.o.interval_s))
                break
            self._idle(t0 + self.o.interval_s)
        log.info("[executor] STOP after %d cycles", self.cycle_no)
        return 0

    def _on_hup(self, signum: int, frame: Any) -> None:
        self.reload_requested = True

    def reload_config(self) -> bool:
        """SIGHUP: re-read config/. A bad file is one log line and the running configuration stays.
        Risk limits, correlation groups, profiles and the router settings apply from the next cycle; strategy
        blocks and timeframes need a restart (their warmed states were built from the old ones)."""
        from settings.errors import ConfigError
        from settings.loader import load_config

        self.reload_requested = False
        try:
            new = load_config(self.config_dir)
            cycle_cfg = CycleConfig(strategy_config=self.cfg.strategy, limits=new.risk, groups=new.correlation,
                                    universe=self.cfg.pairs, profile=new.profiles.profiles[self.o.profile],
                                    timeframe=self.timeframe)
        except (ConfigError, ValueError, KeyError) as e:
            log.error("[executor] CONFIG_RELOAD failed, keeping the running configuration: %s", e)
            return False
        self.cfg = replace(self.cfg, risk=new.risk, correlation=new.correlation, profiles=new.profiles,
                           runtime=new.runtime)
        self.profile = new.profiles.profiles[self.o.profile]
        self.cycle_cfg = cycle_cfg
        self.router.s = RouterSettings.from_config(new.runtime.router, self.o.order_type, self.o.tif)
        log.info("[executor] CONFIG_RELOAD ok from %s (risk limits, groups, profiles, router)", self.config_dir)
        return True

    def _on_term(self, signum: int, frame: Any) -> None:
        log.info("[executor] signal %d: stopping after this step", signum)
        self.stop = True

    def _idle(self, until: float) -> None:
        """Between cycles: run due TWAP children (market time) in short wall-clock steps."""
        while not self.stop and time.monotonic() < until:
            if self.router.has_work():
                try:
                    self.router.tick(self.port.market_time_ms(self.symbols[0]))
                except Exception as e:  # noqa: BLE001 - retried at the next step; the loop must not die
                    log.warning("[router] tick failed: %s", e)
            time.sleep(min(0.05 if self.router.has_work() else 0.25, max(0.0, until - time.monotonic())))

    def _drain(self, deadline_s: float) -> None:
        """--cycles/--once: let started TWAP parents finish (bounded) so the run leaves no half parent."""
        end = time.monotonic() + deadline_s
        while self.router.has_work() and time.monotonic() < end and not self.stop:
            self.router.tick(self.port.market_time_ms(self.symbols[0]))
            time.sleep(0.02)
        try:  # the last cycle's fills into the journal, and stops for legs it opened, before exit
            settle(self.port, self.journal, cancel_open=False)
            dirty = self.journal.take_dirty_symbols()
            if dirty:
                sync_fills(self.port, self.journal, sorted(dirty))
            if self.source == "hybrid":
                self._protect(self.port.legs(), self.last_cycle_ms or 0)
        except Exception as e:  # noqa: BLE001 - reconciliation at the next start covers it
            log.warning("[executor] final fill sync failed (%s): the next start reconciles", e)

    # ================================================================== one cycle
    def cycle(self) -> None:
        assert self.state is not None
        if self.reload_requested:
            self.reload_config()
        self.cycle_no += 1
        # One premiumIndex call (weight 10) gives marks, funding and the market clock (its newest `time`).
        prem = {s: m for s, m in self.port.premium_index().items() if finite(m.mark_price) and m.mark_price > 0}
        now = max((m.time_ms for m in prem.values()), default=0) or self.port.market_time_ms(self.symbols[0])
        before = self.filters
        try:  # the adapter re-reads exchangeInfo every runtime.exchange.exchange_info_refresh_seconds
            self.filters = self.port.filters()
        except Exception as e:  # noqa: BLE001 - keep the last filters
            log.warning("[executor] exchangeInfo unavailable (%s): last filters kept", e)
        for s in self.symbols:  # delisting starts as a status change (SETTLING / BREAK): docs/Runbook.md "Bad input"
            was, now_f = before.get(s), self.filters.get(s)
            if was is not None and now_f is not None and was.status != now_f.status:
                log.warning("[executor] SYMBOL_STATUS %s %s -> %s: %s", s, was.status, now_f.status,
                            "orders allowed again" if now_f.status == "TRADING"
                            else "no new orders for it (risk veto symbol_not_trading), the others trade on")
        try:  # cached by the adapter, refreshed daily
            self.brackets = self.port.brackets()
        except Exception as e:  # noqa: BLE001 - keep the last brackets (none: new risk is vetoed)
            log.warning("[executor] leverage brackets unavailable (%s): %d symbols kept", e, len(self.brackets))
        dropped = [s for s in self.symbols if s not in self.filters]
        if dropped:
            log.warning("[executor] SYMBOL %s left exchangeInfo (delisted?): no new decisions for them", dropped)
            self.symbols = [s for s in self.symbols if s in self.filters]
        settle(self.port, self.journal, cancel_open=False)
        dirty = self.journal.take_dirty_symbols()
        if dirty:
            sync_fills(self.port, self.journal, sorted(dirty))
        bars = self._new_bars(now)
        acct = self.port.account(order_symbols=self.journal.unsettled_symbols())
        if time.monotonic() - self._heartbeat_at >= HEARTBEAT_S:  # runbook 001 §3's periodic account line
            self._heartbeat(acct)
        legs_now = {leg.key: leg.qty for leg in acct.legs}
        moved = {k[0] for k in set(legs_now) | set(self.prev_legs) if legs_now.get(k) != self.prev_legs.get(k)}
        moved -= dirty
        if moved and self.prev_legs is not None and self.cycle_no > 1:
            # a leg changed without an order of ours settling: a protective order fired, panic close, a
            # manual trade or a liquidation - journal those fills too (docs/Reconciliation.md scenario 11)
            sync_fills(self.port, self.journal, sorted(moved), all_symbols=True)
        self.prev_legs = legs_now
        k = self.kill()
        snapshot = self._snapshot(now, acct, prem, k)
        self.risk_ctx = RiskContext.build(snapshot, self.cfg.risk, self.cfg.correlation, self.profile)
        state = self._account_state()
        if state != "NORMAL" and state != self.account_state:
            self.router.cancel_resting_entries(state)
        self.account_state = state
        inputs = self._inputs(prem)
        if self.source == "hybrid":
            self._protect(snapshot.open_legs, now)
        attempted = emitted = 0
        times = sorted({t for per in bars.values() for t, _ in per})
        for t in times:
            new = {s: b for s, per in bars.items() for tt, b in per if tt == t}
            self.state, result = self.state.step(new, inputs, snapshot, self.cycle_cfg, bar_time_ms=t)
            final = t == times[-1]
            hybrid = self.source == "hybrid"
            attempted, emitted = self._decisions(result, prem, t, act=hybrid and final and not self.stop, now_ms=now)
            if self.ensemble is not None:
                self.ensemble.update(new)
                for sym, target in self.ensemble.targets.items():
                    if sym in self.publisher.intel:
                        self.publisher.intel[sym]["ensemble_target"] = float(target)
                if final and not self.stop:
                    self._rebalance(snapshot, prem, t, now,
                                    gapped={d.symbol for d in result.decisions if d.status == "kline_gap"})
            elif final:
                self._exits(new, snapshot, now)
        self.router.tick(now)
        self.last_cycle_ms = now
        self.publisher.flush(as_of_ms=now, attempted=attempted, emitted=emitted,
                             router_metrics=self.router.metrics.to_dict(), health=self._health_fields(ok=True))

    def _new_bars(self, now_ms: int) -> dict[str, list[tuple[int, Bar]]]:
        """Closed bars newer than each symbol's last (never one bar twice), NaN bars dropped, gaps logged."""
        assert self.state is not None
        wanted = []
        for s in self.symbols:
            last = self.state.states[s].last_bar_ms
            start = None if last is None else last + self.bar_ms
            if start is not None and start + self.bar_ms > now_ms:
                continue  # the next bar has not closed yet: no request at all
            wanted.append((s, self.timeframe, KLINE_POLL_LIMIT, start))
        fetched = self.port.klines_many(wanted)
        out: dict[str, list[tuple[int, Bar]]] = {}
        for s, _, _, _ in wanted:
            rows = fetched[s]
            if isinstance(rows, Exception):
                log.warning("[executor] KLINES %s unavailable (%s): no decision this cycle", s, rows)
                continue
            got = new_closed_bars(s, rows, self.state.states[s].last_bar_ms, now_ms, self.bar_ms)
            if got:
                out[s] = got
        return out

    def _snapshot(self, now: int, acct: Any, prem: dict[str, Any], k: ks.KillSwitch) -> PortfolioSnapshot:
        nav_points: list[NavPoint] = []
        hwm = None
        day_start = None
        if self.o.nav_source == "account":
            self.own_nav.append(NavPoint(now, acct.nav_usd))
            self.own_nav = self.own_nav[-int(self.cfg.risk.nav_history_len):]
            nav_points = list(self.own_nav)
        else:
            doc = self.nav_reader.read()
            if doc:
                tail = tail_events(self.state_root / "nav_log.jsonl", int(self.cfg.risk.nav_history_len)) \
                    if (self.state_root / "nav_log.jsonl").exists() else []
                for e in tail:
                    if finite(e.get("nav_usd")) and e.get("t_ms"):
                        nav_points.append(NavPoint(int(e["t_ms"]), to_decimal(e["nav_usd"])))
                if finite(doc.get("nav_usd")) and doc.get("as_of_ms") and not doc.get("stale"):
                    nav_points.append(NavPoint(int(doc["as_of_ms"]), to_decimal(doc["nav_usd"])))
                if finite(doc.get("day_start_nav_usd")):
                    day_start = to_decimal(doc["day_start_nav_usd"])
        peak = self.peak_reader.read()
        if peak and finite(peak.get("peak_nav_usd")):
            hwm = to_decimal(peak["peak_nav_usd"])
        marks = {s: m.mark_price for s, m in prem.items() if s in self.filters and m.mark_price > 0}
        return PortfolioSnapshot(
            now_ms=now, nav_history=tuple(nav_points), positions=acct.legs, open_orders=acct.open_orders,
            filters=self.filters, mark_prices=marks, day_start_nav_usd=day_start, hwm_nav_usd=hwm,
            trading_state="REDUCING" if self.o.reduce_only else "ACTIVE", kill_switch=k.active,
            hedge_mode=True, brackets=self.brackets)

    def _inputs(self, prem: dict[str, Any]) -> dict[str, SymbolInputs]:
        out = {}
        stats = _trade_stats(self.journal.fills)
        for s in self.symbols:
            m = prem.get(s)
            if m is None:
                out[s] = SymbolInputs(trade_stats=stats.get(s), router_stats=self.router.metrics.router_stats(s))
                continue
            out[s] = SymbolInputs(funding_rate=float(m.last_funding_rate), mark_price=float(m.mark_price),
                                  index_price=float(m.index_price), trade_stats=stats.get(s),
                                  router_stats=self.router.metrics.router_stats(s))
        return out

    # ================================================================== decisions -> intents
    def _decisions(self, result: Any, prem: dict[str, Any], bar_ms: int, *, act: bool, now_ms: int) -> tuple[int, int]:
        lines = []
        for d in result.decisions:
            m = prem.get(d.symbol)
            basis = (float((m.mark_price - m.index_price) / m.index_price)
                     if m is not None and m.index_price > 0 else None)
            self.publisher.decision(d, funding_rate=float(m.last_funding_rate) if m is not None else None, basis=basis,
                                    bar_close_ms=bar_ms + self.bar_ms)
            line = format_breadcrumb(d.row)
            slog.info(line)
            lines.append(line)
            body = d.to_dict()
            body["veto"] = [v.code for v in d.risk.vetoes] if d.risk is not None else []
            body["bar_time_ms"] = bar_ms
            dlog.info(crumb("decision", "", body))
        summary = result.screener
        slog.info(format_cycle_summary(summary))
        self.publisher.screener_lines(lines + [format_cycle_summary(summary)])
        if not act:
            return summary.attempted, summary.emitted
        for d in result.approved:
            o = d.order
            price = to_decimal(prem[d.symbol].mark_price) if d.symbol in prem else to_decimal(d.bar.close)
            iid = _intent_id("hy", d.symbol, o.position_side, "O", bar_ms)
            bridge = {"symbol": d.symbol, "signal": d.row.signal, "side": o.side, "positionSide": o.position_side,
                      "qty": str(o.qty), "intent": "OPEN", "hybrid_score": d.hybrid.hybrid, "intent_id": iid}
            log.info(crumb("screener->executor", "", bridge))
            self._intent(iid, o, price, now_ms, source="hybrid", reason=f"hybrid {d.hybrid.hybrid:+.3f}",
                         hybrid=d.hybrid.hybrid, signal=d.row.signal)
        return summary.attempted, summary.emitted

    def _intent(self, iid: str, o: ProposedOrder, price: Decimal, now_ms: int, *, source: str, reason: str,
                hybrid: float | None = None, signal: str | None = None, urgent: bool = False) -> None:
        if not isinstance(o.intent, Intent):
            # the router picks reduce-only from the intent: an order that does not declare one is never routed
            log.error("[executor] INTENT_UNDECLARED %s %s %s %s: not routed", iid, o.symbol, o.side, o.position_side)
            return
        rec = {"intent_id": iid, "symbol": o.symbol, "side": o.side, "positionSide": o.position_side,
               "qty": str(o.qty), "intent": o.intent, "price": str(price), "gross_usd": float(o.qty * price),
               "source": source, "reason": reason, "urgent": urgent, "dry_run": self.port.dry_run}
        log.info(crumb("executor", "INTENT", rec))
        self.publisher.signal({"time_ms": now_ms, "symbol": o.symbol, "signal": signal or o.side,
                               "position_side": o.position_side, "intent": o.intent, "hybrid_score": hybrid,
                               "gross_usd": float(o.qty * price), "qty": float(o.qty), "veto": [], "source": source,
                               "intent_id": iid})
        self.router.submit_parent(intent_id=iid, symbol=o.symbol, side=o.side, position_side=o.position_side,
                                  intent=o.intent.value, qty=o.qty, price=price, now_ms=now_ms, urgent=urgent,
                                  source=source, reason=reason)

    # ================================================================== the R1 ensemble source
    def _rebalance(self, snapshot: PortfolioSnapshot, prem: dict[str, Any], bar_ms: int, now: int,
                   gapped: set[str]) -> None:
        """Orders toward the sleeves' targets; on the first bar after a kline gap a symbol only shrinks."""
        assert self.ensemble is not None
        ctx = self.risk_ctx
        nav = ctx.nav_usd if ctx is not None else None
        if ctx is None or nav is None or not ctx.nav_ok or ctx.nav_stale_reason:
            log.warning("[executor] ENSEMBLE no rebalance: NAV unusable (%s)",
                        ctx.nav_stale_reason if ctx else "no context")
            return
        legs = {leg.key: leg.qty for leg in snapshot.open_legs}
        marks = {s: to_decimal(m.mark_price) for s, m in prem.items()}
        for lo in self.ensemble.orders(nav, marks, legs, self.filters, hedge_mode=snapshot.hedge_mode):
            o = lo.order
            if o.symbol in gapped and o.intent == Intent.OPEN:
                dlog.info(crumb("decision", "", {"symbol": o.symbol, "status": "kline_gap", "source": "ensemble",
                                                 "reasons": ["kline_gap"], "order": o.to_dict(), "veto": []}))
                continue
            decision = ctx.check(o)
            dlog.info(crumb("decision", "", {"symbol": o.symbol,
                                             "status": "approved" if decision.approved else "vetoed",
                                             "source": "ensemble", "target": lo.target,
                                             "target_usd": float(lo.target_usd), "held_usd": float(lo.held_usd),
                                             "order": o.to_dict(), "veto": list(decision.codes)}))
            if not decision.approved:
                continue
            ctx = ctx.after(o)
            iid = _intent_id("en", o.symbol, o.position_side, o.intent_text[:1], bar_ms)
            log.info(crumb("screener->executor", "", {"symbol": o.symbol, "signal": o.side, "side": o.side,
                                                     "positionSide": o.position_side, "qty": str(o.qty),
                                                     "intent": o.intent, "source": "ensemble", "intent_id": iid}))
            self._intent(iid, o, marks[o.symbol], now, source="ensemble",
                         reason=(f"target {lo.target:+.3f} -> {float(lo.target_usd):.2f} USD"
                                 f" (held {float(lo.held_usd):.2f})"),
                         signal=o.side)

    # ================================================================== exits (core.sl_tp)
    def _protect(self, legs: tuple[Any, ...], now: int) -> None:
        """A `core.sl_tp` rule for every open leg (new legs get one from the config's sl_tp), rules of closed
        legs dropped, and the exchange-side STOP/TP orders made to match (they fire while we are down)."""
        reg, _gone, unprotected = sl_tp.reconcile(self.registry, legs)
        conf = self.cfg.strategy.sl_tp
        by_key = {leg.key: leg for leg in legs}
        for key in unprotected:
            leg = by_key[key]
            if leg.entry_price <= 0:
                continue
            reg = sl_tp.register(reg, sl_tp.make_rule(
                leg.symbol, leg.position_side, leg.entry_price, now, filters=self.filters.get(leg.symbol),
                sl_pct=conf.sl_pct, tp_pct=conf.tp_pct, trail_pct=conf.trail_pct,
                time_stop_ms=int(conf.time_stop_hours * 3_600_000) if conf.time_stop_hours else None))
        self.registry = reg
        try:
            self.protector.sync(reg.entries, by_key)
        except Exception as e:  # noqa: BLE001 - the in-process exits still work
            log.warning("[executor] PROTECT failed (%s): in-process exits only this cycle", e)

    def _exits(self, bars: dict[str, Bar], snapshot: PortfolioSnapshot, now: int) -> None:
        by_key = {leg.key: leg for leg in snapshot.open_legs}
        sbars = {s: sl_tp.Bar(b.open, b.high, b.low, b.close) for s, b in bars.items()}
        self.registry, signals = sl_tp.update_on_bar(self.registry, sbars, now)
        ctx = self.risk_ctx
        for sig in signals:
            leg = by_key.get((sig.symbol, sig.position_side))
            if leg is None or ctx is None:
                continue
            side = "SELL" if leg.position_side == "LONG" else "BUY"
            order = ProposedOrder(leg.symbol, side, leg.position_side, leg.qty, order_type="MARKET", intent="CLOSE",
                                  tag=sig.reason)
            decision = ctx.check(order)
            dlog.info(crumb("decision", "", {"symbol": leg.symbol, "status": "exit", "reason": sig.reason,
                                             "veto": list(decision.codes), "exit": sig.to_dict()}))
            if not decision.approved:
                continue
            iid = _intent_id("ex", leg.symbol, leg.position_side, "C", sig.ts_ms)
            self._intent(iid, order, to_decimal(snapshot.mark_prices.get(leg.symbol, leg.mark_price)), now,
                         source="sl_tp", reason=sig.reason, urgent=True)

    # ================================================================== health
    def _health_fields(self, ok: bool) -> dict[str, Any]:
        k = self.kill()
        return {"ok": ok, "symbols": self.symbols, "message": f"cycle {self.cycle_no}",
                "error": self.last_error, "kill_switch": k.to_dict(), "reduce_only": self.o.reduce_only,
                "account_state": self._account_state(), "cycle": self.cycle_no, "last_cycle_ms": self.last_cycle_ms}

    def _health(self, ok: bool) -> None:
        try:
            self.publisher.health(**self._health_fields(ok))
        except Exception as e:  # noqa: BLE001 - a failed health write is logged, never stops trading
            log.error("[executor] health write failed: %s", e)

    def _filters_of(self, symbol: str) -> Any:
        return self.filters[symbol]


# ---------------------------------------------------------------------- helpers
def _cycle_timeframe(cfg: Any) -> str:
    tfs = {b.timeframe for b in cfg.strategy.strategies.values() if b.enabled}
    if len(tfs) == 1:
        return tfs.pop()
    return cfg.candidate.interval if not tfs else sorted(tfs)[0]


def _target_leverage(pairs: Any, symbol: str) -> int:
    ov = getattr(pairs, "overrides", {}).get(symbol)
    lev = getattr(ov, "target_leverage", None) if ov is not None else None
    return int(lev or 1)


def _intent_id(source: str, symbol: str, position_side: str, kind: str, t_ms: int) -> str:
    """Deterministic: the same decision (source, leg, bar) is the same intent, also after a restart."""
    return f"{source}-{symbol}-{position_side[0]}{kind}-{t_ms // 1000}"


def _trade_stats(fills: list[dict[str, Any]]) -> dict[str, TradeStats]:
    """Closed-trade statistics per symbol from the journal's fills: a fill with realized PnL != 0 closes
    something (an opening fill realizes nothing), so only those are trades."""
    per: dict[str, list[float]] = {}
    for f in fills:
        pnl = float(f.get("realized_pnl") or 0)
        if pnl:
            per.setdefault(f["symbol"], []).append(pnl)
    return {s: TradeStats.from_pnls(pnls) for s, pnls in per.items()}
