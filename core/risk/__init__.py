"""The pre-trade risk choke point, one idea per module (docs/RISK.md):

- `records`: ProposedOrder, Veto, RiskDecision, OrderFacts, the veto codes;
- `metrics`: NAV metrics (latest NAV, drawdown, day-start NAV, today's loss);
- `facts`: what an order is and does to its leg, derived once;
- `checks`: the pipeline of small named checks, each (facts, context) -> Veto | None;
- `context`: RiskContext (per-snapshot aggregates) and `check_order()`;
- `state`: the `risk.json["risk"]` builder.

`core.risk_limits` is the stable facade the runbooks name (`risk_limits.check_order()`).
"""
