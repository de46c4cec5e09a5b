"""Account views of the venue's HTTP surface: balance, account (v2 / v3), positionRisk (v2 / v3),
commission rate and the single open order, in Binance's JSON shapes. A mixin of venue.server.Venue."""
from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .errors import VenueError
from .records import ONE, ZERO, Position, norm, s8

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .engine import Engine
    from .filters import SymbolSpec
    from .params import Params
    from .records import Account
    from .replay import Market, MarketClock


class AccountViews:
    # what the views use of the Venue they are mixed into (declarations only)
    engine: Engine
    market: Market
    clock: MarketClock
    exchange_info: dict

    if TYPE_CHECKING:
        def _spec(self, params: dict) -> SymbolSpec: ...
        def _symbols(self, params: dict) -> list[SymbolSpec]: ...

    # ------------------------------------------------------------------ account views
    def h_commission(self, params: Params, acct: Account) -> dict:
        spec = self._spec(params)
        return {"symbol": spec.symbol, "makerCommissionRate": norm(self.engine.maker_fee),
                "takerCommissionRate": norm(self.engine.taker_fee)}

    def h_open_order(self, params: Params, acct: Account) -> dict:
        self.engine.sync(self.clock.now_ms())
        o = self.engine.find_order(acct, params, -2013)
        if not o.is_open:
            raise VenueError(-2013)
        return o.view(self.engine.specs[o.symbol])

    def _asset_row(self, acct: Account, s: dict[str, Decimal], now: int) -> dict:
        return {"accountAlias": "SgsRmYFzoCTiAuXq", "asset": "USDT", "balance": s8(s["wallet"]),
                "crossWalletBalance": s8(s["cross_wallet"]), "crossUnPnl": s8(s["cross_un"]),
                "availableBalance": s8(s["available"]),
                "maxWithdrawAmount": s8(max(ZERO, min(s["available"], s["wallet"]))),
                "marginAvailable": True, "updateTime": acct.update_time or now}

    def h_balance(self, params: Params, acct: Account) -> list[dict]:
        now = self.clock.now_ms()
        self.engine.sync(now)
        s = self.engine.summary(acct, now)
        rows = [self._asset_row(acct, s, now)]
        for a in self.exchange_info.get("assets", []):
            if a["asset"] != "USDT":
                rows.append({"accountAlias": "SgsRmYFzoCTiAuXq", "asset": a["asset"], "balance": "0.00000000",
                             "crossWalletBalance": "0.00000000", "crossUnPnl": "0.00000000",
                             "availableBalance": "0.00000000", "maxWithdrawAmount": "0.00000000",
                             "marginAvailable": True, "updateTime": 0})
        return rows

    def _legs(self, acct: Account, symbols: list[SymbolSpec]) -> Iterator[tuple[SymbolSpec, Position | _EmptyPos]]:
        sides = ("LONG", "SHORT") if acct.dual else ("BOTH",)
        for spec in symbols:
            for side in sides:
                yield spec, acct.positions.get((spec.symbol, side)) or _EmptyPos(spec.symbol, side)

    def _pos_numbers(self, acct: Account, spec: SymbolSpec, p: Position | _EmptyPos, mark: Decimal,
                     marks: dict[str, Decimal]) -> dict:
        lev = acct.settings[spec.symbol].leverage
        un = (mark - p.entry) * p.amt if p.amt else ZERO
        notional = p.amt * mark
        iso = acct.isolated(spec.symbol)
        im = abs(notional) / lev
        maint = self.engine.brackets[spec.symbol].maint(notional)
        fee2 = 2 * self.engine.taker_fee
        be = p.entry * (ONE + fee2) if p.amt > 0 else p.entry * (ONE - fee2) if p.amt < 0 else ZERO
        liq = self.engine.liquidation_price(acct, p, marks) if isinstance(p, Position) and p.amt else ZERO
        oim = sum((o.reserved_margin for o in acct.open_orders.values()
                   if o.symbol == spec.symbol and o.position_side == p.side), ZERO)
        return dict(lev=lev, un=un, notional=notional, iso=iso, im=im, maint=maint, be=be, liq=liq, oim=oim)

    def h_position_risk(self, params: Params, acct: Account, version: int) -> list[dict]:
        now = self.clock.now_ms()
        self.engine.sync(now)
        if params.get("symbol"):
            symbols = [self._spec(params)]
        elif version == 3:
            syms = {p.symbol for p in acct.live_positions()} | {o.symbol for o in acct.open_orders.values()}
            symbols = [self.engine.specs[s] for s in self.market.symbols if s in syms]
        else:
            symbols = self._symbols(params)
        marks = {p.symbol: self.engine.mark(p.symbol, now) for p in acct.live_positions()}
        out = []
        for spec, p in self._legs(acct, symbols):
            if version == 3 and p.amt == 0 and not any(o.symbol == spec.symbol and o.position_side == p.side
                                                         for o in acct.open_orders.values()):
                continue
            mark = marks.get(spec.symbol) or self.engine.mark(spec.symbol, now)
            n = self._pos_numbers(acct, spec, p, mark, marks)
            iso_margin = (p.isolated_wallet + n["un"]) if n["iso"] and p.amt else ZERO
            if version == 2:
                out.append({
                    "symbol": spec.symbol, "positionAmt": spec.qty(p.amt), "entryPrice": _px8(p.entry),
                    "breakEvenPrice": _px8(n["be"]), "markPrice": f"{mark:.8f}",
                    "unRealizedProfit": s8(n["un"]), "liquidationPrice": _px8(n["liq"]),
                    "leverage": str(n["lev"]),
                    "maxNotionalValue": norm(self.engine.brackets[spec.symbol].max_notional(n["lev"])),
                    "marginType": "isolated" if n["iso"] else "cross", "isolatedMargin": s8(iso_margin),
                    "isAutoAddMargin": "false", "positionSide": p.side, "notional": s8(n["notional"]),
                    "isolatedWallet": s8(p.isolated_wallet), "updateTime": p.update_time,
                })
            else:
                out.append({
                    "symbol": spec.symbol, "positionSide": p.side, "positionAmt": spec.qty(p.amt),
                    "entryPrice": _px8(p.entry), "breakEvenPrice": _px8(n["be"]), "markPrice": f"{mark:.8f}",
                    "unRealizedProfit": s8(n["un"]), "liquidationPrice": _px8(n["liq"]),
                    "isolatedMargin": s8(iso_margin), "notional": s8(n["notional"]), "marginAsset": "USDT",
                    "isolatedWallet": s8(p.isolated_wallet), "initialMargin": s8(n["im"] + n["oim"]),
                    "maintMargin": s8(n["maint"]), "positionInitialMargin": s8(n["im"]),
                    "openOrderInitialMargin": s8(n["oim"]), "adl": 0, "bidNotional": "0", "askNotional": "0",
                    "updateTime": p.update_time,
                })
        return out

    def h_account(self, params: Params, acct: Account, version: int) -> dict:
        now = self.clock.now_ms()
        self.engine.sync(now)
        s = self.engine.summary(acct, now)
        im = s["position_im"] + s["order_im"]
        asset = {"asset": "USDT", "walletBalance": s8(s["wallet"]), "unrealizedProfit": s8(s["unpnl"]),
                 "marginBalance": s8(s["margin_balance"]), "maintMargin": s8(s["maint"]), "initialMargin": s8(im),
                 "positionInitialMargin": s8(s["position_im"]), "openOrderInitialMargin": s8(s["order_im"]),
                 "crossWalletBalance": s8(s["cross_wallet"]), "crossUnPnl": s8(s["cross_un"]),
                 "availableBalance": s8(s["available"]),
                 "maxWithdrawAmount": s8(max(ZERO, min(s["available"], s["wallet"]))),
                 "marginAvailable": True, "updateTime": acct.update_time or now}
        top = {"totalInitialMargin": s8(im), "totalMaintMargin": s8(s["maint"]),
               "totalWalletBalance": s8(s["wallet"]), "totalUnrealizedProfit": s8(s["unpnl"]),
               "totalMarginBalance": s8(s["margin_balance"]), "totalPositionInitialMargin": s8(s["position_im"]),
               "totalOpenOrderInitialMargin": s8(s["order_im"]), "totalCrossWalletBalance": s8(s["cross_wallet"]),
               "totalCrossUnPnl": s8(s["cross_un"]), "availableBalance": s8(s["available"]),
               "maxWithdrawAmount": asset["maxWithdrawAmount"]}
        marks = {p.symbol: self.engine.mark(p.symbol, now) for p in acct.live_positions()}
        if version == 2:
            positions = []
            for spec, p in self._legs(acct, self._symbols({})):
                lev = acct.settings[spec.symbol].leverage
                mark = marks.get(spec.symbol) if p.amt else None
                n = self._pos_numbers(acct, spec, p, mark or p.entry, marks) if p.amt else None
                positions.append({
                    "symbol": spec.symbol, "initialMargin": s8(n["im"] + n["oim"]) if n else "0",
                    "maintMargin": s8(n["maint"]) if n else "0",
                    "unrealizedProfit": s8(n["un"]) if n else "0.00000000",
                    "positionInitialMargin": s8(n["im"]) if n else "0",
                    "openOrderInitialMargin": s8(n["oim"]) if n else "0",
                    "leverage": str(lev), "isolated": acct.isolated(spec.symbol),
                    "entryPrice": _px8(p.entry), "breakEvenPrice": _px8(n["be"]) if n else "0.0",
                    "maxNotional": norm(self.engine.brackets[spec.symbol].max_notional(lev)),
                    "bidNotional": "0", "askNotional": "0", "positionSide": p.side, "positionAmt": spec.qty(p.amt),
                    "updateTime": p.update_time,
                })
            return {"feeTier": 0, "feeBurn": True, "canTrade": True, "canDeposit": True, "canWithdraw": True,
                    "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1, **top,
                    "assets": [asset], "positions": positions}
        positions = []
        for p in acct.live_positions():
            spec = self.engine.specs[p.symbol]
            n = self._pos_numbers(acct, spec, p, marks[p.symbol], marks)
            positions.append({"symbol": p.symbol, "positionSide": p.side, "positionAmt": spec.qty(p.amt),
                              "unrealizedProfit": s8(n["un"]),
                              "isolatedMargin": s8(p.isolated_wallet + n["un"]) if n["iso"] else "0",
                              "notional": s8(n["notional"]), "isolatedWallet": s8(p.isolated_wallet),
                              "initialMargin": s8(n["im"]), "maintMargin": s8(n["maint"]),
                              "updateTime": p.update_time})
        return {**top, "assets": [asset], "positions": positions}


class _EmptyPos:
    """A flat leg for symbols never traded (without creating state for hundreds of symbols)."""
    __slots__ = ("symbol", "side", "amt", "entry", "isolated_wallet", "update_time")

    def __init__(self, symbol: str, side: str):
        self.symbol, self.side = symbol, side
        self.amt = self.entry = self.isolated_wallet = ZERO
        self.update_time = 0


def _px8(x: Decimal) -> str:
    return "0.0" if not x else f"{x:.8f}".rstrip("0").rstrip(".") if "." in f"{x:.8f}" else f"{x:.8f}"
