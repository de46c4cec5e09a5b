"""The README's run command, end to end: real supervisord, real venue process, real client health check."""
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def repo_copy(tmp_path):
    """The tracked and new files of the repo (not .venv, logs or .env) in a tmp dir, sharing the venv."""
    dst = tmp_path / "hedge"
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


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_run_local_smoke_starts_venue_under_supervisord(repo_copy):
    if not _port_free(18080):
        pytest.skip("port 18080 (the local venue's default) is in use on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "ENV", "DRY_RUN"))}
    proc = subprocess.run(
        ["bash", "scripts/run_local.sh", "--smoke"], cwd=repo_copy, env=env,
        capture_output=True, text=True, timeout=170,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert (repo_copy / ".env").exists()  # created from .env.example
    assert "[config] OK" in out
    assert "[preflight] v7.4 dev + DRY_RUN=True testnet=False" in out
    assert "dualSide: True" in out
    assert "hedge-venue" in out and "RUNNING" in out
    assert "[exutil] base=http://127.0.0.1:18080 testnet=False" in out
    audit = (repo_copy / "logs" / "system.log").read_text()
    assert "[preflight] v7.4 dev + DRY_RUN=True testnet=False" in audit
    # the smoke run shut supervisord down again: the port is free
    assert _port_free(18080)
    assert "hedge-local-secret" not in out
