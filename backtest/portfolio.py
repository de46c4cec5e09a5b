"""The ensemble backtest: sleeves -> per-symbol targets -> sizing -> `check_order` -> next-open fills, ISOLATED
margin, funding, portfolio NAV bar by bar (docs/Backtest_Methodology.md).

Two modes share every rule below and differ only in where the targets come from and how often the
sequential part runs:
    fast       targets from the strategies' batch forms over the whole history; the sequential part runs at
               the bars where some symbol's held target changes, and the NAV between two such bars is filled
               in vectorised (positions are constant there; liquidations are found by a vectorised scan)
    reference  `core.cycle.step` once per closed bar, as the executor drives it; every bar is processed
A test proves both give the same fills.

Per event bar b (the open of b; the decision was taken at the close of b-1):
    1. funding settles on the positions held into the open (funding times only)
    2. the account snapshot at the close of b-1 (NAV, peak, day-start NAV, legs, marks, filters) ->
       `RiskContext.build` once; each symbol whose held target changed gets its order(s):
       target notional = held target x NAV, quantity = `core.sizing.qty_for_notional` at the close of b-1
       (floored to the exchange step); hedge mode: a leg is closed (intent CLOSE) before the other side opens
       (intent OPEN). Closes are checked (`ctx.check`) and filled first; when any filled, the snapshot is
       taken again (NAV unchanged, legs after the closes) before the opens are checked; an approved open is
       added with `ctx.after`. A vetoed order is not filled and is counted by veto code.
    3. approved orders fill at open[b] x (1 +/- slippage) with the fee on the traded notional.
Then, bar by bar until the next event: ISOLATED liquidation when the bar's low (long) / high (short) crosses
the liquidation price (margin = entry notional / leverage, maintenance rate `maint_margin_rate`), closed at
that price with the fee; NAV = cash + sum of quantity x close, marked at each bar's close.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from backtest.costs import Costs, fill_price
from backtest.metrics import drawdown_series, summary_figures
from core.filters import SymbolFilters
from core.numbers import to_decimal
from core.portfolio import NavPoint, PortfolioSnapshot, PositionLeg
from core.risk_limits import ProposedOrder, RiskContext
from core.sizing import qty_for_notional
from core.strategies import ensemble_targets, targets_for_execution
from core.timeframes import INTERVAL_MS
from settings.models import CandidateConfig, CorrelationGroups, RiskLimits

__all__ = ["Grid", "PortfolioFill", "PortfolioResult", "RiskSetup", "align", "run_portfolio"]

DAY_MS = 86_400_000


def _d(x: float) -> Decimal:
    return to_decimal(float(x))


@dataclass(frozen=True, eq=False)
class Grid:
    """Every symbol's bars on one time grid (the union of their open times); a missing bar is NaN."""

    symbols: tuple[str, ...]
    interval: str
    time_ms: np.ndarray
    open: np.ndarray  # (symbols, bars)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    funding: np.ndarray  # rate settled at each bar's open (0 where none)

    @property
    def bar_ms(self) -> int:
        return INTERVAL_MS[self.interval]

    def bars_of(self, i: int) -> Any:
        from core.bars import Ohlc

        return Ohlc(self.open[i], self.high[i], self.low[i], self.close[i])


def align(bars: Mapping[str, Any], funding: Mapping[str, Any] | None = None) -> Grid:
    """`marketdata.Klines` per symbol (same interval) -> a `Grid`; funding: `marketdata.Funding` per symbol."""
    from backtest.data import funding_per_bar

    syms = tuple(bars)
    if not syms:
        raise ValueError("no symbols")
    intervals = {k.interval for k in bars.values()}
    if len(intervals) != 1:
        raise ValueError(f"symbols on different intervals: {sorted(intervals)}")
    times = np.unique(np.concatenate([np.asarray(k.open_time_ms) for k in bars.values()]))
    shape = (len(syms), len(times))
    cols = {c: np.full(shape, np.nan) for c in ("open", "high", "low", "close")}
    rate = np.zeros(shape)
    for i, s in enumerate(syms):
        k = bars[s]
        pos = np.searchsorted(times, k.open_time_ms)
        for c in cols:
            cols[c][i, pos] = getattr(k, c)
        f = (funding or {}).get(s)
        if f is not None:
            rate[i, pos] = funding_per_bar(k, f)
    return Grid(syms, next(iter(intervals)), times, cols["open"], cols["high"], cols["low"], cols["close"], rate)


@dataclass(frozen=True)
class RiskSetup:
    """What `check_order` judges against: the live risk files and the exchange filters."""

    limits: RiskLimits
    groups: CorrelationGroups
    filters: Mapping[str, SymbolFilters]
    profile: Any = None


