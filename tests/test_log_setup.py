"""execution/log_setup.py: files, breadcrumb routing, rotation, idempotent set-up, secret redaction."""
from __future__ import annotations

import logging
import multiprocessing
import re
from decimal import Decimal
from pathlib import Path

import pytest

from execution import log_setup as ls
from settings.env import load_env

SPAWN = multiprocessing.get_context("spawn")
ENV_NAMES = ("BINANCE_API_KEY", "BINANCE_API_SECRET", "TELEGRAM_BOT_TOKEN", "FUTURES_TELEGRAM_BOT_TOKEN",
             "LOG_DIR", "LOG_LEVEL")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # a developer's .env must not leak in
    yield
    ls.reset_logging()


def _read(log_dir: Path, name: str) -> str:
    path = log_dir / name
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _flush() -> None:
    for handler in ls._installed:
        handler.flush()


def _our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if h in ls._installed]


def test_setup_creates_the_runbook_files(tmp_path):
    log_dir = tmp_path / "logs"
    ls.setup_logging("executor", log_dir, "INFO", stderr=False)
    assert {p.name for p in log_dir.iterdir() if p.suffix == ".log"} == {"system.log", "executor.log", "router.log"}
    assert set(ls.log_files(log_dir)) == {"system.log", "executor.log", "router.log"}


def test_breadcrumb_format_is_the_runbooks_compact_json():
    assert ls.format_breadcrumb("executor", "INTENT", {"symbol": "BTCUSDT", "qty": Decimal("0.001")}) == (
        '[executor] INTENT {"symbol":"BTCUSDT","qty":"0.001"}'
    )
    assert ls.format_breadcrumb("decision", payload={"veto": []}) == '[decision] {"veto":[]}'
    assert ls.format_breadcrumb("screener", payload="SOLUSDT 15m z=+2.57 rsi=53.3") == (
        "[screener] SOLUSDT 15m z=+2.57 rsi=53.3"
    )
    assert ls.format_breadcrumb("screener->executor", payload={"signal": "BUY"}) == (
        '[screener->executor] {"signal":"BUY"}'
    )
    assert ls.format_breadcrumb("exutil", "base=https://fapi.binance.com testnet=False") == (
        "[exutil] base=https://fapi.binance.com testnet=False"
    )
    # a log line never crashes the caller, even on values a JSON file would refuse
    assert ls.format_breadcrumb("router", "X", {"v": float("nan"), "b": b"x"}) == '[router] X {"v":NaN,"b":"b\'x\'"}'
    for bad in ("", "a b", "[x]"):
        with pytest.raises(ValueError):
            ls.format_breadcrumb(bad)


def test_breadcrumbs_land_in_the_right_files(tmp_path):
    ls.setup_logging("executor", tmp_path, "INFO", stderr=False)
    ls.breadcrumb("screener", payload="SOLUSDT 15m z=+2.57 cross_up=True")
    ls.breadcrumb("decision", payload={"symbol": "SOLUSDT", "veto": []})
    ls.breadcrumb("screener->executor", payload={"symbol": "SOLUSDT", "signal": "BUY"})
    ls.breadcrumb("executor", "INTENT", {"symbol": "SOLUSDT"})
    ls.breadcrumb("exutil", "ENV context testnet=False dry_run=True")
    ls.breadcrumb("router", "ROUTE", {"execution_style": "twap"})
    logging.getLogger("some.module").info("[router] DRY_RUN swallowed order send")  # tagged by hand
    ls.breadcrumb("preflight", "v7.4 mainnet + DRY_RUN=True testnet=False")
    logging.getLogger("execution.exchange").error("[ORDER_ERR] code=-1013 msg=Filter failure: LOT_SIZE")
    logging.getLogger("hedge.router").info("plain line on the router logger")
    logging.getLogger("hedge.router").info("[UNKNOWN_TAG] still a router line")
    _flush()
    system, executor, router = (_read(tmp_path, n) for n in ("system.log", "executor.log", "router.log"))

    for tag in ("[screener]", "[decision]", "[screener->executor]", "[executor] INTENT", "[exutil] ENV context",
                "[router] ROUTE", "[router] DRY_RUN", "[preflight] v7.4"):
        assert tag in system, tag
    for tag in ("[screener]", "[decision]", "[screener->executor]", "[executor] INTENT"):
        assert tag in executor, tag
    # the executor process's own exutil line is in executor.log (runbook 000 §2.2 greps it there)
    assert "[exutil] ENV context testnet=False dry_run=True" in executor
    assert "[router] ROUTE" in router and "[router] DRY_RUN swallowed" in router
    assert "plain line on the router logger" in router and "[UNKNOWN_TAG] still a router line" in router
    assert "[ORDER_ERR] code=-1013" in executor  # runbook 001 greps ORDER_ERR in the executor log
    assert "[preflight]" not in router
    assert "[executor]" not in router and "[screener]" not in router
    assert '[executor] INTENT {"symbol":"SOLUSDT"}' in executor
    line = next(l for l in system.splitlines() if "[executor] INTENT" in l)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO executor\[\d+\] hedge\.executor: \[executor\] INTENT", line)


