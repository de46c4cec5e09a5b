"""Portfolio records and exposure arithmetic. Pure: values in, values out.

NAV metrics (drawdown, daily loss) and the risk.json builder live in `core/risk/` (metrics, state).

Numbers
- Every USD amount, quantity, price and NAV is a `Decimal` (inputs may be Decimal, int, str or float;
  floats go through `repr`, so 0.35 stays 0.35). Ratios (`*_pct`, fractions) are Decimal too, and every
  threshold comparison is done exactly, as `amount_usd > cap * nav_usd`, so a boundary such as "DD exactly
  10 %" lands on the side the rule says and not on the side float rounding picks.
- Only the dict builders for JSON state (`to_risk_state`, `GroupExposure.to_dict`) emit floats.

Hedge mode
- A position is a *leg*: (symbol, positionSide). LONG and SHORT legs of one symbol are separate positions.
- Gross exposure sums the ABSOLUTE notionals of all legs: a hedged pair (LONG 1 + SHORT 1) counts 2, not 0.
  Caps bound what can go wrong on either leg (one leg can be liquidated or closed alone), and
  docs/v7.4_Risk_and_Methodology.md defines group exposure as "sum of absolute notionals".
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.filters import SymbolFilters
from core.numbers import ZERO, to_decimal
from core.orders import BOTH, LONG, POSITION_SIDES, leg_direction, opens_leg

if TYPE_CHECKING:  # config models are read by attribute only; the core does not need pydantic at runtime
    from core.brackets import Brackets
    from settings.models import CorrelationGroups

__all__ = [
    "POSITION_SIDES",
    "TRADING_STATES",
    "PositionLeg",
    "OpenOrder",
    "NavPoint",
    "PortfolioSnapshot",
    "GroupExposure",
    "is_finite_positive",
    "resolve_marks",
    "leg_notional",
    "gross_by_symbol",
    "gross_exposure",
    "gross_by_group",
    "nav_pct",
    "group_status",
    "correlation_exposure",
    "effective_trading_state",
    "float_or_none",
]

TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")  # ordered from least to most restrictive


def is_finite_positive(value: Decimal | None) -> bool:
    return value is not None and value.is_finite() and value > 0


# --------------------------------------------------------------------------- records

@dataclass(frozen=True, slots=True)
class PositionLeg:
    """One leg of a position. `qty` is the absolute size (>= 0); the direction is the leg's side.

    `direction` is LONG/SHORT: for hedge legs it is the position side itself; a one-way (BOTH) leg must
    say which way it points (execution/exchange/bridge.py derives it from the sign of positionAmt).
    `leverage` None = unknown (positionRisk v3 reports none): check_order never assumes 1x.
    """

    symbol: str
    position_side: str
    qty: Decimal
    entry_price: Decimal = ZERO
    mark_price: Decimal = ZERO
    leverage: Decimal | None = None
    unrealized_pnl: Decimal = ZERO
    direction: str = ""

    def __post_init__(self) -> None:
        ps = str(self.position_side).upper()
        if ps not in POSITION_SIDES:
            raise ValueError(f"position_side must be one of {POSITION_SIDES}, got {self.position_side!r}")
        object.__setattr__(self, "position_side", ps)
        for name in ("qty", "entry_price", "mark_price", "unrealized_pnl"):
            object.__setattr__(self, name, to_decimal(getattr(self, name)))
        if self.leverage is not None:
            object.__setattr__(self, "leverage", to_decimal(self.leverage))
        if not self.qty.is_finite() or self.qty < 0:
            raise ValueError(f"{self.symbol} {ps}: qty must be a finite number >= 0, got {self.qty}")
        try:  # a BOTH leg without a direction points LONG (the bridge derives it from the sign)
            direction = leg_direction(ps, self.direction or (LONG if ps == BOTH else None))
        except ValueError:
            raise ValueError(f"{self.symbol} {ps}: direction {self.direction!r} does not fit the leg") from None
        object.__setattr__(self, "direction", direction)

    @property
    def key(self) -> tuple[str, str]:
        return (self.symbol, self.position_side)

    @property
    def notional_usd(self) -> Decimal:
        """|qty| x mark (entry price if no mark); see `leg_notional` to pass a fresher mark."""
        return leg_notional(self)


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """A resting order. `qty` is the REMAINING quantity. `price` None for market-type orders.

    `reduce_only` matters only in one-way mode (BOTH); in hedge mode the side/positionSide pair says
    whether the order opens (BUY LONG, SELL SHORT) or closes (SELL LONG, BUY SHORT).
    """

    symbol: str
    side: str
    position_side: str
    qty: Decimal
    price: Decimal | None = None
    order_type: str = "LIMIT"
    client_order_id: str = ""
    reduce_only: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "side", str(self.side).upper())
        object.__setattr__(self, "position_side", str(self.position_side).upper())
        object.__setattr__(self, "order_type", str(self.order_type).upper())
        object.__setattr__(self, "qty", to_decimal(self.qty))
        if self.price is not None:
            object.__setattr__(self, "price", to_decimal(self.price))

    @property
    def opens_risk(self) -> bool:
        """True when a fill would grow a leg (what the caps count as pending exposure)."""
        if self.position_side == BOTH:
            return not self.reduce_only
        return opens_leg(self.side, self.position_side)


@dataclass(frozen=True, slots=True)
class NavPoint:
    ts_ms: int
    nav_usd: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts_ms", int(self.ts_ms))
        object.__setattr__(self, "nav_usd", to_decimal(self.nav_usd))


def _frozen_map(m: Mapping[Any, Any] | None) -> Mapping[Any, Any]:
    return MappingProxyType(dict(m or {}))


@dataclass(frozen=True)
class PortfolioSnapshot:
    """Everything the risk core knows about the account at `now_ms` (epoch ms, passed by the caller).

    - nav_history: NAV points, sorted here by time; the DD window is the last `RiskLimits.nav_history_len`.
    - positions: legs with qty > 0 (zero legs are kept but ignored by counts and exposure).
    - open_orders: resting orders; the ones that would grow a leg count as pending exposure in the caps.
    - filters: exchange filters by symbol (core.filters.SymbolFilters).
    - mark_prices: symbol -> mark; wins over a leg's own `mark_price` (premiumIndex is fresher than
      positionRisk). A symbol with no position needs an entry here to be valued.
    - day_start_nav_usd: NAV at the start of the UTC day; None -> derived from nav_history.
    - realized_pnl_today_usd: informational (the daily loss is measured on NAV, which includes it).
    - hwm_nav_usd: an all-time high-water mark (peak_state.json), if the state layer keeps one; the DD
      peak is then max(hwm, window peak), so the circuit cannot "heal" by the peak ageing out of the window.
    - trading_state / kill_switch: the live operator state; combined with the config's (stricter wins).
    - hedge_mode: dual-side position mode (Hedge's production mode); False = one-way (BOTH legs).
    - brackets: symbol -> core.brackets.Brackets (GET /fapi/v1/leverageBracket). None = the caller has no
      bracket source (the bracket checks are not judged); a mapping without the order's symbol = unknown
      brackets, which vetoes new risk (docs/RISK.md `bracket_notional`).
    """

    now_ms: int
    nav_history: tuple[NavPoint, ...] = ()
    positions: tuple[PositionLeg, ...] = ()
    open_orders: tuple[OpenOrder, ...] = ()
    filters: Mapping[str, SymbolFilters] = field(default_factory=dict)
    mark_prices: Mapping[str, Decimal] = field(default_factory=dict)
    day_start_nav_usd: Decimal | None = None
    realized_pnl_today_usd: Decimal | None = None
    hwm_nav_usd: Decimal | None = None
    trading_state: str = "ACTIVE"
    kill_switch: bool = False
    hedge_mode: bool = True
    brackets: Mapping[str, Brackets] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "now_ms", int(self.now_ms))
        object.__setattr__(self, "nav_history", tuple(sorted(self.nav_history, key=lambda p: p.ts_ms)))
        object.__setattr__(self, "positions", tuple(self.positions))
        object.__setattr__(self, "open_orders", tuple(self.open_orders))
        object.__setattr__(self, "filters", _frozen_map(self.filters))
        marks = {k: to_decimal(v) for k, v in (self.mark_prices or {}).items()}
        object.__setattr__(self, "mark_prices", _frozen_map(marks))
        if self.brackets is not None:
            object.__setattr__(self, "brackets", _frozen_map(self.brackets))
        for name in ("day_start_nav_usd", "realized_pnl_today_usd", "hwm_nav_usd"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, to_decimal(v))
        state = str(self.trading_state).upper()
        if state not in TRADING_STATES:
            raise ValueError(f"trading_state must be one of {TRADING_STATES}, got {self.trading_state!r}")
        object.__setattr__(self, "trading_state", state)
        seen: set[tuple[str, str]] = set()
        for leg in self.positions:
            if leg.key in seen:
                raise ValueError(f"duplicate leg {leg.key}: one record per (symbol, positionSide)")
            seen.add(leg.key)

    @property
    def open_legs(self) -> tuple[PositionLeg, ...]:
        return tuple(leg for leg in self.positions if leg.qty > 0)

    def marks(self) -> dict[str, Decimal]:
        return resolve_marks(self.positions, self.mark_prices)


@dataclass(frozen=True, slots=True)
class GroupExposure:
    group: str
    symbols: tuple[str, ...]
    gross_usd: Decimal
    gross_nav_pct: Decimal | None  # None without a usable NAV
    max_group_nav_pct: Decimal
    status: str  # OK | NEAR | CAPPED | UNKNOWN (no NAV)

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbols": list(self.symbols),
            "gross_usd": float(self.gross_usd),
            "gross_nav_pct": None if self.gross_nav_pct is None else float(self.gross_nav_pct),
            "max_group_nav_pct": float(self.max_group_nav_pct),
            "status": self.status,
        }



# --------------------------------------------------------------------------- exposure

def resolve_marks(
    positions: Iterable[PositionLeg], mark_prices: Mapping[str, Decimal] | None = None
) -> dict[str, Decimal]:
    """symbol -> usable mark: the explicit mark table first, else a leg's positionRisk mark."""
    out: dict[str, Decimal] = {}
    for leg in positions:
        if is_finite_positive(leg.mark_price) and leg.symbol not in out:
            out[leg.symbol] = leg.mark_price
    for sym, m in (mark_prices or {}).items():
        m = to_decimal(m)
        if is_finite_positive(m):
            out[sym] = m
    return out


def leg_notional(leg: PositionLeg, mark: Decimal | None = None) -> Decimal:
    """|qty| x price: the given mark, else the leg's own mark, else its entry price (an unpriced leg must
    not silently count as zero exposure in the caps); 0 only when none of them is usable."""
    if leg.qty <= 0:
        return ZERO
    for m in (mark, leg.mark_price, leg.entry_price):
        if is_finite_positive(m):
            return leg.qty * m  # type: ignore[operator]  # is_finite_positive checked it is a Decimal
    return ZERO


def gross_by_symbol(positions: Iterable[PositionLeg], marks: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
    """symbol -> sum of |notional| over its legs (LONG + SHORT both add)."""
    positions = tuple(positions)
    marks = resolve_marks(positions, marks) if marks is not None else resolve_marks(positions)
    out: dict[str, Decimal] = {}
    for leg in positions:
        n = leg_notional(leg, marks.get(leg.symbol))
        if n > 0:
            out[leg.symbol] = out.get(leg.symbol, ZERO) + n
    return out


def gross_exposure(positions: Iterable[PositionLeg], marks: Mapping[str, Decimal] | None = None) -> Decimal:
    return sum(gross_by_symbol(positions, marks).values(), ZERO)


def gross_by_group(symbol_gross: Mapping[str, Decimal], groups: CorrelationGroups) -> dict[str, Decimal]:
    """group -> sum of its symbols' gross notional. A symbol in two groups counts in both."""
    return {
        name: sum((symbol_gross.get(s, ZERO) for s in dict.fromkeys(g.symbols)), ZERO)
        for name, g in groups.groups.items()
    }


def nav_pct(amount_usd: Decimal, nav_usd: Decimal | None) -> Decimal | None:
    return amount_usd / nav_usd if is_finite_positive(nav_usd) else None  # type: ignore[operator]  # is_finite_positive checked it is a Decimal


def group_status(gross_usd: Decimal, nav_usd: Decimal | None, cap: Any, near_fraction: Any = Decimal("0.8")) -> str:
    """OK below near x cap; NEAR from near x cap up to the cap inclusive; CAPPED above the cap.

    Compared exactly in USD: CAPPED iff gross > cap x NAV; NEAR iff gross >= near x cap x NAV.
    """
    if not is_finite_positive(nav_usd):
        return "UNKNOWN"
    cap_usd = to_decimal(cap) * nav_usd  # type: ignore[operator]  # is_finite_positive checked it is a Decimal
    if gross_usd > cap_usd:
        return "CAPPED"
    if gross_usd >= to_decimal(near_fraction) * cap_usd:
        return "NEAR"
    return "OK"


def correlation_exposure(
    positions: Iterable[PositionLeg],
    nav_usd: Decimal | None,
    groups: CorrelationGroups,
    marks: Mapping[str, Decimal] | None = None,
) -> tuple[GroupExposure, ...]:
    """Per group: gross USD of its legs, / NAV, the cap, and the OK / NEAR / CAPPED status."""
    by_group = gross_by_group(gross_by_symbol(positions, marks), groups)
    return tuple(
        GroupExposure(
            group=name,
            symbols=tuple(g.symbols),
            gross_usd=by_group[name],
            gross_nav_pct=nav_pct(by_group[name], nav_usd),
            max_group_nav_pct=to_decimal(g.max_group_nav_pct),
            status=group_status(by_group[name], nav_usd, g.max_group_nav_pct, groups.near_cap_fraction),
        )
        for name, g in groups.groups.items()
    )


# --------------------------------------------------------------------------- state

def effective_trading_state(*states: str) -> str:
    """The most restrictive of the given states (ACTIVE < REDUCING < HALTED)."""
    return max((str(s).upper() for s in states), key=TRADING_STATES.index, default="ACTIVE")


def float_or_none(x: Decimal | None) -> float | None:
    """A JSON-ready rendering of an optional Decimal."""
    return None if x is None else float(x)


