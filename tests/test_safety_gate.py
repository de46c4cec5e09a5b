"""The safety gate (settings/safety_gate.py) and the DRY_RUN gate of HedgeClient.

1. Over the one shared table (tests/safety_gate_cases.py, also run through the preflight script by
   tests/test_preflight.py): every environment the preflight refuses is refused by build_client, build_adapter
   and _is_dual_side with the preflight's own message; every one it accepts gets a client in the right mode.
2. A DRY_RUN client sends nothing on any send path python-binance 1.0.37 has: every REST method that writes
   (found by reading the library's source, not from a hand list), the HTTP session under them, and the
   WebSocket-API methods, which never open a socket.
"""
from __future__ import annotations

import inspect
import logging
import os
import re
import socket

import pytest
import requests
from binance import AsyncClient
from binance.client import Client
from binance.exceptions import BinanceAPIException

from execution.exchange.client import (
    DRY_RUN_ALLOWED_WRITES,
    DryRunViolation,
    HedgeClient,
    WebSocketApiDisabled,
    client_class_for,
    websocket_api_names,
)
from execution.exchange_utils import _is_dual_side, build_adapter, build_client
from settings.env import EnvSettings
from settings.errors import ConfigError
from settings.preflight import ENV_VARIABLES
from settings.safety_gate import SafetyGateError, check_environment, endpoint_kind, require_exchange_access
from tests.safety_gate_cases import CASES

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No variable from the developer's shell may influence the verdict."""
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if "TESTNET" in name.upper() or "URL" in name.upper() or name.upper().endswith("BASE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _case_env(tmp_path, monkeypatch, env_text, environ):
    path = tmp_path / "hedge.env"
    path.write_text(env_text)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return path


IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case_id, env_text, environ, args, code, expected", CASES, ids=IDS)
def test_build_client_refuses_whatever_the_preflight_refuses(isolated, monkeypatch, caplog, case_id, env_text,
                                                             environ, args, code, expected):
    path = _case_env(isolated, monkeypatch, env_text, environ)
    allow_live = "--allow-live" in args
    caplog.set_level(logging.INFO)
    verdict = check_environment(path, allow_live=allow_live)
    if code == 1:
        assert not verdict.allowed and any(expected in p for p in verdict.problems), verdict.problems
        for build in (lambda: build_client(env_file=path, allow_live=allow_live),
                      lambda: build_adapter(env_file=path, allow_live=allow_live),
                      lambda: _is_dual_side(env_file=path)):
            with pytest.raises(ConfigError) as info:
                build()
            assert expected in str(info.value), str(info.value)
        assert "[exutil] base=" not in caplog.text  # refused before anything was built or logged
        return
    assert verdict.allowed, verdict.problems
    client = build_client(env_file=path, allow_live=allow_live)  # constructing sends nothing
    settings = verdict.settings
    assert client.dry_run is settings.DRY_RUN
    assert client.FUTURES_URL == settings.BINANCE_BASE_URL + "/fapi"
    live = settings.is_production and not settings.DRY_RUN
    assert ("[preflight] LIVE mode accepted" in caplog.text) is live  # the opt-in is always logged


def test_modes_and_the_explicit_live_opt_in(isolated, caplog):
    caplog.set_level(logging.INFO)
    dev = EnvSettings(_env_file=None, ENV="dev", DRY_RUN=False, BINANCE_BASE_URL="http://127.0.0.1:18080")
    assert require_exchange_access(dev, env_file=None).mode == "local"
    main = EnvSettings(_env_file=None, ENV="mainnet", DRY_RUN=True, BINANCE_BASE_URL="https://fapi.binance.com")
    access = require_exchange_access(main, env_file=None)
    assert access.mode == "mainnet-dry-run" and access.dry_run and not access.live
    # a caller's dry_run=False override is judged as what it is: a live mainnet client
    with pytest.raises(SafetyGateError, match="real orders would be sent"):
        build_client(main, dry_run=False)
    with pytest.raises(SafetyGateError, match="real orders would be sent"):
        require_exchange_access(main.model_copy(update={"DRY_RUN": False}), env_file=None)
    assert "LIVE mode" not in caplog.text
    client = build_client(main, dry_run=False, allow_live=True, who="test")
    assert client.dry_run is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "LIVE mode accepted" in r.getMessage()]
    assert len(warnings) == 1 and "(test)" in warnings[0].getMessage()


