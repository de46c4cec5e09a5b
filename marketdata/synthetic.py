"""Seeded synthetic USD-M perpetual market, so a clone without ../shared/data still has data.

Model, chosen to reproduce the stylised facts strategies react to (not to forecast anything):

* One common market factor plus one idiosyncratic component per symbol, each a GARCH(1,1) on an hourly
  clock with Student-t innovations and rare compound-Poisson jumps. A symbol's return is
  sigma * (sqrt(w) * market + sqrt(1 - w) * idio), so alts correlate with BTC by about sqrt(w_btc * w_alt).
* A slow AR(1) drift in the market factor (multi-day trends, too small to make hourly returns predictable),
  and an intraday / weekend volatility profile on the UTC clock.
* Every hour is simulated as 60 one-minute steps; each minute's high/low is drawn from the exact
  distribution of a Brownian bridge's max/min between its open and close. Bars of every interval are
  aggregates of the same minutes, so 5m, 15m and 1h series generated with the same seed and start agree
  exactly (prices; volumes up to the lot rounding).
* Volume rises with the volatility regime and with |return|; prices and volumes are rounded to the
  exchange tick and lot of the symbol (integer arithmetic, so files hold clean decimals).
* Funding every 8 h at 00/08/16 UTC from a persistent premium that follows the trailing 3-day trend,
  passed through Binance's formula F = P + clamp(0.01 % - P, +-0.05 %), clipped to +-0.3 %.

Determinism: every random stream is `np.random.default_rng(SeedSequence(seed, spawn_key=hash(name, part)))`
and is drawn hour-major, so a series depends only on (seed, symbol, start, params): not on the other symbols,
their order, or the length asked for (a longer series extends a shorter one).
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from core.timeframes import HOUR_MS, MINUTE_MS
from execution.state_store import atomic_write_bytes
from marketdata.files import (
    INTERVAL_MS,
    Funding,
    Klines,
    MarketDataError,
    validate_funding,
    validate_klines,
    write_funding,
    write_klines,
)

__all__ = [
    "DEFAULT_SYMBOLS",
    "SYMBOL_SPECS",
    "SymbolSpec",
    "MarketParams",
    "symbol_spec",
    "generate_klines",
    "generate_funding",
    "generate_dataset",
    "main",
]

_FUNDING_MS = 8 * HOUR_MS
_MIN_PER_HOUR = 60
_HOURS_PER_YEAR = 24 * 365


@dataclass(frozen=True)
class SymbolSpec:
    """Per-symbol scale of the simulation (exchange tick/lot from the mainnet exchangeInfo)."""

    start_price: float
    annual_vol: float  # long-run annualised volatility of log returns
    market_share: float  # fraction of return variance from the common factor (corr with BTC ~ sqrt(w*w_btc))
    price_decimals: int  # tick = 10**-price_decimals
    qty_decimals: int  # lot = 10**-qty_decimals (volume is in base asset)
    quote_volume_per_hour: float  # typical traded notional in USDT


SYMBOL_SPECS: dict[str, SymbolSpec] = {
    "BTCUSDT": SymbolSpec(60_000.0, 0.55, 0.80, 1, 3, 8e8),
    "ETHUSDT": SymbolSpec(3_000.0, 0.70, 0.70, 2, 3, 4e8),
    "SOLUSDT": SymbolSpec(150.0, 0.90, 0.55, 3, 0, 1.5e8),
    "BNBUSDT": SymbolSpec(600.0, 0.60, 0.55, 2, 2, 2.5e7),
    "XRPUSDT": SymbolSpec(0.6, 0.85, 0.45, 4, 1, 1e8),
    "DOGEUSDT": SymbolSpec(0.15, 1.00, 0.50, 5, 0, 8e7),
    "LINKUSDT": SymbolSpec(15.0, 0.90, 0.55, 3, 2, 2.5e7),
    "LTCUSDT": SymbolSpec(80.0, 0.75, 0.55, 2, 3, 2e7),
    "ADAUSDT": SymbolSpec(0.45, 0.85, 0.55, 4, 0, 3e7),
    "AVAXUSDT": SymbolSpec(30.0, 0.95, 0.55, 3, 0, 3e7),
}

DEFAULT_SYMBOLS: tuple[str, ...] = tuple(SYMBOL_SPECS)

_GENERIC_SPEC = SymbolSpec(10.0, 0.90, 0.50, 4, 1, 1e7)


def _decimals_for(price: float) -> int:
    """About five significant digits of tick, like Binance listings."""
    return max(0, 5 - math.floor(math.log10(price)))


def symbol_spec(symbol: str, start_price: float | None = None) -> SymbolSpec:
    """The spec of a known symbol (or a generic alt); a different start price refines the tick so the
    tick stays small relative to the price."""
    spec = SYMBOL_SPECS.get(symbol, _GENERIC_SPEC)
    if start_price is None or start_price == spec.start_price:
        return spec
    if not (start_price > 0 and math.isfinite(start_price)):
        raise MarketDataError(f"start_price must be positive and finite, got {start_price!r}")
    extra = max(0, math.ceil(math.log10(spec.start_price / start_price)))
    decimals = spec.price_decimals + extra if symbol in SYMBOL_SPECS else _decimals_for(start_price)
    return replace(spec, start_price=float(start_price), price_decimals=decimals)


@dataclass(frozen=True)
class MarketParams:
    """Dynamics shared by all symbols. Variances are in units of the symbol's long-run hourly variance."""

    garch_alpha: float = 0.08
    garch_beta: float = 0.90
    t_df: float = 6.0  # Student-t dof of hourly innovations (> 2; >= 6 keeps the GARCH 4th moment finite)
    market_jump_prob: float = 1 / 750  # per hour
    idio_jump_prob: float = 1 / 1000  # per hour
    jump_sd: float = 4.0  # jump size sd, in hourly sigmas
    trend_hours: float = 240.0  # time constant of the market drift (AR(1))
    trend_sd: float = 0.04  # stationary sd of the market drift, in hourly sigmas per hour
    drift_per_year: float = 0.0  # constant log drift
    vol_scale: float = 1.0  # multiplies every symbol's annual_vol
    intraday_amplitude: float = 0.5  # variance swing over the UTC day (peak 15:00 UTC, trough 03:00)
    weekend_vol: float = 0.8  # sd multiplier on Saturday/Sunday (before renormalising)
    volume_noise: float = 0.35  # lognormal sd of per-minute volume noise
    funding_cap: float = 0.003  # |funding rate| clip

    def __post_init__(self) -> None:
        stationary = 0 <= self.garch_alpha and 0 <= self.garch_beta and self.garch_alpha + self.garch_beta < 1
        if not (self.t_df > 2 and stationary):
            raise MarketDataError(f"invalid GARCH/t parameters: {self}")
        for name in ("market_jump_prob", "idio_jump_prob"):
            if not 0 <= getattr(self, name) < 1:
                raise MarketDataError(f"{name} must be in [0, 1)")


