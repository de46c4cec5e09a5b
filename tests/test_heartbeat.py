"""The 8-hour heartbeat: its format (docs/Telemetry_Format.md) and the real script run as cron runs it,
sending through python-telegram-bot to a local fake Bot API, reading fixture state, the venue as exchange."""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dashboard.heartbeat_message import Leg, NavFigures, build_payload, render_text, top_legs, trend
from tests.state_fixtures import build

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "telegram" / "heartbeat.py"
NOW = dt.datetime(2025, 8, 22, 8, 0, tzinfo=dt.UTC)


# ------------------------------------------------------------------------------------------ format (pure)
@pytest.mark.parametrize("pct, want", [(0.26, "up"), (0.25, "flat"), (0.0, "flat"), (-0.25, "flat"),
                                       (-0.26, "down"), (None, "flat"), (5.0, "up"), (-5.0, "down")])
def test_trend_band(pct, want):
    assert trend(pct) == want


def test_top_positions_grouped_by_symbol_and_side_ranked_by_abs_upnl():
    legs = [Leg("AUSDT", "LONG", 1, 0.1), Leg("BUSDT", "SHORT", 2, -9), Leg("BUSDT", "SHORT", 1, -1),
            Leg("CUSDT", "LONG", 1, 3), Leg("CUSDT", "SHORT", 1, -2.5), Leg("DUSDT", "LONG", 1, 0.2),
            Leg("EUSDT", "LONG", 1, -0.3), Leg("FUSDT", "SHORT", 1, 0.05)]
    top = top_legs(legs)
    assert [(g.symbol, g.side) for g in top] == [("BUSDT", "SHORT"), ("CUSDT", "LONG"), ("CUSDT", "SHORT"),
                                                 ("EUSDT", "LONG"), ("DUSDT", "LONG")]
    assert top[0].qty == 3 and top[0].upnl == -10 and not top[0].hedged
    assert top[1].hedged and top[2].hedged


def test_text_and_payload_follow_the_telemetry_format_exactly():
    nav = NavFigures(12345.67, 123.45, 0.0101, 0.032, "firestore")
    legs = [Leg("ETHUSDT", "SHORT", 0.042, -0.289), Leg("BTCUSDT", "SHORT", 0.001, 0.157),
            Leg("SOLUSDT", "LONG", 1.0, -6.099), Leg("SOLUSDT", "SHORT", 1.0, 5.699)]
    payload = build_payload(env="prod", now=NOW, nav=nav, legs=legs,
                            trades=[("SOLUSDT", 3.12), ("ETHUSDT", -0.58), ("BTCUSDT", 0.22)], reserve_btc=0.013,
                            screener={"attempted": 15, "emitted": 1}, kpis={"max_dd_pct": 9.0,
                                                                            "max_daily_loss_pct": 9.0})
    assert render_text(payload, "Africa/Johannesburg") == "\n".join([
        "HEDGE — 8h Update (prod)",
        "Time: 2025-08-22 10:00 SAST",
        "",
        "NAV: 12,345.67 USDT  (Δ24h: +123.45, +1.01%)",
        "Drawdown: 3.2%  |  Trend: ↑",
        "",
        "Open Positions (top 5):",
        "• SOLUSDT  LONG  1.000  uPnL -6.10  |  SHORT 1.000 uPnL +5.70 (hedged)",
        "• ETHUSDT  SHORT 0.042  uPnL -0.29",
        "• BTCUSDT  SHORT 0.001  uPnL +0.16",
        "",
        "Recent PnL (last 5 trades):",
        "• SOLUSDT +3.12",
        "• ETHUSDT -0.58",
        "• BTCUSDT +0.22",
        "",
        "Notes:",
        "• Reserve: 0.013 BTC (not included in NAV)",
        "• Screener: attempted=15, emitted=1 (last cycle)",
    ])
    assert payload == {
        "env": "prod", "timestamp": "2025-08-22T08:00:00Z", "nav": 12345.67, "nav_24h_delta_abs": 123.45,
        "nav_24h_delta_pct": 1.01, "drawdown_pct": 3.2, "trend": "up", "reserve_btc": 0.013,
        "positions": [{"symbol": "SOLUSDT", "side": "LONG", "qty": 1.0, "uPnl": -6.099, "hedged": True},
                      {"symbol": "SOLUSDT", "side": "SHORT", "qty": 1.0, "uPnl": 5.699, "hedged": True},
                      {"symbol": "ETHUSDT", "side": "SHORT", "qty": 0.042, "uPnl": -0.289, "hedged": False},
                      {"symbol": "BTCUSDT", "side": "SHORT", "qty": 0.001, "uPnl": 0.157, "hedged": False}],
        "recent_trades": [{"symbol": "SOLUSDT", "pnl": 3.12}, {"symbol": "ETHUSDT", "pnl": -0.58},
                          {"symbol": "BTCUSDT", "pnl": 0.22}],
        "screener": {"attempted": 15, "emitted": 1}, "kpis": {"max_dd_pct": 9.0, "max_daily_loss_pct": 9.0},
        "nav_source": "firestore", "warnings": [],
    }