@dataclass(frozen=True, slots=True)
class PortfolioFill:
    bar: int
    time_ms: int
    symbol: str
    side: str  # BUY | SELL
    position_side: str  # LONG | SHORT (hedge mode)
    intent: str  # OPEN | CLOSE | LIQUIDATION
    qty: float
    price: float
    fee: float
    slippage_cost: float

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, eq=False)
class PortfolioResult:
    grid: Grid
    equity: np.ndarray
    pnl: Mapping[str, np.ndarray]  # per symbol, cumulative USD (trading, fees, slippage, funding)
    sleeve_pnl: Mapping[str, np.ndarray]  # per sleeve, the symbol's PnL split by weight
    fills: tuple[PortfolioFill, ...]
    vetoes: Mapping[str, int]
    fees: float
    slippage: float
    funding: float
    liquidations: int
    initial_cash: float
    mode: str

    @property
    def drawdown(self) -> np.ndarray:
        return drawdown_series(self.equity, self.initial_cash)

    def summary(self) -> dict[str, Any]:
        out = summary_figures(self.equity, self.initial_cash, self.grid.bar_ms)
        traded = sum(f.qty * f.price for f in self.fills)
        mean_eq = float(np.mean(self.equity)) if len(self.equity) else self.initial_cash
        out.update({
            "mode": self.mode,
            "symbols": list(self.grid.symbols),
            "fills": len(self.fills),
            "trades": sum(1 for f in self.fills if f.intent == "OPEN"),
            "turnover": traded / mean_eq if mean_eq > 0 else 0.0,
            "traded_notional": traded,
            "fees_paid": self.fees,
            "slippage_paid": self.slippage,
            "funding_paid": self.funding,
            "liquidations": self.liquidations,
            "vetoes": dict(self.vetoes),
            "sleeve_contribution": {k: float(v[-1]) / self.initial_cash if len(v) else 0.0
                                    for k, v in self.sleeve_pnl.items()},
            "start_ms": int(self.grid.time_ms[0]), "end_ms": int(self.grid.time_ms[-1]),
        })
        return out


@dataclass
class _Leg:
    qty: float = 0.0  # signed
    entry: float = 0.0
    margin: float = 0.0
    cash: float = 0.0  # cumulative cash flow of this symbol (trades, fees, funding)
    fbase: float = 0.0  # funding-per-unit settled so far (prefix sum value)


