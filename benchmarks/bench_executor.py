"""hedge-executor cycle time against the real venue, and memory over a 30-day accelerated replay (prints only).

    .venv/bin/python benchmarks/bench_executor.py [--symbols 50,300] [--cycles 20] [--rss-days 30] [--rss-symbols 10]

World: the local venue (a real process) serving synthetic data for N USDT perpetuals of the mainnet
exchangeInfo (../shared/data/exchange/exchangeInfo-fapi.json when present, else the venue's default symbols),
paused; the benchmark steps the venue clock one hour before each cycle, so every cycle has one new closed 1h
bar for every symbol (the worst case: every symbol decides). The executor runs in this process in DRY_RUN
with NAV from the account, exactly as `python -m execution.executor` builds it.

Reports per N: cycle wall time (median / p95, REST calls included), the decision part alone
(`DecisionCycle.step`), and request weight per cycle (the venue's X-MBX-USED-WEIGHT-1M delta), against
Binance's 2400/min budget at a 60 s loop. Then RSS at the start and the end of a --rss-days replay of
--rss-symbols symbols (one cycle per market hour).
"""
from __future__ import annotations

import argparse
import json
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


def used_weight(port) -> int:
    r = port.adapter.client.response
    try:
        return int(r.headers.get("X-MBX-USED-WEIGHT-1M", 0)) if r is not None else 0
    except (TypeError, ValueError):
        return 0


def bench_cycles(n: int, cycles: int, info: Path | None) -> None:
    step_times: list[float] = []
    orig = DecisionCycle.step

    def timed(self, *a, **k):
        t = time.perf_counter()
        out = orig(self, *a, **k)
        step_times.append(time.perf_counter() - t)
        return out

    extra = ["--dual-side", "--weight-limit", "1000000", "--synthetic-days", "60"]
    if info is not None:
        extra += ["--exchange-info", str(info)]
        doc = json.loads(info.read_text())
        syms = [s["symbol"] for s in doc["symbols"] if s.get("contractType") == "PERPETUAL"
                and s.get("quoteAsset") == "USDT" and s.get("status") == "TRADING"][:n]
    else:
        syms = None
    v = launch_venue(paused=True, symbols=syms, extra=extra, ready_timeout=120)
    try:
        with tempfile.TemporaryDirectory() as d:
            ex, port = build(v, Path(d), syms)
            n_eff = len(ex.symbols)
            DecisionCycle.step = timed
            walls, weights = [], []
            for _ in range(cycles):
                v.clock(step_ms=HOUR)
                w0 = port.adapter.requests_sent
                t = time.perf_counter()
                ex.cycle()
                walls.append(time.perf_counter() - t)
                weights.append(port.adapter.requests_sent - w0)
            DecisionCycle.step = orig
            med, p95 = statistics.median(walls), sorted(walls)[int(0.95 * (len(walls) - 1))]
            dmed = statistics.median(step_times)
            print(f"symbols={n_eff:4d} cycle wall median={med * 1000:7.1f} ms p95={p95 * 1000:7.1f} ms | "
                  f"decision (core.cycle.step) median={dmed * 1000:6.2f} ms | "
                  f"requests/cycle={statistics.median(weights):.0f} "
                  f"| venue used weight now={used_weight(port)}")
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
