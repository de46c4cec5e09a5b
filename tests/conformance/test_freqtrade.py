"""Conformance: an unmodified freqtrade (pinned, own virtualenv) trades live USD-M futures on the venue in
wall-clock mode, with only its ccxt URLs pointed at it (venue/recipes.py; recipe in docs/VENUE.md).

Hand-made 1-minute data around "now": both pairs flat, a funding event at +FUND_MIN minutes, then BTC falls
4 % at +DROP_MIN. The bot must load markets, set leverage and margin mode, place and fill orders, see its
exchange-side stop fire on BTC, book the funding fee into the ETH trade (closed by a time exit after the
funding time), and log no ERROR line. Bounded: the run stops as soon as all that is seen, at most ~6 minutes.
"""
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conformance.freqtrade_env import ensure_venv, freqtrade_bin
from tests.plugins.venue import write_dataset
from venue.recipes import freqtrade_exchange

MIN = 60_000
FUND_MIN, DROP_MIN = 2, 3
RUN_LIMIT_S = 6 * 60
PAIRS = {"BTC/USDT:USDT": ("BTCUSDT", 50_000.0), "ETH/USDT:USDT": ("ETHUSDT", 2_500.0)}
STRATEGY_DIR = Path(__file__).parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]


@pytest.fixture(scope="module")
def freqtrade():
    try:
        env = ensure_venv()
    except Exception as exc:            # no network / no wheel for this platform: say exactly why
        pytest.fail(f"could not build the freqtrade virtualenv: {exc}")
    exe = freqtrade_bin(env)
    subprocess.run([str(exe), "--version"], capture_output=True, timeout=300)   # warm the imports once
    return exe


def minute_data(tmp_path: Path, m0: int) -> Path:
    """1500 minutes of history before m0 and 40 after; funding every 8 h of history plus one at +FUND_MIN."""
    klines, funding = {}, {}
    for sym, p in PAIRS.values():
        rows = []
        for i in range(-1500, 40):
            t = m0 + i * MIN
            wiggle = p * 0.0002 * (1 if i % 2 else -1)
            o, c = p, p + wiggle
            if sym == "BTCUSDT" and i >= DROP_MIN:
                o = c = p * 0.96
                if i == DROP_MIN:
                    o = p
            rows.append((t, o, max(o, c), min(o, c), c, 50.0))
        klines[sym] = rows
        hist = [(t, 0.0001) for t in range(m0 - 1500 * MIN, m0, MIN) if t % (8 * 60 * MIN) == 0]
        funding[sym] = hist + [(m0 + FUND_MIN * MIN, 0.0005)]
    return write_dataset(tmp_path / "data", klines, funding, interval="1m")


def freqtrade_config(v, db: Path, m0: int) -> dict:
    """The freqtrade config of docs/VENUE.md's recipe (plus the test's own time exit)."""
    return {
        "trading_mode": "futures", "margin_mode": "isolated", "dry_run": False,
        "max_open_trades": 2, "stake_currency": "USDT", "stake_amount": 100, "tradable_balance_ratio": 0.99,
        "fiat_display_currency": "", "timeframe": "1m", "db_url": f"sqlite:///{db}",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "unfilledtimeout": {"entry": 10, "exit": 10, "unit": "seconds"},
        "exchange": freqtrade_exchange(v.base_url, v.api_key, v.api_secret, list(PAIRS)),
        "pairlists": [{"method": "StaticPairList"}],
        "internals": {"process_throttle_secs": 2, "heartbeat_interval": 0},
        "initial_state": "running", "bot_name": "venue-conformance",
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "venue_time_exit": {"ETH/USDT:USDT": m0 + FUND_MIN * MIN + 20_000},
    }


def trades(db: Path) -> list[dict]:
    if not db.exists():
        return []
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        con.row_factory = sqlite3.Row
        rows = [dict(r) for r in con.execute("SELECT * FROM trades")]
        con.close()
        return rows
    except sqlite3.Error:
        return []


def orders(db: Path) -> list[dict]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM orders")]
    con.close()
    return rows


