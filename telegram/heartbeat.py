#!/usr/bin/env python3
"""The 8-hour Telegram heartbeat (docs/Telemetry_Format.md). Run by cron, by path:

    .venv/bin/python telegram/heartbeat.py [--env-file PATH] [--dry-run] [--tz ZONE] [--timeout SECONDS]

NAV comes from Firestore when configured and answering, else the local state files, else the exchange
(python-binance, only after the preflight gate and with DRY_RUN forced on). --dry-run prints the text, then
the JSON payload, and sends nothing. Otherwise the text goes to TELEGRAM_CHAT_ID through python-telegram-bot
(Bot API base from TELEGRAM_API_BASE) and the payload is appended to LOG_DIR/heartbeat.jsonl.

Best effort: every problem is a logged `[heartbeat]` line and the best message possible; the process exits
0 within --timeout seconds whatever happens (cron must never pile up stuck heartbeats). Secrets never printed.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # cron runs this by path: sys.path[0] is telegram/, not the repo root
    sys.path.insert(1, str(REPO_ROOT))

from dashboard.firestore_nav import read_nav_series  # noqa: E402 - after the sys.path insert above
from dashboard.heartbeat_message import Leg, NavFigures, build_payload, render_text  # noqa: E402 - after the sys.path insert above
from dashboard.state_view import StateView, load_view, local_nav_series, num, position_rows, trade_rows  # noqa: E402 - after the sys.path insert above

DAY_MS = 86_400_000


def say(msg: str) -> None:
    print(f"[heartbeat] {msg}", file=sys.stderr, flush=True)


class Deadline(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001 - the signal handler signature
    raise Deadline("the heartbeat's time bound was reached")


# ---------------------------------------------------------------------------------------------- NAV sources
def delta_24h(points: list[tuple[int, float]]) -> tuple[float | None, float | None]:
    """(abs, fraction) against the newest point at least 24 h before the last one; None when too short."""
    if len(points) < 2:
        return None, None
    t_last, v_last = points[-1]
    older = [v for t, v in points if t <= t_last - DAY_MS]
    if not older or older[-1] == 0:
        return None, None
    return v_last - older[-1], (v_last - older[-1]) / older[-1]


def nav_from_firestore(settings, timeout_s: float) -> tuple[NavFigures | None, str]:
    series = read_nav_series(settings.FIRESTORE_PROJECT, settings.ENV,
                             emulator_host=settings.FIRESTORE_EMULATOR_HOST, timeout_s=timeout_s)
    if not series.points:
        return None, series.detail
    d_abs, d_frac = delta_24h(series.points)
    peak = max(v for _, v in series.points)
    nav = series.points[-1][1]
    return NavFigures(nav, d_abs, d_frac, (peak - nav) / peak if peak > 0 else None, "firestore"), ""


def nav_from_local(view: StateView) -> tuple[NavFigures | None, str]:
    src = view.get("nav")
    nav = src.data
    origin = "nav.json"
    if nav is None:
        nested = view.data("synced_state").get("nav")
        nav, origin = (nested, "synced_state.json") if isinstance(nested, dict) else (None, "")
    if not nav or num(nav.get("nav_usd")) is None:
        return None, f"local state has no NAV ({src.label()})"
    value = num(nav["nav_usd"])
    d_abs, d_frac = num(nav.get("nav_24h_delta_usd")), num(nav.get("nav_24h_delta_pct"))
    if d_abs is None or d_frac is None:
        d_abs, d_frac = delta_24h(local_nav_series(view.state_root).points)
    notes = []
    if src.status == "stale" or nav.get("stale") is True:
        notes.append(f"NAV is STALE: {src.label()}")
    elif origin != "nav.json":
        notes.append(f"NAV from {origin} ({src.label()})")
    return NavFigures(value, d_abs, d_frac, num(nav.get("current_dd_pct")), "local",
                      stale=bool(notes and "STALE" in notes[0]), notes=tuple(notes)), ""


def nav_from_exchange(settings) -> tuple[NavFigures | None, list[Leg], str]:
    """Wallet balance + Σ unrealized PnL through python-binance; refused unless the preflight passes."""
    from settings.safety_gate import check_environment

    problems = check_environment(None, settings=settings).problems  # the one gate, on the settings as loaded
    if problems:
        return None, [], "exchange not asked: the preflight failed (" + "; ".join(problems)[:300] + ")"
    from execution.exchange_utils import build_adapter

    adapter = build_adapter(settings, dry_run=True, timeout=10.0)  # reads only; DRY_RUN gate on regardless
    usdt = adapter.balance("USDT")
    legs_raw = adapter.positions()
    upnl = sum(float(p.unrealized_pnl) for p in legs_raw)
    if usdt is None:
        return None, [], "exchange reported no USDT balance"
    sides: dict[str, set[str]] = {}
    for p in legs_raw:
        sides.setdefault(p.symbol, set()).add(p.position_side)
    legs = [Leg(p.symbol, p.position_side, abs(float(p.amount)), float(p.unrealized_pnl),
                sides[p.symbol] >= {"LONG", "SHORT"}) for p in legs_raw if p.position_side in ("LONG", "SHORT")]
    nav = float(usdt.balance) + upnl
    return NavFigures(nav, None, None, None, "exchange", notes=("NAV read from the exchange (no state files)",)), \
        legs, ""


# ---------------------------------------------------------------------------------------------- assembling
def kpis(settings) -> dict[str, float | None]:
    try:
        from settings.loader import load_file

        risk = load_file(Path(settings.CONFIG_DIR) if Path(settings.CONFIG_DIR).is_absolute()
                         else REPO_ROOT / settings.CONFIG_DIR, "risk_limits.json")
        return {"max_dd_pct": risk.circuit_breakers.max_portfolio_dd_nav_pct * 100,
                "max_daily_loss_pct": risk.KILL_DAILY_LOSS_PCT * 100}
    except Exception as exc:  # a bad config must not stop the heartbeat; the executor refuses it anyway
        say(f"risk limits unreadable, KPIs omitted: {str(exc).splitlines()[0]}")
        return {"max_dd_pct": None, "max_daily_loss_pct": None}


def _resolve(path: Path) -> Path:
    return path if path.is_absolute() else REPO_ROOT / path


def collect(settings, firestore_timeout_s: float) -> dict:
    view = load_view(_resolve(settings.STATE_ROOT), _resolve(settings.LOG_DIR))
    warnings: list[str] = []
    nav, why_fs = (None, "")
    if settings.FIRESTORE_PROJECT:
        nav, why_fs = nav_from_firestore(settings, firestore_timeout_s)
        if nav is None:
            say(f"Firestore NAV not used: {why_fs}")
    legs = [Leg(r["symbol"], r["side"], r["qty"], r["upnl_usd"] or 0.0, r["hedged"])
            for r in position_rows(view)[0] if r["side"] in ("LONG", "SHORT")]
    local, why_local = nav_from_local(view)
    if nav is None:
        nav = local
    elif local is not None and nav.drawdown_frac is None:
        nav = NavFigures(nav.nav_usd, nav.delta_usd, nav.delta_frac, local.drawdown_frac, nav.source)
    if nav is None:
        say(why_local)
        try:
            nav, ex_legs, why_ex = nav_from_exchange(settings)
        except Deadline:
            raise
        except Exception as exc:
            nav, ex_legs, why_ex = None, [], f"exchange unavailable ({type(exc).__name__}: {str(exc)[:200]})"
        if nav is None:
            say(f"NAV unknown: {why_ex}")
            nav = NavFigures(notes=(f"NAV unavailable: {why_local}; {why_ex}",))
        else:
            legs = ex_legs or legs
    if settings.FIRESTORE_PROJECT and nav.source != "firestore":
        warnings.append(f"Firestore not used: {why_fs}")
    trades = [(t["symbol"], num(t.get("realized_pnl_usd")) or 0.0) for t in trade_rows(view, 5)[0]]
    reserve = num(view.data("nav").get("reserve_btc"))
    return build_payload(env=settings.ENV, now=dt.datetime.now(dt.UTC), nav=nav, legs=legs,
                         trades=trades, reserve_btc=settings.RESERVE_BTC if reserve is None else reserve,
                         screener=view.data("screener") or None, kpis=kpis(settings), warnings=warnings)


# ---------------------------------------------------------------------------------------------- sending
async def _send(token: str, chat_id: str, text: str, api_base: str, timeout_s: float) -> int:
    from telegram.request import HTTPXRequest

    import telegram
    from settings.env import is_loopback_url

    base = (api_base.rstrip("/") if api_base else "https://api.telegram.org")
    # a loopback Bot API (tests, a local relay) must not be sent through an HTTP proxy from the environment
    request = HTTPXRequest(connect_timeout=timeout_s, read_timeout=timeout_s, write_timeout=timeout_s,
                           pool_timeout=timeout_s, httpx_kwargs={"trust_env": not is_loopback_url(base)})
    bot = telegram.Bot(token=token, base_url=f"{base}/bot", request=request)
    message = await bot.send_message(chat_id=chat_id, text=text, disable_web_page_preview=True)
    return message.message_id


def send(settings, text: str, timeout_s: float) -> bool:
    token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
    if not token or not settings.TELEGRAM_CHAT_ID:
        say("TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID not set: message not sent (printed below)")
        print(text, flush=True)
        return False
    try:
        mid = asyncio.run(asyncio.wait_for(
            _send(token, settings.TELEGRAM_CHAT_ID, text, settings.TELEGRAM_API_BASE, timeout_s), timeout_s * 2))
    except Deadline:
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {str(exc)[:200]}".replace(token, "***")
        say(f"send failed: {reason}")
        return False
    say(f"sent to chat {settings.TELEGRAM_CHAT_ID} (message_id={mid})")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hedge 8-hour Telegram heartbeat (docs/Telemetry_Format.md)")
    parser.add_argument("--env-file", default=str(REPO_ROOT / ".env"))
    parser.add_argument("--dry-run", action="store_true", help="print the text, then the JSON payload; send nothing")
    parser.add_argument("--tz", default="UTC", help="time zone of the 'Time:' line, e.g. Africa/Johannesburg")
    parser.add_argument("--timeout", type=float, default=60.0, help="hard bound on the whole run, seconds")
    args = parser.parse_args(argv)
    started = time.monotonic()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(max(1, int(args.timeout)))
    try:
        from settings.env import load_env
        from settings.errors import ConfigError

        try:
            settings = load_env(args.env_file)
        except ConfigError as exc:
            say(f"settings unusable, nothing sent: {exc}")
            return 0
        step = max(1.0, min(10.0, args.timeout / 4))
        payload = collect(settings, firestore_timeout_s=min(5.0, step))
        text = render_text(payload, args.tz)
        if args.dry_run:
            print(text)
            print(json.dumps(payload, ensure_ascii=False, indent=2), flush=True)
            return 0
        sent = send(settings, text, timeout_s=step)
        payload_line = {**payload, "sent": sent}
        try:
            from execution.state_store import append_event

            append_event(_resolve(settings.LOG_DIR) / "heartbeat.jsonl", payload_line)
        except Exception as exc:
            say(f"payload not logged: {exc}")
        print(json.dumps(payload_line, ensure_ascii=False), flush=True)
        return 0
    except Deadline as exc:
        say(f"stopped: {exc} ({args.timeout:.0f} s)")
        return 0
    except Exception as exc:  # best effort: a heartbeat bug must not become a cron mail storm or a hang
        say(f"failed: {type(exc).__name__}: {str(exc)[:300]}")
        return 0
    finally:
        signal.alarm(0)
        say(f"done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # abandoned network threads (a stuck Firestore call) must not hold the process open