def test_an_exported_stray_testnet_switch_blocks_explicit_settings_too(isolated, monkeypatch):
    main = EnvSettings(_env_file=None, ENV="mainnet", BINANCE_BASE_URL="https://fapi.binance.com")
    monkeypatch.setenv("USE_TESTNET", "1")
    with pytest.raises(SafetyGateError, match="USE_TESTNET=1"):
        build_client(main)


@pytest.mark.parametrize("url, kind", [
    ("https://fapi.binance.com", "mainnet"),
    ("http://127.0.0.1:18080", "local"),
    ("http://[::1]:18080", "local"),
    ("http://localhost:1", "local"),
    ("https://testnet.evil.example", "testnet"),
    ("https://demo-fapi.attacker.net", "testnet"),
    ("https://fapi.binance.com.evil.example", "other"),
    ("https://evil.example/fapi.binance.com", "other"),
    ("http://127.evil.example", "other"),
    ("https://fapi.binance.com/fapi", "other"),
    ("http://fapi.binance.com", "other"),
])
def test_hosts_are_matched_exactly(url, kind):
    assert endpoint_kind(url) == kind


@pytest.mark.parametrize("url", ["https://testnet.evil.example", "https://demo-fapi.attacker.net",
                                 "https://testnet.binancefuture.com", "https://example.com",
                                 "http://127.evil.example"])
def test_no_client_class_can_be_made_for_a_host_the_gate_refuses(url):
    with pytest.raises(SafetyGateError):
        client_class_for(url)("k", "s", dry_run=True)


def test_a_live_mainnet_client_cannot_be_made_around_the_gate():
    with pytest.raises(SafetyGateError, match="explicit opt-in"):
        client_class_for("https://fapi.binance.com")("k", "s", dry_run=False)
    with pytest.raises(SafetyGateError, match="explicit opt-in"):
        HedgeClient("k", "s", dry_run=False)  # python-binance's own (mainnet) URLs
    assert HedgeClient("k", "s", dry_run=True).dry_run


# --------------------------------------------------------------------------- every send path of python-binance

_WRITE_IN_SOURCE = re.compile(r"""["'](post|put|delete)["']|\._(post|put|delete)\(""")


def rest_write_methods(cls: type = Client) -> list[str]:
    """Every public REST method of python-binance that sends a POST/PUT/DELETE: its source names the verb, or
    it calls such a method (order_market_buy -> order_market -> create_order)."""
    sources = {}
    for name in dir(cls):
        if name.startswith("ws_") or name.startswith("__"):
            continue
        attr = getattr(cls, name)
        if not callable(attr):
            continue
        try:
            sources[name] = inspect.getsource(attr)
        except (OSError, TypeError):
            continue
    writes = {name for name, source in sources.items() if _WRITE_IN_SOURCE.search(source)}
    while True:
        more = {name for name, source in sources.items() if name not in writes
                and any(f"self.{w}(" in source for w in writes)}
        if not more:
            break
        writes |= more
    return sorted(name for name in writes if not name.startswith("_"))


