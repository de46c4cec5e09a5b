"""The account as sync_state publishes it: NAV, reserve, high-water mark, 24h delta, daily PnL, hedge-aware
legs, trade-log merging. Pure: values in, values out (docs/v7.4_Risk_and_Methodology.md §1, docs/STATE_FILES.md).

- NAV = USDT wallet balance + Σ unrealized PnL of every leg. The BTC reserve is valued at the BTC mark and
  reported beside NAV, never added to it.
- Every number read from the exchange is checked before it is used: a NaN, an infinity, a negative
  quantity, a duplicated leg or an unknown position side makes the whole reading bad (`BadReading`), so
  the caller keeps publishing the last good values instead of garbage.
- Drawdown, correlation exposure and the circuit decision are core.risk's (one rule, used by the
  executor's check_order too); this module keeps the persisted high-water mark they are measured from.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from core.numbers import is_non_finite, parse_decimal, to_decimal
from core.portfolio import NavPoint, PositionLeg, float_or_none
from core.risk.metrics import day_start_nav

ZERO = Decimal(0)
DAY_MS = 86_400_000
MIN_NAV_LOG_POINTS = 200  # docs/STATE_FILES.md: nav_log.jsonl keeps at least this many points
MIN_TRADE_LOG = 200
HEDGE_SIDES = ("LONG", "SHORT", "BOTH")


class BadReading(ValueError):
    """An exchange answer that must not be published. `code` is machine-readable, the text is for people."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def finite(value: Any, what: str) -> Decimal:
    """Decimal from an exchange value (the one parser, core.numbers), or BadReading for NaN / infinity / text
    that is not a plain ASCII number (the exchange sends numbers as bare text: 'NaN' or ' 1' there is not a number)."""
    if isinstance(value, str) and (value != value.strip() or is_non_finite(value)):
        raise BadReading("not_a_number", f"{what} = {str(value)[:40]!r} is not a number")
    if is_non_finite(value):
        raise BadReading("non_finite", f"{what} = {str(value)[:40]} is not finite")
    try:
        d = parse_decimal(value)
    except ValueError:
        raise BadReading("not_a_number", f"{what} = {str(value)[:40]!r} is not a number") from None
    if not math.isfinite(float(d)):  # 1e999 is a finite Decimal but an infinite float
        raise BadReading("non_finite", f"{what} = {str(d)[:40]} is not finite")
    return d


# --------------------------------------------------------------------------- readings

@dataclass(frozen=True, slots=True)
class AccountLeg:
    """One non-zero position leg. `qty` is positive; the direction is `position_side` (hedge mode)."""

    symbol: str
    position_side: str
    qty: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl_usd: Decimal
    leverage: int | None = None
    liquidation_price: Decimal = ZERO

    @property
    def notional_usd(self) -> Decimal:
        return self.qty * self.mark_price

    def as_position_leg(self) -> PositionLeg:
        direction = self.position_side if self.position_side != "BOTH" else "LONG"
        return PositionLeg(self.symbol, self.position_side, self.qty, self.entry_price, self.mark_price,
                           Decimal(self.leverage or 1), self.unrealized_pnl_usd, direction)


def check_leg(symbol: str, position_side: str, amount: Any, entry_price: Any, mark_price: Any,
              unrealized_pnl: Any, leverage: Any = None, liquidation_price: Any = 0) -> AccountLeg | None:
    """A validated leg from positionRisk values (amount signed as Binance sends it); None for a flat leg."""
    where = f"{symbol or '?'} {position_side or '?'}"
    if not symbol or not isinstance(symbol, str):
        raise BadReading("bad_leg", f"a position row without a symbol ({where})")
    side = str(position_side).upper()
    if side not in HEDGE_SIDES:
        raise BadReading("bad_leg", f"{where}: unknown positionSide {position_side!r}")
    amt = finite(amount, f"{where} positionAmt")
    upnl = finite(unrealized_pnl, f"{where} unRealizedProfit")
    if amt == 0:
        return None
    mark = finite(mark_price, f"{where} markPrice")
    if mark <= 0:
        raise BadReading("bad_mark", f"{where}: markPrice {mark} is not positive")
    entry = finite(entry_price, f"{where} entryPrice")
    liq = finite(liquidation_price or 0, f"{where} liquidationPrice")
    if side == "LONG" and amt < 0 or side == "SHORT" and amt > 0:
        raise BadReading("bad_leg", f"{where}: positionAmt {amt} has the wrong sign for the leg")
    lev = None
    if leverage not in (None, ""):
        lev_d = finite(leverage, f"{where} leverage")
        lev = int(lev_d) if lev_d > 0 else None
    return AccountLeg(symbol, side, abs(amt), entry, mark, upnl, lev, liq)


