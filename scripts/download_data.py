#!/usr/bin/env python3
"""Download klines and funding for a candidate's symbols (docs/Production_Launch_SOP.md).

    .venv/bin/python scripts/download_data.py -c config/prod_candidate_R1.yaml [--out var/data] [--days 400]
        [--symbols BTCUSDT ...] [--env-file .env] [--no-progress] [--now-ms MS]

Through python-binance (execution.exchange_utils: the configured BINANCE_BASE_URL — mainnet, or the local
venue), into the `marketdata` layout: OUT/klines/<SYMBOL>-<interval>.csv.gz and OUT/funding/<SYMBOL>-funding.csv.
Pagination (1,500 klines / 1,000 funding rows a request); resume: an existing file is extended from its last
row, never downloaded again; only closed bars are kept; every file is replaced atomically; a progress bar.
Then the checks: last bar < 2 h old, no gap > 3 h in the last 30 days, per symbol.
Exit 0 all fresh and gap-free, 1 a check failed (the files are still written), 2 bad input or exchange error.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from backtest.config_files import load_candidate
from backtest.data_checks import check_klines
from core.timeframes import INTERVAL_MS
from marketdata import Funding, Klines, MarketDataError, load_funding, load_klines, write_funding, write_klines
from marketdata.files import funding_path, klines_path
from settings.env import load_env
from settings.errors import ConfigError

KLINE_PAGE, FUNDING_PAGE = 1500, 1000


def _existing_klines(out: Path, symbol: str, interval: str) -> Klines | None:
    for p in (klines_path(out, symbol, interval), klines_path(out, symbol, interval).with_suffix("")):
        if p.is_file():
            return load_klines(p)
    return None


def download_klines(adapter: Any, out: Path, symbol: str, interval: str, start_ms: int, now_ms: int,
                    bar: Any = None) -> tuple[Klines, int]:
    """Extend (or create) the kline file up to the last closed bar; (klines, bars added)."""
    step = INTERVAL_MS[interval]
    old = _existing_klines(out, symbol, interval)
    cursor = int(old.open_time_ms[-1]) + step if old is not None and len(old) else start_ms
    rows: list[tuple] = []
    while cursor + step <= now_ms:
        page = adapter.klines(symbol, interval, limit=KLINE_PAGE, start_ms=cursor)
        page = [k for k in page if k.open_time_ms >= cursor and k.open_time_ms + step <= now_ms]  # closed only
        if not page:
            break
        rows += [(k.open_time_ms, float(k.open), float(k.high), float(k.low), float(k.close), float(k.volume))
                 for k in page]
        cursor = page[-1].open_time_ms + step
        if bar is not None:
            bar.update(len(page))
        if len(page) < KLINE_PAGE // 2 and cursor + step > now_ms:
            break
    if rows:
        cols = list(zip(*rows))
        new = Klines(symbol, interval, np.array(cols[0], dtype=np.int64), *(np.array(c) for c in cols[1:]))
        if old is not None:
            new = Klines(symbol, interval, *(np.concatenate([getattr(old, c), getattr(new, c)]) for c in
                                             ("open_time_ms", "open", "high", "low", "close", "volume")))
        write_klines(new, out)
        return new, len(rows)
    if old is None:
        raise MarketDataError(f"{symbol} {interval}: the exchange returned no closed bars since "
                              f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(start_ms / 1000))} UTC")
    return old, 0


def download_funding(adapter: Any, out: Path, symbol: str, start_ms: int, now_ms: int) -> tuple[Funding | None, int]:
    path = funding_path(out, symbol)
    old = load_funding(path) if path.is_file() else None
    cursor = int(old.funding_time_ms[-1]) + 1 if old is not None and len(old) else start_ms
    times: list[int] = []
    rates: list[float] = []
    while cursor <= now_ms:
        page = [r for r in adapter.funding_rates(symbol, limit=FUNDING_PAGE, start_ms=cursor)
                if cursor <= r["funding_time_ms"] <= now_ms]
        if not page:
            break
        times += [r["funding_time_ms"] for r in page]
        rates += [float(r["funding_rate"]) for r in page]
        cursor = page[-1]["funding_time_ms"] + 1
        if len(page) < FUNDING_PAGE:
            break
    if not times:
        return old, 0
    t = np.array(times, dtype=np.int64) // 60_000 * 60_000  # Binance adds 0-29 ms to fundingTime at times
    new = Funding(symbol, t, np.array(rates))
    if old is not None:
        new = Funding(symbol, np.concatenate([old.funding_time_ms, new.funding_time_ms]),
                      np.concatenate([old.funding_rate, new.funding_rate]))
    write_funding(new, out)
    return new, len(times)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-c", "--config", required=True, help="candidate yaml (its sleeves' symbols and interval)")
    ap.add_argument("--out", default=str(REPO_ROOT / "var" / "data"))
    ap.add_argument("--days", type=int, default=400, help="history to fetch for a new file (days)")
    ap.add_argument("--symbols", nargs="+", default=None)
    ap.add_argument("--env-file", default=str(REPO_ROOT / ".env"))
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--now-ms", type=int, default=None,
                    help="judge freshness against this time (default: exchange time)")
    args = ap.parse_args(argv)
    try:
        cand = load_candidate(args.config)
        env = load_env(args.env_file)
        from execution.exchange_utils import build_adapter

        adapter = build_adapter(env)
        symbols = args.symbols or sorted({s.symbol for s in cand.ensemble.sleeves})
        # the market clock (premiumIndex time): on mainnet the wall clock, on the venue its replay time
        server_now = adapter.market_time_ms(symbols[0])
    except (ConfigError, OSError) as exc:
        print(f"download_data: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the exchange did not answer: nothing to download, say why
        print(f"download_data: exchange error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    now = args.now_ms if args.now_ms is not None else server_now
    interval = cand.interval
    step = INTERVAL_MS[interval]
    start = (now - args.days * 86_400_000) // step * step
    out = Path(args.out)
    from tqdm import tqdm

    bar = tqdm(total=len(symbols) * ((now - start) // step), unit="bar", desc="klines", file=sys.stderr,
               disable=True if args.no_progress else None)
    all_ok = True
    try:
        for sym in symbols:
            k, added = download_klines(adapter, out, sym, interval, start, server_now, bar)
            f, fadded = download_funding(adapter, out, sym, start, server_now)
            c = check_klines(sym, k.open_time_ms, step, now)
            all_ok &= c.ok
            since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(int(k.open_time_ms[0]) / 1000))
            print(f"{'OK  ' if c.ok else 'FAIL'} {c.detail}; +{added} bars ({len(k)} total from {since} UTC), "
                  f"+{fadded} funding rows ({len(f) if f is not None else 0} total)")
    except MarketDataError as exc:
        print(f"download_data: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # an exchange error mid-way: files written so far are complete and stay
        print(f"download_data: exchange error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    print(f"data in {out}: {'all fresh and gap-free' if all_ok else 'CHECKS FAILED (see FAIL lines)'}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
