"""marketdata.synthetic: determinism, OHLC consistency and the stylised facts of crypto returns."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from marketdata.files import INTERVAL_MS, Funding, MarketDataError, load_dataset, load_klines, resample, validate_klines
from marketdata.synthetic import (
    DEFAULT_SYMBOLS,
    SYMBOL_SPECS,
    MarketParams,
    generate_dataset,
    generate_funding,
    generate_klines,
    main,
)

START = "2024-01-01"
T0 = 1_704_067_200_000
H = 3_600_000
N_STATS = 20_000  # about 2.3 years of hourly bars


@pytest.fixture(scope="module")
def btc():
    return generate_klines("BTCUSDT", START, N_STATS)


@pytest.fixture(scope="module")
def eth():
    return generate_klines("ETHUSDT", START, N_STATS)


def log_returns(k) -> np.ndarray:
    return np.diff(np.log(k.close))


def autocorr(x: np.ndarray, lag: int = 1) -> float:
    return float(np.corrcoef(x[:-lag], x[lag:])[0, 1])


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_series_and_different_seed_differs():
    a = generate_klines("SOLUSDT", START, 2000, seed=11)
    b = generate_klines("SOLUSDT", START, 2000, seed=11)
    c = generate_klines("SOLUSDT", START, 2000, seed=12)
    assert a == b
    assert not np.array_equal(a.close, c.close)
    assert a.open[0] == c.open[0] == SYMBOL_SPECS["SOLUSDT"].start_price


def test_a_longer_series_extends_a_shorter_one():
    short = generate_klines("ETHUSDT", START, 300, seed=5)
    long = generate_klines("ETHUSDT", START, 1000, seed=5)
    assert long.slice(0, 300) == short


def test_intervals_cut_the_same_path():
    hourly = generate_klines("BTCUSDT", START, 72, interval="1h", seed=2)
    for fine in ("5m", "15m"):
        per = H // INTERVAL_MS[fine]
        agg = resample(generate_klines("BTCUSDT", START, 72 * per, interval=fine, seed=2), "1h")
        for col in ("open_time_ms", "open", "high", "low", "close"):
            np.testing.assert_array_equal(getattr(agg, col), getattr(hourly, col), err_msg=f"{fine} {col}")
        np.testing.assert_allclose(agg.volume, hourly.volume, rtol=1e-9)
    daily = generate_klines("BTCUSDT", START, 3, interval="1d", seed=2)
    agg = resample(hourly, "1d")
    for col in ("open_time_ms", "open", "high", "low", "close"):
        np.testing.assert_array_equal(getattr(agg, col), getattr(daily, col), err_msg=f"1d {col}")
    np.testing.assert_allclose(agg.volume, daily.volume, rtol=1e-9)


def test_unaligned_sub_hour_start_is_still_consistent():
    a = generate_klines("XRPUSDT", T0 + 15 * 60_000, 8, interval="15m", seed=1)
    b = generate_klines("XRPUSDT", T0, 9, interval="15m", seed=1)
    assert a == b.slice(1)


# ----------------------------------------------------------------------------- OHLC sanity


@pytest.mark.parametrize("symbol", DEFAULT_SYMBOLS)
def test_every_default_symbol_is_a_valid_realistic_series(symbol):
    k = generate_klines(symbol, START, 500)
    spec = SYMBOL_SPECS[symbol]
    validate_klines(k)
    assert k.open[0] == spec.start_price
    assert np.all(np.diff(k.open_time_ms) == H) and k.open_time_ms[0] == T0
    np.testing.assert_array_equal(k.open[1:], k.close[:-1])  # no gaps between bars
    ticks = k.close * 10**spec.price_decimals
    np.testing.assert_allclose(ticks, np.rint(ticks), rtol=0, atol=1e-6)  # on the exchange tick
    assert 0.2 < k.close[-1] / spec.start_price < 5
    notional = float(np.mean(k.volume * k.close))
    assert 0.2 < notional / spec.quote_volume_per_hour < 5


def test_ohlc_consistency_over_a_long_series(btc):
    for col in ("open", "high", "low", "close", "volume"):
        assert np.all(np.isfinite(getattr(btc, col))), col
    assert np.all(btc.high >= np.maximum(btc.open, btc.close))
    assert np.all(btc.low <= np.minimum(btc.open, btc.close))
    assert np.all(btc.low > 0) and np.all(btc.volume > 0)
    # bars have real ranges, typically ~2x the close-to-close move like real 1h candles
    ratio = np.mean(np.log(btc.high / btc.low)) / np.mean(np.abs(log_returns(btc)))
    assert 1.5 < ratio < 3.0


# ----------------------------------------------------------------------------- stylised facts


def test_btc_annualised_volatility_is_plausible(btc):
    vol = float(np.std(log_returns(btc)) * math.sqrt(24 * 365))
    assert 0.30 < vol < 1.20


def test_returns_have_fat_tails(btc, eth):
    for k in (btc, eth):
        r = log_returns(k)
        excess_kurtosis = float(np.mean((r - r.mean()) ** 4) / np.var(r) ** 2 - 3)
        assert excess_kurtosis > 1, k.symbol


def test_volatility_clusters_but_returns_are_unpredictable(btc, eth):
    for k in (btc, eth):
        r = log_returns(k)
        assert autocorr(np.abs(r)) > 0.1, k.symbol
        assert autocorr(np.abs(r), 24) > 0.05, k.symbol  # clustering persists for a day and more
        assert abs(autocorr(r)) < 0.05, k.symbol


def test_eth_and_btc_returns_are_correlated(btc, eth):
    corr = float(np.corrcoef(log_returns(btc), log_returns(eth))[0, 1])
    assert 0.5 < corr < 0.9


def test_alts_follow_the_market_factor():
    base = log_returns(generate_klines("BTCUSDT", START, 4000, seed=3))
    for sym in ("SOLUSDT", "XRPUSDT", "DOGEUSDT", "AVAXUSDT"):
        corr = float(np.corrcoef(base, log_returns(generate_klines(sym, START, 4000, seed=3)))[0, 1])
        assert 0.4 < corr < 0.85, sym


def test_volume_rises_with_absolute_returns(btc):
    corr = float(np.corrcoef(np.log(btc.volume[1:]), np.abs(log_returns(btc)))[0, 1])
    assert corr > 0.15


def test_vol_scale_parameter_scales_volatility():
    calm = np.std(log_returns(generate_klines("BTCUSDT", START, 3000, seed=4)))
    wild = np.std(log_returns(generate_klines("BTCUSDT", START, 3000, seed=4, params=MarketParams(vol_scale=2.0))))
    assert 1.8 < wild / calm < 2.2


def test_custom_start_price_refines_the_tick():
    k = generate_klines("BTCUSDT", START, 100, start_price=100.0)
    assert k.open[0] == 100.0
    assert len(np.unique(np.round(k.close, 2))) > 90  # not stuck on a 0.1 tick


# ----------------------------------------------------------------------------- funding


def test_funding_on_the_8h_grid_with_realistic_rates(btc):
    f = generate_funding("BTCUSDT", btc)
    assert f.symbol == "BTCUSDT"
    assert np.all(f.funding_time_ms % (8 * H) == 0)
    assert np.all(np.diff(f.funding_time_ms) == 8 * H)
    assert f.funding_time_ms[0] == T0 and f.funding_time_ms[-1] < btc.open_time_ms[-1] + H
    rates = f.funding_rate
    assert float(np.mean(np.abs(rates))) < 0.001
    assert float(np.max(np.abs(rates))) <= 0.003
    assert 0.2 < float(np.mean(rates == 0.0001)) < 0.9  # the interest-rate floor dominates calm markets
    assert autocorr(rates) > 0.5  # persistent
    # longs pay more after a rally: rate vs the trailing 3-day return of the last closed bar
    last = np.searchsorted(btc.open_time_ms + H, f.funding_time_ms, side="right") - 1
    ok = last >= 72
    trend = np.log(btc.close[last[ok]] / btc.close[last[ok] - 72])
    assert float(np.corrcoef(trend, rates[ok])[0, 1]) > 0.3
    assert f == generate_funding("BTCUSDT", btc)
    head = generate_funding("BTCUSDT", btc.slice(0, 24 * 30))  # causal: a prefix of klines, a prefix of funding
    assert head == Funding("BTCUSDT", f.funding_time_ms[:90], f.funding_rate[:90])
    assert f != generate_funding("BTCUSDT", btc, seed=1)
    assert f.rate_at(int(btc.open_time_ms[100])) is not None


# ----------------------------------------------------------------------------- datasets and CLI


def test_generated_dataset_loads_back(tmp_path):
    syms = ["SOLUSDT", "BTCUSDT", "LINKUSDT"]
    files = generate_dataset(tmp_path, symbols=syms, start=START, n_bars=96, seed=9)
    assert all(p.exists() for p in files)
    ds = load_dataset(tmp_path)
    assert list(ds) == sorted(syms)
    for sym, (k, f) in ds.items():
        # independent of which other symbols were generated, and of their order
        assert k == generate_klines(sym, START, 96, seed=9)
        assert f is not None and f == generate_funding(sym, k, seed=9)
    assert sorted(load_dataset(tmp_path, interval="5m")) == ["BTCUSDT", "SOLUSDT"]
    btc5 = load_klines(tmp_path / "klines" / "BTCUSDT-5m.csv.gz")
    assert len(btc5) == 96 * 12
    hourly = resample(btc5, "1h")
    np.testing.assert_array_equal(hourly.high, ds["BTCUSDT"][0].high)
    np.testing.assert_array_equal(hourly.close, ds["BTCUSDT"][0].close)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["synthetic"] is True and manifest["seed"] == 9
    assert manifest["klines"]["BTCUSDT-15m"]["rows"] == 96 * 4
    assert manifest["klines"]["LINKUSDT-1h"]["first_open_time_ms"] == T0
    assert manifest["funding"]["SOLUSDT"]["rows"] == len(ds["SOLUSDT"][1])


def test_cli_writes_a_dataset(tmp_path, capsys):
    rc = main(["--out", str(tmp_path), "--symbols", "ETHUSDT", "--bars", "48", "--seed", "3",
               "--start", "2024-02-01", "--fine-intervals"])
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "klines").iterdir()) == ["ETHUSDT-1h.csv.gz"]
    k, f = load_dataset(tmp_path)["ETHUSDT"]
    assert k == generate_klines("ETHUSDT", "2024-02-01", 48, seed=3)
    assert f is not None and len(f) == 6
    assert "ETHUSDT-1h.csv.gz" in capsys.readouterr().out
    assert main(["--out", str(tmp_path), "--start", "2024-02-01T00:30"]) == 2  # not on the hour


def test_cli_help_documents_the_flags(repo_root):
    out = subprocess.run([sys.executable, "-m", "marketdata.synthetic", "--help"], cwd=repo_root,
                         capture_output=True, text=True, check=True).stdout
    for flag in ("--out", "--symbols", "--start", "--bars", "--interval", "--seed"):
        assert flag in out


def test_bad_requests_are_rejected():
    with pytest.raises(MarketDataError, match="not aligned"):
        generate_klines("BTCUSDT", T0 + 1, 10)
    with pytest.raises(MarketDataError, match="unknown interval"):
        generate_klines("BTCUSDT", START, 10, interval="2d")
    with pytest.raises(MarketDataError, match="n_bars"):
        generate_klines("BTCUSDT", START, 0)
    with pytest.raises(MarketDataError, match="seed"):
        generate_klines("BTCUSDT", START, 10, seed=-1)
    with pytest.raises(MarketDataError, match="GARCH"):
        MarketParams(garch_alpha=0.2, garch_beta=0.85)
