"""The local stack as an operator drives it: `run_local.sh --detach`, `scripts/hedgectl`, real supervisord, real
nginx with Basic Auth in front of real Streamlit, a crashed program restarted, busy ports and a second stack
refused before anything starts, the executor's preflight gate. Free ports only; a copy of the repo."""
from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

needs_nginx = pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                                 reason="nginx not installed (sudo bash scripts/install_system_packages.sh)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


class Stack:
    def __init__(self, root: Path):
        self.root = root
        self.venue_port, self.http_port, self.dash_port = free_port(), free_port(), free_port()
        env_text = (root / ".env.example").read_text().replace(
            "BINANCE_BASE_URL=http://127.0.0.1:18080", f"BINANCE_BASE_URL=http://127.0.0.1:{self.venue_port}")
        (root / ".env").write_text(env_text)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("BINANCE_", "ENV", "DRY_RUN", "STATE_ROOT", "LOG_DIR", "HEDGE_"))}

    def run_local(self, *args: str, timeout: float = 150) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "scripts/run_local.sh", *args, "--http-port", str(self.http_port),
                               "--dashboard-port", str(self.dash_port)], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["scripts/hedgectl", *args], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=60)

    def states(self) -> dict[str, tuple[str, int | None]]:
        out = {}
        for line in self.ctl("status").stdout.splitlines():
            m = re.match(r"^(\S+)\s+(\S+)(?:\s+pid (\d+))?", line)
            if m:
                out[m.group(1)] = (m.group(2), int(m.group(3)) if m.group(3) else None)
        return out

    def wait_state(self, program: str, state: str, timeout: float = 40, not_pid: int | None = None) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st, pid = self.states().get(program, ("?", None))
            if st == state and (not_pid is None or pid != not_pid):
                return pid
            time.sleep(0.25)
        raise AssertionError(f"{program} never {state}: {self.ctl('status').stdout}")

    def credentials(self) -> tuple[str, str]:
        vals = dict(line.split("=", 1) for line in (self.root / "var" / "local-dashboard.credentials")
                    .read_text().splitlines() if "=" in line)
        return vals["user"], vals["password"]

    def get(self, auth: tuple[str, str] | None) -> tuple[int, str]:
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}/")
        if auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(req, timeout=5) as resp:
                return resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, ""


@pytest.fixture
def stack(repo_copy):
    s = Stack(repo_copy)
    yield s
    if (repo_copy / "var" / "supervisor" / "supervisord.conf").exists():
        s.ctl("shutdown")


def test_hedgectl_without_a_stack_says_how_to_start_one(stack):
    proc = stack.ctl("status")
    assert proc.returncode == 1
    assert "bash scripts/run_local.sh" in proc.stderr and "HEDGE_SUPERVISOR_SOCK" not in proc.stderr


