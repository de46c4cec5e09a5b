"""Load every config file into one validated `HedgeConfig`; bad config fails at start, loudly and precisely.

Each error names the file, the line when known, the field and the reason, e.g.
    config/risk_limits.json: line 2: circuit_breakers.max_portfolio_dd_nav_pct: Input should be less than or
    equal to 1 (got 10) (fractions: 0.10 = 10 %; did you mean 0.1?)
Every problem in every file is reported in one go; cross-file checks run once each file is valid on its own.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ValidationError

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


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        self.key = key
        super().__init__(f"duplicate key {key!r}")


class _BareConstant(ValueError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"{name} is not a number")


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _reject_constant(name: str) -> Any:
    raise _BareConstant(name)


_JSON_WS = " \t\r\n"
_JSON_CONSTANTS = ("NaN", "-Infinity", "Infinity")


def scan_json(text: str) -> tuple[dict[Loc, int], tuple[Loc, str, int] | None, tuple[Loc, str, int] | None]:
    """Walk JSON text: ({path: line} of every key and list item, first duplicate key, first NaN/Infinity).

    The duplicate and the constant are (path, name, line). `text` must be JSON apart from those two faults
    (the standard parser has already accepted its syntax).
    """
    lines: dict[Loc, int] = {}
    duplicate: tuple[Loc, str, int] | None = None
    constant: tuple[Loc, str, int] | None = None
    # frames: [is_object, keys seen, path of the container, current key / index]
    stack: list[list[Any]] = []
    line, i, n = 1, 0, len(text)

    def item_path() -> Loc:
        frame = stack[-1]
        return frame[2] + (frame[3],)

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == '"':
            value, end = json.decoder.scanstring(text, i + 1)
            j = end
            while j < n and text[j] in _JSON_WS:
                j += 1
            if stack and stack[-1][0] and j < n and text[j] == ":":  # an object key
                frame = stack[-1]
                frame[3] = value
                path = frame[2] + (value,)
                if value in frame[1] and duplicate is None:
                    duplicate = (path, value, line)
                frame[1].add(value)
                lines.setdefault(path, line)
            elif stack and not stack[-1][0]:  # a string list item
                lines.setdefault(item_path(), line)
            line += text.count("\n", i, end)
            i = end
            continue
        elif c in "{[":
            path = item_path() if stack else ()
            if stack and not stack[-1][0]:
                lines.setdefault(path, line)
            stack.append([c == "{", set(), path, 0 if c == "[" else None])
        elif c in "}]":
            if stack:
                stack.pop()
        elif c == "," and stack and not stack[-1][0]:
            stack[-1][3] += 1
        elif c not in _JSON_WS and stack and not stack[-1][0] and text[i - 1] in "[," + _JSON_WS:
            lines.setdefault(item_path(), line)  # a scalar list item
        if constant is None and c in "NI-":
            for name in _JSON_CONSTANTS:
                if text.startswith(name, i):
                    constant = (item_path() if stack else (), name, line)
                    break
        i += 1
    return lines, duplicate, constant


def scan_yaml(node: yaml.Node | None) -> tuple[dict[Loc, int], tuple[Loc, str, int] | None]:
    """({path: line} of every key and list item, first duplicate key as (path, key, line)) of a composed YAML tree."""
    lines: dict[Loc, int] = {}
    duplicate: tuple[Loc, str, int] | None = None

    def walk(node: yaml.Node, path: Loc) -> None:
        nonlocal duplicate
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
                if key in seen and duplicate is None:
                    duplicate = (path + (key,), key, key_node.start_mark.line + 1)
                seen.add(key)
                lines.setdefault(path + (key,), key_node.start_mark.line + 1)
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines.setdefault(path + (index,), item.start_mark.line + 1)
                walk(item, path + (index,))

    if node is not None:
        walk(node, ())
    return lines, duplicate


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


@dataclass(frozen=True)
class Document:
    """A parsed config file: its data and the line of every key / list item (for error messages)."""

    data: dict[str, Any]
    lines: dict[Loc, int]


def _finite_floats(value: Any, path: Loc = ()) -> tuple[Loc, Any] | None:
    """The first NaN / infinity in a YAML tree (YAML spells them .nan / .inf)."""
    if isinstance(value, float) and not math.isfinite(value):
        return path, value
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _finite_floats(item, path + (key,))
        if found:
            return found
    return None


def parse_document(path: Path, label: str | None = None) -> Document:
    """Parse a JSON or YAML file; syntax problems become ConfigError naming the line (and path when known)."""
    label = label or str(path)
    if not path.exists():
        raise ConfigError(f"{label}: file not found (copy the shipped example in config/ and edit it)")
    if not path.is_file():
        raise ConfigError(f"{label}: is not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read file: {exc}") from None
    if not text.strip():
        raise ConfigError(f"{label}: file is empty")
    if path.suffix == ".json":
        data, lines = _parse_json(text, label)
    else:
        data, lines = _parse_yaml(text, label)
    if not isinstance(data, dict):
        kind = "nothing" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{label}: (top level): must be a mapping of keys to values, got {kind}")
    return Document(data, lines)


def _parse_json(text: str, label: str) -> tuple[Any, dict[Loc, int]]:
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_json_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{label}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except (_DuplicateKey, _BareConstant) as exc:
        _, duplicate, constant = scan_json(text)
        if isinstance(exc, _DuplicateKey):
            where = f"line {duplicate[2]}: {field_path(duplicate[0])}: " if duplicate else ""
            raise ConfigError(
                f"{label}: {where}duplicate key {exc.key!r} (JSON would silently keep the last one; delete one)"
            ) from None
        where = f"line {constant[2]}: {field_path(constant[0])}: " if constant else ""
        raise ConfigError(f"{label}: {where}{exc.name} is not allowed: config values must be finite numbers") from None
    except RecursionError:
        raise ConfigError(f"{label}: invalid JSON: nested too deeply") from None
    return data, scan_json(text)[0]


def _parse_yaml(text: str, label: str) -> tuple[Any, dict[Loc, int]]:
    try:
        node = yaml.compose(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
        lines, duplicate = scan_yaml(node)
        if duplicate:
            raise ConfigError(
                f"{label}: line {duplicate[2]}: {field_path(duplicate[0])}: duplicate key {duplicate[1]!r} "
                "(YAML would silently keep the last one; delete one)"
            )
        data = yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        if "<block" in problem:
            problem += " (check the indentation of this line and the lines above it)"
        raise ConfigError(f"{label}: {where}invalid YAML: {problem}") from None
    bad = _finite_floats(data)
    if bad:
        where = lines.get(bad[0])
        raise ConfigError(
            f"{label}: {f'line {where}: ' if where else ''}{field_path(bad[0])}: {bad[1]} is not allowed: "
            "config values must be finite numbers"
        )
    return data, lines


def read_document(path: Path, label: str | None = None) -> dict[str, Any]:
    """Parse a JSON or YAML file into a mapping; syntax problems become ConfigError with line numbers."""
    return parse_document(path, label).data


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
    profile = cfg.profiles.profiles.get(active)  # type: ignore[call-overload]
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
