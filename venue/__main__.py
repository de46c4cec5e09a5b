"""python -m venue: the local Binance USD-M venue. See docs/VENUE.md."""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import json
import math
import signal
import sys
from decimal import Decimal
from pathlib import Path

from aiohttp import web

from .book import BookModel
from .brackets import bracket_table
from .engine import Engine
from .filters import SymbolSpec
from .ratelimit import RateLimiter
from .replay import FileSource, Market, MarketClock, ShiftedSource, SyntheticSource, WallClock, wall_shift_ms
from .server import Venue, make_socket

DEFAULT_EXCHANGE_INFO = Path(__file__).with_name("exchange_info_default.json")
SYNTHETIC_START = "2024-01-01"


def parse_time(text: str) -> int:
    """'2024-01-01', '2024-01-01T08:00', '2024-01-01 08:00:00' (UTC) or epoch milliseconds."""
    if text.isdigit():
        return int(text)
    d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return int(d.timestamp() * 1000)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m venue",
        description="Local Binance USD-M futures venue: python-binance works against it unchanged. "
                    "Prints one '[venue] ready ...' line when it accepts connections.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; loopback only "
                   "unless --allow-remote)")
    p.add_argument("--port", type=int, default=18080, help="port (default 18080; 0 = pick a free one)")
    p.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback address")
    p.add_argument("--data", type=Path, default=None,
                   help="data dir in the ../shared/data layout (klines/, funding/, optional exchange/); "
                        "without it the venue replays seeded synthetic data")
    p.add_argument("--interval", default="1h", help="kline interval of the data files to replay (default 1h)")
    p.add_argument("--exchange-info", type=Path, default=None,
                   help="exchangeInfo JSON to serve and enforce (default: DIR/exchange/exchangeInfo-fapi.json "
                        "if present, else the shipped venue/exchange_info_default.json); its rateLimits apply")
    p.add_argument("--symbols", default=None,
                   help="comma list of symbols, or 'all' (every USDT perpetual in the exchangeInfo; synthetic "
                        "data for those without files). Default: every symbol with data files, or the 10 "
                        "default symbols when synthetic")
    p.add_argument("--api-key", default="hedge-local-key", help="API key (default hedge-local-key)")
    p.add_argument("--api-secret", default="hedge-local-secret", help="API secret (default hedge-local-secret)")
    p.add_argument("--balance", type=Decimal, default=Decimal("10000"), help="starting USDT balance (default 10000)")
    p.add_argument("--speed", type=float, default=1.0, help="market clock speed vs wall clock (default 1; 3600 = "
                   "one market hour per second)")
    p.add_argument("--start", default=None,
                   help="market start time, UTC date/datetime or epoch ms (default: synthetic "
                        f"{SYNTHETIC_START}; data: 30 days after the latest first bar)")
    p.add_argument("--clock", choices=("market", "wall"), default="market",
                   help="market (default): the replay's own clock at --speed, served times are market times; "
                        "wall: --start maps to the wall clock now (whole days shifted), speed 1, every served "
                        "time is real time - for bots that compare exchange times with their own clock")
    p.add_argument("--brackets", type=Path, default=None,
                   help="leverage brackets JSON (Binance's GET /fapi/v1/leverageBracket answer; default: "
                        "DIR/exchange/leverageBracket-fapi.json with --data if present, else the built-in "
                        "default table)")
    p.add_argument("--paused", action="store_true", help="start with the market clock paused")
    p.add_argument("--seed", type=int, default=0, help="synthetic data seed (default 0)")
    p.add_argument("--synthetic-days", type=int, default=180, help="synthetic data generated after --start "
                   "(days, default 180); afterwards prices stay flat")
    p.add_argument("--dual-side", action="store_true", help="start the account in hedge mode")
    p.add_argument("--maker-fee", type=Decimal, default=Decimal("0.0002"), help="maker fee (default 0.0002)")
    p.add_argument("--taker-fee", type=Decimal, default=Decimal("0.0005"), help="taker fee (default 0.0005)")
    p.add_argument("--spread-bps", type=float, default=1.0, help="synthetic book spread in bp (default 1.0)")
    p.add_argument("--depth-notional", type=float, default=25_000.0,
                   help="quote value at the best level of the synthetic book (default 25000; grows away)")
    p.add_argument("--weight-limit", type=int, default=None, help="REQUEST_WEIGHT per minute (default 2400)")
    p.add_argument("--orders-per-min", type=int, default=None, help="ORDERS per minute (default 1200)")
    p.add_argument("--orders-per-10s", type=int, default=None, help="ORDERS per 10 s (default 300)")
    p.add_argument("--ban-after", type=int, default=5, help="requests sent while 429-limited before a 418 ban "
                   "(default 5)")
    p.add_argument("--ban-seconds", type=int, default=120, help="418 ban length in seconds (default 120)")
    p.add_argument("--tick-ms", type=int, default=100, help="engine advance period in wall ms (default 100)")
    p.add_argument("--admin-token", default=None,
                   help="accept /_venue/ admin calls carrying this X-Venue-Admin-Token header whatever their "
                        "Host (default: none; admin calls need a loopback Host)")
    p.add_argument("--full-advance", action="store_true",
                   help="advance every active symbol on every request (the reference the default, indexed "
                        "advance is tested against; same results, cost grows with the symbols)")
    return p


