"""The python-binance `Client`, bound to one base URL, with the DRY_RUN write gate.

`HedgeClient._request` is the single lowest point through which every HTTP request of Hedge leaves the
process. With `dry_run=True` every non-GET request (order, cancel, cancel-all, leverage, margin type,
position mode, ...) is logged with its full parameters and answered with a synthetic body instead of being
sent. Reads (GET) still go out: balances, positions and market data are real in a dry run.
"""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Mapping
from urllib.parse import urlsplit

from binance.client import Client

log = logging.getLogger("hedge.exutil")

# Non-GET endpoints that change nothing on the account and may go out in a dry run.
DRY_RUN_ALLOWED_WRITES = ("/listenKey",)


def client_class_for(base_url: str) -> type["HedgeClient"]:
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


class HedgeClient(Client):
    BASE_URL = ""

    def __init__(self, api_key: str, api_secret: str, *, dry_run: bool, timeout: float = 10.0,
                 connect_timeout: float = 3.05, recv_window_ms: int = 5000):
        self.dry_run = bool(dry_run)
        self.REQUEST_RECVWINDOW = recv_window_ms
        # ping=False: Client() would otherwise call the *spot* /api/v3/ping on construction.
        super().__init__(api_key, api_secret, ping=False,
                         requests_params={"timeout": (connect_timeout, timeout)})
        self.dry_run_swallowed = 0  # count of writes the gate kept in-process

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
