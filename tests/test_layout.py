"""The fixed top-level layout (docs/ARCHITECTURE.md), the `telegram` import trap, pinned requirements, and
the .env that must never be committed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

LAYOUT_DIRS = (
    "execution", "dashboard", "telegram", "config", "scripts", "logs", "deploy/supervisor", "deploy/nginx",
    "tests", "docs", "benchmarks",
)
LAYOUT_FILES = ("requirements.txt", ".env.example", "README.md")

# Prints where `import telegram` went and fails unless it is python-telegram-bot.
PROBE = """
import sys, sysconfig, pathlib
import telegram
f = getattr(telegram, "__file__", None)
assert f is not None, f"namespace package, not the library: {list(telegram.__path__)}"
assert hasattr(telegram, "Bot"), f"{f} has no Bot"
print(f)
"""


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR"}
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}


def _is_the_library(file: str | None) -> bool:
    if file is None:
        return False
    path = Path(file).resolve()
    return path.name == "__init__.py" and path.parent.name == "telegram" and path.parent.parent.name in (
        "site-packages", "dist-packages") and path.parent != (REPO_ROOT / "telegram").resolve()


# --------------------------------------------------------------------------- layout
@pytest.mark.parametrize("name", LAYOUT_DIRS)
def test_layout_directory_exists(name):
    assert (REPO_ROOT / name).is_dir(), f"{name}/ is part of the fixed layout (docs/ARCHITECTURE.md)"


@pytest.mark.parametrize("name", LAYOUT_FILES)
def test_layout_file_exists(name):
    path = REPO_ROOT / name
    assert path.is_file() and path.read_text(encoding="utf-8").strip(), f"{name} is missing or empty"


def _git(*args: str) -> subprocess.CompletedProcess | None:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        return None
    return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("name", LAYOUT_DIRS)
def test_layout_directory_survives_a_clone(name):
    """git does not store empty directories: each layout directory needs a file that is (or will be) committed."""
    tracked = _git("ls-files", "--cached", "--others", "--exclude-standard", "--", name)
    if tracked is None:
        pytest.skip("not a git checkout")
    assert tracked.stdout.strip(), (
        f"{name}/ holds no committable file, so a fresh clone (CI, deploy) will not have it: "
        "add its content (or a .gitkeep)"
    )


def test_telegram_dir_is_not_a_package():
    tg = REPO_ROOT / "telegram"
    assert not (tg / "__init__.py").exists(), "telegram/__init__.py would shadow python-telegram-bot"
    assert not (tg / "telegram.py").exists() and not (tg / "telegram").exists(), "would shadow the library from cron"
    readme = (tg / "README.md").read_text(encoding="utf-8")
    assert "__init__.py" in readme and "python-telegram-bot" in readme


# --------------------------------------------------------------------------- import telegram -> python-telegram-bot
def test_import_telegram_from_repo_root():
    """Every process: cwd = repo root, PYTHONPATH = repo root (sys.path[0] = '' is the repo root too)."""
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO_ROOT, capture_output=True, text=True,
                            env=_clean_env(PYTHONPATH=str(REPO_ROOT)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert _is_the_library(result.stdout.strip()), result.stdout


def test_import_telegram_as_the_cron_script_sees_it(tmp_path):
    """cron runs `python telegram/heartbeat.py`: sys.path[0] is the telegram/ directory itself.

    Run a probe script placed in a copy of telegram/ (everything the real directory holds), from the repo root's
    parent layout: cwd = the copy's parent, PYTHONPATH = the repo root.
    """
    copy = tmp_path / "telegram"
    shutil.copytree(REPO_ROOT / "telegram", copy)
    script = copy / "_probe_heartbeat.py"
    script.write_text(PROBE)
    result = subprocess.run([sys.executable, "telegram/_probe_heartbeat.py"], cwd=tmp_path, capture_output=True,
                            text=True, env=_clean_env(PYTHONPATH=str(REPO_ROOT)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert _is_the_library(result.stdout.strip()), result.stdout


def test_import_telegram_with_the_real_telegram_dir_first_on_sys_path():
    """The same with the real directory: cwd = telegram/ and telegram/ inserted first on sys.path."""
    code = f"import sys; sys.path.insert(0, {str(REPO_ROOT / 'telegram')!r})\n" + PROBE
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT / "telegram", capture_output=True, text=True,
                            env=_clean_env(PYTHONPATH=str(REPO_ROOT)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert _is_the_library(result.stdout.strip()), result.stdout


def test_import_telegram_under_pytest():
    """pytest puts the repo root on sys.path (pytest.ini pythonpath = ., rootdir conftest)."""
    assert str(REPO_ROOT) in [str(Path(p).resolve()) for p in sys.path if p]
    import telegram

    assert _is_the_library(getattr(telegram, "__file__", None)), getattr(telegram, "__path__", None)
    assert hasattr(telegram, "Bot")


# --------------------------------------------------------------------------- requirements and secrets
_PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?==[A-Za-z0-9][A-Za-z0-9.+!_-]*(\s*;.+)?$")


def test_requirements_pin_every_line():
    lines = (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    reqs = [(n, line.split(" #", 1)[0].split("\t#", 1)[0].strip()) for n, line in enumerate(lines, 1)]
    reqs = [(n, r) for n, r in reqs if r and not r.startswith("#")]
    assert reqs, "requirements.txt lists nothing"
    unpinned = [f"requirements.txt:{n}: {r}" for n, r in reqs if not _PIN.match(r)]
    assert not unpinned, "pin every requirement with == (exact version):\n" + "\n".join(unpinned)
    names = [re.split(r"[\[=]", r, maxsplit=1)[0].lower().replace("_", "-") for _, r in reqs]
    assert len(names) == len(set(names)), "a package is listed twice"
    assert "python-telegram-bot" in names


def test_gitignore_excludes_dot_env_but_not_the_example():
    patterns = [line.strip() for line in (REPO_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()]
    assert ".env" in patterns or "/.env" in patterns, ".gitignore must list .env (it holds API keys)"
    result = _git("check-ignore", "--no-index", "-q", ".env")
    if result is not None:
        assert result.returncode == 0, "git does not ignore .env"
        example = _git("check-ignore", "--no-index", "-q", ".env.example")
        assert example is not None and example.returncode == 1, ".env.example must be committed, not ignored"
