"""Start the local venue (`python -m venue`) as a real process and talk to it with python-binance.

    from tests.plugins.venue import start_venue
    with start_venue(speed=3600, balance=5000, extra=["--weight-limit", "50"]) as v:
        c = v.client()                      # python-binance Client subclass pointed at the venue
        c.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
        v.admin("POST", "/_venue/clock", {"step_ms": 3_600_000})

Fixtures:
    venue          module-scoped venue (synthetic data, 10 default symbols, speed 1). Call
                   `venue.reset(...)` at the start of a test that needs a clean account.
    venue_factory  module-scoped factory: venue_factory(**start_venue kwargs) -> VenueHandle, all
                   stopped at module end.

Helpers: `open_leg` / `close_leg` place a MARKET order that grows / shrinks a hedge leg (sides from
core.orders, the one vocabulary); `recording_sleep()` gives adapters a sleep that records every wait and
really sleeps only a little, so the adapter's recvWindow wait (docs/EXCHANGE.md) sees server time move.

The venue picks a free port itself (--port 0) and reports it in its ready line, so parallel workers
never collide.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from core.orders import entry_side, exit_side

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_RE = re.compile(r"^\[venue\] ready (http://\S+) ")
DEFAULT_KEY = "hedge-local-key"
DEFAULT_SECRET = "hedge-local-secret"


def client_class(base_url: str, async_: bool = False):
    """A plain python-binance Client (or AsyncClient) subclass whose URLs point at `base_url`."""
    from execution.exchange.client import binance_url_attrs

    if async_:
        from binance import AsyncClient as base
    else:
        from binance.client import Client as base

    name = "LocalVenueAsyncClient" if async_ else "LocalVenueClient"
    return type(name, (base,), binance_url_attrs(base_url))


class VenueHandle:
    def __init__(self, proc: subprocess.Popen, base_url: str, api_key: str, api_secret: str,
                 stderr_path: str, ready_line: str):
        self.proc = proc
        self.base_url = base_url
        self.api_key = api_key
        self.api_secret = api_secret
        self.stderr_path = stderr_path
        self.ready_line = ready_line
        self.port = int(base_url.rsplit(":", 1)[1])

    # -- admin API (/_venue/...) --
    admin_token: str | None = None        # set when the venue was started with --admin-token

    def admin(self, method: str, path: str, json_body=None, timeout: float = 10.0):
        """One admin call as the venue requires it (docs/VENUE.md "Admin API"): a JSON body with
        `Content-Type: application/json`, the loopback Host urllib derives from base_url, and the admin
        token header when one is set. A rejected call raises AssertionError with the venue's answer."""
        if not path.startswith("/"):
            path = "/" + path
        if not path.startswith("/_venue/"):
            path = "/_venue" + path
        data = None if json_body is None else json.dumps(json_body).encode()
        headers = {"Content-Type": "application/json"}
        if self.admin_token:
            headers["X-Venue-Admin-Token"] = self.admin_token
        req = urllib.request.Request(self.base_url + path, data=data, method=method.upper(), headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raise AssertionError(f"admin {method} {path} -> {e.code}: {e.read().decode()}") from None

    def reset(self, **body):
        """Fresh account, stats, faults and limits. Keys: balance, dual, start_ms, speed, paused."""
        return self.admin("POST", "/_venue/reset", body)

    def clock(self, **body):
        """GET (no args) or POST clock control: pause / resume / speed / step_ms / to_ms."""
        return self.admin("POST" if body else "GET", "/_venue/clock", body or None)

    def fault(self, **spec):
        return self.admin("POST", "/_venue/faults", spec)

    def listing(self, **body):
        """A symbol's exchangeInfo listing: symbol + status ("SETTLING", "TRADING" ...) or listed=False."""
        return self.admin("POST", "/_venue/symbol", body)

    def clear_faults(self):
        return self.admin("DELETE", "/_venue/faults")

    def stats(self):
        return self.admin("GET", "/_venue/stats")

    def market_time_ms(self) -> int:
        return self.clock()["market_time_ms"]

    # -- python-binance --
    def client_class(self, async_: bool = False):
        return client_class(self.base_url, async_)

    def client(self, api_key: str | None = None, api_secret: str | None = None, **kwargs):
        cls = client_class(self.base_url)
        return cls(api_key or self.api_key, api_secret or self.api_secret, **kwargs)

    async def async_client(self, api_key: str | None = None, api_secret: str | None = None, **kwargs):
        cls = client_class(self.base_url, async_=True)
        return await cls.create(api_key or self.api_key, api_secret or self.api_secret, **kwargs)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            os.unlink(self.stderr_path)

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            return Path(self.stderr_path).read_text()[-n:]
        except OSError:
            return ""


def launch_venue(data=None, speed: float = 1.0, balance=None, start=None, api_key: str = DEFAULT_KEY,
                 api_secret: str = DEFAULT_SECRET, paused: bool = False, symbols=None,
                 extra: list[str] | None = None, ready_timeout: float = 15.0) -> VenueHandle:
    """Start `python -m venue` on a free loopback port and wait for its ready line."""
    cmd = [sys.executable, "-m", "venue", "--host", "127.0.0.1", "--port", "0", "--speed", str(speed),
           "--api-key", api_key, "--api-secret", api_secret]
    if data is not None:
        cmd += ["--data", str(data)]
    if balance is not None:
        cmd += ["--balance", str(balance)]
    if start is not None:
        cmd += ["--start", str(start)]
    if paused:
        cmd.append("--paused")
    if symbols:
        cmd += ["--symbols", symbols if isinstance(symbols, str) else ",".join(symbols)]
    cmd += list(extra or [])
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    err = tempfile.NamedTemporaryFile(prefix="venue-", suffix=".stderr", delete=False)
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True)
    err.close()                         # the child has its own descriptor
    lines: queue.Queue = queue.Queue()

    def pump():  # keep draining stdout so the venue can never block on a full pipe
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + ready_timeout
    while True:
        left = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(0.01, left))
        except queue.Empty:
            line = ""
        if line is None or left <= 0:
            proc.kill()
            proc.wait()
            tail = Path(err.name).read_text()[-3000:]
            os.unlink(err.name)
            raise RuntimeError(f"venue did not start: {' '.join(cmd)}\n{tail}")
        m = READY_RE.match(line or "")
        if m:
            handle = VenueHandle(proc, m.group(1), api_key, api_secret, err.name, line.strip())
            atexit.register(handle.stop)        # never leave a venue behind if the test run dies
            return handle


