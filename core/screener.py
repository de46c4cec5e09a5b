"""Screener: per symbol and timeframe, the breadcrumb fields of docs/Runbook.md and the emission decision.

    [screener] SOLUSDT 15m z=+2.57 rsi=53.3 atr=0.011 cross_up=True cross_down=False in_trade=False side=-
    [screener] attempted=15 emitted=1

Fields (`ScreenerFields`), all at the last closed bar:
    z           rolling z-score of the close over `z_window` bars (current bar included)
    rsi         Wilder RSI(`rsi_period`)
    atr         Wilder ATR(`atr_period`) as a FRACTION of the close (0.011 = 1.1 %)
    cross_up / cross_down   SMA(`fast_ma`) crossing SMA(`slow_ma`) on this bar
Position fields come from the caller: `in_trade` and `side` ('-' when flat, else LONG/SHORT).

Emission gating uses the hybrid score gates of `core.alpha.gate` (per tier): a row is emitted with
signal BUY (gate LONG) or SELL (gate SHORT), unless the symbol already holds a position on that side
(re-emitting an intent for a position we hold would double it). `attempted` counts every symbol
screened in the cycle, `emitted` the rows with a signal.

Pure: the caller formats and logs the lines; nothing here prints.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from core.alpha import HybridResult, Side, gate
from core.bars import Bar, Ohlc
from core.indicators import (
    AtrState,
    CrossState,
    RsiState,
    SmaState,
    ZScoreState,
    atr,
    crossover,
    deadband_sign,
    rsi,
    sma,
    zscore,
)
from core.orders import entry_side
from settings.models import HybridScoring, ScreenerSettings

__all__ = [
    "ScreenerFields",
    "ScreenerRow",
    "ScreenerCycle",
    "ScreenerState",
    "screener_fields",
    "emission_signal",
    "screen_symbol",
    "screen_cycle",
    "format_breadcrumb",
    "format_cycle_summary",
]

Signal = Literal["BUY", "SELL"]
FLAT = "-"


@dataclass(frozen=True)
class ScreenerFields:
    """Indicator fields at one bar (NaN / False while warming up)."""

    z: float
    rsi: float
    atr: float  # fraction of price
    cross_up: bool
    cross_down: bool

    @property
    def ready(self) -> bool:
        return all(math.isfinite(v) for v in (self.z, self.rsi, self.atr))


def screener_fields(bars: Any, params: ScreenerSettings = ScreenerSettings()) -> ScreenerFields:
    """Fields at the last bar of `bars` (anything with open/high/low/close arrays), computed in batch.

    The live loop should prefer `ScreenerState` (O(1) per new bar); both agree.
    """
    b = Ohlc.of(bars)
    if len(b) == 0:
        return ScreenerFields(math.nan, math.nan, math.nan, False, False)
    z = zscore(b.close, params.z_window)[-1]
    r = rsi(b.close, params.rsi_period)[-1]
    a = atr(b.high, b.low, b.close, params.atr_period)[-1]
    up, down = crossover(sma(b.close, params.fast_ma), sma(b.close, params.slow_ma))
    return ScreenerFields(float(z), float(r), _atr_fraction(float(a), _last_valid_close(b)),
                          bool(up[-1]), bool(down[-1]))


def _last_valid_close(b: Ohlc) -> float:
    for i in range(len(b) - 1, -1, -1):
        c = float(b.close[i])
        if math.isfinite(c) and math.isfinite(float(b.high[i])) and math.isfinite(float(b.low[i])):
            return c
    return math.nan


def _atr_fraction(atr_value: float, close: float) -> float:
    return atr_value / close if close > 0.0 and math.isfinite(atr_value) else math.nan


@dataclass(frozen=True, slots=True)
class ScreenerState:
    """Incremental screener fields for the live loop; `update(bar)` is O(z_window + slow_ma)."""

    params: ScreenerSettings
    z: ZScoreState
    rsi: RsiState
    atr: AtrState
    fast: SmaState
    slow: SmaState
    cross: CrossState
    last_close: float = math.nan
    fields: ScreenerFields = ScreenerFields(math.nan, math.nan, math.nan, False, False)

    @classmethod
    def start(cls, params: ScreenerSettings = ScreenerSettings()) -> ScreenerState:
        return cls(
            params,
            ZScoreState.start(params.z_window),
            RsiState.start(params.rsi_period),
            AtrState.start(params.atr_period),
            SmaState.start(params.fast_ma),
            SmaState.start(params.slow_ma),
            CrossState.start(),
        )

    @classmethod
    def warm(cls, bars: Any, params: ScreenerSettings = ScreenerSettings()) -> ScreenerState:
        """The state after folding `bars` (anything with open/high/low/close arrays) through `update`,
        built from batch results (see `core.indicators`, "Warm start"); `fields` are the last bar's."""
        b = Ohlc.of(bars)
        finite = np.isfinite(b.close)
        closes = b.close[finite]
        fast = SmaState.warm(closes, params.fast_ma)
        slow = SmaState.warm(closes, params.slow_ma)
        cross = CrossState.warm([fast.value], [slow.value])
        up = down = False
        if len(closes) > params.slow_ma and finite[-1]:  # the SMAs were ready at the previous valid close too
            before = closes[:-1]
            prev = deadband_sign(SmaState.warm(before, params.fast_ma).value,
                                 SmaState.warm(before, params.slow_ma).value)
            now = cross.prev_sign
            up, down = now > 0 and prev <= 0, now < 0 and prev >= 0  # type: ignore[operator]  # warm SMAs: signs known
        ok = np.flatnonzero(finite & np.isfinite(b.high) & np.isfinite(b.low))
        last_close = float(b.close[ok[-1]]) if len(ok) else math.nan
        z = ZScoreState.warm(closes, params.z_window)
        r = RsiState.warm(closes, params.rsi_period)
        a = AtrState.warm(b.high, b.low, b.close, params.atr_period)
        fields = ScreenerFields(z.value, r.value, _atr_fraction(a.value, last_close), up, down)
        return cls(params, z, r, a, fast, slow, cross, last_close, fields)

    def update(self, bar: Bar) -> tuple[ScreenerState, ScreenerFields]:
        z_state, z = self.z.update(bar.close)
        rsi_state, r = self.rsi.update(bar.close)
        atr_state, a = self.atr.update(bar.high, bar.low, bar.close)
        fast_state, f = self.fast.update(bar.close)
        slow_state, s = self.slow.update(bar.close)
        cross_state, (up, down) = self.cross.update(f, s)
        bar_ok = math.isfinite(bar.close) and math.isfinite(bar.high) and math.isfinite(bar.low)
        last_close = bar.close if bar_ok else self.last_close
        if not math.isfinite(bar.close):  # a skipped bar: no crossover can happen on it
            up = down = False
        fields = ScreenerFields(z, r, _atr_fraction(a, last_close), up, down)
        state = ScreenerState(
            self.params, z_state, rsi_state, atr_state, fast_state, slow_state, cross_state, last_close, fields
        )
        return state, fields