@dataclass
class _Sim:
    grid: Grid
    costs: Costs
    risk: RiskSetup
    leverage: int
    maint: float
    initial_cash: float
    nav_history_len: int
    legs: list[_Leg] = field(default_factory=list)
    fills: list[PortfolioFill] = field(default_factory=list)
    vetoes: dict[str, int] = field(default_factory=dict)
    fees: float = 0.0
    slippage: float = 0.0
    funding: float = 0.0
    liquidations: int = 0

    def __post_init__(self) -> None:
        g = self.grid
        n = len(g.time_ms)
        self.legs = [_Leg() for _ in g.symbols]
        self.pnl = np.zeros((len(g.symbols), n))
        self.equity = np.full(n, np.nan)
        # marks: the last known close (a symbol without a bar keeps its last price)
        self.mark = _ffill(g.close)
        self.mark_open = np.where(np.isfinite(g.open), g.open, np.r_["-1", np.full((len(g.symbols), 1), np.nan),
                                                                     self.mark[:, :-1]])
        fo = np.nan_to_num(self.mark_open) * g.funding if self.costs.funding else np.zeros_like(g.funding)
        self.fcum = np.cumsum(fo, axis=1)
        self.peak = self.initial_cash
        self.day_of = g.time_ms // DAY_MS
        # the snapshot copies its filters every bar: only the traded symbols' (exchangeInfo has hundreds)
        self.filters = {s: self.risk.filters[s] for s in g.symbols if s in self.risk.filters}
        self.leverage_d = Decimal(self.leverage)
        # per-element reads in the event loop are cheaper from lists than from numpy arrays
        self.mark_l = self.mark.tolist()
        self.open_l = g.open.tolist()
        self.time_l = g.time_ms.tolist()

    # ---------------------------------------------------------------- funding
    def settle_funding(self, b: int) -> None:
        for i, leg in enumerate(self.legs):
            f = self.fcum[i, b]
            if leg.qty != 0.0 and f != leg.fbase:
                pay = leg.qty * (f - leg.fbase)
                leg.cash -= pay
                self.funding += pay
            leg.fbase = float(f)

    # ---------------------------------------------------------------- decisions
    def _nav_at(self, b: int) -> float:
        """NAV at the close of b-1 (the initial cash before the first bar)."""
        return self.initial_cash if b == 0 else float(self.equity[b - 1])

    def _nav_before(self, b: int) -> tuple[float, Decimal | None, NavPoint | None]:
        """NAV at the close of b-1, the day-start NAV, and the window's peak point (for the DD window)."""
        if b == 0:
            return self.initial_cash, _d(self.initial_cash), None
        nav = self._nav_at(b)
        lo = max(0, b - self.nav_history_len)
        w = self.equity[lo:b]
        j = int(np.argmax(w))
        peak_pt = NavPoint(int(self.grid.time_ms[lo + j]) + self.grid.bar_ms, _d(w[j]))
        # day start: the NAV at the last close at or before 00:00 UTC of the day of bar b's open
        day0 = int(self.day_of[b]) * DAY_MS
        k = int(np.searchsorted(self.grid.time_ms, day0 - self.grid.bar_ms, side="right")) - 1
        day_start = self.initial_cash if k < 0 else float(self.equity[k])
        return nav, _d(day_start), peak_pt

    def snapshot(self, b: int, nav: float, day_start: Decimal | None, peak_pt: NavPoint | None) -> PortfolioSnapshot:
        g = self.grid
        now = self.time_l[b]
        legs, marks = [], {}
        for i, s in enumerate(g.symbols):
            m = self._price_before(i, b)
            m_d = _d(m)
            if math.isfinite(m):
                marks[s] = m_d
            leg = self.legs[i]
            if leg.qty != 0.0:
                legs.append(PositionLeg(s, "LONG" if leg.qty > 0 else "SHORT", _d(abs(leg.qty)), _d(leg.entry),
                                        m_d, leverage=self.leverage_d))
        history = (NavPoint(now, _d(nav)),) if peak_pt is None else (peak_pt, NavPoint(now, _d(nav)))
        return PortfolioSnapshot(now, nav_history=history, positions=tuple(legs), filters=self.filters,
                                 mark_prices=marks, day_start_nav_usd=day_start, hwm_nav_usd=_d(self.peak),
                                 hedge_mode=True)

    def _price_before(self, i: int, b: int) -> float:
        """Symbol i's mark at the close of b-1 (its open at the first bar): the sizing and snapshot price."""
        return self.mark_l[i][b - 1] if b > 0 else self.open_l[i][b]

    def rebalance(self, b: int, changes: Iterable[tuple[int, float]]) -> None:
        """Orders for each (symbol index, new held target) at bar b's open, checked and filled. The account
        snapshot and its risk context are built only when there is an order to check."""
        nav = self._nav_at(b)
        closes: list[tuple[int, ProposedOrder]] = []
        opens: list[tuple[int, ProposedOrder]] = []
        g = self.grid
        for i, target in changes:
            sym = g.symbols[i]
            leg = self.legs[i]
            filters = self.risk.filters.get(sym)
            price = self._price_before(i, b)
            if filters is None or not math.isfinite(price) or price <= 0:
                self.vetoes["no_filters_or_price"] = self.vetoes.get("no_filters_or_price", 0) + 1
                continue
            qty = float(qty_for_notional(_d(abs(target) * nav), _d(price), filters)[1]) if target != 0.0 else 0.0
            new = math.copysign(qty, target) if qty else 0.0
            old = leg.qty
            # quantities are multiples of the step: differences in Decimal stay exact
            d_old, d_new = _d(old), _d(new)
            if old != 0.0 and (new == 0.0 or (new > 0) != (old > 0)):
                closes.append((i, self._order(sym, old, -d_old, "CLOSE")))
                if new != 0.0:
                    opens.append((i, self._order(sym, new, d_new, "OPEN")))
            elif abs(new) > abs(old):
                opens.append((i, self._order(sym, new, d_new - d_old, "OPEN")))
            elif abs(new) < abs(old):
                closes.append((i, self._order(sym, old, d_new - d_old, "CLOSE")))
        if not closes and not opens:
            return
        nav, day_start, peak_pt = self._nav_before(b)
        ctx = RiskContext.build(self.snapshot(b, nav, day_start, peak_pt), self.risk.limits, self.risk.groups,
                                self.risk.profile)
        filled = False
        for i, order in closes:
            filled |= self._check_and_fill(b, i, order, ctx)
        if filled and opens:
            # as the executor does: the closes are done, the account is read again before the opens
            ctx = RiskContext.build(self.snapshot(b, nav, day_start, peak_pt), self.risk.limits, self.risk.groups,
                                    self.risk.profile)
        for i, order in opens:
            if self._check_and_fill(b, i, order, ctx):
                ctx = ctx.after(order)

    def _check_and_fill(self, b: int, i: int, order: ProposedOrder, ctx: RiskContext) -> bool:
        decision = ctx.check(order)
        if not decision.approved:
            for code in decision.codes:
                self.vetoes[code] = self.vetoes.get(code, 0) + 1
            return False
        self._fill(b, i, order)
        return True

    def _order(self, sym: str, leg_sign: float, delta: Decimal, intent: str) -> ProposedOrder:
        side = "BUY" if delta > 0 else "SELL"
        return ProposedOrder(sym, side, "LONG" if leg_sign > 0 else "SHORT", abs(delta), order_type="MARKET",
                             intent=intent, tag="ensemble", leverage=self.leverage_d)

    def _fill(self, b: int, i: int, order: ProposedOrder) -> None:
        leg = self.legs[i]
        o = float(self.grid.open[i, b])
        buy = order.side == "BUY"
        qty = float(order.qty)
        price = fill_price(o, buy, self.costs.slippage)
        fee = self.costs.fee * qty * price
        dq = qty if buy else -qty
        old = leg.qty
        new = float(_d(old) + (order.qty if buy else -order.qty))  # exact on the step grid
        if order.intent == "OPEN":
            leg.entry = price if old == 0.0 else (abs(old) * leg.entry + qty * price) / abs(new)
            leg.margin += qty * price / self.leverage
        else:
            leg.margin = 0.0 if new == 0.0 else leg.margin * abs(new) / abs(old)
            if new == 0.0:
                leg.entry = 0.0
        leg.qty = new
        leg.cash += -dq * price - fee
        self.fees += fee
        slip = qty * o * self.costs.slippage
        self.slippage += slip
        self.fills.append(PortfolioFill(b, int(self.grid.time_ms[b]), self.grid.symbols[i], order.side,
                                        order.position_side, order.intent, qty, price, fee, slip))

    def finish(self) -> None:
        """Count the funding accrued after the last settlement (it is already in the PnL)."""
        last = len(self.grid.time_ms) - 1
        for i, leg in enumerate(self.legs):
            if leg.qty != 0.0 and last >= 0:
                self.funding += float(leg.qty * (float(self.fcum[i, last]) - leg.fbase))

    # ---------------------------------------------------------------- between events
    def liq_price(self, leg: _Leg) -> float:
        if leg.qty > 0:
            return (leg.entry - leg.margin / leg.qty) / (1.0 - self.maint)
        return (leg.entry + leg.margin / -leg.qty) / (1.0 + self.maint)

    def segment(self, a: int, z: int) -> None:
        """Bars a..z-1 after the fills at a: liquidations, per-symbol PnL and the NAV at each close."""
        g = self.grid
        for i, leg in enumerate(self.legs):
            row = self.pnl[i]
            if leg.qty == 0.0:
                row[a:z] = leg.cash
                continue
            liq = self.liq_price(leg)
            hit = np.flatnonzero(g.low[i, a:z] <= liq) if leg.qty > 0 else np.flatnonzero(g.high[i, a:z] >= liq)
            end = a + int(hit[0]) if len(hit) else z
            q = leg.qty
            row[a:end] = leg.cash - q * (self.fcum[i, a:end] - leg.fbase) + q * self.mark[i, a:end]
            if end < z:
                self._liquidate(end, i, liq)
                row[end:z] = leg.cash
        eq = self.initial_cash + self.pnl[:, a:z].sum(axis=0)
        self.equity[a:z] = eq
        if z > a:
            self.peak = max(self.peak, float(eq.max()))

    def _liquidate(self, j: int, i: int, price: float) -> None:
        leg = self.legs[i]
        f = self.fcum[i, j]
        if f != leg.fbase:  # funding at j's open came before the intrabar liquidation
            pay = leg.qty * (f - leg.fbase)
            leg.cash -= pay
            self.funding += pay
        leg.fbase = f
        qty = abs(leg.qty)
        fee = self.costs.fee * qty * price
        leg.cash += leg.qty * price - fee
        self.fees += fee
        self.fills.append(PortfolioFill(j, int(self.grid.time_ms[j]), self.grid.symbols[i],
                                        "SELL" if leg.qty > 0 else "BUY", "LONG" if leg.qty > 0 else "SHORT",
                                        "LIQUIDATION", qty, price, fee, 0.0))
        leg.qty = leg.entry = leg.margin = 0.0
        self.liquidations += 1