# --------------------------------------------------------------------------- random streams


def _rng(seed: int, name: str, part: str) -> np.random.Generator:
    """An independent stream per (seed, name, part); names are hashed so no order or registry matters."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MarketDataError(f"seed must be a non-negative int, got {seed!r}")
    key = int.from_bytes(hashlib.blake2b(f"{name}/{part}".encode(), digest_size=8).digest(), "little")
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(key,)))


# --------------------------------------------------------------------------- the simulation


def _garch_variance(e: np.ndarray, jump: np.ndarray, p: MarketParams, q: float) -> np.ndarray:
    """Hourly conditional variance; jumps feed back into it like shocks (volatility after a crash)."""
    a, b = p.garch_alpha, p.garch_beta
    omega = (1 - a - b) * (1 - q) - a * q  # long-run diffusion variance 1 - q, jumps supply q
    if omega <= 0:
        raise MarketDataError("jump variance too large for the GARCH parameters")
    e2, j2 = (e * e).tolist(), (jump * jump).tolist()
    out = [0.0] * len(e2)
    v = 1.0 - q
    for i in range(len(e2)):  # sequential by nature; plain floats are faster than numpy scalars here
        out[i] = v
        v = min(omega + a * (v * e2[i] + j2[i]) + b * v, 50.0)
    return np.asarray(out)


def _component(seed: int, name: str, n_hours: int, p: MarketParams, jump_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Minute increments (n_hours, 60) of a unit-variance-per-hour GARCH-t process with jumps,
    and the conditional hourly sd of its diffusion part."""
    z = _rng(seed, name, "shock").standard_normal((n_hours, _MIN_PER_HOUR))
    mix = np.sqrt((p.t_df - 2) / _rng(seed, name, "mix").chisquare(p.t_df, n_hours))
    e = mix * z.sum(axis=1) / math.sqrt(_MIN_PER_HOUR)  # exactly Student-t, unit variance
    u = _rng(seed, name, "jump").random((n_hours, 2))
    size = _rng(seed, name, "jump-size").standard_normal(n_hours) * p.jump_sd
    jump = np.where(u[:, 0] < jump_prob, size, 0.0)
    var = _garch_variance(e, jump, p, jump_prob * p.jump_sd**2)
    sd = np.sqrt(var) * mix
    inc = z * (sd / math.sqrt(_MIN_PER_HOUR))[:, None]
    inc[np.arange(n_hours), (u[:, 1] * _MIN_PER_HOUR).astype(np.int64)] += jump
    return inc, sd