def test_unknown_nav_still_makes_a_message():
    payload = build_payload(env="dev", now=NOW, nav=NavFigures(notes=("NAV unavailable: no state",)), legs=[],
                            trades=[], reserve_btc=0.013, screener=None, kpis={})
    text = render_text(payload)
    assert "NAV: n/a  (Δ24h: n/a)" in text and "Drawdown: n/a  |  Trend: →" in text
    assert "• none" in text and "• Screener: no data" in text and "• NAV unavailable: no state" in text
    assert payload["trend"] == "flat" and payload["nav"] is None


# ------------------------------------------------------------------------------------------ the script
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_heartbeat(tmp_path: Path, *args: str, timeout: float = 60, **env_vars: str) -> subprocess.CompletedProcess:
    """As cron runs it: by path, with a fresh environment, an env file, the repo's venv python."""
    env_file = tmp_path / "heartbeat.env"
    values = {"ENV": "dev", "DRY_RUN": "1", "BINANCE_TESTNET": "0",
              "BINANCE_BASE_URL": f"http://127.0.0.1:{_free_port()}", "STATE_ROOT": str(tmp_path / "logs/state"),
              "LOG_DIR": str(tmp_path / "logs"), "TELEGRAM_BOT_TOKEN": "", "TELEGRAM_CHAT_ID": "",
              "TELEGRAM_API_BASE": "", "FIRESTORE_PROJECT": "", "FIRESTORE_EMULATOR_HOST": "", **env_vars}
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return subprocess.run([sys.executable, str(SCRIPT), "--env-file", str(env_file), *args], cwd=tmp_path,
                          env=clean, capture_output=True, text=True, timeout=timeout)


def split_dry_run(out: str) -> tuple[str, dict]:
    start = out.index("\n{") + 1
    return out[:start].rstrip("\n"), json.loads(out[start:])


