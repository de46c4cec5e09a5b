"""The one typed config layer: every `config/*` file and `.env`, validated at start."""
from settings.errors import ConfigError
from settings.loader import CONFIG_FILES, HedgeConfig, load_config, load_or_exit

__all__ = ["CONFIG_FILES", "ConfigError", "HedgeConfig", "load_config", "load_or_exit"]
