"""How the venue advances its clock: the indexed advance is the full pass, only cheaper.

Every advance's result is defined by the full pass over every active symbol (`Engine(eager=True)`, the
`--full-advance` flag). The default advance skips symbols a bound proves idle. These tests check that the
skipping is invisible (in-process, on random volatile scenarios, every piece of state compared after every
operation; and over HTTP against a `--full-advance` venue), that fills and funding do not depend on which
symbols are queried or when, and that the cost of a request does not grow with the number of symbols.
"""
from __future__ import annotations

import json
import random
import time
from decimal import Decimal as D

import numpy as np
import pytest
from binance.exceptions import BinanceAPIException

from tests.plugins.venue import REPO_ROOT, write_dataset
from venue.book import BookModel
from venue.engine import Engine
from venue.errors import VenueError
from venue.filters import SymbolSpec
from venue.replay import Market, MarketClock, Series

H = 3_600_000
T0 = 1_704_067_200_000                     # 2024-01-01 00:00 UTC
KEY = "k"
XINFO = {s["symbol"]: s for s in json.loads((REPO_ROOT / "venue" / "exchange_info_default.json").read_text())["symbols"]}


# ------------------------------------------------------------------------------------------- in-process

class ArraySource:
    def __init__(self, series: dict[str, Series]):
        self.series = series

    def symbols(self):
        return list(self.series)

    def load(self, symbol):
        return self.series[symbol]


