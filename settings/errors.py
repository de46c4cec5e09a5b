"""One error type for bad configuration, with messages that name the file, the field and the reason.

A line reads `<file>: [line N: ]<dotted.field.path>: <reason> [(got <value>)] [hint]`, e.g.

    config/risk_limits.json: line 2: circuit_breakers.max_portfolio_dd_nav_pct: Input should be less than
        or equal to 1 (got 10) (fractions: 0.10 = 10 %; did you mean 0.1?)
    config/risk_limits.json: line 2: circuit_breakers.max_portfolio_dd_nav_pc: unknown key (a typo?);
        did you mean 'max_portfolio_dd_nav_pct'?

Secrets are never echoed: a variable whose name says SECRET / TOKEN / PASSWORD / *KEY shows `***`.
"""
from __future__ import annotations

import difflib
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

_SECRET_WORDS = ("SECRET", "TOKEN", "PASSWORD", "PASSWD")
FRACTION_HINT = "fractions: 0.10 = 10 %"
_MAX_GOT = 80  # longer values are cut: the operator needs a hint, not a dump
_UPPER_BOUND_ERRORS = ("less_than_equal", "less_than")
MAX_ERROR_LINES = 20

Loc = tuple[Any, ...]


class ConfigError(Exception):
    """Configuration is invalid; the message is meant for an operator at 3 a.m."""


class FieldError(ValueError):
    """Raised by a model validator to point at the field that is wrong, below the one being validated.

    pydantic reports a validator's error at the validated field (or at the model for a model
    validator); `field` is the rest of the path, e.g. ("circuit_breakers", "max_portfolio_dd_nav_pct")
    or (3,) for the fourth item of a list. The message should quote the offending values itself.
    """

    def __init__(self, field: Loc | str | int, message: str):
        self.field: Loc = field if isinstance(field, tuple) else (field,)
        super().__init__(message)


def is_secret_name(name: str) -> bool:
    upper = str(name).upper()
    return any(word in upper for word in _SECRET_WORDS) or upper.endswith("KEY")


