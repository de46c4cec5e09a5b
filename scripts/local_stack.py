#!/usr/bin/env python3
"""Prepare the local stack for scripts/run_local.sh (docs/Runbook.md §1): checks, credentials, configs.

    .venv/bin/python scripts/local_stack.py prepare [--mainnet] [--http-port N] [--dashboard-port N]
    .venv/bin/python scripts/local_stack.py info      # the URL, the credentials file and the control command

`prepare` refuses (exit 3, one message saying which and what to do) when a stack from this checkout is
already running or a port it needs is taken; otherwise it writes, all under var/ (gitignored):
  var/supervisor/supervisord.conf   deploy/supervisor/hedge-local.conf with the socket, ports and absolute
                                    paths filled in, and only the programs whose code exists today
  var/nginx/nginx.conf, htpasswd    deploy/nginx/hedge-dashboard.conf on a loopback port
  var/local-dashboard.credentials   user + generated password (chmod 600; made once, kept across runs)
  var/supervisor/stack.json         what the stack is (mode, ports, URL) for hedgectl and local_status
No root configuration is touched; nothing listens beyond 127.0.0.1.
"""
from __future__ import annotations

import argparse
import base64
import errno
import getpass
import hashlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from settings.env import load_env
from settings.errors import ConfigError

TEMPLATE = ROOT / "deploy" / "supervisor" / "hedge-local.conf"
SITE = ROOT / "deploy" / "nginx" / "hedge-dashboard.conf"
VAR = ROOT / "var"
CONF = VAR / "supervisor" / "supervisord.conf"
STACK = VAR / "supervisor" / "stack.json"
CREDENTIALS = VAR / "local-dashboard.credentials"
NGINX_DIR = VAR / "nginx"
USER = "hedge"
BUSY = 3  # exit code: refused before anything started

# program -> the python module it runs (None: always available)
MODULES = {"hedge-venue": "venue", "hedge-executor": "execution.executor", "hedge-sync_state": "execution.sync_state",
           "hedge-dashboard": "streamlit", "hedge-nginx": None}


def say(msg: str) -> None:
    print(f"[run] {msg}", flush=True)


def socket_path() -> str:
    """One short socket per checkout: unix socket paths are limited to 107 bytes."""
    digest = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return os.path.join(os.environ.get("TMPDIR", "/tmp"), f"hedge-supervisor-{digest}.sock")


# ---------------------------------------------------------------------------------------------- checks
def running_supervisord() -> int | None:
    """pid of this checkout's supervisord when it is alive and answering on its socket, else None."""
    pidfile = VAR / "supervisor" / "supervisord.pid"
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        pid = None
    sock = socket_path()
    if os.path.exists(sock):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            if s.connect_ex(sock) == 0:
                return pid or -1
    return pid


def port_owner(port: int) -> str:
    """Who listens on port (best effort, from `ss`); empty when unknown."""
    if not shutil.which("ss"):
        return ""
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout.strip()
    m = re.search(r'users:\(\("([^"]+)",pid=(\d+)', out)
    return f"{m.group(1)} (pid {m.group(2)})" if m else ""


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


# ---------------------------------------------------------------------------------------------- rendering
def available(program: str) -> tuple[bool, str]:
    if program == "hedge-nginx":
        return (True, "") if shutil.which("nginx") or Path("/usr/sbin/nginx").exists() else \
            (False, "nginx is not installed (sudo bash scripts/install_system_packages.sh)")
    module = MODULES[program]
    if module and importlib.util.find_spec(module) is None:
        return False, f"module {module} does not exist yet"
    return True, ""


def split_sections(text: str) -> list[tuple[str, str]]:
    """[(section name or '', text)] in order, comments kept with the section that follows them."""
    parts: list[tuple[str, str]] = []
    pending: list[str] = []
    name, body = "", []
    for line in text.splitlines(keepends=True):
        m = re.match(r"^\[([^\]]+)\]", line)
        if m:
            parts.append((name, "".join(body)))
            name, body = m.group(1), pending + [line]
            pending = []
        elif line.startswith(";") or not line.strip():
            pending.append(line)
        else:
            body += pending + [line]
            pending = []
    parts.append((name, "".join(body + pending)))
    return parts


