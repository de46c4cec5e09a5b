"""Exchange-side protective orders for open legs (docs/Runbook.md "Executor — SL/TP").

Each open leg with a `core.sl_tp` rule gets a STOP_MARKET at the rule's stop and a TAKE_PROFIT_MARKET at its
take-profit, both `closePosition` on the leg, so they fire even while the executor is down. The clientAlgoId
comes from a protection id built from the leg and its entry price (`pr-<symbol>-<L|S>-<entry>`): the same leg
after a restart gets the same ids (the adapter finds them and sends nothing); a leg whose entry price changed
(it was added to) gets new ones and the old ones are cancelled. A leg that is gone has its orders cancelled.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .exchange_port import ExchangePort

log = logging.getLogger("hedge.executor")
KINDS = (("STOP_MARKET", "stop_loss"), ("TAKE_PROFIT_MARKET", "take_profit"))


def protection_id(symbol: str, position_side: str, entry_price: Any) -> str:
    price = entry_price.normalize() if hasattr(entry_price, "normalize") else entry_price
    return f"pr-{symbol}-{position_side[0]}-{price}"


class Protector:
    def __init__(self, port: ExchangePort):
        self.port = port
        self.placed: dict[tuple[str, str], str] = {}  # leg -> protection id placed (or found) in this process
        self.swept = False  # the first sync also removes protection a previous process left for closed legs

    def sync(self, rules: Iterable[Any], legs: dict[tuple[str, str], Any]) -> None:
        """Place what is missing for `rules` of open `legs`; cancel what belongs to legs that are gone."""
        wanted = {}
        for r in rules:
            leg = legs.get(r.key)
            if leg is None or leg.entry_price <= 0:
                continue
            wanted[r.key] = (protection_id(r.symbol, r.position_side, leg.entry_price), r)
        for key, (pid, rule) in wanted.items():
            if self.placed.get(key) == pid:
                continue
            self._cancel_leg(key, keep=pid)
            for kind, attr in KINDS:
                level = getattr(rule, attr, None)
                if level is None:
                    continue
                res = self.port.place_protective(rule.symbol, rule.position_side, kind, level, intent_id=pid)
                log.info("[executor] PROTECT %s %s %s trigger=%s -> %s%s", rule.symbol, rule.position_side, kind,
                         level, res.outcome.value, " (already there)" if res.recovered else "")
            self.placed[key] = pid
        for key in [k for k in self.placed if k not in wanted]:
            self._cancel_leg(key, keep=None)
            self.placed.pop(key, None)
        if not self.swept:
            self._sweep(wanted)

    def _sweep(self, wanted: dict) -> None:
        try:
            open_ = self.port.open_protective()
        except Exception as e:  # noqa: BLE001 - try again next cycle
            log.warning("[executor] PROTECT sweep: open protective orders unavailable (%s)", e)
            return
        keep = {_algo_prefix(pid) for pid, _ in wanted.values()}
        for p in open_:
            if p.client_algo_id.startswith("hp-pr-") and not any(p.client_algo_id.startswith(k) for k in keep):
                outcome = self.port.cancel_protective(p.symbol, p.client_algo_id)
                log.info("[executor] PROTECT sweep %s %s cancel %s (no open leg of ours) -> %s", p.symbol,
                         p.position_side, p.client_algo_id, outcome)
        self.swept = True

    def _cancel_leg(self, key: tuple[str, str], keep: str | None) -> None:
        symbol, ps = key
        try:
            open_ = self.port.open_protective(symbol)
        except Exception as e:  # noqa: BLE001 - try again next cycle
            log.warning("[executor] PROTECT %s open protective orders unavailable (%s)", symbol, e)
            return
        prefix = f"hp-pr-{symbol}-{ps[0]}"
        for p in open_:
            if p.position_side in (ps, "BOTH") and p.client_algo_id.startswith(prefix[:20]) and \
                    (keep is None or not p.client_algo_id.startswith(_algo_prefix(keep))):
                outcome = self.port.cancel_protective(symbol, p.client_algo_id)
                log.info("[executor] PROTECT %s %s cancel %s -> %s", symbol, ps, p.client_algo_id, outcome)


def _algo_prefix(pid: str) -> str:
    from execution.exchange.client_ids import make_client_algo_id

    return make_client_algo_id(pid, "STOP_MARKET")[:-3]  # "-sl" off: the stop and take-profit share the rest