def done(rows: list[dict]) -> bool:
    by_pair = {r["pair"]: r for r in rows}
    btc, eth = by_pair.get("BTC/USDT:USDT"), by_pair.get("ETH/USDT:USDT")
    return bool(btc and eth and not btc["is_open"] and not eth["is_open"])


def test_freqtrade_trades_live_on_the_venue(freqtrade, venue_factory, tmp_path):
    m0 = int(time.time() * 1000) // MIN * MIN
    data = minute_data(tmp_path, m0)
    v = venue_factory(data=data, start=m0, balance=1000, extra=["--clock", "wall", "--interval", "1m"])
    db = tmp_path / "trades.sqlite"
    log = tmp_path / "freqtrade.log"
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(freqtrade_config(v, db, m0), indent=2))
    env = {k: val for k, val in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # anything that is not the venue goes to a dead loopback proxy: the bot can reach nothing else
    env.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1,localhost")
    env.update(COLUMNS="1000", NO_COLOR="1", TERM="dumb")     # one log record per line, no wrapping
    cmd = [str(freqtrade), "trade", "--config", str(cfg), "--strategy", "VenueConformance",
           "--strategy-path", str(STRATEGY_DIR), "--userdir", str(tmp_path / "user_data")]
    subprocess.run([str(freqtrade), "create-userdir", "--userdir", str(tmp_path / "user_data")],
                   capture_output=True, timeout=300, env=env)
    out = open(log, "w")                  # freqtrade logs to stderr
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    out.close()
    deadline = time.monotonic() + RUN_LIMIT_S
    try:
        while time.monotonic() < deadline and proc.poll() is None and not done(trades(db)):
            time.sleep(2)
    finally:
        ran = log.read_text() if log.exists() else ""      # the run itself, before we interrupt it
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = log.read_text() if log.exists() else ""
    tail = text[-6000:]
    rows = {r["pair"]: r for r in trades(db)}
    assert set(rows) == set(PAIRS), f"trades {list(rows)}\n{tail}"
    assert done(list(rows.values())), f"trades still open after {RUN_LIMIT_S}s\n{tail}"

    stats = v.stats()
    req = stats["requests"]
    # markets loaded (incl. what ccxt asks with keys set), brackets read, leverage and margin mode set
    for path in ("/fapi/v1/exchangeInfo", "/fapi/v1/leverageBracket", "/fapi/v1/multiAssetsMargin",
                 "/fapi/v1/positionSide/dual", "/fapi/v1/leverage", "/fapi/v1/marginType"):
        assert req.get(path, 0) >= 1, (path, req)
    # orders placed and filled: entries, the ETH exit, the BTC stop on the exchange
    btc, eth = rows["BTC/USDT:USDT"], rows["ETH/USDT:USDT"]
    assert btc["exit_reason"] == "stoploss_on_exchange", tail
    assert eth["exit_reason"] == "time_exit", tail
    assert stats["orders_accepted"].get("MARKET", 0) >= 3 and stats["orders_accepted"].get("STOP_MARKET", 0) >= 2
    filled = [o for o in orders(db) if o["status"] == "closed" and o["filled"]]
    assert {(o["ft_pair"], o["ft_order_side"]) for o in filled} >= {
        ("BTC/USDT:USDT", "buy"), ("ETH/USDT:USDT", "buy"), ("ETH/USDT:USDT", "sell"), ("BTC/USDT:USDT", "stoploss")}
    # the funding event reached freqtrade's trade record (longs pay a positive rate)
    assert stats["funding_events"] >= 2
    assert eth["funding_fees"] is not None and eth["funding_fees"] < 0, eth
    assert eth["leverage"] == 2.0 and btc["leverage"] == 2.0
    # ERROR lines while trading (an interrupt in the middle of a database write at our stop is not the bot's)
    flat = " ".join(ran.split())
    assert 'Using Exchange "Binance"' in flat and "Strategy using stoploss: -0.01" in flat, ran[:3000]
    errors = [line for line in ran.splitlines() if " - ERROR - " in line or " - CRITICAL - " in line]
    assert not errors, "\n".join(errors[:20])
