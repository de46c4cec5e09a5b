"""Binance USD-M symbol filters: parse, quantize, check. Pure: values in, values out.

The risk core, the TWAP slicer and the exchange adapter all import these names; keep them stable.

Conventions
- Every value is a `Decimal`. Inputs may be Decimal, int, str or float, read by the one parser,
  `core.numbers.to_decimal` (0.1 stays 0.1; a NaN stays NaN and fails every check).
- A filter value of 0 means "no limit" (Binance sends 0 for a disabled bound).
- `percent_up` / `percent_down` are Binance's PERCENT_PRICE *multipliers* as sent (e.g. 1.0500 / 0.9500):
  a LIMIT price must lie in [mark * percent_down, mark * percent_up].
- Violations carry the USD-M futures error code and message Binance answers with (-4014 tick, -4023 step,
  -4164 min notional, ...), so a local rejection reads exactly like the exchange's.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from core.numbers import to_decimal

Number = Decimal | int | str | float

# Working precision for rounding arithmetic: far above any price/qty digits, so every step is exact
# (the default 28 digits would round 0.999...9 (30 nines) up to 1).
_EXACT_PREC = 120
# Quantizing needs the result's every digit: refuse (ValueError) rather than build numbers longer than this.
_MAX_PREC = 10_000

__all__ = [
    "SymbolFilters",
    "FilterViolation",
    "parse_exchange_info",
    "quantize_qty",
    "quantize_price",
    "check_order_filters",
    "decimal_to_str",
    "is_multiple",
    "MARKET_ORDER_TYPES",
]

# Order types whose quantity is checked against MARKET_LOT_SIZE and that carry no limit price.
MARKET_ORDER_TYPES = frozenset({"MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})


def decimal_to_str(value: Decimal) -> str:
    """Plain notation for the wire: no exponent, no trailing zeros ('0.001', '100', '25000.1')."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _coefficient(digits: tuple[int, ...]) -> int:
    return int("".join(map(str, digits)))


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """True when `value` is an integer multiple of `step` (either sign). A step <= 0 is a disabled filter:
    everything passes.

    Total and exact for any finite Decimals, however far apart their magnitudes: it works on the integer
    coefficients (value = v x 10^ev, step = s x 10^es) with Python integers and a modular power, never on
    a quotient that has to fit a decimal context (`value % step` raises DivisionImpossible once
    value / step has more digits than the precision). A non-finite value or step is never a multiple.
    """
    if not step.is_finite():
        return False
    if step <= 0:
        return True
    if not value.is_finite():
        return False
    if not value:
        return True
    _, v_digits, ev = value.as_tuple()
    _, s_digits, es = step.as_tuple()
    shift = es - ev  # type: ignore[operator]  # int exponents: both are finite here
    if s_digits == (1,):  # the usual step, a power of ten: only the value's trailing digits matter
        return shift <= 0 or (shift < len(v_digits) and not any(v_digits[-shift:]))
    v, s = _coefficient(v_digits), _coefficient(s_digits)
    if shift <= 0:  # value = (v x 10^-shift) x 10^es: is v x 10^-shift divisible by s?
        return v * pow(10, -shift, s) % s == 0
    # v must be divisible by s x 10^shift >= 10^shift, impossible when v has no more than shift digits.
    return shift < len(v_digits) and v % (s * 10**shift) == 0


@dataclass(frozen=True)
class SymbolFilters:
    symbol: str
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step_size: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    percent_up: Decimal  # PERCENT_PRICE multiplierUp, e.g. 1.05
    percent_down: Decimal  # PERCENT_PRICE multiplierDown, e.g. 0.95
    status: str = "TRADING"

    @classmethod
    def from_exchange_info(cls, symbol_dict: Mapping[str, Any]) -> SymbolFilters:
        """Build from one entry of `GET /fapi/v1/exchangeInfo` `symbols[]`."""
        by_type = {f.get("filterType"): f for f in symbol_dict.get("filters", ())}
        price = by_type.get("PRICE_FILTER", {})
        lot = by_type.get("LOT_SIZE", {})
        # Binance always sends MARKET_LOT_SIZE on USD-M; fall back to LOT_SIZE if a venue omits it.
        market = by_type.get("MARKET_LOT_SIZE", lot)
        notional = by_type.get("MIN_NOTIONAL", {})
        pct = by_type.get("PERCENT_PRICE", {})
        step = to_decimal(lot.get("stepSize"))
        return cls(
            symbol=str(symbol_dict["symbol"]),
            tick_size=to_decimal(price.get("tickSize")),
            min_price=to_decimal(price.get("minPrice")),
            max_price=to_decimal(price.get("maxPrice")),
            step_size=step,
            min_qty=to_decimal(lot.get("minQty")),
            max_qty=to_decimal(lot.get("maxQty")),
            market_step_size=to_decimal(market.get("stepSize"), step),
            market_min_qty=to_decimal(market.get("minQty")),
            market_max_qty=to_decimal(market.get("maxQty")),
            # USD-M calls it "notional"; the spot API calls it "minNotional". Accept both.
            min_notional=to_decimal(notional.get("notional", notional.get("minNotional"))),
            percent_up=to_decimal(pct.get("multiplierUp")),
            percent_down=to_decimal(pct.get("multiplierDown")),
            status=str(symbol_dict.get("status", "TRADING")),
        )

    def lot(self, market: bool = False) -> tuple[Decimal, Decimal, Decimal]:
        """(step, min, max) for LIMIT (LOT_SIZE) or MARKET (MARKET_LOT_SIZE) orders."""
        if market:
            return self.market_step_size, self.market_min_qty, self.market_max_qty
        return self.step_size, self.min_qty, self.max_qty


