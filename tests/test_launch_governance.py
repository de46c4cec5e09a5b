"""Launch governance (docs/Production_Launch_SOP.md): live metrics and bands, the risk guard's decisions and
actions (kill switch file, panic close, Telegram through a local fake Bot API), the daily/weekly report,
trading.db, and the launch guard against the local venue."""
import json
import math
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from backtest.live_metrics import DAY_MS, DayMetrics, band_of, decide, metrics_as_of
from backtest.trading_db import TradingDB, sync_from_state
from execution.state_store import append_event
from settings.models import MetricBand

NOW = 1_760_000_000_000 // DAY_MS * DAY_MS + 6 * 3_600_000  # 06:00 UTC on some day


def _rules(repo_root):
    from backtest.config_files import load_rules
    return load_rules(repo_root / "config" / "prod_scale_rules_R1.yaml")


def _cand(repo_root):
    from backtest.config_files import load_candidate
    return load_candidate(repo_root / "config" / "prod_candidate_R1.yaml")


def _nav_series(daily_returns, start_nav=10_000.0):
    """Hourly NAV points ending at NOW - 1 h whose daily closes follow `daily_returns`."""
    n = len(daily_returns) + 1
    t = NOW - 3_600_000 - np.arange(n)[::-1] * DAY_MS
    nav = start_nav * np.cumprod(np.r_[1.0, 1.0 + np.asarray(daily_returns)])
    return t.astype(np.int64), nav


def test_sharpe_mdd_and_return_known_answers(repo_root):
    r = np.array([0.01, -0.005, 0.002] * 10)
    t, nav = _nav_series(r)
    m = metrics_as_of(NOW, t, nav, [], [], _cand(repo_root))
    last20 = r[-20:]
    assert m.sharpe_20d == pytest.approx(last20.mean() / last20.std(ddof=1) * math.sqrt(365), rel=1e-9)
    assert m.running_mdd == pytest.approx(0.005, rel=1e-9)
    assert m.return_30d == pytest.approx(nav[-1] / nav[-31] - 1, rel=1e-12)
    assert metrics_as_of(NOW, t[-5:], nav[-5:], [], [], None).sharpe_20d is None  # not enough days


def test_slippage_funding_and_sleeves(repo_root):
    t, nav = _nav_series([0.0] * 40)
    fills = [{"time_ms": NOW - 2 * DAY_MS, "symbol": "BTCUSDT", "side": "BUY", "qty": 1.0, "price": 100.06,
              "expected_price": 100.0, "realized_pnl_usd": 0.0, "commission_usd": 1.0},
             {"time_ms": NOW - 3 * DAY_MS, "symbol": "ETHUSDT", "side": "SELL", "qty": 1.0, "price": 99.97,
              "expected_price": 100.0, "realized_pnl_usd": 50.0, "commission_usd": 0.0}]
    funding = [(NOW - DAY_MS, "SOLUSDT", 30.0)]
    m = metrics_as_of(NOW, t, nav, fills, funding, _cand(repo_root), assumed_funding_apr=0.02)
    # BUY 6 bps and SELL 3 bps adverse, weighted by notional, over the assumed 3 bps
    assert m.slippage_ratio == pytest.approx((6 * 100.06 + 3 * 99.97) / (100.06 + 99.97) / 3, rel=1e-6)
    assert m.funding_drag_apr == pytest.approx(30.0 / 10_000 * 365 / 30)
    assert m.funding_drift == pytest.approx(m.funding_drag_apr / 0.02)
    assert m.sleeve_14d == pytest.approx({"BTC": -1e-4, "ETH": 5e-3, "SOL": -3e-3})
    assert m.negative_sleeves_14d == 2 and m.worst_sleeve_14d == pytest.approx(-3e-3)


def test_bands_follow_seed_thresholds(repo_root):
    rules = _rules(repo_root)
    b = rules.metric_bands
    assert [band_of(x, b["sharpe_20d"]) for x in (0.6, 0.3, -0.1, None)] == ["green", "yellow", "red", "unknown"]
    assert [band_of(x, b["running_mdd"]) for x in (0.05, 0.09, 0.11)] == ["green", "yellow", "red"]
    assert [band_of(x, b["negative_sleeves_14d"]) for x in (0, 1, 2)] == ["green", "yellow", "red"]
    assert [band_of(x, b["slippage_ratio"]) for x in (1.2, 1.3, 1.6)] == ["green", "yellow", "red"]
    assert band_of(1.0, MetricBand(higher_is_better=True, green=0.5, red=0.0)) == "green"


