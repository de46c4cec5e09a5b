"""Risk records: the order the router proposes, vetoes, the decision, and the facts derived from an order.

Pure: values in, values out (docs/RISK.md has the codes, numbers and operator actions).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.filters import FilterViolation, SymbolFilters
from core.numbers import to_decimal_or_nan
from core.orders import Intent, closes_leg, opens_leg, parse_intent
from core.portfolio import PositionLeg

__all__ = [
    "VETO_CODES", "RISK_INCREASE_ONLY_CODES", "ORDER_TYPES", "MAX_EXPONENT",
    "ProposedOrder", "Veto", "RiskDecision", "OrderFacts",
]

# Canonical order of reporting (most fundamental first). The set reported never depends on this order.
VETO_CODES: tuple[str, ...] = (
    "kill_switch",
    "trading_halted",
    "kill_dd",
    "portfolio_dd_circuit",
    "daily_loss_limit",
    "reduce_only",
    "nav_stale",
    "invalid_order",
    "no_mark_price",
    "step_size",
    "tick_size",
    "min_qty",
    "max_qty",
    "price_bounds",
    "percent_price",
    "min_notional",
    "max_leverage",
    "bracket_notional",
    "liquidation_distance",
    "max_positions",
    "symbol_nav_cap",
    "correlation_cap",
    "max_gross_exposure",
)

# Codes that only guard NEW risk: a strict reduction of an existing leg never receives one of these.
RISK_INCREASE_ONLY_CODES = frozenset({
    "kill_switch", "trading_halted", "kill_dd", "portfolio_dd_circuit", "daily_loss_limit", "reduce_only",
    "nav_stale", "no_mark_price", "min_notional", "max_leverage", "bracket_notional", "liquidation_distance",
    "max_positions", "symbol_nav_cap",
    "correlation_cap", "max_gross_exposure",
})

ORDER_TYPES = frozenset({"LIMIT", "MARKET"})

# Quantities and prices beyond 10^18 are nonsense on any venue. The bound also keeps the products the checks form
# (qty x price) inside Decimal's exponent range: at 1E+999999 they would raise decimal.Overflow outside the guarded
# filter evaluation. (Step and tick checks themselves are exact at any size: core.filters.is_multiple.)
MAX_EXPONENT = 18


@dataclass(frozen=True, slots=True)
class ProposedOrder:
    """An order as the router would send it.

    - side BUY|SELL; position_side LONG|SHORT (hedge mode) or BOTH (one-way mode).
    - qty > 0; price: the limit price, None for MARKET.
    - order_type LIMIT|MARKET; empty -> LIMIT when a price is given, else MARKET.
    - intent: optional declaration, `core.orders.Intent` (OPEN|CLOSE; the strings "open"/"close" are read as
      those, anything else is kept as given and vetoed `unknown_intent`); when given it must
      agree with what side x position_side does, which catches one-way thinking in hedge mode
      (e.g. BUY SHORT meant as "open": in hedge mode it closes a short).
    - tag: free text (strategy, client order id) carried into telemetry.
    - leverage: the leverage the symbol will trade at, if known (checked against MAX_LEVERAGE).
    Numbers that are not numbers become NaN here and are vetoed as `invalid_order` by the check.
    """

    symbol: str
    side: str
    position_side: str
    qty: Decimal
    price: Decimal | None = None
    order_type: str = ""
    intent: Intent | str | None = None
    tag: str = ""
    leverage: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", str(self.symbol).upper())
        object.__setattr__(self, "side", str(self.side).upper())
        object.__setattr__(self, "position_side", str(self.position_side).upper())
        object.__setattr__(self, "qty", to_decimal_or_nan(self.qty))
        if self.price is not None:
            object.__setattr__(self, "price", to_decimal_or_nan(self.price))
        otype = str(self.order_type or ("LIMIT" if self.price is not None else "MARKET")).upper()
        object.__setattr__(self, "order_type", otype)
        try:
            object.__setattr__(self, "intent", parse_intent(self.intent))
        except ValueError:  # kept as given: the check vetoes it (unknown_intent), it never raises
            object.__setattr__(self, "intent", str(self.intent).strip().upper())
        if self.leverage is not None:
            object.__setattr__(self, "leverage", to_decimal_or_nan(self.leverage))

    @property
    def closes_leg(self) -> bool:
        """Hedge mode: SELL on LONG / BUY on SHORT shrink that leg (the reduce-only direction)."""
        return closes_leg(self.side, self.position_side)

    @property
    def opens_leg(self) -> bool:
        return opens_leg(self.side, self.position_side)

    @property
    def intent_text(self) -> str:
        """The intent for logs and JSON: "OPEN" / "CLOSE", "" when undeclared, else the unknown text given."""
        return "" if self.intent is None else str(self.intent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol, "side": self.side, "positionSide": self.position_side,
            "qty": str(self.qty), "price": None if self.price is None else str(self.price),
            "type": self.order_type, "intent": self.intent_text, "tag": self.tag,
        }


@dataclass(frozen=True, slots=True)
class Veto:
    code: str  # one of VETO_CODES
    reason: str  # human sentence with the numbers
    numbers: Mapping[str, Any] = field(default_factory=dict)  # floats / ints / strings, JSON-ready
    details: tuple[str, ...] = ()  # sub-codes, e.g. ("reduce_exceeds_position",) for invalid_order

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "reason": self.reason, "numbers": dict(self.numbers), "details": list(self.details)}


@dataclass(frozen=True)
class RiskDecision:
    approved: bool
    vetoes: tuple[Veto, ...]
    checks: Mapping[str, Any]  # the numbers every check looked at (JSON-ready)
    order: ProposedOrder | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(v.code for v in self.vetoes)

    @property
    def veto_reason(self) -> str | None:
        """The first (most fundamental) code, as docs/v7.4_Risk_and_Methodology.md `veto_reason`; None when approved."""
        return self.vetoes[0].code if self.vetoes else None

    def veto(self, code: str) -> Veto | None:
        return next((v for v in self.vetoes if v.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        """The `[decision]` breadcrumb payload: `{"approved":..., "veto": [codes], ...}`."""
        return {
            "approved": self.approved,
            "veto": list(self.codes),
            "vetoes": [v.to_dict() for v in self.vetoes],
            "checks": dict(self.checks),
            "order": self.order.to_dict() if self.order else None,
        }


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What the order is, derived once; every check reads these and the context, nothing else."""

    order: ProposedOrder
    problems: tuple[str, ...]  # invalid_order sub-codes
    filters: SymbolFilters | None
    leg: PositionLeg | None
    leg_qty: Decimal
    is_reduce: bool  # valid order that strictly shrinks an existing leg by <= its qty
    mark: Decimal | None
    ref_price: Decimal | None  # LIMIT price, else the mark
    add_usd: Decimal  # gross exposure this order can add (0 for reductions / when unknown)
    new_leg: bool  # would create a leg not open and not pending
    violations: tuple[FilterViolation, ...]


