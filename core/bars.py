"""Bar records: one OHLC bar (`Bar`) and a column set of bars (`Ohlc`), the input of indicators,
strategies and the decision cycle."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Bar", "Ohlc"]


@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLC bar, the input of the incremental updates of the screener and the strategies."""

    open: float
    high: float
    low: float
    close: float

    def is_valid(self) -> bool:
        return all(math.isfinite(v) for v in (self.open, self.high, self.low, self.close))


@dataclass(frozen=True, eq=False)
class Ohlc:
    """OHLC column arrays. Anything with `.open/.high/.low/.close` arrays (e.g. `marketdata.Klines`)
    is accepted wherever an `Ohlc` is; this one exists so the core needs no I/O package."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __post_init__(self) -> None:
        cols = [np.asarray(getattr(self, c), dtype=np.float64) for c in ("open", "high", "low", "close")]
        if any(c.ndim != 1 for c in cols) or len({len(c) for c in cols}) != 1:
            raise ValueError("Ohlc columns must be 1-D arrays of equal length")
        for name, col in zip(("open", "high", "low", "close"), cols):
            object.__setattr__(self, name, col)

    @classmethod
    def from_close(cls, close: Any) -> Ohlc:
        """Bars whose open/high/low equal the close (for close-only series)."""
        c = np.asarray(close, dtype=np.float64)
        return cls(c, c, c, c)

    @classmethod
    def of(cls, bars: Any) -> Ohlc:
        """An `Ohlc` view of any object with open/high/low/close arrays."""
        if isinstance(bars, Ohlc):
            return bars
        return cls(bars.open, bars.high, bars.low, bars.close)

    def __len__(self) -> int:
        return len(self.close)

    def bar(self, i: int) -> Bar:
        return Bar(float(self.open[i]), float(self.high[i]), float(self.low[i]), float(self.close[i]))

    def head(self, n: int) -> Ohlc:
        """The first n bars (views)."""
        return Ohlc(self.open[:n], self.high[:n], self.low[:n], self.close[:n])

    def tail(self, n: int) -> Ohlc:
        """The last n bars (views)."""
        start = max(len(self) - n, 0)
        return Ohlc(self.open[start:], self.high[start:], self.low[start:], self.close[start:])
