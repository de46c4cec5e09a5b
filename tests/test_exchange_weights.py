"""One endpoint weight table: the adapter's (execution/exchange/ratelimit.ENDPOINTS) agrees with the venue's
(venue/ratelimit.py, Binance's published weights) row by row, so the two cannot drift apart."""
import pytest

from execution.exchange.ratelimit import ENDPOINTS, depth_weight, endpoint_weight, klines_weight
from venue.ratelimit import FIXED_WEIGHTS, request_weight

# endpoints whose weight depends on a parameter other than the symbol (checked below over their ranges)
_BY_LIMIT = {"klines", "depth"}


@pytest.mark.parametrize("name", sorted(set(ENDPOINTS) - _BY_LIMIT))
def test_adapter_weight_matches_the_venue(name):
    method, path, weight = ENDPOINTS[name]
    params = {} if name.endswith(":all") else {"symbol": "BTCUSDT"}
    known = (method, path) in FIXED_WEIGHTS or path in (
        "/fapi/v1/premiumIndex", "/fapi/v1/ticker/bookTicker", "/fapi/v1/openOrders", "/fapi/v1/openAlgoOrders")
    assert known, f"{name}: {method} {path} is not in the venue's weight table"
    assert request_weight(method, path, params) == weight == endpoint_weight(name), name


@pytest.mark.parametrize("limit", [1, 5, 10, 20, 50, 99, 100, 101, 499, 500, 501, 1000, 1001, 1500])
def test_limit_dependent_weights_match_the_venue(limit):
    assert klines_weight(limit) == request_weight("GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "limit": limit})
    assert depth_weight(limit) == request_weight("GET", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": limit})
    assert ENDPOINTS["klines"][2] == klines_weight(500) and ENDPOINTS["depth"][2] == depth_weight(20)


def test_unknown_endpoint_name_weighs_one():
    assert endpoint_weight("no-such-endpoint") == 1
