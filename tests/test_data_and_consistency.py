"""scripts/download_data.py against the local venue (pagination, resume, closed bars only, checks), the
freshness/gap checks, and scripts/validate_live_consistency.py on a paper-like loop fed by the real client."""
import json
import subprocess
import sys

import numpy as np
import pytest

from backtest.data_checks import check_klines
from backtest.trading_db import TradingDB
from marketdata import load_funding, load_klines

H = 3_600_000


def test_check_klines_freshness_and_gaps():
    now = 1_000 * H
    t = np.arange(900, 1000) * H  # last bar opened 1 h ago
    c = check_klines("X", t, H, now)
    assert c.ok and c.age_hours == 1.0 and c.max_gap_hours == 0.0
    assert not check_klines("X", t, H, now + 2 * H).fresh  # 3 h old
    gap = np.r_[t[:50], t[54:]]  # 4 bars missing: 4 h without a bar
    g = check_klines("X", gap, H, now)
    assert not g.no_gaps and g.max_gap_hours == 4.0
    assert check_klines("X", np.r_[t[:50], t[53:]], H, now).no_gaps  # 3 h: allowed ("no gap > 3 h")
    old_gap = np.r_[np.arange(100, 200), np.arange(210, 1000)] * H  # a gap ending 790 h ago: outside 30 days
    assert check_klines("X", old_gap, H, now).no_gaps


def _env(tmp_path, v):
    p = tmp_path / "venue.env"
    p.write_text(f"ENV=dev\nDRY_RUN=1\nBINANCE_TESTNET=0\nBINANCE_BASE_URL={v.base_url}\n"
                 f"BINANCE_API_KEY={v.api_key}\nBINANCE_API_SECRET={v.api_secret}\n")
    return p


