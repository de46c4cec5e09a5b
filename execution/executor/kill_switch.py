"""The kill switch file `STATE_ROOT/kill_switch.json` (docs/STATE_FILES.md): engage, release, read.

`{"active": true, "reason": "...", "since": "...", "by": "..."}`; absent file = not engaged. The operator
command (`scripts/kill_switch.py on|off|status`) writes it; the executor reads it every cycle and before
every TWAP child, so it halts new risk at once and survives a restart (it is a file, not process memory).
"""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from execution.state_store import read_snapshot, snapshot_path, utc_now_iso, write_snapshot

NAME = "kill_switch"


@dataclass(frozen=True)
class KillSwitch:
    active: bool
    reason: str = ""
    since: str | None = None
    by: str = ""
    error: str = ""  # the file exists but cannot be read: treated as ENGAGED (fail safe)

    def to_dict(self) -> dict[str, Any]:
        return {"active": self.active, "reason": self.reason, "since": self.since, "by": self.by}


def read(root: Path) -> KillSwitch:
    path = snapshot_path(NAME, root)
    if not path.exists():
        return KillSwitch(False)
    try:
        doc = read_snapshot(NAME, root=root)
    except Exception as e:  # noqa: BLE001 - a torn or hand-edited file must not turn the switch off
        return KillSwitch(True, f"kill_switch.json unreadable ({e}): treated as engaged", None, "", str(e))
    if not isinstance(doc, dict):
        return KillSwitch(True, "kill_switch.json is not an object: treated as engaged", None, "", "bad type")
    active = doc.get("active")
    if not isinstance(active, bool):
        return KillSwitch(True, f"kill_switch.json active={active!r} is not true/false: treated as engaged")
    return KillSwitch(active, str(doc.get("reason", "")), doc.get("since"), str(doc.get("by", "")))


def engage(root: Path, reason: str, by: str | None = None) -> KillSwitch:
    ks = KillSwitch(True, reason, utc_now_iso(), by or _who())
    write_snapshot(NAME, ks.to_dict(), root=root, writer="kill_switch")
    return ks


def release(root: Path, by: str | None = None, reason: str = "released") -> KillSwitch:
    ks = KillSwitch(False, reason, utc_now_iso(), by or _who())
    write_snapshot(NAME, ks.to_dict(), root=root, writer="kill_switch")
    return ks


def _who() -> str:
    try:
        return f"{getpass.getuser()}@{os.uname().nodename}"
    except Exception:  # noqa: BLE001 - who engaged it is informational: never fail the switch over it
        return "operator"
