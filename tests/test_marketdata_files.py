"""marketdata.files: the real ../shared/data files, exact round trips, and loud failures on bad input."""
from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import json

import numpy as np
import pytest

from marketdata import files as mdf
from marketdata.files import (
    INTERVAL_MS,
    Funding,
    Klines,
    MarketDataError,
    find_shared_data,
    load_dataset,
    load_funding,
    load_klines,
    resample,
    write_funding,
    write_klines,
)

H = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC


def ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


def make_klines(n: int = 6, symbol: str = "BTCUSDT", interval: str = "1h", start: int = T0) -> Klines:
    """A small valid series: a random walk with highs/lows around open/close."""
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.random(n) * 0.01)
    low = np.minimum(open_, close) * (1 - rng.random(n) * 0.01)
    times = start + INTERVAL_MS[interval] * np.arange(n, dtype=np.int64)
    return Klines(symbol, interval, times, open_, high, low, close, rng.random(n) * 1000)


# ----------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def manifest(shared_data_dir):
    return json.loads((shared_data_dir / "manifest.json").read_text())


@pytest.mark.shared_data
def test_every_real_kline_file_loads_and_matches_the_manifest(shared_data_dir, manifest):
    paths = sorted((shared_data_dir / "klines").glob("*.csv.gz"))
    assert {p.name[: -len(".csv.gz")] for p in paths} == set(manifest["klines"])
    for p in paths:
        k = load_klines(p)
        entry = manifest["klines"][p.name[: -len(".csv.gz")]]
        assert (k.symbol, k.interval) == tuple(p.name[: -len(".csv.gz")].split("-"))
        assert len(k) == entry["rows"], p.name
        assert int(k.open_time_ms[0]) == entry["first_open_time_ms"], p.name
        assert int(k.open_time_ms[-1]) == entry["last_open_time_ms"], p.name
        assert k.open_time_ms.dtype == np.int64 and k.close.dtype == np.float64
        # the manifest says there are no gaps: the series is a full calendar
        assert np.all(np.diff(k.open_time_ms) == k.interval_ms), p.name
        assert int((k.volume == 0).sum()) == entry["zero_volume_bars"], p.name


@pytest.mark.shared_data
def test_every_real_funding_file_loads_on_the_8h_grid(shared_data_dir, manifest):
    paths = sorted((shared_data_dir / "funding").glob("*-funding.csv"))
    assert {p.name.split("-")[0] for p in paths} == set(manifest["funding"])
    for p in paths:
        f = load_funding(p)
        entry = manifest["funding"][f.symbol]
        assert len(f) == entry["rows"], p.name
        assert int(f.funding_time_ms[0]) == entry["first_ms"]
        assert int(f.funding_time_ms[-1]) == entry["last_ms"]
        assert np.all(f.funding_time_ms % (8 * H) == 0), f"{p.name}: funding off 00/08/16 UTC"
        assert float(f.funding_rate.min()) == entry["rate_min"]
        assert float(f.funding_rate.max()) == entry["rate_max"]


@pytest.mark.shared_data
def test_btc_launch_bar_and_known_values(shared_data_dir):
    k = load_klines(shared_data_dir / "klines" / "BTCUSDT-1h.csv.gz")
    assert int(k.open_time_ms[0]) == 1567962000000  # 2019-09-08 17:00 UTC, the USD-M listing
    assert (k.open[0], k.high[0], k.low[0], k.close[0]) == (10000.0, 10000.0, 10000.0, 10000.0)
    # the documented crash-hour low (SOURCES.md, "Extreme bars")
    i = int(np.searchsorted(k.open_time_ms, ms("2020-03-13 02:00")))
    assert k.low[i] == 3621.81
    f = load_funding(shared_data_dir / "funding" / "BTCUSDT-funding.csv")
    assert int(f.funding_time_ms[0]) == ms("2019-09-10 08:00")
    assert f.rate_at(ms("2019-09-10 07:59")) is None
    assert f.rate_at(ms("2019-09-10 08:00")) == 0.0001


