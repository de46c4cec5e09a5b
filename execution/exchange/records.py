"""Records the adapter hands out. Frozen dataclasses, Decimals for every price/quantity/money value.

Parsers are tolerant: a missing field becomes 0 / "" rather than an exception, because Binance adds and
drops fields between endpoint versions (positionRisk v2 has `leverage` and `marginType`, v3 does not).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.numbers import to_decimal


def _d(doc: Mapping[str, Any], key: str) -> Decimal:
    return to_decimal(doc.get(key))


def _i(doc: Mapping[str, Any], key: str, default: int = 0) -> int:
    value = doc.get(key)
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def margin_type_name(value: Any) -> str | None:
    """Binance spells margin types "CROSSED"/"ISOLATED" in writes and symbolConfig, "cross"/"isolated" in
    positionRisk v2: one spelling, CROSSED / ISOLATED (None when unknown)."""
    if value in (None, ""):
        return None
    v = str(value).strip().upper()
    return {"CROSS": "CROSSED", "ISOLATE": "ISOLATED"}.get(v, v)


# ------------------------------------------------------------------ time and market data

@dataclass(frozen=True)
class ServerTime:
    server_time_ms: int  # the exchange's wall clock (what signatures are checked against)
    offset_ms: int  # server - local, as applied to client.timestamp_offset
    round_trip_ms: float


@dataclass(frozen=True)
class MarkPrice:
    """`GET /fapi/v1/premiumIndex` for one symbol. `time_ms` is the MARKET time of the quote."""
    symbol: str
    mark_price: Decimal
    index_price: Decimal
    last_funding_rate: Decimal
    next_funding_time_ms: int
    interest_rate: Decimal
    time_ms: int

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> MarkPrice:
        return cls(d.get("symbol", ""), _d(d, "markPrice"), _d(d, "indexPrice"), _d(d, "lastFundingRate"),
                   _i(d, "nextFundingTime"), _d(d, "interestRate"), _i(d, "time"))


@dataclass(frozen=True)
class BookTicker:
    symbol: str
    bid_price: Decimal
    bid_qty: Decimal
    ask_price: Decimal
    ask_qty: Decimal
    time_ms: int  # market time of the quote (0 if the venue omits it)

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> BookTicker:
        return cls(d.get("symbol", ""), _d(d, "bidPrice"), _d(d, "bidQty"), _d(d, "askPrice"), _d(d, "askQty"),
                   _i(d, "time"))

    @property
    def mid(self) -> Decimal:
        return (self.bid_price + self.ask_price) / 2


@dataclass(frozen=True)
class Depth:
    last_update_id: int
    bids: tuple[tuple[Decimal, Decimal], ...]  # (price, qty), best first
    asks: tuple[tuple[Decimal, Decimal], ...]
    time_ms: int  # `T` (transaction/market time) when present, else `E`

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Depth:
        def side(rows):
            return tuple((to_decimal(p), to_decimal(q)) for p, q, *_ in rows or ())
        return cls(_i(d, "lastUpdateId"), side(d.get("bids")), side(d.get("asks")), _i(d, "T") or _i(d, "E"))


@dataclass(frozen=True)
class Kline:
    open_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    close_time_ms: int

    @classmethod
    def from_api(cls, row: list) -> Kline:
        return cls(int(row[0]), to_decimal(row[1]), to_decimal(row[2]), to_decimal(row[3]), to_decimal(row[4]),
                   to_decimal(row[5]), int(row[6]) if len(row) > 6 else 0)


# ------------------------------------------------------------------ account

@dataclass(frozen=True)
class Balance:
    asset: str
    balance: Decimal  # wallet balance
    available: Decimal  # availableBalance
    cross_wallet: Decimal
    cross_unrealized_pnl: Decimal
    update_time_ms: int

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Balance:
        return cls(d.get("asset", ""), _d(d, "balance"), _d(d, "availableBalance"), _d(d, "crossWalletBalance"),
                   _d(d, "crossUnPnl"), _i(d, "updateTime"))


@dataclass(frozen=True)
class Position:
    """One leg. In hedge mode a symbol has a LONG and a SHORT leg, each its own record."""
    symbol: str
    position_side: str  # LONG | SHORT (hedge mode) or BOTH (one-way)
    amount: Decimal  # signed as Binance sends it: SHORT legs are negative
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    liquidation_price: Decimal
    notional: Decimal
    leverage: int | None  # positionRisk v2, or the adapter's symbol settings; None when unknown
    margin_type: str | None  # "CROSSED" / "ISOLATED" (v2's "cross"/"isolated" normalised); None when unknown
    update_time_ms: int

    @property
    def qty(self) -> Decimal:
        return abs(self.amount)

    @property
    def is_flat(self) -> bool:
        return self.amount == 0

    @property
    def direction(self) -> str:
        """LONG/SHORT for hedge legs; for one-way BOTH, from the sign."""
        if self.position_side in ("LONG", "SHORT"):
            return self.position_side
        return "LONG" if self.amount > 0 else "SHORT" if self.amount < 0 else "FLAT"

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> Position:
        lev = _i(d, "leverage", 0) or None  # v3 rows have none; garbage is unknown too, never 1x
        return cls(d.get("symbol", ""), d.get("positionSide", "BOTH"), _d(d, "positionAmt"), _d(d, "entryPrice"),
                   _d(d, "markPrice"), _d(d, "unRealizedProfit"), _d(d, "liquidationPrice"), _d(d, "notional"),
                   lev, margin_type_name(d.get("marginType")),
                   _i(d, "updateTime"))


@dataclass(frozen=True)
class OrderState:
    symbol: str
    order_id: int
    client_order_id: str
    side: str
    position_side: str
    type: str
    status: str  # NEW | PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED | REJECTED (| DRY_RUN)
    price: Decimal
    orig_qty: Decimal
    executed_qty: Decimal
    avg_price: Decimal
    reduce_only: bool
    time_in_force: str
    update_time_ms: int
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    OPEN_STATUSES = frozenset({"NEW", "PARTIALLY_FILLED"})

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> OrderState:
        return cls(d.get("symbol", ""), _i(d, "orderId"), d.get("clientOrderId", ""), d.get("side", ""),
                   d.get("positionSide", ""), d.get("type", d.get("origType", "")), d.get("status", ""),
                   _d(d, "price"), _d(d, "origQty"), _d(d, "executedQty"), _d(d, "avgPrice"),
                   _bool(d.get("reduceOnly", False)), d.get("timeInForce", ""),
                   _i(d, "updateTime") or _i(d, "time"), dict(d))


@dataclass(frozen=True)
class UserTrade:
    symbol: str
    trade_id: int
    order_id: int
    side: str
    position_side: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    realized_pnl: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    time_ms: int

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> UserTrade:
        return cls(d.get("symbol", ""), _i(d, "id"), _i(d, "orderId"), d.get("side", ""), d.get("positionSide", ""),
                   _d(d, "price"), _d(d, "qty"), _d(d, "quoteQty"), _d(d, "realizedPnl"), _d(d, "commission"),
                   d.get("commissionAsset", ""), _bool(d.get("maker", False)), _i(d, "time"))


@dataclass(frozen=True)
class SymbolConfig:
    """A symbol's account settings as the exchange reports them (positionRisk v2: `leverage`, `marginType`)."""
    symbol: str
    leverage: int | None
    margin_type: str | None  # CROSSED | ISOLATED

    @classmethod
    def from_position_rows(cls, symbol: str, rows: Any) -> SymbolConfig:
        """From positionRisk v2 rows (one per leg; every leg carries the symbol's settings)."""
        for r in rows or ():
            if r.get("symbol") == symbol and r.get("leverage") not in (None, ""):
                return cls(symbol, int(r["leverage"]), margin_type_name(r.get("marginType")))
        return cls(symbol, None, None)


