"""The clock advance: what happens between two market times (docs/VENUE.md "How the clock advances").

Fills of resting orders, conditional-order triggers, liquidations and funding, in time order. The full
pass (`_step_all`) defines the result; the default path computes the same while touching only what the
current market hour's bounds cannot rule out. A mixin of Engine.
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from decimal import Decimal

from core.numbers import to_decimal

from .engine_state import EngineState
from .records import ZERO, Account, AlgoOrder, Order, Position, q8, s8
from .replay import Market

CELL_MS = 3_600_000        # the bounds are built per market hour ("cell") of the replayed path
_PAD = 1e-9                # relative padding on a cell's price range (float noise of the interpolation)
_TOL = 1e-8                # relative slack of the float bounds; anything closer is decided exactly


class Advance(EngineState):
    # ---------------------------------------------------------------- the clock advance
    #
    # What an advance does is defined by the full pass (`_step_all`): for each sub-interval (cur, b] cut at
    # the funding times of active symbols, every resting order whose symbol's (low, high) over [cur, b]
    # reaches its price gets the exact first-crossing search; fills and triggers run in time order; then
    # every position is checked for liquidation at its worst price over [cur, b]; then funding is settled
    # at b. `eager=True` runs exactly that on every sync: O(active symbols) per request.
    #
    # The default path gives the same result while touching only what can act:
    #   * funding: a heap holds each active symbol's next funding time, so the cuts cost O(log n);
    #   * cells: for the current market hour, each active symbol's (low, high) over the whole hour (padded)
    #     is computed once. An order whose price lies outside it cannot be reached by any window inside
    #     the hour, so only the other ("candidate") orders get the full pass's treatment;
    #   * positions: per account, float sums of each leg's margin terms at the hour's adverse price bound
    #     the cross margin balance minus maintenance from below, and each isolated leg is tested alone;
    #     only legs / accounts the bound cannot clear get the full pass's exact liquidation check. The same
    #     sums bound the available balance of an order's margin check (exact summary only when too close);
    #   * a sub-interval that leaves the hour runs the full pass (about once per market hour), then the
    #     next hour's bounds are built (O(active symbols)).
    # Legs whose numbers change (fills, funding, leverage) are re-bounded before the next use.

    def reset_index(self) -> None:
        """Rebuild the advance's indexes from scratch (after replacing accounts or restarting the clock)."""
        self._fund_heap: list = []               # (time, symbol): an active symbol's next funding time
        self._fund_next: dict = {}               # symbol -> its entry's time in the heap
        self._cell_k: int | None = None          # the market hour the bounds below are for
        self._cell_rng: dict = {}                # symbol -> (hour, padded low, padded high)
        self._cand: dict = {}                    # ("o" | "a", id) -> (account, order | algo) the hour can reach
        self._bounds: dict = {}                  # api_key -> _Bounds
        self._dirty: dict = {}                   # (api_key, symbol, side) -> (account, position) to re-bound
        for acct in self.accounts.values():
            for sym in {*acct.open_orders.by_symbol, *acct.open_algo.by_symbol,
                        *(p.symbol for p in acct.live_positions())}:
                self._activate(sym)

    def _active(self) -> tuple[set, set]:
        """(symbols with open orders/algos, symbols with positions) over all accounts."""
        order_syms, pos_syms = set(), set()
        for acct in self.accounts.values():
            for o in acct.open_orders.values():
                order_syms.add(o.symbol)
            for a in acct.open_algo.values():
                order_syms.add(a.symbol)
            for p in acct.positions.values():
                if p.amt:
                    pos_syms.add(p.symbol)
        return order_syms, pos_syms

    def _is_active(self, symbol: str) -> bool:
        return any(acct.active_on(symbol) for acct in self.accounts.values())

    def _activate(self, symbol: str) -> None:
        """Make sure `symbol`'s next funding time is in the heap (harmless if it turns out idle)."""
        if self.eager or symbol in self._fund_next:
            return
        t = self.market.series(symbol).next_funding_time(self.last_sync)
        self._fund_next[symbol] = t
        heapq.heappush(self._fund_heap, (t, symbol))

    def sync(self, now: int) -> None:
        """Advance the engine to market time `now` (called on every request and by a timer)."""
        a = self.last_sync
        if now <= a:
            return
        funding = self._funding_all(a, now) if self.eager else self._funding_due(a, now)
        cur = a
        for b in sorted(funding) + [now]:
            if b > cur:
                if self.eager:
                    self._step_all(cur, b)
                else:
                    self._step(cur, b)
            if b in funding:
                self._settle_funding(b, funding.pop(b))
            cur = max(cur, b)
            self.last_sync = cur
        self.last_sync = now

    def _funding_all(self, a: int, now: int) -> dict:
        """Funding events in (a, now] of every symbol with an order, a conditional order or a position
        (a resting order may open a position before the funding time), each time's list in symbol order."""
        order_syms, pos_syms = self._active()
        funding: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for sym in sorted(order_syms | pos_syms, key=self._rank.__getitem__):
            for t, r in self.market.series(sym).funding_events(a, now):
                funding[t].append((sym, r))
        return funding

    def _funding_due(self, a: int, now: int) -> dict:
        """_funding_all from the heap: only symbols whose next funding time is <= now are looked at."""
        heap, due = self._fund_heap, []
        while heap and heap[0][0] <= now:
            t, sym = heapq.heappop(heap)
            if self._fund_next.get(sym) != t:
                continue                         # superseded entry
            del self._fund_next[sym]
            if self._is_active(sym):
                due.append(sym)                  # an idle symbol leaves the heap until it is used again
        funding: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for sym in sorted(due, key=self._rank.__getitem__):
            for t, r in self.market.series(sym).funding_events(a, now):
                funding[t].append((sym, r))
            nt = self.market.series(sym).next_funding_time(now)
            self._fund_next[sym] = nt
            heapq.heappush(heap, (nt, sym))
        return funding

    def _step_all(self, cur: int, b: int) -> None:
        """The full pass over (cur, b]: every open order and position of every account."""
        ranges = _Ranges(self.market, cur, b)
        orders = [(acct, o) for acct in self.accounts.values() for o in acct.open_orders.values()]
        algos = [(acct, al) for acct in self.accounts.values() for al in acct.open_algo.values()]
        if orders or algos:
            self._match(cur, b, ranges, orders, algos)
        self._liquidations(ranges, b)

    def _step(self, cur: int, b: int) -> None:
        """The full pass's result over (cur, b], touching only what the hour's bounds cannot rule out."""
        k = cur // CELL_MS
        if b > (k + 1) * CELL_MS:                # leaves the hour: the full pass, then a new hour
            self._step_all(cur, b)
            self._cell_k = None
            return
        if self._cell_k != k:
            self._build_cell(k)
        ranges = _Ranges(self.market, cur, b)
        orders, algos = [], []
        for key, (acct, obj) in list(self._cand.items()):
            if not obj.is_open:
                del self._cand[key]
            elif key[0] == "o":
                orders.append((acct, obj))
            else:
                algos.append((acct, obj))
        if orders or algos:
            self._match(cur, b, ranges, orders, algos)
        self._flush()
        for acct in self.accounts.values():
            bd = self._bounds.get(acct.api_key)
            if bd is None or not bd.legs:
                continue
            if bd.at_risk:
                for key in sorted(bd.at_risk, key=lambda k: acct.positions[k].seq):
                    p = acct.positions[key]
                    if p.amt and acct.isolated(p.symbol):
                        self._check_isolated(acct, p, ranges, b)
                self._flush()
            if bd.n_cross and not bd.cross_safe(acct):
                self._check_cross(acct, ranges, b)

    # -- the hour's bounds
    def _cell(self, symbol: str) -> tuple[int, float, float]:
        k = self._cell_k
        assert k is not None, "the hour's bounds are read only while they are built"
        c = self._cell_rng.get(symbol)
        if c is None or c[0] != k:
            lo, hi = self.market.series(symbol).range_between(k * CELL_MS, (k + 1) * CELL_MS)
            c = self._cell_rng[symbol] = (k, lo - abs(lo) * _PAD, hi + abs(hi) * _PAD)
        return c

    def _build_cell(self, k: int) -> None:
        self._cell_k = k
        self._cell_rng = {}
        self._cand = {}
        self._bounds = {}
        self._dirty = {}
        for acct in self.accounts.values():
            for o in acct.open_orders.values():
                self._track_order(acct, o)
            for al in acct.open_algo.values():
                self._track_algo(acct, al)
            bd = self._bounds[acct.api_key] = _Bounds()
            for key, p in acct.positions.items():
                if p.amt:
                    bd.put(key, *self._leg_terms(acct, p))

    def _track_order(self, acct: Account, o: Order) -> None:
        """A resting order the hour's range reaches (the full pass's own filter, on the hour) is a candidate."""
        if self.eager or self._cell_k is None:
            return
        _, lo, hi = self._cell(o.symbol)
        p = float(o.price)
        if (lo < p) if o.side == "BUY" else (hi > p):
            self._cand[("o", o.order_id)] = (acct, o)

    def _track_algo(self, acct: Account, al: AlgoOrder) -> None:
        if self.eager or self._cell_k is None:
            return
        _, lo, hi = self._cell(al.symbol)
        p = float(al.trigger_price)
        if (hi >= p) if al.triggers_above() else (lo <= p):
            self._cand[("a", al.algo_id)] = (acct, al)

    def _touch(self, acct: Account, p: Position) -> None:
        """A leg's numbers changed: re-bound it before the bounds are used again."""
        if not self.eager and self._cell_k is not None:
            self._dirty[(acct.api_key, p.symbol, p.side)] = (acct, p)

    def _flush(self) -> None:
        if not self._dirty:
            return
        dirty, self._dirty = self._dirty, {}
        for (key, sym, side), (acct, _) in dirty.items():
            bd = self._bounds.get(key)
            if bd is None:
                bd = self._bounds[key] = _Bounds()
            p = acct.positions.get((sym, side))
            if p is None or not p.amt:
                bd.put((sym, side), None, False)
            else:
                bd.put((sym, side), *self._leg_terms(acct, p))

    def _leg_terms(self, acct: Account, p: Position) -> tuple[tuple, bool]:
        """(iso wallet, unPnL - maint at the adverse price, min / max of unPnL - initial margin over the
        hour, magnitude, is cross), and whether an isolated leg could be liquidated within the hour."""
        _, lo, hi = self._cell(p.symbol)
        spec = self.specs[p.symbol]
        wlo, whi = float(spec.round_price(lo)), float(spec.round_price(hi))
        a, e = float(p.amt), float(p.entry)
        absa = abs(a)
        w = wlo if a > 0 else whi                       # the worst mark a liquidation check can see
        g = (w - e) * a - self.brackets[p.symbol].maint_f(absa * w)
        mag = absa * (abs(e) + whi)
        if acct.isolated(p.symbol):
            iw = float(p.isolated_wallet)
            mag += abs(iw)
            return (iw, 0.0, 0.0, 0.0, mag, False), iw + g <= _TOL * mag + 1e-6
        lev = acct.settings[p.symbol].leverage
        h1 = (wlo - e) * a - absa * wlo / lev
        h2 = (whi - e) * a - absa * whi / lev
        return (0.0, g, min(h1, h2), max(h1, h2), mag, True), False

    def _margin_verdict(self, acct: Account, need: Decimal, now: int) -> bool | None:
        """need <= available, decided from the hour's bounds; None when they are too close to tell."""
        k = now // CELL_MS
        if self._cell_k != k:
            self._build_cell(k)
        self._flush()
        bd = self._bounds.get(acct.api_key) or _Bounds()
        wallet = float(acct.wallet)
        oim = acct.open_orders.reserved_total
        base = wallet - bd.iso_w - oim
        tol = _TOL * (bd.mag + abs(wallet) + abs(oim)) + 1e-6
        n = float(need)
        if n <= base + bd.h_lo - tol:
            return True
        if n > base + bd.h_hi + tol:
            return False
        return None

    # -- matching
    def _order_event(self, a: int, b: int, rng: tuple[float, float], acct: Account,
                     o: Order) -> tuple[int, int, int, Account, Order, float] | None:
        lo, hi = rng
        p = float(o.price)
        if (o.side == "BUY" and lo < p) or (o.side == "SELL" and hi > p):
            hit = self.market.series(o.symbol).first_cross(a, b, p, below=o.side == "BUY", strict=True)
            if hit:
                return (hit[0], 1, o.order_id, acct, o, hit[1])
        return None

    def _match(self, a: int, b: int, ranges: dict, orders: list, algos: list) -> None:
        """Fill resting orders and fire conditional orders hit in (a, b], in time order. Only orders
        whose price lies inside the symbol's (low, high) get the exact first-crossing search."""
        # (time, 0 conditional / 1 resting, id, account, order, price): conditional first at the same ms
        events: list[tuple[int, int, int, Account, Order | AlgoOrder, float]] = []
        for acct, o in orders:
            ev = self._order_event(a, b, ranges[o.symbol], acct, o)
            if ev:
                events.append(ev)
        for acct, al in algos:
            lo, hi = ranges[al.symbol]
            p = float(al.trigger_price)
            above = al.triggers_above()
            if (above and hi >= p) or (not above and lo <= p):
                hit = self.market.series(al.symbol).first_cross(a, b, p, below=not above, strict=False)
                if hit:
                    events.append((hit[0], 0, al.algo_id, acct, al, hit[1]))
        heapq.heapify(events)              # (time, conditional before resting, id): a total order
        while events:
            ts, _, _, acct, obj, price = heapq.heappop(events)
            if isinstance(obj, Order):             # kind 1, a resting order
                if obj.is_open:
                    self._fill(acct, obj, obj.price, obj.qty - obj.executed, maker=True, ts=ts)
                    obj.reserved_margin = ZERO
            elif obj.is_open:
                order = self._trigger_algo(acct, obj, ts, price)
                if order is not None and order.is_open:
                    # a triggered LIMIT that rests can be traded through later in this same window
                    rng = self.market.series(order.symbol).range_between(ts, b)
                    ev = self._order_event(ts, b, rng, acct, order)
                    if ev:
                        heapq.heappush(events, ev)

    def _settle_funding(self, t: int, events: list[tuple[str, float]]) -> None:
        for sym, rate in events:
            mark = self.mark(sym, t)
            r = to_decimal(rate)
            for acct in self.accounts.values():
                for side in ("BOTH", "LONG", "SHORT"):
                    p = acct.positions.get((sym, side))
                    if not p or p.amt == 0:
                        continue
                    pay = q8(p.amt * mark * r)         # > 0: this position pays
                    acct.wallet -= pay
                    if acct.isolated(sym):
                        p.isolated_wallet -= pay
                    acct.update_time = t
                    self._income(acct, sym, "FUNDING_FEE", -pay, t)
                    self.stats.funding_events += 1
                    self._touch(acct, p)

    # -- liquidation
    def _liquidations(self, ranges: dict, b: int) -> None:
        """Each position at its worst price over the interval (long: low, short: high): isolated legs one
        by one, then each account's cross legs together."""
        for acct in self.accounts.values():
            live = acct.live_positions()
            if not live:
                continue
            for p in live:
                if acct.isolated(p.symbol):
                    self._check_isolated(acct, p, ranges, b)
            self._check_cross(acct, ranges, b)

    def _check_isolated(self, acct: Account, p: Position, ranges: dict, b: int) -> None:
        lo, hi = ranges[p.symbol]
        spec = self.specs[p.symbol]
        m = spec.round_price(lo if p.amt > 0 else hi)
        maint = self.brackets[p.symbol].maint(p.amt * m)
        if p.isolated_wallet + self._unpnl(p, m) <= maint:
            self._liquidate(acct, [p], {(p.symbol, p.side): m}, b)

    def _check_cross(self, acct: Account, ranges: dict, b: int) -> None:
        legs = [p for p in acct.live_positions() if not acct.isolated(p.symbol)]
        if not legs:
            return
        worst = {}
        maint = ZERO
        for p in legs:
            lo, hi = ranges[p.symbol]
            spec = self.specs[p.symbol]
            m = worst[(p.symbol, p.side)] = spec.round_price(lo if p.amt > 0 else hi)
            maint += self.brackets[p.symbol].maint(p.amt * m)
        iso_wallet = sum((p.isolated_wallet for p in acct.live_positions() if acct.isolated(p.symbol)), ZERO)
        balance = acct.wallet - iso_wallet + sum((self._unpnl(p, worst[(p.symbol, p.side)]) for p in legs), ZERO)
        if balance <= maint:
            self._liquidate(acct, legs, worst, b)

    def _liquidate(self, acct: Account, legs: list, prices: dict, ts: int) -> None:
        for p in legs:
            spec = self.specs[p.symbol]
            price = prices[(p.symbol, p.side)]
            for o in [o for o in acct.open_orders.values() if o.symbol == p.symbol]:
                self._cancel(acct, o)
            qty = abs(p.amt)
            side = "SELL" if p.amt > 0 else "BUY"
            iso = acct.isolated(p.symbol)
            iso_wallet = p.isolated_wallet
            fee = q8(qty * price * spec.liquidation_fee)
            order = Order(order_id=next(self._ids), client_id=f"autoclose-{ts}", symbol=p.symbol, side=side,
                          position_side=p.side, type="LIMIT", orig_type="LIQUIDATION", tif="IOC", qty=qty,
                          price=price, reduce_only=True, close_position=False, time=ts, update_time=ts,
                          status="FILLED", executed=qty, cum_quote=qty * price, closing=True)
            acct.orders[order.order_id] = order
            wallet_before = acct.wallet
            realized = self._trade(acct, p.symbol, side, p.side, qty, price, ZERO, ts, order, fee_override=fee)
            loss = wallet_before - acct.wallet
            cap = iso_wallet if iso else wallet_before
            if loss > cap:                   # the insurance fund absorbs the rest
                acct.wallet = wallet_before - cap
            self.stats.liquidations.append({
                "time": ts, "account": acct.label, "symbol": p.symbol, "positionSide": p.side,
                "side": side, "qty": spec.qty(qty), "price": spec.px(price), "realizedPnl": s8(realized),
                "fee": s8(fee), "marginType": "ISOLATED" if iso else "CROSSED",
                "walletAfter": s8(acct.wallet),
            })


