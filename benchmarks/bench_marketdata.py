"""Speed figures for marketdata (prints only; tests hold no timing assertions).

    .venv/bin/python benchmarks/bench_marketdata.py [--data DIR]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from marketdata.files import find_shared_data, load_dataset, load_klines, resample, write_klines
from marketdata.synthetic import generate_dataset, generate_klines


def timed(label: str, fn, repeat: int = 3):
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:<55s} {best * 1000:9.1f} ms")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=None, help="data dir (default: find_shared_data())")
    args = ap.parse_args()
    data = args.data or find_shared_data()

    with tempfile.TemporaryDirectory() as tmp:
        if data is None:
            print("no shared data; benchmarking on a generated dataset")
            timed("generate_dataset (10 symbols, 1y 1h + 15m/5m)", lambda: generate_dataset(tmp), repeat=1)
            data = Path(tmp)
        btc = data / "klines" / "BTCUSDT-1h.csv.gz"
        k = timed(f"load_klines {btc.name}", lambda: load_klines(btc))
        print(f"  -> {k}")
        timed("load_dataset (all 1h symbols + funding)", lambda: load_dataset(data))
        fine = data / "klines" / "BTCUSDT-5m.csv.gz"
        if fine.exists():
            k5 = timed(f"load_klines {fine.name}", lambda: load_klines(fine))
            timed("resample 5m -> 1h", lambda: resample(k5, "1h"))
        out = Path(tmp) / "out"
        timed(f"write_klines ({len(k)} rows)", lambda: write_klines(k, out))
        timed("generate_klines BTCUSDT 20,000 x 1h", lambda: generate_klines("BTCUSDT", "2024-01-01", 20_000))
        timed("generate_klines BTCUSDT 100,000 x 5m", lambda: generate_klines("BTCUSDT", "2024-01-01", 100_000, "5m"))


if __name__ == "__main__":
    main()
