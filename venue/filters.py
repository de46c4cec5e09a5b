"""Exchange filters from an exchangeInfo document, as Decimals, and the order checks Binance applies.

Check order follows what USD-M returns for a bad order: precision (more decimals than pricePrecision /
quantityPrecision is -1111), price filter (min / max / tick), then lot size
(LOT_SIZE for LIMIT, MARKET_LOT_SIZE for MARKET), then PERCENT_PRICE against the mark, then MIN_NOTIONAL.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.numbers import to_decimal

from .errors import VenueError

ZERO = Decimal(0)


def dec(x: object) -> Decimal:
    return to_decimal(x)


def decimals_of(step: Decimal) -> int:
    """Number of decimals a tick/step needs when printed ('0.10' -> 1, '1' -> 0)."""
    exponent = step.normalize().as_tuple().exponent
    if not isinstance(exponent, int):           # 'n' / 'N' / 'F': NaN, sNaN, Infinity
        raise ValueError(f"not a finite number: {step}")
    return max(0, -exponent)


@dataclass(frozen=True)
class SymbolSpec:
    symbol: str
    raw: dict                      # the exchangeInfo symbol entry, served verbatim
    tick: Decimal
    min_price: Decimal
    max_price: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    mkt_step: Decimal
    mkt_min_qty: Decimal
    mkt_max_qty: Decimal
    min_notional: Decimal
    min_notional_text: str         # as Binance prints it inside the -4164 message
    mult_up: Decimal
    mult_down: Decimal
    maint_margin: Decimal          # fraction (maintMarginPercent / 100)
    liquidation_fee: Decimal       # fraction of notional
    price_decimals: int
    qty_decimals: int
    price_precision: int           # pricePrecision / quantityPrecision: more decimals than these is -1111
    qty_precision: int
    max_num_orders: int
    max_num_algo_orders: int

    @classmethod
    def from_exchange_info(cls, s: dict) -> SymbolSpec:
        f = {x["filterType"]: x for x in s.get("filters", [])}
        pf = f.get("PRICE_FILTER", {})
        lot = f.get("LOT_SIZE", {})
        mlot = f.get("MARKET_LOT_SIZE", lot)
        pp = f.get("PERCENT_PRICE", {})
        mn = f.get("MIN_NOTIONAL", {})
        tick = dec(pf.get("tickSize", "0.01"))
        step = dec(lot.get("stepSize", "0.001"))
        notional = dec(mn.get("notional", "5"))
        return cls(
            symbol=s["symbol"],
            raw=s,
            tick=tick,
            min_price=dec(pf.get("minPrice", "0")),
            max_price=dec(pf.get("maxPrice", "0")),
            step=step,
            min_qty=dec(lot.get("minQty", step)),
            max_qty=dec(lot.get("maxQty", "0")),
            mkt_step=dec(mlot.get("stepSize", step)),
            mkt_min_qty=dec(mlot.get("minQty", step)),
            mkt_max_qty=dec(mlot.get("maxQty", "0")),
            min_notional=notional,
            min_notional_text=format(notional.normalize(), "f"),
            mult_up=dec(pp.get("multiplierUp", "1.05")),
            mult_down=dec(pp.get("multiplierDown", "0.95")),
            maint_margin=dec(s.get("maintMarginPercent", "2.5")) / 100,
            liquidation_fee=dec(s.get("liquidationFee", "0.0125")),
            price_decimals=decimals_of(tick),
            qty_decimals=decimals_of(step),
            price_precision=int(s.get("pricePrecision", decimals_of(tick))),
            qty_precision=int(s.get("quantityPrecision", decimals_of(step))),
            max_num_orders=int(f.get("MAX_NUM_ORDERS", {}).get("limit", 200)),
            max_num_algo_orders=int(f.get("MAX_NUM_ALGO_ORDERS", {}).get("limit", 10)),
        )

    # -- formatting (Binance prints numbers as strings at the symbol's precision) --
    def px(self, p: Decimal) -> str:
        return f"{p:.{self.price_decimals}f}"

    def qty(self, q: Decimal) -> str:
        return f"{q:.{self.qty_decimals}f}"

    def round_price(self, p: float | Decimal) -> Decimal:
        """Nearest tick (the replayed float path is put on the tick grid)."""
        t = self.tick
        return (dec(p) / t).quantize(Decimal(1)) * t

    # -- checks --
    def check_price(self, price: Decimal) -> None:
        if decimals_of(price) > self.price_precision:
            raise VenueError(-1111)
        if price <= 0:
            raise VenueError(-4001)
        if self.min_price and price < self.min_price:
            raise VenueError(-4013)
        if self.max_price and price > self.max_price:
            raise VenueError(-4002)
        if (price - self.min_price) % self.tick != 0:
            raise VenueError(-4014)

    def check_qty(self, qty: Decimal, market: bool) -> None:
        step, lo, hi = ((self.mkt_step, self.mkt_min_qty, self.mkt_max_qty) if market
                        else (self.step, self.min_qty, self.max_qty))
        if decimals_of(qty) > self.qty_precision:
            raise VenueError(-1111)
        if qty <= 0:
            raise VenueError(-4003)
        if qty < lo:
            raise VenueError(-4004)
        if hi and qty > hi:
            raise VenueError(-4005)
        if (qty - lo) % step != 0:
            raise VenueError(-4023)

    def check_percent_price(self, price: Decimal, mark: Decimal, side: str) -> None:
        """Binance's PERCENT_PRICE is one-sided: a BUY may not bid above mark x multiplierUp, a SELL may
        not offer below mark x multiplierDown (resting far away from the market is allowed)."""
        if side == "BUY" and price > mark * self.mult_up:
            raise VenueError(-4016)
        if side == "SELL" and price < mark * self.mult_down:
            raise VenueError(-4024)

    def check_notional(self, qty: Decimal, price: Decimal) -> None:
        if qty * price < self.min_notional:
            raise VenueError(-4164, self.min_notional_text)
