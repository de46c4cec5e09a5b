"""Build the exchange client/adapter for the configured venue. The only module that picks an exchange URL.

- base URL: BINANCE_BASE_URL (mainnet https://fapi.binance.com or a loopback venue); testnet endpoints
  only with ENV=dev, any other host is refused;
- logs at start, to logger "hedge.exutil" (runbook 000 greps these exact lines):
      [exutil] base=<url> testnet=<bool>
      [exutil] ENV context testnet=<bool> dry_run=<bool>
- DRY_RUN comes from the environment and is enforced by the client's write gate.

`_is_dual_side()` is the runbook-001 health probe:
    from execution.exchange_utils import _is_dual_side; print("dualSide:", _is_dual_side())
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from settings.env import EnvSettings, is_loopback_url, is_mainnet_url, is_testnet_url, load_env
from settings.errors import ConfigError

from execution.exchange.adapter import ExchangeAdapter
from execution.exchange.client import HedgeClient, client_class_for
from execution.exchange.redact import install_redaction

log = logging.getLogger("hedge.exutil")


def resolve_base_url(settings: EnvSettings) -> str:
    """The base URL to use, or ConfigError. Testnet only with ENV=dev; mainnet or loopback otherwise."""
    base = settings.BINANCE_BASE_URL
    if settings.testnet:
        if settings.ENV != "dev":
            raise ConfigError(
                f"testnet is allowed only with ENV=dev (ENV={settings.ENV}, BINANCE_TESTNET="
                f"{settings.BINANCE_TESTNET}, BINANCE_BASE_URL={base})")
        if is_mainnet_url(base):
            # The flag says testnet, the URL says mainnet: never guess which one the operator meant.
            raise ConfigError(f"BINANCE_TESTNET=1 but BINANCE_BASE_URL={base} is mainnet")
        if not (is_testnet_url(base) or is_loopback_url(base)):
            raise ConfigError(f"BINANCE_BASE_URL={base} is neither a testnet nor a loopback URL")
        return base
    if is_mainnet_url(base) or is_loopback_url(base):
        return base
    raise ConfigError(f"BINANCE_BASE_URL={base} is not mainnet ({'https://fapi.binance.com'}) or a loopback venue")


def build_client(settings: Optional[EnvSettings] = None, *, dry_run: Optional[bool] = None,
                 timeout: float = 10.0, recv_window_ms: int = 5000) -> HedgeClient:
    """A python-binance client bound to the configured base URL, with the DRY_RUN gate. Sends nothing."""
    settings = settings or load_env()
    base = resolve_base_url(settings)
    dry = settings.DRY_RUN if dry_run is None else bool(dry_run)
    log.info("[exutil] base=%s testnet=%s", base, settings.testnet)
    log.info("[exutil] ENV context testnet=%s dry_run=%s", settings.testnet, dry)
    key = settings.BINANCE_API_KEY.get_secret_value()
    secret = settings.BINANCE_API_SECRET.get_secret_value()
    install_redaction([key, secret])
    cls = client_class_for(base)
    return cls(key, secret, dry_run=dry, timeout=timeout, recv_window_ms=recv_window_ms)


def build_adapter(settings: Optional[EnvSettings] = None, *, dry_run: Optional[bool] = None,
                  timeout: float = 10.0, sync_time: bool = False, **adapter_kwargs: Any) -> ExchangeAdapter:
    """Client + adapter. `adapter_kwargs` go to ExchangeAdapter (policy, sleep, clock_ms, rng, budget)."""
    adapter = ExchangeAdapter(build_client(settings, dry_run=dry_run, timeout=timeout), **adapter_kwargs)
    if sync_time:
        adapter.sync_time()
    return adapter


def _is_dual_side(settings: Optional[EnvSettings] = None) -> bool:
    """The account's position mode (`GET /fapi/v1/positionSide/dual` dualSidePosition): True = hedge mode."""
    client = build_client(settings)
    try:
        return ExchangeAdapter(client).get_position_mode(refresh=True)
    finally:
        client.session.close()
