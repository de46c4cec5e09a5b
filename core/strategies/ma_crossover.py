"""`ma_crossover`: docs/Runbook.md baseline perps strategy — SMA crossover entries, trailing-stop exits.

Per bar, at the close (SMA(short) vs SMA(long), crossover flags as in `core.indicators.crossover`):
    flat:  cross_up -> LONG;  cross_down -> SHORT (only if `enable_shorts`)
    LONG:  peak = max(peak, close); cross_down -> exit (or reverse to SHORT if shorts are enabled);
           close <= peak * (1 - trailing_stop_pct) -> exit
    SHORT: trough = min(trough, close); cross_up -> reverse to LONG;
           close >= trough * (1 + trailing_stop_pct) -> exit
After a stop-out, re-entry needs a fresh crossover. Stops are evaluated on closes (the decision is taken
at the close and executed at the next open); resting intrabar stop orders are `core.sl_tp`'s business.

Size: |target| = min(1, target_leverage / max_leverage) — the fraction of the leverage budget
(docs/Runbook.md: target_leverage 2 of a global cap of 5 -> 0.4). Sizing multiplies back by the cap.
Seed defaults: short 5, long 20, trailing stop 1 %, shorts disabled (long/flat only).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.bars import Bar, Ohlc
from core.indicators import CrossState, SmaState, crossover, sma
from core.strategies.base import StrategySpec, expand_targets, valid_close_mask

DEFAULTS = {
    "short_ma_period": 5,
    "long_ma_period": 20,
    "trailing_stop_pct": 0.01,
    "enable_shorts": False,
    "target_leverage": 2.0,
    "max_leverage": 5.0,
}

_NAN = math.nan


def _check(p: dict) -> None:
    if not 1 <= p["short_ma_period"] < p["long_ma_period"]:
        raise ValueError(
            "ma_crossover: need 1 <= short_ma_period < long_ma_period, "
            f"got {p['short_ma_period']}/{p['long_ma_period']}"
        )
    if not 0.0 < p["trailing_stop_pct"] < 1.0:
        raise ValueError(f"ma_crossover: trailing_stop_pct must be a fraction in (0, 1), got {p['trailing_stop_pct']}")
    if not (p["target_leverage"] > 0.0 and p["max_leverage"] > 0.0):
        raise ValueError("ma_crossover: target_leverage and max_leverage must be positive")


def _size(p: dict) -> float:
    return min(1.0, p["target_leverage"] / p["max_leverage"])


def _step(side: int, extreme: float, close: float, up: bool, down: bool, trail: float,
          shorts: bool) -> tuple[int, float]:
    """One bar of the position machine: (side, peak-or-trough) -> (side, peak-or-trough)."""
    if side > 0:
        extreme = max(extreme, close)
        if down:
            return (-1, close) if shorts else (0, _NAN)
        if close <= extreme * (1.0 - trail):
            return 0, _NAN
        return 1, extreme
    if side < 0:
        extreme = min(extreme, close)
        if up:
            return 1, close
        if close >= extreme * (1.0 + trail):
            return 0, _NAN
        return -1, extreme
    if up:
        return 1, close
    if down and shorts:
        return -1, close
    return 0, _NAN


def _run(close: np.ndarray, p: dict) -> tuple[np.ndarray, int, float]:
    """Sides on valid closes and the (side, peak-or-trough) after the last one."""
    ups, downs = crossover(sma(close, p["short_ma_period"]), sma(close, p["long_ma_period"]))
    trail, shorts = p["trailing_stop_pct"], p["enable_shorts"]
    sides = np.zeros(len(close))
    # Path dependent, so a loop over floats, but while flat only a crossover can open a position:
    # jump straight to the next one.
    entries = np.flatnonzero(ups | downs) if shorts else np.flatnonzero(ups)
    cl, up_l, down_l = close.tolist(), ups.tolist(), downs.tolist()
    side, extreme = 0, _NAN
    i, n = 0, len(cl)
    while i < n:
        if side == 0:
            k = int(np.searchsorted(entries, i))
            if k == len(entries):
                break
            i = int(entries[k])
        side, extreme = _step(side, extreme, cl[i], up_l[i], down_l[i], trail, shorts)
        sides[i] = side
        i += 1
    return sides, side, extreme


def _batch(bars: Ohlc, p: dict, bar_ms: int) -> np.ndarray:
    valid = valid_close_mask(bars)
    sides, _, _ = _run(bars.close[valid], p)
    return expand_targets(sides * _size(p), valid)


@dataclass(frozen=True, slots=True)
class MaCrossoverState:
    trail: float
    shorts: bool
    size: float
    fast: SmaState
    slow: SmaState
    cross: CrossState
    side: int = 0
    extreme: float = _NAN
    target: float = 0.0

    def update(self, bar: Bar) -> tuple[MaCrossoverState, float]:
        close = bar.close
        if not math.isfinite(close):
            return self, self.target
        fast, f = self.fast.update(close)
        slow, s = self.slow.update(close)
        cross, (up, down) = self.cross.update(f, s)
        side, extreme = _step(self.side, self.extreme, close, up, down, self.trail, self.shorts)
        target = side * self.size
        return MaCrossoverState(self.trail, self.shorts, self.size, fast, slow, cross, side, extreme, target), target


def _start(p: dict, bar_ms: int) -> MaCrossoverState:
    return MaCrossoverState(
        p["trailing_stop_pct"],
        p["enable_shorts"],
        _size(p),
        SmaState.start(p["short_ma_period"]),
        SmaState.start(p["long_ma_period"]),
        CrossState.start(),
    )


def _warm(bars: Ohlc, p: dict, bar_ms: int) -> MaCrossoverState:
    close = bars.close[valid_close_mask(bars)]
    _, side, extreme = _run(close, p)
    fast, slow = SmaState.warm(close, p["short_ma_period"]), SmaState.warm(close, p["long_ma_period"])
    size = _size(p)
    return MaCrossoverState(p["trailing_stop_pct"], p["enable_shorts"], size, fast, slow,
                            CrossState.warm([fast.value], [slow.value]), side, extreme, side * size)


MA_CROSSOVER = StrategySpec(
    name="ma_crossover",
    defaults=DEFAULTS,
    batch_fn=_batch,
    start_fn=_start,
    check_fn=_check,
    warmup_fn=lambda p, bar_ms: p["long_ma_period"] + 1,
    description="SMA(short)/SMA(long) crossover entries with a trailing stop (docs/Runbook.md baseline)",
    warm_fn=_warm,
)
