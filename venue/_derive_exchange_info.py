"""Regenerate venue/exchange_info_default.json from a real mainnet exchangeInfo snapshot.

Usage: python -m venue._derive_exchange_info ../shared/data/exchange/exchangeInfo-fapi.json
Keeps the document verbatim except: only the 10 default symbols, only the USDT asset, serverTime 0
(the venue stamps its own). Run by hand when the snapshot changes; the venue itself never needs ../shared.
"""
import json
import sys
from pathlib import Path

DEFAULT_SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT",
                   "DOGEUSDT", "LINKUSDT", "LTCUSDT", "ADAUSDT", "AVAXUSDT"]


def derive(src: Path) -> dict:
    doc = json.loads(src.read_text())
    by_name = {s["symbol"]: s for s in doc["symbols"]}
    return {
        "timezone": doc["timezone"],
        "serverTime": 0,
        "futuresType": doc.get("futuresType", "U_MARGINED"),
        "rateLimits": doc["rateLimits"],
        "exchangeFilters": doc["exchangeFilters"],
        "assets": [a for a in doc["assets"] if a["asset"] == "USDT"],
        "symbols": [by_name[s] for s in DEFAULT_SYMBOLS],
    }


if __name__ == "__main__":
    out = Path(__file__).with_name("exchange_info_default.json")
    out.write_text(json.dumps(derive(Path(sys.argv[1])), indent=1) + "\n")
    print(f"wrote {out}")