# ------------------------------------------------------------------ write outcomes

class Outcome(StrEnum):
    ACCEPTED = "accepted"  # the exchange holds the order (maybe found by query after an ambiguous send)
    REJECTED = "rejected"  # definitely not placed: local filter check or exchange rejection (code, reason)
    DRY_RUN = "dry_run"  # nothing left the process
    UNKNOWN = "unknown"  # retries exhausted without learning whether the exchange holds it


@dataclass(frozen=True)
class OrderRequest:
    """What the adapter will send, after quantization; `params` is the exact wire dict (unsigned)."""
    symbol: str
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None
    position_side: str
    reduce_only: bool  # the *intent* (closing); in hedge mode it is never sent as a parameter
    client_order_id: str
    params: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SubmitResult:
    """The outcome of one submit, for orders and protective (algo) orders alike.

    For a protective order `client_order_id` is its clientAlgoId (Binance gives the order it fires the same
    clientOrderId), `request` a ProtectiveRequest and `order` a ProtectiveOrder.
    """
    outcome: Outcome
    client_order_id: str
    request: OrderRequest | ProtectiveRequest | None
    order: OrderState | ProtectiveOrder | None = None
    code: int | None = None  # Binance (or local filter) code for REJECTED / last error for UNKNOWN
    reason: str = ""
    error_kind: str = ""  # taxonomy kind of the error (invalid_order, insufficient_margin, ...)
    attempts: int = 0  # POSTs actually sent
    recovered: bool = False  # ACCEPTED learned by querying after an ambiguous send or a -4116
    local: bool = False  # REJECTED before anything was sent

    @property
    def accepted(self) -> bool:
        return self.outcome is Outcome.ACCEPTED

    @property
    def ok(self) -> bool:
        """Accepted, or a dry run (the caller may proceed as if accepted)."""
        return self.outcome in (Outcome.ACCEPTED, Outcome.DRY_RUN)

    # The order's figures when the exchange told them (an OrderState), else the empty values: what the
    # executor's router and panic close read (docs/Reconciliation.md).
    @property
    def status(self) -> str:
        return self.order.status if self.order is not None else ""

    @property
    def executed_qty(self) -> Decimal:
        return self.order.executed_qty if isinstance(self.order, OrderState) else Decimal(0)

    @property
    def avg_price(self) -> Decimal:
        return self.order.avg_price if isinstance(self.order, OrderState) else Decimal(0)

    @property
    def order_id(self) -> int:
        return int(self.order.order_id or 0) if isinstance(self.order, OrderState) else 0


