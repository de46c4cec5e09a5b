"""TWAP slicing (docs/v7.4_Risk_and_Methodology.md) and maker pricing. Pure: values in, values out.

Eligibility: TWAP when `cfg.enabled` AND `gross_usd >= cfg.min_notional_usd` AND `cfg.slices > 1`; otherwise a
one-slice plan with `execution_style="single"`.

Slicing (whole-plan invariants, asserted on every plan):
- The parent (already approved by `risk_limits.check_order()` as a whole; children are not re-checked) is cut
  into N children, each a multiple of the step; their SUM IS EXACTLY THE PARENT.
- The step is the coarser of LOT_SIZE and MARKET_LOT_SIZE so every child is valid both for the maker attempt
  (LIMIT) and for the taker fallback (MARKET); the same for the minimum quantity.
- Remainder: the parent is `units` steps; every child gets `units // N` steps and the first `units % N`
  children get one step more, so children differ by at most one step and the larger ones go first.
- N starts at `cfg.slices` and is reduced (down to 1) while the smallest child would be under the exchange's
  MIN_NOTIONAL (at the plan price) or under the minimum quantity. N never exceeds `cfg.slices`.
- `slice_index` is 1-based. Client order ids are deterministic: `<parent_id>-t<index>-<count>` plus
  `r<attempt>` on retries, cut to Binance's 36 characters by shortening the parent part.

Re-planning (hummingbot's TWAP forgets every slice but the failed one; we keep them all):
`remaining_plan(plan, filled, failed_slice)` keeps every slice not fully filled, the unfilled part of a
partly filled slice, and the failed slice (attempt + 1), so `filled + remaining == parent` always holds.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.filters import SymbolFilters, is_multiple, quantize_price
from core.numbers import ZERO, to_decimal

if TYPE_CHECKING:
    from settings.models import TwapConfig

__all__ = [
    "TwapConfigSnapshot",
    "TwapSlice",
    "TwapPlan",
    "twap_lot",
    "plan_twap",
    "remaining_plan",
    "child_client_order_id",
    "maker_price",
]

_MAX_CLIENT_ID = 36


@dataclass(frozen=True, slots=True)
class TwapConfigSnapshot:
    """The config a plan was made with (goes into every twap_events.jsonl line)."""

    enabled: bool
    min_notional_usd: float
    slices: int
    interval_seconds: float

    @classmethod
    def of(cls, cfg: TwapConfig) -> TwapConfigSnapshot:
        return cls(bool(cfg.enabled), float(cfg.min_notional_usd), int(cfg.slices), float(cfg.interval_seconds))

    def to_dict(self) -> dict[str, Any]:
        return {"min_notional": self.min_notional_usd, "slices": self.slices,
                "interval": self.interval_seconds, "enabled": self.enabled}


@dataclass(frozen=True, slots=True)
class TwapSlice:
    slice_index: int  # 1-based
    slice_count: int  # children in the ORIGINAL plan (a slice keeps its identity across re-plans)
    slice_qty: Decimal
    parent_gross_usd: Decimal
    client_order_id: str
    offset_seconds: float  # when to send, from the plan start: (index - 1) x interval
    config: TwapConfigSnapshot  # min_notional / slices / interval the plan was made with
    attempt: int = 1

    def event(self, plan: TwapPlan) -> dict[str, Any]:
        """Fields for one `logs/execution/twap_events.jsonl` line."""
        return {
            "execution_style": plan.execution_style,
            "parent_id": plan.parent_id,
            "client_order_id": self.client_order_id,
            "slice_index": self.slice_index,
            "slice_count": self.slice_count,
            "slice_qty": str(self.slice_qty),
            "parent_qty": str(plan.parent_qty),
            "parent_gross_usd": float(self.parent_gross_usd),
            "attempt": self.attempt,
            "config": self.config.to_dict(),
        }


@dataclass(frozen=True)
class TwapPlan:
    parent_id: str
    parent_qty: Decimal
    price: Decimal  # reference price the slices were sized at
    parent_gross_usd: Decimal
    execution_style: str  # "single" | "twap"
    slices: tuple[TwapSlice, ...]  # slices still to execute, in order
    filled_qty: Decimal
    step_size: Decimal
    min_qty: Decimal
    min_notional: Decimal  # exchange MIN_NOTIONAL the children were held to
    config: TwapConfigSnapshot
    reason: str = ""  # why single / why fewer slices than configured; "" otherwise

    def __post_init__(self) -> None:
        total = self.filled_qty + self.remaining_qty
        if total != self.parent_qty:  # the whole-plan invariant: nothing lost, nothing duplicated
            raise AssertionError(f"TWAP plan broken: filled {self.filled_qty} + remaining {self.remaining_qty}"
                                 f" != parent {self.parent_qty}")
        if len({s.slice_index for s in self.slices}) != len(self.slices):
            raise AssertionError("TWAP plan broken: duplicate slice index")

    @property
    def remaining_qty(self) -> Decimal:
        return sum((s.slice_qty for s in self.slices), ZERO)

    @property
    def slice_count(self) -> int:
        return len(self.slices)

    @property
    def done(self) -> bool:
        return not self.slices

    def events(self) -> list[dict[str, Any]]:
        return [s.event(self) for s in self.slices]


def twap_lot(filters: SymbolFilters) -> tuple[Decimal, Decimal]:
    """(step, min qty) valid for both LIMIT and MARKET children: the coarser of the two lot filters."""
    steps = [s for s in (filters.step_size, filters.market_step_size) if s > 0]
    step = max(steps) if steps else ZERO
    if steps and any(not is_multiple(step, s) for s in steps):
        raise ValueError(f"{filters.symbol}: LOT_SIZE and MARKET_LOT_SIZE steps are not multiples of each other")
    return step, max(filters.min_qty, filters.market_min_qty)


def child_client_order_id(parent_id: str, slice_index: int, slice_count: int, attempt: int = 1) -> str:
    suffix = f"-t{slice_index}-{slice_count}" + (f"r{attempt}" if attempt > 1 else "")
    return (parent_id[: max(0, _MAX_CLIENT_ID - len(suffix))] + suffix)[-_MAX_CLIENT_ID:]


def _split(units: int, n: int) -> list[int]:
    base, rem = divmod(units, n)
    return [base + 1 if i < rem else base for i in range(n)]


def plan_twap(
    parent_qty: Any,
    price: Any,
    filters: SymbolFilters,
    cfg: TwapConfig,
    gross_usd: Any = None,
    *,
    parent_id: str = "",
) -> TwapPlan:
    """Plan the children of an approved parent. `gross_usd` defaults to parent_qty x price.

    Raises ValueError when the parent is not a positive multiple of the step or the price is not positive:
    the parent must be the exact quantity that passed check_order.
    """
    qty, px = to_decimal(parent_qty), to_decimal(price)
    if not (px.is_finite() and px > 0):
        raise ValueError(f"price must be > 0, got {price}")
    step, min_qty = twap_lot(filters)
    if step <= 0:
        raise ValueError(f"{filters.symbol}: no step size in the filters")
    if not (qty.is_finite() and qty > 0) or not is_multiple(qty, step):
        raise ValueError(f"parent qty {parent_qty} must be > 0 and a multiple of the step {step}")
    gross = to_decimal(gross_usd) if gross_usd is not None else qty * px
    if not (gross.is_finite() and gross >= 0):
        raise ValueError(f"gross_usd must be a finite amount >= 0, got {gross_usd}")
    snap = TwapConfigSnapshot.of(cfg)

    if not snap.enabled:
        n, reason = 1, "twap_disabled"
    elif gross < to_decimal(snap.min_notional_usd):
        n, reason = 1, "below_twap_min_notional_usd"
    elif snap.slices <= 1:
        n, reason = 1, "one_slice_configured"
    else:
        units = int(qty / step)
        n = max(1, min(snap.slices, units))
        while n > 1 and not _child_ok(_smallest(step, units, n), px, filters.min_notional, min_qty):
            n -= 1
        if n == snap.slices:
            reason = ""
        else:
            reason = "reduced_to_single_by_min_notional" if n == 1 else "slices_reduced_by_min_notional"

    qtys = [qty] if n == 1 else [u * step for u in _split(int(qty / step), n)]
    slices = tuple(
        TwapSlice(
            slice_index=i, slice_count=n, slice_qty=q, parent_gross_usd=gross,
            client_order_id=child_client_order_id(parent_id, i, n), offset_seconds=(i - 1) * snap.interval_seconds,
            config=snap,
        )
        for i, q in enumerate(qtys, start=1)
    )
    return TwapPlan(
        parent_id=parent_id, parent_qty=qty, price=px, parent_gross_usd=gross,
        execution_style="twap" if n > 1 else "single", slices=slices, filled_qty=ZERO,
        step_size=step, min_qty=min_qty, min_notional=filters.min_notional, config=snap, reason=reason,
    )


def _smallest(step: Decimal, units: int, n: int) -> Decimal:
    return (units // n) * step


def _child_ok(child: Decimal, price: Decimal, min_notional: Decimal, min_qty: Decimal) -> bool:
    return child > 0 and child >= min_qty and (min_notional <= 0 or child * price >= min_notional)


def remaining_plan(
    plan: TwapPlan,
    filled_slices: Mapping[int, Any] | Iterable[int] = (),
    failed_slice: int | None = None,
) -> TwapPlan:
    """The plan left after some slices filled (fully: an index; partly: {index: filled qty}) and one failed.

    Every unfilled slice is kept with its identity (index, client id); the unfilled part of a partly filled
    slice stays as that slice; the failed slice is kept for a retry with `attempt + 1` (a fresh client id).
    A leftover below the exchange minimum is merged into its neighbour (the next one, else the previous) so
    it can still be sent; a lone leftover below the minimum stays (the router decides: closes are exempt).
    """
    by_index = {s.slice_index: s for s in plan.slices}
    if isinstance(filled_slices, Mapping):
        filled = {int(k): to_decimal(v) for k, v in filled_slices.items()}
    else:
        filled = {int(i): by_index[int(i)].slice_qty if int(i) in by_index else ZERO for i in filled_slices}
    for i, q in filled.items():
        if i not in by_index:
            raise ValueError(f"slice {i} is not in the plan (remaining: {sorted(by_index)})")
        if not (q.is_finite() and ZERO <= q <= by_index[i].slice_qty) or not is_multiple(q, plan.step_size):
            raise ValueError(f"slice {i}: filled qty {q} must be a step multiple within 0..{by_index[i].slice_qty}")
    if failed_slice is not None:
        if failed_slice not in by_index:
            raise ValueError(f"failed slice {failed_slice} is not in the plan")
        if filled.get(failed_slice, ZERO) == by_index[failed_slice].slice_qty:
            raise ValueError(f"slice {failed_slice} cannot be both fully filled and failed")

    kept: list[TwapSlice] = []
    for s in plan.slices:
        left = s.slice_qty - filled.get(s.slice_index, ZERO)
        if left <= 0:
            continue
        attempt = s.attempt + 1 if s.slice_index == failed_slice else s.attempt
        cid = child_client_order_id(plan.parent_id, s.slice_index, s.slice_count, attempt)
        kept.append(replace(s, slice_qty=left, attempt=attempt, client_order_id=cid))
    kept = _merge_small(kept, plan)
    return replace(plan, slices=tuple(kept), filled_qty=plan.filled_qty + sum(filled.values(), ZERO))


def _merge_small(slices: list[TwapSlice], plan: TwapPlan) -> list[TwapSlice]:
    out = list(slices)
    i = 0
    while len(out) > 1 and i < len(out):
        s = out[i]
        if _child_ok(s.slice_qty, plan.price, plan.min_notional, plan.min_qty):
            i += 1
            continue
        j = i + 1 if i + 1 < len(out) else i - 1
        out[j] = replace(out[j], slice_qty=out[j].slice_qty + s.slice_qty)
        del out[i]
        i = 0  # a merge can make an earlier neighbour valid or not; re-scan (lists are tiny)
    return out


def maker_price(side: str, best_bid: Any, best_ask: Any, offset_bps: Any, filters: SymbolFilters) -> Decimal:
    """Post-only price: BUY at best bid x (1 - offset), SELL at best ask x (1 + offset), on the PASSIVE side.

    Rounded to the tick away from the spread (BUY down, SELL up), so the order never crosses: a BUY is
    <= bid < ask, a SELL is >= ask > bid. Raises ValueError on a crossed/locked book or a price outside the
    symbol's PRICE_FILTER.
    """
    s = str(side).upper()
    bid, ask, bps = to_decimal(best_bid), to_decimal(best_ask), to_decimal(offset_bps)
    if not (bid.is_finite() and ask.is_finite() and bid > 0 and ask > 0):
        raise ValueError(f"best bid/ask must be > 0, got {best_bid} / {best_ask}")
    if bid >= ask:
        raise ValueError(f"crossed or locked book: bid {bid} >= ask {ask}")
    if not (bps.is_finite() and bps >= 0):
        raise ValueError(f"offset_bps must be >= 0, got {offset_bps}")
    frac = bps / Decimal(10_000)
    if s == "BUY":
        p = quantize_price(bid * (1 - frac), filters, "BUY")
    elif s == "SELL":
        p = quantize_price(ask * (1 + frac), filters, "SELL")
    else:
        raise ValueError(f"side must be BUY or SELL, got {side!r}")
    if p <= 0 or (filters.min_price > 0 and p < filters.min_price) or (filters.max_price > 0 and p > filters.max_price):
        raise ValueError(f"maker price {p} is outside the price filter [{filters.min_price}, {filters.max_price}]")
    return p