def _ffill(x: np.ndarray) -> np.ndarray:
    """Forward-fill NaN along the bar axis (leading NaN stay)."""
    idx = np.where(np.isfinite(x), np.arange(x.shape[1]), 0)
    np.maximum.accumulate(idx, axis=1, out=idx)
    out = np.take_along_axis(x, idx, axis=1)
    return out


def _sleeve_pnl(candidate: CandidateConfig, symbols: tuple[str, ...], pnl: np.ndarray) -> dict[str, np.ndarray]:
    """Each sleeve's share of its symbol's PnL, by weight among the symbol's sleeves."""
    sleeves = candidate.ensemble.sleeves
    total = {s: sum(x.weight for x in sleeves if x.symbol == s) for s in symbols}
    return {x.name: pnl[symbols.index(x.symbol)] * (x.weight / total[x.symbol] if total[x.symbol] else 0.0)
            for x in sleeves if x.symbol in symbols}


def weighted_targets(candidate: CandidateConfig, grid: Grid) -> np.ndarray:
    """Per-symbol weighted targets decided at each bar's close (the ensemble's batch form)."""
    bars = {s: grid.bars_of(i) for i, s in enumerate(grid.symbols)}
    et = ensemble_targets(candidate.ensemble, bars, bar_ms=grid.bar_ms)
    return np.vstack([et.per_symbol.get(s, np.zeros(len(grid.time_ms))) for s in grid.symbols])


