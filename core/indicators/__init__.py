"""Technical indicators: vectorised over numpy arrays, and updatable one bar at a time.

Indicators: EMA, SMA, RSI (Wilder), ATR (Wilder), rolling z-score, Donchian channel, EWMA volatility
of log returns, MA crossover flags. Each has a batch function and an incremental state record.
Modules: `kernels` (input handling, the blocked recursion), `recursive` (EMA, RSI, ATR, EWMA vol),
`windows` (SMA, z-score, Donchian), `crosses` (dead-band signs, crossover flags). Bars: `core.bars`.

Conventions, the same for every indicator:

* **Warm-up.** Batch outputs have the input's length; positions before an indicator has enough data
  hold NaN (flags hold False).
* **Missing data: skip.** A bar whose inputs are not finite (NaN, +-inf; for log returns also a
  non-positive price) is *skipped*: it enters no window and no recursive state, the output at that
  position repeats the last output (NaN during warm-up) and flags are False there. One bad print can
  therefore never poison later values, and "the last N bars" means the last N *valid* bars. The batch
  result equals the result on the series with bad bars removed, forward-filled back into place
  (for the EMA this is exactly pandas' `ewm(span, adjust=False, ignore_na=True).mean()`).
* **Incremental.** Each indicator has a frozen state record: `XState.start(params)` and a pure
  `state.update(...) -> (new_state, value)`. Folding bars through `update` reproduces the batch output
  to ~1e-12 relative. States are immutable, so the live loop may evaluate a still-forming bar with
  `state.update(...)` and discard the new state. Cost per update is O(1) for the recursive indicators
  and O(window) for the windowed ones (z-score, SMA, Donchian), never O(history).
* **Warm start.** `XState.warm(<the batch function's arguments>)` is the state `XState.start(params)`
  reaches after folding those inputs through `update`, built from batch (numpy) results instead of a
  Python loop: ~100x faster for a 1,000-bar history. Windowed states (SMA, z-score, Donchian, cross)
  are exactly the folded ones; recursive ones (EMA, RSI, ATR, EWMA vol) agree to ~1e-13 relative (the
  same tolerance as batch vs incremental), and both then update identically.
* **Causal, bit for bit.** Output[t] depends only on inputs[0..t]; appending bars never changes an
  earlier output, not even in the last bit (block layouts below are fixed by the parameters, never by
  the series length). The strategies' anti-lookahead proofs rely on this.

Speed: the EMA-type recursions use a blocked closed form (cumulative sums inside blocks whose growth
factor (1-alpha)^-B stays below 1e50, a short scalar loop carrying state between blocks); rolling
windows use van Herk/Gil-Werman prefix/suffix blocks. Everything is O(n) numpy work.
"""
from __future__ import annotations

from core.indicators.crosses import (
    CrossState,
    crossover,
    deadband_above,
    deadband_sign,
    deadband_signs,
)
from core.indicators.kernels import (
    SIGN_DEADBAND,
    ema_alpha,
    valid_prices,
)
from core.indicators.recursive import (
    AtrState,
    EmaState,
    EwmaVolState,
    RsiState,
    atr,
    ema,
    ewma_vol,
    log_returns,
    rsi,
    true_range,
)
from core.indicators.windows import (
    DonchianState,
    SmaState,
    ZScoreState,
    donchian,
    sma,
    zscore,
)

__all__ = [
    "SIGN_DEADBAND",
    "ema_alpha",
    "ema",
    "sma",
    "rsi",
    "true_range",
    "atr",
    "zscore",
    "donchian",
    "log_returns",
    "ewma_vol",
    "crossover",
    "valid_prices",
    "deadband_sign",
    "deadband_signs",
    "deadband_above",
    "EmaState",
    "SmaState",
    "RsiState",
    "AtrState",
    "ZScoreState",
    "DonchianState",
    "EwmaVolState",
    "CrossState",
]