def check_legs(legs: Iterable[AccountLeg | None]) -> tuple[AccountLeg, ...]:
    """Drop flat legs, refuse duplicates (a partial or garbled answer), order by (symbol, side)."""
    out: dict[tuple[str, str], AccountLeg] = {}
    for leg in legs:
        if leg is None:
            continue
        key = (leg.symbol, leg.position_side)
        if key in out:
            raise BadReading("duplicate_leg", f"{key[0]} {key[1]} appears twice in one positions answer")
        out[key] = leg
    return tuple(out[k] for k in sorted(out))


@dataclass(frozen=True, slots=True)
class AccountReading:
    """One consistent read of the account: USDT wallet, legs, marks, the market time it describes."""

    wallet_balance_usd: Decimal
    available_balance_usd: Decimal
    legs: tuple[AccountLeg, ...]
    as_of_ms: int
    btc_mark: Decimal | None = None  # None when the BTC mark is missing or unusable (reserve unpriced)

    @property
    def unrealized_pnl_usd(self) -> Decimal:
        return sum((leg.unrealized_pnl_usd for leg in self.legs), ZERO)

    @property
    def nav_usd(self) -> Decimal:
        """NAV = wallet balance + Σ unrealized PnL (USDT). The BTC reserve is never part of it."""
        return self.wallet_balance_usd + self.unrealized_pnl_usd


def make_reading(wallet_balance: Any, available_balance: Any, legs: Iterable[AccountLeg | None],
                 as_of_ms: int, btc_mark: Any = None) -> AccountReading:
    """A checked AccountReading. A bad BTC mark only unprices the reserve; it does not spoil NAV."""
    wallet = finite(wallet_balance, "USDT wallet balance")
    available = finite(available_balance, "USDT available balance")
    if isinstance(as_of_ms, bool) or not isinstance(as_of_ms, int) or as_of_ms <= 0:
        raise BadReading("bad_time", f"market time {as_of_ms!r} is not a positive epoch-ms integer")
    mark = None
    try:
        mark = finite(btc_mark, "BTCUSDT mark") if btc_mark is not None else None
    except BadReading:
        mark = None
    if mark is not None and mark <= 0:
        mark = None
    return AccountReading(wallet, available, check_legs(legs), as_of_ms, mark)


def reserve_usd(reserve_btc: Any, btc_mark: Decimal | None) -> Decimal | None:
    """The reserve at the BTC mark; None when there is no usable mark."""
    if btc_mark is None or not btc_mark.is_finite() or btc_mark <= 0:
        return None
    return to_decimal(float(reserve_btc)) * btc_mark


# --------------------------------------------------------------------------- plausibility

#: A NAV move larger than this fraction between two syncs is held until a second read confirms it: one
#: garbled answer (a missing field read as 0) must not trip the DD circuit or become the peak. A real move
#: that large (a deposit, a withdrawal) is published one cycle later.
MAX_UNCONFIRMED_NAV_JUMP = Decimal("0.25")
CONFIRM_TOLERANCE = Decimal("0.01")


def needs_confirmation(last_good_nav: Decimal | None, nav: Decimal, pending: Decimal | None) -> bool:
    """True when `nav` jumps more than MAX_UNCONFIRMED_NAV_JUMP from the last good NAV and is not confirmed
    by `pending` (the previous, held reading) within CONFIRM_TOLERANCE. A non-positive NAV always needs a
    confirming read (an emptied account is published once two reads agree)."""
    if last_good_nav is None or last_good_nav <= 0:
        return False
    if nav > 0 and abs(nav - last_good_nav) <= MAX_UNCONFIRMED_NAV_JUMP * last_good_nav:
        return False
    if pending is None:
        return True
    return abs(nav - pending) > CONFIRM_TOLERANCE * max(abs(pending), Decimal(1))


