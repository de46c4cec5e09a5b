"""Environment settings: `.env` + process environment, typed and validated once at start.

Every process reads the environment through `load_env()`; nothing else calls `os.environ` for these keys.
Booleans are parsed strictly: `DRY_RUN=tru` is an error, never a silent False.
"""
from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from settings.errors import ConfigError, format_validation_error

MAINNET_FUTURES_URL = "https://fapi.binance.com"
LOCAL_VENUE_URL = "http://127.0.0.1:18080"
# Hosts Binance uses for futures testnet / demo trading. Matching is on the host name only.
TESTNET_HOST_MARKERS = ("testnet", "binancefuture.com", "demo-fapi", "demo.binance")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}

Environment = Literal["dev", "prod", "mainnet"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def parse_bool(value: object) -> bool:
    """1/true/True/yes/on -> True, 0/false/no/off -> False; anything else is an error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected 1/true/yes/on or 0/false/no/off")


def normalize_base_url(url: str) -> str:
    """Lower-case scheme and host, drop a trailing slash; keep the port and path."""
    url = str(url).strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http(s) URL such as {MAINNET_FUTURES_URL}")
    host = parts.hostname.lower()
    scheme = parts.scheme.lower()
    netloc = f"[{host}]" if ":" in host else host
    # An explicit default port (https://fapi.binance.com:443) is the same endpoint: drop it.
    if parts.port and parts.port != _DEFAULT_PORTS[scheme]:
        netloc += f":{parts.port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


def is_testnet_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(marker in host for marker in TESTNET_HOST_MARKERS)


def is_mainnet_url(url: str) -> bool:
    try:
        return normalize_base_url(url) == MAINNET_FUTURES_URL
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        # A real IP check: a DNS name such as 127.evil.example is NOT loopback.
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EnvSettings(BaseSettings):
    """Typed view of `.env` and the process environment (process environment wins)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True, case_sensitive=True
    )

    ENV: Environment = "dev"
    DRY_RUN: bool = True
    BINANCE_TESTNET: bool = False
    BINANCE_BASE_URL: str = LOCAL_VENUE_URL
    BINANCE_API_KEY: SecretStr = SecretStr("hedge-local-key")
    BINANCE_API_SECRET: SecretStr = SecretStr("hedge-local-secret")
    TELEGRAM_BOT_TOKEN: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "FUTURES_TELEGRAM_BOT_TOKEN")
    )
    TELEGRAM_CHAT_ID: str = Field(
        default="", validation_alias=AliasChoices("TELEGRAM_CHAT_ID", "FUTURES_TELEGRAM_CHAT_ID")
    )
    TELEGRAM_API_BASE: str = ""  # empty = the library default; tests point it at a local fake Bot API
    FIRESTORE_PROJECT: str = Field(
        default="", validation_alias=AliasChoices("FIRESTORE_PROJECT", "GOOGLE_CLOUD_PROJECT")
    )
    FIRESTORE_EMULATOR_HOST: str = ""
    RESERVE_BTC: float = Field(default=0.013, ge=0.0, allow_inf_nan=False)
    LOG_LEVEL: LogLevel = "INFO"
    LOG_DIR: Path = Path("logs")
    STATE_ROOT: Path = Path("logs/state")
    CONFIG_DIR: Path = Path("config")

    @field_validator("DRY_RUN", "BINANCE_TESTNET", mode="before")
    @classmethod
    def _strict_bool(cls, value: object) -> bool:
        return parse_bool(value)

    @field_validator("BINANCE_API_KEY", "BINANCE_API_SECRET", "TELEGRAM_BOT_TOKEN", mode="before")
    @classmethod
    def _no_whitespace_in_secrets(cls, value: object) -> object:
        # A quoted value with a stray space or newline (a copy-paste accident) fails later as a baffling
        # signature / 401 error; say so here. The value itself is never echoed (errors.py masks it).
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and any(ch.isspace() for ch in text):
            raise ValueError(
                "contains whitespace (a copy-paste accident?): re-copy the value without spaces or line breaks"
            )
        return value

    @field_validator("ENV", mode="before")
    @classmethod
    def _env_lower(cls, value: object) -> object:
        return str(value).strip().lower() if value is not None else value

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return str(value).strip().upper() if value is not None else value

    @field_validator("BINANCE_BASE_URL", mode="before")
    @classmethod
    def _url(cls, value: object) -> str:
        return normalize_base_url(str(value))

    @property
    def is_production(self) -> bool:
        return self.ENV in ("prod", "mainnet")

    @property
    def testnet(self) -> bool:
        """True when anything points at testnet: the flag or the URL."""
        return self.BINANCE_TESTNET or is_testnet_url(self.BINANCE_BASE_URL)

    def redacted(self) -> dict[str, object]:
        """Settings safe to print or log: secrets show only whether they are set."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = "***set***" if value.get_secret_value() else "<unset>"
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        return out


MAX_ENV_FILE_BYTES = 64 * 1024  # a real .env is a few hundred bytes


def load_env(env_file: str | os.PathLike[str] | None = ".env") -> EnvSettings:
    """Load and validate; a bad value raises ConfigError naming the file, the variable and the reason.

    The file is checked first (size, UTF-8, no NUL bytes: `settings.loader.read_text_file`), so a binary or
    garbled .env gives one line naming it instead of a UnicodeDecodeError from deep inside pydantic-settings."""
    source = f"{env_file} or the process environment" if env_file else "process environment"
    path = Path(env_file) if env_file else None
    if path is not None and path.exists():
        from settings.documents import read_text_file  # deferred: only when there is a file

        if not path.is_file():
            raise ConfigError(f"{env_file}: is not a regular file")
        read_text_file(path, str(env_file), MAX_ENV_FILE_BYTES, allow_empty=True)
        with path.open("rb") as f:
            bom = f.read(3) == b"\xef\xbb\xbf"
        if bom:
            raise ConfigError(f"{env_file}: starts with a byte-order mark, which would become part of the first "
                              "variable's name; save it as UTF-8 without BOM")
    try:
        return EnvSettings(_env_file=path if path is not None and path.exists() else None)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(source, exc)) from None
    except (ValueError, UnicodeError, OSError) as exc:  # whatever python-dotenv trips on: one line, the file named
        raise ConfigError(f"{source}: cannot read: {type(exc).__name__}: {str(exc)[:160]}") from None
