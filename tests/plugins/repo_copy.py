"""`repo_copy`: the tracked and new files of the repo (not .venv, logs, var or .env) in a tmp dir, sharing the
venv — for tests that run the README's commands (run_local.sh, hedgectl) without touching the checkout."""
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def copy_repo(dst: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()
    for rel in files:
        src = REPO / rel
        if src.is_file():
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel)
    (dst / ".venv").symlink_to(REPO / ".venv")
    return dst


@pytest.fixture
def repo_copy(tmp_path):
    return copy_repo(tmp_path / "hedge")
