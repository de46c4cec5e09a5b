"""Parameter sweeps through the backtest engine, in one process or on Ray (scripts/sweep.py).

    grid = expand_grid({"fast": [12, 24], "slow": [96, 192]})     # every combination, in a stable order
    rows = run_chunk(strategy, chunk, universes, data, costs, cash)  # one row per (params, universe)
    ranked = rank(rows, "sharpe")

A combination the strategy rejects (e.g. fast >= slow) becomes a row with `error` set, never a crash.
Ray: a local runtime bound to 127.0.0.1 only (`local_ray_env` must be in the environment before `import
ray`: with it Ray takes the loopback address as the node address and every server binds there), or a
cluster with `address`. Data goes to the object store once; each task runs a chunk of combinations.
"""
from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from backtest.cli import run_universe
from backtest.costs import Costs
from core.strategies import get_strategy

__all__ = ["LOCAL_RAY_ENV", "expand_grid", "parse_grid", "run_chunk", "rank", "chunks", "run_on_ray"]

#: Environment for a loopback-only local Ray runtime (no usage reporting, nodes on 127.0.0.1).
LOCAL_RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
                 "RAY_DISABLE_DOCKER_CPU_WARNING": "1"}

METRICS = ("final_equity", "total_return", "annual_return", "sharpe", "max_drawdown", "fills", "turnover",
           "fees_paid", "slippage_paid", "funding_paid")


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """['fast=12,24,48', 'slow=96,192', 'lookbacks=[72,168];[168,336]'] -> {name: values}. Values are JSON
    where they parse; list values are separated by ';'."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise ValueError(f"bad --grid item {item!r}: use name=v1,v2,... (lists: name=[1,2];[3,4])")
        parts = text.split(";") if text.strip().startswith("[") else text.split(",")
        values = []
        for p in parts:
            try:
                values.append(json.loads(p))
            except json.JSONDecodeError:
                values.append(p.strip())
        grid[name.strip()] = values
    return grid


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*(grid[n] for n in names))]


def chunks(items: Sequence[Any], n: int) -> list[list[Any]]:
    size = max(1, math.ceil(len(items) / max(1, n)))
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


#: Parameter sets whose targets are computed together (`StrategySpec.many`): bounds the memory they hold.
_SHARED_BLOCK = 16


def _shared_targets(strategy: str, combos: Sequence[Mapping[str, Any]], universes: Sequence[Sequence[str]],
                    data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per combination, its targets on each symbol of the universes, from one `StrategySpec.many` call per
    symbol (a grid shares work, e.g. ema_cross's EMAs); an invalid combination gets none (its row says why)."""
    try:
        spec = get_strategy(strategy)
    except ValueError:  # every row will say so
        return [{} for _ in combos]
    ok = []
    for i, params in enumerate(combos):
        try:
            spec.params(params)
            ok.append(i)
        except ValueError:
            pass
    out: list[dict[str, Any]] = [{} for _ in combos]
    for sym in dict.fromkeys(s for uni in universes for s in uni):
        if sym not in data or not ok:
            continue
        k = data[sym][0]
        for i, targets in zip(ok, spec.many(k, [combos[i] for i in ok], bar_ms=k.interval_ms)):
            out[i][sym] = targets
    return out


def run_chunk(strategy: str, combos: Iterable[Mapping[str, Any]], universes: Sequence[Sequence[str]],
              data: Mapping[str, Any], costs: Costs, initial_cash: float) -> list[dict[str, Any]]:
    rows = []
    todo = list(combos)
    for start in range(0, len(todo), _SHARED_BLOCK):
        block = todo[start:start + _SHARED_BLOCK]
        rows += _run_block(strategy, block, _shared_targets(strategy, block, universes, data), universes, data,
                           costs, initial_cash)
    return rows


def _run_block(strategy: str, combos: Sequence[Mapping[str, Any]], targets: Sequence[Mapping[str, Any]],
               universes: Sequence[Sequence[str]], data: Mapping[str, Any], costs: Costs,
               initial_cash: float) -> list[dict[str, Any]]:
    rows = []
    for params, given in zip(combos, targets):
        for uni in universes:
            row: dict[str, Any] = {"strategy": strategy, "universe": ",".join(uni),
                                   "params": json.dumps(params, sort_keys=True),
                                   **{f"p_{k}": v for k, v in params.items()}}
            try:
                out = run_universe(strategy, dict(params), {s: data[s] for s in uni}, costs, initial_cash,
                                   targets=given)
                row.update({k: out[k] for k in METRICS})
                row["error"] = ""
            except ValueError as exc:
                row.update({k: None for k in METRICS})
                row["error"] = str(exc)
            rows.append(row)
    return rows


def rank(rows: Sequence[Mapping[str, Any]], by: str = "sharpe", ascending: bool = False) -> list[Mapping[str, Any]]:
    ok = [r for r in rows if not r.get("error") and r.get(by) is not None]
    return sorted(ok, key=lambda r: r[by], reverse=not ascending)


def run_on_ray(strategy: str, combos: Sequence[Mapping[str, Any]], universes: Sequence[Sequence[str]],
               data: Mapping[str, Any], costs: Costs, initial_cash: float, *, address: str | None = None,
               num_cpus: int | None = None, tasks: int | None = None, progress: Any = None) -> tuple[list[dict], dict]:
    """Rows from Ray tasks; (rows, info about the runtime). A local runtime is started on 127.0.0.1 (and shut
    down after) unless `address` names a cluster."""
    for k, v in LOCAL_RAY_ENV.items():
        os.environ.setdefault(k, v)
    import ray

    started = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
        started = True
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        ref = ray.put(dict(data))
        remote = ray.remote(_chunk_task)
        parts = chunks(list(combos), tasks or cpus * 2)
        futures = [remote.remote(strategy, part, [list(u) for u in universes], ref, costs, initial_cash)
                   for part in parts]
        rows: list[dict] = []
        pending = list(futures)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for d in done:
                got = ray.get(d)
                rows += got
                if progress is not None:
                    progress(len(got))
        info = {"ray_version": ray.__version__, "cpus": cpus, "tasks": len(parts),
                "node_ip": ray.util.get_node_ip_address(), "address": address or "local",
                "listen_addresses": _listen_addresses() if not address else []}
        return rows, info
    finally:
        if started:
            ray.shutdown()


def _listen_addresses() -> list[str]:
    """The addresses the local runtime's processes (children of this one) listen on."""
    try:
        import psutil

        pids = {p.pid for p in psutil.Process().children(recursive=True)}
        return sorted({c.laddr.ip for c in psutil.net_connections(kind="inet")
                       if c.status == psutil.CONN_LISTEN and c.pid in pids})
    except Exception as exc:  # not permitted on some systems: say so rather than guess
        return [f"unknown ({type(exc).__name__})"]


def _chunk_task(strategy: str, combos: list, universes: list, data: Mapping[str, Any], costs: Costs,
                initial_cash: float) -> list[dict[str, Any]]:
    return run_chunk(strategy, combos, universes, data, costs, initial_cash)