@pytest.mark.slow
@needs_nginx
@pytest.mark.timeout(300)
def test_detached_stack_status_auth_crash_restart_and_stop(stack):
    # the whole system: venue, executor (behind the preflight gate), sync_state, dashboard, nginx
    proc = stack.run_local("--detach")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "skipping" not in out
    assert f"dashboard: http://127.0.0.1:{stack.http_port}/ — login in {stack.root}/var/local-dashboard.credentials" in out
    user, password = stack.credentials()
    assert password not in out
    for program in ("hedge-venue", "hedge-executor", "hedge-sync_state", "hedge-dashboard", "hedge-nginx"):
        stack.wait_state(program, "RUNNING")
    assert "[preflight] v7.4 dev + DRY_RUN=True" in (stack.root / "logs" / "hedge-executor.out.log").read_text()

    # plain supervisorctl with the generated config works without exporting anything
    plain = subprocess.run([".venv/bin/supervisorctl", "-c", "var/supervisor/supervisord.conf", "status"],
                           cwd=stack.root, env=stack.env, capture_output=True, text=True, timeout=30)
    assert "hedge-nginx" in plain.stdout and "RUNNING" in plain.stdout, plain.stdout + plain.stderr

    # Basic Auth in front of Streamlit; Streamlit itself only on loopback
    deadline = time.monotonic() + 60
    while stack.get((user, password))[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    code, body = stack.get((user, password))
    assert code == 200 and "<title>" in body.lower()
    assert stack.get(None)[0] == 401
    assert stack.get((user, password + "x"))[0] == 401
    listeners = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout if shutil.which("ss") else ""
    for port in (stack.http_port, stack.dash_port, stack.venue_port):
        for line in listeners.splitlines():
            if line.split()[3].endswith(f":{port}"):
                assert line.split()[3].startswith(("127.0.0.1:", "[::1]:")), line

    # a second stack is refused before anything starts
    again = stack.run_local("--detach")
    assert again.returncode == 3
    assert "already running" in again.stderr and "scripts/hedgectl shutdown" in again.stderr

    # a crashed program is restarted by supervisord
    _, pid = stack.states()["hedge-dashboard"]
    os.kill(pid, signal.SIGKILL)
    new_pid = stack.wait_state("hedge-dashboard", "RUNNING", not_pid=pid)
    assert new_pid and new_pid != pid

    # stop / start / restart / tail as supervisorctl gives them
    assert stack.ctl("stop", "hedge-venue").returncode == 0
    stack.wait_state("hedge-venue", "STOPPED")
    assert stack.ctl("start", "hedge-venue").returncode == 0
    stack.wait_state("hedge-venue", "RUNNING")
    _, nginx_pid = stack.states()["hedge-nginx"]
    assert stack.ctl("restart", "hedge-nginx").returncode == 0
    stack.wait_state("hedge-nginx", "RUNNING", not_pid=nginx_pid)
    assert "[executor] START profile=dev" in stack.ctl("tail", "hedge-executor").stdout
    usage = stack.ctl("tail")
    assert usage.returncode == 2 and "hedge-venue" in usage.stderr and "hedge-nginx" in usage.stderr

    # the preflight gate: a testnet flag in .env and the executor does not start again
    env_file = stack.root / ".env"
    env_file.write_text(env_file.read_text().replace("BINANCE_TESTNET=0", "BINANCE_TESTNET=1"))
    stack.ctl("restart", "hedge-executor")
    stack.wait_state("hedge-executor", "FATAL", timeout=60)
    assert "PREFLIGHT FAILED" in (stack.root / "logs" / "hedge-executor.out.log").read_text()

    assert stack.ctl("shutdown").returncode == 0
    deadline = time.monotonic() + 30
    while not all(map(port_free, (stack.http_port, stack.dash_port, stack.venue_port))):
        assert time.monotonic() < deadline, "ports still taken after shutdown"
        time.sleep(0.25)
    after = stack.ctl("status")
    assert after.returncode == 1 and "not running" in after.stderr


@pytest.mark.slow
@pytest.mark.parametrize("which", ["http", "venue"])
def test_busy_port_refused_before_anything_starts(stack, which):
    port = stack.http_port if which == "http" else stack.venue_port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        proc = stack.run_local("--detach")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    name = "hedge-nginx" if which == "http" else "hedge-venue"
    assert f"refused: port {port} for {name}" in proc.stderr
    assert not (stack.root / "var" / "supervisor" / "supervisord.pid").exists()
    assert not (stack.root / "var" / "supervisor" / "supervisord.conf").exists()


@pytest.mark.slow
@pytest.mark.parametrize("env_change, message", [
    ({}, "--mainnet needs ENV=mainnet (or prod) and DRY_RUN=1"),
    ({"ENV=dev": "ENV=mainnet", "DRY_RUN=1": "DRY_RUN=0",
      "BINANCE_BASE_URL=http://127.0.0.1:": "BINANCE_BASE_URL=https://fapi.binance.com\n#"}, "REFUSED by the preflight / safety gate"),
])
def test_mainnet_stack_refused_unless_the_preflight_passes(stack, env_change, message):
    env_file = stack.root / ".env"
    text = env_file.read_text()
    for old, new in env_change.items():
        text = text.replace(old, new)
    env_file.write_text(text)
    proc = stack.run_local("--mainnet", "--detach")
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (stack.root / "var" / "supervisor" / "supervisord.pid").exists()
