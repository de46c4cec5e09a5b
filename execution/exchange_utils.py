"""Build the exchange client/adapter for the configured venue, after the safety gate said yes.

- every builder calls `settings.safety_gate.require_exchange_access` first: whatever the preflight refuses
  (testnet anywhere, a non-mainnet host on prod, a non-loopback host on dev, DRY_RUN off on mainnet without
  the explicit `allow_live=True`), no client is built for (docs/EXCHANGE.md, "The safety gate");
- logs at start, to logger "hedge.exutil" (runbook 000 greps these exact lines):
      [exutil] base=<url> testnet=<bool>
      [exutil] ENV context testnet=<bool> dry_run=<bool>
- DRY_RUN comes from the environment and is enforced by the client's write gate.

`_is_dual_side()` is the runbook-001 health probe:
    from execution.exchange_utils import _is_dual_side; print("dualSide:", _is_dual_side())
"""
from __future__ import annotations

import logging
import os
from typing import Any

from execution.exchange.adapter import ExchangeAdapter
from execution.exchange.client import HedgeClient, client_class_for
from execution.log_setup import install_library_redaction
from settings.env import EnvSettings
from settings.safety_gate import ExchangeAccess, require_exchange_access

log = logging.getLogger("hedge.exutil")


def resolve_base_url(settings: EnvSettings, *, allow_live: bool = False) -> str:
    """The base URL the gate allows for `settings`, or SafetyGateError (a ConfigError) with the preflight's lines."""
    return require_exchange_access(settings, env_file=None, allow_live=allow_live).base_url


def build_client(settings: EnvSettings | None = None, *, dry_run: bool | None = None,
                 allow_live: bool = False, env_file: str | os.PathLike[str] | None = None,
                 timeout: float = 10.0, recv_window_ms: int = 5000, who: str = "") -> HedgeClient:
    """A python-binance client bound to the allowed base URL, with the DRY_RUN gate. Sends nothing.

    settings: None loads `env_file` (default .env) and the process environment exactly as the preflight does;
        given settings are judged with the process environment (and `env_file` only when named).
    dry_run: override settings.DRY_RUN; the gate judges the effective value.
    allow_live: the explicit, logged opt-in a live MAINNET client needs (a process's --allow-live).
    Raises SafetyGateError (a settings.errors.ConfigError) when the gate refuses.
    """
    if settings is None and env_file is None:
        env_file = ".env"
    access = require_exchange_access(settings, env_file=env_file, allow_live=allow_live, dry_run=dry_run,
                                     who=who or "build_client")
    return client_for(access, timeout=timeout, recv_window_ms=recv_window_ms)


def client_for(access: ExchangeAccess, *, timeout: float = 10.0, recv_window_ms: int = 5000) -> HedgeClient:
    """The client for a verdict of `require_exchange_access` (a process that already holds one)."""
    settings = access.settings
    log.info("[exutil] base=%s testnet=%s", access.base_url, settings.testnet)
    log.info("[exutil] ENV context testnet=%s dry_run=%s", settings.testnet, access.dry_run)
    key = settings.BINANCE_API_KEY.get_secret_value()
    secret = settings.BINANCE_API_SECRET.get_secret_value()
    install_library_redaction([key, secret])
    cls = client_class_for(access.base_url)
    return cls(key, secret, dry_run=access.dry_run, timeout=timeout, recv_window_ms=recv_window_ms,
               allow_live=access.live)


def build_adapter(settings: EnvSettings | None = None, *, dry_run: bool | None = None, allow_live: bool = False,
                  env_file: str | os.PathLike[str] | None = None, timeout: float = 10.0,
                  sync_time: bool = False, **adapter_kwargs: Any) -> ExchangeAdapter:
    """Client + adapter. `adapter_kwargs` go to ExchangeAdapter (policy, sleep, clock_ms, rng, budget)."""
    client = build_client(settings, dry_run=dry_run, allow_live=allow_live, env_file=env_file, timeout=timeout,
                          who="build_adapter")
    adapter = ExchangeAdapter(client, **adapter_kwargs)
    if sync_time:
        adapter.sync_time()
    return adapter


def _is_dual_side(settings: EnvSettings | None = None, *, env_file: str | os.PathLike[str] | None = None) -> bool:
    """The account's position mode (`GET /fapi/v1/positionSide/dual` dualSidePosition): True = hedge mode.

    A read, but it still passes the gate: no client exists for an environment the preflight refuses."""
    client = build_client(settings, env_file=env_file, who="_is_dual_side")
    try:
        return ExchangeAdapter(client).get_position_mode(refresh=True)
    finally:
        client.session.close()
