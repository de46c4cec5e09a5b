"""Helpers shared by the benchmark scripts (not a benchmark itself)."""
from __future__ import annotations

import os

import numpy as np

from core.bars import Ohlc


def pin_one_core() -> str:
    """Pin this process to one CPU where the OS allows it (figures are per core)."""
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return f"pinned to cpu {min(os.sched_getaffinity(0))}"
    except (AttributeError, OSError):
        return "not pinned"


def make_bars(n_symbols: int, n_bars: int, synthetic: bool = True) -> tuple[list[str], dict[str, Ohlc], str]:
    """`n_symbols` symbols S000USDT.. with `n_bars` hourly bars from 2024-01-01: the seeded synthetic market
    (`marketdata.synthetic`) when importable and `synthetic`, else a numpy random walk (seeded, fast)."""
    symbols = [f"S{i:03d}USDT" for i in range(n_symbols)]
    if synthetic:
        try:
            from marketdata.synthetic import generate_klines
        except ImportError:
            pass
        else:
            bars = {s: Ohlc.of(generate_klines(s, "2024-01-01", n_bars, seed=i)) for i, s in enumerate(symbols)}
            return symbols, bars, "marketdata.synthetic"
    rng = np.random.default_rng(0)
    bars = {}
    for s in symbols:
        c = float(rng.choice([0.5, 20.0, 150.0, 3000.0, 60000.0])) * np.exp(np.cumsum(rng.normal(0, 0.01, n_bars)))
        sp = np.abs(rng.normal(0, 0.004, n_bars))
        bars[s] = Ohlc(c, c * (1 + sp), c * (1 - sp), c)
    return symbols, bars, "numpy random walk"
