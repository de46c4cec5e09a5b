"""Build (once) and locate the freqtrade virtualenv the conformance test runs: var/freqtrade-<hash>/ where
<hash> is the sha256 of requirements-freqtrade.txt, so changing the pin builds a fresh one. A file lock keeps
parallel test workers from building it twice; a half-built venv is never used (a marker is written last).

    python -m tests.conformance.freqtrade_env      # build it ahead of the test run (prints the path)
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).with_name("requirements-freqtrade.txt")
BUILD_TIMEOUT_S = 900


def venv_dir() -> Path:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    return REPO_ROOT / "var" / f"freqtrade-{digest}"


def freqtrade_bin(path: Path | None = None) -> Path:
    return (path or venv_dir()) / "bin" / "freqtrade"


def ensure_venv(log=print) -> Path:
    """The venv's directory, building it first if needed. Raises RuntimeError with pip's tail on failure."""
    target = venv_dir()
    marker = target / ".complete"
    if marker.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / (target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.is_file():                     # another worker built it while we waited
            return target
        if target.exists():
            shutil.rmtree(target)                # a build that died half-way
        log(f"[freqtrade_env] building {target} from {REQUIREMENTS.name}")
        venv.EnvBuilder(with_pip=True, clear=True).create(target)
        pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
               "-q", "-r", str(REQUIREMENTS)]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        r = subprocess.run(pip, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=env)
        if r.returncode != 0:
            raise RuntimeError(f"pip install -r {REQUIREMENTS} failed:\n{(r.stdout + r.stderr)[-4000:]}")
        if not freqtrade_bin(target).is_file():
            raise RuntimeError(f"{freqtrade_bin(target)} missing after install")
        marker.write_text(REQUIREMENTS.read_text())
    return target


if __name__ == "__main__":
    print(ensure_venv(log=lambda m: print(m, file=sys.stderr)))
