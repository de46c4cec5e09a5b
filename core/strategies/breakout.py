"""`breakout_vol_atr`: Donchian channel breakout with an ATR volatility stop and a time stop (R1 BTC).

Per bar, at the close (channel over the PREVIOUS `channel` bars, see `core.indicators.donchian`):
    flat:  close > upper -> LONG;  close < lower -> SHORT (if `enable_shorts`)
           entry stop = close -/+ atr_mult * ATR
    in a position (bars_held counts bars since the entry bar):
           exit if the close is through the stop (long: close <= stop; short: close >= stop)
           exit if bars_held >= time_stop_bars (time_stop_hours of bars; 72 h of 1h bars = 72; 0 = off)
           else trail the stop with the close: long stop = max(stop, close - atr_mult * ATR)
    an exit leaves the position flat for that bar; a new entry needs a new close beyond the channel.

Size: |target| = risk_mult * min(1, target_atr_pct / (ATR / close)) fixed at entry — the risk_mult share
of the sleeve, scaled down when the market is more volatile than `target_atr_pct` (0 = off: the
"something bounded by 1" is then 1). R1: channel 336, time stop 72 h, risk_mult 0.7, ATR 14.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.bars import Bar, Ohlc
from core.indicators import AtrState, DonchianState, atr, donchian
from core.strategies.base import StrategySpec, expand_targets, hours_to_bars, valid_close_mask

DEFAULTS = {
    "channel": 336,
    "atr_period": 14,
    "atr_mult": 3.0,
    "time_stop_hours": 72.0,
    "risk_mult": 0.7,
    "enable_shorts": True,
    "target_atr_pct": 0.0,
}

_NAN = math.nan
_FLAT = (0, _NAN, 0, 0.0)  # side, stop, bars_held, size


def _check(p: dict) -> None:
    if p["channel"] < 1 or p["atr_period"] < 1:
        raise ValueError("breakout_vol_atr: channel and atr_period must be >= 1")
    if not p["atr_mult"] > 0.0:
        raise ValueError(f"breakout_vol_atr: atr_mult must be positive, got {p['atr_mult']}")
    if p["time_stop_hours"] < 0.0:
        raise ValueError(f"breakout_vol_atr: time_stop_hours must be >= 0, got {p['time_stop_hours']}")
    if not 0.0 < p["risk_mult"] <= 1.0:
        raise ValueError(f"breakout_vol_atr: risk_mult must be in (0, 1], got {p['risk_mult']}")
    if p["target_atr_pct"] < 0.0:
        raise ValueError("breakout_vol_atr: target_atr_pct must be >= 0")


@dataclass(frozen=True)
class _Rules:
    atr_mult: float
    time_stop_bars: int
    risk_mult: float
    shorts: bool
    target_atr_pct: float

    @classmethod
    def of(cls, p: dict, bar_ms: int) -> _Rules:
        return cls(p["atr_mult"], hours_to_bars(p["time_stop_hours"], bar_ms), p["risk_mult"], p["enable_shorts"],
                   p["target_atr_pct"])

    def size(self, close: float, atr_value: float) -> float:
        if self.target_atr_pct > 0.0 and atr_value > 0.0 and close > 0.0:
            return self.risk_mult * min(1.0, self.target_atr_pct / (atr_value / close))
        return self.risk_mult


def _step(pos: tuple, close: float, upper: float, lower: float, atr_value: float, r: _Rules) -> tuple:
    """One bar of the position machine: (side, stop, bars_held, size) -> the same after this close."""
    side, stop, held, size = pos
    if side != 0:
        held += 1
        if (side > 0 and close <= stop) or (side < 0 and close >= stop):
            return _FLAT
        if r.time_stop_bars and held >= r.time_stop_bars:
            return _FLAT
        if atr_value == atr_value:
            stop = max(stop, close - r.atr_mult * atr_value) if side > 0 else min(stop, close + r.atr_mult * atr_value)
        return side, stop, held, size
    if upper != upper or lower != lower or atr_value != atr_value:
        return _FLAT
    if close > upper:
        return 1, close - r.atr_mult * atr_value, 0, r.size(close, atr_value)
    if r.shorts and close < lower:
        return -1, close + r.atr_mult * atr_value, 0, r.size(close, atr_value)
    return _FLAT


def _run(high: np.ndarray, low: np.ndarray, close: np.ndarray, p: dict, rules: _Rules) -> tuple[np.ndarray, tuple]:
    """Targets on valid bars and the position after the last one."""
    upper, lower = donchian(high, low, p["channel"])
    atr_values = atr(high, low, close, p["atr_period"])
    targets = np.zeros(len(close))
    pos = _FLAT
    # The position machine is path dependent, so it is a plain loop over floats, but only where it
    # matters: while flat, jump to the next bar that closes beyond the channel (the only possible entry).
    with np.errstate(invalid="ignore"):
        beyond = close > upper
        if rules.shorts:
            beyond |= close < lower
    entries = np.flatnonzero(beyond & np.isfinite(atr_values))
    cl, up, lo, av = close.tolist(), upper.tolist(), lower.tolist(), atr_values.tolist()
    i, n = 0, len(cl)
    while i < n:
        if pos[0] == 0:
            k = int(np.searchsorted(entries, i))
            if k == len(entries):
                break
            i = int(entries[k])
        pos = _step(pos, cl[i], up[i], lo[i], av[i], rules)
        targets[i] = pos[0] * pos[3]
        i += 1
    return targets, pos


def _batch(bars: Ohlc, p: dict, bar_ms: int) -> np.ndarray:
    valid = valid_close_mask(bars, need_range=True)
    targets, _ = _run(bars.high[valid], bars.low[valid], bars.close[valid], p, _Rules.of(p, bar_ms))
    return expand_targets(targets, valid)


@dataclass(frozen=True, slots=True)
class BreakoutState:
    rules: _Rules
    channel: DonchianState
    atr: AtrState
    pos: tuple = _FLAT
    target: float = 0.0

    def update(self, bar: Bar) -> tuple[BreakoutState, float]:
        if not (math.isfinite(bar.close) and math.isfinite(bar.high) and math.isfinite(bar.low)):
            return self, self.target
        channel, (upper, lower) = self.channel.update(bar.high, bar.low)
        atr_state, atr_value = self.atr.update(bar.high, bar.low, bar.close)
        pos = _step(self.pos, bar.close, upper, lower, atr_value, self.rules)
        target = pos[0] * pos[3]
        return BreakoutState(self.rules, channel, atr_state, pos, target), target


def _start(p: dict, bar_ms: int) -> BreakoutState:
    return BreakoutState(_Rules.of(p, bar_ms), DonchianState.start(p["channel"]), AtrState.start(p["atr_period"]))


def _warm(bars: Ohlc, p: dict, bar_ms: int) -> BreakoutState:
    valid = valid_close_mask(bars, need_range=True)
    high, low, close = bars.high[valid], bars.low[valid], bars.close[valid]
    rules = _Rules.of(p, bar_ms)
    _, pos = _run(high, low, close, p, rules)
    channel = DonchianState.warm(high, low, p["channel"])
    return BreakoutState(rules, channel, AtrState.warm(high, low, close, p["atr_period"]), pos, pos[0] * pos[3])


BREAKOUT_VOL_ATR = StrategySpec(
    name="breakout_vol_atr",
    defaults=DEFAULTS,
    batch_fn=_batch,
    start_fn=_start,
    check_fn=_check,
    warmup_fn=lambda p, bar_ms: max(p["channel"], p["atr_period"]),
    description="Donchian breakout, ATR trailing stop, time stop, size risk_mult",
    warm_fn=_warm,
)
