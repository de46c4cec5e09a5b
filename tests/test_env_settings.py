"""settings/env.py: strict parsing of `.env` + process environment, and the shipped .env.example."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from settings.env import (
    LOCAL_VENUE_URL,
    MAINNET_FUTURES_URL,
    EnvSettings,
    is_loopback_url,
    is_mainnet_url,
    is_testnet_url,
    load_env,
    normalize_base_url,
    parse_bool,
)
from settings.errors import ConfigError
from settings.preflight import ENV_VARIABLES

REPO_ROOT = Path(__file__).resolve().parents[1]
TRUE_SPELLINGS = ["1", "true", "True", "TRUE", "yes", "Yes", "on", "ON", "y", "t", " 1 ", "true\t"]
FALSE_SPELLINGS = ["0", "false", "False", "FALSE", "no", "No", "off", "OFF", "n", "f", " 0 "]
BAD_BOOLS = ["tru", "", " ", "2", "-1", "1.0", "maybe", "none", "null", "enabled", "truee", "0x1"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """No variable from the developer's shell and no real .env may leak into a test."""
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def test_defaults_are_the_safe_local_run(tmp_path):
    s = load_env(tmp_path / "missing.env")  # a missing file is not an error for the loader
    assert s.ENV == "dev" and s.DRY_RUN is True and s.BINANCE_TESTNET is False and s.testnet is False
    assert s.BINANCE_BASE_URL == LOCAL_VENUE_URL and not s.is_production
    assert s.RESERVE_BTC == 0.013
    assert s.LOG_LEVEL == "INFO" and s.LOG_DIR == Path("logs") and s.STATE_ROOT == Path("logs/state")
    assert s.CONFIG_DIR == Path("config")


def test_default_env_file_is_dot_env_in_the_working_directory(tmp_path):
    _env(tmp_path, "ENV=prod\n")
    assert load_env().ENV == "prod"


@pytest.mark.parametrize("spelling", TRUE_SPELLINGS)
def test_true_spellings(tmp_path, spelling):
    s = load_env(_env(tmp_path, f"DRY_RUN={spelling}\nBINANCE_TESTNET={spelling}\n"))
    assert s.DRY_RUN is True and s.BINANCE_TESTNET is True and s.testnet is True


@pytest.mark.parametrize("spelling", FALSE_SPELLINGS)
def test_false_spellings(tmp_path, spelling):
    s = load_env(_env(tmp_path, f"DRY_RUN={spelling}\nBINANCE_TESTNET={spelling}\n"))
    assert s.DRY_RUN is False and s.BINANCE_TESTNET is False


@pytest.mark.parametrize("spelling", BAD_BOOLS)
@pytest.mark.parametrize("name", ["DRY_RUN", "BINANCE_TESTNET"])
def test_bad_bools_are_errors_never_a_silent_default(tmp_path, name, spelling):
    env_file = _env(tmp_path, f"{name}={spelling}\n")
    with pytest.raises(ConfigError) as err:
        load_env(env_file)
    message = str(err.value)
    assert str(env_file) in message and f"{name}: expected 1/true/yes/on or 0/false/no/off" in message
    assert f"(got {spelling.strip()!r})" in message  # dotenv trims unquoted values


def test_parse_bool_accepts_python_values():
    assert parse_bool(True) is True and parse_bool(0) is False and parse_bool(1) is True
    with pytest.raises(ValueError):
        parse_bool(2)
    with pytest.raises(ValueError):
        parse_bool(None)


@given(st.text(max_size=8))
def test_parse_bool_only_knows_the_documented_spellings(text):
    known = {"1", "true", "yes", "on", "y", "t", "0", "false", "no", "off", "n", "f"}
    try:
        value = parse_bool(text)
    except ValueError:
        assert text.strip().lower() not in known
    else:
        assert text.strip().lower() in known and isinstance(value, bool)


@pytest.mark.parametrize("given_env, expected", [("dev", "dev"), ("prod", "prod"), ("PROD", "prod"),
                                                 ("Mainnet", "mainnet"), (" mainnet ", "mainnet")])
def test_env_is_case_insensitive(tmp_path, given_env, expected):
    s = load_env(_env(tmp_path, f"ENV={given_env}\n"))
    assert s.ENV == expected and s.is_production == (expected != "dev")


@pytest.mark.parametrize("bad", ["staging", "production", "", "test", "live"])
def test_bad_env_names_the_variable(tmp_path, bad):
    with pytest.raises(ConfigError, match=r"ENV: Input should be 'dev', 'prod' or 'mainnet'"):
        load_env(_env(tmp_path, f"ENV={bad}\n"))