def volatile_series(symbol: str, price: float, seed: int, bars: int = 120, funding: str = "grid") -> Series:
    """Hourly bars with wide ranges (liquidations happen), the occasional gap between close and next open."""
    rng = np.random.default_rng(seed)
    o = np.empty(bars)
    c = np.empty(bars)
    p = price
    for i in range(bars):
        o[i] = p * (1 + (rng.normal(0, 0.004) if rng.random() < 0.2 else 0.0))      # a gap now and then
        c[i] = o[i] * (1 + rng.normal(0, 0.02))
        p = c[i]
    h = np.maximum(o, c) * (1 + rng.uniform(0, 0.015, bars))
    l = np.minimum(o, c) * (1 - rng.uniform(0, 0.015, bars))
    t = T0 + np.arange(bars, dtype=np.int64) * H
    if funding == "grid":                   # no data: the 8 h grid at the default rate
        ft, fr = np.zeros(0, np.int64), np.zeros(0)
    elif funding == "odd":                  # data a few ms off the grid, plus 4 h events, then the grid
        ft = np.array(sorted({T0 + k * 8 * H + 7 for k in range(8)} | {T0 + 4 * H + k * 8 * H for k in range(6)}),
                      dtype=np.int64)
        fr = rng.normal(0, 0.0008, len(ft))
    else:                                   # data on the grid, big rates
        ft = T0 + np.arange(1, bars // 8, dtype=np.int64) * 8 * H
        fr = rng.normal(0, 0.001, len(ft))
    return Series(symbol, H, t, o, h, l, c, np.full(bars, 100.0), ft, fr)


SYMS = {"BTCUSDT": 50_000.0, "ETHUSDT": 2_500.0, "SOLUSDT": 150.0, "BNBUSDT": 600.0}


def make_engines(seed: int, balance: str):
    series = {s: volatile_series(s, p, seed * 10 + i, funding=("grid", "odd", "data", "data")[i])
              for i, (s, p) in enumerate(SYMS.items())}
    specs = {s: SymbolSpec.from_exchange_info(XINFO[s]) for s in SYMS}
    out = []
    for eager in (True, False):
        clock = MarketClock(T0 + 2 * H, paused=True)
        e = Engine(specs, Market(ArraySource(series), clock, list(SYMS)), BookModel(), eager=eager)
        e.add_account(KEY, "secret", D(balance))
        out.append(e)
    return out


def snapshot(e: Engine) -> dict:
    """Everything a client could ever observe, and more."""
    a = e.accounts[KEY]
    summary = e.summary(a)
    return {
        "last_sync": e.last_sync, "wallet": a.wallet, "dual": a.dual, "update": a.update_time,
        "positions": [(k, p.amt, p.entry, p.isolated_wallet, p.update_time) for k, p in a.positions.items()],
        "settings": {k: (v.leverage, v.margin_type) for k, v in a.settings.items()},
        "orders": {k: (o.status, o.executed, o.cum_quote, o.update_time, o.reserved_margin, o.price, o.qty)
                   for k, o in a.orders.items()},
        "open": list(a.open_orders), "open_algo": list(a.open_algo),
        "algo": {k: (x.status, x.trigger_time, x.actual_order_id, x.actual_price, x.update_time)
                 for k, x in a.algo.items()},
        "trades": {k: list(v) for k, v in a.trades.items()}, "income": list(a.income),
        "stats": e.stats.view(), "summary": summary,
        "reserved_total": round(a.open_orders.reserved_total, 6),
    }


class Script:
    """Random operations applied identically to both engines; results compared after each one."""

    def __init__(self, engines, seed):
        self.engines = engines
        self.r = random.Random(seed)
        self.n = 0

    def call(self, fn_name, params=None, *, acct=True):
        results = []
        for e in self.engines:
            fn = getattr(e, fn_name)
            try:
                res = fn(e.accounts[KEY], dict(params or {})) if acct else fn(**(params or {}))
                results.append(("ok", res))
            except VenueError as err:
                results.append(("err", err.code))
        assert results[0] == results[1], (fn_name, params, results)
        return results[0]

    def setup(self):
        """Two isolated symbols, high leverage everywhere: liquidations of both kinds happen."""
        for sym in ("SOLUSDT", "BNBUSDT"):
            self.call("set_margin_type", {"symbol": sym, "marginType": "ISOLATED"})
        for sym in SYMS:
            self.call("set_leverage", {"symbol": sym, "leverage": str(self.r.choice([10, 25, 50]))})

    def mark(self, sym):
        return self.engines[0].mark(sym)

    def qty(self, sym, notional):
        spec = self.engines[0].specs[sym]
        q = (D(notional) / self.mark(sym) / spec.step).to_integral_value() * spec.step
        return spec.qty(max(q, spec.min_qty))

    def price(self, sym, factor):
        spec = self.engines[0].specs[sym]
        return spec.px(spec.round_price(self.mark(sym) * D(repr(factor))))

    def cid(self):
        self.n += 1
        return f"c{self.n}"

    def step(self):
        r = self.r
        kind = r.random()
        if kind < 0.55:
            ms = r.randrange(1, 12 * 60_000)                     # inside the hour mostly: the indexed path
        elif kind < 0.8:
            ms = r.randrange(1, 3 * H)
        elif kind < 0.9:
            now = self.engines[0].market.clock.now_ms()          # onto an hour / funding boundary exactly
            grid = 8 * H if r.random() < 0.5 else H
            ms = (now // grid + 1) * grid - now
        else:
            ms = r.randrange(1, 20 * H)
        for e in self.engines:
            e.market.clock.step(ms)
            e.sync(e.market.clock.now_ms())

    def op(self):
        r = self.r
        sym = r.choice(list(SYMS))
        x = r.random()
        side = r.choice(["BUY", "SELL"])
        dual = self.engines[0].accounts[KEY].dual
        pside = {}
        if dual:
            pside = {"positionSide": r.choice(["LONG", "SHORT"])}
        if x < 0.22:
            p = {"symbol": sym, "side": side, "type": "MARKET", "quantity": self.qty(sym, r.choice([150, 400, 1500, 6000])),
                 "newClientOrderId": self.cid(), "newOrderRespType": "RESULT", **pside}
            if not dual and r.random() < 0.2:
                p["reduceOnly"] = "true"
            self.call("place_order", p)
        elif x < 0.45:
            f = 1 + (r.uniform(-0.03, 0.004) if side == "BUY" else r.uniform(-0.004, 0.03))
            p = {"symbol": sym, "side": side, "type": "LIMIT", "quantity": self.qty(sym, r.choice([150, 800, 3000])),
                 "price": self.price(sym, f), "timeInForce": r.choice(["GTC", "GTC", "GTC", "IOC", "GTX"]),
                 "newClientOrderId": self.cid(), **pside}
            self.call("place_order", p)
        elif x < 0.57:
            otype = r.choice(["STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT"])
            above = (side == "BUY") == otype.startswith("STOP")
            trig = self.price(sym, 1 + r.uniform(0.002, 0.03) * (1 if above else -1))
            p = {"algoType": "CONDITIONAL", "symbol": sym, "side": side, "type": otype, "triggerPrice": trig,
                 "clientAlgoId": self.cid(), **pside}
            if otype in ("STOP", "TAKE_PROFIT"):
                p["price"] = self.price(sym, 1 + r.uniform(-0.02, 0.02))
            if r.random() < 0.4:
                p["closePosition"] = "true"
            else:
                p["quantity"] = self.qty(sym, r.choice([150, 1000]))
                if not dual and r.random() < 0.5:
                    p["reduceOnly"] = "true"
            self.call("place_algo", p)
        elif x < 0.65:
            acct = self.engines[0].accounts[KEY]
            if acct.open_orders and r.random() < 0.6:
                o = acct.open_orders[r.choice(list(acct.open_orders))]
                self.call("cancel_order", {"symbol": o.symbol, "orderId": str(o.order_id)})
            elif acct.open_algo:
                self.call("cancel_algo", {"algoId": str(r.choice(list(acct.open_algo)))})
        elif x < 0.70:
            self.call("set_leverage", {"symbol": sym, "leverage": str(r.choice([2, 5, 10, 20, 50, 125]))})
        elif x < 0.73:
            self.call("set_margin_type", {"symbol": sym, "marginType": r.choice(["ISOLATED", "CROSSED"])})
        elif x < 0.74:
            self.call("cancel_all", {"symbol": sym})
        elif x < 0.75:
            self.call("set_position_mode", {"dualSidePosition": r.choice(["true", "false"])})
        elif x < 0.76:
            amount = D(r.choice(["50", "500"]))
            for e in self.engines:
                e.deposit(e.accounts[KEY], amount)
        else:
            self.step()


@pytest.mark.parametrize("seed", range(24))
def test_indexed_advance_equals_the_full_pass(seed):
    balance = ["1500", "4000", "20000"][seed % 3]
    engines = make_engines(seed, balance)
    s = Script(engines, seed)
    s.setup()
    for i in range(260):
        s.op()
        a, b = snapshot(engines[0]), snapshot(engines[1])
        assert a == b, f"seed {seed}, op {i}: " + ", ".join(k for k in a if a[k] != b[k])


def test_the_random_scenarios_exercise_everything():
    """The equality above means something only if fills, triggers, funding and both kinds of liquidation
    happen along the way (and the indexed path is actually taken)."""
    totals = {"fills": 0, "funding": 0, "liq_iso": 0, "liq_cross": 0, "triggered": 0, "fast_steps": 0}
    for seed in range(12):
        balance = ["1500", "4000", "20000"][seed % 3]
        engines = make_engines(seed, balance)
        fast = engines[1]
        calls = {"n": 0}
        orig = fast._build_cell

        def counting(k, orig=orig, calls=calls):
            calls["n"] += 1
            return orig(k)
        fast._build_cell = counting
        s = Script(engines, seed)
        s.setup()
        for _ in range(260):
            s.op()
        st = fast.stats.view()
        totals["fills"] += st["fills"]
        totals["funding"] += st["funding_events"]
        totals["liq_iso"] += sum(1 for x in fast.stats.liquidations if x["marginType"] == "ISOLATED")
        totals["liq_cross"] += sum(1 for x in fast.stats.liquidations if x["marginType"] == "CROSSED")
        totals["triggered"] += sum(1 for a in fast.accounts[KEY].algo.values() if a.trigger_time)
        totals["fast_steps"] += calls["n"]
    assert all(v >= 5 for v in totals.values()), totals


def many_symbol_engine(n: int, eager: bool) -> tuple[Engine, list[str]]:
    """n clones of ETHUSDT, each with a long position and a resting buy 4 % below the market."""
    base = XINFO["ETHUSDT"]
    names = [f"S{i:03d}USDT" for i in range(n)]
    specs = {s: SymbolSpec.from_exchange_info(dict(base, symbol=s)) for s in names}
    bars = 48
    t = T0 + np.arange(bars, dtype=np.int64) * H
    series = {}
    for i, s in enumerate(names):          # calm: +-0.1 % a bar, nothing comes near the resting orders
        mid = np.full(bars, 2_000.0 + 10 * i)
        series[s] = Series(s, H, t, mid, mid * 1.001, mid * 0.999, mid.copy(), np.full(bars, 100.0),
                           np.zeros(0, np.int64), np.zeros(0))
    clock = MarketClock(T0 + 2 * H + 60_000, paused=True)
    e = Engine(specs, Market(ArraySource(series), clock, names), BookModel(), eager=eager)
    acct = e.add_account(KEY, "secret", D(10_000_000))
    for i, s in enumerate(names):
        e.place_order(acct, {"symbol": s, "side": "BUY", "type": "MARKET", "quantity": "0.100",
                             "newClientOrderId": f"m{i}"})
        px = e.specs[s].px(e.specs[s].round_price(e.mark(s) * D("0.96")))
        e.place_order(acct, {"symbol": s, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.100",
                             "price": px, "newClientOrderId": f"l{i}"})
    return e, names


@pytest.mark.parametrize("eager", [False, True])
def test_request_cost_does_not_grow_with_symbols(eager, monkeypatch):
    """A MARKET order with the clock moving: path queries made by the advance and the margin check. The
    indexed advance makes a handful whatever the symbol count; the full pass one or more per symbol."""
    counts = {}
    for n in (10, 200):
        e, names = many_symbol_engine(n, eager)
        acct = e.accounts[KEY]
        e.market.clock.step(1_000)
        e.sync(e.now())                     # builds the hour's bounds (once per market hour)
        calls = {"n": 0}
        for name in ("range_between", "first_cross", "price_at", "funding_events"):
            orig = getattr(Series, name)

            def wrapped(self, *a, _orig=orig, _calls=calls, **kw):
                _calls["n"] += 1
                return _orig(self, *a, **kw)
            monkeypatch.setattr(Series, name, wrapped)
        for i in range(20):
            e.market.clock.step(1_000)      # speed 60 with a request every ~17 ms wall: ~1 market s apart
            e.place_order(acct, {"symbol": names[0], "side": "BUY" if i % 2 else "SELL", "type": "MARKET",
                                 "quantity": "0.020", "newClientOrderId": f"x{i}"})
        monkeypatch.undo()
        counts[n] = calls["n"] / 20
    if eager:
        assert counts[200] > 10 * counts[10]
    else:
        assert counts[200] == counts[10] <= 4, counts


# ------------------------------------------------------------------------------------------- over HTTP

BTC, ETH = "BTCUSDT", "ETHUSDT"
START = T0 + 6 * H
FUNDING = {T0 + 8 * H: 0.0001, T0 + 16 * H: -0.0002, T0 + 24 * H: 0.0003, T0 + 32 * H: 0.0001}


def btc_bars():
    bars = []
    for i in range(72):
        t = T0 + i * H
        if i == 10:        # dips: O 50000 -> H 50100 (10:20) -> L 49000 (10:40) -> C 49500
            bars.append((t, 50000.0, 50100.0, 49000.0, 49500.0, 500.0))
        elif i == 20:      # crash: O -> H 50050 -> L 47000 -> C 48000
            bars.append((t, 50000.0, 50050.0, 47000.0, 48000.0, 900.0))
        else:
            bars.append((t, 50000.0, 50000.0, 50000.0, 50000.0, 100.0))
    return bars


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("venue-advance"), klines={
        BTC: btc_bars(),
        ETH: [(T0 + i * H, 2500.0, 2500.0, 2500.0, 2500.0, 1000.0) for i in range(72)],
    }, funding={BTC: sorted(FUNDING.items()), ETH: sorted(FUNDING.items())})


@pytest.fixture(scope="module")
def pair(data, venue_factory):
    """The indexed venue and the full-advance reference on the same data."""
    return (venue_factory(data=data, start=START, paused=True),
            venue_factory(data=data, start=START, paused=True, extra=["--full-advance"]))


CROSS_T = T0 + 10 * H + 20 * 60_000 + 654_546        # 49500 traded through on the way 50100 -> 49000


def test_a_resting_order_fills_at_its_crossing_while_another_symbol_is_queried(pair):
    v = pair[0]
    v.reset(paused=True)
    c = v.client()
    o = c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010",
                               price="49500.0", newClientOrderId="rest-a")
    c.futures_create_order(symbol=ETH, side="BUY", type="MARKET", quantity="0.100")
    t = START
    while t < T0 + 12 * H:                 # 7-minute steps, only ETH is looked at
        t += 7 * 60_000
        v.clock(to_ms=t)
        assert c.futures_position_information(symbol=ETH)[0]["positionAmt"] == "0.100"
        if t >= CROSS_T:
            assert v.stats()["fills"] == 2   # (admin stats do not advance anything themselves)
    got = c.futures_get_order(symbol=BTC, orderId=o["orderId"])
    assert got["status"] == "FILLED" and got["updateTime"] == CROSS_T
    (trade,) = c.futures_account_trades(symbol=BTC)
    assert trade["time"] == CROSS_T and trade["price"] == "49500.0" and trade["maker"] is True


