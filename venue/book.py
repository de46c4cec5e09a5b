"""Synthetic order book around the replayed price.

Deterministic, so fills can be computed by hand: the touch sits spread_bps/2 either side of the mark
(rounded outwards to the tick, never closer than one tick), levels are `level_step` apart (at least one
tick, about level_step_bps of price), and level i holds base_notional x (1 + growth x i) of quote value,
i.e. depth grows away from the touch. Market orders walk these levels (slippage); the book is unbounded
(levels keep coming), so a market order always fills.
"""
from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal

from core.numbers import to_decimal

from .filters import SymbolSpec

ONE = Decimal(1)


class BookModel:
    def __init__(self, spread_bps: float = 1.0, level_step_bps: float = 0.5,
                 base_notional: float = 25_000.0, growth: float = 0.5):
        self.spread = to_decimal(spread_bps) / Decimal(10_000)
        self.level_step = to_decimal(level_step_bps) / Decimal(10_000)
        self.base_notional = to_decimal(base_notional)
        self.growth = to_decimal(growth)

    def touch(self, spec: SymbolSpec, mark: Decimal) -> tuple[Decimal, Decimal]:
        t = spec.tick
        half = self.spread / 2
        bid = (mark * (ONE - half) / t).to_integral_value(ROUND_FLOOR) * t
        ask = (mark * (ONE + half) / t).to_integral_value(ROUND_CEILING) * t
        if ask - bid < t:
            ask = bid + t
        return bid, ask

    def _gap(self, spec: SymbolSpec, mark: Decimal) -> Decimal:
        ticks = (mark * self.level_step / spec.tick).to_integral_value(ROUND_FLOOR)
        return max(ticks, ONE) * spec.tick

    def _qty(self, spec: SymbolSpec, price: Decimal, i: int) -> Decimal:
        notional = self.base_notional * (ONE + self.growth * i)
        q = (notional / price / spec.step).to_integral_value(ROUND_DOWN) * spec.step
        return max(q, spec.step)

    def levels(self, spec: SymbolSpec, mark: Decimal, side: str, n: int) -> list[tuple[Decimal, Decimal]]:
        """side 'ask' or 'bid'; best first."""
        bid, ask = self.touch(spec, mark)
        gap = self._gap(spec, mark)
        out = []
        for i in range(n):
            p = ask + gap * i if side == "ask" else bid - gap * i
            if p <= 0:
                break
            out.append((p, self._qty(spec, p, i)))
        return out

    def walk(self, spec: SymbolSpec, mark: Decimal, taker_side: str, qty: Decimal,
             limit: Decimal | None = None) -> list[tuple[Decimal, Decimal]]:
        """Fills (price, qty) for a taker of `qty` on `taker_side` ('BUY' eats asks), best first, stopping
        at `limit` if given. May return less than qty only when a limit stops it."""
        bid, ask = self.touch(spec, mark)
        gap = self._gap(spec, mark)
        fills: list[tuple[Decimal, Decimal]] = []
        left = qty
        i = 0
        while left > 0:
            p = ask + gap * i if taker_side == "BUY" else bid - gap * i
            if p <= 0:
                break
            if limit is not None and ((taker_side == "BUY" and p > limit) or (taker_side == "SELL" and p < limit)):
                break
            take = min(left, self._qty(spec, p, i))
            fills.append((p, take))
            left -= take
            i += 1
        return fills
