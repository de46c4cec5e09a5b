"""The R1 ensemble as a decision source (runtime.yaml `executor.decision_source: ensemble`).

The sleeves of `config/prod_candidate_R1.yaml` (`core.strategies.ensemble.EnsembleState`) give a weighted
target per symbol in [-1, 1] on each closed bar. The target becomes a notional: target x NAV (the leverage
of the candidate is margin efficiency, not extra exposure), positive on the LONG leg, negative on the SHORT
leg. On the bar's close (= the next bar's open, R1's `trade_on: next_open`) each leg is moved toward its
target when the difference is at least `ensemble_dead_band_nav_pct` of NAV, so noise does not churn.
Entries go through `check_order` like the hybrid path's; closes too (they pass in every state).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.bars import Bar
from core.filters import quantize_qty
from core.numbers import to_decimal
from core.risk_limits import ProposedOrder
from core.strategies.ensemble import EnsembleState

log = logging.getLogger("hedge.executor")
ZERO = Decimal(0)


@dataclass(frozen=True)
class LegOrder:
    order: ProposedOrder
    target: float
    target_usd: Decimal
    held_usd: Decimal


class EnsembleSource:
    def __init__(self, candidate: Any, history: Mapping[str, Any], *, bar_ms: int, dead_band_nav_pct: float):
        self.ensemble = candidate.ensemble
        self.symbols = sorted({s.symbol for s in self.ensemble.sleeves})
        missing = [s for s in self.symbols if s not in history]
        if missing:
            raise ValueError(f"ensemble sleeves need history for {missing}")
        self.state = EnsembleState.warm(self.ensemble, history, bar_ms=bar_ms)
        self.dead_band = to_decimal(dead_band_nav_pct)
        self.targets: dict[str, float] = self.state.per_symbol

    def update(self, bars: Mapping[str, Bar]) -> dict[str, float]:
        self.state, self.targets = self.state.update({s: b for s, b in bars.items() if s in self.symbols})
        return self.targets

    def orders(self, nav: Decimal, marks: Mapping[str, Decimal], legs: Mapping[tuple[str, str], Decimal],
               filters: Mapping[str, Any], *, hedge_mode: bool = True) -> list[LegOrder]:
        """Orders that move each leg to its target (closes first, so a flip frees margin before it adds)."""
        out: list[LegOrder] = []
        if not (nav.is_finite() and nav > 0):
            return out
        band = self.dead_band * nav
        for sym in self.symbols:
            mark, f = marks.get(sym), filters.get(sym)
            if mark is None or mark <= 0 or f is None:
                continue
            t = float(self.targets.get(sym, 0.0))
            want = {"LONG": to_decimal(max(t, 0.0)) * nav, "SHORT": to_decimal(max(-t, 0.0)) * nav}
            for ps in ("LONG", "SHORT"):
                held_qty = legs.get((sym, ps), ZERO)
                held = held_qty * mark
                diff = want[ps] - held
                if abs(diff) < band and not (want[ps] == 0 and held_qty > 0 and t == 0.0):
                    continue  # inside the dead band (a zero target always closes the leg)
                if diff > 0:
                    side, intent = ("BUY" if ps == "LONG" else "SELL"), "OPEN"
                    qty = quantize_qty(diff / mark, f, market=True)
                else:
                    side, intent = ("SELL" if ps == "LONG" else "BUY"), "CLOSE"
                    qty = held_qty if want[ps] == 0 else min(held_qty, quantize_qty(-diff / mark, f, market=True))
                if qty <= 0:
                    continue
                order = ProposedOrder(sym, side, ps if hedge_mode else "BOTH", qty, order_type="MARKET",
                                      intent=intent, tag="ensemble")
                out.append(LegOrder(order, t, want[ps], held))
        out.sort(key=lambda o: o.order.intent != "CLOSE")
        return out
