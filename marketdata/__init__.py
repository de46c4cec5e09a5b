"""Market data files: the loader for the `../shared/data` CSV layout and the synthetic generator.

Layout of a data directory (same as ../shared/data):
    klines/<SYMBOL>-<interval>.csv.gz   header: open_time_ms,open,high,low,close,volume
    funding/<SYMBOL>-funding.csv        header: funding_time_ms,funding_rate
    exchange/exchangeInfo-fapi.json     optional, a GET /fapi/v1/exchangeInfo response

`marketdata.files` holds the records (`Klines`, `Funding`), loaders, writers and `resample`; they are
re-exported here. The generator lives in `marketdata.synthetic` (import it explicitly; it is also the
CLI `python -m marketdata.synthetic`).
"""
from marketdata.files import (
    FUNDING_COLUMNS,
    INTERVAL_MS,
    KLINE_COLUMNS,
    Funding,
    Klines,
    MarketDataError,
    find_shared_data,
    load_dataset,
    load_funding,
    load_klines,
    resample,
    validate_funding,
    validate_klines,
    write_funding,
    write_klines,
)

__all__ = [
    "FUNDING_COLUMNS",
    "INTERVAL_MS",
    "KLINE_COLUMNS",
    "Funding",
    "Klines",
    "MarketDataError",
    "find_shared_data",
    "load_dataset",
    "load_funding",
    "load_klines",
    "resample",
    "validate_funding",
    "validate_klines",
    "write_funding",
    "write_klines",
]
