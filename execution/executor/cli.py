"""`.venv/bin/python -m execution.executor` command line (docs/Runbook.md style;
docs/Runbook.md "Executor — start and stop").

    --profile dev|demo|prod   --dry-run (forces DRY_RUN on; nothing turns it off)   --dev-fast (short loop)
    --once | --cycles N (exit 0 after N)   --symbols A B   --interval S   --reduce-only   --leverage N
    --order-type market|limit   --tif GTC|IOC|GTX   --env-file PATH   --config-dir PATH

Exit codes: 0 done (or SIGTERM), 2 bad config/env (file, field, reason), 3 the safety gate refused, 1 start failed.
A transient start failure (418 ban, 429, 5xx, timeout, venue unreachable) is waited out and start is retried
(docs/Runbook.md "Bad input"): a supervisor restart loop would re-hit the ban and lengthen it.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

DEV_FAST_INTERVAL_S = 2.0  # ~30 request weight per cycle: well inside Binance's 2400/min
START_BACKOFF_S = 2.0  # first wait after a transient start failure without Retry-After / ban end
START_WAIT_MAX_S = 300.0  # one wait at most; a longer ban is refused locally by the adapter (nothing is sent)

log = logging.getLogger("hedge.executor")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m execution.executor", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=("dev", "demo", "prod"), help="profile (default: runtime.yaml profile)")
    p.add_argument("--dry-run", action="store_true", help="force DRY_RUN on (cannot be turned off here)")
    p.add_argument("--dev-fast", action="store_true", help=f"loop every {DEV_FAST_INTERVAL_S:g} s (development)")
    p.add_argument("--once", action="store_true", help="one cycle, then exit")
    p.add_argument("--cycles", type=int, metavar="N", help="N cycles, then exit 0")
    p.add_argument("--symbols", nargs="+", metavar="SYMBOL", help="trade only these (default: pairs_universe.json)")
    p.add_argument("--interval", type=float, metavar="SECONDS", help="loop interval (default: runtime.yaml)")
    p.add_argument("--reduce-only", action="store_true", help="only orders that shrink a leg (REDUCING)")
    p.add_argument("--leverage", type=int, metavar="N", help="leverage for every symbol (capped by profile/limits)")
    p.add_argument("--order-type", choices=("market", "limit"),
                   help="market: no maker attempts; limit: maker with --tif")
    p.add_argument("--tif", choices=("GTC", "IOC", "GTX"), help="time in force of limit orders (default GTX)")
    p.add_argument("--env-file", default=".env", help="env file (default .env)")
    p.add_argument("--config-dir", help="config directory (default: the env's CONFIG_DIR)")
    p.add_argument("--nav-source", choices=("sync_state", "account"), default=None,
                   help="NAV from sync_state's nav.json (default) or this cycle's balance (dev/test only; the "
                        "default with --dev-fast, where an accelerated venue clock makes any file NAV stale)")
    return p


def env_or_exit_code(env_file: str | None):
    """(EnvSettings, None) from `env_file` (absent default .env = the process environment only), or
    (None, 2) after printing the file, the variable and the reason. Shared by the operator scripts."""
    from settings.env import load_env
    from settings.errors import ConfigError

    path = env_file if env_file and Path(env_file).exists() else None
    if env_file and env_file != ".env" and path is None:
        print(f"--env-file {env_file}: no such file", file=sys.stderr)
        return None, 2
    try:
        return load_env(path), None
    except ConfigError as e:
        print(str(e), file=sys.stderr)
        return None, 2


def _split_symbols(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [s.strip().upper() for v in values for s in v.split(",") if s.strip()]
    return list(dict.fromkeys(out)) or None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.cycles is not None and args.cycles < 1:
        print("--cycles must be >= 1", file=sys.stderr)
        return 2
    from execution.log_setup import setup_logging
    from settings.loader import load_or_exit

    from .exchange_port import GateRefused, open_gate
    from .loop import Executor, Options

    env0, code = env_or_exit_code(args.env_file)
    if env0 is None:
        return code
    env_file = args.env_file if Path(args.env_file).exists() else None
    config_dir = args.config_dir or str(env0.CONFIG_DIR)
    cfg, env = load_or_exit(config_dir, env_file)
    setup_logging("executor", env.LOG_DIR, env.LOG_LEVEL, settings=env)
    dry_run = bool(env.DRY_RUN or args.dry_run)
    profile = args.profile or cfg.runtime.profile
    nav_source = args.nav_source or ("account" if args.dev_fast and not env.is_production else "sync_state")
    if nav_source == "account" and env.is_production:
        print("--nav-source account is for dev/test against the local venue only", file=sys.stderr)
        return 2
    interval = args.interval or (DEV_FAST_INTERVAL_S if args.dev_fast else cfg.runtime.loop.executor_interval_seconds)
    opts = Options(profile=profile, dry_run=dry_run, interval_s=float(interval), once=args.once, cycles=args.cycles,
                   symbols=_split_symbols(args.symbols), reduce_only=args.reduce_only, leverage=args.leverage,
                   order_type=args.order_type, tif=args.tif, nav_source=nav_source,
                   decide_last_bar=bool(args.dev_fast and not env.is_production))
    try:
        port = open_gate(env, dry_run=dry_run, timeout=cfg.runtime.exchange.request_timeout_seconds,
                         recv_window_ms=cfg.runtime.exchange.recv_window_ms,
                         exchange_info_ttl_s=cfg.runtime.exchange.exchange_info_refresh_seconds)
    except GateRefused as e:
        log.error("[executor] safety gate refused to start: %s", e)
        return 3
    ex = Executor(port, cfg, env, opts)
    try:
        if not _start(ex):
            log.info("[executor] stopped by a signal before start completed (no order sent)")
            port.close()
            return 0
    except Exception as e:  # noqa: BLE001 - a start failure is one clear line and a non-zero exit
        log.exception("[executor] START_FAILED %s: %s", type(e).__name__, e)
        ex._health(ok=False)
        port.close()
        return 1
    try:
        return ex.run()
    finally:
        port.close()
        log.info("[executor] exit pid=%d", os.getpid())


def start_wait_s(e: BaseException, attempt: int, now_ms: int) -> float | None:
    """Seconds to wait before retrying a failed start, or None when the failure is not transient (config,
    auth, no tradable symbol: retrying cannot help). A 418 waits for the ban's end, a 429 for Retry-After,
    anything else retryable backs off 2, 4, 8 ... s; every wait is bounded by START_WAIT_MAX_S."""
    from execution.exchange.errors import ExchangeError, RateLimitedError, RetryableError

    err: BaseException | None = e
    while err is not None and not isinstance(err, ExchangeError):
        err = err.__cause__ or err.__context__
    # a 418 is not `retryable` for the adapter (no immediate retry), but it ends: start waits it out
    if not isinstance(err, (RateLimitedError, RetryableError)):
        return None
    if err.until_ms:
        wait = (err.until_ms - now_ms) / 1000 + 0.5
    elif err.retry_after is not None:
        wait = err.retry_after
    else:
        wait = START_BACKOFF_S * 2 ** min(attempt - 1, 8)
    return min(START_WAIT_MAX_S, max(0.5, wait))


def _start(ex: Any) -> bool:
    """ex.start(), waiting out transient failures; False when SIGTERM/SIGINT arrived first. No order is
    sent before start completes (start only reads, sets leverage / hedge mode and reconciles)."""
    signal.signal(signal.SIGTERM, ex._on_term)
    signal.signal(signal.SIGINT, ex._on_term)
    attempt = 0
    while not ex.stop:
        attempt += 1
        try:
            ex.start()
            return True
        except Exception as e:
            wait = start_wait_s(e, attempt, int(time.time() * 1000))
            if wait is None:
                raise
            log.warning("[executor] START_WAIT attempt=%d %s: %s; retrying in %.1f s", attempt,
                        type(e).__name__, e, wait)
            ex.last_error = f"START_WAIT {type(e).__name__}: {e}"
            ex._health(ok=False)
            end = time.monotonic() + wait
            while not ex.stop and time.monotonic() < end:
                time.sleep(min(0.25, max(0.0, end - time.monotonic())))
    return False
