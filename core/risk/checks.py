"""The checks of the choke point. Each: (facts, context) -> Veto | None, pure.

Gate checks let strict reductions through; cap checks look only at the exposure an order adds
(docs/RISK.md "Veto codes").
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.brackets import liquidation_price
from core.numbers import ZERO, to_decimal
from core.orders import exit_side
from core.portfolio import float_or_none as _f
from core.portfolio import leg_notional
from core.risk.records import MAX_EXPONENT, VETO_CODES, OrderFacts, Veto

if TYPE_CHECKING:
    from core.risk.context import RiskContext

RANK = {c: i for i, c in enumerate(VETO_CODES)}

# core.filters violation (Binance error code) -> our veto code
_FILTER_CODES = {
    -4023: "step_size",
    -4014: "tick_size",
    -4004: "min_qty",
    -4005: "max_qty",
    -4013: "price_bounds",
    -4002: "price_bounds",
    -4016: "percent_price",
    -4024: "percent_price",
    -4164: "min_notional",
}

def _order_notional(f: OrderFacts) -> float | None:
    """qty x (limit price, else mark) for the report; None when unknown or out of range (an absurd product would
    raise decimal.Overflow, and the choke point never raises)."""
    qty, ref = f.order.qty, f.ref_price
    if ref is None or not qty.is_finite() or max(qty.adjusted(), ref.adjusted()) > MAX_EXPONENT:
        return None
    return float(qty * ref)


def _order_numbers(f: OrderFacts) -> dict[str, Any]:
    o = f.order
    return {"symbol": o.symbol, "side": o.side, "position_side": o.position_side,
            "order_qty": _f(o.qty) if o.qty.is_finite() else str(o.qty), "leg_qty": float(f.leg_qty)}


def check_kill_switch(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.kill_switch or f.is_reduce:
        return None
    src = " and ".join(k for k, v in ctx.kill_switch_sources.items() if v)
    return Veto("kill_switch", f"kill switch is on ({src}): only orders that shrink an existing leg pass",
                {**_order_numbers(f), **{f"kill_switch_{k}": v for k, v in ctx.kill_switch_sources.items()}})


def check_trading_halted(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if ctx.trading_state != "HALTED" or f.is_reduce:
        return None
    return Veto("trading_halted", "trading state is HALTED: only orders that shrink an existing leg pass",
                {**_order_numbers(f), "trading_state": ctx.trading_state})


def check_reduce_only(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if ctx.trading_state != "REDUCING" or f.is_reduce:
        return None
    return Veto("reduce_only",
                f"trading state is REDUCING: only SELL on LONG / BUY on SHORT up to the leg's qty pass "
                f"(got {f.order.side} {f.order.position_side} {f.order.qty}, leg qty {f.leg_qty})",
                {**_order_numbers(f), "trading_state": ctx.trading_state})


def _dd_numbers(ctx: RiskContext) -> dict[str, Any]:
    dd = ctx.dd
    assert dd is not None
    return {"peak_nav_usd": float(dd.peak_nav_usd), "latest_nav_usd": float(dd.latest_nav_usd),
            "current_dd_pct": float(dd.current_dd_pct), "window_points": dd.points}


def check_kill_dd(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.kill_dd_active or f.is_reduce:
        return None
    thr = ctx.limits.KILL_DD_PCT
    return Veto("kill_dd", f"drawdown {float(ctx.dd.current_dd_pct):.4%} >= KILL_DD_PCT {thr:.4%}",  # type: ignore[union-attr]
                {**_dd_numbers(ctx), "KILL_DD_PCT": float(thr)})


def check_portfolio_dd_circuit(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.circuit_active or f.is_reduce:
        return None
    thr = ctx.limits.circuit_breakers.max_portfolio_dd_nav_pct
    dd = ctx.dd
    return Veto("portfolio_dd_circuit",
                f"portfolio drawdown {float(dd.current_dd_pct):.4%} "  # type: ignore[union-attr]
                f"(peak {dd.peak_nav_usd}, latest {dd.latest_nav_usd})"  # type: ignore[union-attr]
                f" >= max_portfolio_dd_nav_pct {thr:.4%}: circuit tripped, no new risk",
                {**_dd_numbers(ctx), "max_portfolio_dd_nav_pct": float(thr)})


def check_daily_loss_limit(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.daily_loss_active or f.is_reduce:
        return None
    thr = ctx.limits.KILL_DAILY_LOSS_PCT
    return Veto("daily_loss_limit",
                f"today's loss {float(ctx.daily_loss):.4%} of day-start NAV "  # type: ignore[arg-type]
                f"{ctx.day_start_nav_usd} >= KILL_DAILY_LOSS_PCT {thr:.4%}",
                {"day_start_nav_usd": _f(ctx.day_start_nav_usd), "latest_nav_usd": _f(ctx.nav_usd),
                 "daily_loss_pct": _f(ctx.daily_loss), "KILL_DAILY_LOSS_PCT": float(thr),
                 "realized_pnl_today_usd": _f(ctx.realized_pnl_today_usd)})


def check_nav_stale(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not ctx.nav_stale_reason or f.is_reduce:
        return None
    age = None if ctx.nav_ts_ms is None else (ctx.now_ms - ctx.nav_ts_ms) / 1000.0
    return Veto("nav_stale",
                f"{ctx.nav_stale_reason} (freshness limit {ctx.limits.nav_freshness_seconds} s): no new risk",
                {"latest_nav_usd": _f(ctx.nav_usd) if ctx.nav_usd is not None and ctx.nav_usd.is_finite() else None,
                 "latest_nav_ts_ms": ctx.nav_ts_ms, "now_ms": ctx.now_ms, "nav_age_seconds": age,
                 "nav_freshness_seconds": float(ctx.limits.nav_freshness_seconds)})


_PROBLEM_TEXT = {
    "unknown_symbol": "no exchange filters for the symbol",
    "symbol_not_trading": "symbol status is not TRADING",
    "bad_side": "side must be BUY or SELL",
    "bad_position_side": "position_side must be LONG, SHORT or BOTH",
    "position_side_mode_mismatch":
        "position_side does not match the account's position mode (hedge: LONG/SHORT, one-way: BOTH)",
    "unsupported_order_type": "order_type must be LIMIT or MARKET",
    "qty_not_finite": "qty is not a finite number",
    "qty_not_positive": "qty must be > 0",
    "price_missing": "a LIMIT order needs a price",
    "price_not_finite": "price is not a finite number",
    "price_not_positive": "price must be > 0",
    "qty_out_of_range": "qty is beyond 1e18",
    "price_out_of_range": "price is beyond 1e18",
    "filters_unjudgeable": "the exchange filters could not be evaluated for these numbers",
    "leverage_not_positive": "leverage must be a finite number > 0",
    "unknown_intent": "intent must be OPEN or CLOSE",
    "intent_mismatch": "declared intent disagrees with side x position_side "
                       "(hedge: BUY LONG/SELL SHORT open, SELL LONG/BUY SHORT close)",
    "reduce_exceeds_position": "a close cannot exceed the leg's quantity",
    "shorts_disabled": "the profile does not allow opening shorts",
}


def check_invalid_order(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if not f.problems:
        return None
    return Veto("invalid_order", "; ".join(f"{p}: {_PROBLEM_TEXT.get(p, p)}" for p in f.problems),
                {**_order_numbers(f), "order_type": f.order.order_type, "intent": f.order.intent_text,
                 "price": None if f.order.price is None else str(f.order.price), "problems": list(f.problems)},
                details=f.problems)


def check_no_mark_price(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.mark is not None or f.filters is None:
        return None
    return Veto("no_mark_price", f"no mark price for {f.order.symbol}: exposure cannot be valued, no new risk",
                {"symbol": f.order.symbol})


def _filter_check(code: str) -> Callable[[OrderFacts, RiskContext], Veto | None]:
    def check(f: OrderFacts, ctx: RiskContext) -> Veto | None:
        hits = [v for v in f.violations if _FILTER_CODES.get(v.code) == code]
        if not hits:
            return None
        flt = f.filters
        assert flt is not None
        market = f.order.order_type == "MARKET"
        step, min_q, max_q = flt.lot(market)
        numbers: dict[str, Any] = {
            "binance_codes": [v.code for v in hits], "qty": float(f.order.qty),
            "price": _f(f.order.price) if not market else None, "mark_price": _f(f.mark),
            "step_size": float(step), "min_qty": float(min_q), "max_qty": float(max_q),
            "tick_size": float(flt.tick_size), "min_price": float(flt.min_price), "max_price": float(flt.max_price),
            "percent_up": float(flt.percent_up), "percent_down": float(flt.percent_down),
            "min_notional": float(flt.min_notional),
            "notional_usd": _order_notional(f),
        }
        return Veto(code, " ".join(f"[{v.code}] {v.reason}" for v in hits), numbers,
                    details=tuple(v.name for v in hits if v.name))

    check.__name__ = f"check_{code}"
    return check


check_step_size = _filter_check("step_size")
check_tick_size = _filter_check("tick_size")
check_min_qty = _filter_check("min_qty")
check_max_qty = _filter_check("max_qty")
check_price_bounds = _filter_check("price_bounds")
check_percent_price = _filter_check("percent_price")
check_min_notional = _filter_check("min_notional")  # core.filters already exempts reductions


def check_max_leverage(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce:
        return None
    cap = ctx.max_leverage
    order_lev = f.order.leverage if f.order.leverage is not None else (f.leg.leverage if f.leg else None)
    over_order = order_lev is not None and order_lev.is_finite() and order_lev > cap
    # An open leg whose leverage the snapshot does not know (positionRisk v3 has none) is never assumed 1x:
    # adding to it without saying the leverage is vetoed (docs/RISK.md, sub-code leverage_unknown).
    unknown = f.order.leverage is None and f.leg is not None and f.leg.leverage is None and f.add_usd > 0
    post = ctx.total_gross + f.add_usd
    over_book = f.add_usd > 0 and ctx.leverage_cap_usd is not None and post > ctx.leverage_cap_usd
    if not (over_order or over_book or unknown):
        return None
    post_lev = post / ctx.nav_usd if ctx.nav_ok else None  # type: ignore[operator]
    parts = []
    if unknown:
        parts.append(f"the leverage of the open {f.order.symbol} {f.order.position_side} leg is unknown and the "
                     f"order does not say it: it cannot be judged against {cap}x")
    if over_book:
        parts.append(f"post-trade gross {post:.2f} USD / NAV {ctx.nav_usd} = {float(post_lev):.4f}x > {cap}x")  # type: ignore[arg-type]
    if over_order:
        parts.append(f"order leverage {order_lev}x > {cap}x")
    return Veto("max_leverage", "; ".join(parts),
                {"post_trade_gross_usd": float(post), "nav_usd": _f(ctx.nav_usd), "post_trade_leverage": _f(post_lev),
                 "order_leverage": _f(order_lev), "max_leverage": float(cap),
                 "MAX_LEVERAGE": float(ctx.limits.MAX_LEVERAGE),
                 "profile_max_leverage": float(ctx.profile.max_leverage) if ctx.profile is not None else None,
                 "leverage_known": not unknown},
                details=("leverage_unknown",) if unknown else ())


def _bracket_leverage(f: OrderFacts, ctx: RiskContext) -> Decimal:
    """The leverage the leg trades at: the order's, else the leg's, else the configured cap (the leverage the
    cycle sets, docs/RISK.md "Brackets and liquidation")."""
    lev = f.order.leverage if f.order.leverage is not None else (f.leg.leverage if f.leg else None)
    return lev if lev is not None and lev.is_finite() and lev > 0 else ctx.max_leverage


def check_bracket_notional(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    """Post-trade leg notional (leg + its resting entries + this order) within the bracket's cap for the
    leverage (Binance -2027 / -4028). Unknown brackets for the symbol: no new risk (details brackets_unknown)."""
    if f.is_reduce or f.add_usd <= 0 or ctx.brackets is None or f.problems:
        return None
    sym, ps = f.order.symbol, f.order.position_side
    br = ctx.brackets.get(sym)
    lev = _bracket_leverage(f, ctx)
    if br is None:
        return Veto("bracket_notional", f"no leverage brackets for {sym}: the maximum position and the "
                    f"liquidation price cannot be judged, no new risk", {"symbol": sym, "leverage": float(lev)},
                    details=("brackets_unknown",))
    cur = ZERO if (f.leg is not None and ps == "BOTH" and f.order.side == exit_side(f.leg.direction)) \
        else ctx.leg_gross.get((sym, ps), ZERO)  # a one-way flip starts a new leg
    post = cur + f.add_usd
    cap = br.max_notional(lev)
    if post <= cap:
        return None
    text = (f"leverage {lev}x is above the first bracket's {br.max_leverage}x (Binance -4028)" if cap <= 0 else
            f"{sym} {ps} post-trade notional {post:.2f} USD > {cap} USD, the bracket maximum at {lev}x "
            f"(Binance -2027)")
    return Veto("bracket_notional", text,
                {"symbol": sym, "position_side": ps, "leg_notional_usd": float(cur),
                 "order_notional_usd": float(f.add_usd), "post_trade_usd": float(post), "leverage": float(lev),
                 "max_notional_usd": float(cap), "bracket_max_leverage": br.max_leverage},
                details=("leverage_above_brackets",) if cap <= 0 else ())


def post_trade_liquidation(f: OrderFacts, ctx: RiskContext) -> tuple[Decimal, Decimal, Decimal] | None:
    """(signed post-trade amount, its entry price, its cross liquidation price) of the order's leg, or None when
    it cannot be judged (no NAV, mark, brackets or price). Cross margin (Hedge sets CROSSED, execution/executor/
    loop.py): wallet (NAV - unrealized PnL) + the other legs' unrealized PnL - their maintenance margin."""
    br = ctx.brackets.get(f.order.symbol) if ctx.brackets is not None else None
    if br is None or f.mark is None or f.ref_price is None or not ctx.nav_ok or ctx.maint_unknown:
        return None
    ref, leg = f.ref_price, f.leg
    flip = leg is not None and f.order.position_side == "BOTH" and f.order.side == exit_side(leg.direction)
    add_qty = f.add_usd / ref
    sign = 1 if f.order.side == "BUY" else -1
    leg_mark = ctx.marks.get(f.order.symbol, f.mark)
    leg_upnl = leg.unrealized_pnl if leg is not None else ZERO
    leg_mm = br.maint(leg_notional(leg, leg_mark)) if leg is not None else ZERO
    wallet = ctx.nav_usd - ctx.total_upnl  # type: ignore[operator]
    margin = wallet + (ctx.total_upnl - leg_upnl) - (ctx.total_maint - leg_mm)
    if leg is None or flip:
        qty, entry = add_qty, ref
        if flip:
            margin += leg_upnl  # the old leg's PnL is realized into the wallet
    else:
        qty = leg.qty + add_qty
        entry = (leg.qty * leg.entry_price + add_qty * ref) / qty if leg.entry_price > 0 else ref
    amount = qty * sign
    try:
        return amount, entry, liquidation_price(br, amount, entry, margin, f.mark)
    except ArithmeticError:  # a degenerate tier (MMR 1 for a long): unjudgeable, never raised out of the check
        return None


