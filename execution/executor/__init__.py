"""hedge-executor: decisions become orders (`.venv/bin/python -m execution.executor --help`).

Modules: cli (arguments, start), loop (the live loop), router (maker-first + TWAP), journal (orders.jsonl,
written before every send), reconcile (start-up and per-cycle reconciliation), kill_switch (the file),
publish (state files), ensemble (the R1 source), protective (exchange-side STOP/TP per leg), exchange_port
(every adapter call and adapter->core record conversion, one place; `open_gate` is the safety gate + build).
docs/Runbook.md, docs/Reconciliation.md.
"""