@contextlib.contextmanager
def start_venue(**kwargs):
    """Context manager around launch_venue(); stops the process on exit."""
    v = launch_venue(**kwargs)
    try:
        yield v
    finally:
        v.stop()


@pytest.fixture(scope="module")
def venue_factory():
    started: list[VenueHandle] = []

    def make(**kwargs) -> VenueHandle:
        v = launch_venue(**kwargs)
        started.append(v)
        return v

    yield make
    for v in started:
        v.stop()


@pytest.fixture(scope="module")
def venue(venue_factory):
    """A shared synthetic venue (10 default symbols, speed 1, balance 10000) for a test module."""
    return venue_factory()


def write_dataset(data_dir, klines: dict, funding: dict | None = None, interval: str = "1h") -> Path:
    """Write a hand-made data set in the ../shared/data layout, for tests with known prices.

    klines:  {symbol: [(open_time_ms, open, high, low, close, volume), ...]}
    funding: {symbol: [(funding_time_ms, rate), ...]}
    """
    import gzip

    data_dir = Path(data_dir)
    (data_dir / "klines").mkdir(parents=True, exist_ok=True)
    (data_dir / "funding").mkdir(parents=True, exist_ok=True)
    for sym, rows in klines.items():
        with gzip.open(data_dir / "klines" / f"{sym}-{interval}.csv.gz", "wt") as f:
            f.write("open_time_ms,open,high,low,close,volume\n")
            for r in rows:
                f.write(",".join([str(int(r[0]))] + [repr(float(x)) for x in r[1:]]) + "\n")
    for sym, rows in (funding or {}).items():
        with open(data_dir / "funding" / f"{sym}-funding.csv", "w") as f:
            f.write("funding_time_ms,funding_rate\n")
            for t, rate in rows:
                f.write(f"{int(t)},{rate!r}\n")
    return data_dir


def open_leg(client, symbol: str, leg: str, quantity, **params):
    """A MARKET order that grows the hedge `leg` (LONG -> BUY, SHORT -> SELL) through a python-binance client."""
    return client.futures_create_order(symbol=symbol, side=entry_side(leg), positionSide=leg.upper(),
                                       type="MARKET", quantity=str(quantity), **params)


def close_leg(client, symbol: str, leg: str, quantity, **params):
    """A MARKET order that shrinks the hedge `leg` (LONG -> SELL, SHORT -> BUY)."""
    return client.futures_create_order(symbol=symbol, side=exit_side(leg), positionSide=leg.upper(),
                                       type="MARKET", quantity=str(quantity), **params)


def recording_sleep(cap_s: float = 0.4):
    """(waits, sleep): `sleep(s)` appends s to `waits` and really sleeps min(s, cap_s).

    Back-offs and Retry-After waits cost little wall time, and tests assert on the recorded values; the
    real part lets the adapter's recvWindow wait (a short `order_recv_window_ms`) see server time pass.
    """
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        time.sleep(max(0.0, min(s, cap_s)))

    return waits, sleep
