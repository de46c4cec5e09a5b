"""Shared pytest set-up. Fixtures live in tests/plugins/*.py and are registered here automatically."""
import pathlib

_PLUGIN_DIR = pathlib.Path(__file__).parent / "plugins"
pytest_plugins = sorted(
    f"tests.plugins.{p.stem}" for p in _PLUGIN_DIR.glob("*.py") if p.stem != "__init__"
)