def render_supervisor(values: dict[str, str], programs: list[str]) -> str:
    out = []
    for name, body in split_sections(TEMPLATE.read_text()):
        if name.startswith("program:") and name.split(":", 1)[1] not in programs:
            continue
        out.append(body)
    text = "".join(out).replace("%(here)s/../..", str(ROOT))
    for key, value in values.items():
        text = text.replace(f"%(ENV_{key})s", value)
    left = re.findall(r"%\(ENV_\w+\)s", text)
    if left:
        raise SystemExit(f"[run] internal error: unfilled {left} in {TEMPLATE}")
    header = (f"; GENERATED by scripts/local_stack.py from {TEMPLATE.relative_to(ROOT)}"
              " — edit that file, not this one.\n"
              f"; Control: scripts/hedgectl status   (= .venv/bin/supervisorctl -c {CONF} status)\n")
    return header + text


def render_nginx(http_port: int, streamlit_port: int, htpasswd: Path, nginx_dir: Path = NGINX_DIR) -> str:
    """A whole nginx.conf serving deploy/nginx/hedge-dashboard.conf on 127.0.0.1:http_port, files under nginx_dir."""
    site = SITE.read_text()
    replacements = [
        (r"^\s*listen 80;\s*# local: listen$", f"    listen 127.0.0.1:{http_port};"),
        (r"^\s*server 127\.0\.0\.1:8501;\s*# local: upstream$", f"    server 127.0.0.1:{streamlit_port};"),
        (r"^\s*auth_basic_user_file .*# local: htpasswd$", f"    auth_basic_user_file {htpasswd};"),
    ]
    for pattern, repl in replacements:
        site, n = re.subn(pattern, repl, site, flags=re.M)
        if n != 1:
            raise SystemExit(f"[run] internal error: {SITE} lost its `local:` line for {pattern!r}")
    tmp = nginx_dir / "tmp"
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""  # root master: keep workers able to read var/
    return (f"# GENERATED by scripts/local_stack.py from {SITE.relative_to(ROOT)}\n{user}"
            f"worker_processes 1;\npid {nginx_dir / 'nginx.pid'};\nerror_log {nginx_dir / 'error.log'} warn;\n"
            "events { worker_connections 256; }\nhttp {\n"
            f"    access_log {nginx_dir / 'access.log'};\n"
            + "".join(f"    {k}_temp_path {tmp / k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + "    types { text/html html; }\n    default_type application/octet-stream;\n"
            + "".join("    " + line + "\n" if line.strip() else "\n" for line in site.splitlines()) + "}\n")


def ssha(password: str) -> str:
    """nginx's {SSHA} scheme (salted SHA-1) — no extra tool needed for the local, loopback-only password."""
    salt = secrets.token_bytes(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def credentials() -> tuple[str, str]:
    if CREDENTIALS.exists():
        vals = dict(line.split("=", 1) for line in CREDENTIALS.read_text().splitlines() if "=" in line)
        if vals.get("user") and vals.get("password"):
            return vals["user"], vals["password"]
    password = secrets.token_urlsafe(18)
    CREDENTIALS.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(CREDENTIALS, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"# local dashboard login (generated; delete this file to get a new password)\n"
                 f"user={USER}\npassword={password}\n")
    return USER, password


# ---------------------------------------------------------------------------------------------- commands
def prepare(args: argparse.Namespace) -> int:
    try:
        settings = load_env(ROOT / ".env")
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    mode = "mainnet-dry-run" if args.mainnet else "local"
    if args.mainnet and not (settings.is_production and settings.DRY_RUN):
        print(f"[run] refused: --mainnet needs ENV=mainnet (or prod) and DRY_RUN=1 in .env (found ENV={settings.ENV}, "
              f"DRY_RUN={int(settings.DRY_RUN)}). Start from deploy/env/mainnet-dry-run.env: cp "
              "deploy/env/mainnet-dry-run.env .env && chmod 600 .env, add the API key, then run again.",
              file=sys.stderr)
        return 1
    if not args.mainnet and settings.is_production:
        print(f"[run] refused: .env has ENV={settings.ENV}; the local stack is ENV=dev against the local venue. "
              "For mainnet + DRY_RUN run: bash scripts/run_local.sh --mainnet", file=sys.stderr)
        return 1
    pid = running_supervisord()
    if pid:
        print(f"[run] refused: a Hedge stack from this checkout is already running (supervisord pid {pid}). "
              "See it with `scripts/hedgectl status`; stop it with `scripts/hedgectl shutdown`, then run again.",
              file=sys.stderr)
        return BUSY
    programs, ports = [], {}
    for program in MODULES:
        if program == "hedge-venue" and args.mainnet:
            continue
        ok, why = available(program)
        if ok:
            programs.append(program)
        else:
            say(f"skipping {program}: {why} (it starts here once it exists)")
    venue_port = urlsplit(settings.BINANCE_BASE_URL).port or 80
    if "hedge-venue" in programs:
        ports[venue_port] = "hedge-venue (from BINANCE_BASE_URL in .env)"
    if "hedge-dashboard" in programs:
        ports[args.dashboard_port] = "hedge-dashboard (Streamlit; --dashboard-port N)"
    if "hedge-nginx" in programs:
        ports[args.http_port] = "hedge-nginx (the dashboard URL; --http-port N)"
    if len(ports) < sum(p in programs for p in ("hedge-venue", "hedge-dashboard", "hedge-nginx")):
        print("[run] refused: two programs were given the same port; pick distinct ports", file=sys.stderr)
        return BUSY
    busy = [(p, who) for p, who in ports.items() if port_busy(p)]
    if busy:
        for p, who in busy:
            owner = port_owner(p)
            print(f"[run] refused: port {p} for {who} is already in use"
                  f"{' by ' + owner if owner else ''}. Stop that process, or choose another port.", file=sys.stderr)
        return BUSY
    for d in ("supervisor", "nginx/tmp"):
        (VAR / d).mkdir(parents=True, exist_ok=True)
    (ROOT / "logs" / "state").mkdir(parents=True, exist_ok=True)
    url = ""
    if "hedge-nginx" in programs:
        user, password = credentials()
        htpasswd = NGINX_DIR / "htpasswd"
        htpasswd.write_text(f"{user}:{ssha(password)}\n")
        os.chmod(htpasswd, 0o600)
        (NGINX_DIR / "nginx.conf").write_text(render_nginx(args.http_port, args.dashboard_port, htpasswd))
        url = f"http://127.0.0.1:{args.http_port}/"
    elif "hedge-dashboard" in programs:
        url = f"http://127.0.0.1:{args.dashboard_port}/"
        say("WARNING: no nginx, so no Basic Auth: the dashboard is on loopback only")
    values = {"HEDGE_SUPERVISOR_SOCK": socket_path(), "HEDGE_VENUE_PORT": str(venue_port),
              "HEDGE_STREAMLIT_PORT": str(args.dashboard_port),
              "HEDGE_NGINX": shutil.which("nginx") or "/usr/sbin/nginx"}
    CONF.write_text(render_supervisor(values, programs))
    STACK.write_text(json.dumps({"mode": mode, "env": settings.ENV, "programs": programs, "url": url,
                                 "credentials": str(CREDENTIALS) if "hedge-nginx" in programs else "",
                                 "http_port": args.http_port, "dashboard_port": args.dashboard_port,
                                 "venue_port": venue_port if "hedge-venue" in programs else None,
                                 "conf": str(CONF)}, indent=2))
    say(f"{mode} stack prepared: {', '.join(programs)}")
    return 0


def info(_: argparse.Namespace) -> int:
    try:
        stack = json.loads(STACK.read_text())
    except (OSError, ValueError):
        print("[run] no local stack prepared here: bash scripts/run_local.sh", file=sys.stderr)
        return 1
    if stack["url"]:
        creds = f" — login in {stack['credentials']}" if stack["credentials"] else ""
        say(f"dashboard: {stack['url']}{creds}")
    say("control:   scripts/hedgectl status | stop NAME | start NAME | restart NAME | tail NAME | shutdown")
    say("health:    .venv/bin/python scripts/local_status.py")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--mainnet", action="store_true", help="mainnet + DRY_RUN: the same stack without the venue")
    p.add_argument("--http-port", type=int, default=8080, help="loopback port of the dashboard URL (nginx)")
    p.add_argument("--dashboard-port", type=int, default=8501, help="loopback port of Streamlit itself")
    p.set_defaults(func=prepare)
    sub.add_parser("info").set_defaults(func=info)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
