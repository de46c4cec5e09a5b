"""Health of the local stack, the way an operator checks it (seed 001 §1.2), through the real adapter.

Waits (up to --wait seconds) for the exchange to answer, then prints the [exutil] start lines, the
position mode (`dualSide: True` in hedge mode), the USDT balance, market time and a few mark prices.
Exit 0 when healthy, 1 otherwise.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from execution.exchange_utils import build_adapter  # noqa: E402
from settings.env import load_env  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the exchange")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = load_env(args.env_file)
    adapter = build_adapter(settings)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            adapter.sync_time()
            break
        except Exception as exc:  # the venue may still be starting
            if time.monotonic() > deadline:
                print(f"[status] exchange at {settings.BINANCE_BASE_URL} not answering: {exc}")
                return 1
            time.sleep(0.25)
    dual = adapter.get_position_mode(refresh=True)
    usdt = adapter.balance("USDT")
    print(f"dualSide: {dual}")
    print(f"[status] base={settings.BINANCE_BASE_URL} ENV={settings.ENV} dry_run={settings.DRY_RUN}")
    print(f"[status] USDT balance={usdt.balance if usdt else 'n/a'} reserve_btc={settings.RESERVE_BTC} (not in NAV)")
    for symbol in [s for s in args.symbols.split(",") if s]:
        mark = adapter.mark_price(symbol)
        print(f"[status] {symbol} mark={mark.mark_price} funding={mark.last_funding_rate} market_time_ms={mark.time_ms}")
    return 0 if dual else 1


if __name__ == "__main__":
    sys.exit(main())
