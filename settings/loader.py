"""Load every config file into one validated `HedgeConfig`; bad config fails at start, loudly and precisely.

Each error names the file, the field and the reason, e.g.
    config/risk_limits.json: circuit_breakers.max_portfolio_dd_nav_pct: Input should be less than or equal to 1 (got 10)
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ValidationError

from settings.errors import ConfigError, format_validation_error
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


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number; config values must be finite")


class _StrictYamlLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML would silently keep the last one)."""


def _construct_mapping(loader: _StrictYamlLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_document(path: Path, label: str | None = None) -> dict[str, Any]:
    """Parse a JSON or YAML file into a mapping; syntax problems become ConfigError with line numbers."""
    label = label or str(path)
    if not path.exists():
        raise ConfigError(f"{label}: file not found (copy the shipped example in config/ and edit it)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read file: {exc}") from None
    if not text.strip():
        raise ConfigError(f"{label}: file is empty")
    try:
        if path.suffix == ".json":
            data = json.loads(text, object_pairs_hook=_reject_duplicate_json_keys, parse_constant=_reject_constant)
        else:
            data = yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{label}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{label}: {where}invalid YAML: {problem}") from None
    except ValueError as exc:
        raise ConfigError(f"{label}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{label}: top level must be a mapping of keys to values, got {type(data).__name__}")
    return data


def load_file(config_dir: Path, name: str) -> BaseModel:
    model = CONFIG_FILES[name]
    path = Path(config_dir) / name
    label = f"{Path(config_dir).name}/{name}" if Path(config_dir).name else name
    data = read_document(path, label)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(label, exc)) from None


def _cross_checks(cfg: HedgeConfig) -> list[str]:
    problems = []
    dir_name = cfg.config_dir.name
    universe = set(cfg.pairs.symbols)
    for symbol in cfg.strategy.strategies:
        if symbol not in universe:
            problems.append(
                f"{dir_name}/strategy_config.json: strategies.{symbol}: symbol is not in "
                f"{dir_name}/pairs_universe.json 'symbols' (add it there first)"
            )
    for name, block in cfg.profiles.profiles.items():
        if block.max_leverage > cfg.risk.MAX_LEVERAGE and name == cfg.runtime.profile:
            problems.append(
                f"{dir_name}/profiles.yaml: profiles.{name}.max_leverage: {block.max_leverage} exceeds "
                f"{dir_name}/risk_limits.json MAX_LEVERAGE {cfg.risk.MAX_LEVERAGE}"
            )
    return problems


def load_config(config_dir: str | Path = "config") -> HedgeConfig:
    """Load and validate every config file; raise ConfigError listing every problem found."""
    config_dir = Path(config_dir)
    loaded: dict[str, BaseModel] = {}
    errors: list[str] = []
    for name in CONFIG_FILES:
        try:
            loaded[name] = load_file(config_dir, name)
        except ConfigError as exc:
            errors.append(str(exc))
    if errors:
        raise ConfigError("\n".join(errors))
    cfg = HedgeConfig(
        pairs=loaded["pairs_universe.json"],  # type: ignore[arg-type]
        strategy=loaded["strategy_config.json"],  # type: ignore[arg-type]
        risk=loaded["risk_limits.json"],  # type: ignore[arg-type]
        correlation=loaded["correlation_groups.json"],  # type: ignore[arg-type]
        runtime=loaded["runtime.yaml"],  # type: ignore[arg-type]
        profiles=loaded["profiles.yaml"],  # type: ignore[arg-type]
        candidate=loaded["prod_candidate_R1.yaml"],  # type: ignore[arg-type]
        scale_rules=loaded["prod_scale_rules_R1.yaml"],  # type: ignore[arg-type]
        config_dir=config_dir,
    )
    problems = _cross_checks(cfg)
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
    """What every process calls first: returns (HedgeConfig, EnvSettings) or prints why and exits 2."""
    from settings.env import load_env

    stream = stream or sys.stderr
    try:
        return load_config(config_dir), load_env(env_file)
    except ConfigError as exc:
        print("[config] INVALID CONFIGURATION — refusing to start:", file=stream)
        for line in str(exc).splitlines():
            print(f"[config]   {line}", file=stream)
        exit(2)
        raise  # only reached when `exit` is replaced by a function that returns