@dataclass(frozen=True)
class FilterViolation:
    code: int  # the Binance USD-M error code the exchange would answer with
    reason: str
    name: str = ""  # Binance's symbolic name, e.g. QTY_NOT_INCREASED_BY_STEP_SIZE


def parse_exchange_info(doc: Mapping[str, Any]) -> dict[str, SymbolFilters]:
    """`GET /fapi/v1/exchangeInfo` document -> {symbol: SymbolFilters}."""
    symbols: Iterable[Mapping[str, Any]] = doc.get("symbols", ())
    return {s["symbol"]: SymbolFilters.from_exchange_info(s) for s in symbols}


def _quantize_to(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """Exact rounding to a multiple of `step`, via the remainder under a context wide enough for every digit."""
    if not value.is_finite():
        # NaN/inf cannot be rounded onto a grid; never pass them on silently as a "quantized" value
        raise ValueError(f"cannot round {value} to a step of {step}: not a finite number")
    if step <= 0:
        return value
    # `%` is exact (and does not raise) only while the quotient value / step fits the precision, and the result
    # needs every digit from the value's first to the step's last: 120 digits unless the numbers need more.
    need = max(value.adjusted() - step.as_tuple().exponent, len(value.as_tuple().digits)) + 2  # type: ignore[operator]  # finite: int exponent
    if need > _MAX_PREC:
        if is_multiple(value, step):  # already on the grid (e.g. 1E+999999999 on a 0.001 step)
            return value
        raise ValueError(f"{value} is too large to round to a step of {step} exactly")
    with localcontext() as ctx:
        ctx.prec = max(_EXACT_PREC, need)
        return _quantize_exact(value, step, rounding)


def _quantize_exact(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    rem = value % step  # exact under _EXACT_PREC; same sign as value
    toward_zero = value - rem
    if rem == 0:
        out = toward_zero
    elif rounding == ROUND_DOWN:
        out = toward_zero
    elif rounding == ROUND_FLOOR:
        out = toward_zero - step if rem < 0 else toward_zero
    elif rounding == ROUND_CEILING:
        out = toward_zero + step if rem > 0 else toward_zero
    else:  # ROUND_HALF_UP: ties away from zero
        away = toward_zero + (step if rem > 0 else -step)
        out = away if abs(rem) * 2 >= step else toward_zero
    # Give the result the step's exponent (0.001 -> 3 places, 1 -> none) so it prints the way the exchange
    # expects. Not for a step like 1E+1: its exponent would print the result in scientific notation.
    exp = step.as_tuple().exponent
    if isinstance(exp, int) and exp <= 0 and out.as_tuple().exponent != exp:
        try:
            out = out.quantize(step)
        except InvalidOperation:  # more digits than the context holds: keep the exact value
            pass
    return out


def quantize_qty(qty: Number, filters: SymbolFilters, market: bool = False) -> Decimal:
    """Round a quantity DOWN to the step (LOT_SIZE, or MARKET_LOT_SIZE when `market`).

    Toward zero for negative input too, so the magnitude never grows: we never trade more than asked.
    The result may be below min_qty (even 0): `check_order_filters` reports that; this never rounds up.
    """
    step = filters.lot(market)[0]
    return _quantize_to(to_decimal(qty), step, ROUND_DOWN)


def quantize_price(price: Number, filters: SymbolFilters, side: str | None = None) -> Decimal:
    """Round a price to the tick. Passive rounding: BUY rounds down, SELL rounds up, None = nearest.

    Passive means the rounded price is never more aggressive than asked: a buyer never pays more, a
    seller never sells cheaper. Ties (None) round half up.
    """
    side_u = side.upper() if side else None
    if side_u not in (None, "BUY", "SELL"):
        raise ValueError(f"side must be BUY, SELL or None, got {side!r}")
    rounding = {"BUY": ROUND_FLOOR, "SELL": ROUND_CEILING, None: ROUND_HALF_UP}[side_u]
    return _quantize_to(to_decimal(price), filters.tick_size, rounding)


def check_order_filters(
    filters: SymbolFilters,
    side: str,
    qty: Number,
    price: Number | None = None,
    *,
    order_type: str = "LIMIT",
    reduce_only: bool = False,
    mark_price: Number | None = None,
) -> list[FilterViolation]:
    """Every filter the order breaks, as Binance would report it; [] means it would pass.

    Listed in the order Binance checks them (price filter, lot size, percent price, min notional), so
    `[0]` is the error the exchange itself would have answered with.

    - qty: LOT_SIZE for priced orders, MARKET_LOT_SIZE for MARKET types (min, max, step).
    - price (when given): PRICE_FILTER (min, max, tick) and, with `mark_price`, PERCENT_PRICE.
    - notional = qty * (price, or mark_price for MARKET orders) must reach MIN_NOTIONAL unless the order
      only reduces a position (`reduce_only`: a reduceOnly order in one-way mode, or a closing leg in
      hedge mode). Without any price the notional cannot be judged here and is not checked.
    """
    out: list[FilterViolation] = []
    side_u = str(side).upper()
    if side_u not in ("BUY", "SELL"):
        out.append(FilterViolation(-1117, "Invalid side.", "INVALID_SIDE"))
    otype = str(order_type).upper()
    market = otype in MARKET_ORDER_TYPES
    q = to_decimal(qty)
    step, min_q, max_q = filters.lot(market)

    p = to_decimal(price) if price is not None and not market else None
    if p is not None:
        if p <= 0:
            out.append(FilterViolation(-4001, "Price less than 0.", "PRICE_LESS_THAN_ZERO"))
        else:
            if filters.min_price > 0 and p < filters.min_price:
                out.append(FilterViolation(-4013, "Price less than min price.",
                                           "PRICE_LESS_THAN_MIN_PRICE"))
            if filters.max_price > 0 and p > filters.max_price:
                out.append(FilterViolation(-4002,
                                           "Price greater than max price.",
                                           "PRICE_GREATER_THAN_MAX_PRICE"))
            if not is_multiple(p, filters.tick_size):
                out.append(FilterViolation(-4014,
                                           "Price not increased by tick size.",
                                           "PRICE_NOT_INCREASED_BY_TICK_SIZE"))

    if q <= 0:
        out.append(FilterViolation(-4003, "Quantity less than or equal to zero.", "QTY_LESS_THAN_ZERO"))
    else:
        if min_q > 0 and q < min_q:
            out.append(FilterViolation(-4004, "Quantity less than min quantity.",
                                       "QTY_LESS_THAN_MIN_QTY"))
        if max_q > 0 and q > max_q:
            out.append(FilterViolation(-4005, "Quantity greater than max quantity.",
                                       "QTY_GREATER_THAN_MAX_QTY"))
        if not is_multiple(q, step):
            out.append(FilterViolation(-4023, "Qty not increased by step size.",
                                       "QTY_NOT_INCREASED_BY_STEP_SIZE"))

    mark = to_decimal(mark_price) if mark_price is not None else None
    if p is not None and p > 0 and mark is not None and mark > 0:
        if filters.percent_up > 0 and p > mark * filters.percent_up:
            out.append(FilterViolation(-4016, "Price is higher than mark price multiplier cap.",
                                       "PRICE_HIGHTER_THAN_MULTIPLIER_UP"))
        if filters.percent_down > 0 and p < mark * filters.percent_down:
            out.append(FilterViolation(-4024, "Price is lower than mark price multiplier floor.",
                                       "PRICE_LOWER_THAN_MULTIPLIER_DOWN"))

    ref = p if p is not None else mark
    if not reduce_only and filters.min_notional > 0 and ref is not None and ref > 0 and q > 0:
        if q * ref < filters.min_notional:
            out.append(FilterViolation(
                -4164,
                f"Order's notional must be no smaller than {decimal_to_str(filters.min_notional)} "
                "(unless you choose reduce only).",
                "MIN_NOTIONAL",
            ))
    return out
