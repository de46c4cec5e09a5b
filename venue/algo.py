"""Conditional (algo) orders on /fapi/v1/algoOrder: placement, queries, cancels, and the trigger that turns
one into a regular order (docs/VENUE.md "Synthetic order book and fill model"). A mixin of Engine."""
from __future__ import annotations

import secrets

from .engine_state import EngineState
from .errors import VenueError, bad_param, missing
from .params import client_id, flag, integer, num
from .records import ZERO, Account, AlgoOrder, Order


class AlgoOrders(EngineState):
    # ---------------------------------------------------------------- algo (conditional) orders
    def place_algo(self, acct: Account, params: dict) -> dict:
        otype = (params.get("type") or "").upper() or "?"
        self.stats.orders_received[otype] += 1
        try:
            algo = self._place_algo(acct, params, otype)
        except VenueError as e:
            self._count_reject(otype, e)
            raise
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
        cid = params.get("clientAlgoId")
        if params.get("algoId") is not None:
            aid = integer(params, "algoId")
            a = acct.algo.get(aid) if aid is not None else None         # empty: no such order
        elif cid is not None:
            a = acct.algo_by_client.get(cid)
        else:
            raise VenueError(-1102, msg="Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!")
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
