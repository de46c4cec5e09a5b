"""The one typed config layer: every `config/*` file and `.env`, validated at start.

`settings.models` (pure value types, what the core imports) does not pull in the loader: the names below are
imported on first use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["CONFIG_FILES", "ConfigError", "HedgeConfig", "load_config", "load_or_exit"]

if TYPE_CHECKING:
    from settings.errors import ConfigError
    from settings.loader import CONFIG_FILES, HedgeConfig, load_config, load_or_exit


def __getattr__(name: str) -> Any:
    if name == "ConfigError":
        from settings.errors import ConfigError

        return ConfigError
    if name in __all__:
        from settings import loader

        return getattr(loader, name)
    raise AttributeError(f"module 'settings' has no attribute {name!r}")
