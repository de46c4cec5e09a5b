"""Engine records: orders, conditional (algo) orders, positions, accounts, stats, and their Binance JSON.

Numbers are Decimal; views print them as Binance does (strings at the symbol's precision, money with 8
decimals).
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar, overload

from .filters import SymbolSpec

_T = TypeVar("_T")
_K = TypeVar("_K")

ZERO = Decimal(0)
ONE = Decimal(1)
Q8 = Decimal("0.00000001")
CONDITIONAL_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
MAX_LEVERAGE = 125
DEFAULT_LEVERAGE = 20


def q8(x: Decimal) -> Decimal:
    return x.quantize(Q8, rounding=ROUND_HALF_UP)


def s8(x: Decimal) -> str:
    return f"{q8(x):.8f}"


def norm(x: Decimal) -> str:
    """Plain string without exponent and trailing zeros ('0' for zero)."""
    if x == 0:
        return "0"
    s = format(x.normalize(), "f")
    return s


# ------------------------------------------------------------------------------------------ records

@dataclass
class Order:
    order_id: int
    client_id: str
    symbol: str
    side: str
    position_side: str
    type: str
    orig_type: str
    tif: str
    qty: Decimal
    price: Decimal
    reduce_only: bool
    close_position: bool
    time: int
    update_time: int
    stop_price: Decimal = ZERO
    status: str = "NEW"
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    closing: bool = False          # hedge-mode close (SELL LONG / BUY SHORT) or one-way reduceOnly
    reserved_margin: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def avg_price(self) -> Decimal:
        return self.cum_quote / self.executed if self.executed else ZERO

    def view(self, spec: SymbolSpec, ack: bool = False) -> dict:
        """Binance's order JSON. ack=True is the newOrderRespType=ACK snapshot: the order as accepted,
        before matching (status NEW, nothing executed), which is what mainnet answers by default."""
        executed = ZERO if ack else self.executed
        cum = ZERO if ack else self.cum_quote
        avg = (cum / executed) if executed else ZERO
        return {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": "NEW" if ack else self.status,
            "clientOrderId": self.client_id,
            "price": spec.px(self.price) if self.price else "0",
            "avgPrice": f"{avg:.{max(spec.price_decimals, 2) + 3}f}" if executed else "0.00",
            "origQty": spec.qty(self.qty),
            "executedQty": spec.qty(executed),
            "cumQty": spec.qty(executed),
            "cumQuote": f"{cum:.{spec.price_decimals + spec.qty_decimals}f}" if cum else "0",
            "timeInForce": self.tif,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": self.close_position,
            "side": self.side,
            "positionSide": self.position_side,
            "stopPrice": spec.px(self.stop_price) if self.stop_price else "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.orig_type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0,
            "time": self.time,
            "updateTime": self.time if ack else self.update_time,
        }


@dataclass
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    symbol: str
    side: str
    position_side: str
    order_type: str
    qty: Decimal
    trigger_price: Decimal
    price: Decimal
    tif: str
    reduce_only: bool
    close_position: bool
    working_type: str
    create_time: int
    update_time: int
    status: str = "NEW"
    trigger_time: int = 0
    actual_order_id: int | None = None
    actual_price: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.status == "NEW"

    def triggers_above(self) -> bool:
        """True when the trigger fires on the price rising to the trigger (BUY stop / SELL take-profit)."""
        stop = self.order_type in ("STOP", "STOP_MARKET")
        return (self.side == "BUY") == stop

    def view(self, spec: SymbolSpec) -> dict:
        return {
            "algoId": self.algo_id,
            "clientAlgoId": self.client_algo_id,
            "algoType": "CONDITIONAL",
            "orderType": self.order_type,
            "symbol": self.symbol,
            "side": self.side,
            "positionSide": self.position_side,
            "timeInForce": self.tif,
            "quantity": spec.qty(self.qty) if self.qty else "0",
            "algoStatus": self.status,
            "actualOrderId": str(self.actual_order_id) if self.actual_order_id else "",
            "actualPrice": spec.px(self.actual_price) if self.actual_price else "0",
            "triggerPrice": spec.px(self.trigger_price),
            "price": spec.px(self.price) if self.price else "0",
            "icebergQuantity": None,
            "tpTriggerPrice": "0",
            "tpPrice": "0",
            "slTriggerPrice": "0",
            "slPrice": "0",
            "tpOrderType": "",
            "selfTradePreventionMode": "EXPIRE_MAKER",
            "workingType": self.working_type,
            "priceMatch": "NONE",
            "closePosition": self.close_position,
            "priceProtect": False,
            "reduceOnly": self.reduce_only,
            "createTime": self.create_time,
            "updateTime": self.update_time,
            "triggerTime": self.trigger_time,
            "goodTillDate": 0,
        }


_POSITION_SEQ = itertools.count(1)


@dataclass
class Position:
    symbol: str
    side: str                       # BOTH / LONG / SHORT
    amt: Decimal = ZERO             # signed; SHORT legs are negative, as Binance prints them
    entry: Decimal = ZERO
    isolated_wallet: Decimal = ZERO
    update_time: int = 0
    seq: int = field(default_factory=lambda: next(_POSITION_SEQ))   # creation order (= dict order)


_V = TypeVar("_V")


class _CountedIndex(dict[int, _V]):
    """Open records by id, with open records per symbol and the open client ids counted, so the engine knows
    them in O(1) however many are open. Subclasses say what a record's symbol and client id are, and may keep
    more figures in the `_added` / `_removed` hooks."""

    def __init__(self) -> None:
        super().__init__()
        self.by_symbol: defaultdict[str, int] = defaultdict(int)
        self._cids: defaultdict[Any, int] = defaultdict(int)

    def _symbol(self, v: _V) -> str:
        raise NotImplementedError

    def _cid(self, v: _V) -> Any:
        raise NotImplementedError

    def _added(self, k: int, v: _V) -> None:
        pass

    def _removed(self, k: int) -> None:
        pass

    def __setitem__(self, k: int, v: _V) -> None:
        if k in self:
            self.pop(k)
        super().__setitem__(k, v)
        self.by_symbol[self._symbol(v)] += 1
        self._cids[self._cid(v)] += 1
        self._added(k, v)

    @overload
    def pop(self, k: int, /) -> _V: ...
    @overload
    def pop(self, k: int, default: _V, /) -> _V: ...
    @overload
    def pop(self, k: int, default: _T, /) -> _V | _T: ...

    def pop(self, k: int, *default: object) -> object:
        if k not in self:
            if default:
                return default[0]
            raise KeyError(k)
        v = super().pop(k)
        _dec(self.by_symbol, self._symbol(v))
        _dec(self._cids, self._cid(v))
        self._removed(k)
        return v

    def __delitem__(self, k: int) -> None:
        self.pop(k)

    def clear(self) -> None:
        super().clear()
        self.by_symbol.clear()
        self._cids.clear()


class OpenOrders(_CountedIndex["Order"]):
    """Open orders by id, their counts (see _CountedIndex; client ids are (symbol, clientOrderId) pairs), and
    the total reserved (open-order initial) margin as a float (for the engine's bounds only; exact figures are
    always summed from the orders themselves). An order's reserved margin is taken when it is inserted; the
    engine never changes it while open."""

    def __init__(self) -> None:
        super().__init__()
        self._reserved: dict[int, float] = {}
        self.reserved_total = 0.0

    def _symbol(self, v: Order) -> str:
        return v.symbol

    def _cid(self, v: Order) -> tuple[str, str]:
        return (v.symbol, v.client_id)

    def _added(self, k: int, v: Order) -> None:
        r = float(v.reserved_margin)
        self._reserved[k] = r
        self.reserved_total += r

    def _removed(self, k: int) -> None:
        self.reserved_total -= self._reserved.pop(k)
        if not self:
            self.reserved_total = 0.0          # no float residue once empty

    def clear(self) -> None:
        super().clear()
        self._reserved.clear()
        self.reserved_total = 0.0

    def has_client_id(self, symbol: str, cid: str) -> bool:
        return (symbol, cid) in self._cids


class OpenAlgos(_CountedIndex["AlgoOrder"]):
    """Open conditional orders by id, their counts (see _CountedIndex; client ids are clientAlgoIds)."""

    def _symbol(self, v: AlgoOrder) -> str:
        return v.symbol

    def _cid(self, v: AlgoOrder) -> str:
        return v.client_algo_id

    def has_client_id(self, cid: str) -> bool:
        return cid in self._cids


def _dec(counts: dict[_K, int], key: _K) -> None:
    n = counts[key] - 1
    if n:
        counts[key] = n
    else:
        del counts[key]


@dataclass
class SymbolSettings:
    leverage: int = DEFAULT_LEVERAGE
    margin_type: str = "CROSSED"    # or ISOLATED


@dataclass
class Account:
    api_key: str
    api_secret: str
    wallet: Decimal
    dual: bool = False
    update_time: int = 0
    settings: defaultdict[str, SymbolSettings] = field(default_factory=lambda: defaultdict(SymbolSettings))
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)   # (symbol, side) -> Position
    orders: dict[int, Order] = field(default_factory=dict)       # order_id -> Order (all, history)
    open_orders: OpenOrders = field(default_factory=OpenOrders)   # order_id -> Order
    by_client_id: dict[tuple[str, str], Order] = field(default_factory=dict)  # (symbol, clientOrderId) -> latest
    algo: dict[int, AlgoOrder] = field(default_factory=dict)     # algo_id -> AlgoOrder
    open_algo: OpenAlgos = field(default_factory=OpenAlgos)
    algo_by_client: dict[str, AlgoOrder] = field(default_factory=dict)   # clientAlgoId -> AlgoOrder
    trades: defaultdict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))   # symbol -> rows
    income: list[dict] = field(default_factory=list)
    label: str = "account-1"          # how stats name the account: never any character of the API key
    multi_assets: bool = False        # multiAssetsMargin (answered and stored; margin stays USDT-only)

    def pos(self, symbol: str, side: str) -> Position:
        p = self.positions.get((symbol, side))
        if p is None:
            p = self.positions[(symbol, side)] = Position(symbol, side)
        return p

    def live_positions(self) -> list[Position]:
        return [p for p in self.positions.values() if p.amt != 0]

    def isolated(self, symbol: str) -> bool:
        return self.settings[symbol].margin_type == "ISOLATED"

    def has_live_leg(self, symbol: str) -> bool:
        for side in ("BOTH", "LONG", "SHORT"):
            p = self.positions.get((symbol, side))
            if p is not None and p.amt:
                return True
        return False

    def active_on(self, symbol: str) -> bool:
        """Anything on `symbol` the clock can act on: an open order, a conditional order or a position."""
        return (symbol in self.open_orders.by_symbol or symbol in self.open_algo.by_symbol
                or self.has_live_leg(symbol))


class Stats:
    def __init__(self) -> None:
        self.orders_received: defaultdict[str, int] = defaultdict(int)     # by type
        self.orders_accepted: defaultdict[str, int] = defaultdict(int)
        self.orders_rejected: defaultdict[str, int] = defaultdict(int)
        self.rejects_by_code: defaultdict[int, int] = defaultdict(int)
        self.fills = 0
        self.funding_events = 0
        self.liquidations: list[dict] = []

    def view(self) -> dict:
        return {
            "orders_received": dict(self.orders_received),
            "orders_accepted": dict(self.orders_accepted),
            "orders_rejected": dict(self.orders_rejected),
            "rejects_by_code": {str(k): v for k, v in self.rejects_by_code.items()},
            "fills": self.fills,
            "funding_events": self.funding_events,
            "liquidations": len(self.liquidations),
            "liquidation_events": self.liquidations[-100:],
        }
