"""How another bot points at the venue (docs/VENUE.md "Other bots: ccxt and freqtrade"): ccxt's URL
overrides for a venue base URL, and the freqtrade exchange block built from them. The conformance test and
the documentation use exactly these."""
from __future__ import annotations

# ccxt `binance` urls.api key -> the path it is served under (every family on the one venue base)
CCXT_API_PATHS = {
    "public": "/api/v3", "private": "/api/v3", "v1": "/api/v1",
    "sapi": "/sapi/v1", "sapiV2": "/sapi/v2", "sapiV3": "/sapi/v3", "sapiV4": "/sapi/v4",
    "fapiPublic": "/fapi/v1", "fapiPrivate": "/fapi/v1", "fapiPublicV2": "/fapi/v2",
    "fapiPrivateV2": "/fapi/v2", "fapiPublicV3": "/fapi/v3", "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data", "dapiData": "/futures/data",
    "dapiPublic": "/dapi/v1", "dapiPrivate": "/dapi/v1", "dapiPrivateV2": "/dapi/v2",
    "eapiPublic": "/eapi/v1", "eapiPrivate": "/eapi/v1", "papi": "/papi/v1", "papiV2": "/papi/v2",
}


def ccxt_api_urls(base_url: str) -> dict[str, str]:
    """`urls.api` for ccxt's binance / binanceusdm: every family on `base_url`, so no call can leave it."""
    base = base_url.rstrip("/")
    return {key: base + path for key, path in CCXT_API_PATHS.items()}


def ccxt_config(base_url: str, api_key: str, secret: str) -> dict:
    """Constructor options for ccxt.binance / ccxt.binanceusdm against the venue (USD-M futures)."""
    return {"apiKey": api_key, "secret": secret, "urls": {"api": ccxt_api_urls(base_url)},
            "options": {"defaultType": "future"}, "enableRateLimit": False}


def freqtrade_exchange(base_url: str, api_key: str, secret: str, pairs: list[str]) -> dict:
    """The `exchange` block of a freqtrade config trading USD-M futures on the venue."""
    urls = {"urls": {"api": ccxt_api_urls(base_url)}}
    return {"name": "binance", "key": api_key, "secret": secret, "ccxt_config": urls,
            "ccxt_async_config": urls, "pair_whitelist": pairs, "pair_blacklist": []}