def _rate_limits(doc: dict) -> dict:
    out = {}
    for r in doc.get("rateLimits", []):
        secs = {"SECOND": 1, "MINUTE": 60, "DAY": 86400}.get(r.get("interval"), 60) * int(r.get("intervalNum", 1))
        out[(r["rateLimitType"], secs)] = int(r["limit"])
    return out


def setup(args: argparse.Namespace) -> tuple[Venue, dict]:
    host_ip = args.host
    try:
        loopback = ipaddress.ip_address(host_ip).is_loopback
    except ValueError:
        loopback = host_ip == "localhost"
    if not loopback and not args.allow_remote:
        raise SystemExit(f"[venue] refusing to bind non-loopback address {args.host} without --allow-remote")

    xpath = args.exchange_info
    if xpath is None and args.data is not None and (args.data / "exchange" / "exchangeInfo-fapi.json").is_file():
        xpath = args.data / "exchange" / "exchangeInfo-fapi.json"
    xinfo = json.loads((xpath or DEFAULT_EXCHANGE_INFO).read_text())
    by_name = {s["symbol"]: s for s in xinfo["symbols"]}

    source: FileSource | SyntheticSource | ShiftedSource | None
    if args.data is not None:
        source = FileSource(args.data, args.interval)
        available = [s for s in source.symbols() if s in by_name]
    else:
        source = None
        available = [s["symbol"] for s in xinfo["symbols"] if s.get("contractType") == "PERPETUAL"
                     and s.get("status") == "TRADING" and s.get("marginAsset") == "USDT"]
    if args.symbols is None:
        if args.data is not None:
            symbols = available
        else:
            from marketdata.synthetic import DEFAULT_SYMBOLS
            symbols = [s for s in DEFAULT_SYMBOLS if s in by_name]
    elif args.symbols.lower() == "all":
        symbols = available
    else:
        symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
        bad = [s for s in symbols if s not in by_name or (args.data is not None and s not in available)]
        if bad:
            raise SystemExit(f"[venue] no exchangeInfo entry or data for: {', '.join(bad)}")
    if not symbols:
        raise SystemExit("[venue] no symbols to replay")

    specs = {s: SymbolSpec.from_exchange_info(by_name[s]) for s in symbols}
    if source is None:
        start = parse_time(args.start) if args.start else parse_time(SYNTHETIC_START)
        # a start price of ~20000 ticks keeps the tick about 0.5 bp of price for unknown symbols
        hints = {s: float(10 ** round(math.log10(float(specs[s].tick) * 20_000))) for s in symbols}
        source = SyntheticSource(symbols, start, args.interval, args.seed, hints, days=args.synthetic_days)
    else:
        start = parse_time(args.start) if args.start else source.default_start_ms(symbols)

    served = dict(xinfo)
    served["symbols"] = [by_name[s] for s in symbols]
    lim = _rate_limits(xinfo)
    limiter = RateLimiter(
        weight_per_min=args.weight_limit or lim.get(("REQUEST_WEIGHT", 60), 2400),
        orders_per_min=args.orders_per_min or lim.get(("ORDERS", 60), 1200),
        orders_per_10s=args.orders_per_10s or lim.get(("ORDERS", 10), 300),
        ban_after=args.ban_after, ban_seconds=args.ban_seconds)
    served["rateLimits"] = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": limiter.weight_per_min},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": limiter.orders_per_min},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": limiter.orders_per_10s},
    ]
    clock: MarketClock
    if args.clock == "wall":
        if args.paused or args.speed != 1.0:
            raise SystemExit("[venue] --clock wall runs at speed 1 and cannot start paused")
        clock = WallClock()
        source = ShiftedSource(source, wall_shift_ms(start, clock.now_ms()))
    else:
        clock = MarketClock(start, args.speed, paused=args.paused)
    market = Market(source, clock, symbols)
    bpath = args.brackets
    if bpath is not None and not bpath.is_file():
        raise SystemExit(f"[venue] --brackets {bpath}: no such file")
    if bpath is None and args.data is not None:
        bpath = args.data / "exchange" / "leverageBracket-fapi.json"
    brackets = bracket_table(specs, bpath)
    book = BookModel(spread_bps=args.spread_bps, base_notional=args.depth_notional)
    engine = Engine(specs, market, book, maker_fee=args.maker_fee, taker_fee=args.taker_fee,
                    eager=args.full_advance, brackets=brackets)
    venue = Venue(engine, served, limiter, args.api_key, args.api_secret, args.balance, tick_ms=args.tick_ms,
                  admin_token=args.admin_token)
    if args.dual_side:
        engine.accounts[args.api_key].dual = True
    return venue, {"symbols": len(symbols)}


async def serve(args: argparse.Namespace) -> None:
    venue, info = setup(args)
    sock = make_socket(args.host, args.port)
    runner = web.AppRunner(venue.build_app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    host, port = sock.getsockname()[:2]
    mt = dt.datetime.fromtimestamp(venue.clock.now_ms() / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"[venue] ready http://{host}:{port} symbols={info['symbols']} speed={args.speed} market_time={mt}"
          + (" clock=wall" if args.clock == "wall" else ""), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