class _Ranges(dict):
    """(low, high) of each symbol's path over [a, b], computed on first use."""

    def __init__(self, market: Market, a: int, b: int):
        super().__init__()
        self.market, self.a, self.b = market, a, b

    def __missing__(self, symbol: str) -> tuple[float, float]:
        r = self[symbol] = self.market.series(symbol).range_between(self.a, self.b)
        return r


class _Bounds:
    """One account's legs over the current market hour, as floats: each leg's unrealized PnL minus
    maintenance margin at the hour's adverse price (summed, it bounds the cross margin balance minus
    maintenance from below), the range of unrealized PnL minus initial margin (bounds the available
    balance), isolated wallets, and the isolated legs the hour could liquidate."""
    __slots__ = ("legs", "iso_w", "g", "h_lo", "h_hi", "mag", "n_cross", "at_risk")

    def __init__(self) -> None:
        self.legs: dict[tuple[str, str], tuple] = {}   # (symbol, side) -> (iso wallet, g, h_lo, h_hi, mag, is cross)
        self.iso_w = self.g = self.h_lo = self.h_hi = self.mag = 0.0
        self.n_cross = 0
        self.at_risk: set[tuple[str, str]] = set()

    def put(self, key: tuple[str, str], terms: tuple | None, risky: bool) -> None:
        old = self.legs.pop(key, None)
        if old is not None:
            self._add(old, -1.0)
        self.at_risk.discard(key)
        if terms is not None:
            self.legs[key] = terms
            self._add(terms, 1.0)
            if risky:
                self.at_risk.add(key)
        if not self.legs:                # no float residue once empty
            self.iso_w = self.g = self.h_lo = self.h_hi = self.mag = 0.0
            self.n_cross = 0

    def _add(self, t: tuple, sign: float) -> None:
        self.iso_w += sign * t[0]
        self.g += sign * t[1]
        self.h_lo += sign * t[2]
        self.h_hi += sign * t[3]
        self.mag += sign * t[4]
        self.n_cross += int(sign) if t[5] else 0

    def cross_safe(self, acct: Account) -> bool:
        """True when no window inside the hour can make cross wallet + cross unPnL <= cross maintenance."""
        wallet = float(acct.wallet)
        return wallet - self.iso_w + self.g > _TOL * (self.mag + abs(wallet)) + 1e-6
