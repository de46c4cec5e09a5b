"""The preflight rules for the mainnet + DRY_RUN phase (runbook 000 §1 and §6; docs/EXCHANGE.md). Pure: no I/O.

`preflight_problems()` returns one plain-English line per problem — what is wrong and how to fix it —
for an operator at 3 a.m.; an empty list means the environment may start. `settings.safety_gate` loads
the environment and applies these rules for every caller (the script `scripts/assert_env_mainnet_dry_run.py`,
`build_client`, every process).
"""
from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from settings.env import (
    LOCAL_VENUE_URL,
    MAINNET_FUTURES_URL,
    EnvSettings,
    is_loopback_url,
    is_mainnet_url,
    is_testnet_url,
    parse_bool,
)

RUNBOOK_VERSION = "v7.4"
ENV_VARIABLES = tuple(EnvSettings.model_fields) + (
    "FUTURES_TELEGRAM_BOT_TOKEN",
    "FUTURES_TELEGRAM_CHAT_ID",
    "GOOGLE_CLOUD_PROJECT",
)


def _shown(raw: Mapping[str, str | None], name: str, fallback: object) -> str:
    """`NAME=value` as the operator wrote it when we know the raw text, else the parsed value."""
    value = raw.get(name)
    return f"{name}={value if value is not None else fallback}"


def preflight_problems(
    settings: EnvSettings,
    allow_live: bool = False,
    raw: Mapping[str, str | None] | None = None,
    dry_run: bool | None = None,
) -> list[str]:
    """Everything that makes this environment unsafe for the mainnet + DRY_RUN phase: the rules of the
    safety gate (`settings.safety_gate`, which every client builder calls).

    raw: the variables as written (.env merged with the process environment); used to quote the
    operator's own spelling and to catch stray testnet flags that EnvSettings does not model.
    dry_run: a caller's override of settings.DRY_RUN (build_client(dry_run=False)); the rules judge the
    value that will really be used.
    """
    raw = raw or {}
    problems: list[str] = []
    url = settings.BINANCE_BASE_URL
    env = settings.ENV

    if settings.BINANCE_TESTNET:
        problems.append(
            f"{_shown(raw, 'BINANCE_TESTNET', 1)}: testnet is not allowed in this phase; "
            "set BINANCE_TESTNET=0 or remove it"
        )
    if is_testnet_url(url):
        problems.append(
            f"BINANCE_BASE_URL={url} is a TESTNET address: testnet is not allowed in this phase; "
            f"set BINANCE_BASE_URL={MAINNET_FUTURES_URL}"
        )
    problems.extend(stray_testnet_problems(raw))

    if settings.is_production:
        dry = settings.DRY_RUN if dry_run is None else bool(dry_run)
        overridden = dry_run is not None and dry_run != settings.DRY_RUN
        shown = "dry_run=False (override)" if overridden else _shown(raw, "DRY_RUN", 0)
        if not dry and not allow_live:
            problems.append(
                f"{shown} with ENV={env}: this phase is mainnet + DRY RUN and real "
                "orders would be sent; set DRY_RUN=1 (going live needs the live runbook and --allow-live)"
            )
        if not is_mainnet_url(url) and not is_testnet_url(url):
            problems.append(_not_mainnet_problem(url, env))
    else:  # dev: only the local venue, so ENV=dev can never be a way around the DRY_RUN rule
        if not is_loopback_url(url) and not is_testnet_url(url):
            problems.append(
                f"ENV=dev but BINANCE_BASE_URL={url} is not the local venue: dev mode must point at a "
                f"loopback address such as {LOCAL_VENUE_URL}; for mainnet set ENV=mainnet and DRY_RUN=1"
            )
    return problems


def _not_mainnet_problem(url: str, env: str) -> str:
    parts = urlsplit(url)
    fix = f"set BINANCE_BASE_URL={MAINNET_FUTURES_URL}"
    if parts.scheme == "http" and parts.hostname == urlsplit(MAINNET_FUTURES_URL).hostname:
        return f"BINANCE_BASE_URL={url} uses plain http (no TLS; API keys would travel unencrypted); {fix}"
    return f"BINANCE_BASE_URL={url} with ENV={env} is not the Binance mainnet futures URL; {fix}"


def names_an_address(name: str) -> bool:
    """A variable that may hold an exchange address (…_URL, …_BASE): checked for testnet hosts."""
    upper = name.upper()
    return "URL" in upper or upper.endswith("BASE")


def is_preflight_relevant(name: str) -> bool:
    """Variables the preflight reads from the process environment: the one rule for the script and the check."""
    return name in ENV_VARIABLES or "TESTNET" in name.upper() or names_an_address(name)


def stray_testnet_problems(raw: Mapping[str, str | None], include_modelled: bool = False) -> list[str]:
    """Testnet switches under other names (USE_TESTNET=1, BINANCE_FUTURES_URL=https://testnet...).

    include_modelled also checks BINANCE_TESTNET / BINANCE_BASE_URL as written: used when the settings
    could not be loaded at all, so the operator still sees every testnet problem in one run.
    """
    problems = []
    skip = () if include_modelled else ("BINANCE_TESTNET", "BINANCE_BASE_URL")
    for name, value in sorted(raw.items()):
        if name in skip or value is None:
            continue
        if "TESTNET" in name.upper():
            try:
                on = parse_bool(value)
            except ValueError:
                on = value.strip() != ""  # unreadable: treat as on, the safe reading
            if on:
                problems.append(
                    f"{name}={value}: looks like a testnet switch and testnet is not allowed in this phase; "
                    f"set {name}=0 or remove it"
                )
        elif names_an_address(name):
            if is_testnet_url(value.strip()):
                problems.append(
                    f"{name}={value.strip()} is a TESTNET address and testnet is not allowed in this phase; "
                    "remove it or point it at mainnet"
                )
    return problems


def misspelled_name_problems(file_keys: list[str]) -> list[str]:
    """Lower/mixed-case names are ignored by EnvSettings (names are case-sensitive): say so loudly."""
    known = {name.upper(): name for name in ENV_VARIABLES}
    problems = []
    for key in file_keys:
        if key not in known.values() and key.upper() in known:
            problems.append(
                f"{key}: variable names are case-sensitive, so this line is IGNORED; write it as {known[key.upper()]}"
            )
    return problems


def audit_line(settings: EnvSettings) -> str:
    """The runbook's audit marker, e.g. `[preflight] v7.4 mainnet + DRY_RUN=True testnet=False`."""
    mode = "mainnet" if settings.is_production else settings.ENV
    line = f"[preflight] {RUNBOOK_VERSION} {mode} + DRY_RUN={settings.DRY_RUN} testnet={settings.testnet}"
    if not settings.is_production:
        line += f" base={settings.BINANCE_BASE_URL}"
    return line
