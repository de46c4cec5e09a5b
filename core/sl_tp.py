"""Stop-loss / take-profit rules and the TP/SL registry the exit scanner runs on (docs/Runbook.md).

Pure: no API, no clock (callers pass `now_ms`), no I/O. Prices are Decimal.

Levels
- LONG legs: stop-loss BELOW entry, take-profit ABOVE. SHORT legs: the mirror. A one-way (BOTH) leg uses its
  direction.
- ATR-based: entry -/+ k x ATR. Percent-based: entry x (1 -/+ pct).
- Rounding to the tick is PROTECTIVE: every level rounds toward the entry (or the trailing anchor), so a stop
  never risks more than planned and a target never promises more than planned. If rounding toward the entry
  would land on (or beyond) it, the level becomes the nearest tick strictly on its own side: then, and only
  then, a stop can be at most one tick wider than asked.
- Trailing stop (docs/Runbook.md: 1 %): LONG trails the highest price seen since entry, stop = anchor x (1 - pct);
  SHORT trails the lowest, stop = anchor x (1 + pct). The stop only ratchets toward the price.
- Time stop: `opened_at_ms + time_stop_ms <= now_ms`.

Registry
- One `ExitRule` per (symbol, positionSide). Only registered legs can produce exits: the scanner is bounded by
  the registry, whatever marks it is fed.
- `update_on_price` / `update_on_bar` return (new registry, exits). A leg that fires is marked `triggered`
  and does not fire again (the close may take a few cycles); `pending_exits` lists them for retries, `remove`
  drops the entry once the leg is flat (`reconcile` does it from the position list).
- Intra-bar order is unknown: triggers are judged on the levels as they stood at the bar's open, a stop wins
  over a take-profit hit in the same bar, and a gap through a level fills at the open.
- Serializable to plain dicts (`to_dict` / `from_dict`) for the state store.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from core.bars import Bar
from core.filters import SymbolFilters
from core.numbers import ZERO, to_decimal
from core.orders import leg_direction
from settings.models import SlTpConfig

__all__ = [
    "EXIT_REASONS",
    "PriceBar",
    "ExitRule",
    "ExitSignal",
    "TpSlRegistry",
    "round_level",
    "stop_loss_price",
    "take_profit_price",
    "trailing_stop_price",
    "time_stop_due",
    "make_rule",
    "rule_from_config",
    "register",
    "remove",
    "rearm",
    "get_rule",
    "update_on_price",
    "update_on_bar",
    "pending_exits",
    "reconcile",
]

EXIT_REASONS = ("stop_loss", "take_profit", "trailing_stop", "time_stop")
ONE = Decimal(1)
_REGISTRY_VERSION = 1

def _tick(filters: SymbolFilters | None, tick_size: Any = None) -> Decimal:
    if filters is not None:
        return filters.tick_size
    return to_decimal(tick_size) if tick_size is not None else ZERO


# --------------------------------------------------------------------------- level rules

def round_level(level: Any, reference: Any, tick: Any) -> Decimal:
    """Round `level` to the tick TOWARD `reference`, keeping it strictly on its own side of `reference`.

    A level below the reference rounds up (but stays below), a level above rounds down (but stays above).
    With tick 0 the level is returned unchanged. A level below the reference is floored at one tick; when
    the reference itself is a single tick there is no price below it and 0 is returned (callers reject it).
    """
    lvl, ref, t = to_decimal(level), to_decimal(reference), to_decimal(tick)
    if t <= 0 or lvl == ref:
        return lvl
    if lvl < ref:
        r = max((lvl / t).to_integral_value(rounding=ROUND_CEILING) * t, t)  # one tick is the floor
        if r >= ref:
            r = ((ref / t).to_integral_value(rounding=ROUND_CEILING) - 1) * t  # nearest tick strictly below
    else:
        r = (lvl / t).to_integral_value(rounding=ROUND_FLOOR) * t
        if r <= ref:
            r = ((ref / t).to_integral_value(rounding=ROUND_FLOOR) + 1) * t  # nearest tick strictly above
    exponent = t.as_tuple().exponent  # an int for a finite tick
    return r.quantize(t) if isinstance(exponent, int) and exponent < 0 else r


def _positive(level: Decimal, what: str) -> Decimal:
    if not (level.is_finite() and level > 0):
        raise ValueError(f"{what} would be {level}: the distance exceeds the entry price")
    return level


def _distance(entry: Decimal, atr: Any, atr_mult: Any, pct: Any) -> Decimal:
    if (atr is None) == (pct is None):
        raise ValueError("give exactly one of atr (with atr_mult) or pct")
    if atr is not None:
        a, k = to_decimal(atr), to_decimal(atr_mult if atr_mult is not None else 1)
        if not (a.is_finite() and a > 0 and k.is_finite() and k > 0):
            raise ValueError(f"atr and atr_mult must be > 0, got {atr}, {atr_mult}")
        return a * k
    p = to_decimal(pct)
    if not (p.is_finite() and 0 < p):
        raise ValueError(f"pct must be a fraction > 0, got {pct}")
    return entry * p


def _entry(entry_price: Any) -> Decimal:
    e = to_decimal(entry_price)
    if not (e.is_finite() and e > 0):
        raise ValueError(f"entry_price must be > 0, got {entry_price}")
    return e


def stop_loss_price(
    entry_price: Any, position_side: str, *, atr: Any = None, atr_mult: Any = None, pct: Any = None,
    filters: SymbolFilters | None = None, tick_size: Any = None, direction: str | None = None,
) -> Decimal:
    """LONG: entry - k x ATR (or entry x (1 - pct)); SHORT: entry + ... Rounded toward the entry."""
    e = _entry(entry_price)
    dist = _distance(e, atr, atr_mult, pct)
    raw = e - dist if leg_direction(position_side, direction) == "LONG" else e + dist
    return _positive(round_level(raw, e, _tick(filters, tick_size)), "stop-loss")


def take_profit_price(
    entry_price: Any, position_side: str, *, atr: Any = None, atr_mult: Any = None, pct: Any = None,
    filters: SymbolFilters | None = None, tick_size: Any = None, direction: str | None = None,
) -> Decimal:
    """LONG: entry + k x ATR (or entry x (1 + pct)); SHORT: entry - ... Rounded toward the entry."""
    e = _entry(entry_price)
    dist = _distance(e, atr, atr_mult, pct)
    raw = e + dist if leg_direction(position_side, direction) == "LONG" else e - dist
    return _positive(round_level(raw, e, _tick(filters, tick_size)), "take-profit")


def trailing_stop_price(anchor: Any, position_side: str, trail_pct: Any, *, tick_size: Any = None,
                        direction: str | None = None) -> Decimal:
    """LONG: anchor x (1 - pct) (anchor = highest since entry); SHORT: anchor x (1 + pct). Toward the anchor."""
    a, p = to_decimal(anchor), to_decimal(trail_pct)
    raw = a * (ONE - p) if leg_direction(position_side, direction) == "LONG" else a * (ONE + p)
    return round_level(raw, a, tick_size if tick_size is not None else 0)


def time_stop_due(opened_at_ms: int, time_stop_ms: int | None, now_ms: int) -> bool:
    return time_stop_ms is not None and now_ms >= opened_at_ms + time_stop_ms


# --------------------------------------------------------------------------- records

@dataclass(frozen=True, slots=True)
class PriceBar:
    """A bar in exact Decimals, as the exit levels are (a float `core.bars.Bar` is converted on entry:
    `update_on_bar` takes either). An inconsistent bar (low above the body, high below it) is refused."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    def __post_init__(self) -> None:
        for name in ("open", "high", "low", "close"):
            object.__setattr__(self, name, to_decimal(getattr(self, name)))
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise ValueError(f"inconsistent bar o={self.open} h={self.high} l={self.low} c={self.close}")


