"""The dashboard as Streamlit runs it (AppTest), panel by panel, on each fixture state (tests/state_fixtures.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.state_fixtures import SCENARIOS, build

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
INPUT_WIDGETS = ("button", "checkbox", "color_picker", "date_input", "multiselect", "number_input", "radio",
                 "select_slider", "selectbox", "slider", "text_area", "text_input", "time_input", "toggle",
                 "chat_input")


def _env(monkeypatch, state_root: Path, log_dir: Path, **extra: str) -> None:
    base = {"ENV": "dev", "DRY_RUN": "1", "BINANCE_TESTNET": "0", "BINANCE_BASE_URL": "http://127.0.0.1:18080",
            "FIRESTORE_PROJECT": "", "FIRESTORE_EMULATOR_HOST": "", "STATE_ROOT": str(state_root),
            "LOG_DIR": str(log_dir), **extra}
    for k, v in base.items():
        monkeypatch.setenv(k, v)


def run_app(monkeypatch, tmp_path, scenario: str, **extra: str) -> AppTest:
    state_root, log_dir = build(tmp_path, scenario)
    _env(monkeypatch, state_root, log_dir, **extra)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(block, kind: str) -> list[str]:
    return [e.value for e in getattr(block, kind)]


def metrics(block) -> dict[str, str]:
    return {m.label: m.value for m in block.metric}


def tab(at: AppTest, name: str):
    for t in at.tabs:
        if t.label == name:
            return t
    raise AssertionError(f"no tab {name!r}: {[t.label for t in at.tabs]}")


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """One AppTest run per scenario, shared by the panel tests (a run costs ~0.5 s)."""
    mp = pytest.MonkeyPatch()
    out = {}
    try:
        for scenario in SCENARIOS:
            out[scenario] = run_app(mp, tmp_path_factory.mktemp(scenario), scenario)
            mp.undo()
    finally:
        mp.undo()
    return out


# ------------------------------------------------------------------------------------------ every scenario
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_panel_renders_without_exception_and_without_controls(apps, scenario):
    at = apps[scenario]
    assert [t.label for t in at.tabs] == ["Overview", "Risk", "Hybrid / Carry", "Vol regimes", "Execution"]
    for kind in INPUT_WIDGETS:
        assert len(getattr(at, kind)) == 0, f"a {kind} on a read-only page ({scenario})"


# ------------------------------------------------------------------------------------------ overview
def test_overview_normal_kpis_tables_and_reserve(apps):
    ov = tab(apps["normal"], "Overview")
    m = metrics(ov)
    assert m["NAV"] == "10,012.50 USDT"
    assert m["24h PnL"] == "+62.50 USDT"
    assert m["Drawdown"] == "0.87 %"
    assert m["Open positions"] == "6"
    assert m["Exposure"] == "600.09 USDT"
    assert any("BTC reserve" in t and "0.013 BTC" in t and "not included in NAV" in t for t in texts(ov, "info"))
    assert any(c.startswith("✅ nav.json:") for c in texts(ov, "caption"))
    frames = [d.value for d in ov.dataframe]
    pos = next(f for f in frames if "uPnL (USDT)" in f.columns)
    sol = pos[pos.symbol == "SOLUSDT"]
    assert sorted(sol.side) == ["LONG", "SHORT"] and set(sol.hedged) == {"⇄ hedged"}
    assert set(pos[pos.symbol == "ETHUSDT"].hedged) == {""}
    trades = next(f for f in frames if "realized PnL (USDT)" in f.columns)
    assert len(trades) == 5 and list(trades.symbol) == ["SOLUSDT", "SOLUSDT", "ETHUSDT", "BTCUSDT", "DOGEUSDT"]
    signals = next(f for f in frames if "intent" in f.columns)
    assert list(signals.symbol) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"] and signals.veto.iloc[0] == "correlation_cap"
    code = next(t.value for t in ov.text if t.value.startswith("[screener]")).splitlines()
    assert len(code) == 10 and code[-1].startswith("[screener] SYM11USDT")
    assert any("attempted=15, emitted=1" in c for c in texts(ov, "caption"))
    assert len(ov.get("vega_lite_chart")) == 1  # the NAV chart


def test_overview_empty_names_what_is_missing(apps):
    ov = tab(apps["empty"], "Overview")
    assert set(metrics(ov).values()) == {"n/a"}
    infos = " | ".join(texts(ov, "info"))
    assert "nav.json: missing — not written yet" in infos
    assert "No NAV history yet" in infos
    assert "0.013 BTC" in infos  # the reserve comes from the settings when nav.json is absent


def test_overview_corrupt_files_are_named_and_the_rest_still_shows(apps):
    ov = tab(apps["corrupt"], "Overview")
    errors = " | ".join(texts(ov, "error"))
    assert "nav.json: corrupt" in errors
    m = metrics(ov)
    assert m["NAV"] == "10,012.50 USDT"  # from synced_state.json, and the page says so
    assert any("NAV figures taken from synced_state.json" in c for c in texts(ov, "caption"))
    assert m["Open positions"] == "n/a"  # three bad rows are not "no positions"
    warnings = " | ".join(texts(ov, "warning"))
    assert "3 malformed position rows skipped" in warnings and "Positions unavailable" in warnings
    assert "signals.json: corrupt" in " | ".join(texts(ov, "info"))
    assert len(ov.get("vega_lite_chart")) == 1  # nav_log's bad and partial lines skipped, chart still drawn


def test_overview_stale_is_flagged_not_hidden(apps):
    ov = tab(apps["stale"], "Overview")
    assert metrics(ov)["NAV"] == "10,012.50 USDT"
    warnings = " | ".join(texts(ov, "warning"))
    assert "nav.json: STALE — 2.0 h ago (exchange unreachable since 2 h)" in warnings
    assert "positions.json: STALE" in warnings
    assert "screener.json: STALE" in warnings


# ------------------------------------------------------------------------------------------ risk
def test_risk_circuit_tripped_banner(apps):
    risk = tab(apps["circuit_tripped"], "Risk")
    assert any("CIRCUIT TRIPPED" in e and "11.88 %" in e and "10.00 %" in e for e in texts(risk, "error"))
    normal = tab(apps["normal"], "Risk")
    assert not any("CIRCUIT TRIPPED" in e for e in texts(normal, "error"))
    assert any("circuit armed" in s for s in texts(normal, "success"))


@pytest.mark.parametrize("scenario, l1, l2", [("normal", "🟢 OK", "🟢 OK"), ("group_capped", "🔴 CAPPED", "🟢 OK")])
def test_risk_correlation_table_status(apps, scenario, l1, l2):
    risk = tab(apps[scenario], "Risk")
    frame = risk.dataframe[0].value
    status = dict(zip(frame.group, frame.status))
    assert status == {"L1_bluechips": l1, "L2_alts": l2}
    capped_warning = any("CAPPED: L1_bluechips" in w for w in texts(risk, "warning"))
    assert capped_warning is (l1 == "🔴 CAPPED")


@pytest.mark.parametrize("scenario", ["empty", "corrupt"])
def test_risk_unavailable_says_why(apps, scenario):
    risk = tab(apps[scenario], "Risk")
    assert any("Risk state unavailable — risk.json" in w for w in texts(risk, "warning"))


# ------------------------------------------------------------------------------------------ hybrid / regimes / execution
def test_hybrid_panel_ranked_by_hybrid_score(apps):
    hy = tab(apps["normal"], "Hybrid / Carry")
    frame = hy.dataframe[0].value
    assert len(frame) == 8 and list(frame["rank"]) == list(range(1, 9))
    assert list(frame.hybrid) == sorted(frame.hybrid, reverse=True)
    assert {"trend", "carry", "hybrid", "expectancy", "router"} <= set(frame.columns)
    assert any("intel.json: malformed" in i for i in texts(tab(apps["corrupt"], "Hybrid / Carry"), "info"))


def test_vol_regime_badges_and_summary(apps):
    rg = tab(apps["normal"], "Vol regimes")
    counts = {label: int(v) for label, v in metrics(rg).items()}
    assert set(counts) == {"🔵 low", "🟢 normal", "🟠 high", "🔴 crisis"} and sum(counts.values()) == 8
    frame = rg.dataframe[0].value
    assert set(frame.regime) <= {"🔵 low", "🟢 normal", "🟠 high", "🔴 crisis"}
    assert counts["🔴 crisis"] == (frame.regime == "🔴 crisis").sum()


def test_execution_panel_metrics(apps):
    ex = tab(apps["normal"], "Execution")
    m = metrics(ex)
    assert m["TWAP / single trades"] == "3 / 17"
    assert m["Avg slippage TWAP / single"] == "1.8 / 2.6 bps"
    assert m["Maker ratio"] == "64.0 %" and m["Fill rate"] == "97.0 %"
    assert len(ex.dataframe[0].value) == 4  # the TWAP events
    assert any("router.json: unsupported_schema" in i for i in texts(tab(apps["corrupt"], "Execution"), "info"))


# ------------------------------------------------------------------------------------------ settings and sources
def test_bad_settings_show_an_error_not_a_traceback(monkeypatch, tmp_path):
    at = run_app(monkeypatch, tmp_path, "normal", DRY_RUN="tru")
    assert any("DRY_RUN" in e for e in texts(at, "error"))
    assert not at.metric


def test_rendering_writes_nothing(monkeypatch, tmp_path):
    state_root, log_dir = build(tmp_path, "normal")
    before = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.rglob("*") if p.is_file()}
    _env(monkeypatch, state_root, log_dir)
    AppTest.from_file(APP, default_timeout=60).run()
    after = {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in tmp_path.rglob("*") if p.is_file()}
    assert before == after


@pytest.mark.parametrize("scenario", ["empty", "corrupt"])
@pytest.mark.parametrize("name", ["Overview", "Risk", "Hybrid / Carry", "Vol regimes", "Execution"])
def test_every_panel_names_what_it_lacks(apps, scenario, name):
    """On missing or broken state each panel says which file is the problem, rather than showing nothing."""
    panel = tab(apps[scenario], name)
    notes = texts(panel, "info") + texts(panel, "warning") + texts(panel, "error")
    assert any(".json" in n for n in notes), (scenario, name, notes)


@pytest.mark.parametrize("pct, cap, want", [(0.0, 0.35, "OK"), (0.279, 0.35, "OK"), (0.28, 0.35, "NEAR"),
                                            (0.3499, 0.35, "NEAR"), (0.35, 0.35, "CAPPED"), (0.5, 0.35, "CAPPED"),
                                            (None, 0.35, "?"), (0.1, 0.0, "?")])
def test_group_status_rule(pct, cap, want):
    """docs/STATE_FILES.md: OK below 80 % of the cap, NEAR from 80 % up to it, CAPPED at or above it — used when
    risk.json carries no status of its own."""
    from dashboard.state_view import group_status

    assert group_status(pct, cap) == want
