"""Speed figures for the local venue (python -m venue), measured with the real python-binance client.

    .venv/bin/python benchmarks/bench_venue.py [--n 1000]

Prints median / p95 / p99 of: signed MARKET order round trip, signed LIMIT place + cancel, public
endpoint round trips; then, with 300 symbols that each hold a position and a resting order: the cost of
advancing the market clock (admin clock step, which runs the matching / funding / liquidation pass) and
the signed MARKET order round trip while the clock runs at speed 60 (every request advances the market;
target median < 2 ms). The 300-symbol figures are repeated on a --full-advance venue (every request
advances every active symbol: the cost before the indexed advance) unless --no-reference.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.plugins.venue import launch_venue

# the benchmark measures speed, not throttling
NO_LIMITS = ["--weight-limit", "100000000", "--orders-per-min", "100000000", "--orders-per-10s", "100000000"]
SHARED_XINFO = REPO.parent / "shared" / "data" / "exchange" / "exchangeInfo-fapi.json"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def report(name, secs):
    ms = [s * 1000 for s in secs]
    print(f"{name:<46} n={len(ms):<5} median={statistics.median(ms):7.3f} ms  p95={pct(ms, 95):7.3f} ms  "
          f"p99={pct(ms, 99):7.3f} ms")


def timed(fn, n):
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


def bench_round_trips(n: int) -> None:
    v = launch_venue(paused=True, balance=10_000_000, extra=NO_LIMITS)
    try:
        c = v.client()
        for _ in range(50):                           # warm up connections and code paths
            c.futures_ping()
        report("signed MARKET order (POST /fapi/v1/order)", timed(
            lambda i: c.futures_create_order(symbol="ETHUSDT", side="BUY" if i % 2 else "SELL", type="MARKET",
                                             quantity="0.010"), n))
        m = Decimal(c.futures_mark_price(symbol="ETHUSDT")["markPrice"])
        price = str((m * Decimal("0.97")).quantize(Decimal("0.01")))
        place, cancel = [], []
        for _ in range(n):
            t0 = time.perf_counter()
            o = c.futures_create_order(symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                                       quantity="0.010", price=price)
            t1 = time.perf_counter()
            c.futures_cancel_order(symbol="ETHUSDT", orderId=o["orderId"])
            t2 = time.perf_counter()
            place.append(t1 - t0)
            cancel.append(t2 - t1)
        report("signed LIMIT order place", place)
        report("signed cancel (DELETE /fapi/v1/order)", cancel)
        report("signed LIMIT place + cancel", [a + b for a, b in zip(place, cancel)])
        report("signed positionRisk v3", timed(lambda i: c.futures_position_information(symbol="ETHUSDT"), n))
        report("public premiumIndex", timed(lambda i: c.futures_mark_price(symbol="BTCUSDT"), n))
        report("public bookTicker", timed(lambda i: c.futures_orderbook_ticker(symbol="BTCUSDT"), n))
        report("public depth limit=20", timed(lambda i: c.futures_order_book(symbol="BTCUSDT", limit=20), n))
        report("public klines 1h limit=500", timed(
            lambda i: c.futures_klines(symbol="BTCUSDT", interval="1h", limit=500), max(50, n // 5)))
        report("public time", timed(lambda i: c.futures_time(), n))
    finally:
        v.stop()


def _xinfo_300(tmp: Path) -> tuple[Path, list[str]]:
    """300 USDT perpetuals: the real mainnet exchangeInfo when ../shared is there, else clones."""
    if SHARED_XINFO.is_file():
        doc = json.loads(SHARED_XINFO.read_text())
        doc["symbols"] = [s for s in doc["symbols"] if s["contractType"] == "PERPETUAL"
                          and s["status"] == "TRADING" and s["marginAsset"] == "USDT"][:300]
    else:
        doc = json.loads((REPO / "venue" / "exchange_info_default.json").read_text())
    template = [s for s in doc["symbols"] if s["symbol"] == "ETHUSDT"][0]
    i = 0
    while len(doc["symbols"]) < 300:       # pad with clones of ETHUSDT
        s = json.loads(json.dumps(template))
        s["symbol"] = s["pair"] = f"SYN{i:03d}USDT"
        s["baseAsset"] = f"SYN{i:03d}"
        doc["symbols"].append(s)
        i += 1
    path = tmp / "xinfo300.json"
    path.write_text(json.dumps(doc))
    return path, [s["symbol"] for s in doc["symbols"]]


def _setup_300(v, syms: list[str]):
    """A position and a resting buy 4 % below the market on each of the 300 symbols."""
    c = v.client()
    t0 = time.perf_counter()
    marks = {m["symbol"]: Decimal(m["markPrice"]) for m in c.futures_mark_price()}
    print(f"first premiumIndex over all symbols (loads {len(marks)} series): {time.perf_counter() - t0:.2f} s")
    info = {s["symbol"]: s for s in c.futures_exchange_info()["symbols"]}
    lots = {}
    for sym in syms:
        f = {x["filterType"]: x for x in info[sym]["filters"]}
        step, tick = Decimal(f["LOT_SIZE"]["stepSize"]), Decimal(f["PRICE_FILTER"]["tickSize"])
        notional = Decimal(f["MIN_NOTIONAL"]["notional"]) * 2
        qty = max(Decimal(f["LOT_SIZE"]["minQty"]), (notional / marks[sym] / step).to_integral_value() * step)
        lots[sym] = ((qty / step).to_integral_value() * step, tick)
        try:
            c.futures_create_order(symbol=sym, side="BUY", type="MARKET", quantity=str(lots[sym][0]))
        except Exception as exc:      # odd filters on a few real symbols: skip them
            print(f"  skip {sym}: {exc}")
            lots.pop(sym)
    _top_up_orders(c, lots)
    return c, lots


def _top_up_orders(c, lots: dict) -> None:
    """Place a resting buy 4 % below the market on every symbol that has none (they fill as time runs)."""
    have = {o["symbol"] for o in c.futures_get_open_orders()}
    marks = {m["symbol"]: Decimal(m["markPrice"]) for m in c.futures_mark_price()}
    for sym, (qty, tick) in lots.items():
        if sym not in have:
            price = (marks[sym] * Decimal("0.96") / tick).to_integral_value() * tick
            c.futures_create_order(symbol=sym, side="BUY", type="LIMIT", timeInForce="GTC", quantity=str(qty),
                                   price=str(price))
    n_pos = len({p["symbol"] for p in c.futures_position_information()})
    n_ord = len({o["symbol"] for o in c.futures_get_open_orders()})
    print(f"{n_pos} symbols with a position, {n_ord} with a resting order")


def bench_clock_advance(n_running: int, reference: bool) -> None:
    kinds: list[tuple[str, list[str]]] = [("indexed advance (default)", [])]
    if reference:
        kinds.append(("--full-advance reference", ["--full-advance"]))
    with tempfile.TemporaryDirectory() as tmp:
        xpath, syms = _xinfo_300(Path(tmp))
        for label, flags in kinds:
            t0 = time.perf_counter()
            v = launch_venue(paused=True, balance=100_000_000, symbols=syms,
                             extra=["--exchange-info", str(xpath), "--synthetic-days", "30", *NO_LIMITS, *flags],
                             ready_timeout=60)
            print(f"\n[{label}] venue with {len(syms)} symbols ready in {time.perf_counter() - t0:.2f} s "
                  f"(series load lazily)")
            try:
                c, lots = _setup_300(v, syms)
                report("admin GET /_venue/clock (baseline, no advance)", timed(lambda i, v=v: v.clock(), 50))
                for name, step in (("1 s", 1_000), ("1 min", 60_000), ("1 h", 3_600_000),
                                   ("8 h (a funding event per position)", 8 * 3_600_000)):
                    report(f"clock step {name}", timed(lambda i, v=v, step=step: v.clock(step_ms=step), 20))
                st = v.stats()
                print(f"after stepping: fills={st['fills']} funding_events={st['funding_events']} "
                      f"liquidations={st['liquidations']} symbols_loaded={st['symbols_loaded']}")
                _top_up_orders(c, lots)
                # a running clock: every request advances the market (speed 60: ~1 market s per request)
                v.clock(speed=60, resume=True)
                report("signed MARKET order, 300 active symbols, speed 60", timed(
                    lambda i, c=c: c.futures_create_order(symbol="ETHUSDT", side="BUY" if i % 2 else "SELL",
                                                          type="MARKET", quantity="0.010"), n_running))
                v.clock(pause=True)
            finally:
                v.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="requests per round-trip figure (default 1000)")
    ap.add_argument("--skip-300", action="store_true", help="skip the 300-symbol clock-advance figures")
    ap.add_argument("--no-reference", action="store_true",
                    help="skip the same 300-symbol figures on a --full-advance venue (the pre-index cost)")
    args = ap.parse_args()
    bench_round_trips(args.n)
    if not args.skip_300:
        bench_clock_advance(max(200, args.n // 2), reference=not args.no_reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