@dataclass(frozen=True, slots=True)
class ExitSignal:
    symbol: str
    position_side: str
    reason: str  # one of EXIT_REASONS
    trigger_price: Decimal  # the level crossed (the open on a gap, the observed price for a time stop)
    observed_price: Decimal | None  # the mark / bar price that crossed it
    ts_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "position_side": self.position_side, "reason": self.reason,
                "trigger_price": str(self.trigger_price),
                "observed_price": None if self.observed_price is None else str(self.observed_price),
                "ts_ms": self.ts_ms}


@dataclass(frozen=True, slots=True)
class ExitRule:
    """Registry entry for one leg. Levels are already tick-rounded; `tick_size` rounds the trailing stop."""

    symbol: str
    position_side: str
    direction: str
    entry_price: Decimal
    opened_at_ms: int
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    trail_pct: Decimal | None = None
    trail_anchor: Decimal | None = None
    trail_stop: Decimal | None = None
    time_stop_ms: int | None = None
    tick_size: Decimal = ZERO
    triggered: str | None = None
    triggered_price: Decimal | None = None
    triggered_ms: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "position_side", str(self.position_side).upper())
        object.__setattr__(self, "direction", leg_direction(self.position_side, self.direction))
        for name in ("entry_price", "stop_loss", "take_profit", "trail_pct", "trail_anchor", "trail_stop",
                     "tick_size", "triggered_price"):
            v = getattr(self, name)
            if v is not None:
                object.__setattr__(self, name, to_decimal(v))
        e = self.entry_price
        long = self.direction == "LONG"
        if self.stop_loss is not None and not (self.stop_loss < e if long else self.stop_loss > e):
            raise ValueError(f"{self.key}: stop_loss {self.stop_loss} is on the wrong side of entry {e}")
        if self.take_profit is not None and not (self.take_profit > e if long else self.take_profit < e):
            raise ValueError(f"{self.key}: take_profit {self.take_profit} is on the wrong side of entry {e}")
        if self.trail_pct is not None and not (ZERO < self.trail_pct < ONE):
            raise ValueError(f"{self.key}: trail_pct must be in (0, 1), got {self.trail_pct}")
        if self.triggered is not None and self.triggered not in EXIT_REASONS:
            raise ValueError(f"{self.key}: unknown trigger {self.triggered!r}")

    @property
    def key(self) -> tuple[str, str]:
        return (self.symbol, self.position_side)

    @property
    def time_stop_at_ms(self) -> int | None:
        return None if self.time_stop_ms is None else self.opened_at_ms + self.time_stop_ms

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            v = getattr(self, name)
            out[name] = str(v) if isinstance(v, Decimal) else v
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExitRule:
        return cls(**{k: d[k] for k in cls.__slots__ if k in d})