def check_liquidation_distance(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    """The post-trade leg's liquidation price no nearer to the mark than `min_liquidation_distance_pct`."""
    need = to_decimal(ctx.limits.min_liquidation_distance_pct)
    if f.is_reduce or f.add_usd <= 0 or need <= 0 or f.problems:
        return None
    got = post_trade_liquidation(f, ctx)
    if got is None:
        return None  # unknown brackets are bracket_notional's veto; no NAV / mark have their own codes
    amount, entry, lp = got
    mark = f.mark
    assert mark is not None
    if amount > 0:
        dist = (mark - lp) / mark
    else:  # a short whose formula falls to 0 has no margin at all: as near as it gets
        dist = (lp - mark) / mark if lp > 0 else Decimal(-1)
    if dist >= need:
        return None
    return Veto("liquidation_distance",
                f"{f.order.symbol} {f.order.position_side} post-trade liquidation price {lp:.8f} is "
                f"{float(dist):.4%} from the mark {mark} < min_liquidation_distance_pct {float(need):.4%}",
                {"symbol": f.order.symbol, "position_side": f.order.position_side, "mark_price": float(mark),
                 "post_trade_qty": float(abs(amount)), "post_trade_entry": float(entry),
                 "liquidation_price": float(lp), "liquidation_distance_pct": float(dist),
                 "min_liquidation_distance_pct": float(need), "nav_usd": _f(ctx.nav_usd),
                 "margin_mode": "CROSSED"})


def check_max_positions(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or not f.new_leg or f.problems:
        return None
    limit = ctx.limits.MAX_POSITIONS
    count = len(ctx.committed_legs)
    if count < limit:
        return None
    return Veto("max_positions", f"opening a new leg {f.order.symbol} {f.order.position_side} with {count} legs "
                f"open or pending >= MAX_POSITIONS {limit}",
                {"open_legs": ctx.open_leg_count, "pending_new_legs": count - ctx.open_leg_count,
                 "MAX_POSITIONS": limit, "symbol": f.order.symbol, "position_side": f.order.position_side})


def check_symbol_nav_cap(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.add_usd <= 0:
        return None
    sym = f.order.symbol
    cur = ctx.symbol_gross.get(sym, ZERO)
    post = cur + f.add_usd
    cap_usd = ctx.symbol_cap_usd(sym)
    over_nav = cap_usd is not None and post > cap_usd
    usd_cap = to_decimal(ctx.profile.max_position_usd) if ctx.profile is not None else None
    over_usd = usd_cap is not None and post > usd_cap
    if not (over_nav or over_usd):
        return None
    cap = ctx.limits.symbol_nav_cap(sym)
    post_pct = post / ctx.nav_usd if ctx.nav_ok else None  # type: ignore[operator]
    parts = []
    if over_nav:
        parts.append(f"{sym} post-trade gross {post:.2f} USD = {float(post_pct):.4%} of NAV > cap {cap:.4%}")  # type: ignore[arg-type]
    if over_usd:
        parts.append(f"{sym} post-trade gross {post:.2f} USD > profile max_position_usd {usd_cap}")
    return Veto("symbol_nav_cap", "; ".join(parts),
                {"symbol": sym, "symbol_gross_usd": float(cur), "order_notional_usd": float(f.add_usd),
                 "post_trade_usd": float(post), "post_trade_nav_pct": _f(post_pct), "nav_usd": _f(ctx.nav_usd),
                 "symbol_nav_cap": float(cap), "profile_max_position_usd": _f(usd_cap)})


def check_correlation_cap(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.add_usd <= 0 or not ctx.nav_ok:
        return None
    breached = []
    for g in ctx.groups_of.get(f.order.symbol, ()):
        post = ctx.group_gross[g] + f.add_usd
        if post > ctx.group_cap_usd[g]:
            breached.append((g, post))
    if not breached:
        return None
    nav = ctx.nav_usd
    g0, post0 = breached[0]
    cap0 = ctx.groups.groups[g0].max_group_nav_pct
    text = "; ".join(
        f"group {g} post-trade gross {p:.2f} USD = {float(p / nav):.4%} of NAV "  # type: ignore[operator]
        f"> cap {ctx.groups.groups[g].max_group_nav_pct:.4%}"
        for g, p in breached)
    return Veto("correlation_cap", text,
                {"group": g0, "group_gross_usd": float(ctx.group_gross[g0]), "order_notional_usd": float(f.add_usd),
                 "post_trade_usd": float(post0), "post_trade_nav_pct": float(post0 / nav),  # type: ignore[operator]
                 "max_group_nav_pct": float(cap0), "nav_usd": float(nav),  # type: ignore[arg-type]
                 "breached_groups": [g for g, _ in breached]},
                details=tuple(g for g, _ in breached))


def check_max_gross_exposure(f: OrderFacts, ctx: RiskContext) -> Veto | None:
    if f.is_reduce or f.add_usd <= 0 or ctx.gross_cap_usd is None:
        return None
    post = ctx.total_gross + f.add_usd
    if post <= ctx.gross_cap_usd:
        return None
    cap = ctx.limits.max_gross_exposure_nav_pct
    pct = post / ctx.nav_usd  # type: ignore[operator]
    return Veto("max_gross_exposure",
                f"post-trade gross exposure {post:.2f} USD = {float(pct):.4%} of NAV > cap {cap:.4%}",
                {"gross_usd": float(ctx.total_gross), "order_notional_usd": float(f.add_usd),
                 "post_trade_usd": float(post), "post_trade_nav_pct": float(pct),
                 "max_gross_exposure_nav_pct": float(cap), "nav_usd": _f(ctx.nav_usd)})


PIPELINE: tuple[Callable[[OrderFacts, RiskContext], Veto | None], ...] = (
    check_kill_switch,
    check_trading_halted,
    check_reduce_only,
    check_kill_dd,
    check_portfolio_dd_circuit,
    check_daily_loss_limit,
    check_nav_stale,
    check_invalid_order,
    check_no_mark_price,
    check_step_size,
    check_tick_size,
    check_min_qty,
    check_max_qty,
    check_price_bounds,
    check_percent_price,
    check_min_notional,
    check_max_leverage,
    check_bracket_notional,
    check_liquidation_distance,
    check_max_positions,
    check_symbol_nav_cap,
    check_correlation_cap,
    check_max_gross_exposure,
)


def summary(f: OrderFacts, ctx: RiskContext) -> dict[str, Any]:
    """The numbers behind the decision, approved or not (for the `[decision]` log line)."""
    nav = ctx.nav_usd if ctx.nav_ok else None
    sym = f.order.symbol
    sym_post = ctx.symbol_gross.get(sym, ZERO) + f.add_usd
    gross_post = ctx.total_gross + f.add_usd
    return {
        "is_reduce": f.is_reduce,
        "trading_state": ctx.trading_state,
        "kill_switch": ctx.kill_switch,
        "nav_usd": _f(nav),
        "nav_age_seconds": None if ctx.nav_ts_ms is None else (ctx.now_ms - ctx.nav_ts_ms) / 1000.0,
        "portfolio_dd_pct": _f(ctx.dd.current_dd_pct) if ctx.dd else None,
        "daily_loss_pct": _f(ctx.daily_loss),
        "order_notional_usd": _order_notional(f),
        "added_exposure_usd": float(f.add_usd),
        "symbol_post_trade_nav_pct": _f(sym_post / nav) if nav else None,
        "gross_post_trade_nav_pct": _f(gross_post / nav) if nav else None,
        "group_post_trade_nav_pct": (
            {g: float((ctx.group_gross[g] + f.add_usd) / nav) for g in ctx.groups_of.get(sym, ())} if nav else {}),
        "open_legs": ctx.open_leg_count,
        "leg_qty": float(f.leg_qty),
    }
