"""The decision core is pure (docs/ARCHITECTURE.md): values in, values out; no clock, no environment, no
files, no network, no logging side effects, no unseeded randomness.

Every module under core/ is parsed with `ast` (nothing is imported or executed) and checked against:
- imports: only ALLOWED_MODULES, other core modules, and `settings.models` (pure value types; not the loader,
  not the env) — also inside `if TYPE_CHECKING:` blocks, because the dependency direction matters too;
- calls: no open / print / input / eval / exec / __import__ / breakpoint / exit; no numpy file I/O; no
  numpy global random state (np.random.default_rng(seed) with an explicit seed is fine).
A failure lists every offence as `core/<module>.py:<line>: <what>`.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORE = REPO_ROOT / "core"

# Pure standard library and numpy. Everything else (os, sys, time, datetime, logging, socket, json, pathlib,
# random, subprocess, threading, requests, aiohttp, binance, the I/O packages of this repo, ...) is refused.
ALLOWED_MODULES = frozenset({
    "__future__", "abc", "bisect", "cmath", "collections", "copy", "dataclasses", "decimal", "enum",
    "fractions", "functools", "heapq", "itertools", "math", "numbers", "numpy", "operator", "statistics",
    "types", "typing",
})
ALLOWED_SETTINGS = frozenset({"settings.models"})

# Why the usual suspects are refused, for the failure message.
REASONS = {
    "os": "environment / files", "sys": "process state", "time": "reads the clock", "datetime": "reads the clock",
    "logging": "logging side effects", "socket": "network", "requests": "network", "aiohttp": "network",
    "urllib": "network", "http": "network", "binance": "exchange client", "subprocess": "processes",
    "pathlib": "files", "io": "files", "shutil": "files", "json": "serialisation belongs to the caller",
    "random": "unseeded randomness", "secrets": "randomness", "threading": "threads", "asyncio": "event loop",
    "importlib": "dynamic imports", "marketdata": "I/O package", "execution": "I/O package",
    "venue": "I/O package", "dashboard": "I/O package", "telegram": "I/O package", "scripts": "I/O package",
    "settings": "only settings.models (pure values) may be imported",
}
FORBIDDEN_CALLS = {
    "open": "file I/O", "print": "output side effect", "input": "reads stdin", "eval": "dynamic code",
    "exec": "dynamic code", "__import__": "dynamic import", "breakpoint": "debugger", "exit": "exits the process",
    "quit": "exits the process", "compile": "dynamic code",
}
NUMPY_IO = {"load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile", "memmap",
            "fromregex"}
NUMPY_ALIASES = {"np", "numpy"}


def _import_problem(module: str) -> str | None:
    top = module.split(".")[0]
    if top in ALLOWED_MODULES or top == "core" or module in ALLOWED_SETTINGS:
        return None
    return f"imports {module} ({REASONS.get(top, 'not on the pure allow-list')})"


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def purity_problems(source: str, label: str) -> list[str]:
    """Every offence in one module's source, as `label:line: what`."""
    tree = ast.parse(source, filename=label)
    problems: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                problem = _import_problem(alias.name)
                if problem:
                    problems.append((node.lineno, problem))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: inside core
                continue
            module = node.module or ""
            if module == "settings":  # `from settings import models` is settings.models
                for alias in node.names:
                    problem = _import_problem(f"settings.{alias.name}")
                    if problem:
                        problems.append((node.lineno, problem))
                continue
            problem = _import_problem(module)
            if problem:
                problems.append((node.lineno, problem))
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name is None:
                continue
            if name in FORBIDDEN_CALLS:
                problems.append((node.lineno, f"calls {name}() ({FORBIDDEN_CALLS[name]})"))
            parts = name.split(".")
            if parts[0] in NUMPY_ALIASES and len(parts) == 2 and parts[1] in NUMPY_IO:
                problems.append((node.lineno, f"calls {name}() (file I/O)"))
            if parts[0] in NUMPY_ALIASES and len(parts) >= 3 and parts[1] == "random":
                seeded = parts[2] == "default_rng" and (node.args or node.keywords)
                if not seeded:
                    problems.append((node.lineno, f"calls {name}() (numpy global / unseeded randomness)"))
        elif isinstance(node, ast.Attribute):
            name = _dotted(node)
            if name and name.split(".")[0] in ("os", "sys", "time", "datetime") and len(name.split(".")) == 2:
                problems.append((node.lineno, f"uses {name} ({REASONS[name.split('.')[0]]})"))
    return [f"{label}:{line}: {what}" for line, what in sorted(set(problems))]


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def test_core_exists():
    names = {p.relative_to(CORE).as_posix() for p in core_modules()}
    assert {"__init__.py", "risk_limits.py", "sizing.py", "sl_tp.py", "screener.py", "alpha.py", "orders.py",
            "bars.py", "risk/records.py", "risk/metrics.py", "risk/facts.py", "risk/checks.py", "risk/context.py",
            "risk/state.py", "indicators/kernels.py", "indicators/recursive.py", "indicators/windows.py",
            "indicators/crosses.py"} <= names


