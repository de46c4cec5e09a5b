"""settings/loader.py: invalid config fails at start with one clear line per problem naming the file, the
field and the reason (and the line when the file has one), and `python -m settings check` exits non-zero.

Every case copies the shipped config/ into a temporary directory, breaks ONE thing and checks the message an
operator would read. New sections (sl_tp, screener, scoring params) have their own file:
tests/test_settings_sections.py.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from settings.errors import FRACTION_HINT, ConfigError, format_validation_error
from settings.loader import CONFIG_FILES, HedgeConfig, load_config, load_or_exit

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "config"

Mutation = Callable[[Path], None]


# --------------------------------------------------------------------------- helpers
def sub(name: str, old: str, new: str, count: int = 1) -> Mutation:
    """Replace text in a config file (keeps comments and line numbers realistic)."""

    def mutate(d: Path) -> None:
        path = d / name
        text = path.read_text()
        assert text.count(old) >= 1, f"test bug: {old!r} not in {name}"
        path.write_text(text.replace(old, new, count))

    return mutate


def write(name: str, text: str) -> Mutation:
    return lambda d: (d / name).write_text(text)


def delete(name: str) -> Mutation:
    return lambda d: (d / name).unlink()


def edit_yaml(name: str, fn: Callable[[dict], Any]) -> Mutation:
    def mutate(d: Path) -> None:
        path = d / name
        data = yaml.safe_load(path.read_text())
        fn(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(d: Path) -> None:
        for m in mutations:
            m(d)

    return mutate


@pytest.fixture
def cfg_dir(tmp_path: Path) -> Path:
    d = tmp_path / "config"
    shutil.copytree(SHIPPED, d)
    return d


def error_of(d: Path) -> str:
    with pytest.raises(ConfigError) as err:
        load_config(d)
    return str(err.value)


# --------------------------------------------------------------------------- the malformed inputs
@dataclass(frozen=True)
class Case:
    id: str
    file: str
    field: str | None  # dotted path the message must name (None: a whole-file problem)
    reason: str  # fragment of the reason
    mutate: Mutation
    line: int | None = None  # line the message must point at, when the file has one

    def __str__(self) -> str:
        return self.id


CASES = [
    # --- syntax: the file cannot be parsed at all
    Case("json_syntax_missing_comma", "risk_limits.json", None, "invalid JSON: Expecting ',' delimiter",
         sub("risk_limits.json", '"MAX_POSITIONS": 10,', '"MAX_POSITIONS": 10'), line=6),
    Case("json_trailing_comma", "correlation_groups.json", None, "invalid JSON",
         sub("correlation_groups.json", '"near_cap_fraction": 0.80', '"near_cap_fraction": 0.80,')),
    Case("yaml_syntax_unclosed_bracket", "runtime.yaml", None, "invalid YAML",
         sub("runtime.yaml", "    slices: 4", "    slices: [4"), line=13),
    Case("yaml_bad_indentation", "profiles.yaml", None, "invalid YAML",
         sub("profiles.yaml", "  demo:", " demo:")),
    Case("json_duplicate_key_nested", "strategy_config.json", "hybrid_scoring.weights.trend", "duplicate key 'trend'",
         sub("strategy_config.json", '"weights": { "trend": 0.40,', '"weights": { "trend": 0.40, "trend": 0.5,'),
         line=19),
    Case("json_duplicate_key_top", "risk_limits.json", "MAX_POSITIONS", "duplicate key 'MAX_POSITIONS'",
         sub("risk_limits.json", '"MAX_POSITIONS": 10,', '"MAX_POSITIONS": 10,\n  "MAX_POSITIONS": 12,'), line=6),
    Case("yaml_duplicate_key_nested", "runtime.yaml", "router.twap.slices", "duplicate key 'slices'",
         sub("runtime.yaml", "    slices: 4\n", "    slices: 4\n    slices: 8\n"), line=13),
    Case("empty_file", "profiles.yaml", None, "file is empty", write("profiles.yaml", "")),
    Case("yaml_only_comments", "runtime.yaml", None, "must be a mapping of keys to values, got nothing",
         write("runtime.yaml", "# profile: dev\n")),
    Case("missing_file", "risk_limits.json", None, "file not found", delete("risk_limits.json")),
    Case("top_level_list", "pairs_universe.json", "(top level)", "must be a mapping of keys to values, got a list",
         write("pairs_universe.json", '["BTCUSDT", "ETHUSDT"]')),
    Case("yaml_top_level_scalar", "profiles.yaml", "(top level)", "got a str", write("profiles.yaml", "dev\n")),
    Case("json_nan_literal", "risk_limits.json", "KILL_DD_PCT", "NaN is not allowed",
         sub("risk_limits.json", '"KILL_DD_PCT": 0.15', '"KILL_DD_PCT": NaN'), line=3),
    Case("json_infinity_literal", "risk_limits.json", "MAX_LEVERAGE", "Infinity is not allowed",
         sub("risk_limits.json", '"MAX_LEVERAGE": 5', '"MAX_LEVERAGE": Infinity'), line=6),
    Case("yaml_inf", "runtime.yaml", "router.max_slippage_bps", "inf is not allowed",
         sub("runtime.yaml", "max_slippage_bps: 30", "max_slippage_bps: .inf"), line=8),
    # --- unknown keys (typos must never be silently ignored)
    Case("typo_nested_key", "risk_limits.json", "circuit_breakers.max_portfolio_dd_nav_pc",
         "unknown key (a typo?); did you mean 'max_portfolio_dd_nav_pct'?",
         sub("risk_limits.json", '"max_portfolio_dd_nav_pct"', '"max_portfolio_dd_nav_pc"'), line=2),
    Case("typo_yaml_key", "runtime.yaml", "loop.executor_interval_secs", "did you mean 'executor_interval_seconds'?",
         sub("runtime.yaml", "executor_interval_seconds:", "executor_interval_secs:"), line=15),
    Case("unknown_tier", "strategy_config.json", "tiers.GOLD",
         "unknown key 'GOLD': must be 'CORE', 'SATELLITE', 'TACTICAL' or 'ALT-EXT'",
         sub("strategy_config.json", '"ALT-EXT":   { "per_trade_nav_pct": 0.01 }',
             '"ALT-EXT":   { "per_trade_nav_pct": 0.01 },\n    "GOLD": { "per_trade_nav_pct": 0.01 }')),
    Case("unknown_regime_key", "strategy_config.json", "vol_regimes.hybrid_weight_modifiers.extreme",
         "unknown key 'extreme': must be 'low', 'normal', 'high' or 'crisis'",
         sub("strategy_config.json", '"low":    { "trend": 1.0,', '"extreme":    { "trend": 1.0,')),
    # --- numbers out of range
    Case("percent_instead_of_fraction", "risk_limits.json", "circuit_breakers.max_portfolio_dd_nav_pct",
         f"less than or equal to 1 (got 10) ({FRACTION_HINT}; did you mean 0.1?)",
         sub("risk_limits.json", '"max_portfolio_dd_nav_pct": 0.10', '"max_portfolio_dd_nav_pct": 10'), line=2),
    Case("tier_pct_as_percent", "strategy_config.json", "tiers.CORE.per_trade_nav_pct",
         f"({FRACTION_HINT}; did you mean 0.04?)",
         sub("strategy_config.json", '"CORE":      { "per_trade_nav_pct": 0.04 }', '"CORE":      { "per_trade_nav_pct": 4 }')),
    Case("symbol_cap_as_percent", "risk_limits.json", "per_symbol_nav_pct_overrides.BTCUSDT",
         "did you mean 0.3?", sub("risk_limits.json", '"BTCUSDT": 0.30', '"BTCUSDT": 30')),
    Case("negative_max_positions", "risk_limits.json", "MAX_POSITIONS", "greater than 0 (got -3)",
         sub("risk_limits.json", '"MAX_POSITIONS": 10', '"MAX_POSITIONS": -3')),
    Case("max_leverage_zero", "risk_limits.json", "MAX_LEVERAGE", "greater than 0 (got 0)",
         sub("risk_limits.json", '"MAX_LEVERAGE": 5', '"MAX_LEVERAGE": 0'), line=6),
    Case("score_threshold_above_one", "strategy_config.json", "hybrid_scoring.tier_thresholds.TACTICAL.min_hybrid_score_long",
         "less than or equal to 1 (got 1.5)",
         sub("strategy_config.json", '"TACTICAL": { "min_hybrid_score_long": 0.30', '"TACTICAL": { "min_hybrid_score_long": 1.5')),
    Case("twap_slices_zero", "runtime.yaml", "router.twap.slices", "greater than or equal to 1 (got 0)",
         sub("runtime.yaml", "    slices: 4", "    slices: 0"), line=12),
    Case("maker_timeout_negative", "runtime.yaml", "router.maker_timeout_seconds", "greater than 0 (got -5)",
         sub("runtime.yaml", "maker_timeout_seconds: 5", "maker_timeout_seconds: -5"), line=6),
    Case("sizing_multiplier_negative", "strategy_config.json", "vol_regimes.sizing_multipliers.CORE.crisis",
         "greater than or equal to 0 (got -0.5)", sub("strategy_config.json", '"crisis": 0.5 }', '"crisis": -0.5 }')),
    # --- wrong types
    Case("string_for_number", "risk_limits.json", "KILL_DD_PCT", "must be a number, not text (a quoted \"5\" is text) (got 'ten')",
         sub("risk_limits.json", '"KILL_DD_PCT": 0.15', '"KILL_DD_PCT": "ten"')),
    Case("scalar_for_section", "runtime.yaml", "router", "must be a section of keys and values (got 'maker-first')",
         edit_yaml("runtime.yaml", lambda c: c.update(router="maker-first"))),
    Case("bad_boolean", "runtime.yaml", "router.maker_first", "must be true or false, not text (got 'sometimes')",
         sub("runtime.yaml", "maker_first: true", "maker_first: sometimes")),
    Case("strategy_param_not_a_number", "strategy_config.json", "strategies.BTCUSDT.params.channel",
         "must be a number, true/false or a list of numbers (got '336h')",
         sub("strategy_config.json", '"channel": 336,', '"channel": "336h",')),
    Case("required_key_missing", "prod_candidate_R1.yaml", "trade_on", "required key is missing",
         sub("prod_candidate_R1.yaml", "trade_on: next_open ", "# trade_on: next_open ")),
    # --- consistency inside one file
    Case("hybrid_weights_not_one", "strategy_config.json", "hybrid_scoring.weights", "weights must sum to 1.0, they sum to 1.1",
         sub("strategy_config.json", '"weights": { "trend": 0.40,', '"weights": { "trend": 0.50,')),
    Case("missing_regime_multiplier", "strategy_config.json", "vol_regimes.sizing_multipliers.CORE",
         "missing regime(s) crisis", sub("strategy_config.json", ', "crisis": 0.5 }', " }")),
    Case("ratio_thresholds_not_increasing", "strategy_config.json", "vol_regimes.defaults.ratio_low_high",
         "need low < normal < high, got 0.75 / 2.0 / 1.75", sub("strategy_config.json", '"normal": 1.25', '"normal": 2.0')),
    Case("short_days_not_below_long", "strategy_config.json", "vol_regimes.defaults.short_days",
         "short_days (30) must be below long_days (30)", sub("strategy_config.json", '"short_days": 7', '"short_days": 30')),
    Case("lowercase_symbol", "pairs_universe.json", "symbols[5]", "(upper case) (write 'DOGEUSDT')",
         sub("pairs_universe.json", '"DOGEUSDT", "LINKUSDT"', '"dogeusdt", "LINKUSDT"')),
    Case("duplicate_symbol", "pairs_universe.json", "symbols[3]", "duplicate symbol BTCUSDT (already at [0])",
         sub("pairs_universe.json", '"BNBUSDT", "XRPUSDT"', '"BTCUSDT", "XRPUSDT"')),
    Case("override_not_in_universe", "pairs_universe.json", "overrides.PEPEUSDT", "which is not in 'symbols'",
         sub("pairs_universe.json", '"AVAXUSDT": {', '"PEPEUSDT": {'), line=14),
    Case("lowercase_symbol_key", "strategy_config.json", "strategies.solusdt", "(write 'SOLUSDT')",
         sub("strategy_config.json", '"SOLUSDT": { "strategy"', '"solusdt": { "strategy"')),
    Case("group_symbol_lowercase", "correlation_groups.json", "groups.L1_bluechips.symbols[1]", "upper case",
         sub("correlation_groups.json", '"ETHUSDT", "SOLUSDT"', '"ethusdt", "SOLUSDT"')),
    Case("unknown_strategy_name", "strategy_config.json", "strategies.BTCUSDT.strategy",
         "should be 'breakout_vol_atr', 'tsmom_multi_ema', 'tsmom_ema', 'ma_crossover' or 'ema_cross' (got 'breakout')",
         sub("strategy_config.json", '"strategy": "breakout_vol_atr"', '"strategy": "breakout"')),
    Case("bad_timeframe", "strategy_config.json", "strategies.ETHUSDT.timeframe", "(got '45m')",
         sub("strategy_config.json", '"strategy": "tsmom_multi_ema", "timeframe": "1h"', '"strategy": "tsmom_multi_ema", "timeframe": "45m"')),
    Case("sleeve_weights_not_one", "prod_candidate_R1.yaml", "ensemble.sleeves",
         "sleeve weights must sum to 1.0, they sum to 1.16 (BTC 0.5, ETH 0.33, SOL 0.33)",
         sub("prod_candidate_R1.yaml", "weight: 0.34", "weight: 0.5"), line=16),
    Case("duplicate_sleeve_name", "prod_candidate_R1.yaml", "ensemble.sleeves[2].name", "duplicate sleeve name 'ETH'",
         sub("prod_candidate_R1.yaml", "- name: SOL", "- name: ETH"), line=27),
    Case("trade_on_not_next_open", "prod_candidate_R1.yaml", "trade_on", "should be 'next_open' (got 'close')",
         sub("prod_candidate_R1.yaml", "trade_on: next_open", "trade_on: close"), line=4),
    Case("stages_out_of_order", "prod_scale_rules_R1.yaml", "stages[2].stage",
         "stage 1 follows stage 2: number stages in increasing order",
         both(sub("prod_scale_rules_R1.yaml", "{ stage: 2,", "{ stage: 9,"),  # swap the numbers of stages 1 and 2
              sub("prod_scale_rules_R1.yaml", "{ stage: 1,", "{ stage: 2,"),
              sub("prod_scale_rules_R1.yaml", "{ stage: 9,", "{ stage: 1,")), line=7),
    Case("stage_capital_decreasing", "prod_scale_rules_R1.yaml", "stages[2].capital_usd", "stage capital must not decrease",
         sub("prod_scale_rules_R1.yaml", "capital_usd: 10000", "capital_usd: 1000")),
    Case("hard_stop_below_scale_down", "prod_scale_rules_R1.yaml", "hard_stop.mdd_gt",
         "0.08 must be above scale_down.mdd_gt (0.1)",
         sub("prod_scale_rules_R1.yaml", "hard_stop:\n  mdd_gt: 0.12", "hard_stop:\n  mdd_gt: 0.08"), line=27),
    Case("metric_band_inverted", "prod_scale_rules_R1.yaml", "metric_bands.running_mdd", "green (0.12) must be <= red (0.1)",
         sub("prod_scale_rules_R1.yaml", "higher_is_better: false, green: 0.08", "higher_is_better: false, green: 0.12")),
    Case("bad_config_sha256", "prod_scale_rules_R1.yaml", "config_sha256", "should match pattern",
         sub("prod_scale_rules_R1.yaml", "\nconfig_sha256: ", "\nconfig_sha256: B84A4C  # was: ")),
    Case("circuit_above_kill", "risk_limits.json", "circuit_breakers.max_portfolio_dd_nav_pct",
         "0.2 must not exceed KILL_DD_PCT (0.15)",
         sub("risk_limits.json", '"max_portfolio_dd_nav_pct": 0.10', '"max_portfolio_dd_nav_pct": 0.20'), line=2),
    Case("profile_missing", "profiles.yaml", "profiles", "missing profiles: demo",
         sub("profiles.yaml", "  demo: ", "  # demo: ")),
    Case("unknown_profile_name", "profiles.yaml", "profiles.staging", "unknown key 'staging': must be 'dev', 'demo' or 'prod'",
         sub("profiles.yaml", "  demo: ", "  staging: { max_position_usd: 1, max_leverage: 1, enable_shorts: false, local_venue: false }\n  demo: ")),
    Case("runtime_profile_unknown", "runtime.yaml", "profile", "should be 'dev', 'demo' or 'prod' (got 'production')",
         sub("runtime.yaml", "profile: dev", "profile: production"), line=2),
    # --- across files (checked once every file is valid on its own)
    Case("strategy_symbol_not_in_universe", "strategy_config.json", "strategies.BNBUSDT", "pairs_universe.json 'symbols'",
         both(sub("pairs_universe.json", ', "BNBUSDT"', ""),
              sub("pairs_universe.json", '"BNBUSDT":  { "target_leverage": 3, "min_notional": 5.0,   "tier": "SATELLITE" },\n', "")),
         line=9),
    Case("sleeve_symbol_not_in_universe", "prod_candidate_R1.yaml", "ensemble.sleeves[2].symbol", "SOLUSDT is not in",
         both(sub("pairs_universe.json", '"SOLUSDT", ', ""),
              sub("pairs_universe.json", '"SOLUSDT":  { "target_leverage": 3, "min_notional": 5.0,   "tier": "CORE" },\n', ""),
              sub("strategy_config.json", '"SOLUSDT": { "strategy": "tsmom_ema", "timeframe": "1h", "tier": "CORE", "leverage": 3,\n'
                  '                 "params": { "lookback": 168 } },\n', ""))),
    Case("risk_override_not_in_universe", "risk_limits.json", "per_symbol_nav_pct_overrides.ETHBTCUSDT",
         "misspelt symbol", sub("risk_limits.json", '"ETHUSDT": 0.25', '"ETHBTCUSDT": 0.25')),
    Case("active_profile_leverage_above_max", "profiles.yaml", "profiles.dev.max_leverage", "exceeds",
         sub("profiles.yaml", "dev:  { max_position_usd: 10000, max_leverage: 3", "dev:  { max_position_usd: 10000, max_leverage: 8")),
    # --- risk bounds that would silently disable a rule
    Case("gross_cap_zero", "risk_limits.json", "max_gross_exposure_nav_pct", "greater than 0 (got 0)",
         sub("risk_limits.json", '"max_gross_exposure_nav_pct": 0.80', '"max_gross_exposure_nav_pct": 0'), line=9),
    Case("nav_history_one_point", "risk_limits.json", "nav_history_len", "greater than or equal to 2 (got 1)",
         sub("risk_limits.json", '"nav_history_len": 500', '"nav_history_len": 1'), line=11),
    Case("liquidation_distance_negative", "risk_limits.json", "min_liquidation_distance_pct",
         "greater than or equal to 0 (got -0.1)",
         sub("risk_limits.json", '"min_liquidation_distance_pct": 0.10', '"min_liquidation_distance_pct": -0.1'), line=12),
    Case("liquidation_distance_percent_not_fraction", "risk_limits.json", "min_liquidation_distance_pct",
         "less than or equal to 1 (got 10)",
         sub("risk_limits.json", '"min_liquidation_distance_pct": 0.10', '"min_liquidation_distance_pct": 10'), line=12),
]

assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_malformed_config_fails_with_one_clear_line(cfg_dir, case):
    case.mutate(cfg_dir)
    message = error_of(cfg_dir)
    lines = message.splitlines()
    assert len(lines) == 1, f"one broken thing, one line; got:\n{message}"
    line = lines[0]
    assert line.startswith(str(cfg_dir / case.file) + ": "), line  # the file, as the operator can open it
    if case.field is not None:
        assert f": {case.field}: " in line, line  # the dotted field path
    assert case.reason in line, line  # the reason
    if case.line is not None:
        assert f": line {case.line}" in line, line
    # nothing of pydantic's internals leaks into what an operator reads
    for noise in ("[key]", "<root>", "function-", "Value error", "type=", "errors.pydantic.dev", "\\n"):
        assert noise not in line, line
    assert len(line) < len(str(cfg_dir)) + 320, line  # a hint, not a dump


def test_there_are_at_least_thirty_distinct_malformed_inputs():
    assert len(CASES) >= 30
    assert len({c.file for c in CASES}) == len(CONFIG_FILES)  # every file is broken at least once


def test_shipped_config_loads():
    cfg = load_config(SHIPPED)
    assert isinstance(cfg, HedgeConfig)
    assert cfg.pairs.symbols[0] == "BTCUSDT" and cfg.risk.MAX_LEVERAGE == 5
    assert cfg.candidate.trade_on == "next_open"
    assert cfg.profiles.profiles[cfg.runtime.profile].local_venue  # the shipped profile is dev


def test_unmodified_copy_loads(cfg_dir):
    assert load_config(cfg_dir).config_dir == cfg_dir


def test_relative_config_dir_is_named_as_given(cfg_dir, monkeypatch):
    sub("risk_limits.json", '"MAX_POSITIONS": 10', '"MAX_POSITIONS": 0')(cfg_dir)
    monkeypatch.chdir(cfg_dir.parent)
    assert error_of(Path("config")).startswith("config/risk_limits.json: line 5: MAX_POSITIONS: ")


def test_missing_config_dir(tmp_path):
    message = error_of(tmp_path / "nope")
    assert "nope" in message and "config directory not found" in message


def test_every_problem_in_every_file_is_reported_together(cfg_dir):
    both(
        sub("risk_limits.json", '"MAX_POSITIONS": 10', '"MAX_POSITIONS": 0'),
        sub("risk_limits.json", '"KILL_DAILY_LOSS_PCT": 0.05', '"KILL_DAILY_LOSS_PCT": 5'),
        sub("runtime.yaml", "    slices: 4", "    slices: 0"),
        delete("profiles.yaml"),
    )(cfg_dir)
    lines = error_of(cfg_dir).splitlines()
    assert len(lines) == 4, lines
    assert any("risk_limits.json" in l and "MAX_POSITIONS" in l for l in lines)
    assert any("risk_limits.json" in l and "KILL_DAILY_LOSS_PCT" in l and FRACTION_HINT in l for l in lines)
    assert any("runtime.yaml" in l and "router.twap.slices" in l for l in lines)
    assert any("profiles.yaml" in l and "file not found" in l for l in lines)


def test_syntax_error_in_one_file_does_not_hide_field_errors_in_another(cfg_dir):
    both(sub("pairs_universe.json", '"default_tier": "SATELLITE",', '"default_tier": "SATELLITE"'),
         sub("prod_candidate_R1.yaml", "trade_on: next_open", "trade_on: close"))(cfg_dir)
    message = error_of(cfg_dir)
    assert "pairs_universe.json: line 4 column 3: invalid JSON" in message
    assert "prod_candidate_R1.yaml: line 4: trade_on:" in message


def test_several_cross_file_problems_are_reported_together(cfg_dir):
    both(sub("risk_limits.json", '"ETHUSDT": 0.25', '"ETHBTCUSDT": 0.25'),
         sub("strategy_config.json", '"BNBUSDT": { "strategy"', '"BCHUSDT": { "strategy"'))(cfg_dir)
    lines = error_of(cfg_dir).splitlines()
    assert len(lines) == 2
    assert any("strategy_config.json: line 9: strategies.BCHUSDT: symbol is not in" in l for l in lines)
    assert any("risk_limits.json: line 8: per_symbol_nav_pct_overrides.ETHBTCUSDT:" in l for l in lines)


def test_yaml_duplicate_top_level_key_names_line(cfg_dir):
    sub("runtime.yaml", "profile: dev", "profile: dev\nprofile: prod")(cfg_dir)
    assert error_of(cfg_dir) == (
        f"{cfg_dir / 'runtime.yaml'}: line 3: profile: duplicate key 'profile' "
        "(YAML would silently keep the last one; delete one)"
    )


def test_duplicate_key_inside_a_list_item(cfg_dir):
    sub("correlation_groups.json", '"max_group_nav_pct": 0.35 }', '"max_group_nav_pct": 0.35, "symbols": [] }')(cfg_dir)
    assert "groups.L1_bluechips.symbols: duplicate key 'symbols'" in error_of(cfg_dir)


def test_not_utf8(cfg_dir):
    (cfg_dir / "runtime.yaml").write_bytes(b"profile: d\xe9v\n")
    assert "runtime.yaml: line 1: not UTF-8 text (byte 0xe9); save the file as UTF-8" in error_of(cfg_dir)


# --------------------------------------------------------------------------- load_or_exit and the CLI
def _clean_env() -> dict[str, str]:
    """The subprocess sees no HEDGE variable from the developer's shell."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def _check(config_dir: Path, env_file: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "settings", "check", "--config-dir", str(config_dir), "--env-file", str(env_file)],
        cwd=config_dir.parent, env={**_clean_env(), **(extra_env or {})}, capture_output=True, text=True, timeout=60,
    )


