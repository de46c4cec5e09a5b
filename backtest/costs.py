"""The fill, fee and funding conventions every backtest mode shares (docs/Backtest_Methodology.md).

Fill at a bar's open with the slippage as an adverse price move: a buy pays `open x (1 + slippage)`, a
sell gets `open x (1 - slippage)`. The fee is `fee rate x traded notional` at that price. Funding at a bar
whose open time is a funding time: `cash -= signed quantity x open x rate` (longs pay a positive rate).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Costs", "fill_price", "funding_payment"]


@dataclass(frozen=True, slots=True)
class Costs:
    """Rates as fractions (5 bps = 0.0005); `funding` switches funding payments on."""

    fee: float = 0.0
    slippage: float = 0.0
    funding: bool = False

    def __post_init__(self) -> None:
        for name in ("fee", "slippage"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0.0 <= v < 0.1):
                raise ValueError(f"{name} must be a fraction in [0, 0.1), got {v!r}")

    @classmethod
    def from_bps(cls, fee_bps: float, slippage_bps: float, funding: bool = False) -> Costs:
        return cls(float(fee_bps) / 1e4, float(slippage_bps) / 1e4, bool(funding))


def fill_price(open_price: float, buy: bool, slippage: float) -> float:
    """The price a market order placed at the bar's open fills at (adverse by `slippage`)."""
    return open_price * (1.0 + slippage) if buy else open_price * (1.0 - slippage)


def funding_payment(signed_qty: float, open_price: float, rate: float) -> float:
    """What the position pays at a funding time (negative: it receives)."""
    return signed_qty * open_price * rate