@pytest.mark.parametrize(
    "raw, normalized",
    [
        ("https://fapi.binance.com", MAINNET_FUTURES_URL),
        ("HTTPS://FAPI.Binance.COM/", MAINNET_FUTURES_URL),
        ("https://fapi.binance.com///", MAINNET_FUTURES_URL),
        ("https://fapi.binance.com:443", MAINNET_FUTURES_URL),
        ("  https://fapi.binance.com  ", MAINNET_FUTURES_URL),
        ("http://127.0.0.1:18080/", LOCAL_VENUE_URL),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("https://fapi.binance.com:8443", "https://fapi.binance.com:8443"),
        ("http://[::1]:18080", "http://[::1]:18080"),
        ("https://Testnet.BinanceFuture.com/", "https://testnet.binancefuture.com"),
        ("https://fapi.binance.com/Some/Path/", "https://fapi.binance.com/Some/Path"),
    ],
)
def test_base_url_is_normalized(tmp_path, raw, normalized):
    assert normalize_base_url(raw) == normalized
    assert load_env(_env(tmp_path, f"BINANCE_BASE_URL={raw}\n")).BINANCE_BASE_URL == normalized


@pytest.mark.parametrize("bad", ["", "fapi.binance.com", "ftp://fapi.binance.com", "https://", "not a url",
                                 "https://fapi.binance.com:99999", "ws://fapi.binance.com"])
def test_bad_base_url_is_an_error(tmp_path, bad):
    with pytest.raises(ConfigError, match="BINANCE_BASE_URL"):
        load_env(_env(tmp_path, f"BINANCE_BASE_URL={bad}\n"))


@pytest.mark.parametrize(
    "url, testnet, mainnet, loopback",
    [
        ("https://fapi.binance.com", False, True, False),
        ("HTTPS://FAPI.BINANCE.COM/", False, True, False),
        ("http://fapi.binance.com", False, False, False),  # no TLS is not "mainnet"
        ("https://fapi.binance.com.evil.example", False, False, False),
        ("https://evil.example/fapi.binance.com", False, False, False),
        ("https://fapi.binance.com@evil.example", False, False, False),
        ("https://testnet.binancefuture.com", True, False, False),
        ("https://demo-fapi.binance.com", True, False, False),
        ("https://fapi.testnet.example", True, False, False),
        ("https://stream.binancefuture.com", True, False, False),  # testnet streams: no "testnet" in the name
        ("wss://fstream.binancefuture.com/ws", True, False, False),
        ("https://demo.binance.com", True, False, False),
        ("https://binance.com", False, False, False),
        ("http://127.0.0.1:18080", False, False, True),
        ("http://127.0.0.2", False, False, True),
        ("http://localhost:18080", False, False, True),
        ("http://[::1]:18080", False, False, True),
        ("http://127.evil.example", False, False, False),  # a DNS name, not a loopback address
        ("http://10.0.0.1:18080", False, False, False),
    ],
)
def test_url_classification(url, testnet, mainnet, loopback):
    assert is_testnet_url(url) is testnet
    assert is_mainnet_url(url) is mainnet
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize("url", ["https://testnet.binancefuture.com", "https://demo-fapi.binance.com"])
def test_a_testnet_url_alone_makes_the_settings_testnet(tmp_path, url):
    s = load_env(_env(tmp_path, f"ENV=mainnet\nBINANCE_TESTNET=0\nBINANCE_BASE_URL={url}\n"))
    assert s.BINANCE_TESTNET is False and s.testnet is True  # the audit line must not say testnet=False


@pytest.mark.parametrize("bad", ["-0.001", "-1", "nan", "inf", "-inf", "abc", ""])
def test_reserve_btc_must_be_a_finite_non_negative_number(tmp_path, bad):
    with pytest.raises(ConfigError, match="RESERVE_BTC"):
        load_env(_env(tmp_path, f"RESERVE_BTC={bad}\n"))


@pytest.mark.parametrize("good, value", [("0", 0.0), ("0.013", 0.013), ("1.5", 1.5)])
def test_reserve_btc_values(tmp_path, good, value):
    assert load_env(_env(tmp_path, f"RESERVE_BTC={good}\n")).RESERVE_BTC == value


@pytest.mark.parametrize("level, expected", [("debug", "DEBUG"), ("Warning", "WARNING"), (" error ", "ERROR")])
def test_log_level(tmp_path, level, expected):
    assert load_env(_env(tmp_path, f"LOG_LEVEL={level}\n")).LOG_LEVEL == expected


def test_bad_log_level(tmp_path):
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_env(_env(tmp_path, "LOG_LEVEL=verbose\n"))


def test_paths(tmp_path):
    s = load_env(_env(tmp_path, "LOG_DIR=/var/log/hedge\nSTATE_ROOT=/srv/state\nCONFIG_DIR=cfg\n"))
    assert s.LOG_DIR == Path("/var/log/hedge") and s.STATE_ROOT == Path("/srv/state") and s.CONFIG_DIR == Path("cfg")


def test_aliases(tmp_path):
    s = load_env(_env(tmp_path, "FUTURES_TELEGRAM_BOT_TOKEN=tok-123456\nFUTURES_TELEGRAM_CHAT_ID=-1001\n"
                                "GOOGLE_CLOUD_PROJECT=hedge-prod\n"))
    assert s.TELEGRAM_BOT_TOKEN.get_secret_value() == "tok-123456"
    assert s.TELEGRAM_CHAT_ID == "-1001" and s.FIRESTORE_PROJECT == "hedge-prod"
    # both spellings in one file: the canonical name wins
    s = load_env(_env(tmp_path, "TELEGRAM_BOT_TOKEN=canonical\nFUTURES_TELEGRAM_BOT_TOKEN=alias\n"))
    assert s.TELEGRAM_BOT_TOKEN.get_secret_value() == "canonical"


