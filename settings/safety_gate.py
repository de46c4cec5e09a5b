"""The safety gate: may this environment talk to an exchange, and in which mode? (docs/EXCHANGE.md, "The
safety gate"; runbook 000 §1 and §6 in docs/ARCHITECTURE.md's modes table.)

Every way to reach an exchange goes through here: the preflight script (`scripts/assert_env_mainnet_dry_run.py`),
`execution.exchange_utils.build_client` / `build_adapter` / `_is_dual_side`, and every process before it
builds a client. The rules themselves are `settings.preflight.preflight_problems` (one plain-English line per
problem); this module adds the loading (the `.env` file as written plus the process environment, so stray
testnet switches are seen), the verdict and the one explicit, logged opt-in for a live mainnet client.

    from settings.safety_gate import require_exchange_access
    access = require_exchange_access(allow_live=args.allow_live)   # SafetyGateError (exit 1) if refused
    access.mode        # "local" | "mainnet-dry-run" | "mainnet-live"

Three modes, nothing else:
  local            ENV=dev, BINANCE_BASE_URL a loopback address (the local venue); DRY_RUN as configured
  mainnet-dry-run  ENV=prod/mainnet, BINANCE_BASE_URL exactly https://fapi.binance.com, DRY_RUN on
  mainnet-live     as above with DRY_RUN off, ONLY with allow_live=True (logged at WARNING every time)
Testnet (flag, URL, or any *TESTNET* switch / testnet *_URL / *_BASE variable) is refused in every mode.
Hosts are matched exactly (the mainnet URL after normalisation, or a real loopback IP / `localhost`), never by
substring.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from settings.env import (
    EnvSettings,
    is_loopback_url,
    is_mainnet_url,
    is_testnet_url,
    load_env,
)
from settings.errors import ConfigError
from settings.preflight import (
    is_preflight_relevant,
    misspelled_name_problems,
    preflight_problems,
    stray_testnet_problems,
)

log = logging.getLogger("hedge.preflight")

Mode = Literal["local", "mainnet-dry-run", "mainnet-live"]
EndpointKind = Literal["mainnet", "local", "testnet", "other"]


def endpoint_kind(url: str) -> EndpointKind:
    """What a base URL points at. Exact matches only: `https://fapi.binance.com.evil.example`,
    `http://127.evil.example` and `https://testnet.evil.example` are never mainnet or local."""
    if is_testnet_url(url):
        return "testnet"
    if is_mainnet_url(url):
        return "mainnet"
    if is_loopback_url(url):
        return "local"
    return "other"


class SafetyGateError(ConfigError):
    """The environment may not talk to an exchange; `problems` are the preflight's lines."""

    def __init__(self, problems: list[str], source: str = ""):
        self.problems = tuple(problems)
        where = f" ({source})" if source else ""
        super().__init__(
            f"safety gate: refusing to build an exchange client{where}:\n" + "\n".join(f"  * {p}" for p in problems)
        )


@dataclass(frozen=True)
class ExchangeAccess:
    """The gate's verdict for an environment that passed: what may be built, and how."""

    settings: EnvSettings
    mode: Mode
    base_url: str
    dry_run: bool

    @property
    def live(self) -> bool:
        return self.mode == "mainnet-live"


@dataclass(frozen=True)
class Verdict:
    """Everything the gate found: `problems` empty means allowed. `settings` is None when .env did not load."""

    problems: tuple[str, ...]
    settings: EnvSettings | None
    source: str

    @property
    def allowed(self) -> bool:
        return not self.problems and self.settings is not None


def raw_values(
    env_file: Path | None, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str | None], list[str]]:
    """Variables as written (process environment over the file) and the key names found in the file."""
    from dotenv import dotenv_values  # the same parser pydantic-settings uses for .env

    environ = os.environ if environ is None else environ
    file_values: dict[str, str | None] = {}
    if env_file is not None and Path(env_file).is_file():
        try:
            file_values = dict(dotenv_values(env_file, encoding="utf-8"))
        except (UnicodeDecodeError, ValueError, OSError):
            file_values = {}  # load_env reports the unreadable file; here we only lose the raw spelling
    relevant = {k: v for k, v in environ.items() if is_preflight_relevant(k)}
    return {**file_values, **relevant}, list(file_values)