def test_dry_run_prints_text_then_payload_from_local_state(tmp_path):
    build(tmp_path, "normal")
    proc = run_heartbeat(tmp_path, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    text, payload = split_dry_run(proc.stdout)
    assert text.startswith("HEDGE — 8h Update (dev)\nTime: ")
    assert "NAV: 10,012.50 USDT  (Δ24h: +62.50, +0.63%)" in text
    assert "Drawdown: 0.9%  |  Trend: ↑" in text
    assert "• SOLUSDT  LONG  1.000  uPnL -6.10  |  SHORT 1.000 uPnL +5.70 (hedged)" in text
    assert text.count("\n• ") >= 10
    assert payload["nav"] == 10012.5 and payload["trend"] == "up" and payload["nav_source"] == "local"
    assert payload["kpis"] == {"max_dd_pct": 10.0, "max_daily_loss_pct": 5.0}
    assert [t["symbol"] for t in payload["recent_trades"]] == ["SOLUSDT", "SOLUSDT", "ETHUSDT", "BTCUSDT", "DOGEUSDT"]
    assert not (tmp_path / "logs" / "heartbeat.jsonl").exists()  # a dry run leaves nothing behind


def test_sends_text_to_the_bot_api_and_logs_the_payload(tmp_path, fake_bot_api):
    build(tmp_path, "circuit_tripped")
    dry = run_heartbeat(tmp_path, "--dry-run")
    expected_text, _ = split_dry_run(dry.stdout)
    proc = run_heartbeat(tmp_path, TELEGRAM_BOT_TOKEN="123:secret-token", TELEGRAM_CHAT_ID="-1001",
                         TELEGRAM_API_BASE=fake_bot_api.base)
    assert proc.returncode == 0, proc.stderr
    sent = fake_bot_api.sent_messages()
    assert len(sent) == 1
    assert sent[0]["token"] == "123:secret-token"
    assert str(sent[0]["params"]["chat_id"]) == "-1001"
    text = sent[0]["params"]["text"]
    # same content as the dry run (the minute on the Time: line may differ)
    assert text.splitlines()[2:] == expected_text.splitlines()[2:]
    assert "NAV: 8,900.00 USDT" in text and "Drawdown: 11.9%" in text
    lines = (tmp_path / "logs" / "heartbeat.jsonl").read_text().splitlines()
    logged = json.loads(lines[-1])
    assert logged["sent"] is True and logged["nav"] == 8900.0 and logged["drawdown_pct"] == 11.88
    assert "secret-token" not in proc.stdout + proc.stderr


def test_bad_token_exits_cleanly_with_the_reason(tmp_path, fake_bot_api):
    build(tmp_path, "normal")
    fake_bot_api.mode = "unauthorized"
    proc = run_heartbeat(tmp_path, TELEGRAM_BOT_TOKEN="999:wrong", TELEGRAM_CHAT_ID="1",
                         TELEGRAM_API_BASE=fake_bot_api.base)
    assert proc.returncode == 0
    assert "[heartbeat] send failed:" in proc.stderr and "Traceback" not in proc.stderr
    assert json.loads((tmp_path / "logs" / "heartbeat.jsonl").read_text().splitlines()[-1])["sent"] is False


@pytest.mark.timeout(60)
def test_a_hanging_bot_api_never_holds_the_process_past_its_bound(tmp_path, fake_bot_api):
    build(tmp_path, "normal")
    fake_bot_api.mode = "hang"
    t0 = time.monotonic()
    proc = run_heartbeat(tmp_path, "--timeout", "6", TELEGRAM_BOT_TOKEN="1:x", TELEGRAM_CHAT_ID="1",
                         TELEGRAM_API_BASE=fake_bot_api.base, timeout=40)
    took = time.monotonic() - t0
    assert proc.returncode == 0
    assert took < 30, took  # a bound, not a speed measurement: a hang would run into the subprocess timeout
    assert "send failed" in proc.stderr or "stopped:" in proc.stderr


def test_nothing_anywhere_still_exits_cleanly_with_reasons(tmp_path):
    """No state, Firestore configured but down, exchange not answering: a message with n/a, exit 0."""
    proc = run_heartbeat(tmp_path, "--dry-run", "--timeout", "30", FIRESTORE_PROJECT="hedge-test",
                         FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{_free_port()}", timeout=60)
    assert proc.returncode == 0, proc.stderr
    text, payload = split_dry_run(proc.stdout)
    assert "NAV: n/a" in text and payload["nav"] is None and payload["nav_source"] == "none"
    assert "Firestore NAV not used" in proc.stderr and "NAV unknown: exchange unavailable" in proc.stderr
    assert any("Firestore not used" in w for w in payload["warnings"])


def test_token_missing_prints_the_message_instead(tmp_path):
    build(tmp_path, "stale")
    proc = run_heartbeat(tmp_path)
    assert proc.returncode == 0
    assert "TELEGRAM_BOT_TOKEN or TELEGRAM_CHAT_ID not set" in proc.stderr
    assert "HEDGE — 8h Update (dev)" in proc.stdout and "NAV is STALE" in proc.stdout


@pytest.mark.slow
def test_nav_from_the_exchange_when_no_state(tmp_path, venue):
    venue.reset(balance=5000)
    proc = run_heartbeat(tmp_path, "--dry-run", BINANCE_BASE_URL=venue.base_url)
    assert proc.returncode == 0, proc.stderr
    text, payload = split_dry_run(proc.stdout)
    assert payload["nav_source"] == "exchange" and payload["nav"] == 5000.0
    assert "NAV: 5,000.00 USDT  (Δ24h: n/a)" in text and "NAV read from the exchange" in text


def test_exchange_refused_when_the_preflight_fails(tmp_path):
    proc = run_heartbeat(tmp_path, "--dry-run", ENV="mainnet", DRY_RUN="0",
                         BINANCE_BASE_URL="https://fapi.binance.com")
    assert proc.returncode == 0, proc.stderr
    assert "exchange not asked: the preflight failed" in proc.stderr
    _, payload = split_dry_run(proc.stdout)
    assert payload["nav"] is None


# ------------------------------------------------------------------------------------------ NAV sources (units)
def _heartbeat_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hedge_heartbeat_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_delta_24h_uses_the_newest_point_a_day_before_the_last():
    hb = _heartbeat_module()
    h = 3_600_000
    pts = [(0, 100.0), (1 * h, 101.0), (2 * h, 103.0), (26 * h, 104.03)]
    d_abs, d_frac = hb.delta_24h(pts)
    assert d_abs == pytest.approx(1.03) and d_frac == pytest.approx(0.01)
    assert hb.delta_24h([(0, 100.0), (23 * h, 120.0)]) == (None, None)  # less than a day of history
    assert hb.delta_24h([]) == (None, None)


def test_firestore_nav_document_shapes():
    from dashboard.firestore_nav import parse_nav_doc

    assert parse_nav_doc({"series": [{"t_ms": 2000, "nav_usd": 2.0}, {"t_ms": 1000, "nav_usd": 1.0}]}) == \
        [(1000, 1.0), (2000, 2.0)]
    assert parse_nav_doc({"points": [{"ts": 1_700_000_000, "nav": 5}]}) == [(1_700_000_000_000, 5.0)]
    assert parse_nav_doc({"points": [{"ts": "2025-08-22T08:00:00Z", "nav": 5}]}) == [(1_755_849_600_000, 5.0)]
    assert parse_nav_doc({"series": [{"t_ms": 1, "nav_usd": "x"}, "junk", {"t_ms": True, "nav_usd": 1}]}) == []
    assert parse_nav_doc({"nav_usd": 7.5, "t_ms": 1_700_000_000_000}) == [(1_700_000_000_000, 7.5)]
    assert parse_nav_doc(None) == [] and parse_nav_doc({"series": "nope"}) == []


def test_unconfigured_firestore_is_not_contacted():
    from dashboard.firestore_nav import read_nav_series

    series = read_nav_series("", "prod")
    assert series.points == [] and "not configured" in series.detail