@pytest.mark.shared_data
@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
def test_resample_15m_reproduces_real_1h_on_a_clean_stretch(shared_data_dir, symbol):
    # 2024-05-01 .. 2024-10-01 avoids every irregular hour listed in SOURCES.md (March and 2024-10-28).
    lo, hi = ms("2024-05-01 00:00"), ms("2024-10-01 00:00")
    fine = load_klines(shared_data_dir / "klines" / f"{symbol}-15m.csv.gz")
    hourly = load_klines(shared_data_dir / "klines" / f"{symbol}-1h.csv.gz")
    sel = (fine.open_time_ms >= lo) & (fine.open_time_ms < hi)
    i0 = int(np.argmax(sel))
    got = resample(fine.slice(i0, i0 + int(sel.sum())), "1h")
    j0 = int(np.searchsorted(hourly.open_time_ms, lo))
    want = hourly.slice(j0, j0 + len(got))
    assert len(got) == (hi - lo) // H
    np.testing.assert_array_equal(got.open_time_ms, want.open_time_ms)
    for col in ("open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(got, col), getattr(want, col), err_msg=col)
    np.testing.assert_allclose(got.volume, want.volume, rtol=1e-9)


@pytest.mark.shared_data
def test_resample_5m_reproduces_real_1h(shared_data_dir):
    lo, hi = ms("2025-03-01 00:00"), ms("2025-06-01 00:00")
    fine = load_klines(shared_data_dir / "klines" / "BTCUSDT-5m.csv.gz")
    hourly = load_klines(shared_data_dir / "klines" / "BTCUSDT-1h.csv.gz")
    i0, i1 = np.searchsorted(fine.open_time_ms, [lo, hi])
    got = resample(fine.slice(int(i0), int(i1)), "1h")
    j0 = int(np.searchsorted(hourly.open_time_ms, lo))
    want = hourly.slice(j0, j0 + len(got))
    assert len(got) == (hi - lo) // H
    for col in ("open_time_ms", "open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(got, col), getattr(want, col), err_msg=col)
    np.testing.assert_allclose(got.volume, want.volume, rtol=1e-9)


@pytest.mark.shared_data
def test_rewriting_real_files_is_byte_identical(shared_data_dir, tmp_path):
    src = shared_data_dir / "klines" / "BTCUSDT-1h.csv.gz"
    out = write_klines(load_klines(src), tmp_path)
    assert out == tmp_path / "klines" / "BTCUSDT-1h.csv.gz"
    assert gzip.decompress(out.read_bytes()) == gzip.decompress(src.read_bytes())
    fsrc = shared_data_dir / "funding" / "ETHUSDT-funding.csv"  # has rates like 4.037e-05
    fout = write_funding(load_funding(fsrc), tmp_path)
    assert fout.read_bytes() == fsrc.read_bytes()


@pytest.mark.shared_data
def test_load_dataset_on_the_real_directory(shared_data_dir):
    ds = load_dataset(shared_data_dir)
    assert len(ds) == 10 and list(ds) == sorted(ds)
    for sym, (k, f) in ds.items():
        assert k.symbol == sym and k.interval == "1h"
        assert f is not None and f.symbol == sym
    fine = load_dataset(shared_data_dir, interval="15m")
    assert list(fine) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    picked = load_dataset(shared_data_dir, symbols=["SOLUSDT", "BTCUSDT"], interval="5m")
    assert list(picked) == ["SOLUSDT", "BTCUSDT"]


def test_find_shared_data_honours_the_environment(tmp_path, monkeypatch):
    (tmp_path / "klines").mkdir()
    monkeypatch.setenv("HEDGE_SHARED_DATA", str(tmp_path))
    assert find_shared_data() == tmp_path
    monkeypatch.setenv("HEDGE_SHARED_DATA", str(tmp_path / "nowhere"))
    fallback = find_shared_data()  # falls back to <repo>/../shared/data when that exists
    assert fallback is None or (fallback / "klines").is_dir()


# ----------------------------------------------------------------------------- records


def test_interval_table():
    assert list(INTERVAL_MS) == ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]
    assert INTERVAL_MS["1m"] == 60_000 and INTERVAL_MS["1h"] == H and INTERVAL_MS["1d"] == 24 * H


def test_klines_record_behaviour():
    k = make_klines(10)
    assert len(k) == 10 and k.interval_ms == H
    part = k.slice(2, 5)
    assert len(part) == 3 and part.open_time_ms[0] == T0 + 2 * H
    assert np.shares_memory(part.close, k.close)  # a view, no copy
    assert k.slice(-2).open_time_ms[0] == k.open_time_ms[-2]
    assert len(k.slice(5, 2)) == 0
    df = k.to_frame()
    assert list(df.columns) == ["open_time_ms", "open", "high", "low", "close", "volume"]
    assert df["open_time_ms"].dtype == np.int64 and df["close"].dtype == np.float64
    df.loc[0, "close"] = -1.0  # a copy: the record is untouched
    assert k.close[0] > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        k.symbol = "ETHUSDT"  # type: ignore[misc]  # assigning to a frozen field is what the test checks
    with pytest.raises(ValueError):
        k.close[0] = 1.0  # arrays are read-only
    assert k == make_klines(10) and k != k.slice(0, 9)
    assert "BTCUSDT 1h, 10 bars" in repr(k)


def test_klines_constructor_coerces_and_checks_structure():
    k = Klines("X1", "5m", [0, 300_000], [1, 2], [1, 2], [1, 2], [1, 2], [0, 0])
    assert k.open_time_ms.dtype == np.int64 and k.volume.dtype == np.float64
    mine = np.array([1.0, 2.0])
    Klines("X1", "5m", [0, 300_000], mine, mine, mine, mine, mine)
    assert mine.flags.writeable  # the caller's array is not frozen behind their back
    with pytest.raises(MarketDataError, match="unknown interval"):
        Klines("X1", "7m", [0], [1], [1], [1], [1], [0])
    with pytest.raises(MarketDataError, match="differ in length"):
        Klines("X1", "1h", [0, H], [1], [1, 1], [1, 1], [1, 1], [0, 0])


def test_funding_rate_at():
    f = Funding("BTCUSDT", [T0, T0 + 8 * H, T0 + 16 * H], [0.0001, -0.0002, 0.0003])
    assert len(f) == 3
    assert f.rate_at(T0 - 1) is None
    assert f.rate_at(T0) == 0.0001
    assert f.rate_at(T0 + 8 * H - 1) == 0.0001
    assert f.rate_at(T0 + 8 * H) == -0.0002
    assert f.rate_at(T0 + 100 * H) == 0.0003
    assert isinstance(f.rate_at(T0), float)
    assert list(f.to_frame().columns) == ["funding_time_ms", "funding_rate"]


# ----------------------------------------------------------------------------- round trips


def test_write_load_round_trip_is_bit_exact(tmp_path):
    rng = np.random.default_rng(3)
    n = 2000
    # awkward floats: 17 significant digits, tiny and huge magnitudes, neighbours of round numbers
    base = rng.random(n) * 10.0 ** rng.integers(-6, 7, n)
    base[:10] = np.nextafter(np.array([0.1, 1.0, 10000.0, 1e-8, 3.0] * 2), np.inf)
    open_ = base * (1 + rng.random(n) * 1e-3)
    close = base * (1 + rng.random(n) * 1e-3)
    high = np.maximum(open_, close) * (1 + rng.random(n) * 1e-3)
    low = np.minimum(open_, close) * (1 - rng.random(n) * 1e-3)
    volume = rng.random(n) * 10.0 ** rng.integers(-3, 9, n)
    volume[:3] = 0.0
    k = Klines("ETHUSDT", "5m", T0 + 300_000 * np.arange(n), open_, high, low, close, volume)
    path = write_klines(k, tmp_path)
    back = load_klines(path)
    assert back == k
    for col in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(back, col).view(np.int64), getattr(k, col).view(np.int64)), col
    with gzip.open(path, "rt") as fh:
        assert fh.readline() == "open_time_ms,open,high,low,close,volume\n"

    f = Funding("ETHUSDT", T0 + 8 * H * np.arange(500), rng.normal(0, 3e-4, 500))
    fpath = write_funding(f, tmp_path)
    assert fpath == tmp_path / "funding" / "ETHUSDT-funding.csv"
    assert load_funding(fpath) == f
    assert fpath.read_text().splitlines()[0] == "funding_time_ms,funding_rate"


