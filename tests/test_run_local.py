"""The README's run command, end to end: real supervisord, real venue process, real client health check."""
import os
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_run_local_smoke_starts_venue_under_supervisord(repo_copy):
    if not _port_free(18080):
        pytest.skip("port 18080 (the local venue's default) is in use on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "ENV", "DRY_RUN"))}
    http_port, dash_port = free_port(), free_port()
    proc = subprocess.run(
        ["bash", "scripts/run_local.sh", "--smoke", "--http-port", str(http_port), "--dashboard-port", str(dash_port)],
        cwd=repo_copy, env=env,
        capture_output=True, text=True, timeout=170,
    )
    out = proc.stdout + proc.stderr
    if proc.returncode == 3 and "refused: port 18080" in out:
        pytest.skip("another process took port 18080 (the local venue's default) while this test started")
    assert proc.returncode == 0, out
    assert (repo_copy / ".env").exists()  # created from .env.example
    assert "[config] OK" in out
    assert "[preflight] v7.4 dev + DRY_RUN=True testnet=False" in out
    assert "dualSide: True" in out
    assert "hedge-venue" in out and "RUNNING" in out
    for program in ("hedge-venue", "hedge-dashboard", "hedge-nginx"):
        assert any(line.startswith(program) and "RUNNING" in line for line in out.splitlines()), (program, out)
    # the dashboard answered through nginx: 401 without the generated login, 200 with it
    assert f"[status] dashboard http://127.0.0.1:{http_port}/ OK (401 without login, 200 with it" in out
    creds = repo_copy / "var" / "local-dashboard.credentials"
    assert oct(creds.stat().st_mode & 0o777) == "0o600"
    password = dict(l.split("=", 1) for l in creds.read_text().splitlines() if "=" in l)["password"]
    assert password not in out  # the path is printed, never the password
    assert "[exutil] base=http://127.0.0.1:18080 testnet=False" in out
    audit = (repo_copy / "logs" / "system.log").read_text()
    assert "[preflight] v7.4 dev + DRY_RUN=True testnet=False" in audit
    # the smoke run shut supervisord down again: the port is free
    assert _port_free(18080) and _port_free(http_port) and _port_free(dash_port)
    assert "hedge-local-secret" not in out
