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
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backtest.costs import Costs, fill_price
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
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


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
        f, slip = self.costs.fee, self.costs.slippage
        buy = target > self.target
        price = fill_price(open_price, buy, slip)
        q_old = self.qty
        cash = self.cash + q_old * price - f * abs(q_old) * price
        q_new = target * cash / (price * (1.0 + f))
        cash -= q_new * price + f * abs(q_new) * price
        traded = abs(q_old) + abs(q_new)  # the old position closed, the new one opened
        fee = f * traded * price
        slip_cost = traded * open_price * slip
        fill = Fill(bar, time_ms, "BUY" if buy else "SELL", price, traded, q_new, target, fee, slip_cost)
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
    fills: tuple[Fill, ...]
    fees: float
    slippage: float
    funding: float
    initial_cash: float
    bar_ms: int

    def summary(self) -> dict[str, Any]:
        out = summary_figures(self.equity, self.initial_cash, self.bar_ms)
        traded = sum(f.qty * f.price for f in self.fills)
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
    prev = np.empty(n)
    if n:
        prev[0] = 0.0
        prev[1:] = h[:-1]
    bars = np.flatnonzero(h != prev)
    if costs.funding and funding_rate is not None:
        rate = np.nan_to_num(np.asarray(funding_rate, dtype=np.float64), nan=0.0)
        fcum = np.cumsum(o * rate)  # funding per unit of quantity, settled up to and including bar t's open
    else:
        fcum = np.zeros(n)
    book = Book(costs, float(initial_cash))
    # per fill: cash right after it, quantity, and the funding-per-unit baseline at its bar
    seg_cash = np.empty(len(bars) + 1)
    seg_qty = np.empty(len(bars) + 1)
    seg_f0 = np.empty(len(bars) + 1)
    seg_cash[0], seg_qty[0], seg_f0[0] = book.cash, 0.0, 0.0
    last_f = 0.0
    opens, targets, fl, times = o[bars].tolist(), h[bars].tolist(), fcum[bars].tolist(), t_ms[bars].tolist()
    for k, b in enumerate(bars.tolist()):
        fk = fl[k]
        if book.qty != 0.0 and fk != last_f:
            pay = book.qty * (fk - last_f)
            book.cash -= pay
            book.funding += pay
        last_f = fk
        if not math.isfinite(opens[k]):
            raise ValueError(f"bar {b}: open is not finite, cannot fill")
        book.rebalance(b, times[k], opens[k], targets[k])
        seg_cash[k + 1], seg_qty[k + 1], seg_f0[k + 1] = book.cash, book.qty, fk
    seg = np.searchsorted(bars, np.arange(n), side="right")  # fills at or before bar t (0 = none yet)
    q = seg_qty[seg]
    cash = seg_cash[seg] - q * (fcum - seg_f0[seg])
    equity = cash + q * c
    if costs.funding and funding_rate is not None and len(bars) and book.qty != 0.0:
        tail = book.qty * (fcum[-1] - last_f)
        book.funding += float(tail)
    return SingleResult(t_ms, equity, q, h, tuple(book.fills), book.fees, book.slippage, book.funding,
                        float(initial_cash), int(bar_ms))


def run_targets(klines: Any, targets: np.ndarray, costs: Costs, *, initial_cash: float = 10_000.0,
                funding_rate: np.ndarray | None = None) -> SingleResult:
    """Targets decided at each bar's close -> the next-open backtest on `klines` (a `marketdata.Klines`)."""
    return simulate(klines.open, klines.close, targets_for_execution(targets), costs, initial_cash=initial_cash,
                    funding_rate=funding_rate, time_ms=klines.open_time_ms, bar_ms=klines.interval_ms)
