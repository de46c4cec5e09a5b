"""One error type for bad configuration, with messages that name the file, the field and the reason."""
from __future__ import annotations

from pydantic import ValidationError


_SECRET_WORDS = ("SECRET", "TOKEN", "KEY", "PASSWORD")


class ConfigError(Exception):
    """Configuration is invalid; the message is meant for an operator at 3 a.m."""


def _field_path(loc: tuple) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            # pydantic adds the validator/tag name for unions and function validators; skip those
            if str(item).startswith("function-") or str(item) in ("json-or-python[json=...,python=...]",):
                continue
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "<root>"


def format_validation_error(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors(include_url=False):
        field = _field_path(tuple(err.get("loc", ())))
        msg = err.get("msg", "invalid")
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        got = err.get("input")
        if any(word in field.upper() for word in _SECRET_WORDS):
            got = "***"  # never echo a secret back into a log
        got_text = "" if err.get("type") == "missing" or isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{source}: {field}: {msg}{got_text}")
    return "\n".join(lines)
