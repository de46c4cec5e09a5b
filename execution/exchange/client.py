"""The python-binance `Client`, bound to one base URL, with the DRY_RUN write gate (docs/EXCHANGE.md).

`HedgeClient._request` is the single lowest point through which every HTTP request of Hedge leaves the
process. With `dry_run=True` every non-GET request (order, batch orders, cancel, cancel-all, leverage,
margin type, position mode, ...) is logged with its full parameters and answered with a synthetic body
instead of being sent. Reads (GET) still go out: balances, positions and market data are real in a dry run.

Backstops, so no send path of python-binance 1.0.37 is left open:
- the requests session itself refuses any non-GET request in a dry run (`_GatedSession`), for code that
  calls `client.session.post(...)` directly;
- the WebSocket-API (`ws_*` methods: `ws_futures_create_order`, `ws_create_order`, ... and the
  `_ws_*_request` helpers under them, plus the `ws_api` / `ws_future` socket objects) is unreachable on
  HedgeClient in every mode: Hedge speaks REST only, and those paths would open a socket to Binance's real
  WebSocket host whatever the base URL says;
- the constructor refuses any host that is not exactly mainnet or loopback, and a live (dry_run=False)
  mainnet client without `allow_live=True`, which only `settings.safety_gate` grants.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from binance.client import Client

from settings.safety_gate import SafetyGateError, endpoint_kind

log = logging.getLogger("hedge.exutil")

# Non-GET endpoints that change nothing on the account and may go out in a dry run.
DRY_RUN_ALLOWED_WRITES = ("/listenKey",)


def client_class_for(base_url: str) -> type[HedgeClient]:
    """A `HedgeClient` subclass whose URL class attributes all point at `base_url`.

    A subclass, not instance attributes: `Client.__init__` runs `.format(tld)` on the class URLs and may
    ping during construction, so the URLs must be right before `__init__` runs.
    """
    return type("HedgeClient", (HedgeClient,), binance_url_attrs(base_url))


def binance_url_attrs(base_url: str) -> dict[str, Any]:
    """python-binance's URL class attributes for `base_url`. Every URL family it knows (spot, margin,
    coin-M, options, websocket API) is pointed at the same base, so a stray call can never reach an address
    we did not choose. Also used by the tests for plain `Client`/`AsyncClient` subclasses against the venue."""
    base = base_url.rstrip("/")
    ws_base = "ws" + base[4:] if base.startswith("http") else base
    attrs: dict[str, Any] = {
        "BASE_URL": base,
        "API_URL": base + "/api",
        "MARGIN_API_URL": base + "/sapi",
        "FUTURES_URL": base + "/fapi",
        "FUTURES_DATA_URL": base + "/futures/data",
        "FUTURES_COIN_URL": base + "/dapi",
        "FUTURES_COIN_DATA_URL": base + "/futures/data",
        "OPTIONS_URL": base + "/eapi",
        "PAPI_URL": base + "/papi",
        "WEBSITE_URL": base,
        "WS_API_URL": ws_base + "/ws-api/v3",
        "WS_FUTURES_URL": ws_base + "/ws-fapi/v1",
    }
    if base == "https://fapi.binance.com":
        # Mainnet: keep python-binance's own spot/sapi/dapi hosts (never used by Hedge, but correct).
        for key in ("API_URL", "MARGIN_API_URL", "FUTURES_COIN_URL", "FUTURES_COIN_DATA_URL", "OPTIONS_URL",
                    "PAPI_URL", "WEBSITE_URL", "WS_API_URL", "WS_FUTURES_URL"):
            attrs.pop(key)
    return attrs


class WebSocketApiDisabled(RuntimeError):
    """A python-binance WebSocket-API path was called on a HedgeClient: Hedge sends over REST only."""


class DryRunViolation(RuntimeError):
    """A write reached the HTTP session of a dry-run client without passing `_request`'s gate."""


# The WebSocket-API plumbing under every ws_* method of python-binance 1.0.37 (Client and AsyncClient).
_WS_HELPERS = ("_ws_api_request", "_ws_api_request_sync", "_ws_futures_api_request", "_ws_futures_api_request_sync")


def websocket_api_names(cls: type = Client) -> tuple[str, ...]:
    """Every WebSocket-API method of a python-binance client class (`ws_*`) and the helpers under them."""
    return tuple(sorted(n for n in dir(cls) if n.startswith("ws_") and callable(getattr(cls, n)))) + _WS_HELPERS


