"""Matching and accounts: orders, conditional (algo) orders, positions, margin, funding, liquidation.

All money and quantities are Decimal. Every timestamp the engine writes is MARKET time. The engine is
advanced with `sync(now)`: resting orders and conditional orders are checked against the replayed path
between the previous sync and now (in time order), funding is settled at every 00/08/16 UTC boundary
crossed, and liquidations are checked.

What a sync costs does not grow with the number of symbols (see venue/advance.py): the result of
every advance is defined by the full pass over every active symbol (`eager=True` runs exactly that, and
the tests compare the two), but the default path skips a symbol's orders and positions whenever a bound
over the current market hour proves the full pass would do nothing with them.

Model (documented in docs/VENUE.md):
  * MARKET orders and marketable LIMIT orders walk the synthetic book (taker fee).
  * A resting LIMIT fills completely at its price when the replayed price trades through it (a BUY
    when the price goes strictly below it, a SELL strictly above) - maker fee.
  * Funding: payment = positionAmt x mark x rate at the funding time; longs pay when rate > 0.
  * Liquidation: maintenance margin = notional x maintMarginPercent. Isolated: liquidated when
    isolated margin + unrealized PnL <= maintenance margin. Cross: when the cross margin balance
    (cross wallet + cross unrealized PnL) <= total cross maintenance margin. Positions are closed at the
    (adverse) price that triggered it, a clearance fee of liquidationFee x notional is charged, and the
    loss is capped at the isolated margin (isolated) or the wallet (cross).
"""
from __future__ import annotations

import itertools
import secrets
from decimal import Decimal

from core.brackets import liquidation_price

from .advance import Advance
from .algo import AlgoOrders
from .book import BookModel
from .brackets import Brackets, bracket_table
from .errors import VenueError, bad_param, missing
from .filters import SymbolSpec
from .params import client_id, flag, integer, limit, num, time_param
from .records import CONDITIONAL_TYPES, ONE, ZERO, Account, Order, Position, Stats, norm, q8, s8
from .replay import Market

# ------------------------------------------------------------------------------------------ engine