def test_writes_are_atomic_and_deterministic(tmp_path, monkeypatch):
    k = make_klines(50)
    path = write_klines(k, tmp_path)
    first = path.read_bytes()
    assert write_klines(k, tmp_path).read_bytes() == first  # gzip mtime pinned: same data, same bytes
    assert sorted(p.name for p in path.parent.iterdir()) == ["BTCUSDT-1h.csv.gz"]
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(mdf.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_klines(make_klines(60), tmp_path)
    monkeypatch.undo()
    assert path.read_bytes() == first  # the old file survives a failed write
    assert sorted(p.name for p in path.parent.iterdir()) == ["BTCUSDT-1h.csv.gz"]  # no temp left behind


def test_write_refuses_data_it_could_not_load(tmp_path):
    k = make_klines(5)
    bad = Klines(k.symbol, k.interval, k.open_time_ms, k.open, k.low, k.high, k.close, k.volume)  # high/low swapped
    with pytest.raises(MarketDataError, match="high .* < low"):
        write_klines(bad, tmp_path)
    with pytest.raises(MarketDataError, match="cannot be used in a file name"):
        write_klines(dataclasses.replace(k, symbol="../evil"), tmp_path)
    assert not (tmp_path / "klines").exists() or not any((tmp_path / "klines").iterdir())


def test_plain_csv_klines_load_too(tmp_path):
    k = make_klines(4, symbol="SOLUSDT", interval="15m")
    gz = write_klines(k, tmp_path)
    plain = gz.with_name("SOLUSDT-15m.csv")
    plain.write_bytes(gzip.decompress(gz.read_bytes()))
    gz.unlink()
    assert load_klines(plain) == k
    assert load_dataset(tmp_path, interval="15m")["SOLUSDT"] == (k, None)


# ----------------------------------------------------------------------------- malformed input

HEADER = "open_time_ms,open,high,low,close,volume\n"
GOOD_ROWS = [
    f"{T0},100.0,101.0,99.0,100.5,10.0\n",
    f"{T0 + H},100.5,102.0,100.0,101.0,12.5\n",
    f"{T0 + 2 * H},101.0,101.5,100.2,100.8,9.0\n",
]


def rows_with(line: int, row: str) -> str:
    """The good file with data line `line` (header = 1) replaced."""
    rows = list(GOOD_ROWS)
    rows[line - 2] = row
    return HEADER + "".join(rows)


KLINE_CASES = {
    "bad header": ("open_time,open,high,low,close,volume\n" + "".join(GOOD_ROWS), "line 1: header"),
    "missing column": ("open_time_ms,open,high,low,close\n" + "".join(GOOD_ROWS), "line 1: header"),
    "nan price": (rows_with(3, f"{T0 + H},100.5,NaN,100.0,101.0,12.5\n"), "line 3: high is nan"),
    "empty price cell": (rows_with(3, f"{T0 + H},100.5,,100.0,101.0,12.5\n"), "line 3"),
    "inf volume": (rows_with(4, f"{T0 + 2 * H},101.0,101.5,100.2,100.8,inf\n"), "line 4: volume is inf"),
    "decreasing time": (rows_with(4, f"{T0 - H},101.0,101.5,100.2,100.8,9.0\n"), "line 4: decreasing"),
    "duplicate time": (rows_with(3, f"{T0},100.5,102.0,100.0,101.0,12.5\n"), "line 3: duplicate"),
    "misaligned time": (rows_with(3, f"{T0 + H + 1000},100.5,102.0,100.0,101.0,12.5\n"), "line 3: open_time_ms .* not aligned"),
    "high below low": (rows_with(3, f"{T0 + H},100.5,99.0,100.0,99.5,12.5\n"), "line 3: high 99.0 < low 100.0"),
    "high below close": (rows_with(2, f"{T0},100.0,100.2,99.0,100.5,10.0\n"), r"line 2: high 100.2 < max\(open"),
    "low above open": (rows_with(2, f"{T0},100.0,101.0,100.1,100.5,10.0\n"), r"line 2: low 100.1 > min\(open"),
    "zero price": (rows_with(4, f"{T0 + 2 * H},101.0,101.5,0.0,100.8,9.0\n"), "line 4: low 0.0 is not positive"),
    "negative volume": (rows_with(4, f"{T0 + 2 * H},101.0,101.5,100.2,100.8,-1.0\n"), "line 4: volume -1.0 is negative"),
    "non-numeric price": (rows_with(3, f"{T0 + H},100.5,abc,100.0,101.0,12.5\n"), "line 3: high 'abc' is not a number"),
    "non-numeric time": (rows_with(4, "yesterday,101.0,101.5,100.2,100.8,9.0\n"), "line 4: open_time_ms 'yesterday'"),
    "fractional time": (rows_with(2, f"{T0}.5,100.0,101.0,99.0,100.5,10.0\n"), "line 2: open_time_ms '.*\\.5' is not an integer"),
    "too many fields": (rows_with(3, f"{T0 + H},100.5,102.0,100.0,101.0,12.5,7\n"), "malformed CSV"),
    "blank line inside": (rows_with(3, "\n"), "line 3"),
    "header only": (HEADER, "no rows"),
    "empty file": ("", "empty file"),
}


@pytest.mark.parametrize("case", sorted(KLINE_CASES))
def test_malformed_kline_file_raises_with_file_and_line(tmp_path, case):
    text, pattern = KLINE_CASES[case]
    path = tmp_path / "BTCUSDT-1h.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(MarketDataError, match=pattern) as err:
        load_klines(path)
    assert "BTCUSDT-1h.csv.gz" in str(err.value)


def test_truncated_and_non_gzip_files_raise(tmp_path):
    big = make_klines(3000)
    good = write_klines(big, tmp_path)
    data = good.read_bytes()
    truncated = tmp_path / "ETHUSDT-1h.csv.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(MarketDataError, match="ETHUSDT-1h.csv.gz.*cannot read"):
        load_klines(truncated)
    tiny = tmp_path / "SOLUSDT-1h.csv.gz"
    tiny.write_bytes(data[:15])  # not even the header survives
    with pytest.raises(MarketDataError, match="SOLUSDT-1h.csv.gz"):
        load_klines(tiny)
    plain = tmp_path / "XRPUSDT-1h.csv.gz"
    plain.write_bytes(gzip.decompress(data))  # a .gz name on plain text
    with pytest.raises(MarketDataError, match="XRPUSDT-1h.csv.gz.*cannot read"):
        load_klines(plain)


@pytest.mark.parametrize("name", ["BTCUSDT_1h.csv.gz", "BTCUSDT-7m.csv.gz", "btcusdt-1h.csv.gz", "BTCUSDT-1h.txt"])
def test_bad_kline_file_names(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(gzip.compress((HEADER + "".join(GOOD_ROWS)).encode()))
    with pytest.raises(MarketDataError, match=name.replace(".", r"\.")):
        load_klines(path)


FUNDING_CASES = {
    "bad header": ("fundingTime,fundingRate\n1,0.1\n", "line 1: header"),
    "duplicate time": (f"funding_time_ms,funding_rate\n{T0},0.0001\n{T0},0.0002\n", "line 3: duplicate"),
    "decreasing time": (f"funding_time_ms,funding_rate\n{T0},0.0001\n{T0 - 8 * H},0.0002\n", "line 3: decreasing"),
    "nan rate": (f"funding_time_ms,funding_rate\n{T0},0.0001\n{T0 + 8 * H},nan\n", "line 3: funding_rate is nan"),
    "non-numeric rate": (f"funding_time_ms,funding_rate\n{T0},0.01%\n", "line 2: funding_rate '0.01%'"),
    "empty file": ("", "empty file"),
}


@pytest.mark.parametrize("case", sorted(FUNDING_CASES))
def test_malformed_funding_file_raises_with_file_and_line(tmp_path, case):
    text, pattern = FUNDING_CASES[case]
    path = tmp_path / "BTCUSDT-funding.csv"
    path.write_text(text)
    with pytest.raises(MarketDataError, match=pattern) as err:
        load_funding(path)
    assert "BTCUSDT-funding.csv" in str(err.value)


def test_load_dataset_errors_and_missing_funding(tmp_path):
    with pytest.raises(MarketDataError, match="no klines/ directory"):
        load_dataset(tmp_path)
    write_klines(make_klines(5, "BTCUSDT"), tmp_path)
    write_klines(make_klines(5, "ETHUSDT"), tmp_path)
    write_funding(Funding("BTCUSDT", [T0], [0.0001]), tmp_path)
    ds = load_dataset(tmp_path)
    assert list(ds) == ["BTCUSDT", "ETHUSDT"]
    assert ds["BTCUSDT"][1] is not None and ds["ETHUSDT"][1] is None
    with pytest.raises(MarketDataError, match="no SOLUSDT-1h"):
        load_dataset(tmp_path, symbols=["BTCUSDT", "SOLUSDT"])
    assert load_dataset(tmp_path, interval="4h") == {}
    with pytest.raises(MarketDataError, match="unknown interval"):
        load_dataset(tmp_path, interval="2d")


# ----------------------------------------------------------------------------- resample


def test_resample_aggregates_and_drops_incomplete_buckets():
    # 5m bars from 00:50 to 02:10 with 01:30 missing: only the 01:00 bucket... is incomplete too.
    times = np.arange(ms("2024-01-01 00:50"), ms("2024-01-01 02:15"), 300_000)
    times = times[times != ms("2024-01-01 01:30")]
    n = len(times)
    close = 100 + np.arange(n, dtype=float)
    k = Klines("BTCUSDT", "5m", times, close - 0.5, close + 1, close - 1, close, np.ones(n))
    assert len(resample(k, "1h")) == 0  # 00:00 starts late, 01:00 has a hole, 02:00 ends early

    full = make_klines(24 * 12 + 7, interval="5m", start=ms("2024-03-01 00:00") - 2 * 300_000)
    hourly = resample(full, "1h")
    assert len(hourly) == 24 and hourly.interval == "1h"
    assert hourly.open_time_ms[0] == ms("2024-03-01 00:00")
    i = 2 + 12 * 5  # the 05:00 bucket in the source
    assert hourly.open[5] == full.open[i]
    assert hourly.close[5] == full.close[i + 11]
    assert hourly.high[5] == full.high[i : i + 12].max()
    assert hourly.low[5] == full.low[i : i + 12].min()
    assert hourly.volume[5] == pytest.approx(full.volume[i : i + 12].sum(), rel=1e-12)
    mdf.validate_klines(hourly)

    daily = resample(make_klines(24 * 3, start=ms("2024-03-01 00:00")), "1d")
    assert list(daily.open_time_ms) == [ms("2024-03-01"), ms("2024-03-02"), ms("2024-03-03")]
    eight = resample(make_klines(24, start=ms("2024-03-01 00:00")), "8h")
    assert [dt.datetime.fromtimestamp(t / 1000, dt.UTC).hour for t in eight.open_time_ms] == [0, 8, 16]


def test_resample_rejects_finer_or_non_multiple_intervals():
    k = make_klines(12, interval="1h")
    assert resample(k, "1h") is k
    with pytest.raises(MarketDataError, match="cannot resample 1h to 5m"):
        resample(k, "5m")
    with pytest.raises(MarketDataError, match="cannot resample 3m to 5m"):
        resample(make_klines(10, interval="3m"), "5m")
    with pytest.raises(MarketDataError, match="unknown interval"):
        resample(k, "1w")