def test_other_processes_only_route_tagged_lines(tmp_path):
    ls.setup_logging("sync_state", tmp_path, "INFO", stderr=False)
    ls.breadcrumb("sync_state", "NAV", {"nav": 1.0})
    ls.breadcrumb("exutil", "base=http://127.0.0.1:18080 testnet=False")
    logging.getLogger("x").warning("untagged")
    ls.breadcrumb("executor", "SEND_ORDER", {"positionSide": "LONG"})
    _flush()
    executor = _read(tmp_path, "executor.log")
    assert "[executor] SEND_ORDER" in executor
    assert "[sync_state]" not in executor and "[exutil]" not in executor and "untagged" not in executor
    assert "untagged" in _read(tmp_path, "system.log") and _read(tmp_path, "router.log") == ""


def test_level_filters_records(tmp_path):
    ls.setup_logging("executor", tmp_path, "WARNING", stderr=False)
    ls.breadcrumb("executor", "QUIET")
    ls.breadcrumb("executor", "ORDER_ERR", level=logging.ERROR)
    _flush()
    system = _read(tmp_path, "system.log")
    assert "QUIET" not in system and "ERROR executor" in system and "ORDER_ERR" in system


def test_setup_twice_does_not_double_handlers(tmp_path):
    root = logging.getLogger()
    foreign = logging.NullHandler()  # someone else's handler (e.g. pytest's) is left alone
    root.addHandler(foreign)
    try:
        ls.setup_logging("executor", tmp_path, "INFO", stderr=True)
        first = _our_handlers()
        assert len(first) == 4
        ls.setup_logging("executor", tmp_path, "INFO", stderr=True)
        assert _our_handlers() == first
        ls.breadcrumb("executor", "ONCE")
        _flush()
        assert _read(tmp_path, "system.log").count("[executor] ONCE") == 1
        assert _read(tmp_path, "executor.log").count("[executor] ONCE") == 1
        # a different directory replaces our handlers instead of adding more
        ls.setup_logging("executor", tmp_path / "other", "INFO", stderr=True)
        assert len(_our_handlers()) == 4 and not set(_our_handlers()) & set(first)
        assert foreign in root.handlers
    finally:
        root.removeHandler(foreign)


def test_rotation_happens_at_the_size_limit(tmp_path):
    ls.setup_logging("executor", tmp_path, "INFO", stderr=False, max_bytes=4000, backup_count=3)
    for i in range(200):
        ls.breadcrumb("executor", "TICK", {"i": i, "pad": "x" * 60})
    _flush()
    names = sorted(p.name for p in tmp_path.glob("system.log*") if not p.name.endswith(".lock"))
    assert names == ["system.log", "system.log.1", "system.log.2", "system.log.3"]  # backups capped at 3
    for name in names:
        assert (tmp_path / name).stat().st_size <= 4000
    assert '"i":199' in _read(tmp_path, "system.log")
    assert (tmp_path / "executor.log.1").exists() and not (tmp_path / "router.log.1").exists()


def test_a_file_rotated_by_another_process_is_reopened_not_written_behind(tmp_path):
    ls.setup_logging("sync_state", tmp_path, "INFO", stderr=False)
    ls.breadcrumb("sync_state", "BEFORE")
    _flush()
    (tmp_path / "system.log").rename(tmp_path / "system.log.1")  # what another process's rotation does
    ls.breadcrumb("sync_state", "AFTER")
    _flush()
    assert "[sync_state] AFTER" in _read(tmp_path, "system.log")  # the new file at the path, not the moved one
    assert "[sync_state] AFTER" not in _read(tmp_path, "system.log.1")
    assert "[sync_state] BEFORE" in _read(tmp_path, "system.log.1")


def _log_many(log_dir: str, process: str, count: int, ready) -> None:
    ls.setup_logging(process, log_dir, "INFO", stderr=False, max_bytes=20_000, backup_count=100)
    ready.wait(30)
    for i in range(count):
        ls.breadcrumb("sync_state", "TICK", {"p": process, "i": i, "pad": "z" * 40})