def _seasonality(origin_ms: int, n_hours: int, p: MarketParams) -> np.ndarray:
    """Volatility multiplier per UTC hour, normalised to unit mean variance over a week."""

    def variance(epoch_hours: np.ndarray) -> np.ndarray:
        hod = epoch_hours % 24
        dow = (epoch_hours // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        day = 1 + p.intraday_amplitude * np.cos(2 * np.pi * (hod - 15) / 24)
        return day * np.where(dow >= 5, p.weekend_vol**2, 1.0)

    week_mean = variance(np.arange(24 * 7)).mean()
    hours = origin_ms // HOUR_MS + np.arange(n_hours)
    return np.sqrt(variance(hours) / week_mean)


def _ar1(shocks: np.ndarray, timescale: float, sd: float) -> np.ndarray:
    """Stationary AR(1) with e-folding `timescale` steps and marginal sd `sd`, driven by N(0,1) shocks."""
    phi = math.exp(-1 / timescale)
    k = math.sqrt(1 - phi * phi)
    eta = (shocks * sd).tolist()
    out, m = [0.0] * len(eta), 0.0
    for i, e in enumerate(eta):
        m = e if i == 0 else phi * m + k * e
        out[i] = m
    return np.asarray(out)


def _trend(seed: int, n_hours: int, p: MarketParams) -> np.ndarray:
    """Market drift per hour (in hourly sigmas): slow enough to trend for days, too small to predict an hour."""
    return _ar1(_rng(seed, "__market__", "trend").standard_normal(n_hours), p.trend_hours, p.trend_sd)


@dataclass(frozen=True)
class _Market:
    inc: np.ndarray  # (H, 60) minute increments of the common factor
    sd: np.ndarray  # (H,) its conditional hourly sd
    trend: np.ndarray  # (H,) drift per hour, in hourly sigmas
    season: np.ndarray  # (H,) volatility multiplier


@functools.lru_cache(maxsize=2)
def _market(seed: int, origin_ms: int, n_hours: int, p: MarketParams) -> _Market:
    """The common factor; cached because every symbol of a dataset shares it."""
    inc, sd = _component(seed, "__market__", n_hours, p, p.market_jump_prob)
    m = _Market(inc, sd, _trend(seed, n_hours, p), _seasonality(origin_ms, n_hours, p))
    for arr in (m.inc, m.sd, m.trend, m.season):
        arr.flags.writeable = False
    return m


@dataclass(frozen=True)
class _MinutePath:
    """Per-minute log open/high/low/close and volume in lots, from `origin_ms` on."""

    origin_ms: int
    log_open: np.ndarray
    log_high: np.ndarray
    log_low: np.ndarray
    log_close: np.ndarray
    lots: np.ndarray


def _simulate(symbol: str, origin_ms: int, n_minutes: int, seed: int, spec: SymbolSpec, p: MarketParams) -> _MinutePath:
    n_hours = -(-n_minutes // _MIN_PER_HOUR)
    mkt = _market(int(seed), origin_ms, n_hours, p)
    idio_inc, idio_sd = _component(seed, symbol, n_hours, p, p.idio_jump_prob)
    sigma = spec.annual_vol * p.vol_scale / math.sqrt(_HOURS_PER_YEAR)  # long-run hourly sd
    w = spec.market_share
    a, b = math.sqrt(w), math.sqrt(1 - w)
    drift = sigma * a * mkt.trend + p.drift_per_year / _HOURS_PER_YEAR  # per hour
    x = sigma * mkt.season[:, None] * (a * mkt.inc + b * idio_inc) + (drift / _MIN_PER_HOUR)[:, None]
    # per-minute variance of the diffusion, for the intra-minute range and for volume
    minute_var = (sigma * mkt.season) ** 2 * (w * mkt.sd**2 + (1 - w) * idio_sd**2) / _MIN_PER_HOUR
    x = x.ravel()[:n_minutes]
    minute_var = np.repeat(minute_var, _MIN_PER_HOUR)[:n_minutes]

    log_close = math.log(spec.start_price) + np.cumsum(x)
    log_open = np.concatenate(([math.log(spec.start_price)], log_close[:-1]))
    # Max/min of a Brownian bridge from 0 to x with variance s2: x/2 +- sqrt(x^2/4 - s2*ln(U)/2), exact.
    u = _rng(seed, symbol, "range").random((n_hours, 2 * _MIN_PER_HOUR)).reshape(-1, 2)[:n_minutes]
    half = x / 2
    up = half + np.sqrt(half * half - minute_var * np.log1p(-u[:, 0]) / 2)
    down = half - np.sqrt(half * half - minute_var * np.log1p(-u[:, 1]) / 2)

    activity = _activity(x, minute_var, sigma / math.sqrt(_MIN_PER_HOUR), mkt.season, seed, symbol, n_hours, p)
    base_volume = spec.quote_volume_per_hour / _MIN_PER_HOUR * activity / np.exp(log_close)
    lots = np.rint(base_volume * 10**spec.qty_decimals).astype(np.int64)
    return _MinutePath(origin_ms, log_open, log_open + up, log_open + down, log_close, lots)


def _activity(
    x: np.ndarray,
    minute_var: np.ndarray,
    ref_sd: float,
    season: np.ndarray,
    seed: int,
    symbol: str,
    n_hours: int,
    p: MarketParams,
) -> np.ndarray:
    """Relative trading activity per minute (mean about 1).

    Busier when volatility is high, right after large moves (causal, decaying over a few minutes), at
    busy UTC hours, and in slow "interest" regimes lasting days; plus per-minute lognormal noise.
    """
    n = len(x)
    size = np.abs(x) / np.sqrt(minute_var * (2 / math.pi))  # |move| / its expected size
    kernel = 0.3 * 0.7 ** np.arange(30)
    recent = np.convolve(size, kernel)[:n] / kernel.sum()
    regime = _ar1(_rng(seed, symbol, "volume-regime").standard_normal(n_hours), 72.0, 0.3)
    hourly = np.repeat(season**2 * np.exp(regime - 0.045), _MIN_PER_HOUR)[:n]
    s = p.volume_noise
    noise = np.exp(s * _rng(seed, symbol, "volume").standard_normal((n_hours, _MIN_PER_HOUR)).ravel()[:n] - s * s / 2)
    vol_level = np.sqrt(minute_var) / (ref_sd * np.repeat(season, _MIN_PER_HOUR)[:n])  # regime, clock removed
    return hourly * vol_level * (0.2 + 0.8 * recent * np.sqrt(recent)) * noise


def _to_ticks(log_price: np.ndarray, decimals: int) -> np.ndarray:
    """Round to the tick via integers (clean decimals in the file); never below one tick."""
    scale = 10**decimals
    return np.maximum(np.rint(np.exp(log_price) * scale), 1.0) / scale


def _bars(path: _MinutePath, symbol: str, spec: SymbolSpec, start_ms: int, n_bars: int, interval: str) -> Klines:
    per_bar = INTERVAL_MS[interval] // MINUTE_MS
    first = (start_ms - path.origin_ms) // MINUTE_MS
    sl = slice(first, first + n_bars * per_bar)

    def grid(a: np.ndarray) -> np.ndarray:
        return a[sl].reshape(n_bars, per_bar)

    d = spec.price_decimals
    k = Klines(
        symbol,
        interval,
        start_ms + INTERVAL_MS[interval] * np.arange(n_bars, dtype=np.int64),
        _to_ticks(grid(path.log_open)[:, 0], d),
        _to_ticks(grid(path.log_high).max(axis=1), d),  # rounding is monotone, so OHLC order survives
        _to_ticks(grid(path.log_low).min(axis=1), d),
        _to_ticks(grid(path.log_close)[:, -1], d),
        grid(path.lots).sum(axis=1) / 10**spec.qty_decimals,
    )
    validate_klines(k, f"<synthetic {symbol}-{interval}>")
    return k


def _to_ms(start: int | str | dt.datetime) -> int:
    """Epoch ms from an int, an ISO date/time string or a datetime (naive means UTC)."""
    if isinstance(start, (int, np.integer)):
        return int(start)
    if isinstance(start, str):
        start = dt.datetime.fromisoformat(start)
    if isinstance(start, dt.datetime):
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
        return int(round(start.timestamp() * 1000))
    raise MarketDataError(f"cannot interpret start {start!r}")


def _check_request(start_ms: int, n_bars: int, interval: str) -> None:
    if interval not in INTERVAL_MS:
        raise MarketDataError(f"unknown interval {interval!r}; known: {', '.join(INTERVAL_MS)}")
    if start_ms % INTERVAL_MS[interval]:
        raise MarketDataError(f"start {start_ms} is not aligned to the {interval} interval")
    if n_bars < 1:
        raise MarketDataError(f"n_bars must be >= 1, got {n_bars}")


def generate_klines(
    symbol: str,
    start_ms: int | str | dt.datetime,
    n_bars: int,
    interval: str = "1h",
    seed: int = 0,
    start_price: float | None = None,
    params: MarketParams | None = None,
) -> Klines:
    """`n_bars` synthetic bars of `symbol` from `start_ms` (must be aligned to `interval`).

    The result depends only on (symbol, start, seed, start_price, params); any interval and any length
    cuts the same underlying minute path, so series of different intervals agree with each other.
    """
    start = _to_ms(start_ms)
    _check_request(start, n_bars, interval)
    p = params or MarketParams()
    spec = symbol_spec(symbol, start_price)
    origin = start // HOUR_MS * HOUR_MS
    n_minutes = (start - origin) // MINUTE_MS + n_bars * INTERVAL_MS[interval] // MINUTE_MS
    path = _simulate(symbol, origin, n_minutes, seed, spec, p)
    return _bars(path, symbol, spec, start, n_bars, interval)


def generate_funding(symbol: str, klines: Klines, seed: int = 0, params: MarketParams | None = None) -> Funding:
    """8-hourly funding (00/08/16 UTC) at the grid times in [first open, last close) of `klines`,
    driven by the trailing 3-day trend of its closes.

    Most events land exactly on the 0.01 % interest rate, as on Binance in calm markets; sustained
    rallies push funding up (longs pay), sell-offs push it mildly negative.
    """
    p = params or MarketParams()
    if len(klines) < 2:
        raise MarketDataError("need at least two bars to generate funding")
    end_ms = int(klines.open_time_ms[-1]) + klines.interval_ms
    first = -(-int(klines.open_time_ms[0]) // _FUNDING_MS) * _FUNDING_MS
    times = np.arange(first, end_ms, _FUNDING_MS, dtype=np.int64)  # events in [first open, last close)
    if times.size == 0:
        raise MarketDataError("klines span no funding time (00:00/08:00/16:00 UTC)")

    # Trailing 3-day trend as a t-statistic of the bar returns: causal, and scale-free across symbols.
    lookback = max(1, 72 * HOUR_MS // klines.interval_ms)
    rets = np.diff(np.log(klines.close))
    cum = np.concatenate(([0.0], np.cumsum(rets)))
    cum_sq = np.concatenate(([0.0], np.cumsum(rets * rets)))
    last = np.searchsorted(klines.open_time_ms + klines.interval_ms, times, side="right") - 1  # last closed bar
    last = np.clip(last, 0, None)  # before the first close: an empty window, trend 0
    first_bar = np.clip(last - lookback, 0, None)
    move, energy = cum[last] - cum[first_bar], cum_sq[last] - cum_sq[first_bar]
    trend_z = np.divide(move, np.sqrt(energy), out=np.zeros_like(move), where=energy > 0)
    pull = np.tanh(trend_z / 1.5)
    target = -0.0002 + np.where(pull > 0, 0.0012, 0.0006) * pull  # premium index the market drifts towards

    eta = (_rng(seed, symbol, "funding").standard_normal(times.size) * 0.00015).tolist()
    premium, prem = [0.0] * times.size, float(target[0])
    for i, tgt in enumerate(target.tolist()):
        prem = 0.7 * prem + 0.3 * tgt + eta[i]
        premium[i] = prem
    prem_arr = np.asarray(premium)
    rate = prem_arr + np.clip(0.0001 - prem_arr, -0.0005, 0.0005)
    rate = np.rint(np.clip(rate, -p.funding_cap, p.funding_cap) * 1e8) / 1e8
    f = Funding(symbol, times, rate)
    validate_funding(f, f"<synthetic {symbol}-funding>")
    return f


def generate_dataset(
    out_dir: str | os.PathLike[str],
    symbols: Sequence[str] = DEFAULT_SYMBOLS,
    start: int | str | dt.datetime = "2024-01-01",
    n_bars: int = 24 * 365,
    interval: str = "1h",
    seed: int = 0,
    fine_intervals: Sequence[str] = ("15m", "5m"),
    fine_symbols: Sequence[str] = ("BTCUSDT", "ETHUSDT", "SOLUSDT"),
    params: MarketParams | None = None,
) -> list[Path]:
    """Write klines/, funding/ and a manifest.json in the ../shared/data layout; returns the files written.

    `fine_intervals` series (for the `fine_symbols` present) cover the same span and are cut from the
    same minute path as the main series, so resampling them reproduces it.
    """
    out = Path(out_dir)
    start_ms = _to_ms(start)
    _check_request(start_ms, n_bars, interval)
    p = params or MarketParams()
    span_ms = n_bars * INTERVAL_MS[interval]
    unknown = [iv for iv in fine_intervals if iv not in INTERVAL_MS]
    if unknown:
        raise MarketDataError(f"unknown interval(s) in fine_intervals: {unknown}")
    main_ms = INTERVAL_MS[interval]
    fine = [iv for iv in fine_intervals if INTERVAL_MS[iv] < main_ms and main_ms % INTERVAL_MS[iv] == 0]

    written: list[Path] = []
    manifest: dict = {
        "generator": "marketdata.synthetic",
        "synthetic": True,
        "seed": seed,
        "start_ms": start_ms,
        "params": asdict(p),
        "klines": {},
        "funding": {},
    }
    origin = start_ms // HOUR_MS * HOUR_MS
    for sym in dict.fromkeys(symbols):
        spec = symbol_spec(sym)
        path = _simulate(sym, origin, (start_ms - origin + span_ms) // MINUTE_MS, seed, spec, p)
        intervals = [interval] + (fine if sym in fine_symbols else [])
        main_klines: Klines | None = None
        for iv in intervals:
            k = _bars(path, sym, spec, start_ms, span_ms // INTERVAL_MS[iv], iv)
            if main_klines is None:
                main_klines = k
            written.append(write_klines(k, out))
            manifest["klines"][f"{sym}-{iv}"] = {
                "rows": len(k),
                "first_open_time_ms": int(k.open_time_ms[0]),
                "last_open_time_ms": int(k.open_time_ms[-1]),
                "file": f"klines/{sym}-{iv}.csv.gz",
            }
        assert main_klines is not None
        f = generate_funding(sym, main_klines, seed, p)
        written.append(write_funding(f, out))
        manifest["funding"][sym] = {
            "rows": len(f),
            "first_ms": int(f.funding_time_ms[0]),
            "last_ms": int(f.funding_time_ms[-1]),
            "file": f"funding/{sym}-funding.csv",
        }
    manifest_path = out / "manifest.json"
    atomic_write_bytes(manifest_path, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    written.append(manifest_path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m marketdata.synthetic",
        description="Write a seeded synthetic market (klines/, funding/, manifest.json) in the ../shared/data layout.",
    )
    ap.add_argument("--out", required=True, type=Path, help="output data directory (created if missing)")
    ap.add_argument("--symbols", nargs="+", default=list(DEFAULT_SYMBOLS), metavar="SYM",
                    help="symbols to generate (default: %(default)s)")
    ap.add_argument("--start", default="2024-01-01",
                    help="first bar open time, ISO date/time in UTC (default: %(default)s)")
    ap.add_argument("--bars", type=int, default=24 * 365, help="number of bars of --interval (default: %(default)s)")
    ap.add_argument("--interval", default="1h", choices=list(INTERVAL_MS),
                    help="main bar interval (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="random seed; same seed, same files (default: %(default)s)")
    ap.add_argument("--fine-intervals", nargs="*", default=["15m", "5m"], metavar="IV",
                    help="extra finer series over the same span (default: %(default)s; pass nothing to skip)")
    ap.add_argument("--fine-symbols", nargs="*", default=["BTCUSDT", "ETHUSDT", "SOLUSDT"], metavar="SYM",
                    help="symbols that get the finer series (default: %(default)s)")
    args = ap.parse_args(argv)
    try:
        files = generate_dataset(args.out, args.symbols, args.start, args.bars, args.interval, args.seed,
                                 args.fine_intervals, args.fine_symbols)
    except (MarketDataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for f in files:
        print(f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
