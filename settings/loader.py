"""Load every config file into one validated `HedgeConfig`; bad config fails at start, loudly and precisely.

Each error names the file, the line when known, the field and the reason, e.g.
    config/risk_limits.json: line 2: circuit_breakers.max_portfolio_dd_nav_pct: Input should be less than or
    equal to 1 (got 10) (fractions: 0.10 = 10 %; did you mean 0.1?)
Every problem in every file is reported in one go; cross-file checks run once each file is valid on its own.
Parsing a file (and refusing hostile input) is `settings.documents`.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from settings.documents import MAX_FILE_BYTES, Document, one_line, parse_document, read_document

__all__ = ["CONFIG_FILES", "MAX_FILE_BYTES", "Document", "HedgeConfig", "load_config", "load_file", "load_or_exit",
           "parse_document", "read_document"]
from settings.errors import ConfigError, Loc, field_path, format_validation_error
from settings.models import (
    CandidateConfig,
    CorrelationGroups,
    PairsUniverse,
    Profiles,
    RiskLimits,
    RuntimeConfig,
    ScaleRules,
    StrategyConfig,
)

# file name -> model; the one list of config files Hedge reads
CONFIG_FILES: dict[str, type[BaseModel]] = {
    "pairs_universe.json": PairsUniverse,
    "strategy_config.json": StrategyConfig,
    "risk_limits.json": RiskLimits,
    "correlation_groups.json": CorrelationGroups,
    "runtime.yaml": RuntimeConfig,
    "profiles.yaml": Profiles,
    "prod_candidate_R1.yaml": CandidateConfig,
    "prod_scale_rules_R1.yaml": ScaleRules,
}


@dataclass(frozen=True)
class HedgeConfig:
    pairs: PairsUniverse
    strategy: StrategyConfig
    risk: RiskLimits
    correlation: CorrelationGroups
    runtime: RuntimeConfig
    profiles: Profiles
    candidate: CandidateConfig
    scale_rules: ScaleRules
    config_dir: Path


def _label(config_dir: Path, name: str) -> str:
    return str(Path(config_dir) / name)


def _load(config_dir: Path, name: str) -> tuple[BaseModel, dict[Loc, int]]:
    model = CONFIG_FILES[name]
    label = _label(config_dir, name)
    doc = parse_document(Path(config_dir) / name, label)
    try:
        return model.model_validate(doc.data), doc.lines
    except ValidationError as exc:
        raise ConfigError(format_validation_error(label, exc, model, doc.lines)) from None
    except (RecursionError, ValueError, TypeError, OverflowError) as exc:  # a validator tripped on odd input
        raise ConfigError(f"{label}: cannot validate: {type(exc).__name__}: {one_line(exc)}") from None


def load_file(config_dir: Path, name: str) -> BaseModel:
    """One config file, validated on its own (no cross-file checks)."""
    return _load(Path(config_dir), name)[0]


def _cross_checks(cfg: HedgeConfig, lines: dict[str, dict[Loc, int]]) -> list[str]:
    """Checks that need more than one file. Each line names the file, line and field to change."""
    d = cfg.config_dir
    problems: list[str] = []

    def at(name: str, *loc: Any) -> str:
        line = lines.get(name, {}).get(tuple(loc))
        return f"{_label(d, name)}: {f'line {line}: ' if line else ''}{field_path(loc)}"

    pairs, strategy, risk, runtime = (_label(d, n) for n in (
        "pairs_universe.json", "strategy_config.json", "risk_limits.json", "runtime.yaml"))
    universe = set(cfg.pairs.symbols)
    for symbol in cfg.strategy.strategies:
        if symbol not in universe:
            problems.append(
                f"{at('strategy_config.json', 'strategies', symbol)}: symbol is not in {pairs} 'symbols' "
                "(add it there first)"
            )
    for i, sleeve in enumerate(cfg.candidate.ensemble.sleeves):
        if sleeve.symbol not in universe:
            problems.append(
                f"{at('prod_candidate_R1.yaml', 'ensemble', 'sleeves', i, 'symbol')}: {sleeve.symbol} is not in "
                f"{pairs} 'symbols' (add it there first)"
            )
    for symbol in cfg.risk.per_symbol_nav_pct_overrides:
        if symbol not in universe:
            problems.append(
                f"{at('risk_limits.json', 'per_symbol_nav_pct_overrides', symbol)}: symbol is not in {pairs} "
                "'symbols' (a misspelt symbol here means the intended cap never applies)"
            )
    active = cfg.runtime.profile
    profile = cfg.profiles.profiles.get(active)
    if profile is not None and profile.max_leverage > cfg.risk.MAX_LEVERAGE:
        problems.append(
            f"{at('profiles.yaml', 'profiles', active, 'max_leverage')}: {profile.max_leverage:g} exceeds "
            f"{risk} MAX_LEVERAGE {cfg.risk.MAX_LEVERAGE:g} (the active profile, {runtime} 'profile')"
        )
    screener = cfg.strategy.screener
    timeframe = cfg.runtime.loop.screener_timeframe
    if screener.timeframes is not None and timeframe not in screener.timeframes:
        problems.append(
            f"{at('runtime.yaml', 'loop', 'screener_timeframe')}: {timeframe} is not one of {strategy} "
            f"screener.timeframes ({', '.join(screener.timeframes)}); make them agree"
        )
    need = screener.history_bars
    if cfg.runtime.loop.history_bars < need:
        problems.append(
            f"{at('runtime.yaml', 'loop', 'history_bars')}: {cfg.runtime.loop.history_bars} bars are fewer than "
            f"the {need} the screener needs ({strategy} screener: z_window, rsi_period + 1, atr_period + 1, "
            "slow_ma + 1)"
        )
    return problems


def load_config(config_dir: str | Path = "config") -> HedgeConfig:
    """Load and validate every config file; raise ConfigError listing every problem found."""
    config_dir = Path(config_dir)
    if not config_dir.is_dir():
        raise ConfigError(f"{config_dir}: config directory not found (pass --config-dir or set CONFIG_DIR)")
    loaded: dict[str, BaseModel] = {}
    lines: dict[str, dict[Loc, int]] = {}
    errors: list[str] = []
    for name in CONFIG_FILES:
        try:
            loaded[name], lines[name] = _load(config_dir, name)
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    cfg = HedgeConfig(  # each cast: CONFIG_FILES maps that file name to that model
        pairs=cast(PairsUniverse, loaded["pairs_universe.json"]),
        strategy=cast(StrategyConfig, loaded["strategy_config.json"]),
        risk=cast(RiskLimits, loaded["risk_limits.json"]),
        correlation=cast(CorrelationGroups, loaded["correlation_groups.json"]),
        runtime=cast(RuntimeConfig, loaded["runtime.yaml"]),
        profiles=cast(Profiles, loaded["profiles.yaml"]),
        candidate=cast(CandidateConfig, loaded["prod_candidate_R1.yaml"]),
        scale_rules=cast(ScaleRules, loaded["prod_scale_rules_R1.yaml"]),
        config_dir=config_dir,
    )
    problems = _cross_checks(cfg, lines)
    if problems:
        raise ConfigError("\n".join(problems))
    return cfg


def load_or_exit(
    config_dir: str | Path = "config",
    env_file: str | Path | None = ".env",
    *,
    stream=None,
    exit: Callable[[int], None] = sys.exit,
):
    """What every process calls first: returns (HedgeConfig, EnvSettings) or prints why and exits 2.

    Config files and the environment are both checked before exiting, so one run shows every problem.
    """
    from settings.env import load_env

    stream = stream or sys.stderr
    errors: list[str] = []
    cfg = env = None
    try:
        cfg = load_config(config_dir)
    except ConfigError as exc:
        errors.append(str(exc))
    try:
        env = load_env(env_file)
    except ConfigError as exc:
        errors.append(str(exc))
    if not errors:
        return cfg, env
    print("[config] INVALID CONFIGURATION — refusing to start:", file=stream)
    for line in "\n".join(errors).splitlines():
        print(f"[config]   {line}", file=stream)
    exit(2)
    raise ConfigError("\n".join(errors))  # only reached when `exit` is replaced by a function that returns