def field_path(loc: Sequence[Any]) -> str:
    """('a', 'b', 0, 'c') -> 'a.b[0].c'; () -> '(top level)'.

    A key that is empty, very long or holds control characters (a line break would split the one error
    line) is shown quoted and cut, e.g. a.['\\r'].b."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int) and not isinstance(item, bool):
            parts.append(f"[{item}]")
        else:
            text = str(item)
            if not text or not text.isprintable() or len(text) > 60:
                shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
                parts.append(f"[{shown}]")
            else:
                parts.append(("." if parts else "") + text)
    return "".join(parts) or "(top level)"


# --------------------------------------------------------------------------- walking the model by path
@dataclass
class _Resolved:
    loc: list[Any] = field(default_factory=list)  # the path without pydantic's internal tags
    parent_model: type[BaseModel] | None = None  # the model that owns (or should own) the last item
    descriptions: list[str] = field(default_factory=list)  # of the leaf's Field(...)s
    union_member: str | None = None  # pydantic tags errors of a union member with the member's name
    dict_key: bool = False  # the error is about a mapping KEY, not its value


def _unwrap(tp: Any) -> tuple[Any, list[str]]:
    """Strip Annotated / Optional; collect Field descriptions on the way."""
    descriptions: list[str] = []
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            args = get_args(tp)
            descriptions += [m.description for m in args[1:] if isinstance(m, FieldInfo) and m.description]
            tp = args[0]
            continue
        if origin in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp, descriptions


def _model_field(model: type[BaseModel], name: Any) -> str | None:
    if name in model.model_fields:
        return name
    for fname, info in model.model_fields.items():  # validation aliases, e.g. trailing_stop_pct -> trail_pct
        alias = info.validation_alias
        choices = getattr(alias, "choices", None) or ([alias] if isinstance(alias, str) else [])
        if name in choices or info.alias == name:
            return fname
    return None


def _resolve(root: type[BaseModel] | None, loc: Sequence[Any]) -> _Resolved:
    out = _Resolved()
    tp: Any = root
    descriptions: list[str] = []
    for item in loc:
        if isinstance(item, str) and (item.startswith("function-") or item.startswith("json-or-python")):
            continue  # pydantic's validator tags
        if item == "[key]":  # pydantic: the KEY just named (the item before) is invalid, not its value
            out.dict_key = True
            out.parent_model = None
            tp = None
            continue
        if tp is None:
            out.loc.append(item)
            continue
        base, more = _unwrap(tp)
        descriptions += more
        origin = get_origin(base)
        if isinstance(base, type) and issubclass(base, BaseModel):
            out.parent_model = base
            name = _model_field(base, item)
            if name is None:
                out.loc.append(item)
                tp = None
                continue
            info = base.model_fields[name]
            descriptions = [info.description] if info.description else []
            tp = info.annotation
            out.loc.append(item)
        elif origin in (dict, Mapping) or base is dict:
            value_tp = (get_args(base) + (Any, Any))[1]
            out.parent_model = None
            tp, descriptions = value_tp, []
            out.loc.append(item)
        elif origin in (list, tuple) or base in (list, tuple):
            args = [a for a in get_args(base) if a is not Ellipsis]
            tp, descriptions = (args[0] if args else None), []
            out.parent_model = None
            out.loc.append(item)
        elif origin in (Union, types.UnionType) and isinstance(item, str):
            out.union_member = item  # e.g. 'float', 'list[int]': not part of the operator's path
            tp = None
        else:
            out.loc.append(item)
            tp = None
    if tp is not None:
        descriptions += _unwrap(tp)[1]
    out.descriptions = descriptions
    return out


# --------------------------------------------------------------------------- formatting
def _got(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"  # repr() fails past 4300 digits
    text = repr(value)
    return text if len(text) <= _MAX_GOT else text[: _MAX_GOT - 3] + "..."


# Strict types (settings/model_base.py): say what to write instead of pydantic's "Input should be a valid ...".
_STRICT_HINTS = {
    ("int_type", str): "must be a whole number, not text (a quoted \"5\" is text)",
    ("int_type", float): "must be a whole number (no decimal point)",
    ("int_type", bool): "must be a whole number, not true/false",
    ("float_type", str): "must be a number, not text (a quoted \"5\" is text)",
    ("float_type", bool): "must be a number, not true/false",
    ("bool_type", str): "must be true or false, not text",
    ("bool_type", int): "must be true or false, not a number",
    ("bool_type", float): "must be true or false, not a number",
}


def _fraction_hint(value: Any) -> str:
    hint = FRACTION_HINT
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 1 < value <= 100:
        hint += f"; did you mean {value / 100:g}?"
    return f" ({hint})"


def _unknown_key_message(model: type[BaseModel] | None, key: Any) -> str:
    msg = "unknown key (a typo?)"
    if model is None:
        return msg
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    if close:
        return f"{msg}; did you mean {close[0]!r}?"
    if len(known) <= 12:
        return f"{msg}; allowed here: {', '.join(known)}"
    return msg


def _line_for(loc: Sequence[Any], lines: Mapping[Loc, int] | None) -> int | None:
    """The line of the deepest part of `loc` the file has (a missing key: its parent's line)."""
    if not lines:
        return None
    for n in range(len(loc), 0, -1):
        line = lines.get(tuple(loc[:n]))
        if line is not None:
            return line
    return None


def _parts(
    source: str, err: Mapping[str, Any], model: type[BaseModel] | None, lines: Mapping[Loc, int] | None
) -> tuple[str, str, str | None]:
    """(`source: [line N: ]field`, reason, union member or None) for one pydantic error dict."""
    r = _resolve(model, tuple(err.get("loc", ())))
    loc = list(r.loc)
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    got: Any = err.get("input")
    show_got = kind != "missing" and not isinstance(got, (dict, list, tuple))
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc += list(cause.field)
        show_got = False  # the validator quotes the values that matter
    if kind == "extra_forbidden":
        msg = _unknown_key_message(r.parent_model, loc[-1] if loc else "")
    elif kind == "missing":
        msg = "required key is missing"
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        msg = "must be a section of keys and values"  # not "instance of RouterConfig"
    elif (kind, type(got)) in _STRICT_HINTS:
        msg = _STRICT_HINTS[(kind, type(got))]
    elif r.dict_key:
        prefix = "Input should be "
        msg = f"unknown key {got!r}: " + (f"must be {msg[len(prefix):]}" if msg.startswith(prefix) else msg)
        show_got = False
    secret = any(is_secret_name(part) for part in loc if isinstance(part, str))
    if show_got:
        msg += f" (got {'***' if secret else _got(got)})"  # never echo a secret back into a log
    if kind in _UPPER_BOUND_ERRORS and any(d.startswith("fraction") for d in r.descriptions):
        msg += _fraction_hint(got)
    line = _line_for(loc, lines)
    where = f"line {line}: " if line else ""
    return f"{source}: {where}{field_path(loc)}", msg, r.union_member


def format_error(
    source: str, err: Mapping[str, Any], model: type[BaseModel] | None = None, lines: Mapping[Loc, int] | None = None
) -> str:
    """One pydantic error dict -> one operator line."""
    head, reason, member = _parts(source, err, model, lines)
    return f"{head}: {reason}" + (f" [as {member}]" if member else "")


def format_validation_error(
    source: str,
    exc: ValidationError,
    model: type[BaseModel] | None = None,
    lines: Mapping[Loc, int] | None = None,
) -> str:
    """Every error of `exc`, one line each.

    model: the model validated (enables typo suggestions, fraction hints and clean union paths).
    lines: {path: line number} of the parsed file (see `settings.loader`), to say where to look.
    A value that fails every member of a union (e.g. a strategy param) gives ONE line listing them.
    """
    heads: list[str] = []
    reasons: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        head, reason, member = _parts(source, err, model, lines)
        if member is None:
            head, reason = f"{head}: {reason}", ""
        else:
            reason = f"as {member}: {reason}"
        if head not in reasons:
            heads.append(head)
            reasons[head] = []
        if reason and reason not in reasons[head]:
            reasons[head].append(reason)
    out = [f"{h}: none of the accepted forms fit ({'; '.join(reasons[h])})" if reasons[h] else h for h in heads]
    if len(out) > MAX_ERROR_LINES:  # a file with thousands of bad items: the first ones say enough
        out = out[:MAX_ERROR_LINES] + [f"{source}: ... and {len(out) - MAX_ERROR_LINES} more problems"]
    return "\n".join(out)