def run_portfolio(
    candidate: CandidateConfig,
    grid: Grid,
    risk: RiskSetup,
    *,
    initial_cash: float = 10_000.0,
    mode: str = "fast",
    maint_margin_rate: float = 0.005,
    progress: Callable[[int, int], None] | None = None,
) -> PortfolioResult:
    """Backtest `candidate` (its sleeves, weights, costs, funding switch, leverage) on `grid`."""
    if mode not in ("fast", "reference"):
        raise ValueError(f"mode must be fast or reference, got {mode!r}")
    if not (math.isfinite(initial_cash) and initial_cash > 0):
        raise ValueError(f"initial cash must be positive, got {initial_cash!r}")
    missing = sorted({s.symbol for s in candidate.ensemble.sleeves} - set(grid.symbols))
    if missing:
        raise ValueError(f"no bars for sleeve symbol(s) {', '.join(missing)}")
    costs = Costs.from_bps(candidate.costs.fee_bps, candidate.costs.slippage_bps, candidate.funding_rate.enabled)
    sim = _Sim(grid, costs, risk, candidate.market.leverage, maint_margin_rate, float(initial_cash),
               int(risk.limits.nav_history_len))
    if mode == "fast":
        _run_fast(sim, weighted_targets(candidate, grid), progress)
    else:
        from backtest.reference import drive_portfolio

        drive_portfolio(sim, candidate, progress)
    sim.finish()
    pnl = {s: sim.pnl[i] for i, s in enumerate(grid.symbols)}
    return PortfolioResult(grid, sim.equity, pnl, _sleeve_pnl(candidate, grid.symbols, sim.pnl), tuple(sim.fills),
                           dict(sim.vetoes), sim.fees, sim.slippage, sim.funding, sim.liquidations,
                           float(initial_cash), mode)


def _run_fast(sim: _Sim, targets: np.ndarray, progress: Callable[[int, int], None] | None) -> None:
    g = sim.grid
    n = len(g.time_ms)
    held = np.vstack([targets_for_execution(t) for t in targets])
    changes: dict[int, list[tuple[int, float]]] = {}
    for i in range(len(g.symbols)):
        h = held[i]
        prev = np.r_[0.0, h[:-1]]
        bars = np.flatnonzero(h != prev)
        valid = np.flatnonzero(np.isfinite(g.open[i]))
        # a change on a bar without an open fills at the symbol's next bar with one
        at = valid[np.minimum(np.searchsorted(valid, bars), len(valid) - 1)] if len(valid) else bars[:0]
        keep = at >= bars
        for b, t in zip(at[keep].tolist(), h[bars[keep]].tolist()):
            lst = changes.setdefault(b, [])
            lst[:] = [c for c in lst if c[0] != i]  # the latest target for the symbol wins
            lst.append((i, t))
    events = sorted(changes)
    bounds = events + [n]
    if not events or events[0] > 0:
        sim.segment(0, events[0] if events else n)
    for k, b in enumerate(events):
        sim.settle_funding(b)
        sim.rebalance(b, changes[b])
        sim.segment(b, bounds[k + 1])
        if progress is not None:
            progress(bounds[k + 1], n)