def _day(**kw):
    base = dict(day_end_ms=NOW, nav_usd=10_000.0, sharpe_14d=1.0, sharpe_20d=1.0, sharpe_30d=1.0, running_mdd=0.02,
                mdd_30d=0.02, return_30d=0.02, slippage_ratio=1.0, funding_drag_apr=0.005, funding_drift=1.0,
                sleeve_14d={"BTC": 0.01, "ETH": 0.01, "SOL": 0.01}, flatten_events_30d=0)
    base.update(kw)
    return DayMetrics(**base)


def test_decision_table(repo_root):
    rules = _rules(repo_root)
    good = [_day() for _ in range(10)]
    assert decide(good, rules).decision == "SCALE_UP"
    assert decide(good[:9], rules).decision == "KEEP"  # 9 days are not 10 consecutive days
    assert decide(good[:-1] + [_day(funding_drift=None)], rules).decision == "KEEP"  # unknown: not proven
    assert decide(good + [_day(running_mdd=0.13)], rules).decision == "FLATTEN_ALL"
    assert decide(good + [_day(return_30d=-0.11)], rules).decision == "FLATTEN_ALL"
    assert decide(good + [_day(sharpe_20d=-0.1)], rules).decision == "REDUCE"
    assert decide(good + [_day(sleeve_14d={"BTC": -0.04, "ETH": 0.1, "SOL": 0.1})], rules).decision == "REDUCE"
    slip = [_day(slippage_ratio=1.6)] * 3
    d = decide(good + slip, rules)
    assert d.decision == "REDUCE" and any("3 days" in r for r in d.reasons)
    yellow = [_day(sharpe_20d=0.3)] * 4  # yellow for more than 3 days
    assert decide(good + yellow, rules).decision == "REDUCE"
    assert decide(good + yellow[:3], rules).decision == "KEEP"
    assert decide(good, rules, kill_switch_active=True).decision == "PAUSE"
    assert decide([_day(nav_usd=None)], rules).decision == "PAUSE"


def test_stage_rules(repo_root):
    from backtest.live_metrics import stage_status
    stages = {s.stage: s for s in _rules(repo_root).stages}
    good = _day(sharpe_14d=0.5, sharpe_30d=0.1, mdd_30d=0.05)
    s0 = stage_status(good, stages[0], days_in_stage=31, signal_consistency=0.99)
    assert s0["exit_met"] and not s0["abort"]
    assert not stage_status(good, stages[0], days_in_stage=31, signal_consistency=0.97)["exit_met"]
    assert not stage_status(good, stages[0], days_in_stage=20, signal_consistency=0.99)["exit_met"]
    s1 = stage_status(_day(sharpe_14d=-0.6, running_mdd=0.13), stages[1], days_in_stage=3, api_issues_24h=4)
    assert len(s1["abort_triggers"]) == 3 and not s1["exit_met"]
    assert not stage_status(_day(flatten_events_30d=1), stages[1], days_in_stage=20)["exit_met"]
    s2 = stage_status(_day(sleeve_14d={"BTC": 0.01, "ETH": -0.06, "SOL": 0.01}), stages[2], days_in_stage=20)
    assert s2["abort"] and not s2["exit_met"]


def test_trading_db_is_idempotent_and_imports_state_files(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "trade_log.json").write_text(json.dumps({"trades": [
        {"time_ms": 1, "symbol": "BTCUSDT", "side": "BUY", "position_side": "LONG", "qty": 0.01, "price": 100.0,
         "realized_pnl_usd": 0.0, "commission_usd": 0.01, "order_id": 7, "client_order_id": "c7", "maker": False}]}))
    for i in range(3):
        append_event(state / "nav_log.jsonl", {"t_ms": 1000 * i, "nav_usd": 100.0 + i})
    with TradingDB(tmp_path / "t.db") as db:
        assert sync_from_state(db, state) == {"fills": 1, "nav": 3}
        assert sync_from_state(db, state) == {"fills": 0, "nav": 0}
        t, v = db.nav()
        assert t.tolist() == [0, 1000, 2000] and v.tolist() == [100.0, 101.0, 102.0]
        assert db.fills()[0]["order_id"] == "7"
    (state / "trade_log.json").write_text("{torn")
    with TradingDB(tmp_path / "t.db") as db:
        assert sync_from_state(db, state)["fills"] == 0 and len(db.fills()) == 1


