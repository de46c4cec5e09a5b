"""Matching and accounts: orders, conditional (algo) orders, positions, margin, funding, liquidation.

All money and quantities are Decimal. Every timestamp the engine writes is MARKET time. The engine is
advanced with `sync(now)`: resting orders and conditional orders are checked against the replayed path
between the previous sync and now (in time order), funding is settled at every 00/08/16 UTC boundary
crossed, and liquidations are checked. Only symbols with open orders or positions cost anything.

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
from collections import defaultdict
from decimal import Decimal

from .book import BookModel
from .errors import VenueError, bad_param, missing
from .filters import SymbolSpec
from .records import (CLIENT_ID_RE, CONDITIONAL_TYPES, MAX_LEVERAGE, ONE, ZERO, Account,
                      AlgoOrder, Order, Position, Stats, flag, num, q8, s8)
from .replay import Market

# ------------------------------------------------------------------------------------------ engine

class Engine:
    def __init__(self, specs: dict[str, SymbolSpec], market: Market, book: BookModel,
                 maker_fee: Decimal = Decimal("0.0002"), taker_fee: Decimal = Decimal("0.0005")):
        self.specs = specs
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

    # ---------------------------------------------------------------- accounts
    def add_account(self, api_key: str, api_secret: str, balance: Decimal) -> Account:
        acct = Account(api_key, api_secret, Decimal(balance))
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
        if need > 0 and need > self.summary(acct, now)["available"]:
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
            if len(cid) > 36:
                raise VenueError(-4015)
            if not CLIENT_ID_RE.match(cid):
                raise VenueError(-1100, "newClientOrderId", "^[\\.A-Z\\:/a-z0-9_-]{1,36}$")
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
        for o in acct.open_orders.values():
            if o.client_id == cid and o.symbol == symbol:
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
            try:
                o = acct.orders.get(int(oid))
            except ValueError:
                raise bad_param("orderId")
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
        limit = min(int(params.get("limit", 500)), 1000)
        oid = int(params["orderId"]) if params.get("orderId") else None
        st = int(params["startTime"]) if params.get("startTime") else None
        et = int(params["endTime"]) if params.get("endTime") else None
        rows = [o for o in acct.orders.values() if o.symbol == spec.symbol
                and (oid is None or o.order_id >= oid) and (st is None or o.time >= st)
                and (et is None or o.time <= et)]
        rows = rows[:limit] if oid is not None or st is not None else rows[-limit:]
        return [o.view(spec) for o in rows]

    def user_trades(self, acct: Account, params: dict) -> list:
        self.sync(self.now())
        spec = self.spec(params.get("symbol"))
        limit = min(int(params.get("limit", 500)), 1000)
        rows = acct.trades.get(spec.symbol, [])
        if params.get("orderId"):
            rows = [t for t in rows if t["orderId"] == int(params["orderId"])]
        if params.get("fromId"):
            rows = [t for t in rows if t["id"] >= int(params["fromId"])]
        if params.get("startTime"):
            rows = [t for t in rows if t["time"] >= int(params["startTime"])]
        if params.get("endTime"):
            rows = [t for t in rows if t["time"] <= int(params["endTime"])]
        return rows[:limit] if (params.get("fromId") or params.get("startTime")) else rows[-limit:]

    def income(self, acct: Account, params: dict) -> list:
        rows = acct.income
        if params.get("symbol"):
            rows = [r for r in rows if r["symbol"] == params["symbol"]]
        if params.get("incomeType"):
            rows = [r for r in rows if r["incomeType"] == params["incomeType"]]
        if params.get("startTime"):
            rows = [r for r in rows if r["time"] >= int(params["startTime"])]
        if params.get("endTime"):
            rows = [r for r in rows if r["time"] <= int(params["endTime"])]
        limit = min(int(params.get("limit", 100)), 1000)
        return rows[:limit] if params.get("startTime") else rows[-limit:]

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
        raw = params.get("leverage")
        if raw is None:
            raise missing("leverage")
        try:
            lev = int(raw)
        except ValueError:
            raise VenueError(-4028, raw)
        if not 1 <= lev <= MAX_LEVERAGE:
            raise VenueError(-4028, raw)
        acct.settings[spec.symbol].leverage = lev
        return {"leverage": lev, "maxNotionalValue": "1000000000" if lev <= 10 else str(max(50_000, 1_000_000_000 // (lev * lev))),
                "symbol": spec.symbol}

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
        cid = params.get("clientAlgoId") or secrets.token_hex(11)
        if len(cid) > 36:
            raise VenueError(-4015)
        if any(a.client_algo_id == cid for a in acct.open_algo.values()):
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
        return algo

    def find_algo(self, acct: Account, params: dict, code: int) -> AlgoOrder:
        aid = params.get("algoId")
        cid = params.get("clientAlgoId")
        if aid is None and cid is None:
            raise VenueError(-1102, msg="Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!")
        a = None
        if aid is not None:
            try:
                a = acct.algo.get(int(aid))
            except ValueError:
                raise bad_param("algoId")
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

    def _trigger_algo(self, acct: Account, a: AlgoOrder, ts: int, price: float) -> None:
        """A conditional order fires: it becomes a regular MARKET (or LIMIT) order at that moment."""
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
            return
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
        a.status = "TRIGGERED" if order.is_open else "FINISHED"
        a.actual_order_id = order.order_id
        a.actual_price = order.avg_price().quantize(spec.tick) if order.executed else ZERO

    # ---------------------------------------------------------------- the clock advance
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

    def sync(self, now: int) -> None:
        """Advance the engine to market time `now` (called on every request and by a timer)."""
        a = self.last_sync
        if now <= a:
            return
        order_syms, pos_syms = self._active()
        if not order_syms and not pos_syms:
            self.last_sync = now
            return
        funding: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for sym in pos_syms:
            for t, r in self.market.series(sym).funding_events(a, now):
                funding[t].append((sym, r))
        cur = a
        for b in sorted(funding) + [now]:
            if b > cur:
                # one (low, high) per symbol bounds which orders can be hit and each position's worst price
                ranges = {sym: self.market.series(sym).range_between(cur, b) for sym in order_syms | pos_syms}
                self._match(cur, b, ranges)
                self._liquidations(ranges, b)
            if b in funding:
                self._settle_funding(b, funding.pop(b))
            cur = max(cur, b)
            self.last_sync = cur
        self.last_sync = now

    def _match(self, a: int, b: int, ranges: dict) -> None:
        """Fill resting orders and fire conditional orders hit in (a, b], in time order. Only orders
        whose price lies inside the symbol's (low, high) get the exact first-crossing search."""
        events = []
        for acct in self.accounts.values():
            if not acct.open_orders and not acct.open_algo:
                continue
            for o in acct.open_orders.values():
                lo, hi = ranges[o.symbol]
                p = float(o.price)
                if (o.side == "BUY" and lo < p) or (o.side == "SELL" and hi > p):
                    hit = self.market.series(o.symbol).first_cross(a, b, p, below=o.side == "BUY", strict=True)
                    if hit:
                        events.append((hit[0], 1, o.order_id, acct, o, hit[1]))
            for al in acct.open_algo.values():
                lo, hi = ranges[al.symbol]
                p = float(al.trigger_price)
                above = al.triggers_above()
                if (above and hi >= p) or (not above and lo <= p):
                    hit = self.market.series(al.symbol).first_cross(a, b, p, below=not above, strict=False)
                    if hit:
                        events.append((hit[0], 0, al.algo_id, acct, al, hit[1]))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        for ts, kind, _, acct, obj, price in events:
            if kind == 1:
                if obj.is_open:
                    self._fill(acct, obj, obj.price, obj.qty - obj.executed, maker=True, ts=ts)
                    obj.reserved_margin = ZERO
            elif obj.is_open:
                self._trigger_algo(acct, obj, ts, price)

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

    def _liquidations(self, ranges: dict, b: int) -> None:
        for acct in self.accounts.values():
            live = acct.live_positions()
            if not live:
                continue
            # each position at its worst price over the interval (long: low, short: high)
            worst = {}
            for p in live:
                lo, hi = ranges[p.symbol]
                worst[(p.symbol, p.side)] = self.specs[p.symbol].round_price(lo if p.amt > 0 else hi)
            cross_legs = []
            for p in live:
                m = worst[(p.symbol, p.side)]
                spec = self.specs[p.symbol]
                maint = abs(p.amt) * m * spec.maint_margin
                if acct.isolated(p.symbol):
                    if p.isolated_wallet + self._unpnl(p, m) <= maint:
                        self._liquidate(acct, [p], worst, b)
                else:
                    cross_legs.append((p, maint))
            if cross_legs:
                iso_wallet = sum((p.isolated_wallet for p in acct.live_positions() if acct.isolated(p.symbol)), ZERO)
                balance = acct.wallet - iso_wallet + sum((self._unpnl(p, worst[(p.symbol, p.side)]) for p, _ in cross_legs), ZERO)
                if balance <= sum((m for _, m in cross_legs), ZERO):
                    self._liquidate(acct, [p for p, _ in cross_legs], worst, b)

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
                "time": ts, "account": acct.api_key[:6] + "...", "symbol": p.symbol, "positionSide": p.side,
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