def test_core_modules_stay_small():
    """One idea per module (docs/ARCHITECTURE.md): none over ~600 lines."""
    big = {p.relative_to(REPO_ROOT).as_posix(): n for p in core_modules()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not big, big


def test_every_core_module_is_pure():
    problems: list[str] = []
    for path in core_modules():
        problems += purity_problems(path.read_text(encoding="utf-8"), path.relative_to(REPO_ROOT).as_posix())
    assert not problems, "the core must stay pure (docs/ARCHITECTURE.md):\n" + "\n".join(problems)


# --------------------------------------------------------------------------- the checker itself
@pytest.mark.parametrize("source, expected", [
    ("import os", "imports os (environment / files)"),
    ("import os.path", "imports os.path"),
    ("from time import monotonic", "imports time (reads the clock)"),
    ("import datetime as dt", "imports datetime (reads the clock)"),
    ("from datetime import datetime", "imports datetime"),
    ("import logging", "imports logging"),
    ("import json", "imports json"),
    ("import random", "imports random (unseeded randomness)"),
    ("from pathlib import Path", "imports pathlib"),
    ("import socket", "imports socket"),
    ("import requests", "imports requests"),
    ("import subprocess", "imports subprocess"),
    ("from binance.client import Client", "imports binance.client (exchange client)"),
    ("from execution.exchange_utils import x", "imports execution.exchange_utils (I/O package)"),
    ("import marketdata.files", "imports marketdata.files"),
    ("from venue import server", "imports venue"),
    ("from settings.loader import load_config", "imports settings.loader"),
    ("from settings.env import load_env", "imports settings.env"),
    ("from settings import load_config", "imports settings.load_config"),
    ("import settings", "imports settings"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from execution.state import S", "imports execution.state"),
    ("def f():\n    import os\n    return os.getcwd()", "imports os"),
    ("x = open('f').read()", "calls open() (file I/O)"),
    ("print('hello')", "calls print()"),
    ("x = input()", "calls input()"),
    ("m = __import__('os')", "calls __import__()"),
    ("import numpy as np\nnp.save('f', [1])", "calls np.save() (file I/O)"),
    ("import numpy as np\nx = np.random.rand(3)", "calls np.random.rand() (numpy global / unseeded randomness)"),
    ("import numpy as np\nr = np.random.default_rng()", "calls np.random.default_rng()"),
    ("t = time.time()", "uses time.time (reads the clock)"),
    ("e = os.environ['X']", "uses os.environ"),
])
def test_checker_catches(source, expected):
    problems = purity_problems(source, "core/x.py")
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("core/x.py:") for p in problems)


@pytest.mark.parametrize("source", [
    "from __future__ import annotations",
    "import math\nfrom decimal import Decimal, ROUND_FLOOR",
    "from dataclasses import dataclass, field, replace",
    "from typing import Any, Mapping\nfrom collections.abc import Sequence",
    "import numpy as np\nx = np.asarray([1.0])\nrng = np.random.default_rng(7)",
    "from types import MappingProxyType",
    "import bisect, functools, itertools, enum",
    "from settings.models import HybridScoring",
    "from settings import models",
    "from core.filters import SymbolFilters\nfrom . import indicators\nfrom .base import x",
    "import core.indicators as ind",
    "def f(now_ms: int) -> int:\n    return now_ms + 1",
    "class C:\n    def open(self):\n        return 1\nC().open()",  # a method named open is not the builtin
])
def test_checker_allows(source):
    assert purity_problems(source, "core/x.py") == []