@dataclass(frozen=True)
class TpSlRegistry:
    """Immutable set of exit rules, one per (symbol, positionSide), kept sorted by key."""

    entries: tuple[ExitRule, ...] = ()
    _index: Mapping[tuple[str, str], ExitRule] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = tuple(sorted(self.entries, key=lambda r: r.key))
        index = {r.key: r for r in entries}
        if len(index) != len(entries):
            raise ValueError("one exit rule per (symbol, positionSide)")
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def to_dict(self) -> dict[str, Any]:
        return {"version": _REGISTRY_VERSION, "entries": [r.to_dict() for r in self.entries]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TpSlRegistry:
        if d.get("version", _REGISTRY_VERSION) != _REGISTRY_VERSION:
            raise ValueError(f"unsupported TP/SL registry version {d.get('version')!r}")
        return cls(tuple(ExitRule.from_dict(e) for e in d.get("entries", ())))


# --------------------------------------------------------------------------- registry operations

def make_rule(
    symbol: str,
    position_side: str,
    entry_price: Any,
    opened_at_ms: int,
    *,
    filters: SymbolFilters | None = None,
    tick_size: Any = None,
    direction: str | None = None,
    sl_pct: Any = None,
    tp_pct: Any = None,
    atr: Any = None,
    sl_atr_mult: Any = None,
    tp_atr_mult: Any = None,
    trail_pct: Any = None,
    time_stop_ms: int | None = None,
) -> ExitRule:
    """Build a rule: ATR levels when `atr` and a multiplier are given, else percent levels, per side."""
    tick = _tick(filters, tick_size)
    d = leg_direction(position_side, direction)
    e = _entry(entry_price)
    kw = dict(tick_size=tick, direction=d)

    def level(fn: Any, mult: Any, pct: Any) -> Decimal | None:
        if atr is not None and mult is not None:
            return fn(e, position_side, atr=atr, atr_mult=mult, **kw)
        if pct is not None:
            return fn(e, position_side, pct=pct, **kw)
        return None

    trail = to_decimal(trail_pct) if trail_pct is not None else None
    return ExitRule(
        symbol=symbol, position_side=position_side, direction=d, entry_price=e, opened_at_ms=int(opened_at_ms),
        stop_loss=level(stop_loss_price, sl_atr_mult, sl_pct),
        take_profit=level(take_profit_price, tp_atr_mult, tp_pct),
        trail_pct=trail,
        trail_anchor=e if trail is not None else None,
        trail_stop=(trailing_stop_price(e, position_side, trail, tick_size=tick, direction=d)
                    if trail is not None else None),
        time_stop_ms=time_stop_ms, tick_size=tick,
    )


def rule_from_config(
    symbol: str,
    position_side: str,
    entry_price: Any,
    opened_at_ms: int,
    config: SlTpConfig,
    *,
    atr: Any = None,
    filters: SymbolFilters | None = None,
    tick_size: Any = None,
    direction: str | None = None,
) -> ExitRule:
    """`make_rule` with the levels of a `settings.models.SlTpConfig` (strategy_config.json `sl_tp`, or a
    per-symbol override applied to it): the core reads the settings type directly, no keyword copy."""
    return make_rule(symbol, position_side, entry_price, opened_at_ms, filters=filters, tick_size=tick_size,
                     direction=direction, atr=atr, sl_atr_mult=config.sl_atr_mult, tp_atr_mult=config.tp_atr_mult,
                     sl_pct=config.sl_pct, tp_pct=config.tp_pct, trail_pct=config.trail_pct,
                     time_stop_ms=config.time_stop_ms)


def _with(registry: TpSlRegistry, rules: Iterable[ExitRule]) -> TpSlRegistry:
    return TpSlRegistry(tuple(rules))


def register(registry: TpSlRegistry, rule: ExitRule) -> TpSlRegistry:
    """Add or replace the rule for the rule's leg."""
    return _with(registry, [r for r in registry.entries if r.key != rule.key] + [rule])


def remove(registry: TpSlRegistry, symbol: str, position_side: str) -> TpSlRegistry:
    key = (symbol, str(position_side).upper())
    return registry if key not in registry else _with(registry, [r for r in registry.entries if r.key != key])


def rearm(registry: TpSlRegistry, symbol: str, position_side: str) -> TpSlRegistry:
    """Clear a trigger (e.g. the leg was only partly closed and stays protected)."""
    rule = get_rule(registry, symbol, position_side)
    if rule is None or rule.triggered is None:
        return registry
    return register(registry, replace(rule, triggered=None, triggered_price=None, triggered_ms=None))


def get_rule(registry: TpSlRegistry, symbol: str, position_side: str) -> ExitRule | None:
    return registry._index.get((symbol, str(position_side).upper()))


def pending_exits(registry: TpSlRegistry) -> tuple[ExitSignal, ...]:
    """Exits that fired and whose leg is still registered (the close is not confirmed yet)."""
    return tuple(
        ExitSignal(r.symbol, r.position_side, r.triggered, r.triggered_price or ZERO, None, r.triggered_ms or 0)
        for r in registry.entries if r.triggered is not None
    )


def reconcile(registry: TpSlRegistry, open_legs: Iterable[Any],
              ) -> tuple[TpSlRegistry, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(registry without rules for legs that are gone, removed keys, open legs that have no rule).

    `open_legs`: anything with `.symbol`, `.position_side` and `.qty` (core.portfolio.PositionLeg).
    """
    live = {(leg.symbol, leg.position_side) for leg in open_legs if leg.qty > 0}
    kept = [r for r in registry.entries if r.key in live]
    gone = tuple(r.key for r in registry.entries if r.key not in live)
    unprotected = tuple(sorted(live - {r.key for r in kept}))
    return (_with(registry, kept) if gone else registry), gone, unprotected


def _fire(rule: ExitRule, reason: str, level: Decimal, observed: Decimal | None,
          now_ms: int) -> tuple[ExitRule, ExitSignal]:
    sig = ExitSignal(rule.symbol, rule.position_side, reason, level, observed, now_ms)
    return replace(rule, triggered=reason, triggered_price=level, triggered_ms=now_ms), sig


def _stop_level(rule: ExitRule) -> tuple[Decimal, str] | None:
    """The binding stop: the tighter of stop-loss and trailing stop (the one price reaches first)."""
    stops = [(s, n) for s, n in ((rule.stop_loss, "stop_loss"), (rule.trail_stop, "trailing_stop")) if s is not None]
    if not stops:
        return None
    if rule.direction == "LONG":  # highest stop is reached first on the way down; ties go to stop_loss
        return max(stops, key=lambda sn: (sn[0], sn[1] == "stop_loss"))
    return min(stops, key=lambda sn: (sn[0], sn[1] != "stop_loss"))


def _ratchet(rule: ExitRule, best: Decimal) -> ExitRule:
    """Move the trailing anchor to a better price; the stop only moves toward the price."""
    if rule.trail_pct is None:
        return rule
    long = rule.direction == "LONG"
    anchor = rule.trail_anchor if rule.trail_anchor is not None else rule.entry_price
    if (best <= anchor) if long else (best >= anchor):
        return rule
    stop = trailing_stop_price(best, rule.position_side, rule.trail_pct, tick_size=rule.tick_size,
                               direction=rule.direction)
    if rule.trail_stop is not None:
        stop = max(stop, rule.trail_stop) if long else min(stop, rule.trail_stop)
    return replace(rule, trail_anchor=best, trail_stop=stop)


def update_on_price(registry: TpSlRegistry, marks: Mapping[str, Any],
                    now_ms: int) -> tuple[TpSlRegistry, list[ExitSignal]]:
    """Judge every registered, untriggered leg against its symbol's mark; then trail the anchors.

    Marks for unregistered symbols are ignored; a registered leg without a mark can only time out.
    """
    def judge(rule: ExitRule) -> tuple[ExitRule, ExitSignal | None]:
        raw = marks.get(rule.symbol)
        mark = to_decimal(raw) if raw is not None else None
        if mark is not None and not (mark.is_finite() and mark > 0):
            mark = None  # a broken tick must neither trigger nor move a trailing stop
        return _judge_price(rule, mark, now_ms)

    return _judge_untriggered(registry, judge)


def _judge_untriggered(registry: TpSlRegistry, judge: Any) -> tuple[TpSlRegistry, list[ExitSignal]]:
    """Apply `judge(rule) -> (rule, signal or None)` to every untriggered rule; the registry is returned
    unchanged (the same object) when no rule changed."""
    out: list[ExitRule] = []
    exits: list[ExitSignal] = []
    changed = False
    for rule in registry.entries:
        new = rule
        if rule.triggered is None:
            new, sig = judge(rule)
            if sig is not None:
                exits.append(sig)
        changed = changed or new is not rule
        out.append(new)
    return (_with(registry, out) if changed else registry), exits


def _judge_price(rule: ExitRule, mark: Decimal | None, now_ms: int) -> tuple[ExitRule, ExitSignal | None]:
    long = rule.direction == "LONG"
    if mark is not None:
        stop = _stop_level(rule)
        if stop is not None and ((mark <= stop[0]) if long else (mark >= stop[0])):
            return _fire(rule, stop[1], stop[0], mark, now_ms)
        tp = rule.take_profit
        if tp is not None and ((mark >= tp) if long else (mark <= tp)):
            return _fire(rule, "take_profit", tp, mark, now_ms)
    if time_stop_due(rule.opened_at_ms, rule.time_stop_ms, now_ms):
        return _fire(rule, "time_stop", mark if mark is not None else rule.entry_price, mark, now_ms)
    return (_ratchet(rule, mark) if mark is not None else rule), None


def update_on_bar(registry: TpSlRegistry, bars: Mapping[str, PriceBar | Bar],
                  now_ms: int) -> tuple[TpSlRegistry, list[ExitSignal]]:
    """Judge every registered leg on a closed bar (`now_ms` = the bar's close time).

    Gap through a level at the open -> exit at the open. Otherwise a stop (low/high through it) wins over a
    take-profit in the same bar. The trailing anchor moves with the bar's extreme only if nothing fired.
    """
    exact = {sym: _price_bar(bar) for sym, bar in bars.items()}
    return _judge_untriggered(registry, lambda rule: _judge_bar(rule, exact.get(rule.symbol), now_ms))


def _price_bar(bar: PriceBar | Bar) -> PriceBar:
    if isinstance(bar, PriceBar):
        return bar
    return PriceBar(to_decimal(bar.open), to_decimal(bar.high), to_decimal(bar.low), to_decimal(bar.close))


def _judge_bar(rule: ExitRule, bar: PriceBar | None, now_ms: int) -> tuple[ExitRule, ExitSignal | None]:
    long = rule.direction == "LONG"
    if bar is not None:
        stop = _stop_level(rule)
        tp = rule.take_profit
        if stop is not None and ((bar.open <= stop[0]) if long else (bar.open >= stop[0])):
            return _fire(rule, stop[1], bar.open, bar.open, now_ms)
        if tp is not None and ((bar.open >= tp) if long else (bar.open <= tp)):
            return _fire(rule, "take_profit", bar.open, bar.open, now_ms)
        if stop is not None and ((bar.low <= stop[0]) if long else (bar.high >= stop[0])):
            return _fire(rule, stop[1], stop[0], bar.low if long else bar.high, now_ms)
        if tp is not None and ((bar.high >= tp) if long else (bar.low <= tp)):
            return _fire(rule, "take_profit", tp, bar.high if long else bar.low, now_ms)
    if time_stop_due(rule.opened_at_ms, rule.time_stop_ms, now_ms):
        price = bar.close if bar is not None else rule.entry_price
        return _fire(rule, "time_stop", price, bar.close if bar is not None else None, now_ms)
    if bar is None:
        return rule, None
    return _ratchet(rule, bar.high if long else bar.low), None