def test_processes_sharing_a_rotating_file_lose_no_lines(tmp_path):
    ready = SPAWN.Event()
    count = 1500
    procs = [SPAWN.Process(target=_log_many, args=(str(tmp_path), name, count, ready)) for name in ("a", "b")]
    for p in procs:
        p.start()
    ready.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = []
    for path in tmp_path.glob("system.log*"):
        if not path.name.endswith(".lock"):
            lines.extend(path.read_text().splitlines())
            assert path.stat().st_size <= 20_000 + 200
    ticks = [l for l in lines if "[sync_state] TICK" in l]
    assert len(ticks) == 2 * count  # every line survived the rotations, none twice
    assert len(set(ticks)) == 2 * count
    assert len(list(tmp_path.glob("system.log.*"))) > 5  # it really rotated many times


SECRET_KEY = "AKx9Z3realLookingApiKey0123456789"
SECRET = "s3cr3t-Binance-Secret-abcdef987654"
BOT_TOKEN = "123456789:AAHfake-telegram-token-value_abcdefghijk"


def test_secrets_never_reach_any_file_or_stderr(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("BINANCE_API_KEY", SECRET_KEY)
    monkeypatch.setenv("BINANCE_API_SECRET", SECRET)
    monkeypatch.setenv("FUTURES_TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    settings = load_env(None)
    ls.setup_logging("executor", tmp_path, "DEBUG", settings=settings, stderr=True)
    log = logging.getLogger("execution.exchange_utils")
    log.info("key in message %s", SECRET_KEY)
    log.info(f"secret inline {SECRET} and again {SECRET}")
    log.info("dict arg %s", {"apiKey": SECRET_KEY, "secret": SECRET})
    log.info("[exutil] GET /fapi/v2/balance?timestamp=1&recvWindow=5000&signature=9f86d081884c7d659a2feaa0c55ad015")
    log.info('headers {"X-MBX-APIKEY": "unregistered-key-value-777"}')
    log.info("POST https://api.telegram.org/bot%s/sendMessage", BOT_TOKEN)
    ls.breadcrumb("executor", "SEND_ORDER", {"symbol": "BTCUSDT", "api_secret": SECRET})
    try:
        raise RuntimeError(f"HTTP 401 for url ...&signature=abcdef0123456789 key={SECRET_KEY}")
    except RuntimeError:
        log.exception("order failed")
    log.warning("stack", stack_info=True, extra={"note": SECRET})
    ls.add_secrets("late-added-token-xyz")
    log.info("late late-added-token-xyz")
    _flush()
    captured = capfd.readouterr()

    texts = {p.name: p.read_text() for p in tmp_path.iterdir() if p.suffix == ".log"}
    texts["stderr"] = captured.err
    for name, text in texts.items():
        for secret in (SECRET_KEY, SECRET, BOT_TOKEN, "9f86d081884c7d659a2feaa0c55ad015", "abcdef0123456789",
                       "unregistered-key-value-777", "late-added-token-xyz"):
            assert secret not in text, (name, secret)
    system = texts["system.log"]
    assert "key in message ***" in system and "signature=***" in system
    assert "RuntimeError" in system and "Traceback" in system  # the exception is still logged
    assert "[executor] SEND_ORDER" in texts["executor.log"]
    assert "key in message ***" in captured.err


def test_redact_helper_without_setup():
    assert ls.redact("a&signature=deadbeef&b=1") == "a&signature=***&b=1"
    assert ls.redact("BINANCE_API_SECRET=abc123xyz") == "BINANCE_API_SECRET=***"
    filt = ls.RedactingFilter(["x", "longenough"])  # too-short "secrets" are ignored, not blanking text
    assert filt.redact("x marks longenough") == "x marks ***"


def test_a_secret_that_contains_another_is_redacted_whole():
    # the shorter one first would leave "***-TAIL-9876" behind: part of the longer secret leaks
    for order in (["abcdef123", "abcdef123-TAIL-9876"], ["abcdef123-TAIL-9876", "abcdef123"]):
        filt = ls.RedactingFilter(order)
        assert filt.redact("k=abcdef123-TAIL-9876 and abcdef123") == "k=*** and ***"
    filt = ls.RedactingFilter(["abcdef123"])
    filt.add_secrets(["abcdef123-TAIL-9876"])  # added later, still longest first
    assert filt.redact("abcdef123-TAIL-9876") == "***"
