"""Health of the local stack, the way an operator checks it (docs/Runbook.md §1.2), through the real adapter.

    .venv/bin/python scripts/local_status.py [--env-file .env] [--wait S] [--dashboard-wait S]

Waits (up to --wait seconds) for the exchange to answer, then prints the [exutil] start lines, the
position mode (`dualSide: True` in hedge mode), the USDT balance, market time and a few mark prices.
Then, when the stack serves the dashboard (var/supervisor/stack.json), checks it through nginx: 401 without
credentials, 200 with the generated ones. Exit 0 when healthy, 1 otherwise.
"""
from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from execution.exchange_utils import build_adapter
from settings.env import load_env

STACK = Path(__file__).resolve().parents[1] / "var" / "supervisor" / "stack.json"


def _get(url: str, auth: tuple[str, str] | None) -> tuple[int, str]:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.status, resp.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def check_dashboard(wait_s: float) -> bool:
    """The dashboard through nginx: 401 without credentials, 200 and Streamlit's page with them."""
    try:
        stack = json.loads(STACK.read_text())
    except (OSError, ValueError):
        return True  # no stack prepared (a bare venue): nothing to check
    if not stack.get("url") or not stack.get("credentials"):
        return True
    creds = dict(line.split("=", 1) for line in Path(stack["credentials"]).read_text().splitlines() if "=" in line)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            anon, _ = _get(stack["url"], None)
            code, body = _get(stack["url"], (creds["user"], creds["password"]))
            if anon == 401 and code == 200 and "<title>" in body.lower():
                print(f"[status] dashboard {stack['url']} OK (401 without login, 200 with it; "
                      f"login in {stack['credentials']})")
                return True
        except OSError as exc:
            anon, code = 0, f"{type(exc).__name__}"
        if time.monotonic() > deadline:
            print(f"[status] dashboard {stack['url']} NOT OK: without login {anon}, with login {code}")
            return False
        time.sleep(0.5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--env-file", default=".env")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the exchange")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,SOLUSDT")
    parser.add_argument("--dashboard-wait", type=float, default=20.0, help="seconds to wait for the dashboard")
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
        print(f"[status] {symbol} mark={mark.mark_price} funding={mark.last_funding_rate} "
              f"market_time_ms={mark.time_ms}")
    dashboard_ok = check_dashboard(args.dashboard_wait)
    return 0 if dual and dashboard_ok else 1


if __name__ == "__main__":
    sys.exit(main())