def test_the_ticker_fills_at_the_exact_crossing_without_any_request(pair):
    v = pair[0]
    v.reset(paused=True, start_ms=T0 + 10 * H)
    c = v.client()
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010",
                           price="49500.0", newClientOrderId="rest-t")
    v.clock(speed=7200, resume=True)        # 2 market hours per wall second, ticks ~12 market minutes apart
    deadline = time.monotonic() + 5
    while v.stats()["fills"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    v.clock(pause=True, speed=1)
    assert v.stats()["fills"] == 1
    (trade,) = c.futures_account_trades(symbol=BTC)
    assert trade["time"] == CROSS_T and trade["price"] == "49500.0"


def _funding_script(v, pattern: str) -> list:
    v.reset(paused=True)
    c = v.client()
    c.futures_create_order(symbol=ETH, side="SELL", type="MARKET", quantity="1.000")
    # BTC has no position until this fills at 10:30:54, inside the same step as the 16:00 and 24:00
    # fundings in the one-step pattern: the new position pays both all the same
    c.futures_create_order(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010",
                           price="49500.0", newClientOrderId="f-rest")
    end = T0 + 26 * H
    if pattern == "one step":
        v.clock(to_ms=end)
    elif pattern == "eth only":
        t = START
        while t < end:
            t = min(end, t + 37 * 60_000)
            v.clock(to_ms=t)
            c.futures_get_open_orders(symbol=ETH)
    elif pattern == "on the boundaries":
        for t in (T0 + 8 * H, T0 + 8 * H, T0 + 16 * H - 1, T0 + 16 * H, T0 + 24 * H, end):
            v.clock(to_ms=t)
            c.futures_position_information(symbol=BTC)
            c.futures_account_balance()
    elif pattern == "ticker":
        v.clock(speed=36_000, resume=True)   # 10 market hours per wall second, no requests
        while v.market_time_ms() < end:
            time.sleep(0.05)
        v.clock(pause=True, speed=1)
    rows = c.futures_income_history(incomeType="FUNDING_FEE", limit=1000)
    # (the ticker pattern may overshoot `end`: later funding times are not part of the comparison)
    return sorted((r["symbol"], r["time"], r["income"]) for r in rows if r["time"] <= end)


def test_funding_settles_exactly_once_per_boundary_whatever_the_requests(pair):
    v = pair[0]
    results = {p: _funding_script(v, p) for p in ("one step", "eth only", "on the boundaries", "ticker")}
    expected = sorted([
        (ETH, T0 + 8 * H, "0.25000000"),                                         # short 1 x 2500 x 1e-4
        (BTC, T0 + 16 * H, "0.10000000"), (ETH, T0 + 16 * H, "-0.50000000"),     # 0.01 x 50000 x -2e-4
        (BTC, T0 + 24 * H, "-0.15000000"), (ETH, T0 + 24 * H, "0.75000000"),
    ])
    for pattern, rows in results.items():
        assert rows == expected, pattern
    ref = _funding_script(pair[1], "eth only")
    assert ref == expected


def _reads(c) -> dict:
    out = {
        "balance": c.futures_account_balance(), "account2": c.futures_account(version=2),
        "account3": c.futures_account(version=3), "risk2": c.futures_position_information(version=2),
        "risk3": c.futures_position_information(), "open": c.futures_get_open_orders(),
        "algo_open": c.futures_get_open_orders(conditional=True),
        "income": c.futures_income_history(limit=1000),
    }
    for sym in (BTC, ETH):
        out[f"orders {sym}"] = c.futures_get_all_orders(symbol=sym)
        out[f"trades {sym}"] = c.futures_account_trades(symbol=sym)
        out[f"algos {sym}"] = c.futures_get_all_orders(symbol=sym, conditional=True)
    return out


@pytest.mark.parametrize("balance,margin", [(10_000, "CROSSED"), (400, "CROSSED"), (10_000, "ISOLATED")])
def test_account_reads_equal_the_full_advance_reference(data, venue_factory, balance, margin):
    """The same script against the indexed venue and a --full-advance venue: every read is identical,
    through fills, a triggered stop, a triggered stop-limit that rests and fills, funding and (with 400
    USDT) a cross liquidation or (isolated, 20x) an isolated one."""
    pair = (venue_factory(data=data, start=START, paused=True, balance=balance),      # fresh: same ids
            venue_factory(data=data, start=START, paused=True, balance=balance, extra=["--full-advance"]))
    reads = []
    for v in pair:
        c = v.client()
        answers = []

        def attempt(_c=c, _answers=answers, **kw):
            try:
                _answers.append(_c.futures_create_order(**kw))
            except BinanceAPIException as e:
                _answers.append(e.code)
        if margin == "ISOLATED":
            c.futures_change_margin_type(symbol=BTC, marginType="ISOLATED")
        attempt(symbol=BTC, side="BUY", type="MARKET", quantity="0.100", newClientOrderId="b1")
        attempt(symbol=ETH, side="SELL", type="MARKET", quantity="1.000", newClientOrderId="e1")
        attempt(symbol=BTC, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.010", price="49500.0",
                newClientOrderId="b2")
        attempt(symbol=ETH, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.100", price="2400.00",
                newClientOrderId="e2")
        attempt(symbol=BTC, side="SELL", type="STOP_MARKET", stopPrice="49050.0", quantity="0.010",
                reduceOnly="true", clientAlgoId="sl1")
        # buy stop-limit: fires on the way up to 50100 (10:20), rests at 49800, filled on the way down
        attempt(symbol=BTC, side="BUY", type="STOP", stopPrice="50050.0", price="49800.0", quantity="0.010",
                timeInForce="GTC", clientAlgoId="sl2")
        snaps = [answers, _reads(c)]
        for t in (T0 + 9 * H, T0 + 10 * H + 30 * 60_000, T0 + 11 * H, T0 + 16 * H, T0 + 20 * H + 50 * 60_000,
                  T0 + 21 * H, T0 + 30 * H):
            v.clock(to_ms=t)
            c.futures_mark_price(symbol=ETH)
            snaps.append(_reads(c))
        reads.append(snaps)
    assert reads[0] == reads[1]
    last = reads[0][-1]
    liquidations = pair[0].stats()["liquidation_events"]
    assert {x["marginType"] for x in liquidations} == (set() if balance == 10_000 and margin == "CROSSED"
                                                       else {margin})
    stop_limit = [a for a in last[f"algos {BTC}"] if a["clientAlgoId"] == "sl2"][0]
    filled = [o for o in last[f"orders {BTC}"] if o["orderId"] == int(stop_limit["actualOrderId"])][0]
    assert filled["status"] == "FILLED" and filled["updateTime"] < T0 + 11 * H   # within the same step
