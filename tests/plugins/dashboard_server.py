"""Serve the dashboard as production does — Streamlit on 127.0.0.1 behind nginx with Basic Auth (the site file
deploy/nginx/hedge-dashboard.conf, rendered by scripts/local_stack.py) — on free ports, over given state files.

    with serve_dashboard(tmp_path, state_root, log_dir) as d:
        d.url, d.user, d.password, d.streamlit_url

Also used by benchmarks/bench_dashboard.py. Headless Chromium for tests: `launch_chromium(playwright)`.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"


def _local_stack():
    path = REPO / "scripts" / "local_stack.py"
    spec = importlib.util.spec_from_file_location("hedge_local_stack", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_path() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def missing_browser_parts() -> str:
    """Why the browser tests cannot run here ('' when they can)."""
    if nginx_path() is None:
        return "nginx not installed (sudo bash scripts/install_system_packages.sh)"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not installed (sudo bash scripts/install_system_packages.sh)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright not installed (pip install -r requirements.txt)"
    return ""


def launch_chromium(playwright):
    """Debian's chromium through Playwright; never a downloaded browser, no background network traffic."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
              "--metrics-recording-only", "--no-pings"])


@dataclass
class Dashboard:
    url: str
    streamlit_url: str
    user: str
    password: str
    log: Path


def _get(url: str, auth: tuple[str, str] | None = None) -> int:
    import base64

    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@contextlib.contextmanager
def serve_dashboard(workdir: Path, state_root: Path, log_dir: Path, startup_s: float = 90, scheme: str = "ssha"):
    """Streamlit behind nginx Basic Auth. `scheme` "bcrypt" writes the password as production does
    (`htpasswd -B`, docs/Runbook.md); "ssha" is the local stack's scheme."""
    ls = _local_stack()
    workdir = Path(workdir)
    nginx_dir = workdir / "nginx"
    (nginx_dir / "tmp").mkdir(parents=True, exist_ok=True)
    http_port, st_port = free_port(), free_port()
    user, password = "investor", "correct-horse-" + os.urandom(4).hex()
    htpasswd = nginx_dir / "htpasswd"
    if scheme == "bcrypt":
        line = subprocess.run(["htpasswd", "-B", "-b", "-n", user, password], capture_output=True, text=True,
                              check=True).stdout.strip()
        htpasswd.write_text(line + "\n")
    else:
        htpasswd.write_text(f"{user}:{ls.ssha(password)}\n")
    (nginx_dir / "nginx.conf").write_text(ls.render_nginx(http_port, st_port, htpasswd, nginx_dir))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINANCE_", "FIRESTORE", "TELEGRAM"))}
    env.update(ENV="dev", DRY_RUN="1", STATE_ROOT=str(state_root), LOG_DIR=str(log_dir), FIRESTORE_PROJECT="",
               PYTHONUNBUFFERED="1")
    log = workdir / "streamlit.log"
    with open(log, "wb") as out:
        st = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "app.py"),
             "--server.address", "127.0.0.1", "--server.port", str(st_port), "--server.headless", "true",
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
             "--client.toolbarMode", "viewer", "--", "--env-file", str(workdir / "none.env")],
            cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    ngx = subprocess.Popen([nginx_path(), "-e", str(nginx_dir / "error.log"), "-p", str(nginx_dir), "-c",
                            str(nginx_dir / "nginx.conf"), "-g", "daemon off;"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{http_port}/"
        deadline = time.monotonic() + startup_s
        while _get(url, (user, password)) != 200:
            if st.poll() is not None or ngx.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not come up: streamlit rc={st.poll()} nginx rc={ngx.poll()}\n"
                                   f"{log.read_text()[-2000:]}\n{(nginx_dir / 'error.log').read_text()[-1000:] if (nginx_dir / 'error.log').exists() else ''}")
            time.sleep(0.25)
        yield Dashboard(url, f"http://127.0.0.1:{st_port}/", user, password, log)
    finally:
        for proc in (ngx, st):
            proc.terminate()
        for proc in (ngx, st):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
