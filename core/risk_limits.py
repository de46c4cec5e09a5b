"""`check_order()`: the single pre-trade choke point. Pure: values in, values out.

The facade the runbooks name (`risk_limits.check_order()`); the rules live in the `core/risk/` package
(records, metrics, facts, checks, context, state), see its docstring and docs/RISK.md.

Modelled on NautilusTrader's RiskEngine (a linear pipeline of small named checks; every denial carries a
coded reason), with two deliberate differences:
- every check runs and EVERY applicable veto is reported (the operator sees all reasons at once); each check
  is a pure function of (order facts, context), so the order of the pipeline cannot change the result;
- "reducing" is judged PER LEG (hedge mode): SELL on a LONG leg or BUY on a SHORT leg, for at most the leg's
  quantity. Nautilus judges it on the net position, which is wrong when both legs are open.

Two entry points:
- `check_order(order, snapshot, limits, groups, profile=None)`: builds the context and checks one order.
- `RiskContext.build(snapshot, limits, groups, profile)` once per cycle, then `ctx.check(order)` per order
  (the fast path: per-snapshot aggregates are precomputed, the check only adds the order's increment).
  `ctx.after(order)` returns a context that also counts an approved order as pending exposure, so several
  orders approved in one cycle cannot jointly breach a cap that each passes alone.
"""
from __future__ import annotations

from core.risk.checks import PIPELINE
from core.risk.context import RiskContext, check_order, correlation_status
from core.risk.records import (
    ORDER_TYPES,
    RISK_INCREASE_ONLY_CODES,
    VETO_CODES,
    OrderFacts,
    ProposedOrder,
    RiskDecision,
    Veto,
)

__all__ = [
    "VETO_CODES",
    "RISK_INCREASE_ONLY_CODES",
    "ORDER_TYPES",
    "ProposedOrder",
    "Veto",
    "RiskDecision",
    "OrderFacts",
    "RiskContext",
    "PIPELINE",
    "check_order",
    "correlation_status",
]