def test_cli_check_passes_on_the_shipped_config(tmp_path):
    result = _check(SHIPPED, tmp_path / "absent.env")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[config] OK:") and result.stderr == ""


def test_cli_check_fails_with_exit_2_and_every_problem_on_stderr(cfg_dir, tmp_path):
    both(sub("risk_limits.json", '"max_portfolio_dd_nav_pct": 0.10', '"max_portfolio_dd_nav_pct": 10'),
         sub("runtime.yaml", "    slices: 4", "    slices: 0"))(cfg_dir)
    result = _check(cfg_dir, tmp_path / "absent.env")
    assert result.returncode == 2
    assert result.stdout == ""
    err = result.stderr.splitlines()
    assert err[0] == "[config] INVALID CONFIGURATION — refusing to start:"
    assert all(line.startswith("[config]   ") for line in err[1:]) and len(err) == 3
    assert any("risk_limits.json: line 2: circuit_breakers.max_portfolio_dd_nav_pct:" in l and FRACTION_HINT in l for l in err)
    assert any("runtime.yaml: line 12: router.twap.slices:" in l for l in err)
    assert "Traceback" not in result.stderr


def test_cli_check_reports_config_and_env_problems_in_one_run(cfg_dir, tmp_path):
    sub("runtime.yaml", "    slices: 4", "    slices: 0")(cfg_dir)
    env_file = tmp_path / "bad.env"
    env_file.write_text('DRY_RUN=tru\nBINANCE_API_SECRET="s3cr3t value"\n')
    result = _check(cfg_dir, env_file)
    assert result.returncode == 2
    assert "router.twap.slices" in result.stderr
    assert "DRY_RUN: expected 1/true/yes/on or 0/false/no/off (got 'tru')" in result.stderr
    assert "BINANCE_API_SECRET: contains whitespace" in result.stderr
    assert "s3cr3t" not in result.stderr and "***" in result.stderr


