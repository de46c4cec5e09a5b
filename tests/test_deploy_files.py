"""The deploy files as the server will read them: supervisor programs, the NGINX site (checked by `nginx -t`),
the heartbeat's cron line, and the operator docs' commands (never a bare `python`)."""
from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.plugins.dashboard_server import _local_stack, free_port, nginx_path

REPO = Path(__file__).resolve().parents[1]
PROD = REPO / "deploy" / "supervisor" / "hedge.conf"
LOCAL = REPO / "deploy" / "supervisor" / "hedge-local.conf"
SITE = REPO / "deploy" / "nginx" / "hedge-dashboard.conf"
CRON = REPO / "deploy" / "cron" / "hedge-heartbeat"
DOCS = ["README.md", "docs/Runbook.md", "docs/Investors_Access.md", "docs/Mainnet_Cutover_Checklist.md",
        "docs/Telemetry_Format.md", "dashboard/README.md", "telegram/README.md", "deploy/nginx/README.md"]


def _conf(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=True)
    parser.read(path)
    return parser


def test_production_programs_and_the_executor_preflight_gate():
    conf = _conf(PROD)
    programs = {s.split(":", 1)[1] for s in conf.sections() if s.startswith("program:")}
    assert programs == {"hedge-executor", "hedge-sync_state", "hedge-dashboard"}
    assert not [s for s in conf.sections() if s.startswith("group:")]  # `supervisorctl restart hedge-executor` as written
    cmd = conf.get("program:hedge-executor", "command")
    gate = cmd.index("scripts/assert_env_mainnet_dry_run.py --env-file .env")
    assert gate < cmd.index("&& exec /root/hedge-fund/.venv/bin/python -m execution.executor")
    assert conf.get("program:hedge-sync_state", "command") == "/root/hedge-fund/.venv/bin/python -m execution.sync_state"
    assert "--server.address 127.0.0.1 --server.port 8501" in conf.get("program:hedge-dashboard", "command")
    for p in programs:
        assert conf.get(f"program:{p}", "autorestart") == "true"
        assert conf.get(f"program:{p}", "stdout_logfile") == f"/var/log/{p}.out.log"
    assert int(conf.get("program:hedge-executor", "startretries")) >= 1  # a failing preflight ends FATAL


def test_local_template_renders_only_existing_programs(tmp_path):
    ls = _local_stack()
    text = ls.render_supervisor({"HEDGE_SUPERVISOR_SOCK": str(tmp_path / "s.sock"), "HEDGE_VENUE_PORT": "1",
                                 "HEDGE_STREAMLIT_PORT": "2", "HEDGE_NGINX": "/usr/sbin/nginx"},
                                ["hedge-venue", "hedge-dashboard"])
    out = tmp_path / "supervisord.conf"
    out.write_text(text)
    conf = _conf(out)
    assert [s for s in conf.sections() if s.startswith("program:")] == ["program:hedge-venue", "program:hedge-dashboard"]
    assert conf.get("unix_http_server", "file") == str(tmp_path / "s.sock")
    assert conf.get("supervisorctl", "serverurl") == f"unix://{tmp_path / 's.sock'}"
    assert "%(" not in text and str(REPO) in conf.get("supervisord", "directory")
    # the local executor runs behind the same preflight gate as production
    full = _conf(LOCAL)
    assert "assert_env_mainnet_dry_run.py --env-file .env && exec" in full.get("program:hedge-executor", "command")
    assert {s for s in full.sections() if s.startswith("program:")} == {
        f"program:{p}" for p in ("hedge-venue", "hedge-executor", "hedge-sync_state", "hedge-dashboard", "hedge-nginx")}


def test_nginx_site_websocket_auth_and_loopback_upstream():
    site = SITE.read_text()
    ws = site[site.index("location /_stcore/stream"):site.index("location / {")]
    assert "proxy_set_header Upgrade $http_upgrade;" in ws and "Connection $hedge_connection_upgrade" in ws
    assert int(re.search(r"proxy_read_timeout (\d+)s;", ws).group(1)) >= 3600
    assert "proxy_http_version 1.1;" in ws
    server = site[site.index("server {"):]
    assert server.index("auth_basic ") < server.index("location")  # every location is behind Basic Auth
    assert re.search(r"server 127\.0\.0\.1:8501;", site)
    assert site.count("# local:") == 3


@pytest.mark.skipif(nginx_path() is None, reason="nginx not installed (sudo bash scripts/install_system_packages.sh)")
def test_nginx_accepts_the_rendered_site(tmp_path):
    ls = _local_stack()
    (tmp_path / "tmp").mkdir()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"u:{ls.ssha('p')}\n")
    conf = tmp_path / "nginx.conf"
    conf.write_text(ls.render_nginx(free_port(), free_port(), htpasswd, tmp_path))
    proc = subprocess.run([nginx_path(), "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(conf)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "listen 127.0.0.1:" in conf.read_text() and "listen 80" not in conf.read_text()


def test_heartbeat_cron_line():
    lines = [line for line in CRON.read_text().splitlines() if line and not line.startswith(("#", "SHELL"))]
    assert len(lines) == 1
    assert lines[0].startswith("0 */8 * * * root ")
    assert "/root/hedge-fund/.venv/bin/python /root/hedge-fund/telegram/heartbeat.py" in lines[0]
    assert lines[0].endswith(">> /var/log/hedge-telebot.log 2>&1")


_BARE_PYTHON = re.compile(r"(?<![\w/.-])python3?(?= (-m |-c |-|\S+\.py))")


@pytest.mark.parametrize("doc", DOCS)
def test_docs_never_say_a_bare_python(doc):
    text = (REPO / doc).read_text(encoding="utf-8")
    bad = [line for line in text.splitlines() if _BARE_PYTHON.search(line)]
    assert not bad, f"{doc}: use .venv/bin/python (or scripts/hedgectl):\n" + "\n".join(bad)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash missing")
def test_hedgectl_and_run_local_help_are_runnable():
    help_ = subprocess.run(["bash", str(REPO / "scripts" / "run_local.sh"), "--help"], capture_output=True, text=True,
                           timeout=30)
    assert help_.returncode == 0 and "--mainnet" in help_.stdout and "--detach" in help_.stdout