# --------------------------------------------------------------------------- high-water mark

@dataclass(frozen=True, slots=True)
class PeakState:
    """peak_state.json: the persisted high-water mark the DD circuit is measured from.

    It only rises with NAV (`advance_peak`) or is set by the operator reset command; so once the circuit
    trips it holds until NAV recovers or the config's threshold changes — it cannot clear by the peak
    ageing out of a window.
    """

    peak_nav_usd: Decimal | None = None
    peak_at_ms: int | None = None
    reset_at: str | None = None
    reset_by: str | None = None
    circuit_tripped_at_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"peak_nav_usd": float_or_none(self.peak_nav_usd), "peak_at_ms": self.peak_at_ms,
                "reset_at": self.reset_at, "reset_by": self.reset_by,
                "circuit_tripped_at_ms": self.circuit_tripped_at_ms}

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> PeakState:
        """From a peak_state.json payload; BadReading when the peak is not a positive finite number."""
        peak = doc.get("peak_nav_usd")
        peak_d = None if peak is None else finite(peak, "peak_state.peak_nav_usd")
        if peak_d is not None and peak_d <= 0:
            raise BadReading("bad_peak", f"peak_state.peak_nav_usd {peak_d} is not positive")

        def opt_int(key: str) -> int | None:
            v = doc.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        def opt_str(key: str) -> str | None:
            v = doc.get(key)
            return v if isinstance(v, str) else None

        return cls(peak_d, opt_int("peak_at_ms"), opt_str("reset_at"), opt_str("reset_by"),
                   opt_int("circuit_tripped_at_ms"))


def advance_peak(state: PeakState, nav_usd: Decimal, t_ms: int) -> PeakState:
    """The high-water mark after seeing `nav_usd` at `t_ms` (a non-positive NAV never becomes the peak)."""
    if nav_usd > 0 and (state.peak_nav_usd is None or nav_usd > state.peak_nav_usd):
        return replace(state, peak_nav_usd=nav_usd, peak_at_ms=t_ms)
    return state


def track_circuit(state: PeakState, active: bool, now_ms: int) -> PeakState:
    """Remember when the circuit tripped (kept while it holds, cleared when it clears)."""
    if active:
        return state if state.circuit_tripped_at_ms is not None else replace(state, circuit_tripped_at_ms=now_ms)
    return replace(state, circuit_tripped_at_ms=None) if state.circuit_tripped_at_ms is not None else state


def recover_peak(candidates: Iterable[Any]) -> Decimal | None:
    """The highest positive finite value among what survives of the history (used when peak_state.json is
    corrupt on start: never lower than what was published, so a damaged file cannot clear the circuit)."""
    best: Decimal | None = None
    for value in candidates:
        try:
            d = finite(value, "recovered peak")
        except BadReading:
            continue
        if d > 0 and (best is None or d > best):
            best = d
    return best


# --------------------------------------------------------------------------- NAV history figures

