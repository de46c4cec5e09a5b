"""Single-strategy backtest at full equity: held targets -> next-open fills (docs/Backtest_Methodology.md).

The fast path. Targets come from the strategy's batch form over the whole history; the sequential part
(cash, quantity, fees, funding) runs only at the bars where the held target changes, and the equity between
two fills is filled in vectorised (cash minus accumulated funding plus quantity x close).

At a bar open where the held target changes (a fill):
    price   = open x (1 + slippage) for a buy, open x (1 - slippage) for a sell
    close   cash += q_old x price - fee x |q_old| x price
    open    q_new = target x cash / (price x (1 + fee));  cash -= q_new x price + fee x |q_new| x price
A flip (long -> short) is one fill. Funding at a bar whose open time is a funding time is charged on the
position held going into that bar, before a fill at the same open: cash -= q x open x rate.
Equity is cash + q x close, marked at each bar's close.

`Book` holds that one state; `backtest.reference` drives the same `Book` bar by bar from `core.cycle`.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backtest.costs import Costs
from backtest.metrics import summary_figures
from core.strategies import targets_for_execution

__all__ = ["Fill", "Book", "SingleResult", "simulate", "run_targets"]


@dataclass(frozen=True, slots=True)
class Fill:
    bar: int  # index of the bar whose open it filled at
    time_ms: int
    side: str  # BUY | SELL
    price: float  # after slippage
    qty: float  # traded quantity (closed + opened), > 0
    qty_after: float  # signed position after the fill
    target: float  # held target after the fill
    fee: float
    slippage_cost: float  # |qty| x open x slippage

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


def fill_step(cash: float, q_old: float, t_old: float, t_new: float, open_price: float, fee: float,
              slippage: float) -> tuple[float, float, float, float, float]:
    """The one fill rule: (cash after, signed quantity after, fill price, traded quantity, fee paid)."""
    price = open_price * (1.0 + slippage) if t_new > t_old else open_price * (1.0 - slippage)
    cash = cash + q_old * price - fee * abs(q_old) * price
    q_new = t_new * cash / (price * (1.0 + fee))
    cash -= q_new * price + fee * abs(q_new) * price
    traded = abs(q_old) + abs(q_new)  # the old position closed, the new one opened
    return cash, q_new, price, traded, fee * traded * price


@dataclass
class Book:
    """Cash and signed quantity of one full-equity position; `rebalance` is the one fill rule."""

    costs: Costs
    cash: float
    qty: float = 0.0
    target: float = 0.0
    fees: float = 0.0
    slippage: float = 0.0
    funding: float = 0.0
    fills: list[Fill] = field(default_factory=list)

    def pay_funding(self, open_price: float, rate: float) -> None:
        pay = self.qty * open_price * rate
        self.cash -= pay
        self.funding += pay

    def rebalance(self, bar: int, time_ms: int, open_price: float, target: float) -> Fill | None:
        if target == self.target:
            return None
        cash, q_new, price, traded, fee = fill_step(self.cash, self.qty, self.target, target, open_price,
                                                    self.costs.fee, self.costs.slippage)
        slip_cost = traded * open_price * self.costs.slippage
        fill = Fill(bar, time_ms, "BUY" if target > self.target else "SELL", price, traded, q_new, target, fee,
                    slip_cost)
        self.cash, self.qty, self.target = cash, q_new, target
        self.fees += fee
        self.slippage += slip_cost
        self.fills.append(fill)
        return fill

    def equity(self, close: float) -> float:
        return self.cash + self.qty * close


@dataclass(frozen=True, eq=False)
class SingleResult:
    time_ms: np.ndarray
    equity: np.ndarray  # marked at each bar's close
    position: np.ndarray  # signed quantity held at each bar's close
    held: np.ndarray  # held target per bar
    fills: Sequence[Fill]
    fees: float
    slippage: float
    funding: float
    initial_cash: float
    bar_ms: int

    def summary(self) -> dict[str, Any]:
        out = summary_figures(self.equity, self.initial_cash, self.bar_ms)
        traded = (self.fills.traded_notional() if isinstance(self.fills, _FillTable)
                  else sum(f.qty * f.price for f in self.fills))
        mean_eq = float(np.mean(self.equity)) if len(self.equity) else self.initial_cash
        out.update({
            "fills": len(self.fills),
            "trades": len(self.fills),
            "turnover": traded / mean_eq if mean_eq > 0 else 0.0,
            "traded_notional": traded,
            "fees_paid": self.fees,
            "slippage_paid": self.slippage,
            "funding_paid": self.funding,
        })
        if len(self.time_ms):
            out["start_ms"], out["end_ms"] = int(self.time_ms[0]), int(self.time_ms[-1])
        return out


def simulate(
    open_: np.ndarray,
    close: np.ndarray,
    held: np.ndarray,
    costs: Costs,
    *,
    initial_cash: float = 10_000.0,
    funding_rate: np.ndarray | None = None,
    time_ms: np.ndarray | None = None,
    bar_ms: int = 3_600_000,
) -> SingleResult:
    """The fast path: `held[t]` is the target held during bar t (already shifted, see
    `core.strategies.targets_for_execution`); `funding_rate[t]` the rate settled at bar t's open (0 or NaN
    where none). Fills only where `held` changes."""
    o = np.asarray(open_, dtype=np.float64)
    c = np.asarray(close, dtype=np.float64)
    h = np.asarray(held, dtype=np.float64)
    n = len(o)
    if not (len(c) == len(h) == n):
        raise ValueError("open, close and held must have the same length")
    if not math.isfinite(initial_cash) or initial_cash <= 0:
        raise ValueError(f"initial_cash must be positive, got {initial_cash!r}")
    t_ms = np.arange(n, dtype=np.int64) * bar_ms if time_ms is None else np.asarray(time_ms, dtype=np.int64)
    # Few full-length temporaries: at ~0.5 MB each a fresh array costs page faults, not arithmetic.
    changed = np.empty(n, dtype=bool)
    if n:
        changed[0] = h[0] != 0.0
        np.not_equal(h[1:], h[:-1], out=changed[1:])
    bars = np.flatnonzero(changed)
    m = len(bars)
    opens_a = o[bars]
    if not np.isfinite(opens_a).all():
        bad = int(bars[~np.isfinite(opens_a)][0])
        raise ValueError(f"bar {bad}: open is not finite, cannot fill")
    with_funding = bool(costs.funding and funding_rate is not None)
    fcum: np.ndarray | None = None
    if with_funding:
        rate = np.nan_to_num(np.asarray(funding_rate, dtype=np.float64), nan=0.0)
        fcum = np.cumsum(o * rate)  # funding per unit of quantity, settled up to and including bar t's open
    f_rate, slip = costs.fee, costs.slippage
    cash, qty, tgt, fees, slips, funding = float(initial_cash), 0.0, 0.0, 0.0, 0.0, 0.0
    # per fill: cash right after it, quantity, and the funding-per-unit baseline at its bar
    seg_cash, seg_qty, seg_f0 = [cash], [0.0], [0.0]
    f_price, f_traded, f_fee = [0.0] * m, [0.0] * m, [0.0] * m
    last_f = 0.0
    opens, targets = opens_a.tolist(), h[bars].tolist()
    fl = fcum[bars].tolist() if fcum is not None else [0.0] * m
    for k in range(m):
        fk = fl[k]
        if qty != 0.0 and fk != last_f:
            pay = qty * (fk - last_f)
            cash -= pay
            funding += pay
        last_f = fk
        op = opens[k]
        cash, qty, price, traded, fee = fill_step(cash, qty, tgt, targets[k], op, f_rate, slip)
        tgt = targets[k]
        fees += fee
        slips += traded * op * slip
        f_price[k], f_traded[k], f_fee[k] = price, traded, fee
        seg_cash.append(cash)
        seg_qty.append(qty)
        seg_f0.append(fk)
    seg_cash_a, seg_qty_a = np.array(seg_cash), np.array(seg_qty)
    # segment j (cash and quantity after the j-th fill, 0 = none yet) covers bars[j-1] .. bars[j] - 1
    lengths = np.diff(bars, prepend=0, append=n)
    q = np.repeat(seg_qty_a, lengths)
    cash_t = np.repeat(seg_cash_a, lengths)
    if fcum is not None:
        accrued = fcum - np.repeat(np.array(seg_f0), lengths)
        accrued *= q
        cash_t -= accrued
    equity = np.multiply(q, c)
    equity += cash_t  # = cash - q x funding since the fill + q x close
    if m and qty != 0.0 and fcum is not None:
        funding += float(qty * (fcum[-1] - last_f))
    prev_t = np.empty(m)
    if m:
        prev_t[0] = 0.0
        prev_t[1:] = targets[:-1]
    f_traded_a = np.array(f_traded)
    fills = _FillTable(bars, t_ms[bars], np.array(targets), np.array(f_price), f_traded_a, seg_qty_a[1:],
                       np.array(f_fee), f_traded_a * opens_a * slip, prev_t)
    return SingleResult(t_ms, equity, q, h, fills, fees, slips, funding, float(initial_cash), int(bar_ms))


class _FillTable(Sequence):
    """The fast path's fills as columns; a read-only sequence of `Fill` built on first use (a summary needs
    only the columns). Equal to a tuple of the same fills."""

    def __init__(self, bars, times, targets, price, traded, qty_after, fee, slip_cost, before):
        self.cols = (bars, times, targets, price, traded, qty_after, fee, slip_cost, before)
        self._rows: tuple[Fill, ...] | None = None

    def _build(self) -> tuple[Fill, ...]:
        if self._rows is None:
            self._rows = tuple(
                Fill(b, t, "BUY" if tg > tb else "SELL", p, x, qa, tg, fe, sc)
                for b, t, tg, p, x, qa, fe, sc, tb in zip(*(np.asarray(c).tolist() for c in self.cols)))
        return self._rows

    def __len__(self) -> int:
        return len(self.cols[0])

    def __getitem__(self, i):
        return self._build()[i]

    def __iter__(self):
        return iter(self._build())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (tuple, _FillTable)):
            return self._build() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple, so not hashable (as a list)

    def traded_notional(self) -> float:
        return float(np.dot(self.cols[3], self.cols[4]))


def run_targets(klines: Any, targets: np.ndarray, costs: Costs, *, initial_cash: float = 10_000.0,
                funding_rate: np.ndarray | None = None) -> SingleResult:
    """Targets decided at each bar's close -> the next-open backtest on `klines` (a `marketdata.Klines`)."""
    return simulate(klines.open, klines.close, targets_for_execution(targets), costs, initial_cash=initial_cash,
                    funding_rate=funding_rate, time_ms=klines.open_time_ms, bar_ms=klines.interval_ms)
