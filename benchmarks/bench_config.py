"""Speed figures for the config loader and the safety gate (prints only; tests hold no timing assertions).

    .venv/bin/python benchmarks/bench_config.py

How long loading the shipped config takes, and how fast each hostile file of issue 8 is refused (an alias
bomb, a self-referencing alias, 3,000-deep nesting, a 5,000-digit integer, a file over the size limit).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from settings.env import EnvSettings
from settings.errors import ConfigError
from settings.loader import MAX_FILE_BYTES, load_config
from settings.safety_gate import check_environment


def timed(label: str, fn, repeat: int = 5) -> None:
    best = float("inf")
    outcome = ""
    for _ in range(repeat):
        started = time.perf_counter()
        try:
            fn()
            outcome = "ok"
        except ConfigError as exc:
            outcome = "refused: " + str(exc).splitlines()[0].split(": ", 1)[-1][:60]
        best = min(best, time.perf_counter() - started)
    print(f"{label:<44s} {best * 1000:9.2f} ms  {outcome}")


def main() -> None:
    bomb = "a0: &a0 [" + ", ".join(["lol"] * 10) + "]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10))
    hostile = {
        "alias bomb (10 levels x 10 aliases)": bomb,
        "self-referencing alias": "x: &a [*a]\n",
        "YAML nested 3,000 deep": "a: " + "[" * 3000 + "]" * 3000 + "\n",
        "5,000-digit integer": "profile: " + "9" * 5000 + "\n",
        f"file over {MAX_FILE_BYTES // 1024} KiB": "#" * (MAX_FILE_BYTES + 1),
    }
    with tempfile.TemporaryDirectory() as d:
        config = Path(d) / "config"
        shutil.copytree(REPO_ROOT / "config", config)
        timed("load the shipped config (8 files)", lambda: load_config(config))
        for label, text in hostile.items():
            (config / "runtime.yaml").write_text(text)
            timed(f"runtime.yaml: {label}", lambda: load_config(config))
    settings = EnvSettings(_env_file=None, ENV="mainnet", BINANCE_BASE_URL="https://fapi.binance.com")
    timed("safety gate verdict (settings given)", lambda: check_environment(None, settings=settings), repeat=200)


if __name__ == "__main__":
    main()