def nav_log_keep(sync_interval_s: float, nav_history_len: int) -> int:
    """Points nav_log.jsonl keeps: ≥ 200, ≥ the risk window, and 25 h of syncs so the 24h delta and the
    UTC day start are always inside it."""
    per_25h = int(-(-25 * 3600 // max(float(sync_interval_s), 1.0)))
    return max(MIN_NAV_LOG_POINTS, int(nav_history_len), per_25h)


def nav_at_or_before(points: Sequence[NavPoint], t_ms: int) -> NavPoint | None:
    """The newest finite point at or before t_ms (None when the history does not reach back that far)."""
    best = None
    for p in points:
        if p.ts_ms <= t_ms and p.nav_usd.is_finite() and (best is None or p.ts_ms >= best.ts_ms):
            best = p
    return best


def ratio(num: Decimal | None, den: Decimal | None) -> Decimal | None:
    if num is None or den is None or not den.is_finite() or den <= 0:
        return None
    return num / den


def nav_figures(reading: AccountReading, peak: PeakState, history: Sequence[NavPoint],
                reserve_btc: Any) -> dict[str, Any]:
    """The nav.json payload (docs/STATE_FILES.md): money as floats, *_pct as fractions, None when unknown.

    `history` must include the current reading's point. 24h delta from the newest point at or before
    as_of - 24h; daily PnL from the NAV at the start of the UTC day (core.risk.metrics.day_start_nav).
    """
    nav = reading.nav_usd
    peak_nav = peak.peak_nav_usd if peak.peak_nav_usd is not None and peak.peak_nav_usd >= nav else nav
    dd = ratio(peak_nav - nav, peak_nav)
    ago = nav_at_or_before(history, reading.as_of_ms - DAY_MS)
    delta = None if ago is None else nav - ago.nav_usd
    day_start = day_start_nav(history, reading.as_of_ms)
    daily = None if day_start is None else nav - day_start
    reserve = reserve_usd(reserve_btc, reading.btc_mark)
    f = float_or_none
    return {
        "nav_usd": float(nav),
        "wallet_balance_usd": float(reading.wallet_balance_usd),
        "unrealized_pnl_usd": float(reading.unrealized_pnl_usd),
        "available_balance_usd": float(reading.available_balance_usd),
        "peak_nav_usd": float(peak_nav),
        "peak_at_ms": peak.peak_at_ms,
        "latest_nav_usd": float(nav),
        "current_dd_pct": f(max(dd, ZERO)) if dd is not None else None,
        "nav_24h_ago_usd": f(ago.nav_usd) if ago else None,
        "nav_24h_ago_ms": ago.ts_ms if ago else None,
        "nav_24h_delta_usd": f(delta),
        "nav_24h_delta_pct": f(ratio(delta, ago.nav_usd if ago else None)),
        "day_start_nav_usd": f(day_start),
        "daily_pnl_usd": f(daily),
        "daily_pnl_pct": f(ratio(daily, day_start)),
        "reserve_btc": float(reserve_btc),
        "reserve_btc_mark": f(reading.btc_mark),
        "reserve_usd": f(reserve),
        "reserve_in_nav": False,
        "as_of_ms": reading.as_of_ms,
    }


def legs_payload(legs: Sequence[AccountLeg]) -> list[dict[str, Any]]:
    """positions.json rows: one per non-zero leg, `hedged` when the symbol holds both LONG and SHORT."""
    sides: dict[str, set[str]] = {}
    for leg in legs:
        sides.setdefault(leg.symbol, set()).add(leg.position_side)
    return [
        {"symbol": leg.symbol, "position_side": leg.position_side, "qty": float(leg.qty),
         "entry_price": float(leg.entry_price), "mark_price": float(leg.mark_price),
         "notional_usd": float(leg.notional_usd), "unrealized_pnl_usd": float(leg.unrealized_pnl_usd),
         "leverage": leg.leverage, "liquidation_price": float(leg.liquidation_price),
         "hedged": {"LONG", "SHORT"} <= sides[leg.symbol]}
        for leg in legs
    ]


# --------------------------------------------------------------------------- trade log

def trade_key(t: Mapping[str, Any]) -> tuple[str, int]:
    return (str(t.get("symbol", "")), int(t.get("trade_id", -1)))


def merge_trades(existing: Iterable[Mapping[str, Any]], new: Iterable[Mapping[str, Any]],
                 keep: int) -> list[dict[str, Any]]:
    """Union by (symbol, trade_id) — a trade read twice is listed once — oldest first, newest `keep` kept."""
    table: dict[tuple[str, int], dict[str, Any]] = {}
    for t in list(existing) + list(new):
        table[trade_key(t)] = dict(t)
    rows = sorted(table.values(), key=lambda t: (int(t.get("time_ms", 0)), trade_key(t)))
    return rows[-max(int(keep), MIN_TRADE_LOG):]


def last_trade_ids(trades: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """symbol -> highest trade id already logged (the next userTrades read starts after it)."""
    out: dict[str, int] = {}
    for t in trades:
        sym, tid = trade_key(t)
        if tid > out.get(sym, -1):
            out[sym] = tid
    return out