def _download(repo_root, out, env, *extra):
    return subprocess.run([sys.executable, "scripts/download_data.py", "-c", "config/prod_candidate_R1.yaml", "--out",
                           str(out), "--env-file", str(env), "--no-progress", *extra],
                          cwd=repo_root, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_download_paginates_resumes_and_checks(tmp_path, repo_root, venue_factory):
    v = venue_factory(paused=True)
    v.clock(step_ms=200 * H)  # the venue's history before its start plus 200 h: more than one 1,500-bar page
    env = _env(tmp_path, v)
    out = tmp_path / "data"
    p = _download(repo_root, out, env, "--days", "90", "--symbols", "BTCUSDT")
    assert p.returncode == 0, p.stdout + p.stderr
    k = load_klines(out / "klines" / "BTCUSDT-1h.csv.gz")
    now = v.market_time_ms()
    assert len(k) > 1500 and np.all(np.diff(k.open_time_ms) == H)
    assert int(k.open_time_ms[-1]) == now // H * H - H
    assert int(k.open_time_ms[-1]) + H <= now  # closed bars only
    client = v.client()
    raw = client.futures_klines(symbol="BTCUSDT", interval="1h", startTime=int(k.open_time_ms[-3]), limit=3)
    assert [float(r[4]) for r in raw] == k.close[-3:].tolist()  # the very values the exchange served
    f = load_funding(out / "funding" / "BTCUSDT-funding.csv")
    assert len(f) >= 70 * 3 - 1 and np.all(f.funding_time_ms % (8 * H) == 0)
    # resume: five more hours on the venue's clock -> exactly five more bars, nothing fetched twice
    v.clock(step_ms=5 * H)
    p = _download(repo_root, out, env, "--days", "90", "--symbols", "BTCUSDT")
    assert p.returncode == 0 and "+5 bars" in p.stdout, p.stdout + p.stderr
    k2 = load_klines(out / "klines" / "BTCUSDT-1h.csv.gz")
    assert len(k2) == len(k) + 5 and np.array_equal(k2.close[: len(k)], k.close)
    # judged 10 hours later the data is stale: exit 1, files still there
    p = _download(repo_root, out, env, "--symbols", "BTCUSDT", "--now-ms", str(v.market_time_ms() + 10 * H))
    assert p.returncode == 1 and "FAIL" in p.stdout and "must be < 2 h" in p.stdout


def test_download_bad_exchange_exits_2(tmp_path, repo_root):
    env = tmp_path / "dead.env"
    env.write_text("ENV=dev\nDRY_RUN=1\nBINANCE_TESTNET=0\nBINANCE_BASE_URL=http://127.0.0.1:9\n"
                   "BINANCE_API_KEY=k\nBINANCE_API_SECRET=s\n")
    p = _download(repo_root, tmp_path / "d", env, "--days", "2")
    assert p.returncode == 2 and "exchange error" in p.stderr and "Traceback" not in p.stderr


@pytest.mark.slow
def test_paper_loop_on_the_venue_is_fully_consistent_with_the_replay(tmp_path, repo_root, venue_factory):
    """A paper-like loop: bars from the venue through python-binance, the core's incremental ensemble per
    closed bar, its targets recorded in trading.db; the replay must agree on every bar."""
    from backtest.config_files import load_candidate
    from core.bars import Bar, Ohlc
    from core.strategies import warm_candidate

    v = venue_factory(paused=True)
    env = _env(tmp_path, v)
    out = tmp_path / "data"
    assert _download(repo_root, out, env, "--days", "45").returncode == 0
    cand = load_candidate(repo_root / "config" / "prod_candidate_R1.yaml")
    client = v.client()
    now = v.market_time_ms()
    live_n = 48
    hist = {}
    for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        rows = []
        start = now - 45 * 24 * H
        while True:
            page = client.futures_klines(symbol=s, interval="1h", startTime=start, limit=1500)
            page = [r for r in page if r[0] + H <= now]
            rows += page
            if len(page) < 1500:
                break
            start = page[-1][0] + H
        hist[s] = np.array([[float(x) for x in r[:5]] for r in rows])
    warm = {s: Ohlc(a[:-live_n, 1], a[:-live_n, 2], a[:-live_n, 3], a[:-live_n, 4]) for s, a in hist.items()}
    state = warm_candidate(cand, warm)
    decisions = []
    for j in range(live_n, 0, -1):
        bars = {s: Bar(*a[-j, 1:5]) for s, a in hist.items()}
        state, targets = state.update(bars)
        decisions += [(int(hist[s][-j, 0]), s, x) for s, x in targets.items()]
    with TradingDB(tmp_path / "trading.db") as db:
        db.add_decisions(decisions, source="paper")

    def validate():
        return subprocess.run([sys.executable, "scripts/validate_live_consistency.py", "--source", "paper", "--data",
                               str(out), "--db", str(tmp_path / "trading.db"), "--out", str(tmp_path / "cons")],
                              cwd=repo_root, capture_output=True, text=True, timeout=180)
    p = validate()
    assert p.returncode == 0, p.stdout + p.stderr
    rep = json.loads((tmp_path / "cons" / "latest.json").read_text())
    assert rep["signal_consistency"] == 1.0 and rep["compared"] == 3 * live_n and rep["mismatches"] == []
    t0, s0, x0 = decisions[5]
    with TradingDB(tmp_path / "trading.db") as db:  # one bar differs: 143/144 = 99.3 %, above the 98 % bar
        db.add_decisions([(t0, s0, x0 + 0.5)], source="paper")
    p = validate()
    rep = json.loads((tmp_path / "cons" / "latest.json").read_text())
    assert p.returncode == 0 and rep["agree"] == 3 * live_n - 1
    assert rep["mismatches"][0]["reason"] == "different target on the same bar" and rep["mismatches"][0]["symbol"] == s0
    with TradingDB(tmp_path / "trading.db") as db:  # three differ: 141/144 = 97.9 %, below
        db.add_decisions([(t, s, x + 0.5) for t, s, x in decisions[6:8]], source="paper")
    p = validate()
    assert p.returncode == 1 and "NOT CONSISTENT" in p.stdout
    assert json.loads((tmp_path / "cons" / "latest.json").read_text())["signal_consistency"] == pytest.approx(141 / 144)
