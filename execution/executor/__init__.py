"""hedge-executor: decisions become orders (`python -m execution.executor --help`).

Modules: cli (arguments, start), loop (the live loop), router (maker-first + TWAP), journal (orders.jsonl,
written before every send), reconcile (start-up and per-cycle reconciliation), kill_switch (the file),
publish (state files), exchange_port (every adapter call, one place). docs/Runbook.md, docs/Reconciliation.md.
"""