def check_environment(
    env_file: str | os.PathLike[str] | None = ".env",
    *,
    allow_live: bool = False,
    settings: EnvSettings | None = None,
    dry_run: bool | None = None,
    environ: Mapping[str, str] | None = None,
    require_file: bool = False,
) -> Verdict:
    """THE decision: load (unless `settings` is given) and apply every preflight rule. Never raises.

    env_file: read as written to catch stray testnet switches and misspelt names (None: environment only).
    settings: already loaded settings (the file is still read for its raw values when it exists).
    dry_run: an override of settings.DRY_RUN by the caller; the verdict is about the EFFECTIVE value.
    require_file: a missing env_file is itself a problem (the preflight script: the operator named it).
    """
    path = Path(env_file) if env_file is not None else None
    source = str(path) if path is not None else "<process environment only>"
    problems: list[str] = []
    if require_file and path is not None and not path.is_file():
        problems.append(
            f"no env file at {path}: create it (cp .env.example .env and edit), "
            "pass --env-file PATH, or use --no-env-file to rely on the process environment only"
        )
    raw, file_keys = raw_values(path, environ)
    problems.extend(misspelled_name_problems(file_keys))
    if settings is None:
        try:
            settings = load_env(path)
        except ConfigError as exc:
            for line in str(exc).splitlines():
                # the banner already names the file: keep "VARIABLE: reason (got 'value')"
                line = line.split(" or the process environment: ", 1)[-1]
                problems.append(f"{line}; fix this value and run the preflight again")
            # still report testnet switches: the operator should see everything in one run
            problems.extend(stray_testnet_problems(raw, include_modelled=True))
            return Verdict(tuple(problems), None, source)
    problems.extend(preflight_problems(settings, allow_live=allow_live, raw=raw, dry_run=dry_run))
    return Verdict(tuple(problems), settings, source)


def mode_of(settings: EnvSettings, dry_run: bool) -> Mode:
    if not settings.is_production:
        return "local"
    return "mainnet-dry-run" if dry_run else "mainnet-live"


def require_exchange_access(
    settings: EnvSettings | None = None,
    *,
    env_file: str | os.PathLike[str] | None = ".env",
    allow_live: bool = False,
    dry_run: bool | None = None,
    environ: Mapping[str, str] | None = None,
    who: str = "",
) -> ExchangeAccess:
    """The one call before any exchange client is built: the verdict, or SafetyGateError with the preflight's lines.

    A live mainnet client (ENV=prod/mainnet with DRY_RUN off) needs allow_live=True, and every time it is
    granted a WARNING `[preflight] LIVE mode accepted ...` is logged.
    """
    verdict = check_environment(env_file, allow_live=allow_live, settings=settings, dry_run=dry_run, environ=environ)
    if not verdict.allowed:
        raise SafetyGateError(list(verdict.problems), who or verdict.source)
    assert verdict.settings is not None
    effective = verdict.settings.DRY_RUN if dry_run is None else bool(dry_run)
    access = ExchangeAccess(verdict.settings, mode_of(verdict.settings, effective),
                            verdict.settings.BINANCE_BASE_URL, effective)
    if access.live:
        log.warning("[preflight] LIVE mode accepted via allow_live%s: real orders will be sent to %s",
                    f" ({who})" if who else "", access.base_url)
    return access


def exchange_access_or_exit(
    *,
    env_file: str | os.PathLike[str] | None = ".env",
    allow_live: bool = False,
    who: str,
    stream=None,
) -> ExchangeAccess:
    """For a process's start (executor, sync_state, panic_close, scripts): the gate's verdict, or the
    preflight's lines on stderr and in the log (`[preflight] FAILED <who>: ...`) and exit code 1."""
    import sys

    try:
        return require_exchange_access(env_file=env_file, allow_live=allow_live, who=who)
    except SafetyGateError as exc:
        out = stream or sys.stderr
        print(f"{who}: REFUSED by the safety gate (the preflight's rules; docs/EXCHANGE.md):", file=out)
        for problem in exc.problems:
            print(f"  * {problem}", file=out)
            log.error("[preflight] FAILED %s: %s", who, problem)
        raise SystemExit(1) from None
