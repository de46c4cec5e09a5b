"""Strict JSON for state files, event logs and records: the one encoder (and its reader) of Hedge.

Values must be strict JSON: NaN/inf are refused at write time with the path to the bad value, and text holding
NaN, Infinity or a number that overflows to infinity (1e999) is refused on read. Decimals are written as strings
(exact; read them back with core.numbers), dataclasses and pydantic models become objects, datetimes ISO 8601.
docs/STATE_FILES.md describes the files written with it; execution/state_store.py writes them atomically.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any


class StateValueError(ValueError):
    """A value cannot be written as strict JSON (NaN, inf, or an unsupported type)."""


# --------------------------------------------------------------------------------------------------
# JSON encoding
# --------------------------------------------------------------------------------------------------

def json_default(obj: Any) -> Any:
    """`default=` hook for json.dumps: Decimal, dataclasses, pydantic models, datetimes, enums, paths."""
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise StateValueError(f"Decimal {obj} is not a finite number")
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # shallow: json keeps recursing through this hook, so nested values get the same treatment
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if hasattr(obj, "model_dump") and callable(obj.model_dump):  # pydantic v2 model
        return obj.model_dump(mode="python")
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", None) == 0:  # numpy scalar
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):  # numpy array
        return obj.tolist()
    raise StateValueError(f"cannot write a {type(obj).__name__} as JSON")


def _find_non_finite(obj: Any, path: str = "$") -> str | None:
    """Path of the first NaN/inf inside obj (following the same conversions as json_default)."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else path
    if isinstance(obj, Decimal):
        return None if obj.is_finite() else path
    if isinstance(obj, (str, int, bool)) or obj is None:
        return None
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            found = _find_non_finite(value, f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            found = _find_non_finite(value, f"{path}[{i}]")
            if found:
                return found
        return None
    try:
        return _find_non_finite(json_default(obj), path)
    except StateValueError:
        return path


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Strict JSON text; raises StateValueError naming the offending field for NaN/inf."""
    try:
        if indent is None:
            return json.dumps(obj, default=json_default, allow_nan=False, ensure_ascii=False,
                              separators=(",", ":"))
        return json.dumps(obj, default=json_default, allow_nan=False, ensure_ascii=False, indent=indent)
    except StateValueError as exc:
        where = _find_non_finite(obj)
        raise StateValueError(f"{where or '$'}: {exc}; refusing to write invalid JSON") from None
    except RecursionError:
        raise StateValueError("$ is nested too deeply to write; refusing to write invalid JSON") from None
    except ValueError as exc:  # "Out of range float values are not JSON compliant" or a circular reference
        try:
            where = _find_non_finite(obj)
        except RecursionError:  # a circular structure: the walk cannot finish either
            where = None
        if where is None:
            raise StateValueError(f"$: {exc}; refusing to write invalid JSON") from None
        raise StateValueError(
            f"{where} is NaN or infinite ({exc}); refusing to write invalid JSON"
        ) from None
    except TypeError as exc:  # e.g. a tuple as a dict key
        raise StateValueError(f"$: {exc}; refusing to write invalid JSON") from None


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(f"{name} is not a finite number")


def _strict_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf
        raise _NonFinite(f"{text[:40]} overflows to infinity")
    return value


def strict_loads(raw: bytes | str) -> Any:
    """json.loads that refuses NaN, Infinity and numbers overflowing to infinity (ValueError).

    Callers treat ANY exception from here as bad data: deep nesting raises RecursionError, not ValueError.
    """
    return json.loads(raw, parse_constant=_reject_constant, parse_float=_strict_float)


def utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800") has no UTF-8 form
        raise StateValueError(f"$: text with an unpaired surrogate at character {exc.start} cannot be "
                              "written as UTF-8; refusing to write invalid JSON") from None


def as_object(value: Any, what: str) -> Mapping[str, Any]:
    """A mapping, or a dataclass/pydantic model turned into one; anything else is refused."""
    if isinstance(value, Mapping):
        return value
    if (dataclasses.is_dataclass(value) and not isinstance(value, type)) or hasattr(value, "model_dump"):
        return json_default(value)
    raise StateValueError(f"{what} must be an object (dict, dataclass or model), got {type(value).__name__}")
