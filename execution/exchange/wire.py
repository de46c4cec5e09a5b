"""Small pieces the adapter's modules share: loggers, wire constants, LocalRejection, reference builders,
tolerant readers of exchange fields, and the JSON rendering of log lines (docs/EXCHANGE.md)."""
from __future__ import annotations

import logging
import math
from typing import Any

from execution.state_json import StateValueError
from execution.state_json import dumps as _state_dumps

from .errors import InvalidOrderError
from .records import margin_type_name

log = logging.getLogger("hedge.exutil")
exec_log = logging.getLogger("hedge.executor")
# "[ORDER_ERR]" lines belong to the executor's log file whichever process writes them (log_setup routes
# by the `channel` extra first, then by the leading [tag]).
ORDER_ERR_CHANNEL = {"channel": "executor"}
# Rejections the callers expect and handle (docs/EXCHANGE.md "Expected rejections"): logged at WARNING without
# the [ORDER_ERR] tag, which the operator's sweep greps for and expects empty (docs/Runbook.md).
EXPECTED_REJECTS = {
    -5022: "post-only would take liquidity: maker-first reprices or falls back to taker",
    -2022: "reduce-only close larger than the leg: it is already closed (e.g. by its exchange-side stop)",
}
EXPECTED_PROTECTIVE_REJECTS = {-2021: "the price is already past the level: the in-process exit closes the leg"}

SUPPORTED_ORDER_TYPES = ("LIMIT", "MARKET")
MARGIN_TYPES = ("CROSSED", "ISOLATED")
WORKING_TYPES = ("MARK_PRICE", "CONTRACT_PRICE")


class LocalRejection(InvalidOrderError):
    """An order the adapter refused before sending (same code/message Binance would answer with)."""
    kind = "local_reject"


def log_json(obj: Any) -> str:
    """A log line's JSON: the state store's encoder (the one JSON encoder of Hedge), compact and sorted.

    Exchange answers are untrusted: a value the strict encoder refuses (NaN, an odd type) must not turn a
    log line into an exception inside a submit, so it falls back to `repr`.
    """
    try:
        return _state_dumps(_sorted(obj))
    except (StateValueError, TypeError, ValueError, RecursionError):
        return repr(obj)[:2000]


def _sorted(obj: Any) -> Any:
    return {str(k): obj[k] for k in sorted(obj, key=str)} if isinstance(obj, dict) else obj


def order_ref(symbol: str, client_order_id: str | None, order_id: int | None) -> dict[str, Any]:
    """How Binance names one order: origClientOrderId (ours, deterministic) or the exchange's orderId."""
    if not client_order_id and order_id is None:
        raise ValueError("client_order_id or order_id is required")
    if client_order_id:
        return {"symbol": symbol, "origClientOrderId": client_order_id}
    return {"symbol": symbol, "orderId": order_id}


def algo_ref(client_algo_id: str | None, algo_id: int | None) -> dict[str, Any]:
    """How Binance names one algo order: clientAlgoId (ours, deterministic) or algoId. No symbol: the algo
    query/cancel endpoints do not take one."""
    if not client_algo_id and algo_id is None:
        raise ValueError("client_algo_id or algo_id is required")
    return {"clientAlgoId": client_algo_id} if client_algo_id else {"algoId": int(algo_id)}  # type: ignore[arg-type]


def int_or_none(value: Any) -> int | None:
    """An integer field of an exchange answer, or None when it is missing or not an integer."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return int(value) if value is not None else None
    except (TypeError, ValueError, OverflowError):
        return None


def truthy(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def is_dry(resp: Any) -> bool:
    return isinstance(resp, dict) and resp.get("dryRun") is True


def check_margin_type(value: str) -> str:
    mt = margin_type_name(value)
    if mt not in MARGIN_TYPES:
        raise ValueError(f"margin_type must be CROSSED or ISOLATED, got {value!r}")
    return mt
