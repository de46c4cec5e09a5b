"""What the Engine's mixins (venue/algo.py, venue/advance.py) may use of the Engine they are mixed into.

Declarations only, for the type checker: the attributes Engine.__init__ sets and the methods one part
calls of another. Nothing here exists at run time (the methods are declared under TYPE_CHECKING), so the
method resolution order of Engine is exactly what it was without this base.
"""
from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .book import BookModel
    from .brackets import Brackets
    from .errors import VenueError
    from .filters import SymbolSpec
    from .records import Account, AlgoOrder, Order, Position, Stats
    from .replay import Market


class EngineState:
    specs: dict[str, SymbolSpec]
    brackets: dict[str, Brackets]
    eager: bool
    market: Market
    book: BookModel
    maker_fee: Decimal
    taker_fee: Decimal
    accounts: dict[str, Account]
    stats: Stats
    last_sync: int
    _ids: itertools.count[int]
    _trade_ids: itertools.count[int]
    _algo_ids: itertools.count[int]
    _tran_ids: itertools.count[int]
    _rank: dict[str, int]

    if TYPE_CHECKING:
        # engine.py
        def now(self) -> int: ...
        def spec(self, symbol: str | None) -> SymbolSpec: ...
        def mark(self, symbol: str, ts: int | None = None) -> Decimal: ...
        def _unpnl(self, p: Position, mark: Decimal) -> Decimal: ...
        def _count_reject(self, otype: str, err: VenueError) -> None: ...
        def _common_order_fields(self, acct: Account, params: dict, spec: SymbolSpec) -> tuple[str, str, bool]: ...
        def _closing_check(self, acct: Account, symbol: str, side: str, pside: str, reduce_only: bool,
                           qty: Decimal | None) -> bool: ...
        def _fill(self, acct: Account, order: Order, price: Decimal, qty: Decimal, maker: bool,
                  ts: int) -> None: ...
        def _trade(self, acct: Account, symbol: str, side: str, pside: str, qty: Decimal, price: Decimal,
                   fee_rate: Decimal, ts: int, order: Order, fee_override: Decimal | None = None) -> Decimal: ...
        def _income(self, acct: Account, symbol: str, kind: str, amount: Decimal, ts: int,
                    trade_id: int | None = None) -> None: ...
        def _cancel(self, acct: Account, o: Order) -> None: ...

        # advance.py
        def sync(self, now: int) -> None: ...
        def _activate(self, symbol: str) -> None: ...
        def _track_order(self, acct: Account, o: Order) -> None: ...
        def _track_algo(self, acct: Account, al: AlgoOrder) -> None: ...

        # algo.py
        def _trigger_algo(self, acct: Account, a: AlgoOrder, ts: int, price: float) -> Order | None: ...