class CancelOutcome(StrEnum):
    CANCELED = "canceled"
    NOT_OPEN = "not_open"  # -2011/-2013: unknown order, or already filled/cancelled
    REJECTED = "rejected"
    DRY_RUN = "dry_run"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class CancelResult:
    """The outcome of a cancel, for orders and protective orders alike (protective: `client_order_id` is the
    clientAlgoId, `order_id` the algoId, `order` a ProtectiveOrder). NOT_OPEN: unknown, or already filled /
    fired / cancelled / expired (see `order`)."""
    outcome: CancelOutcome
    symbol: str
    client_order_id: str | None = None
    order_id: int | None = None
    order: OrderState | ProtectiveOrder | None = None
    code: int | None = None
    reason: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        """The order is (or, in dry run, would be) no longer open."""
        return self.outcome in (CancelOutcome.CANCELED, CancelOutcome.NOT_OPEN, CancelOutcome.DRY_RUN)


@dataclass(frozen=True)
class SettingResult:
    """Outcome of a setting write (leverage, margin type, position mode)."""
    name: str  # "leverage" | "margin_type" | "position_mode"
    symbol: str | None
    value: str
    changed: bool  # a change request was accepted (False: already so, or dry run)
    dry_run: bool = False
    reason: str = ""


@dataclass(frozen=True)
class SymbolSetup:
    symbol: str
    leverage: SettingResult
    margin_type: SettingResult


# ------------------------------------------------------------------ protective (conditional / algo) orders

PROTECTIVE_KINDS = ("STOP_MARKET", "TAKE_PROFIT_MARKET")


@dataclass(frozen=True)
class ProtectiveOrder:
    """A conditional order on `/fapi/v1/algoOrder` (algoType CONDITIONAL).

    `status` is Binance's algoStatus: NEW (waiting for the trigger), TRIGGERING / TRIGGERED (handed to the
    matching engine), FINISHED (the resulting order is done), CANCELED, REJECTED, EXPIRED (nothing left to
    close); DRY_RUN for a swallowed dry-run send. When it fires, the resulting regular order has
    clientOrderId = `client_algo_id` and orderId = `actual_order_id`.
    """
    symbol: str
    algo_id: int
    client_algo_id: str
    kind: str  # STOP_MARKET | TAKE_PROFIT_MARKET (orderType)
    side: str
    position_side: str
    status: str
    trigger_price: Decimal
    quantity: Decimal  # 0 with close_position
    close_position: bool
    working_type: str
    reduce_only: bool
    actual_order_id: int | None
    actual_price: Decimal
    create_time_ms: int
    update_time_ms: int
    trigger_time_ms: int
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    OPEN_STATUSES = frozenset({"NEW"})
    FIRED_STATUSES = frozenset({"TRIGGERING", "TRIGGERED", "FINISHED"})

    @property
    def is_open(self) -> bool:
        """Waiting for its trigger (and cancellable)."""
        return self.status in self.OPEN_STATUSES

    @property
    def fired(self) -> bool:
        return self.status in self.FIRED_STATUSES

    @classmethod
    def from_api(cls, d: Mapping[str, Any]) -> ProtectiveOrder:
        actual = d.get("actualOrderId")
        try:
            actual_id = int(actual) if actual not in (None, "", 0, "0") else None
        except (TypeError, ValueError):
            actual_id = None
        return cls(d.get("symbol", ""), _i(d, "algoId"), d.get("clientAlgoId", ""),
                   d.get("orderType", d.get("type", "")), d.get("side", ""), d.get("positionSide", ""),
                   d.get("algoStatus", d.get("status", "")), _d(d, "triggerPrice"), _d(d, "quantity"),
                   _bool(d.get("closePosition", False)), d.get("workingType", ""),
                   _bool(d.get("reduceOnly", False)), actual_id, _d(d, "actualPrice"), _i(d, "createTime"),
                   _i(d, "updateTime"), _i(d, "triggerTime"), dict(d))


@dataclass(frozen=True)
class ProtectiveRequest:
    """What the adapter will send to `/fapi/v1/algoOrder`, after quantization (`params`: the wire dict)."""
    symbol: str
    position_side: str  # the leg protected: LONG | SHORT (the wire says BOTH in one-way mode)
    side: str  # SELL protects a LONG leg, BUY a SHORT leg
    kind: str
    trigger_price: Decimal
    quantity: Decimal | None  # None with close_position
    close_position: bool
    working_type: str
    client_algo_id: str
    params: Mapping[str, str] = field(default_factory=dict, compare=False)
