"""Parse one config file (JSON or YAML) into a `Document`: its data and the line of every key, or ConfigError.

Hostile or broken input gets one line naming the file (and the line and field when known), never a hang or a
traceback: size, encoding, NUL bytes, duplicate keys, NaN / Infinity / 1e999, over-long numbers, nesting
depth and YAML alias expansion are all bounded before anything is built (docs/ARCHITECTURE.md, "Configuration").
`settings.loader` validates the documents against the models.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from settings.errors import ConfigError, Loc, field_path

# Bounds on what a config file may make the loader do (docs/ARCHITECTURE.md, "Configuration"): every file
# Hedge ships is a few KiB, a few levels deep, with short numbers. Anything past these is refused with one
# line naming the file, before it can hang the loader (a YAML alias bomb expands exponentially) or crash it
# (deep nesting: RecursionError; a 5,000-digit integer: ValueError from int()).
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000  # values after expanding YAML aliases
MAX_NUMBER_CHARS = 40  # digits of a number literal (a float has ~17 significant digits)
MAX_SCALAR_CHARS = 10_000


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


class _BadNumber(ValueError):
    pass


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_CHARS:
        raise _BadNumber(f"a number of {len(text)} digits is too long (at most {MAX_NUMBER_CHARS})")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _BadNumber(f"a number of {len(text)} characters is too long (at most {MAX_NUMBER_CHARS})")
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"{text} is out of range: config values must be finite numbers")
    return value


_LONG_JSON_NUMBER = re.compile(rf"-?[0-9][0-9.eE+-]{{{MAX_NUMBER_CHARS},}}")


def _json_number_where(text: str) -> str:
    """`line N: field: ` of the first over-long number in JSON text (which the parser refused)."""
    match = _LONG_JSON_NUMBER.search(text)
    if match is None:
        return ""
    line = text.count("\n", 0, match.start()) + 1
    try:
        lines = scan_json(text)[0]
    except Exception:  # the position is a courtesy; the reason stands without it
        return f"line {line}: "
    paths = [path for path, at in lines.items() if at == line]
    return f"line {line}: " + (f"{field_path(max(paths, key=len))}: " if paths else "")


def _check_depth(data: Any, label: str) -> None:
    """Nesting deeper than MAX_DEPTH is refused (iterative: deep input must not recurse here)."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{label}: nested more than {MAX_DEPTH} levels deep: not a Hedge config file")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def _resolves_to_number(value: str) -> bool:
    """Whether the loader would read this plain scalar as a number (a hex digest is text, not a number)."""
    # resolve() reads only class-level tables, so the class itself serves as the resolver.
    return _StrictYamlLoader.resolve(_StrictYamlLoader, yaml.ScalarNode, value, (True, False)) in _NUMBER_TAGS  # type: ignore[arg-type]  # class as self: resolve() reads class tables only


