"""Speed of the pre-trade choke point (prints only; tests hold no timing assertions).

    .venv/bin/python benchmarks/bench_check_order.py [--n 20000]

Portfolio: 50 legs (30 symbols, 20 of them hedged LONG+SHORT), 10 correlation groups, 10 resting orders,
500 NAV points, leverage brackets for every symbol (the bracket and liquidation-distance checks run, as
live). Reports median / p95 per call for:
- RiskContext.build(snapshot, ...)  once per cycle (the per-snapshot aggregates)
- ctx.check(order)                  the incremental per-order check (target: median < 50 us)
- check_order(order, snapshot, ...) build + check in one call (the convenience path)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from decimal import Decimal as D
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.brackets import Brackets, tiers_with_cum
from core.filters import SymbolFilters
from core.portfolio import NavPoint, OpenOrder, PortfolioSnapshot, PositionLeg
from core.risk_limits import ProposedOrder, RiskContext, check_order
from settings.models import CorrelationGroup, CorrelationGroups, RiskLimits

NOW = 1_700_000_000_000


def build_world():
    symbols = [f"S{i:02d}USDT" for i in range(30)]
    filters = {
        s: SymbolFilters(symbol=s, tick_size=D("0.01"), min_price=D("0.01"), max_price=D("1000000"),
                         step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("100000"), market_step_size=D("0.001"),
                         market_min_qty=D("0.001"), market_max_qty=D("10000"), min_notional=D("5"),
                         percent_up=D("1.05"), percent_down=D("0.95"))
        for s in symbols
    }
    marks = {s: D(100 + i) for i, s in enumerate(symbols)}
    tiers = tiers_with_cum([(D(0), D(50_000), 50, D("0.004")), (D(50_000), D(250_000), 25, D("0.005")),
                            (D(250_000), D(10**6), 10, D("0.01")), (D(10**6), D(10**8), 5, D("0.025"))])
    legs = [PositionLeg(s, "LONG", D("0.500"), mark_price=marks[s]) for s in symbols]
    legs += [PositionLeg(s, "SHORT", D("0.300"), mark_price=marks[s]) for s in symbols[:20]]
    assert len(legs) == 50
    groups = CorrelationGroups(groups={
        f"G{g}": CorrelationGroup(symbols=symbols[g * 3:(g + 1) * 3] + [symbols[(g * 7) % 30]], max_group_nav_pct=0.35)
        for g in range(10)
    })
    orders = tuple(OpenOrder(symbols[i], "BUY", "LONG", D("0.1"), marks[symbols[i]] * D("0.99")) for i in range(10))
    history = tuple(NavPoint(NOW - 30_000 * (500 - i), 100_000 + (i % 37) * 10) for i in range(500))
    snap = PortfolioSnapshot(now_ms=NOW, nav_history=history, positions=tuple(legs), open_orders=orders,
                             filters=filters, mark_prices=marks, day_start_nav_usd=100_000,
                             brackets={s: Brackets(s, tiers) for s in symbols})
    limits = RiskLimits(MAX_POSITIONS=60, per_symbol_nav_pct=0.2, max_gross_exposure_nav_pct=0.8)
    probe = [
        ProposedOrder(symbols[5], "BUY", "LONG", "0.250", "104.50"),       # approved LIMIT open
        ProposedOrder(symbols[6], "SELL", "SHORT", "0.250"),               # approved MARKET open
        ProposedOrder(symbols[7], "BUY", "LONG", "400.000"),               # vetoed: caps
        ProposedOrder(symbols[8], "SELL", "LONG", "0.500"),                # close
        ProposedOrder(symbols[9], "BUY", "LONG", "0.0005", "109.005"),     # vetoed: step + tick + min notional
    ]
    return snap, limits, groups, probe


def timed(label: str, fn, n: int) -> list[float]:
    for _ in range(min(200, n)):  # warm-up
        fn()
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t) / 1000.0)
    samples.sort()
    med, p95 = statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]
    print(f"{label:<52s} median {med:8.1f} us   p95 {p95:8.1f} us   (n={n})")
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20_000, help="iterations per figure")
    args = ap.parse_args()
    snap, limits, groups, probe = build_world()
    ctx = RiskContext.build(snap, limits, groups)
    print("portfolio: 50 legs, 30 symbols, 10 correlation groups, 10 resting orders, 500 NAV points")
    for o in probe:
        d = ctx.check(o)
        print(f"  {o.symbol} {o.side} {o.position_side} {o.qty}: approved={d.approved} veto={list(d.codes)}")
    timed("RiskContext.build (once per cycle)", lambda: RiskContext.build(snap, limits, groups), max(200, args.n // 20))
    allc: list[float] = []
    for o in probe:
        allc += timed(f"ctx.check  {o.symbol} {o.side:<4s} {o.position_side:<5s} {o.qty}",
                      lambda o=o: ctx.check(o), args.n)
    allc.sort()
    print(f"{'ctx.check (all probes)':<52s} median {statistics.median(allc):8.1f} us   "
          f"p95 {allc[int(0.95 * (len(allc) - 1))]:8.1f} us")
    timed("check_order (build + check, per call)", lambda: check_order(probe[0], snap, limits, groups),
          max(200, args.n // 20))


if __name__ == "__main__":
    main()
