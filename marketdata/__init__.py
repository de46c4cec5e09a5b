"""Market data files: the loader for the `../shared/data` CSV layout and the synthetic generator.

Layout of a data directory (same as ../shared/data):
    klines/<SYMBOL>-<interval>.csv.gz   header: open_time_ms,open,high,low,close,volume
    funding/<SYMBOL>-funding.csv        header: funding_time_ms,funding_rate
    exchange/exchangeInfo-fapi.json     optional, a GET /fapi/v1/exchangeInfo response
"""
