"""Speed of the backtest engine, side by side (prints only; tests hold no timing assertions).

    .venv/bin/python benchmarks/bench_backtest.py [--data ../shared/data] [--repeat 5] [--no-vectorbt]

1. ema_cross(24, 96) on BTCUSDT 1h, full history, fee 5 bps, slippage 3 bps, next-open fills, no funding:
   Hedge's fast path (the core's batch strategy + `backtest.engine.simulate`), a plain vectorised numpy
   implementation written here (closed-form growth per fill, `cumprod`), and vectorbt `from_signals`; the
   final equities are printed with their relative differences. Also the first call in a fresh process.
2. The same on all ten symbols' 1h history (~385k bars).
3. A 9-combination sweep (fast 12/24/48 x slow 96/192/288) on BTCUSDT: one `StrategySpec.many` call (each
   EMA span computed once), then one backtest per combination.
4. The R1 ensemble with the full live core and check_order (`backtest.portfolio`) on BTC/ETH/SOL 1h from
   2023-12-01: the fast path and the bar-by-bar reference through `core.cycle`, with the live risk files.
Needs the real data (../shared/data); each figure is the best of --repeat runs on one pinned core.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backtest.costs import Costs
from backtest.data import load_bars
from backtest.engine import run_targets
from benchmarks._common import pin_one_core
from core.strategies import STRATEGIES

FEE, SLIP = 0.0005, 0.0003
TEN = ["ADAUSDT", "AVAXUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "ETHUSDT", "LINKUSDT", "LTCUSDT", "SOLUSDT", "XRPUSDT"]


def best(fn, repeat: int) -> tuple[float, object]:
    out, ts = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def ours(k, fast: int, slow: int) -> float:
    t = STRATEGIES["ema_cross"](k, {"fast": fast, "slow": slow})
    return float(run_targets(k, t, Costs(FEE, SLIP)).equity[-1])


def ours_sweep(k, grid: list[tuple[int, int]]) -> list[float]:
    """The grid in one call of the strategy's `many` (each EMA span computed once), then one backtest each."""
    targets = STRATEGIES["ema_cross"].many(k, [{"fast": f, "slow": s} for f, s in grid])
    return [float(run_targets(k, t, Costs(FEE, SLIP)).equity[-1]) for t in targets]


