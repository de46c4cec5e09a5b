"""Process-wide logging: set up once, the files the runbooks grep, breadcrumbs, secret redaction.

Files (all under log_dir, rotated by size, shared safely by every process on the box):
  system.log   — every record from every process (the preflight audit line lands here)
  executor.log — every record of the executor process, plus [executor] [screener] [decision]
                 [screener->executor] breadcrumbs from any process
  router.log   — [router] records from any process (and everything of a process named "router")
and stderr (supervisor captures it).

Breadcrumbs are the runbooks' grep-able lines: `[executor] INTENT {"symbol":"BTCUSDT",...}`.
"""
from __future__ import annotations

import json
import logging
import logging.handlers
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not POSIX: rotation is then per-process only
    fcntl = None  # type: ignore[assignment]  # the module or None, checked before use

from execution.state_json import json_default

CHANNELS = ("exutil", "screener", "decision", "screener->executor", "executor", "router", "preflight",
            "sync_state")
EXECUTOR_CHANNELS = frozenset({"executor", "screener", "decision", "screener->executor"})
ROUTER_CHANNELS = frozenset({"router"})
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 5
REDACTED = "***"

_FORMAT = "%(asctime)s %(levelname)s %(hedge_process)s[%(process)d] %(name)s: %(message)s"
_CHANNEL_PREFIX = re.compile(r"^\[([A-Za-z_>\-]+)\]")
# Other bracketed tags the runbooks grep in a channel's file: `[ORDER_ERR]` lines are executor lines.
_TAG_ALIASES = {"ORDER_ERR": "executor"}
_MIN_SECRET_LEN = 6  # shorter "secrets" (placeholders like "x") would blank out ordinary text


# --------------------------------------------------------------------------------------------------
# Breadcrumbs
# --------------------------------------------------------------------------------------------------

def format_breadcrumb(channel: str, event: str = "", payload: Any = None) -> str:
    """`[channel] EVENT {compact json}`; a str payload is appended as-is; empty parts are left out."""
    if not channel or any(c in channel for c in "[] \n"):
        raise ValueError(f"invalid breadcrumb channel {channel!r}")
    parts = [f"[{channel}]"]
    if event:
        parts.append(event)
    if payload is not None:
        if isinstance(payload, str):
            parts.append(payload)
        else:
            # allow_nan: a log line must never crash the caller; JSON files are strict, logs are not
            parts.append(json.dumps(payload, default=_loose_default, separators=(",", ":"), ensure_ascii=False))
    return " ".join(parts)


def _loose_default(obj: Any) -> Any:
    try:
        return json_default(obj)
    except ValueError:
        return str(obj)


def breadcrumb(
    channel: str,
    event: str = "",
    payload: Any = None,
    *,
    level: int = logging.INFO,
    logger: logging.Logger | None = None,
) -> str:
    """Log a breadcrumb line on logger `hedge.<channel>` (routed to the channel's file); returns it."""
    line = format_breadcrumb(channel, event, payload)
    (logger or logging.getLogger(f"hedge.{channel}")).log(level, line, extra={"channel": channel})
    return line


def channel_of(record: logging.LogRecord) -> str | None:
    """The breadcrumb channel: explicit `channel` extra, else a leading `[tag]`, else `hedge.<tag>` logger."""
    channel = getattr(record, "channel", None)
    if channel:
        return channel
    if isinstance(record.msg, str):
        match = _CHANNEL_PREFIX.match(record.msg)
        if match:
            tag = match.group(1)
            if tag in CHANNELS:
                return tag
            if tag in _TAG_ALIASES:
                return _TAG_ALIASES[tag]
    if record.name.startswith("hedge."):
        tail = record.name[len("hedge."):]
        if tail in CHANNELS:
            return tail
    return None


# --------------------------------------------------------------------------------------------------
# Redaction
# --------------------------------------------------------------------------------------------------

_SECRET_PATTERNS = (
    # signed Binance query strings / bodies
    re.compile(r"(signature=)[^&\s\"',}]+", re.IGNORECASE),
    # header or field names that carry credentials, in k=v, k: v and JSON "k": "v" forms
    re.compile(
        r"((?:x-mbx-apikey|api[_-]?key|api[_-]?secret|secret[_-]?key|secret|token|password|passwd)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\"'\s,&}]+",
        re.IGNORECASE,
    ),
    # Telegram bot tokens (123456789:AA...) wherever they appear, e.g. in a Bot API URL
    re.compile(r"()\b\d{6,}:[A-Za-z0-9_-]{30,}"),
)


class RedactingFilter(logging.Filter):
    """Rewrites every record so known secret values and credential-looking fields never reach a handler.

    The one redaction filter of Hedge: attached to each of our handlers (handler filters also see records
    propagated from any logger) and, by `install_library_redaction`, to the loggers of the libraries that
    log requests (urllib3's request lines carry `signature=`, python-binance's verbose mode the API key).
    Known secrets are replaced longest first, values shorter than 6 characters are ignored (they would
    blank out ordinary text), and exception text and stack traces are cleaned as well as the message.
    """

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self._secrets: list[str] = []
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        values = set(self._secrets)
        values.update(s for s in secrets if s and len(s) >= _MIN_SECRET_LEN)
        self._secrets = sorted(values, key=len, reverse=True)  # longest first: no partial leftovers

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_hedge_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format: still log something, redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._hedge_redacted = True
        return True


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------

class SharedRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler that several processes can share.

    Plain RotatingFileHandler in N processes: each rotates on its own and renames files under the
    others. Here the rotation happens under an flock, and a process whose file was rotated by another
    one simply reopens the path instead of rotating again.
    """

    def __init__(self, filename: str | os.PathLike[str], max_bytes: int, backup_count: int):
        super().__init__(filename, mode="a", maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8")
        self._lock_path = f"{self.baseFilename}.lock"

    def _reopen_if_moved(self) -> None:
        if self.stream is None:
            self.stream = self._open()
            return
        try:
            on_disk = os.stat(self.baseFilename)
            ours = os.fstat(self.stream.fileno())
            moved = (on_disk.st_ino, on_disk.st_dev) != (ours.st_ino, ours.st_dev)
        except FileNotFoundError:
            moved = True
        if moved:
            self.stream.close()
            self.stream = self._open()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._reopen_if_moved()
            if self.shouldRollover(record):
                if fcntl is None:
                    self.doRollover()
                else:
                    with open(self._lock_path, "a") as lock:
                        fcntl.flock(lock, fcntl.LOCK_EX)
                        self._reopen_if_moved()  # another process may have rotated while we waited
                        if self.shouldRollover(record):
                            self.doRollover()
            logging.FileHandler.emit(self, record)
        except Exception:
            self.handleError(record)


class _ProcessNameFilter(logging.Filter):
    def __init__(self, process_name: str):
        super().__init__()
        self.process_name = process_name

    def filter(self, record: logging.LogRecord) -> bool:
        record.hedge_process = self.process_name
        return True


class ChannelFilter(logging.Filter):
    """Passes records whose channel is in `channels`, or every record when this process owns the file."""

    def __init__(self, channels: frozenset[str], owner: bool):
        super().__init__()
        self.channels, self.owner = channels, owner

    def filter(self, record: logging.LogRecord) -> bool:
        return self.owner or channel_of(record) in self.channels


class _UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"


# --------------------------------------------------------------------------------------------------
# Set-up
# --------------------------------------------------------------------------------------------------

_installed: list[logging.Handler] = []
_config_key: tuple | None = None
# One instance per process: handlers and library loggers share it, so a secret added anywhere is masked everywhere.
_redactor = RedactingFilter()
# Loggers that write records of their own with request lines or headers in them (filters on a logger see only
# records logged on that logger, so each is named; our handlers clean everything that propagates as well).
LIBRARY_LOGGERS = ("urllib3.connectionpool", "binance.base_client", "binance.client", "requests",
                   "hedge.exutil", "hedge.executor")


def _settings_secrets(settings: Any) -> list[str]:
    out = []
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "TELEGRAM_BOT_TOKEN"):
        value = getattr(settings, name, None)
        if value is not None and hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if value:
            out.append(str(value))
    return out


def setup_logging(
    process_name: str,
    log_dir: str | os.PathLike[str] | None = None,
    level: int | str | None = None,
    *,
    settings: Any = None,
    secrets: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    backup_count: int = DEFAULT_BACKUPS,
    stderr: bool = True,
) -> None:
    """Install the handlers once per process. Calling again with the same arguments is a no-op; with
    different ones (tests, a changed log dir) our previous handlers are replaced, never duplicated.

    log_dir/level default to settings.LOG_DIR/LOG_LEVEL (settings are loaded with load_env() when not
    given); the API key/secret and bot token from settings are always redacted.
    """
    global _config_key
    if settings is None and (log_dir is None or level is None):
        from settings.env import load_env  # deferred: importing this module must not read .env

        settings = load_env()
    log_dir = Path(log_dir if log_dir is not None else settings.LOG_DIR)
    level = level if level is not None else settings.LOG_LEVEL
    level_no = logging.getLevelName(level.upper()) if isinstance(level, str) else int(level)
    if not isinstance(level_no, int):
        raise ValueError(f"unknown log level {level!r}")
    all_secrets = tuple(sorted({*secrets, *_settings_secrets(settings)}))

    key = (process_name, str(log_dir.resolve()), level_no, all_secrets, max_bytes, backup_count, stderr)
    if key == _config_key and _installed:
        return
    reset_logging()

    log_dir.mkdir(parents=True, exist_ok=True)
    _redactor.add_secrets(all_secrets)
    naming = _ProcessNameFilter(process_name)
    formatter = _UTCFormatter(_FORMAT)
    routes = [
        ("system.log", None),
        ("executor.log", ChannelFilter(EXECUTOR_CHANNELS, owner=process_name == "executor")),
        ("router.log", ChannelFilter(ROUTER_CHANNELS, owner=process_name == "router")),
    ]
    handlers: list[logging.Handler] = []
    for file_name, route in routes:
        file_handler = SharedRotatingFileHandler(log_dir / file_name, max_bytes, backup_count)
        if route is not None:
            file_handler.addFilter(route)
        handlers.append(file_handler)
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for handler in handlers:
        handler.addFilter(naming)
        handler.addFilter(_redactor)  # last: routing looks at the raw record first
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level_no)
    _installed[:] = handlers
    _config_key = key


def add_secrets(*values: str) -> None:
    """Redact more values from now on (e.g. a token fetched after set-up)."""
    _redactor.add_secrets(values)


def install_library_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Attach (once) the process's redacting filter to LIBRARY_LOGGERS and remember `secrets`.

    For records that never reach our handlers (a process that did not call setup_logging, a library
    handler of its own). Idempotent; returns the filter."""
    _redactor.add_secrets(secrets)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _redactor not in logger.filters:
            logger.addFilter(_redactor)
    return _redactor


def reset_logging() -> None:
    """Remove and close the handlers setup_logging() installed (other handlers are left alone)."""
    global _config_key
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    _config_key = None


def redact(text: str) -> str:
    """Redact with the process's filter (the patterns, and every secret known so far)."""
    return _redactor.redact(text)


def log_files(log_dir: str | os.PathLike[str]) -> Mapping[str, Path]:
    base = Path(log_dir)
    return {name: base / name for name in ("system.log", "executor.log", "router.log")}
