#!/usr/bin/env python3
"""Panic close (docs/Runbook.md "Executor — panic close"): flatten the whole book NOW.

    .venv/bin/python scripts/panic_close.py [--env-file PATH] [--symbols A B] [--no-kill-switch] [--json]

1. engages the kill switch (so a running executor opens nothing new; skipped in DRY_RUN or with
   --no-kill-switch),
2. cancels every open order and every protective (algo STOP/TP) order of every symbol that has one,
3. closes every open leg with a MARKET order and the leg's own positionSide (SELL+LONG, BUY+SHORT; hedge
   mode never sends reduceOnly), split by MARKET_LOT_SIZE maxQty,
4. reads the positions again and reports what it did; exit 0 when flat (or DRY_RUN), 1 when a leg is left.
DRY_RUN (env DRY_RUN=1 or --dry-run) runs every step and the client's gate swallows every write.
Client order ids are `hg-panic-<market second>-…`, recorded in LOG_DIR/execution/panic_close.jsonl.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import logging

from execution.executor import kill_switch as ks
from execution.executor.cli import env_or_exit_code
from execution.executor.exchange_port import GateRefused, open_gate
from execution.log_setup import setup_logging
from execution.state_store import append_event

log = logging.getLogger("hedge.executor")


def panic_close(port, *, symbols=None, log_dir: Path, state_root: Path, engage_kill: bool = True) -> dict:
    report: dict = {"dry_run": port.dry_run, "cancelled_orders": [], "cancelled_protective": [], "closes": [],
                    "left_open": [], "errors": []}
    if engage_kill and not port.dry_run:
        ks.engage(state_root, "panic_close", "panic_close")
        report["kill_switch"] = "engaged"
    legs = [leg for leg in port.legs() if leg.qty > 0 and (not symbols or leg.symbol in symbols)]
    orders = [o for o in port.open_orders() if not symbols or o.symbol in symbols]
    try:
        protective = [p for p in port.open_protective() if not symbols or p.symbol in symbols]
    except Exception as e:  # noqa: BLE001
        protective = []
        report["errors"].append(f"open protective orders unavailable: {e}")
    for sym in sorted({o.symbol for o in orders}):
        report["cancelled_orders"].append({"symbol": sym, "outcome": port.cancel_all(sym),
                                           "orders": [o.client_order_id for o in orders if o.symbol == sym]})
    for sym in sorted({p.symbol for p in protective}):
        report["cancelled_protective"].append({"symbol": sym, "outcome": port.cancel_all_protective(sym),
                                               "orders": [p.client_algo_id for p in protective if p.symbol == sym]})
    now_s = port.market_time_ms(legs[0].symbol) // 1000 if legs else 0
    filters = port.filters() if legs else {}
    for leg in legs:
        side = "SELL" if leg.position_side == "LONG" else "BUY"
        f = filters.get(leg.symbol)
        max_q = f.market_max_qty if f is not None and f.market_max_qty > 0 else leg.qty
        left, i = leg.qty, 0
        while left > 0:
            q = min(left, max_q)
            cid = port.client_order_id(f"panic-{now_s}-{leg.symbol}-{leg.position_side[0]}", i)
            append_event(log_dir / "execution" / "panic_close.jsonl",
                         {"event": "send", "symbol": leg.symbol, "side": side, "position_side": leg.position_side,
                          "qty": str(q), "client_order_id": cid, "dry_run": port.dry_run}, fsync=True)
            r = port.submit(leg.symbol, side, leg.position_side, q, cid=cid, order_type="MARKET", reduce=True)
            report["closes"].append({"symbol": leg.symbol, "position_side": leg.position_side, "side": side,
                                     "qty": str(q), "client_order_id": cid, "outcome": r.outcome, "status": r.status,
                                     "executed_qty": str(r.executed_qty), "avg_price": str(r.avg_price),
                                     "code": r.code, "reason": r.reason})
            log.warning("[executor] PANIC_CLOSE %s %s %s qty=%s -> %s %s", leg.symbol, leg.position_side, side, q,
                        r.outcome, r.status)
            left -= q
            i += 1
    if not port.dry_run:
        report["left_open"] = [{"symbol": leg.symbol, "position_side": leg.position_side, "qty": str(leg.qty)}
                               for leg in port.legs() if leg.qty > 0 and (not symbols or leg.symbol in symbols)]
    report["legs_before"] = [{"symbol": leg.symbol, "position_side": leg.position_side, "qty": str(leg.qty)}
                             for leg in legs]
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env-file", default=".env")
    p.add_argument("--symbols", nargs="+", help="only these symbols (default: every symbol with a leg or order)")
    p.add_argument("--dry-run", action="store_true", help="force DRY_RUN on")
    p.add_argument("--no-kill-switch", action="store_true", help="do not engage the kill switch first")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    a = p.parse_args(argv)
    env, code = env_or_exit_code(a.env_file)
    if env is None:
        return code
    setup_logging("panic_close", env.LOG_DIR, env.LOG_LEVEL, settings=env, stderr=False)
    dry = bool(env.DRY_RUN or a.dry_run)
    try:
        port = open_gate(env, dry_run=dry)
    except GateRefused as e:
        print(f"[panic_close] safety gate refused: {e}", file=sys.stderr)
        return 3
    try:
        rep = panic_close(port, symbols=[s.upper() for s in a.symbols] if a.symbols else None,
                          log_dir=Path(env.LOG_DIR), state_root=Path(env.STATE_ROOT),
                          engage_kill=not a.no_kill_switch)
    finally:
        port.close()
    if a.json:
        print(json.dumps(rep, indent=2))
    else:
        tag = " DRY_RUN (nothing sent)" if rep["dry_run"] else ""
        print(f"[panic_close]{tag} legs={len(rep['legs_before'])} closes={len(rep['closes'])} "
              f"orders_cancelled={sum(len(c['orders']) for c in rep['cancelled_orders'])} "
              f"protective_cancelled={sum(len(c['orders']) for c in rep['cancelled_protective'])}")
        for c in rep["closes"]:
            print(f"  {c['symbol']} {c['position_side']} {c['side']} {c['qty']} -> {c['outcome']} {c['status']}"
                  f" filled={c['executed_qty']} @ {c['avg_price']}"
                  + (f" code={c['code']} {c['reason']}" if c["code"] else ""))
        for x in rep["left_open"]:
            print(f"  STILL OPEN {x['symbol']} {x['position_side']} {x['qty']}")
        for e in rep["errors"]:
            print(f"  ERROR {e}")
    return 1 if rep["left_open"] else 0


if __name__ == "__main__":
    sys.exit(main())