def check_yaml_events(text: str, label: str) -> None:
    """Walk the YAML event stream once, before anything is composed, and refuse what would hang or crash:
    an alias that refers to its own (still open) collection, more than MAX_NODES values after expanding
    aliases (a "billion laughs" bomb), nesting deeper than MAX_DEPTH, number literals longer than
    MAX_NUMBER_CHARS. Linear in the text; PyYAML's parser is iterative, so deep input cannot recurse here."""
    sizes: dict[str, int] = {}  # anchor -> expanded size of its node
    # [anchor, expanded size so far, is a mapping, items seen, current key]: the last three name the field
    frames: list[list[Any]] = []
    total = 0

    def where(line: int) -> str:
        path: list[Any] = []
        for frame in frames:
            if frame[2]:
                if frame[4] is not None:
                    path.append(frame[4])
            else:
                path.append(max(frame[3] - 1, 0))
        return f"line {line}: " + (f"{field_path(path)}: " if path else "")

    def item(value: Any) -> None:
        """Count one item of the innermost collection; remember mapping keys (even positions)."""
        if frames:
            frame = frames[-1]
            if frame[2] and frame[3] % 2 == 0:
                frame[4] = value if isinstance(value, str) else repr(value)
            frame[3] += 1

    def add(n: int, line: int) -> None:
        nonlocal total
        if frames:
            frames[-1][1] += n
        else:
            total += n
        if total > MAX_NODES or (frames and frames[-1][1] > MAX_NODES):
            raise ConfigError(
                f"{label}: line {line}: more than {MAX_NODES} values after expanding aliases "
                "(an alias bomb?): not a Hedge config file"
            )

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(frames) >= MAX_DEPTH:
                raise ConfigError(f"{label}: line {line}: nested more than {MAX_DEPTH} levels deep: "
                                  "not a Hedge config file")
            item(None)
            frames.append([event.anchor, 1, isinstance(event, yaml.MappingStartEvent), 0, None])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = frames.pop()[:2]
            if anchor is not None:
                sizes[anchor] = size
            add(size, line)
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in frames):
                raise ConfigError(f"{label}: {where(line)}alias *{event.anchor} refers to the collection it is in "
                                  "(a self-referencing alias): write the values out")
            if event.anchor not in sizes:
                raise ConfigError(
                    f"{label}: line {line}: alias *{event.anchor} has no anchor &{event.anchor} before it")
            item(None)
            add(sizes[event.anchor], line)
        elif isinstance(event, yaml.ScalarEvent):
            value = event.value
            item(value)
            if len(value) > MAX_SCALAR_CHARS:
                raise ConfigError(f"{label}: {where(line)}a value of {len(value)} characters is too long "
                                  f"(at most {MAX_SCALAR_CHARS})")
            if event.style is None and len(value) > MAX_NUMBER_CHARS and _resolves_to_number(value):
                raise ConfigError(f"{label}: {where(line)}a number of {len(value)} characters is too long "
                                  f"(at most {MAX_NUMBER_CHARS})")
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1, line)


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
            value, end = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]  # public, untyped
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
# PyYAML follows YAML 1.1, where `1e-8` and `5E3` (no dot) are STRINGS; with strict types that would make an
# ordinary number an error ("not text"). Resolve them as floats, as YAML 1.2 and JSON do.
_StrictYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


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
    text = read_text_file(path, label, MAX_FILE_BYTES)
    try:
        if path.suffix == ".json":
            data, lines = _parse_json(text, label)
        else:
            data, lines = _parse_yaml(text, label)
        _check_depth(data, label)
    except ConfigError:
        raise
    except (RecursionError, MemoryError):
        raise ConfigError(f"{label}: nested too deeply or too large to read: not a Hedge config file") from None
    except Exception as exc:  # whatever the parser trips on, the operator gets one line naming the file
        raise ConfigError(f"{label}: cannot parse: {type(exc).__name__}: {one_line(exc)}") from None
    if not isinstance(data, dict):
        kind = "nothing" if data is None else f"a {type(data).__name__}"
        raise ConfigError(f"{label}: (top level): must be a mapping of keys to values, got {kind}")
    return Document(data, lines)


def one_line(text: object, limit: int = 160) -> str:
    """An exception's text as one short line: the operator's error is one line per problem."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def read_text_file(path: Path, label: str, max_bytes: int, *, allow_empty: bool = False) -> str:
    """The text of a config or .env file, or ConfigError: too large, unreadable, not UTF-8, binary, empty.
    A UTF-8 byte-order mark (Windows editors write one) is accepted and dropped."""
    try:
        with path.open("rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read file: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise ConfigError(f"{label}: file is larger than {max_bytes // 1024} KiB: not a Hedge config file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{label}: line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        ) from None
    if "\x00" in text:
        raise ConfigError(f"{label}: line {text.count(chr(10), 0, text.index(chr(0))) + 1}: contains NUL bytes: "
                          "a binary file, not text")
    if not text.strip() and not allow_empty:
        raise ConfigError(f"{label}: file is empty")
    return text


def _parse_json(text: str, label: str) -> tuple[Any, dict[Loc, int]]:
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_json_keys, parse_constant=_reject_constant,
                          parse_int=_json_int, parse_float=_json_float)
    except _BadNumber as exc:
        raise ConfigError(f"{label}: {_json_number_where(text)}{exc}") from None
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
        check_yaml_events(text, label)
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
        problem = one_line(getattr(exc, "problem", None) or exc)
        if "<block" in problem:
            problem += " (check the indentation of this line and the lines above it)"
        raise ConfigError(f"{label}: {where}invalid YAML: {problem}") from None
    bad = _finite_floats(data)
    if bad:
        at = lines.get(bad[0])
        raise ConfigError(
            f"{label}: {f'line {at}: ' if at else ''}{field_path(bad[0])}: {bad[1]} is not allowed: "
            "config values must be finite numbers"
        )
    return data, lines


def read_document(path: Path, label: str | None = None) -> dict[str, Any]:
    """Parse a JSON or YAML file into a mapping; syntax problems become ConfigError with line numbers."""
    return parse_document(path, label).data