def test_process_environment_wins_over_the_file(tmp_path, monkeypatch):
    env_file = _env(tmp_path, "ENV=mainnet\nDRY_RUN=1\nBINANCE_BASE_URL=https://fapi.binance.com\n"
                              "TELEGRAM_BOT_TOKEN=from-file\nRESERVE_BTC=0.5\n")
    monkeypatch.setenv("DRY_RUN", "0")
    monkeypatch.setenv("BINANCE_BASE_URL", "http://127.0.0.1:18080")
    monkeypatch.setenv("FUTURES_TELEGRAM_BOT_TOKEN", "from-env")  # even through an alias
    s = load_env(env_file)
    assert s.ENV == "mainnet" and s.RESERVE_BTC == 0.5  # untouched values still come from the file
    assert s.DRY_RUN is False and s.BINANCE_BASE_URL == LOCAL_VENUE_URL
    assert s.TELEGRAM_BOT_TOKEN.get_secret_value() == "from-env"
    monkeypatch.setenv("DRY_RUN", "tru")  # and a bad exported value is reported, not masked by the file
    with pytest.raises(ConfigError, match=r"DRY_RUN: .*\(got 'tru'\)"):
        load_env(env_file)


def test_names_are_case_sensitive(tmp_path):
    s = load_env(_env(tmp_path, "dry_run=0\nbinance_testnet=1\n"))
    assert s.DRY_RUN is True and s.BINANCE_TESTNET is False  # ignored; the preflight flags these lines


def test_unknown_variables_are_ignored(tmp_path):
    assert load_env(_env(tmp_path, "SOMETHING_ELSE=1\nENV=dev\n")).ENV == "dev"


def test_settings_are_frozen(tmp_path):
    s = load_env(None)
    with pytest.raises(ValidationError):
        s.DRY_RUN = False  # type: ignore[misc]  # frozen: the assignment must raise


def test_redaction_never_shows_secrets(tmp_path):
    secrets = {"BINANCE_API_KEY": "key-AAAA-1111", "BINANCE_API_SECRET": "sec-BBBB-2222",
               "TELEGRAM_BOT_TOKEN": "123456:tok-CCCC-3333"}
    s = load_env(_env(tmp_path, "".join(f"{k}={v}\n" for k, v in secrets.items())))
    red = s.redacted()
    assert set(red) == set(EnvSettings.model_fields)
    for name, value in secrets.items():
        assert red[name] == "***set***"
        for text in (str(red), repr(s), str(s), s.model_dump_json()):
            assert value not in text
    assert s.BINANCE_API_SECRET.get_secret_value() == "sec-BBBB-2222"  # still usable by code that needs it
    empty = load_env(_env(tmp_path, "TELEGRAM_BOT_TOKEN=\n"))
    assert empty.redacted()["TELEGRAM_BOT_TOKEN"] == "<unset>"
    assert isinstance(red["LOG_DIR"], str)


def test_config_error_names_file_variable_and_value(tmp_path):
    env_file = _env(tmp_path, "ENV=mainnet\nDRY_RUN=tru\nRESERVE_BTC=-1\n")
    with pytest.raises(ConfigError) as err:
        load_env(env_file)
    lines = str(err.value).splitlines()
    assert len(lines) == 2  # every bad variable reported in one go
    assert any("DRY_RUN" in l and "'tru'" in l for l in lines)
    assert any("RESERVE_BTC" in l and "'-1'" in l for l in lines)
    assert all(str(env_file) in l for l in lines)


def test_env_example_documents_every_variable_with_safe_defaults():
    example = REPO_ROOT / ".env.example"
    keys = set(dotenv_values(example))
    assert set(EnvSettings.model_fields) <= keys
    text = example.read_text()
    for alias in ("FUTURES_TELEGRAM_BOT_TOKEN", "FUTURES_TELEGRAM_CHAT_ID"):
        assert alias in text
    s = load_env(example)
    # the example is the safe local run
    assert s.ENV == "dev" and s.DRY_RUN is True and not s.testnet and is_loopback_url(s.BINANCE_BASE_URL)
    assert s.RESERVE_BTC == 0.013 and "not" in text.lower() and "NAV" in text


@pytest.mark.parametrize("name", ["mainnet-dry-run.env", "testnet.env"])
def test_shipped_ci_env_files_parse(name):
    s = load_env(REPO_ROOT / "deploy" / "env" / name)
    assert s.ENV == "mainnet" and s.DRY_RUN is True
    assert s.testnet is (name == "testnet.env")
    assert "placeholder" in s.BINANCE_API_KEY.get_secret_value()


def test_isolation_fixture_really_isolates():
    assert all(name not in os.environ for name in ENV_VARIABLES)
    assert not Path(".env").exists()
