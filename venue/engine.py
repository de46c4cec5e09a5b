"""Matching and accounts: orders, conditional (algo) orders, positions, margin, funding, liquidation.

All money and quantities are Decimal. Every timestamp the engine writes is MARKET time. The engine is
advanced with `sync(now)`: resting orders and conditional orders are checked against the replayed path
between the previous sync and now (in time order), funding is settled at every 00/08/16 UTC boundary
crossed, and liquidations are checked.

What a sync costs does not grow with the number of symbols (see "the clock advance" below): the result of
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

import heapq
import itertools
import secrets
from collections import defaultdict
from decimal import Decimal

from .book import BookModel
from .errors import VenueError, bad_param, missing
from .filters import SymbolSpec
from .params import client_id, flag, integer, limit, num, time_param
from .records import (CONDITIONAL_TYPES, MAX_LEVERAGE, ONE, ZERO, Account, AlgoOrder, Order, Position,
                      Stats, q8, s8)
from .replay import Market

CELL_MS = 3_600_000        # the bounds are built per market hour ("cell") of the replayed path
_PAD = 1e-9                # relative padding on a cell's price range (float noise of the interpolation)
_TOL = 1e-8                # relative slack of the float bounds; anything closer is decided exactly

# ------------------------------------------------------------------------------------------ engine

class Engine:
    def __init__(self, specs: dict[str, SymbolSpec], market: Market, book: BookModel,
                 maker_fee: Decimal = Decimal("0.0002"), taker_fee: Decimal = Decimal("0.0005"),
                 eager: bool = False):
        self.specs = specs
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
            maint += notional * self.specs[p.symbol].maint_margin
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
    def _reject(self, otype: str, err: VenueError) -> VenueError:
        self.stats.orders_rejected[otype] += 1
        self.stats.rejects_by_code[err.code] += 1
        return err

    def place_order(self, acct: Account, params: dict) -> dict:
        otype = (params.get("type") or "").upper() or "?"
        self.stats.orders_received[otype] += 1
        try:
            order, ack = self._place(acct, params, otype)
        except VenueError as e:
            raise self._reject(otype, e)
        self.stats.orders_accepted[otype] += 1
        return order.view(self.specs[order.symbol], ack=ack)

    def _common_order_fields(self, acct: Account, params: dict, spec: SymbolSpec):
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

    def _income(self, acct: Account, symbol: str, kind: str, amount: Decimal, ts: int, trade_id=None) -> None:
        acct.income.append({"symbol": symbol, "incomeType": kind, "income": s8(amount), "asset": "USDT",
                            "info": kind if not trade_id else str(trade_id), "time": ts,
                            "tranId": next(self._tran_ids), "tradeId": str(trade_id) if trade_id else ""})

    # ---------------------------------------------------------------- queries / cancels
    def find_order(self, acct: Account, params: dict, code: int) -> Order:
        spec = self.spec(params.get("symbol"))
        oid = params.get("orderId")
        cid = params.get("origClientOrderId")
        if oid is None and cid is None:
            raise VenueError(-1102, msg="Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!")
        o = None
        if oid is not None:
            o = acct.orders.get(integer(params, "orderId"))
        else:
            o = acct.by_client_id.get((spec.symbol, cid))
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
        if not params.get("leverage"):
            raise missing("leverage")
        lev = integer(params, "leverage", lo=1, hi=MAX_LEVERAGE, code=-4028)
        acct.settings[spec.symbol].leverage = lev
        for side in ("BOTH", "LONG", "SHORT"):
            p = acct.positions.get((spec.symbol, side))
            if p is not None:
                self._touch(acct, p)
        return {"leverage": lev, "maxNotionalValue": "1000000000" if lev <= 10 else str(max(50_000, 1_000_000_000 // (lev * lev))),
                "symbol": spec.symbol}

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

    # ---------------------------------------------------------------- algo (conditional) orders
    def place_algo(self, acct: Account, params: dict) -> dict:
        otype = (params.get("type") or "").upper() or "?"
        self.stats.orders_received[otype] += 1
        try:
            algo = self._place_algo(acct, params, otype)
        except VenueError as e:
            raise self._reject(otype, e)
        self.stats.orders_accepted[otype] += 1
        return algo.view(self.specs[algo.symbol])

    def _place_algo(self, acct: Account, params: dict, otype: str) -> AlgoOrder:
        at = params.get("algoType")
        if not at:
            raise missing("algoType")
        if at != "CONDITIONAL":
            raise bad_param("algoType")
        spec = self.spec(params.get("symbol"))
        if otype == "?":
            raise missing("type")
        if otype not in ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT"):
            raise VenueError(-1116)
        side, pside, reduce_only = self._common_order_fields(acct, params, spec)
        close_pos = bool(flag(params, "closePosition"))
        qty = num(params, "quantity", required=not close_pos)
        if close_pos and qty is not None:
            raise VenueError(-4137)
        trigger = num(params, "triggerPrice")
        spec.check_price(trigger)
        limit_type = otype in ("STOP", "TAKE_PROFIT")
        price = num(params, "price", required=limit_type)
        if price is not None:
            spec.check_price(price)
        if qty is not None:
            spec.check_qty(qty, market=not limit_type)
        tif = params.get("timeInForce", "GTC")
        if tif not in ("GTC", "IOC", "FOK", "GTX"):
            raise VenueError(-1115)
        working = params.get("workingType", "CONTRACT_PRICE")
        if working not in ("CONTRACT_PRICE", "MARK_PRICE"):
            raise bad_param("workingType")
        cid = params.get("clientAlgoId") or None
        cid = client_id(cid, "clientAlgoId") if cid is not None else secrets.token_hex(11)
        if acct.open_algo.has_client_id(cid):
            raise VenueError(-4116)
        now = self.now()
        self.sync(now)
        if not close_pos:
            closing = self._closing_check(acct, spec.symbol, side, pside, reduce_only, None)
            if not closing and qty is not None:
                spec.check_notional(qty, price if price is not None else trigger)
        algo = AlgoOrder(algo_id=next(self._algo_ids), client_algo_id=cid, symbol=spec.symbol, side=side,
                         position_side=pside, order_type=otype, qty=qty or ZERO, trigger_price=trigger,
                         price=price or ZERO, tif=tif, reduce_only=reduce_only, close_position=close_pos,
                         working_type=working, create_time=now, update_time=now)
        cur = self.market.price(spec.symbol, now)
        if (cur >= float(trigger)) if algo.triggers_above() else (cur <= float(trigger)):
            raise VenueError(-2021)
        acct.algo[algo.algo_id] = algo
        acct.open_algo[algo.algo_id] = algo
        acct.algo_by_client[cid] = algo
        self._activate(spec.symbol)
        self._track_algo(acct, algo)
        return algo

    def find_algo(self, acct: Account, params: dict, code: int) -> AlgoOrder:
        aid = params.get("algoId")
        cid = params.get("clientAlgoId")
        if aid is None and cid is None:
            raise VenueError(-1102, msg="Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!")
        a = None
        if aid is not None:
            a = acct.algo.get(integer(params, "algoId"))
        else:
            a = acct.algo_by_client.get(cid)
        if a is None:
            raise VenueError(code)
        return a

    def get_algo(self, acct: Account, params: dict) -> dict:
        self.sync(self.now())
        a = self.find_algo(acct, params, -2013)
        return a.view(self.specs[a.symbol])

    def cancel_algo(self, acct: Account, params: dict) -> dict:
        self.sync(self.now())
        a = self.find_algo(acct, params, -2011)
        if not a.is_open:
            raise VenueError(-2011)
        a.status = "CANCELED"
        a.update_time = self.now()
        acct.open_algo.pop(a.algo_id, None)
        return {"algoId": a.algo_id, "clientAlgoId": a.client_algo_id, "code": "200", "msg": "success"}

    def open_algos(self, acct: Account, params: dict) -> list:
        self.sync(self.now())
        sym = params.get("symbol")
        return [a.view(self.specs[a.symbol]) for a in acct.open_algo.values() if not sym or a.symbol == sym]

    def all_algos(self, acct: Account, params: dict) -> list:
        spec = self.spec(params.get("symbol"))
        return [a.view(spec) for a in acct.algo.values() if a.symbol == spec.symbol]

    def cancel_all_algos(self, acct: Account, params: dict) -> dict:
        spec = self.spec(params.get("symbol"))
        for a in [a for a in acct.open_algo.values() if a.symbol == spec.symbol]:
            a.status = "CANCELED"
            a.update_time = self.now()
            acct.open_algo.pop(a.algo_id, None)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _trigger_algo(self, acct: Account, a: AlgoOrder, ts: int, price: float) -> Order | None:
        """A conditional order fires: it becomes a regular MARKET (or LIMIT) order at that moment.
        Returns that order (None when there was nothing left to close)."""
        acct.open_algo.pop(a.algo_id, None)
        a.trigger_time = ts
        a.update_time = ts
        spec = self.specs[a.symbol]
        mark = spec.round_price(price)
        leg = acct.pos(a.symbol, a.position_side)
        if a.close_position:
            qty = abs(leg.amt)
            closing = True
        else:
            qty = a.qty
            closing = (acct.dual and ((a.side == "SELL") == (a.position_side == "LONG"))) or a.reduce_only
        if closing and (leg.amt == 0 or (not acct.dual and (leg.amt > 0) == (a.side == "BUY"))):
            a.status = "EXPIRED"        # nothing left to close
            return None
        if closing:
            qty = min(qty, abs(leg.amt))
        market = a.order_type.endswith("_MARKET")
        order = Order(order_id=next(self._ids), client_id=a.client_algo_id, symbol=a.symbol, side=a.side,
                      position_side=a.position_side, type="MARKET" if market else "LIMIT",
                      orig_type=a.order_type, tif=a.tif, qty=qty, price=ZERO if market else a.price,
                      reduce_only=a.reduce_only, close_position=a.close_position, time=ts, update_time=ts,
                      stop_price=a.trigger_price, closing=closing)
        acct.orders[order.order_id] = order
        acct.by_client_id[(a.symbol, order.client_id)] = order
        fills = self.book.walk(spec, mark, a.side, qty, limit=None if market else a.price)
        for fp, fq in fills:
            self._fill(acct, order, fp, fq, maker=False, ts=ts)
            if not order.is_open:
                break
        if order.is_open:
            if market:
                order.status = "EXPIRED"
            else:
                acct.open_orders[order.order_id] = order
                self._track_order(acct, order)
        a.status = "TRIGGERED" if order.is_open else "FINISHED"
        a.actual_order_id = order.order_id
        a.actual_price = order.avg_price().quantize(spec.tick) if order.executed else ZERO
        return order

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
        g = (w - e) * a - absa * w * float(spec.maint_margin)
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
    def _order_event(self, a: int, b: int, rng: tuple[float, float], acct: Account, o: Order):
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
        events = []
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
            ts, kind, _, acct, obj, price = heapq.heappop(events)
            if kind == 1:
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
            r = Decimal(repr(rate))
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
        maint = abs(p.amt) * m * spec.maint_margin
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
            maint += abs(p.amt) * m * spec.maint_margin
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

    # ---------------------------------------------------------------- views
    def liquidation_price(self, acct: Account, p: Position, marks: dict) -> Decimal:
        if p.amt == 0:
            return ZERO
        spec = self.specs[p.symbol]
        q = abs(p.amt)
        if acct.isolated(p.symbol):
            margin = p.isolated_wallet
        else:
            s = ZERO
            for o in acct.live_positions():
                if o is p or acct.isolated(o.symbol):
                    continue
                m = marks[o.symbol]
                s += self._unpnl(o, m) - abs(o.amt) * m * self.specs[o.symbol].maint_margin
            iso = sum((x.isolated_wallet for x in acct.live_positions() if acct.isolated(x.symbol)), ZERO)
            margin = acct.wallet - iso + s
        mmr = spec.maint_margin
        if p.amt > 0:
            lp = (p.entry - margin / q) / (ONE - mmr)
        else:
            lp = (p.entry + margin / q) / (ONE + mmr)
        return max(lp, ZERO)


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

    def __init__(self):
        self.legs: dict = {}             # (symbol, side) -> (iso wallet, g, h_lo, h_hi, magnitude, is cross)
        self.iso_w = self.g = self.h_lo = self.h_hi = self.mag = 0.0
        self.n_cross = 0
        self.at_risk: set = set()

    def put(self, key, terms: tuple | None, risky: bool) -> None:
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