def _ws_disabled(name: str) -> Any:
    def disabled(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise WebSocketApiDisabled(
            f"{name}: the WebSocket API is disabled on HedgeClient (Hedge sends over REST only, through the "
            "DRY_RUN gate); use the REST method or ExchangeAdapter"
        )

    disabled.__name__ = name
    return disabled


class _NoWebSocket:
    """Stands in for python-binance's `ws_api` / `ws_future` connections: any use raises, nothing connects."""

    def __getattr__(self, name: str) -> Any:
        raise WebSocketApiDisabled(f"ws_api.{name}: the WebSocket API is disabled on HedgeClient")


class _GatedSession(requests.Session):
    """Backstop under `_request`: in a dry run no non-GET request leaves through this session, whoever calls it."""

    dry_run = True

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        verb = method.decode() if isinstance(method, bytes) else str(method)
        target = url.decode() if isinstance(url, bytes) else str(url)
        if self.dry_run and verb.upper() not in ("GET", "HEAD", "OPTIONS") and \
                not urlsplit(target).path.endswith(DRY_RUN_ALLOWED_WRITES):
            raise DryRunViolation(f"DRY_RUN: {verb.upper()} {urlsplit(target).path} refused at the HTTP session")
        return super().request(method, url, *args, **kwargs)


class HedgeClient(Client):
    BASE_URL = ""

    def __init__(self, api_key: str, api_secret: str, *, dry_run: bool, timeout: float = 10.0,
                 connect_timeout: float = 3.05, recv_window_ms: int = 5000, allow_live: bool = False):
        base = type(self).BASE_URL or "https://fapi.binance.com"  # plain HedgeClient: python-binance's mainnet
        kind = endpoint_kind(base)
        if kind not in ("mainnet", "local"):
            raise SafetyGateError([f"HedgeClient for {base}: a {kind} host; only https://fapi.binance.com or a "
                                   "loopback venue may be used (no testnet anywhere)"])
        if kind == "mainnet" and not dry_run and not allow_live:
            raise SafetyGateError([f"HedgeClient for {base} with dry_run=False: a live mainnet client needs the "
                                   "explicit opt-in (settings.safety_gate.require_exchange_access(allow_live=True))"])
        self.dry_run = bool(dry_run)
        self.REQUEST_RECVWINDOW = recv_window_ms
        # ping=False: Client() would otherwise call the *spot* /api/v3/ping on construction.
        super().__init__(api_key, api_secret, ping=False,
                         requests_params={"timeout": (connect_timeout, timeout)})
        self.ws_api = self.ws_future = _NoWebSocket()  # never connects
        self.dry_run_swallowed = 0  # count of writes the gate kept in-process

    def close_connection(self) -> None:
        if getattr(self, "session", None) is not None:  # a refused __init__ leaves no session behind
            self.session.close()

    def _init_session(self) -> requests.Session:
        session = _GatedSession()
        session.dry_run = self.dry_run
        session.headers.update(self._get_headers())
        return session

    def _request(self, method, uri: str, signed: bool, force_params: bool = False, **kwargs):
        if self.dry_run and method.lower() != "get":
            path = urlsplit(uri).path
            if not path.endswith(DRY_RUN_ALLOWED_WRITES):
                return self._swallow(method.upper(), path, dict(kwargs.get("data") or {}))
        return super()._request(method, uri, signed, force_params, **kwargs)

    def _swallow(self, method: str, path: str, params: dict) -> dict:
        # `params` is the unsigned dict: python-binance adds timestamp/signature later, so none is logged.
        self.dry_run_swallowed += 1
        self.response = None
        log.info("[exutil] DRY_RUN swallowed %s %s %s", method, path,
                 json.dumps({k: _plain(v) for k, v in params.items()}, sort_keys=True))
        return synthetic_response(method, path, params)


for _name in websocket_api_names():
    setattr(HedgeClient, _name, _ws_disabled(_name))


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) or value is None else str(value)


def synthetic_response(method: str, path: str, params: Mapping[str, Any]) -> dict:
    """What a dry-run write returns: shaped like Binance's answer, marked `dryRun: true`."""
    now = int(time.time() * 1000)
    p = {k: _plain(v) for k, v in params.items()}
    if path.endswith("/order") and method == "POST":
        return {
            "dryRun": True, "orderId": 0, "symbol": p.get("symbol", ""), "status": "DRY_RUN",
            "clientOrderId": p.get("newClientOrderId", ""), "price": p.get("price", "0"), "avgPrice": "0",
            "origQty": p.get("quantity", "0"), "executedQty": "0", "cumQuote": "0",
            "timeInForce": p.get("timeInForce", "GTC"), "type": p.get("type", ""),
            "reduceOnly": str(p.get("reduceOnly", "false")).lower() == "true", "side": p.get("side", ""),
            "positionSide": p.get("positionSide", "BOTH"), "updateTime": now,
        }
    if path.endswith("/order") and method == "DELETE":
        return {"dryRun": True, "orderId": int(p.get("orderId", 0) or 0), "symbol": p.get("symbol", ""),
                "clientOrderId": p.get("origClientOrderId", ""), "status": "DRY_RUN", "updateTime": now}
    if path.endswith("/algoOrder") and method == "POST":
        return {
            "dryRun": True, "algoId": 0, "clientAlgoId": p.get("clientAlgoId", ""), "algoType": "CONDITIONAL",
            "orderType": p.get("type", ""), "symbol": p.get("symbol", ""), "side": p.get("side", ""),
            "positionSide": p.get("positionSide", "BOTH"), "quantity": p.get("quantity", "0"),
            "algoStatus": "DRY_RUN", "triggerPrice": p.get("triggerPrice", "0"),
            "workingType": p.get("workingType", "CONTRACT_PRICE"),
            "closePosition": str(p.get("closePosition", "false")).lower() == "true",
            "reduceOnly": str(p.get("reduceOnly", "false")).lower() == "true",
            "actualOrderId": "", "actualPrice": "0", "createTime": now, "updateTime": now, "triggerTime": 0,
        }
    if path.endswith("/algoOrder") and method == "DELETE":
        return {"dryRun": True, "algoId": int(p.get("algoId", 0) or 0), "clientAlgoId": p.get("clientAlgoId", ""),
                "code": "200", "msg": "DRY_RUN: not sent"}
    if path.endswith("/leverage"):
        return {"dryRun": True, "symbol": p.get("symbol", ""), "leverage": int(p.get("leverage", 0) or 0),
                "maxNotionalValue": "0"}
    return {"dryRun": True, "code": 200, "msg": "DRY_RUN: not sent"}