# Enough parameters for every write method to build its request (unused ones are simply sent along).
_PARAMS = {
    "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01", "price": "50000", "orderId": 1,
    "origClientOrderId": "hg-x", "positionSide": "LONG", "leverage": 3, "marginType": "CROSSED",
    "dualSidePosition": "true", "multiAssetsMargin": "true", "amount": "1", "asset": "USDT",
    "batchOrders": [{"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}],
    "orderIdList": [1], "origClientOrderIdList": ["hg-x"], "algoId": 1, "clientAlgoId": "hp-x",
    "triggerPrice": "1", "algoType": "CONDITIONAL", "listenKey": "x", "countdownTime": 1000,
}


def test_the_write_method_scan_finds_the_order_paths():
    names = set(rest_write_methods())
    assert len(names) > 200
    for name in ("futures_create_order", "futures_place_batch_order", "futures_cancel_orders", "futures_modify_order",
                 "futures_create_algo_order", "futures_change_leverage", "futures_change_position_mode",
                 "futures_v1_put_batch_orders", "create_order", "order_market_buy", "create_margin_order"):
        assert name in names, name
    assert set(websocket_api_names(AsyncClient)) <= set(websocket_api_names(Client))


def test_a_dry_run_client_sends_nothing_on_any_rest_path(venue, isolated):
    venue.reset(dual=True)
    settings = EnvSettings(_env_file=None, ENV="dev", DRY_RUN=True, BINANCE_BASE_URL=venue.base_url,
                           BINANCE_API_KEY=venue.api_key, BINANCE_API_SECRET=venue.api_secret)
    client = build_client(settings)
    before = venue.stats()["requests"]
    called, raised = [], []
    for name in rest_write_methods():
        method = getattr(client, name)
        positional = [p for p in inspect.signature(method).parameters.values()
                      if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        try:
            method(*(["BTCUSDT"] * len(positional)), **dict(_PARAMS))
            called.append(name)
        except (requests.RequestException, BinanceAPIException) as exc:  # it reached the network
            pytest.fail(f"{name} sent a request: {exc!r}")
        except Exception as exc:  # bad dummy params, wrong region: refused before building a request
            raised.append((name, exc))
    assert len(called) > 200, raised[:10]
    stats = venue.stats()
    assert stats["orders_received"] == {} and stats["orders_accepted"] == {}
    sent = {path: n - before.get(path, 0) for path, n in stats["requests"].items() if n != before.get(path, 0)}
    assert all(path.endswith(DRY_RUN_ALLOWED_WRITES) for path in sent), sent  # only listenKey may go out
    assert client.dry_run_swallowed >= len(called) - 5


def test_the_http_session_of_a_dry_run_client_refuses_writes(venue, isolated):
    settings = EnvSettings(_env_file=None, ENV="dev", DRY_RUN=True, BINANCE_BASE_URL=venue.base_url,
                           BINANCE_API_KEY=venue.api_key, BINANCE_API_SECRET=venue.api_secret)
    client = build_client(settings)
    before = venue.stats()["requests"].get("/fapi/v1/order", 0)
    for verb in ("post", "put", "delete", "patch"):
        with pytest.raises(DryRunViolation):
            getattr(client.session, verb)(venue.base_url + "/fapi/v1/order", data={"symbol": "BTCUSDT"})
    client.dry_run = False  # flipping the flag after construction does not open the session
    with pytest.raises(DryRunViolation):
        client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01", positionSide="LONG")
    assert venue.stats()["requests"].get("/fapi/v1/order", 0) == before
    assert venue.stats()["orders_received"] == {}
    assert client.session.get(venue.base_url + "/fapi/v1/ping").status_code == 200  # reads still go out


@pytest.mark.parametrize("dry_run", [True, False])
def test_websocket_api_methods_never_open_a_socket(monkeypatch, dry_run):
    connects = []
    real_connect = socket.socket.connect

    def recording_connect(self, address):
        connects.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    client = client_class_for("http://127.0.0.1:9")("key-AAAAAA", "secret-BBBBBB", dry_run=dry_run)
    names = websocket_api_names(Client)
    assert "ws_futures_create_order" in names and "ws_futures_cancel_algo_order" in names
    for name in names:
        with pytest.raises(WebSocketApiDisabled):
            result = getattr(client, name)(method="x", signed=True, params=dict(_PARAMS)) \
                if name.startswith("_") else getattr(client, name)(**dict(_PARAMS))
            if inspect.iscoroutine(result):  # the async helpers: awaiting them must fail too
                result.close()
                raise AssertionError(f"{name} returned a coroutine")
    for conn in (client.ws_api, client.ws_future):
        with pytest.raises(WebSocketApiDisabled):
            conn.request("1", {})
    assert connects == []


def test_a_process_start_refused_by_the_gate_exits_1_with_the_preflight_lines(isolated, caplog, capsys):
    from settings.safety_gate import exchange_access_or_exit

    env_file = isolated / ".env"
    env_file.write_text("ENV=mainnet\nDRY_RUN=0\nBINANCE_BASE_URL=https://fapi.binance.com\n")
    caplog.set_level(logging.INFO)
    with pytest.raises(SystemExit) as info:
        exchange_access_or_exit(env_file=env_file, who="executor")
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "executor: REFUSED by the safety gate" in err and "DRY_RUN=0 with ENV=mainnet" in err
    assert "[preflight] FAILED executor: DRY_RUN=0 with ENV=mainnet" in caplog.text
    access = exchange_access_or_exit(env_file=env_file, who="executor", allow_live=True)
    assert access.mode == "mainnet-live" and "LIVE mode accepted via allow_live (executor)" in caplog.text
