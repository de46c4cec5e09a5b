"""Preflight (runbook 000 §6): settings/preflight.py directly, and scripts/assert_env_mainnet_dry_run.py
as the operator runs it (a subprocess with its own environment)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from settings.env import load_env
from settings.errors import ConfigError
from settings.preflight import ENV_VARIABLES, audit_line, misspelled_name_problems, preflight_problems
from tests.safety_gate_cases import CASES, DEV_LINE, MAINNET, MAINNET_LINE, _with  # the shared table

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "assert_env_mainnet_dry_run.py"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if "TESTNET" in name.upper():
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _run(tmp_path: Path, env_text: str | None, environ: dict[str, str], args: list[str]):
    env_file = tmp_path / "hedge.env"
    if env_text is not None:
        env_file.write_text(env_text)
    log_dir = tmp_path / "logs"
    # a clean environment: nothing from the developer's shell may influence the verdict
    proc_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **environ}
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--env-file", str(env_file), "--log-dir", str(log_dir), *args],
        cwd=tmp_path, env=proc_env, capture_output=True, text=True, timeout=60,
    ), log_dir


@pytest.mark.parametrize("case_id, env_text, environ, args, code, expected", CASES, ids=[c[0] for c in CASES])
def test_script(tmp_path, case_id, env_text, environ, args, code, expected):
    proc, log_dir = _run(tmp_path, env_text, environ, args)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    system_log = (log_dir / "system.log").read_text()
    if code == 0:
        assert proc.stdout.splitlines()[0] == expected
        assert system_log.count(expected) == 1  # the audit marker is in system.log
        assert any(line.endswith(f"hedge.preflight: {expected}") for line in system_log.splitlines())
    else:
        assert proc.stdout == ""
        assert "PREFLIGHT FAILED" in proc.stderr
        assert expected in proc.stderr, proc.stderr
        assert "[preflight] FAILED" in system_log and expected in system_log
        assert "[preflight] v7.4" not in system_log


@pytest.mark.parametrize("case_id, env_text, environ, args, code, expected", CASES, ids=[c[0] for c in CASES])
def test_preflight_problems_directly(tmp_path, monkeypatch, case_id, env_text, environ, args, code, expected):
    (tmp_path / ".env").write_text(env_text)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    try:
        settings = load_env(tmp_path / ".env")
    except ConfigError as exc:
        assert code == 1 and expected in str(exc)
        return
    from dotenv import dotenv_values

    raw = {**dotenv_values(tmp_path / ".env"), **environ}
    problems = preflight_problems(settings, allow_live="--allow-live" in args, raw=raw)
    problems += misspelled_name_problems(list(dotenv_values(tmp_path / ".env")))
    if code == 0:
        assert problems == []
        assert audit_line(settings) == expected
    else:
        assert any(expected in p for p in problems), problems


def test_every_problem_gets_its_own_line(tmp_path):
    text = "ENV=mainnet\nDRY_RUN=0\nBINANCE_TESTNET=1\nBINANCE_BASE_URL=http://fapi.binance.com\n"
    proc, _ = _run(tmp_path, text, {}, [])
    assert proc.returncode == 1
    bullets = [l for l in proc.stderr.splitlines() if l.startswith("  * ")]
    assert len(bullets) == 3, proc.stderr
    assert any("BINANCE_TESTNET=1" in b for b in bullets)
    assert any("DRY_RUN=0" in b for b in bullets)
    assert any("plain http" in b for b in bullets)


def test_unparseable_value_and_testnet_flags_are_all_reported(tmp_path):
    text = _with(MAINNET, DRY_RUN="tru", BINANCE_TESTNET="yes", BINANCE_BASE_URL="https://testnet.binancefuture.com")
    proc, _ = _run(tmp_path, text + "USE_TESTNET=1\n", {}, [])
    assert proc.returncode == 1
    bullets = [l for l in proc.stderr.splitlines() if l.startswith("  * ")]
    assert len(bullets) == 4, proc.stderr
    assert "  * DRY_RUN: expected 1/true/yes/on or 0/false/no/off (got 'tru'); fix this value" in proc.stderr
    assert "BINANCE_TESTNET=yes" in proc.stderr and "USE_TESTNET=1" in proc.stderr
    assert "BINANCE_BASE_URL=https://testnet.binancefuture.com is a TESTNET address" in proc.stderr


def test_missing_env_file_fails_loudly(tmp_path):
    proc, _ = _run(tmp_path, None, {}, [])
    assert proc.returncode == 1
    assert f"no env file at {tmp_path / 'hedge.env'}" in proc.stderr
    assert "cp .env.example .env" in proc.stderr


def test_process_environment_only(tmp_path):
    environ = {"ENV": "mainnet", "DRY_RUN": "1", "BINANCE_BASE_URL": "https://fapi.binance.com"}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--no-env-file", "--log-dir", str(tmp_path / "logs")],
        cwd=tmp_path, env={"PATH": os.environ.get("PATH", ""), **environ}, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == MAINNET_LINE


def test_default_env_file_is_the_one_in_the_repo_root(tmp_path):
    if (REPO_ROOT / ".env").exists():
        pytest.skip("a real .env exists in the repo root; not touching it")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--log-dir", str(tmp_path / "logs")],
        cwd=tmp_path, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1
    assert f"no env file at {REPO_ROOT / '.env'}" in proc.stderr


@pytest.mark.parametrize(
    "env_file, code, expected",
    [
        ("deploy/env/mainnet-dry-run.env", 0, MAINNET_LINE),
        ("deploy/env/testnet.env", 1, "BINANCE_TESTNET=1: testnet is not allowed"),
        (".env.example", 0, DEV_LINE),
    ],
)
def test_shipped_env_files(tmp_path, env_file, code, expected):
    """What CI runs: relative --env-file paths resolve against the repo root."""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--env-file", env_file, "--log-dir", str(tmp_path / "logs")],
        cwd=tmp_path, env={"PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == code, proc.stderr
    assert expected in (proc.stdout if code == 0 else proc.stderr)
    if env_file.endswith("testnet.env"):
        assert "https://testnet.binancefuture.com is a TESTNET address" in proc.stderr


def test_secrets_from_the_env_file_are_not_echoed(tmp_path):
    text = _with(MAINNET, DRY_RUN="0", BINANCE_API_KEY="very-secret-api-key-123", BINANCE_API_SECRET="zzz-secret-999")
    proc, log_dir = _run(tmp_path, text, {}, [])
    assert proc.returncode == 1
    for blob in (proc.stdout, proc.stderr, (log_dir / "system.log").read_text()):
        assert "very-secret-api-key-123" not in blob and "zzz-secret-999" not in blob


def test_audit_line_reports_real_values(monkeypatch, tmp_path):
    monkeypatch.setenv("ENV", "prod")
    monkeypatch.setenv("BINANCE_BASE_URL", "https://fapi.binance.com")
    settings = load_env(None)
    assert audit_line(settings) == MAINNET_LINE
    monkeypatch.setenv("DRY_RUN", "0")
    settings = load_env(None)
    assert audit_line(settings) == "[preflight] v7.4 mainnet + DRY_RUN=False testnet=False"
    assert preflight_problems(settings) and preflight_problems(settings, allow_live=True) == []