@dataclass(frozen=True)
class ScreenerRow:
    """One breadcrumb: the fields, the position, and the emission decision."""

    symbol: str
    timeframe: str
    z: float
    rsi: float
    atr: float
    cross_up: bool
    cross_down: bool
    in_trade: bool
    side: str  # '-' when flat, else 'LONG' / 'SHORT'
    hybrid: float | None = None
    signal: Signal | None = None

    @property
    def emitted(self) -> bool:
        return self.signal is not None


def emission_signal(gate_side: Side | None, position_side: str | None) -> Signal | None:
    """BUY for a LONG gate, SELL for a SHORT gate, unless the position is already on that side."""
    if gate_side is None or gate_side == position_side:
        return None
    return entry_side(gate_side)  # type: ignore[return-value]  # BUY | SELL


def screen_symbol(
    symbol: str,
    timeframe: str,
    fields: ScreenerFields,
    *,
    position_side: Side | None = None,
    hybrid: HybridResult | None = None,
    scoring: HybridScoring = HybridScoring(),
) -> ScreenerRow:
    """Build the row for a symbol: fields + position + the hybrid gate of the symbol's tier.

    Without a hybrid result (e.g. scores unavailable) nothing is emitted. A symbol whose fields are not
    ready (warm-up, bad data) is never emitted either.
    """
    if position_side not in (None, "LONG", "SHORT"):
        raise ValueError(f"position_side must be None, 'LONG' or 'SHORT', got {position_side!r}")
    signal: Signal | None = None
    score: float | None = None
    if hybrid is not None:
        score = hybrid.hybrid
        if fields.ready:
            signal = emission_signal(gate(hybrid.hybrid, scoring.thresholds_for(hybrid.tier)), position_side)
    return ScreenerRow(
        symbol,
        timeframe,
        fields.z,
        fields.rsi,
        fields.atr,
        fields.cross_up,
        fields.cross_down,
        position_side is not None,
        position_side or FLAT,
        score,
        signal,
    )


@dataclass(frozen=True)
class ScreenerCycle:
    rows: tuple[ScreenerRow, ...]

    @property
    def attempted(self) -> int:
        return len(self.rows)

    @property
    def emitted(self) -> int:
        return sum(1 for r in self.rows if r.emitted)

    @property
    def signals(self) -> tuple[ScreenerRow, ...]:
        """Emitted rows, best hybrid first for BUYs and most negative first for SELLs, ties by symbol."""
        return tuple(sorted((r for r in self.rows if r.emitted), key=lambda r: (-abs(r.hybrid or 0.0), r.symbol)))


def screen_cycle(rows: Iterable[ScreenerRow]) -> ScreenerCycle:
    return ScreenerCycle(tuple(rows))


def _fmt(value: float, spec: str) -> str:
    return format(value, spec) if math.isfinite(value) else "nan"


def format_breadcrumb(row: ScreenerRow) -> str:
    """`[screener] SOLUSDT 15m z=+2.57 rsi=53.3 atr=0.011 cross_up=True cross_down=False in_trade=False side=-`"""
    return (
        f"[screener] {row.symbol} {row.timeframe} z={_fmt(row.z, '+.2f')} rsi={_fmt(row.rsi, '.1f')} "
        f"atr={_fmt(row.atr, '.3f')} cross_up={row.cross_up} cross_down={row.cross_down} "
        f"in_trade={row.in_trade} side={row.side}"
    )


def format_cycle_summary(cycle: ScreenerCycle) -> str:
    """`[screener] attempted=15 emitted=1`"""
    return f"[screener] attempted={cycle.attempted} emitted={cycle.emitted}"