def test_load_or_exit_prints_and_exits_2(cfg_dir, tmp_path):
    sub("risk_limits.json", '"MAX_LEVERAGE": 5', '"MAX_LEVERAGE": 0')(cfg_dir)
    stream, codes = io.StringIO(), []
    with pytest.raises(ConfigError):
        load_or_exit(cfg_dir, tmp_path / "absent.env", stream=stream, exit=codes.append)
    assert codes == [2]
    assert "[config]   " + str(cfg_dir / "risk_limits.json") + ": line 6: MAX_LEVERAGE:" in stream.getvalue()


def test_load_or_exit_returns_config_and_env_when_valid(tmp_path, monkeypatch):
    monkeypatch.delenv("ENV", raising=False)
    monkeypatch.delenv("DRY_RUN", raising=False)
    cfg, env = load_or_exit(SHIPPED, tmp_path / "absent.env", exit=lambda code: pytest.fail(f"exit {code}"))
    assert cfg.pairs.symbols and env.DRY_RUN is True


# --------------------------------------------------------------------------- secrets are never echoed
@pytest.mark.parametrize("name", ["BINANCE_API_SECRET", "BINANCE_API_KEY", "TELEGRAM_BOT_TOKEN", "FUTURES_TELEGRAM_BOT_TOKEN"])
def test_bad_secret_value_is_masked(tmp_path, monkeypatch, name):
    for var in ("BINANCE_API_SECRET", "BINANCE_API_KEY", "TELEGRAM_BOT_TOKEN", "FUTURES_TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    from settings.env import load_env

    env_file = tmp_path / ".env"
    env_file.write_text(f'{name}="hunter2 xyzzy"\n')
    with pytest.raises(ConfigError) as err:
        load_env(env_file)
    message = str(err.value)
    shown = name.removeprefix("FUTURES_")  # the alias is reported under the variable's canonical name
    assert f"{shown}: contains whitespace" in message and "(got ***)" in message
    assert "hunter2" not in message and "xyzzy" not in message


def test_formatter_masks_any_secret_looking_field():
    class Creds(BaseModel):
        API_TOKEN: int
        db_password: int
        signing_key: int
        max_positions: int

    with pytest.raises(ValidationError) as err:
        Creds(API_TOKEN="tok-hunter2", db_password="pw-hunter2", signing_key="key-hunter2", max_positions="ten")
    text = format_validation_error("x.env", err.value)
    assert "hunter2" not in text and text.count("(got ***)") == 3
    assert "max_positions: Input should be a valid integer, unable to parse string as an integer (got 'ten')" in text