# --------------------------------------------------------------------------- plain numpy, independent
def np_ema(x: np.ndarray, span: int, block: int = 64) -> np.ndarray:
    """pandas ewm(span, adjust=False) in numpy: y - x[0] has the closed form d^j * cumsum(a z d^-i) inside
    blocks of 64 bars (d^-63 stays small), and each block adds the previous block's last value x d^(j+1)."""
    a = 2.0 / (span + 1.0)
    d = 1.0 - a
    n = len(x)
    z = np.zeros(-(-n // block) * block)
    z[:n] = x - x[0]
    zb = z.reshape(-1, block)
    p = d ** np.arange(block)
    inner = np.cumsum(zb * (a / p), axis=1) * p
    carry_in = np.empty(len(zb))
    last, db = 0.0, d ** block
    for b, v in enumerate(inner[:, -1].tolist()):  # one scalar step per block
        carry_in[b] = last
        last = v + last * db
    out = inner + carry_in[:, None] * (d * p)[None, :]
    return out.reshape(-1)[:n] + x[0]


def numpy_ema_cross(o: np.ndarray, c: np.ndarray, fast: int, slow: int, cash: float) -> float:
    up = np_ema(c, fast) > np_ema(c, slow)
    tgt = np.where(up, 1.0, -1.0)
    tgt[:slow] = 0.0
    held = np.r_[0.0, tgt[:-1]]
    fills = np.flatnonzero(held != np.r_[0.0, held[:-1]])
    side = held[fills]
    px = o[fills] * np.where(np.diff(np.r_[0.0, side]) > 0, 1 + SLIP, 1 - SLIP)
    # equity closed at fill k+1 from the position opened at fill k (full equity, fee both ways)
    p0, p1, s = px[:-1], px[1:], side[:-1]
    growth = np.where(s > 0, p1 * (1 - FEE) / (p0 * (1 + FEE)), (2.0 - (1 + FEE) * p1 / p0) / (1 + FEE))
    closed = cash * np.cumprod(np.r_[1.0, growth])
    last_c, last_p, last_s = closed[-1], px[-1], side[-1]
    if last_s > 0:
        return float(last_c / (last_p * (1 + FEE)) * c[-1])
    return float(last_c / (1 + FEE) * (2.0 - c[-1] / last_p))


# --------------------------------------------------------------------------- vectorbt
def vectorbt_run(k, fast: int, slow: int):
    import pandas as pd
    import vectorbt as vbt

    idx = pd.to_datetime(k.open_time_ms, unit="ms")
    close = pd.Series(k.close, index=idx)
    f, s = close.ewm(span=fast, adjust=False).mean(), close.ewm(span=slow, adjust=False).mean()
    tgt = np.where(f.values > s.values, 1.0, -1.0)
    tgt[:slow] = 0.0
    held = np.r_[0.0, tgt[:-1]]
    prev = np.r_[0.0, held[:-1]]
    ch = held != prev
    pf = vbt.Portfolio.from_signals(close=close, price=pd.Series(k.open, index=idx),
                                    entries=pd.Series(ch & (held > 0), index=idx),
                                    short_entries=pd.Series(ch & (held < 0), index=idx),
                                    size=np.inf, fees=FEE, slippage=SLIP, init_cash=10_000.0, freq="1h")
    return float(pf.value().iloc[-1])


FRESH = """
import sys, time, json
sys.path.insert(0, {repo!r})
from backtest.data import load_bars
from backtest.engine import run_targets
from backtest.costs import Costs
from core.strategies import STRATEGIES
k = load_bars({data!r}, ["BTCUSDT"], "1h")["BTCUSDT"][0]
t0 = time.perf_counter()
t = STRATEGIES["ema_cross"](k, {{"fast": 24, "slow": 96}})
eq = run_targets(k, t, Costs(0.0005, 0.0003)).equity[-1]
print(json.dumps({{"first_call_s": time.perf_counter() - t0, "equity": float(eq)}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-vectorbt", action="store_true")
    ap.add_argument("--no-reference", action="store_true", help="skip the slow bar-by-bar R1 reference run")
    args = ap.parse_args()
    print(f"bench_backtest: {pin_one_core()}; best of {args.repeat}")
    data = load_bars(args.data, TEN, "1h")
    btc = data["BTCUSDT"][0]
    rows: list[tuple[str, str, str]] = []

    fresh = subprocess.run([sys.executable, "-c", FRESH.format(repo=str(REPO), data=args.data)], capture_output=True,
                           text=True, check=True)
    first = json.loads(fresh.stdout)["first_call_s"]
    t_ours, eq_ours = best(lambda: ours(btc, 24, 96), args.repeat)
    t_np, eq_np = best(lambda: numpy_ema_cross(btc.open, btc.close, 24, 96, 10_000.0), args.repeat)
    rows.append(("1. ema_cross BTCUSDT 1h", f"{len(btc):,} bars", ""))
    rows.append(("   Hedge fast path", f"{t_ours * 1e3:8.2f} ms", f"final equity {eq_ours:.6f}"))
    rows.append(("   Hedge, first call, fresh process", f"{first * 1e3:8.2f} ms", ""))
    rows.append(("   plain numpy (vectorised)", f"{t_np * 1e3:8.2f} ms",
                 f"final equity {eq_np:.6f} (rel diff {abs(eq_np / eq_ours - 1):.1e}); "
                 f"Hedge/numpy {t_ours / t_np:.2f}x"))
    if not args.no_vectorbt:
        t0 = time.perf_counter()
        eq_vbt = vectorbt_run(btc, 24, 96)
        t_first_vbt = time.perf_counter() - t0
        t_vbt, eq_vbt = best(lambda: vectorbt_run(btc, 24, 96), args.repeat)
        rows.append(("   vectorbt from_signals", f"{t_vbt * 1e3:8.2f} ms",
                     f"final equity {eq_vbt:.6f} (rel diff {abs(eq_vbt / eq_ours - 1):.1e}); vectorbt/Hedge "
                     f"{t_vbt / t_ours:.1f}x; first call incl. JIT {t_first_vbt:.1f} s"))

    n10 = sum(len(k) for k, _ in data.values())
    t10, _ = best(lambda: [ours(k, 24, 96) for k, _ in data.values()], args.repeat)
    t10np, _ = best(lambda: [numpy_ema_cross(k.open, k.close, 24, 96, 10_000.0) for k, _ in data.values()], args.repeat)
    rows.append(("2. ema_cross, ten symbols 1h", f"{n10:,} bars", ""))
    rows.append(("   Hedge fast path", f"{t10 * 1e3:8.2f} ms", f"plain numpy {t10np * 1e3:.2f} ms"))

    grid = [(f, s) for f in (12, 24, 48) for s in (96, 192, 288)]
    tsw, eq_sw = best(lambda: ours_sweep(btc, grid), args.repeat)
    if eq_sw != [ours(btc, f, s) for f, s in grid]:
        raise SystemExit("sweep: `many` disagrees with one call per combination")
    tswnp, _ = best(lambda: [numpy_ema_cross(btc.open, btc.close, f, s, 10_000.0) for f, s in grid], args.repeat)
    rows.append(("3. sweep, 9 combinations BTCUSDT", f"{9 * len(btc):,} bar-runs", ""))
    rows.append(("   Hedge fast path", f"{tsw * 1e3:8.2f} ms", f"plain numpy {tswnp * 1e3:.2f} ms"))

    from backtest.config_files import load_candidate, risk_setup
    from backtest.portfolio import align, run_portfolio

    cand = load_candidate(REPO / "config" / "prod_candidate_R1.yaml")
    r1 = load_bars(args.data, ["BTCUSDT", "ETHUSDT", "SOLUSDT"], "1h", "2023-12-01")
    g = align({s: k for s, (k, _) in r1.items()}, {s: f for s, (_, f) in r1.items()})
    risk = risk_setup(REPO / "config", args.data)
    t_r1, res = best(lambda: run_portfolio(cand, g, risk), max(1, args.repeat // 2))
    rows.append(("4. R1 ensemble, live core + check_order", f"3 x {len(g.time_ms):,} bars", ""))
    rows.append(("   fast path", f"{t_r1 * 1e3:8.2f} ms",
                 f"{len(res.fills)} fills, {sum(res.vetoes.values())} vetoes (live risk files)"))
    if not args.no_reference:
        t_ref, ref = best(lambda: run_portfolio(cand, g, risk, mode="reference"), 1)
        rows.append(("   bar-by-bar reference (core.cycle)", f"{t_ref * 1e3:8.2f} ms",
                     f"same fills: {ref.fills == res.fills}; reference/fast {t_ref / t_r1:.0f}x"))
    w = max(len(r[0]) for r in rows)
    for a, b, c in rows:
        print(f"{a:<{w}}  {b:>14}  {c}")


if __name__ == "__main__":
    main()
