"""Faults on demand (admin API), for tests and drills.

A fault targets requests by method and path (exact, or a prefix ending in '*'; none = every Binance
path) and fires for the next `count` matching requests (none = until cleared). Kinds:

  latency    add `latency_ms` before executing and answering (combines with any other fault). The
             request is read in full first, so it is executed after the delay even when the client has
             given up by then: a slow request is late, never lost.
  late       late delivery: the request is read, held `latency_ms`, then executed as if it arrived just
             then (the recvWindow is judged at that moment, as Binance does on arrival), whether or not
             the client is still waiting. This is the "original arrives after the status query" race of
             docs/EXCHANGE.md "Idempotent submission"; the answer goes to whoever is still listening.
  error      answer `status` (502/503/500) without executing: 503 -> {-1001 Internal error...},
             502 -> an HTML gateway page, as a proxy in front of Binance would
  timeout    hold the request `hold_ms` without executing, then drop the connection
  drop       drop the connection at once without executing
  rate_limit answer 429 / -1003 with Retry-After;  ban: answer 418 / -1003 "IP banned until"
  reject_1021  answer -1021 (timestamp outside recvWindow)
  ambiguous  EXECUTE the request (the order is booked), then lose the response: `mode` = drop
             (connection closed), 503 (HTTP 503 "Unknown error, please check your request or try
             again later." - Binance's execution-status-unknown answer) or timeout (held `hold_ms`,
             then dropped).
  kline_gap  a hole in the data, not a request fault: GET /fapi/v1/klines has no rows for `symbol` (none =
             every symbol) whose open time is in [`start_ms`, `end_ms`), as Binance answers for a period it
             has no bars for (the rows around it fill `limit`). Lasts until cleared; `count` does not apply.

The clock-skew drill is separate: `clock_skew_ms` shifts the venue's wall clock (serverTime and the
recvWindow check) so a client that does not resync its offset gets -1021.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("latency", "late", "error", "timeout", "drop", "rate_limit", "ban", "reject_1021", "ambiguous", "kline_gap")
_DELAYS = ("latency", "late")  # kinds that only delay the request (they combine with any other fault)
_ids = itertools.count(1)


@dataclass
class Fault:
    kind: str
    path: str | None = None
    method: str | None = None
    count: int | None = None
    latency_ms: int = 0
    status: int = 503
    hold_ms: int = 15_000
    mode: str = "drop"
    code: int | None = None
    msg: str | None = None
    symbol: str | None = None  # kline_gap only
    start_ms: int | None = None  # kline_gap only
    end_ms: int | None = None  # kline_gap only
    id: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        if self.path:
            if self.path.endswith("*"):
                return path.startswith(self.path[:-1])
            return path == self.path
        return True


# Integer fields of a rule: (min, max, may be null). Strings, booleans, NaN and huge values are refused, so
# a bad rule can never leave the venue with a rule it cannot apply (issue 8).
_INT_FIELDS = {
    "count": (1, 10**9, True),
    "latency_ms": (0, 600_000, False),
    "status": (100, 599, False),
    "hold_ms": (0, 600_000, False),
    "code": (-100_000, 100_000, True),
    "start_ms": (0, 4_102_444_800_000, True),
    "end_ms": (0, 4_102_444_800_000, True),
}
_GAP_FIELDS = ("symbol", "start_ms", "end_ms")


def _check_int(name: str, value: object, lo: int, hi: int, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}]{' or null' if optional else ''}, "
                         f"got {value!r}"[:200])


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self.clock_skew_ms = 0

    def add(self, spec: dict) -> Fault:
        """Validate the whole rule first, then add it: a bad rule raises ValueError and changes nothing."""
        if not isinstance(spec, dict):
            raise ValueError("a fault rule is a JSON object")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        allowed = set(Fault.__dataclass_fields__) - {"id", "fired"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        for name, (lo, hi, optional) in _INT_FIELDS.items():
            if name in spec:
                _check_int(name, spec[name], lo, hi, optional)
        for name in ("path", "method", "msg"):
            if spec.get(name) is not None and (not isinstance(spec[name], str) or len(spec[name]) > 500):
                raise ValueError(f"{name} must be a string (at most 500 characters)")
        f = Fault(**spec)
        if f.kind == "ambiguous" and f.mode not in ("drop", "503", "timeout"):
            raise ValueError("ambiguous mode must be drop, 503 or timeout")
        if f.kind == "kline_gap":
            if f.start_ms is None or f.end_ms is None or f.start_ms >= f.end_ms:
                raise ValueError("kline_gap needs start_ms < end_ms")
            if f.count is not None or f.path is not None or f.method is not None:
                raise ValueError("kline_gap is a hole in the klines data: no count, path or method")
        elif any(spec.get(k) is not None for k in _GAP_FIELDS):
            raise ValueError(f"{', '.join(_GAP_FIELDS)} belong to kline_gap rules only")
        f.id = next(_ids)
        self.rules.append(f)
        return f

    def clear(self) -> None:
        self.rules.clear()
        self.clock_skew_ms = 0

    def take(self, method: str, path: str) -> tuple[int, Fault | None]:
        """(total added latency, the first non-latency fault) for this request; consumes counts."""
        if not self.rules:
            return 0, None
        latency, chosen = 0, None
        for f in list(self.rules):
            if f.kind == "kline_gap" or not f.matches(method, path):
                continue
            if f.kind in _DELAYS:
                latency += f.latency_ms
            elif chosen is None:
                chosen = f
                latency += f.latency_ms
            else:
                continue
            f.fired += 1
            if f.count is not None:
                f.count -= 1
                if f.count <= 0:
                    self.rules.remove(f)
        return latency, chosen

    def kline_gaps(self, symbol: str) -> list[tuple[int, int]]:
        """[start_ms, end_ms) windows whose klines of `symbol` the venue withholds (kline_gap rules)."""
        return [(f.start_ms, f.end_ms) for f in self.rules if f.kind == "kline_gap"
                and f.start_ms is not None and f.end_ms is not None and f.symbol in (None, symbol)]

    def view(self) -> dict:
        return {"clock_skew_ms": self.clock_skew_ms, "rules": [asdict(f) for f in self.rules]}


def klines_with_gaps(series: Any, gaps: list[tuple[int, int]], interval_ms: int, start: int | None, end: int | None,
                     limit: int, now: int, align_ms: int) -> list:
    """`series.klines(...)` without the rows whose open time is in a withheld window; like Binance, the answer
    still holds up to `limit` rows: from `startTime` on when given, else the newest ones before `endTime`/now."""
    def keep(rows: list) -> list:
        return [r for r in rows if not any(a <= r[0] < b for a, b in gaps)]

    rows = series.klines(interval_ms, start, end, limit, now, align_ms=align_ms)
    out = keep(rows)
    if start is not None:
        while len(out) < limit and rows:
            asked = limit - len(out)
            rows = series.klines(interval_ms, rows[-1][0] + interval_ms, end, asked, now, align_ms=align_ms)
            out += keep(rows)[:asked]
    else:
        while len(out) < limit and rows:
            asked = limit - len(out)
            rows = series.klines(interval_ms, None, rows[0][0] - 1, asked, now, align_ms=align_ms)
            kept = keep(rows)
            out = (kept[-asked:] if kept else []) + out
    return out
