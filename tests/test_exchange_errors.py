"""The error taxonomy: every Binance code / HTTP status we know maps to exactly one typed error."""
import json

import pytest
import requests
from binance.exceptions import BinanceAPIException, BinanceRequestException

from execution.exchange import errors as E


class FakeResponse:
    def __init__(self, status, body, headers=None):
        self.status_code = status
        self.text = body if isinstance(body, str) else json.dumps(body)
        self.headers = headers or {}
        self.request = None


def api_exc(status, code=None, msg="m", headers=None, raw=None):
    body = raw if raw is not None else {"code": code, "msg": msg}
    resp = FakeResponse(status, body, headers)
    return BinanceAPIException(resp, status, resp.text)


TAXONOMY = [
    # (code, http status, expected class)
    (-1000, 500, E.RetryableError),
    (-1001, 503, E.RetryableError),
    (-1001, 400, E.RetryableError),
    (-1006, 400, E.RetryableError),
    (-1007, 408, E.RetryableError),
    (-1008, 503, E.RetryableError),
    (-1003, 429, E.RateLimitedError),
    (-1015, 429, E.RateLimitedError),
    (-1003, 418, E.IpBannedError),
    (-1021, 400, E.TimestampError),
    (-5028, 400, E.TimestampError),
    (-1002, 401, E.AuthError),
    (-1022, 400, E.AuthError),
    (-2014, 401, E.AuthError),
    (-2015, 401, E.AuthError),
    (-2017, 401, E.AuthError),
    (-1099, 400, E.AuthError),
    (-2018, 400, E.InsufficientMarginError),
    (-2019, 400, E.InsufficientMarginError),
    (-4050, 400, E.InsufficientMarginError),
    (-2011, 400, E.UnknownOrderError),
    (-2013, 400, E.UnknownOrderError),
    (-4116, 400, E.DuplicateOrderError),
    (-4046, 400, E.NoChangeNeededError),
    (-4059, 400, E.NoChangeNeededError),
    (-1013, 400, E.InvalidOrderError),
    (-1102, 400, E.InvalidOrderError),
    (-1106, 400, E.InvalidOrderError),
    (-1111, 400, E.InvalidOrderError),
    (-1121, 400, E.InvalidOrderError),
    (-2010, 400, E.InvalidOrderError),
    (-2022, 400, E.InvalidOrderError),
    (-4003, 400, E.InvalidOrderError),
    (-4014, 400, E.InvalidOrderError),
    (-4023, 400, E.InvalidOrderError),
    (-4061, 400, E.InvalidOrderError),
    (-4164, 400, E.InvalidOrderError),
    (-4047, 400, E.InvalidOrderError),
    (-5022, 400, E.InvalidOrderError),
    (None, 500, E.RetryableError),
    (None, 502, E.RetryableError),
    (None, 504, E.RetryableError),
    (None, 429, E.RateLimitedError),
    (None, 418, E.IpBannedError),
    (None, 401, E.AuthError),
]


@pytest.mark.parametrize("code,status,cls", TAXONOMY)
def test_error_for_maps_codes(code, status, cls):
    err = E.error_for(code, status, "msg")
    assert type(err) is cls
    assert err.code == code and err.status == status


@pytest.mark.parametrize("code,status,cls", TAXONOMY)
def test_classify_binance_api_exception(code, status, cls):
    err = E.classify(api_exc(status, code, "msg"))
    assert type(err) is cls
    assert isinstance(err.__cause__, BinanceAPIException)


def test_retryability_flags():
    assert E.error_for(-1001, 503).retryable
    assert E.error_for(-1003, 429).retryable
    assert E.error_for(-1021, 400).retryable  # after a re-sync
    assert not E.error_for(-1003, 418).retryable  # banned: do not call again before the ban ends
    for code in (-2019, -4164, -2015, -1106, -4116, -4046):
        assert not E.error_for(code, 400).retryable


@pytest.mark.shared_data
def test_every_documented_code_maps_without_error(shared_data_dir):
    doc = json.loads((shared_data_dir / "rest" / "binance-usdm-error-codes.json").read_text())
    kinds = {}
    for entry in doc["errors"]:
        err = E.error_for(entry["code"], 400, entry["messages"][0])
        assert isinstance(err, E.ExchangeError)
        kinds[entry["code"]] = type(err).__name__
    # every code in our tables exists in Binance's documentation
    documented = set(kinds)
    for table in (E.RETRYABLE_CODES, E.RATE_LIMIT_CODES, E.TIMESTAMP_CODES, E.AUTH_CODES, E.MARGIN_CODES,
                  E.UNKNOWN_ORDER_CODES, E.DUPLICATE_CODES, E.NO_CHANGE_CODES):
        assert table <= documented, table - documented
    # all filter codes are InvalidOrder
    for code in (-4001, -4002, -4003, -4004, -4005, -4013, -4014, -4016, -4023, -4024, -4164):
        assert kinds[code] == "InvalidOrderError"


def test_retry_after_header_and_ban_until():
    err = E.classify(api_exc(429, -1003, "Too many requests", headers={"Retry-After": "7"}))
    assert isinstance(err, E.RateLimitedError) and err.retry_after == 7.0
    ban = E.classify(api_exc(418, -1003, "Way too many requests; IP banned until 1700000123456. Please use ..."))
    assert isinstance(ban, E.IpBannedError) and ban.until_ms == 1700000123456


def test_non_json_error_body_maps_by_status():
    err = E.classify(api_exc(502, raw="<html>Bad Gateway</html>"))
    assert isinstance(err, E.RetryableError) and err.code is None and err.status == 502


def test_transport_errors():
    assert isinstance(E.classify(requests.exceptions.ReadTimeout("read timed out")), E.RetryableError)
    assert E.classify(requests.exceptions.ReadTimeout("x")).sent is True  # might have been processed
    ct = E.classify(requests.exceptions.ConnectTimeout("connect timed out"))
    assert isinstance(ct, E.RetryableError) and ct.sent is False
    refused = E.classify(requests.exceptions.ConnectionError("NewConnectionError: Connection refused"))
    assert refused.sent is False
    aborted = E.classify(requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected())"))
    assert aborted.sent is True and aborted.retryable
    garbled = E.classify(BinanceRequestException("Invalid Response: <trunc"))
    assert isinstance(garbled, E.RetryableError)


def test_passthrough_and_unknown():
    e = E.InvalidOrderError("x", code=-4014)
    assert E.classify(e) is e
    other = E.classify(ValueError("boom"))
    assert type(other) is E.ExchangeError and not other.retryable
    assert "code=-4014" in str(e)