class Engine(AlgoOrders, Advance):
    """The exchange rules; conditional orders live in venue/algo.py, the clock advance in venue/advance.py."""

    def __init__(self, specs: dict[str, SymbolSpec], market: Market, book: BookModel,
                 maker_fee: Decimal = Decimal("0.0002"), taker_fee: Decimal = Decimal("0.0005"),
                 eager: bool = False, brackets: dict[str, Brackets] | None = None):
        self.specs = specs
        self.brackets = brackets or bracket_table(specs, None)
        self.eager = eager          # True: every advance is the full pass (the reference; slower)
        self.market = market
        self.book = book
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.accounts: dict[str, Account] = {}
        self.stats = Stats()
        self.last_sync = market.clock.now_ms()
        self._ids = itertools.count(8_389_765_500_000)
        self._trade_ids = itertools.count(5_000_000)
        self._algo_ids = itertools.count(1_000_000)
        self._tran_ids = itertools.count(9_000_000_000)
        self._rank = {sym: i for i, sym in enumerate(market.symbols)}
        self.reset_index()

    # ---------------------------------------------------------------- accounts
    def add_account(self, api_key: str, api_secret: str, balance: Decimal) -> Account:
        acct = Account(api_key, api_secret, Decimal(balance), label=f"account-{len(self.accounts) + 1}")
        self.accounts[api_key] = acct
        self._income(acct, "", "TRANSFER", Decimal(balance), self.now())
        return acct

    def deposit(self, acct: Account, amount: Decimal) -> None:
        acct.wallet += amount
        self._income(acct, "", "TRANSFER", amount, self.now())

    def now(self) -> int:
        return self.market.clock.now_ms()

    def spec(self, symbol: str | None) -> SymbolSpec:
        if not symbol:
            raise missing("symbol")
        s = self.specs.get(symbol)
        if s is None:
            raise VenueError(-1121)
        return s

    def mark(self, symbol: str, ts: int | None = None) -> Decimal:
        """Mark price = replayed price on the tick grid (index = mark; no basis is modelled)."""
        ts = self.now() if ts is None else ts
        return self.specs[symbol].round_price(self.market.price(symbol, ts))

    # ---------------------------------------------------------------- margin
    def _unpnl(self, p: Position, mark: Decimal) -> Decimal:
        return (mark - p.entry) * p.amt if p.amt else ZERO

    def _leg_marks(self, acct: Account, now: int) -> dict:
        return {p.symbol: self.mark(p.symbol, now) for p in acct.live_positions()}

    def summary(self, acct: Account, now: int | None = None) -> dict:
        """Account-level numbers Binance reports (all Decimals)."""
        now = self.now() if now is None else now
        marks = self._leg_marks(acct, now)
        iso_wallet = cross_un = iso_un = pos_im = maint = ZERO
        for p in acct.live_positions():
            m = marks[p.symbol]
            un = self._unpnl(p, m)
            notional = abs(p.amt) * m
            maint += self.brackets[p.symbol].maint(notional)
            if acct.isolated(p.symbol):
                iso_wallet += p.isolated_wallet
                iso_un += un
            else:
                cross_un += un
            pos_im += notional / acct.settings[p.symbol].leverage
        order_im = sum((o.reserved_margin for o in acct.open_orders.values()), ZERO)
        cross_wallet = acct.wallet - iso_wallet
        cross_im = sum((abs(p.amt) * marks[p.symbol] / acct.settings[p.symbol].leverage
                        for p in acct.live_positions() if not acct.isolated(p.symbol)), ZERO)
        available = cross_wallet + cross_un - cross_im - order_im
        return {
            "wallet": acct.wallet, "cross_wallet": cross_wallet, "unpnl": cross_un + iso_un,
            "cross_un": cross_un, "position_im": pos_im, "order_im": order_im, "maint": maint,
            "available": available, "margin_balance": acct.wallet + cross_un + iso_un,
        }

    # ---------------------------------------------------------------- order entry
    def _count_reject(self, otype: str, err: VenueError) -> None:
        self.stats.orders_rejected[otype] += 1
        self.stats.rejects_by_code[err.code] += 1

    def place_order(self, acct: Account, params: dict) -> dict:
        otype = (params.get("type") or "").upper() or "?"
        self.stats.orders_received[otype] += 1
        try:
            order, ack = self._place(acct, params, otype)
        except VenueError as e:
            self._count_reject(otype, e)
            raise
        self.stats.orders_accepted[otype] += 1
        return order.view(self.specs[order.symbol], ack=ack)

    def _common_order_fields(self, acct: Account, params: dict, spec: SymbolSpec) -> tuple[str, str, bool]:
        side = params.get("side")
        if not side:
            raise missing("side")
        if side not in ("BUY", "SELL"):
            raise VenueError(-1117)
        pside = params.get("positionSide") or "BOTH"
        if pside not in ("BOTH", "LONG", "SHORT"):
            raise bad_param("positionSide")
        if acct.dual and pside == "BOTH":
            raise VenueError(-4061)
        if not acct.dual and pside != "BOTH":
            raise VenueError(-4061)
        reduce_only = flag(params, "reduceOnly")
        if acct.dual and reduce_only is not None:
            raise VenueError(-1106, "reduceOnly")
        return side, pside, bool(reduce_only)

    def _closing_check(self, acct: Account, symbol: str, side: str, pside: str, reduce_only: bool,
                       qty: Decimal | None) -> bool:
        """Hedge-mode closes (SELL LONG / BUY SHORT) and one-way reduceOnly must reduce an existing leg
        and (hedge) not exceed it: -2022 as Binance."""
        if acct.dual:
            closing = (side == "SELL" and pside == "LONG") or (side == "BUY" and pside == "SHORT")
            if closing:
                leg = abs(acct.pos(symbol, pside).amt)
                if leg == 0 or (qty is not None and qty > leg):
                    raise VenueError(-2022)
            return closing
        if reduce_only:
            amt = acct.pos(symbol, "BOTH").amt
            if amt == 0 or (amt > 0) == (side == "BUY"):
                raise VenueError(-2022)
            return True
        return False

    def _opening_qty(self, acct: Account, symbol: str, side: str, pside: str, qty: Decimal,
                     closing: bool) -> Decimal:
        if closing:
            return ZERO
        if acct.dual:
            return qty
        amt = acct.pos(symbol, "BOTH").amt
        if amt == 0 or (amt > 0) == (side == "BUY"):
            return qty
        return max(ZERO, qty - abs(amt))

    def _check_margin(self, acct: Account, symbol: str, opening: Decimal, price: Decimal, now: int) -> Decimal:
        need = opening * price / acct.settings[symbol].leverage
        if need > 0:
            ok = None if self.eager else self._margin_verdict(acct, need, now)
            if ok is None:              # too close for the bounds (or eager): the exact figure decides
                ok = not need > self.summary(acct, now)["available"]
            if not ok:
                raise VenueError(-2019)
        return need

    def _check_max_position(self, acct: Account, symbol: str, side: str, pside: str, opening: Decimal,
                            price: Decimal) -> None:
        """-2027 when the leg after this order (plus the same leg's resting opening orders) would exceed the
        notional cap the leverage's bracket allows."""
        if opening <= 0:
            return
        amt = acct.pos(symbol, pside).amt
        same_way = amt == 0 or (amt > 0) == (side == "BUY")
        size = abs(amt) + opening if same_way else opening
        size += sum((o.qty - o.executed for o in acct.open_orders.values()
                     if o.symbol == symbol and o.position_side == pside and o.side == side and not o.closing),
                    ZERO)
        cap = self.brackets[symbol].max_notional(acct.settings[symbol].leverage)
        if size * price > cap:
            raise VenueError(-2027)

    def _place(self, acct: Account, params: dict, otype: str) -> tuple[Order, bool]:
        spec = self.spec(params.get("symbol"))
        symbol = spec.symbol
        if otype in CONDITIONAL_TYPES:
            raise VenueError(-4120)
        if otype == "?":
            raise missing("type")
        if otype not in ("LIMIT", "MARKET"):
            raise VenueError(-1116)
        side, pside, reduce_only = self._common_order_fields(acct, params, spec)
        qty = num(params, "quantity")
        market = otype == "MARKET"
        price = num(params, "price", required=not market)
        if market and price is not None:
            raise VenueError(-1106, "price")
        tif = params.get("timeInForce")
        if market:
            tif = "GTC"
        elif not tif:
            raise missing("timeInForce")
        elif tif not in ("GTC", "IOC", "FOK", "GTX"):
            raise VenueError(-1115)
        cid = params.get("newClientOrderId")
        if cid is not None:
            client_id(cid)
        else:
            cid = secrets.token_urlsafe(16)[:22].replace("-", "x").replace("_", "y")
        resp_type = params.get("newOrderRespType", "ACK")
        if resp_type not in ("ACK", "RESULT"):
            raise bad_param("newOrderRespType")

        if price is not None:
            spec.check_price(price)
        spec.check_qty(qty, market=market)
        now = self.now()
        self.sync(now)
        mark = self.mark(symbol, now)
        if price is not None:
            spec.check_percent_price(price, mark, side)
        closing = self._closing_check(acct, symbol, side, pside, reduce_only, qty)
        ref_price = price if price is not None else mark
        if not closing:
            spec.check_notional(qty, ref_price)
        if acct.open_orders.has_client_id(symbol, cid):
            raise VenueError(-4116)

        bid, ask = self.book.touch(spec, mark)
        crosses = price is not None and ((side == "BUY" and price >= ask) or (side == "SELL" and price <= bid))
        if tif == "GTX" and crosses:
            raise VenueError(-5022)
        fills: list[tuple[Decimal, Decimal]] = []
        if market or crosses:
            fills = self.book.walk(spec, mark, side, qty, limit=price)
            if tif == "FOK" and sum((q for _, q in fills), ZERO) < qty:
                raise VenueError(-5021)
        elif tif == "FOK":
            raise VenueError(-5021)
        opening = self._opening_qty(acct, symbol, side, pside, qty, closing)
        est = ref_price
        if fills:
            est = max(ref_price, fills[-1][0]) if side == "BUY" else ref_price
        self._check_max_position(acct, symbol, side, pside, opening, est)
        reserve = self._check_margin(acct, symbol, opening, est, now)

        order = Order(order_id=next(self._ids), client_id=cid, symbol=symbol, side=side,
                      position_side=pside, type=otype, orig_type=otype, tif=tif, qty=qty,
                      price=price or ZERO, reduce_only=reduce_only, close_position=False,
                      time=now, update_time=now, closing=closing)
        acct.orders[order.order_id] = order
        acct.by_client_id[(symbol, cid)] = order
        self._activate(symbol)
        for fp, fq in fills:
            self._fill(acct, order, fp, fq, maker=False, ts=now)
            if not order.is_open:
                break
        if order.is_open:
            if market or tif in ("IOC", "FOK"):
                order.status = "EXPIRED" if not market else ("FILLED" if order.executed >= order.qty else "EXPIRED")
                order.update_time = now
            else:
                order.reserved_margin = reserve * (order.qty - order.executed) / order.qty if opening else ZERO
                acct.open_orders[order.order_id] = order
                self._track_order(acct, order)
        return order, resp_type == "ACK"

    # ---------------------------------------------------------------- fills
    def _fill(self, acct: Account, order: Order, price: Decimal, qty: Decimal, maker: bool, ts: int) -> None:
        """Apply one fill of an order; reduce-only / closing orders are clipped to the leg."""
        leg = acct.pos(order.symbol, order.position_side)
        if order.closing:
            cap = abs(leg.amt)
            if acct.dual is False and leg.amt != 0 and (leg.amt > 0) == (order.side == "BUY"):
                cap = ZERO          # the position flipped side since: nothing left to reduce
            qty = min(qty, cap)
        if qty <= 0:
            order.status = "EXPIRED"
            order.update_time = ts
            acct.open_orders.pop(order.order_id, None)
            return
        self._trade(acct, order.symbol, order.side, order.position_side, qty, price,
                    self.maker_fee if maker else self.taker_fee, ts, order)
        order.executed += qty
        order.cum_quote += qty * price
        order.update_time = ts
        if order.executed >= order.qty or (order.closing and leg.amt == 0):
            # a reduce-only / closing order that flattened its leg is done, even if smaller than origQty
            order.status = "FILLED"
            acct.open_orders.pop(order.order_id, None)
        else:
            order.status = "PARTIALLY_FILLED"

    def _trade(self, acct: Account, symbol: str, side: str, pside: str, qty: Decimal, price: Decimal,
               fee_rate: Decimal, ts: int, order: Order, fee_override: Decimal | None = None) -> Decimal:
        """Position + wallet update for one execution; returns realized PnL."""
        spec = self.specs[symbol]
        p = acct.pos(symbol, pside)
        delta = qty if side == "BUY" else -qty
        realized = ZERO
        lev = Decimal(acct.settings[symbol].leverage)
        iso = acct.isolated(symbol)
        if p.amt == 0 or (p.amt > 0) == (delta > 0):
            new_abs = abs(p.amt) + qty
            p.entry = (abs(p.amt) * p.entry + qty * price) / new_abs
            p.amt += delta
            if iso:
                p.isolated_wallet += qty * price / lev
        else:
            close = min(qty, abs(p.amt))
            sign = ONE if p.amt > 0 else -ONE
            realized = (price - p.entry) * close * sign
            if iso and p.amt:
                release = p.isolated_wallet * close / abs(p.amt)
                p.isolated_wallet -= release
            p.amt += close if delta > 0 else -close
            left = qty - close
            if p.amt == 0:
                p.entry = ZERO
                p.isolated_wallet = ZERO
            if left > 0:        # one-way flip: the rest opens the other side
                p.amt = left if delta > 0 else -left
                p.entry = price
                if iso:
                    p.isolated_wallet = left * price / lev
        p.update_time = ts
        fee = q8(fee_override if fee_override is not None else qty * price * fee_rate)
        realized = q8(realized)
        acct.wallet += realized - fee
        acct.update_time = ts
        maker = fee_rate == self.maker_fee and fee_override is None
        tid = next(self._trade_ids)
        acct.trades[symbol].append({
            "buyer": side == "BUY", "commission": s8(fee), "commissionAsset": "USDT", "id": tid,
            "maker": maker, "orderId": order.order_id, "price": spec.px(price), "qty": spec.qty(qty),
            "quoteQty": f"{qty * price:.{spec.price_decimals + spec.qty_decimals}f}",
            "realizedPnl": s8(realized), "side": side, "positionSide": pside, "symbol": symbol, "time": ts,
        })
        if realized:
            self._income(acct, symbol, "REALIZED_PNL", realized, ts, trade_id=tid)
        if fee:
            self._income(acct, symbol, "COMMISSION", -fee, ts, trade_id=tid)
        self.stats.fills += 1
        self._touch(acct, p)
        return realized

    def _income(self, acct: Account, symbol: str, kind: str, amount: Decimal, ts: int,
                trade_id: int | None = None) -> None:
        acct.income.append({"symbol": symbol, "incomeType": kind, "income": s8(amount), "asset": "USDT",
                            "info": kind if not trade_id else str(trade_id), "time": ts,
                            "tranId": next(self._tran_ids), "tradeId": str(trade_id) if trade_id else ""})

    # ---------------------------------------------------------------- queries / cancels
    def find_order(self, acct: Account, params: dict, code: int) -> Order:
        spec = self.spec(params.get("symbol"))
        cid = params.get("origClientOrderId")
        if params.get("orderId") is not None:
            oid = integer(params, "orderId")
            o = acct.orders.get(oid) if oid is not None else None       # empty: no such order
        elif cid is not None:
            o = acct.by_client_id.get((spec.symbol, cid))
        else:
            raise VenueError(-1102, msg="Param 'orderId' or 'origClientOrderId' must be sent, "
                                        "but both were empty/null!")
        if o is None or o.symbol != spec.symbol:
            raise VenueError(code)
        return o

    def get_order(self, acct: Account, params: dict) -> dict:
        self.sync(self.now())
        o = self.find_order(acct, params, -2013)
        return o.view(self.specs[o.symbol])

    def cancel_order(self, acct: Account, params: dict) -> dict:
        self.sync(self.now())
        o = self.find_order(acct, params, -2011)
        if not o.is_open:
            raise VenueError(-2011)
        self._cancel(acct, o)
        return o.view(self.specs[o.symbol])

    def _cancel(self, acct: Account, o: Order) -> None:
        o.status = "CANCELED"
        o.update_time = self.now()
        o.reserved_margin = ZERO
        acct.open_orders.pop(o.order_id, None)

    def cancel_all(self, acct: Account, params: dict) -> dict:
        spec = self.spec(params.get("symbol"))
        for o in [o for o in acct.open_orders.values() if o.symbol == spec.symbol]:
            self._cancel(acct, o)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def open_orders(self, acct: Account, params: dict) -> list:
        self.sync(self.now())
        sym = params.get("symbol")
        if sym:
            self.spec(sym)
        return [o.view(self.specs[o.symbol]) for o in acct.open_orders.values() if not sym or o.symbol == sym]

    def all_orders(self, acct: Account, params: dict) -> list:
        self.sync(self.now())
        spec = self.spec(params.get("symbol"))
        n = limit(params, 500, 1000)
        oid = integer(params, "orderId")
        st, et = time_param(params, "startTime"), time_param(params, "endTime")
        rows = [o for o in acct.orders.values() if o.symbol == spec.symbol
                and (oid is None or o.order_id >= oid) and (st is None or o.time >= st)
                and (et is None or o.time <= et)]
        rows = rows[:n] if oid is not None or st is not None else rows[-n:]
        return [o.view(spec) for o in rows]

    def user_trades(self, acct: Account, params: dict) -> list:
        self.sync(self.now())
        spec = self.spec(params.get("symbol"))
        n = limit(params, 500, 1000)
        oid, from_id = integer(params, "orderId"), integer(params, "fromId")
        st, et = time_param(params, "startTime"), time_param(params, "endTime")
        rows = acct.trades.get(spec.symbol, [])
        if oid is not None:
            rows = [t for t in rows if t["orderId"] == oid]
        if from_id is not None:
            rows = [t for t in rows if t["id"] >= from_id]
        if st is not None:
            rows = [t for t in rows if t["time"] >= st]
        if et is not None:
            rows = [t for t in rows if t["time"] <= et]
        return rows[:n] if (from_id is not None or st is not None) else rows[-n:]

    def income(self, acct: Account, params: dict) -> list:
        n = limit(params, 100, 1000)
        st, et = time_param(params, "startTime"), time_param(params, "endTime")
        rows = acct.income
        if params.get("symbol"):
            rows = [r for r in rows if r["symbol"] == params["symbol"]]
        if params.get("incomeType"):
            rows = [r for r in rows if r["incomeType"] == params["incomeType"]]
        if st is not None:
            rows = [r for r in rows if r["time"] >= st]
        if et is not None:
            rows = [r for r in rows if r["time"] <= et]
        return rows[:n] if st is not None else rows[-n:]

    # ---------------------------------------------------------------- settings
    def set_position_mode(self, acct: Account, params: dict) -> dict:
        dual = flag(params, "dualSidePosition")
        if dual is None:
            raise missing("dualSidePosition")
        if dual == acct.dual:
            raise VenueError(-4059)
        if acct.open_orders or acct.open_algo:
            raise VenueError(-4067)
        if acct.live_positions():
            raise VenueError(-4068)
        acct.dual = dual
        acct.positions.clear()
        return {"code": 200, "msg": "success"}

    def set_leverage(self, acct: Account, params: dict) -> dict:
        spec = self.spec(params.get("symbol"))
        br = self.brackets[spec.symbol]
        lev = integer(params, "leverage", lo=1, hi=br.max_leverage, code=-4028)   # the first tier's cap
        if lev is None:                 # absent or empty
            raise missing("leverage")
        cap = br.max_notional(lev)
        for side in ("BOTH", "LONG", "SHORT"):
            p = acct.positions.get((spec.symbol, side))
            if p is not None and p.amt and abs(p.amt) * self.mark(spec.symbol) > cap:
                raise VenueError(-2027)
        acct.settings[spec.symbol].leverage = lev
        for side in ("BOTH", "LONG", "SHORT"):
            p = acct.positions.get((spec.symbol, side))
            if p is not None:
                self._touch(acct, p)
        return {"leverage": lev, "maxNotionalValue": norm(cap), "symbol": spec.symbol}

    def set_multi_assets(self, acct: Account, params: dict) -> dict:
        """Multi-Assets mode is answered and stored as Binance does; margin stays USDT-only either way."""
        on = flag(params, "multiAssetsMargin")
        if on is None:
            raise missing("multiAssetsMargin")
        if on == acct.multi_assets:
            raise VenueError(-4171)
        if on and any(st.margin_type == "ISOLATED" for st in acct.settings.values()):
            raise VenueError(-4167)
        acct.multi_assets = on
        return {"code": 200, "msg": "success"}

    def set_margin_type(self, acct: Account, params: dict) -> dict:
        spec = self.spec(params.get("symbol"))
        mt = (params.get("marginType") or "").upper()
        if not mt:
            raise missing("marginType")
        if mt == "CROSS":
            mt = "CROSSED"
        if mt not in ("ISOLATED", "CROSSED"):
            raise bad_param("marginType")
        st = acct.settings[spec.symbol]
        if st.margin_type == mt:
            raise VenueError(-4046)
        if mt == "ISOLATED" and acct.multi_assets:
            raise VenueError(-4168)
        if any(o.symbol == spec.symbol for o in acct.open_orders.values()) or \
                any(a.symbol == spec.symbol for a in acct.open_algo.values()):
            raise VenueError(-4047)
        if any(p.symbol == spec.symbol for p in acct.live_positions()):
            raise VenueError(-4048)
        st.margin_type = mt
        return {"code": 200, "msg": "success"}

    # ---------------------------------------------------------------- views
    def liquidation_price(self, acct: Account, p: Position, marks: dict) -> Decimal:
        """Binance's single-position formula with the bracket the liquidation notional falls in:
        LP = (WB - TMM1 + UPNL1 + cum - side x Q x EP) / (Q x MMR - side x Q), WB the isolated wallet
        (isolated) or the cross wallet with the other cross legs' unPnL - maintenance (docs/VENUE.md)."""
        if p.amt == 0:
            return ZERO
        if acct.isolated(p.symbol):
            margin = p.isolated_wallet
        else:
            s = ZERO
            for o in acct.live_positions():
                if o is p or acct.isolated(o.symbol):
                    continue
                m = marks[o.symbol]
                s += self._unpnl(o, m) - self.brackets[o.symbol].maint(o.amt * m)
            iso = sum((x.isolated_wallet for x in acct.live_positions() if acct.isolated(x.symbol)), ZERO)
            margin = acct.wallet - iso + s
        return liquidation_price(self.brackets[p.symbol], p.amt, p.entry, margin, marks.get(p.symbol, p.entry))