class _FakeBotAPI:
    """A Bot API on 127.0.0.1 that records sendMessage calls."""

    def __init__(self):
        calls = self.calls = []

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                calls.append((self.path, body))
                if self.path.endswith("/getMe"):
                    result = {"id": 1, "is_bot": True, "first_name": "hedge", "username": "hedge_bot"}
                else:
                    result = {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "x"}
                out = json.dumps({"ok": True, "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def _env_file(tmp_path, telegram_url=""):
    p = tmp_path / "test.env"
    p.write_text("ENV=dev\nDRY_RUN=1\nBINANCE_TESTNET=0\nBINANCE_BASE_URL=http://127.0.0.1:1\n"
                 "BINANCE_API_KEY=k\nBINANCE_API_SECRET=s\n"
                 + (f"TELEGRAM_BOT_TOKEN=123:abc\nTELEGRAM_CHAT_ID=42\nTELEGRAM_API_BASE={telegram_url}\n" if telegram_url else ""))
    return p


def _state_with_nav(tmp_path, returns):
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    t, nav = _nav_series(returns)
    for a, b in zip(t.tolist(), nav.tolist()):
        append_event(state / "nav_log.jsonl", {"t_ms": a, "nav_usd": b})
    return state


def _guard(tmp_path, repo_root, state, *extra):
    return subprocess.run([sys.executable, "scripts/risk_guard.py", "--config", "config/prod_scale_rules_R1.yaml",
                           "--db", str(tmp_path / "trading.db"), "--state-root", str(state), "--out",
                           str(tmp_path / "rg"), "--now-ms", str(NOW), *extra],
                          cwd=repo_root, capture_output=True, text=True, timeout=120)


def test_risk_guard_flatten_all_engages_kill_switch_and_reports_missing_panic_close(tmp_path, repo_root):
    bot = _FakeBotAPI()
    try:
        state = _state_with_nav(tmp_path, [0.002] * 20 + [-0.05, -0.05, -0.05])  # ~14 % below the peak
        env = _env_file(tmp_path, bot.url)
        dry = _guard(tmp_path, repo_root, state, "--dry-run", "--env-file", str(env))
        assert dry.returncode == 0, dry.stderr
        rec = json.loads((tmp_path / "rg" / "latest_decision.json").read_text())
        assert rec["decision"] == "FLATTEN_ALL" and rec["actions"]["kill_switch"].startswith("dry-run")
        assert not (state / "kill_switch.json").exists()
        assert rec["telegram"] == "sent" and "FLATTEN_ALL" in bot.calls[-1][1] and "123:abc" not in json.dumps(rec)
        real = _guard(tmp_path, repo_root, state, "--env-file", str(env), "--panic-close", str(tmp_path / "none.py"))
        assert real.returncode == 3
        rec = json.loads((tmp_path / "rg" / "latest_decision.json").read_text())
        assert rec["actions"]["panic_close"].startswith("missing") and "FLATTEN_ALL" in real.stdout
        ks = json.loads((state / "kill_switch.json").read_text())
        assert ks["active"] is True and ks["by"] == "risk_guard" and "MDD" in ks["reason"]
        with TradingDB(tmp_path / "trading.db") as db:
            assert len(db.events("FLATTEN_ALL")) == 1
        # the hard stop still holds on the next run (a hard stop outranks the engaged switch): with a panic
        # close that succeeds, FLATTEN_ALL is carried out and the guard exits 0
        pc = tmp_path / "panic_close.py"
        pc.write_text("import sys, pathlib\npathlib.Path(sys.argv[0]).with_suffix('.ran').write_text(' '.join(sys.argv[1:]))\n")
        ok = _guard(tmp_path, repo_root, state, "--env-file", str(env), "--panic-close", str(pc))
        assert ok.returncode == 0, ok.stdout + ok.stderr
        assert (tmp_path / "panic_close.ran").read_text().startswith("--reason running MDD")
    finally:
        bot.close()


def test_risk_guard_keep_and_pause(tmp_path, repo_root):
    state = _state_with_nav(tmp_path, [0.001, -0.0005] * 12)
    env = _env_file(tmp_path)
    p = _guard(tmp_path, repo_root, state, "--dry-run", "--env-file", str(env))
    assert p.returncode == 0, p.stderr
    rec = json.loads((tmp_path / "rg" / "latest_decision.json").read_text())
    assert rec["decision"] == "KEEP" and "telegram" not in rec
    (state / "kill_switch.json").write_text(json.dumps({"active": True, "reason": "operator", "since": "x", "by": "op"}))
    p = _guard(tmp_path, repo_root, state, "--dry-run", "--env-file", str(env))
    assert json.loads((tmp_path / "rg" / "latest_decision.json").read_text())["decision"] == "PAUSE"
    lines = (tmp_path / "rg" / "decisions.jsonl").read_text().splitlines()
    assert [json.loads(x)["decision"] for x in lines] == ["KEEP", "PAUSE"]
    bad = subprocess.run([sys.executable, "scripts/risk_guard.py", "--config", str(tmp_path / "nope.yaml")],
                         cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not found" in bad.stderr


def test_prod_report_daily_and_weekly(tmp_path, repo_root):
    state = _state_with_nav(tmp_path, [0.003, -0.001] * 15)
    env = _env_file(tmp_path)
    for kind in ("--daily", "--weekly"):
        p = subprocess.run([sys.executable, "scripts/prod_report.py", kind, "--stage", "1", "--db", str(tmp_path / "trading.db"),
                            "--state-root", str(state), "--out", str(tmp_path / "pr"), "--env-file", str(env),
                            "--now-ms", str(NOW)], cwd=repo_root, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
    daily = next((tmp_path / "pr" / "daily").iterdir())
    weekly = next((tmp_path / "pr" / "weekly").iterdir())
    for d in (daily, weekly):
        for f in ("report.md", "report.json", "nav.png", "nav.html"):
            assert (d / f).stat().st_size > 0
    rep = json.loads((daily / "report.json").read_text())
    assert rep["bands"]["running_mdd"]["band"] == "green" and rep["metrics"]["sharpe_20d"] > 0
    assert len(json.loads((weekly / "report.json").read_text())["history"]) == 7
    assert "20D rolling Sharpe" in (daily / "report.md").read_text()
    assert rep["stage"]["stage"] == 1 and rep["stage"]["exit_met"] is False  # slippage unknown: not proven
    assert "- [x] 14D Sharpe > 0" in (daily / "report.md").read_text()


def _fresh_data(tmp_path, now_ms):
    from marketdata import Funding, Klines, write_funding, write_klines
    n = 24 * 40
    t = (now_ms // 3_600_000 - 1) * 3_600_000 - np.arange(n)[::-1] * 3_600_000
    for i, (s, lvl) in enumerate((("BTCUSDT", 60000), ("ETHUSDT", 3000), ("SOLUSDT", 150))):
        c = lvl * np.exp(np.cumsum(np.random.default_rng(i).normal(0, 0.005, n)))
        write_klines(Klines(s, "1h", t, c, c * 1.001, c * 0.999, c, np.ones(n)), tmp_path / "data")
        ft = t[t % (8 * 3_600_000) == 0]
        write_funding(Funding(s, ft, np.full(len(ft), 1e-4)), tmp_path / "data")


def test_launch_guard_allows_then_blocks_on_a_modified_config(tmp_path, repo_root, venue_factory):
    v = venue_factory(extra=["--dual-side"])
    now = v.market_time_ms()
    _fresh_data(tmp_path, now)
    env = tmp_path / "launch.env"
    env.write_text(f"ENV=dev\nDRY_RUN=1\nBINANCE_TESTNET=0\nBINANCE_BASE_URL={v.base_url}\n"
                   f"BINANCE_API_KEY={v.api_key}\nBINANCE_API_SECRET={v.api_secret}\nSTATE_ROOT={tmp_path / 'state'}\n")
    with TradingDB(tmp_path / "trading.db") as db:
        t, nav = _nav_series([0.001, -0.0008] * 16)
        db.add_nav(zip((t - NOW + now).tolist(), nav.tolist()), source="paper")
    (tmp_path / "consistency.json").write_text(json.dumps({"signal_consistency": 1.0}))
    cfg = tmp_path / "config"
    shutil.copytree(repo_root / "config", cfg)
    rules = cfg / "prod_scale_rules_R1.yaml"
    rules.write_text(rules.read_text().replace("config_file: config/prod_candidate_R1.yaml",
                                               f"config_file: {cfg / 'prod_candidate_R1.yaml'}"))

    def run():
        return subprocess.run([sys.executable, "scripts/prod_launch_guard.py", "--rules", str(rules), "--data",
                               str(tmp_path / "data"), "--env-file", str(env), "--db", str(tmp_path / "trading.db"),
                               "--consistency", str(tmp_path / "consistency.json"), "--log-dir", str(tmp_path / "logs"),
                               "--out", str(tmp_path / "lg"), "--now-ms", str(now)],
                              cwd=repo_root, capture_output=True, text=True, timeout=120)
    p = run()
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip().splitlines()[-1].startswith("ALLOW_LAUNCH")
    for name in ("config_hash", "data_fresh[BTCUSDT]", "data_gaps[SOLUSDT]", "preflight_environment", "api",
                 "api_hedge_mode", "paper_sharpe_30d", "paper_mdd_30d", "signal_consistency", "kill_switch"):
        assert f"[HARD] PASS {name}:" in p.stdout, name
    cand = cfg / "prod_candidate_R1.yaml"
    cand.write_text(cand.read_text().replace("leverage: 3", "leverage: 5"))
    (tmp_path / "consistency.json").write_text(json.dumps({"signal_consistency": 0.95}))
    p = run()
    assert p.returncode == 1 and p.stdout.strip().splitlines()[-1].startswith("BLOCK_LAUNCH")
    assert "[HARD] FAIL config_hash:" in p.stdout and "[HARD] FAIL signal_consistency:" in p.stdout
    assert json.loads((tmp_path / "lg" / "latest.json").read_text())["verdict"] == "BLOCK_LAUNCH"
