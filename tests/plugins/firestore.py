"""The `emulator` fixture: a real Firestore-protocol server, `@firestore-emulator/server` (npm), installed from
tests/firestore_emulator/package-lock.json with `npm ci` on first use and started on 127.0.0.1 (serve.js binds
loopback only). FIRESTORE_EMULATOR_HOST points the real google-cloud-firestore client at it.
Used by the Firestore mirror tests and the dashboard's Firestore NAV tests.
"""
from __future__ import annotations

import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

try:
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

REPO = Path(__file__).resolve().parents[2]
EMU_DIR = REPO / "tests" / "firestore_emulator"
PROJECT = "hedge-test"


def ensure_emulator_installed() -> None:
    """`npm ci` from the committed lock file, once (a lock serialises parallel test workers)."""
    if (EMU_DIR / "node_modules" / "@firestore-emulator" / "server").is_dir():
        return
    if not shutil.which("npm") or not shutil.which("node"):
        pytest.skip("node/npm not installed: scripts/install_system_packages.sh installs them")
    with open(EMU_DIR / ".install.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not (EMU_DIR / "node_modules" / "@firestore-emulator" / "server").is_dir():
            out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=EMU_DIR,
                                 capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                pytest.fail(f"`npm ci` in {EMU_DIR} failed (exit {out.returncode}); the Firestore tests need "
                            f"@firestore-emulator/server from package-lock.json:\n{out.stderr[-2000:]}")


class Emulator:
    def __init__(self):
        self.port = 0
        self.proc: subprocess.Popen | None = None

    def start(self) -> Emulator:
        self.proc = subprocess.Popen(["node", "serve.js", str(self.port)], cwd=EMU_DIR, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(x) for x in self.proc.stdout], daemon=True).start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line.startswith("[firestore-emulator] ready 127.0.0.1:"):
                self.port = int(line.rsplit(":", 1)[1])
                return self
        self.stop()
        raise RuntimeError("the Firestore emulator did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture()
def emulator(monkeypatch):
    ensure_emulator_installed()
    emu = Emulator().start()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emu.host)
    yield emu
    emu.stop()
