"""hedge-executor cycle time and request weight against the real venue, and memory over a 30-day replay (prints only).

    .venv/bin/python benchmarks/bench_executor.py [--symbols 50,300] [--cycles 20] [--rss-days 30] [--rss-symbols 10]

World: the local venue (a real process) serving synthetic data for N perpetuals of the mainnet exchangeInfo
(../shared/data/exchange/exchangeInfo-fapi.json when present, else the venue's default symbols), paused. The
symbols are the TRADING USDT-quoted perpetuals first (297 in the stored snapshot), then, to reach N, the
TRADING USDC-quoted perpetuals of the same file (real names, filters and margin asset, 26 there); the output
says how many of each. The benchmark steps the venue clock one hour before each cycle, so every cycle has one
new closed 1h bar for every symbol (the worst case: every symbol fetches klines and decides). The executor runs
in this process in DRY_RUN with NAV from the account, exactly as `python -m execution.executor` builds it.

Reports per N, each line with the load average (the machine is shared: figures are noisy when it is high):
cycle wall time (median / p95, REST calls included); the decision part alone (`DecisionCycle.step`); request
WEIGHT per cycle, summed by the adapter from its weight table (execution/exchange/ratelimit.py ENDPOINTS, the
weight of every request it sent, retries included) for a cycle with a new bar and for a quiet cycle (no bar
closed: no klines requests); and the worst minute at the configured loop interval against Binance's
2400/minute REQUEST_WEIGHT budget (one new-bar cycle per hour-bar, the other cycles of the minute quiet;
the router's own requests between cycles - book tickers, order posts - are not in it: DRY_RUN sends no order).
Then RSS at the start and the end of a --rss-days replay of --rss-symbols symbols (one cycle per market hour).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.cycle import DecisionCycle
from tests.plugins.shared_data import find_shared_data
from tests.plugins.venue import launch_venue

HOUR = 3_600_000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build(venue, tmp: Path, symbols: list[str]):
    from execution.executor.exchange_port import open_gate
    from execution.executor.loop import Executor, Options
    from execution.log_setup import setup_logging
    from settings.env import load_env
    from settings.loader import load_config

    env_file = tmp / "bench.env"
    env_file.write_text(f"ENV=dev\nDRY_RUN=1\nBINANCE_BASE_URL={venue.base_url}\nLOG_DIR={tmp / 'logs'}\n"
                        f"STATE_ROOT={tmp / 'logs' / 'state'}\nLOG_LEVEL=WARNING\n")
    env = load_env(env_file)
    setup_logging("executor", env.LOG_DIR, "WARNING", settings=env, stderr=False)
    cfg = load_config(REPO / "config")
    port = open_gate(env, dry_run=True)
    ex = Executor(port, cfg, env, Options(profile="dev", dry_run=True, interval_s=60, symbols=symbols,
                                          nav_source="account"))
    ex.start()
    return ex, port


BUDGET_1M = 2400  # Binance USD-M REQUEST_WEIGHT per minute (the exchangeInfo rateLimits)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def pick_symbols(info: Path, n: int) -> tuple[list[str], str]:
    """N TRADING perpetuals: the USDT-quoted ones, then USDC-quoted ones of the same exchangeInfo."""
    doc = json.loads(info.read_text())
    by_quote: dict[str, list[str]] = {"USDT": [], "USDC": []}
    for s in doc["symbols"]:
        if s.get("contractType") == "PERPETUAL" and s.get("status") == "TRADING" and s.get("quoteAsset") in by_quote:
            by_quote[s["quoteAsset"]].append(s["symbol"])
    usdt = by_quote["USDT"][:n]
    usdc = by_quote["USDC"][:max(0, n - len(usdt))]
    return usdt + usdc, f"{len(usdt)} USDT-quoted + {len(usdc)} USDC-quoted perpetuals"


def bench_cycles(n: int, cycles: int, info: Path | None) -> None:
    step_times: list[float] = []
    orig = DecisionCycle.step

    def timed(self, *a, **k):
        t = time.perf_counter()
        out = orig(self, *a, **k)
        step_times.append(time.perf_counter() - t)
        return out

    extra = ["--dual-side", "--weight-limit", "1000000", "--synthetic-days", "60"]
    syms: list[str] | None = None
    what = "the venue's default symbols"
    if info is not None:
        extra += ["--exchange-info", str(info)]
        syms, what = pick_symbols(info, n)
    v = launch_venue(paused=True, symbols=syms, extra=extra, ready_timeout=120)
    try:
        with tempfile.TemporaryDirectory() as d:
            ex, port = build(v, Path(d), syms)
            n_eff = len(ex.symbols)
            budget = port.adapter.budget  # shared by the klines worker threads' adapters
            DecisionCycle.step = timed
            walls, weights, quiet = [], [], []
            for _ in range(cycles):
                v.clock(step_ms=HOUR)
                w0 = budget.weight_spent
                t = time.perf_counter()
                ex.cycle()
                walls.append(time.perf_counter() - t)
                weights.append(budget.weight_spent - w0)
                w0 = budget.weight_spent
                ex.cycle()  # the same market hour again: no bar closed, no klines request
                quiet.append(budget.weight_spent - w0)
            DecisionCycle.step = orig
            med, p95 = statistics.median(walls), sorted(walls)[int(0.95 * (len(walls) - 1))]
            dmed = statistics.median(step_times)
            w_bar, w_quiet = statistics.median(weights), statistics.median(quiet)
            interval = float(ex.cfg.runtime.loop.executor_interval_seconds)
            per_min = max(1, round(60 / interval))
            worst = w_bar + (per_min - 1) * w_quiet
            print(f"symbols={n_eff:4d} ({what}) | {load()}")
            print(f"    cycle wall median={med * 1000:7.1f} ms p95={p95 * 1000:7.1f} ms | "
                  f"decision (core.cycle.step) median={dmed * 1000:6.2f} ms")
            print(f"    request weight/cycle: new bar={w_bar:.0f} quiet={w_quiet:.0f} | worst minute at the "
                  f"{interval:g} s loop ({per_min} cycle(s)/min) = {worst:.0f} of {BUDGET_1M} "
                  f"({100 * worst / BUDGET_1M:.1f}% of Binance's REQUEST_WEIGHT/min)")
            port.close()
    finally:
        DecisionCycle.step = orig
        v.stop()


def bench_rss(days: int, n: int) -> None:
    v = launch_venue(paused=True, extra=["--dual-side", "--weight-limit", "1000000"], ready_timeout=120)
    try:
        with tempfile.TemporaryDirectory() as d:
            ex, port = build(v, Path(d), None)
            ex.symbols = ex.symbols[:n]
            start = rss_mb()
            t = time.perf_counter()
            for i in range(days * 24):
                v.clock(step_ms=HOUR)
                ex.cycle()
                if i == 24:
                    after_day1 = rss_mb()
            print(f"{load()}")
            print(f"RSS replay {days} days x {len(ex.symbols)} symbols "
                  f"({days * 24} cycles, {time.perf_counter() - t:.0f} s): "
                  f"start={start:.1f} MB after day 1={after_day1:.1f} MB end={rss_mb():.1f} MB")
            port.close()
    finally:
        v.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--symbols", default="50,300")
    p.add_argument("--cycles", type=int, default=20)
    p.add_argument("--rss-days", type=int, default=30)
    p.add_argument("--rss-symbols", type=int, default=10)
    a = p.parse_args()
    data = find_shared_data()
    info = data / "exchange" / "exchangeInfo-fapi.json" if data is not None else None
    print(f"exchangeInfo: {info or 'venue default (10 symbols)'}")
    for n in (int(x) for x in a.symbols.split(",") if x):
        bench_cycles(n, a.cycles, info)
    if a.rss_days > 0:
        bench_rss(a.rss_days, a.rss_symbols)


if __name__ == "__main__":
    main()
