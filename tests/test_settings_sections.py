"""Config sections the core reads: sl_tp (core.sl_tp), screener (core.screener), the hybrid scoring parameter
blocks (core.alpha) and vol_regimes.defaults.min_returns (core.regimes).

The settings models mirror the core's params dataclasses without importing the core; the drift tests here
fail when a name or a default changes on one side only.
"""
from __future__ import annotations

import inspect
import json
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from core import alpha, regimes, sl_tp
from settings.errors import FRACTION_HINT, ConfigError
from settings.loader import load_config, load_file
from settings.models import (
    CarrySettings,
    ExpectancySettings,
    Profile,
    RouterScoreSettings,
    ScreenerSettings,
    SlTpConfig,
    SlTpOverride,
    StrategyConfig,
    TierConfig,
    TrendSettings,
    VolRegimeDefaults,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "config"

@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(SHIPPED, d)
    return d


def sub(d: Path, name: str, old: str, new: str) -> None:
    path = d / name
    text = path.read_text()
    assert old in text, f"test bug: {old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def edit_strategy(d: Path, fn) -> None:
    path = d / "strategy_config.json"
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data, indent=2))


def error_of(d: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(d)
    return str(err.value)


# --------------------------------------------------------------------------- settings and the core agree
def test_hybrid_scoring_orient_quality_matches_core_default():
    for fn in (alpha.hybrid_score, alpha.score_symbol):
        assert inspect.signature(fn).parameters["orient_quality"].default is StrategyConfig().hybrid_scoring.orient_quality


def test_min_returns_is_core_regimes_parameter():
    for fn in (regimes.vol_regime, regimes.vol_regime_series, regimes.RegimeState.start):
        assert "min_returns" in inspect.signature(fn).parameters
    assert VolRegimeDefaults().min_returns is None


# --------------------------------------------------------------------------- the shipped values
def test_shipped_sections_are_the_seed_values():
    cfg = load_config(SHIPPED)
    s = cfg.strategy
    assert s.sl_tp.trail_pct == 0.01  # docs/Runbook.md
    assert (s.sl_tp.sl_atr_mult, s.sl_tp.tp_atr_mult, s.sl_tp.atr_period) == (2.0, 3.0, 14)
    assert s.sl_tp.time_stop_hours is None and s.sl_tp.time_stop_ms is None
    assert s.screener.timeframes == ("15m",) and cfg.runtime.loop.screener_timeframe == "15m"  # docs/Runbook.md breadcrumb
    # the core reads these settings types directly (no mirrored dataclasses): shipped = the defaults
    assert s.screener.model_copy(update={"timeframes": None}) == ScreenerSettings()
    assert s.screener.history_bars == ScreenerSettings().history_bars <= cfg.runtime.loop.history_bars
    h = s.hybrid_scoring
    assert h.trend_params == TrendSettings()
    assert h.trend_params.scale == 2.0 and h.orient_quality is True
    assert h.carry_params == CarrySettings()
    assert h.expectancy_params == ExpectancySettings()
    assert h.router_params == RouterScoreSettings()
    assert s.vol_regimes.defaults.min_returns is None


def test_sections_are_optional(cfg_dir):
    """An older strategy_config.json without the new sections still loads, with the core's defaults."""
    def drop(data):
        for key in ("sl_tp", "screener"):
            data.pop(key)
        for key in ("trend_params", "carry_params", "expectancy_params", "router_params", "orient_quality"):
            data["hybrid_scoring"].pop(key)
        data["vol_regimes"]["defaults"].pop("min_returns")

    edit_strategy(cfg_dir, drop)
    s = load_config(cfg_dir).strategy
    assert s.sl_tp == SlTpConfig() and s.screener == ScreenerSettings()
    assert s.screener.timeframes is None  # then runtime.yaml loop.screener_timeframe is the one
    assert s.hybrid_scoring.trend_params == TrendSettings()


def test_sl_tp_levels_through_make_rule():
    rule_cfg = SlTpConfig()
    with_atr = sl_tp.rule_from_config("BTCUSDT", "LONG", "100", 0, rule_cfg, atr="2", tick_size="0.01")
    assert (with_atr.stop_loss, with_atr.take_profit, with_atr.trail_stop) == (Decimal("96"), Decimal("106"), Decimal("99"))
    no_atr = sl_tp.rule_from_config("BTCUSDT", "SHORT", "100", 0, rule_cfg, tick_size="0.01")
    assert (no_atr.stop_loss, no_atr.take_profit) == (Decimal("102"), Decimal("96"))  # the percent fallback


def test_per_symbol_sl_tp_override_inherits_what_it_does_not_set(cfg_dir):
    def add(data):
        data["strategies"]["BTCUSDT"]["sl_tp"] = {"sl_atr_mult": None, "time_stop_hours": 72}
        data["strategies"]["BNBUSDT"]["sl_tp"] = {"trailing_stop_pct": 0.02}  # docs/Runbook.md name is an alias

    edit_strategy(cfg_dir, add)
    s = load_config(cfg_dir).strategy
    btc = s.sl_tp_for("BTCUSDT")
    assert btc.sl_atr_mult is None and btc.time_stop_ms == 72 * 3_600_000
    assert (btc.sl_pct, btc.tp_atr_mult, btc.trail_pct) == (0.02, 3.0, 0.01)  # inherited
    assert s.sl_tp_for("BNBUSDT").trail_pct == 0.02 and s.sl_tp_for("BNBUSDT").sl_atr_mult == 2.0
    assert s.sl_tp_for("ETHUSDT") == s.sl_tp == s.sl_tp_for("NOTCONFIGUREDUSDT")
    rule = sl_tp.rule_from_config("BTCUSDT", "LONG", "100", 0, btc, atr="2")
    assert rule.stop_loss == Decimal("98") and rule.time_stop_ms == 72 * 3_600_000  # percent SL: ATR form is off


def test_override_model_alone():
    o = SlTpOverride.model_validate({"tp_pct": None})
    merged = o.applied_to(SlTpConfig())
    assert merged.tp_pct is None and merged.tp_atr_mult == 3.0
    assert SlTpOverride().applied_to(SlTpConfig()) == SlTpConfig()


def test_min_returns_feeds_core_regimes():
    defaults = VolRegimeDefaults(min_returns=5)
    close = np.exp(np.cumsum(np.random.default_rng(7).normal(0, 0.01, 12)))
    assert not regimes.vol_regime(close, regimes.HOUR_MS, defaults, defaults.min_returns).insufficient_data
    assert regimes.vol_regime(close, regimes.HOUR_MS, defaults, None).insufficient_data  # 168 returns by default


def test_sizing_docstrings_say_margin_and_per_symbol():
    assert "MARGIN" in TierConfig.__doc__ and "margin x leverage" in TierConfig.__doc__
    assert "ONE SYMBOL" in Profile.__doc__ and "both" in Profile.__doc__


# --------------------------------------------------------------------------- malformed new sections
MALFORMED = [
    ("sl_pct_as_percent", lambda d: d["sl_tp"].update(sl_pct=2), "sl_tp.sl_pct", f"({FRACTION_HINT}; did you mean 0.02?)"),
    ("trail_pct_one", lambda d: d["sl_tp"].update(trail_pct=1), "sl_tp.trail_pct", "less than 1 (got 1)"),
    ("trail_alias_as_percent", lambda d: (d["sl_tp"].pop("trail_pct"), d["sl_tp"].update(trailing_stop_pct=1.5)),
     "sl_tp.trailing_stop_pct", f"({FRACTION_HINT}; did you mean 0.015?)"),
    ("no_stop_left", lambda d: d["sl_tp"].update(sl_atr_mult=None, sl_pct=None, trail_pct=None), "sl_tp",
     "no stop-loss left: set at least one of sl_atr_mult, sl_pct or trail_pct"),
    ("sl_tp_typo", lambda d: d["sl_tp"].update(sl_atr_multiplier=2), "sl_tp.sl_atr_multiplier", "did you mean 'sl_atr_mult'?"),
    ("time_stop_negative", lambda d: d["sl_tp"].update(time_stop_hours=-1), "sl_tp.time_stop_hours", "greater than 0"),
    ("atr_mult_string", lambda d: d["sl_tp"].update(sl_atr_mult="2x"), "sl_tp.sl_atr_mult", "must be a number, not text (a quoted \"5\" is text) (got '2x')"),
    ("override_typo", lambda d: d["strategies"]["BNBUSDT"].update(sl_tp={"trail": 0.01}), "strategies.BNBUSDT.sl_tp.trail",
     "did you mean 'trail_pct'?"),
    ("override_removes_every_stop",
     lambda d: d["strategies"]["BNBUSDT"].update(sl_tp={"sl_atr_mult": None, "sl_pct": None, "trail_pct": None}),
     "strategies.BNBUSDT.sl_tp", "with the defaults of 'sl_tp': no stop-loss left"),
    ("override_pct_as_percent", lambda d: d["strategies"]["BNBUSDT"].update(sl_tp={"tp_pct": 5}),
     "strategies.BNBUSDT.sl_tp.tp_pct", "did you mean 0.05?"),
    ("screener_fast_not_below_slow", lambda d: d["screener"].update(fast_ma=20), "screener.fast_ma",
     "fast_ma (20) must be shorter than slow_ma (20)"),
    ("screener_z_window_one", lambda d: d["screener"].update(z_window=1), "screener.z_window", "greater than or equal to 2"),
    ("screener_period_float", lambda d: d["screener"].update(rsi_period=14.5), "screener.rsi_period", "must be a whole number (no decimal point) (got 14.5)"),
    ("screener_bad_timeframe", lambda d: d["screener"].update(timeframes=["15m", "7m"]), "screener.timeframes[1]", "(got '7m')"),
    ("screener_duplicate_timeframe", lambda d: d["screener"].update(timeframes=["15m", "15m"]), "screener.timeframes",
     "list each timeframe once"),
    ("screener_no_timeframes", lambda d: d["screener"].update(timeframes=[]), "screener.timeframes", "at least 1 item"),
    ("router_subweights_not_one", lambda d: d["hybrid_scoring"]["router_params"].update(weight_fill=0.5),
     "hybrid_scoring.router_params", "must sum to 1.0, they sum to 1.25"),
    ("trend_no_horizons", lambda d: d["hybrid_scoring"]["trend_params"].update(horizons=[]),
     "hybrid_scoring.trend_params.horizons", "at least 1 item"),
    ("trend_zero_horizon", lambda d: d["hybrid_scoring"]["trend_params"].update(horizons=[24, 0]),
     "hybrid_scoring.trend_params.horizons[1]", "greater than 0"),
    ("trend_span_below_one", lambda d: d["hybrid_scoring"]["trend_params"].update(ema_span=0.5),
     "hybrid_scoring.trend_params.ema_span", "greater than or equal to 1"),
    ("trend_scale_zero", lambda d: d["hybrid_scoring"]["trend_params"].update(scale=0), "hybrid_scoring.trend_params.scale",
     "greater than 0"),
    ("carry_weight_above_one", lambda d: d["hybrid_scoring"]["carry_params"].update(funding_weight=1.5),
     "hybrid_scoring.carry_params.funding_weight", "less than or equal to 1"),
    ("expectancy_scale_zero", lambda d: d["hybrid_scoring"]["expectancy_params"].update(scale=0),
     "hybrid_scoring.expectancy_params.scale", "greater than 0"),
    ("scoring_block_typo", lambda d: d["hybrid_scoring"].update(trend_param={}), "hybrid_scoring.trend_param",
     "did you mean 'trend_params'?"),
    ("orient_quality_not_bool", lambda d: d["hybrid_scoring"].update(orient_quality="maybe"),
     "hybrid_scoring.orient_quality", "must be true or false, not text (got 'maybe')"),
    ("min_returns_zero", lambda d: d["vol_regimes"]["defaults"].update(min_returns=0), "vol_regimes.defaults.min_returns",
     "greater than 0"),
]


@pytest.mark.parametrize("mutate, field, reason", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_new_section(cfg_dir, mutate, field, reason):
    edit_strategy(cfg_dir, mutate)
    lines = error_of(cfg_dir).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(str(cfg_dir / "strategy_config.json") + ": line ")
    assert f": {field}: " in lines[0] and reason in lines[0], lines[0]


def test_runtime_screener_timeframe_must_be_screened(cfg_dir):
    sub(cfg_dir, "runtime.yaml", "screener_timeframe: 15m", "screener_timeframe: 1h")
    assert error_of(cfg_dir) == (
        f"{cfg_dir / 'runtime.yaml'}: line 17: loop.screener_timeframe: 1h is not one of "
        f"{cfg_dir / 'strategy_config.json'} screener.timeframes (15m); make them agree"
    )


def test_history_must_cover_the_screener_warm_up(cfg_dir):
    edit_strategy(cfg_dir, lambda d: d["screener"].update(z_window=1500))
    message = error_of(cfg_dir)
    assert message.startswith(f"{cfg_dir / 'runtime.yaml'}: line 18: loop.history_bars: 1000 bars are fewer than the 1500")


def test_history_exactly_covering_the_warm_up_is_enough(cfg_dir):
    edit_strategy(cfg_dir, lambda d: d["screener"].update(z_window=1000))  # runtime.yaml loop.history_bars: 1000
    assert load_config(cfg_dir).strategy.screener.history_bars == 1000
    edit_strategy(cfg_dir, lambda d: d["screener"].update(z_window=1001))
    assert "loop.history_bars: 1000 bars are fewer than the 1001" in error_of(cfg_dir)


def test_strategy_config_file_alone_validates_new_sections(cfg_dir):
    edit_strategy(cfg_dir, lambda d: d["sl_tp"].update(tp_atr_mult=0))
    with pytest.raises(ConfigError, match=r"sl_tp\.tp_atr_mult: Input should be greater than 0"):
        load_file(cfg_dir, "strategy_config.json")
