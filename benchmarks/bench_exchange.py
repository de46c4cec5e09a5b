"""Adapter overhead per signed order against the local venue.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_exchange.py [--n 300] [--log]

Starts `python -m venue` on a free loopback port and times, interleaved so drift hits both equally:
  raw      python-binance `futures_create_order` with ready-made params (the floor: HTTP + signing + venue)
  adapter  `ExchangeAdapter.place_order` (quantize, filter checks, client id, budget, logging, records)
and, in-process only, `prepare_order` (the pure local part) and a DRY_RUN `place_order`.
Orders are LIMIT IOC 3 % under the mark: accepted, then expired, so nothing accumulates on the venue.
Protective orders: `place_protective_order` (a STOP_MARKET closePosition 10 % under the mark; the
clientAlgoId pre-check GET + the POST) and `cancel_protective_order`, each a distinct intent.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.filters import decimal_to_str, quantize_price
from execution.exchange_utils import build_adapter
from settings.env import EnvSettings
from tests.plugins.venue import launch_venue


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def row(name: str, ms: list[float]) -> str:
    return f"{name:<28} n={len(ms):<5} median={statistics.median(ms):8.3f} ms   p95={pct(ms, 0.95):8.3f} ms"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--log", action="store_true", help="emit INFO breadcrumbs (to /dev/null) as in production")
    args = ap.parse_args()
    if args.log:
        logging.basicConfig(filename=os.devnull, level=logging.INFO)
    else:
        logging.disable(logging.INFO)

    v = launch_venue(balance=1_000_000, extra=["--dual-side", "--weight-limit", "100000",
                                              "--orders-per-min", "100000", "--orders-per-10s", "100000"])
    try:
        s = EnvSettings(_env_file=None, ENV="dev", DRY_RUN=False, BINANCE_BASE_URL=v.base_url,
                        BINANCE_API_KEY=v.api_key, BINANCE_API_SECRET=v.api_secret)
        a = build_adapter(s, sleep=lambda _: None)
        dry = build_adapter(EnvSettings(_env_file=None, ENV="dev", DRY_RUN=True, BINANCE_BASE_URL=v.base_url,
                                        BINANCE_API_KEY=v.api_key, BINANCE_API_SECRET=v.api_secret))
        raw = v.client(ping=False)
        f = a.symbol_filters("BTCUSDT")
        a.get_position_mode()
        dry.symbol_filters("BTCUSDT"), dry.get_position_mode()
        price = quantize_price(a.mark_price("BTCUSDT").mark_price * Decimal("0.97"), f, "BUY")
        common = dict(order_type="LIMIT", price=price, time_in_force="IOC")

        for i in range(20):  # warm-up: connections, caches
            a.place_order("BTCUSDT", "BUY", "0.01", intent_id=f"warm-{i}", **common)
            raw.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01",
                                     price=decimal_to_str(price), timeInForce="IOC", positionSide="LONG")

        t_raw, t_adapter, t_prepare, t_dry, t_prot, t_prot_cancel = [], [], [], [], [], []
        stop = quantize_price(a.mark_price("BTCUSDT").mark_price * Decimal("0.9"), f, "SELL")
        rnd = random.Random(0)
        for i in range(args.n):
            order = [0, 1]
            rnd.shuffle(order)
            for which in order:
                t0 = time.perf_counter()
                if which == 0:
                    raw.futures_create_order(symbol="BTCUSDT", side="BUY", type="LIMIT", quantity="0.01",
                                             price=decimal_to_str(price), timeInForce="IOC", positionSide="LONG",
                                             newClientOrderId=f"raw-{i}", newOrderRespType="RESULT")
                    t_raw.append((time.perf_counter() - t0) * 1000)
                else:
                    r = a.place_order("BTCUSDT", "BUY", "0.01", intent_id=f"bench-{i}", **common)
                    t_adapter.append((time.perf_counter() - t0) * 1000)
                    assert r.accepted, r
            t0 = time.perf_counter()
            a.prepare_order("BTCUSDT", "BUY", "0.0109", intent_id=f"prep-{i}", **common)
            t_prepare.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            dry.place_order("BTCUSDT", "BUY", "0.01", intent_id=f"dry-{i}", **common)
            t_dry.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            p = a.place_protective_order("BTCUSDT", "LONG", "STOP_MARKET", stop, intent_id=f"prot-{i}")
            t_prot.append((time.perf_counter() - t0) * 1000)
            assert p.accepted and not p.recovered, p
            t0 = time.perf_counter()
            c = a.cancel_protective_order("BTCUSDT", client_algo_id=p.client_order_id)
            t_prot_cancel.append((time.perf_counter() - t0) * 1000)
            assert c.ok, c

        print(f"[bench_exchange] venue {v.base_url}  orders per series: {args.n}  "
              f"logging={'INFO to /dev/null' if args.log else 'off'}")
        print(row("raw python-binance order", t_raw))
        print(row("adapter place_order", t_adapter))
        print(row("prepare_order (local only)", t_prepare))
        print(row("DRY_RUN place_order", t_dry))
        print(row("place_protective_order", t_prot))
        print(row("cancel_protective_order", t_prot_cancel))
        over = [x - y for x, y in zip(t_adapter, t_raw)]
        print(f"{'adapter overhead (paired)':<28} median={statistics.median(over):8.3f} ms   "
              f"p95={pct(over, 0.95):8.3f} ms")
        print(f"venue orders received: {sum(v.stats()['orders_received'].values())}")
    finally:
        v.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
