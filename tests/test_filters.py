"""core.filters: parsing real exchangeInfo, quantization properties, filter checks with Binance codes."""
import dataclasses
import gzip
import json
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.filters import (
    FilterViolation,
    SymbolFilters,
    check_order_filters,
    decimal_to_str,
    is_multiple,
    parse_exchange_info,
    quantize_price,
    quantize_qty,
    to_decimal,
)

BTC = SymbolFilters(
    symbol="BTCUSDT", tick_size=D("0.10"), min_price=D("556.80"), max_price=D("4529764"),
    step_size=D("0.001"), min_qty=D("0.001"), max_qty=D("1000"),
    market_step_size=D("0.001"), market_min_qty=D("0.001"), market_max_qty=D("120"),
    min_notional=D("100"), percent_up=D("1.0500"), percent_down=D("0.9500"),
)
DOGE = SymbolFilters(
    symbol="DOGEUSDT", tick_size=D("0.000010"), min_price=D("0.002440"), max_price=D("30"),
    step_size=D("1"), min_qty=D("1"), max_qty=D("50000000"),
    market_step_size=D("1"), market_min_qty=D("1"), market_max_qty=D("30000000"),
    min_notional=D("5"), percent_up=D("1.1000"), percent_down=D("0.9000"),
)


def codes(violations):
    return sorted(v.code for v in violations)


# ---------------------------------------------------------------- parsing

@pytest.mark.shared_data
def test_parse_real_mainnet_exchange_info(shared_data_dir):
    doc = json.loads((shared_data_dir / "exchange" / "exchangeInfo-fapi.json").read_text())
    parsed = parse_exchange_info(doc)
    assert len(parsed) == len(doc["symbols"]) == 347
    assert parsed["BTCUSDT"] == BTC
    assert parsed["DOGEUSDT"] == DOGE
    eth = parsed["ETHUSDT"]
    assert (eth.tick_size, eth.step_size, eth.market_max_qty, eth.min_notional) == (
        D("0.01"), D("0.001"), D("2000"), D("20"))
    for f in parsed.values():
        assert all(isinstance(getattr(f, n), D) for n in ("tick_size", "step_size", "min_notional"))


@pytest.mark.shared_data
def test_parse_testnet_schema(shared_data_dir):
    """The newer (testnet) schema adds filters such as POSITION_RISK_CONTROL; parsing ignores them."""
    raw = gzip.decompress((shared_data_dir / "exchange" / "exchangeInfo-fapi-testnet-2025-11-26.json.gz").read_bytes())
    parsed = parse_exchange_info(json.loads(raw))
    assert parsed["BTCUSDT"].tick_size > 0 and parsed["BTCUSDT"].step_size > 0


def test_from_exchange_info_defaults_and_spot_name():
    f = SymbolFilters.from_exchange_info({
        "symbol": "XUSDT",
        "filters": [
            {"filterType": "LOT_SIZE", "stepSize": "0.1", "minQty": "0.1", "maxQty": "10"},
            {"filterType": "MIN_NOTIONAL", "minNotional": "5"},
        ],
    })
    assert f.market_step_size == D("0.1")  # falls back to LOT_SIZE
    assert f.min_notional == D("5")
    assert f.tick_size == 0 and f.percent_up == 0  # missing filters = no limit
    assert quantize_price("1.23456", f) == D("1.23456")


def test_filters_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        BTC.tick_size = D("1")  # type: ignore[misc]  # frozen: the assignment must raise


# ---------------------------------------------------------------- quantization examples

def test_quantize_qty_floors_to_step():
    assert quantize_qty("0.0019", BTC) == D("0.001")
    assert quantize_qty(0.1, BTC) == D("0.100")
    assert str(quantize_qty("1.23456", BTC)) == "1.234"
    assert quantize_qty("0.0009", BTC) == 0  # below min: reported by check_order_filters, never rounded up
    assert quantize_qty("1234.9", DOGE) == D("1234")
    assert quantize_qty("-0.0019", BTC) == D("-0.001")  # toward zero: magnitude never grows


def test_quantize_qty_market_uses_market_lot_size():
    f = SymbolFilters.from_exchange_info({"symbol": "Z", "filters": [
        {"filterType": "LOT_SIZE", "stepSize": "0.001", "minQty": "0.001", "maxQty": "100"},
        {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.01", "minQty": "0.01", "maxQty": "10"},
    ]})
    assert quantize_qty("1.239", f) == D("1.239")
    assert quantize_qty("1.239", f, market=True) == D("1.23")


def test_quantize_price_passive_rounding():
    assert quantize_price("65000.05", BTC, "BUY") == D("65000.0")
    assert quantize_price("65000.05", BTC, "SELL") == D("65000.1")
    assert quantize_price("65000.05", BTC) == D("65000.1")  # nearest, half up
    assert quantize_price("65000.04", BTC) == D("65000.0")
    assert quantize_price("65000.1", BTC, "buy") == D("65000.1")  # already on tick: unchanged
    assert quantize_price("0.1234567", DOGE, "SELL") == D("0.123460")
    with pytest.raises(ValueError):
        quantize_price("1", BTC, "LONG")


def test_float_inputs_keep_their_short_repr():
    assert to_decimal(0.1) == D("0.1")
    assert quantize_price(0.3, DOGE) == D("0.3")


def test_decimal_to_str_has_no_exponent():
    assert decimal_to_str(D("1E+2")) == "100"
    assert decimal_to_str(D("0.0010")) == "0.001"
    assert decimal_to_str(D("65000.00")) == "65000"
    assert decimal_to_str(D("-0")) == "0"


# ---------------------------------------------------------------- quantization properties

steps = st.sampled_from([D("0.001"), D("0.01"), D("0.1"), D("1"), D("0.000010"), D("0.0010"), D("5"), D("0.25")])
values = st.decimals(min_value=D("0"), max_value=D("1000000"), allow_nan=False, allow_infinity=False, places=9)


def _filters(step: D, tick: D) -> SymbolFilters:
    return SymbolFilters("T", tick, D(0), D(0), step, D(0), D(0), step, D(0), D(0), D(0), D(0), D(0))


@settings(max_examples=300, deadline=None)
@given(qty=values, step=steps, market=st.booleans())
def test_qty_is_multiple_never_exceeds_and_idempotent(qty, step, market):
    f = _filters(step, D("0.1"))
    q = quantize_qty(qty, f, market=market)
    assert q % step == 0
    assert q <= qty
    assert qty - q < step  # the largest multiple not above the input
    assert quantize_qty(q, f, market=market) == q


@settings(max_examples=300, deadline=None)
@given(price=values.filter(lambda v: v > 0), tick=steps, side=st.sampled_from(["BUY", "SELL", None]))
def test_price_is_multiple_passive_and_idempotent(price, tick, side):
    f = _filters(D("1"), tick)
    p = quantize_price(price, f, side)
    assert p % tick == 0
    assert abs(p - price) <= tick
    if side == "BUY":
        assert p <= price and price - p < tick
    elif side == "SELL":
        assert p >= price and p - price < tick
    else:
        assert abs(p - price) * 2 <= tick
    assert quantize_price(p, f, side) == p


@settings(max_examples=200, deadline=None)
@given(qty=values.filter(lambda v: v > 0), price=values.filter(lambda v: v > 1))
def test_quantized_order_never_trips_step_or_tick(qty, price):
    q = quantize_qty(qty, BTC)
    p = quantize_price(price, BTC, "BUY")
    found = {v.code for v in check_order_filters(BTC, "BUY", q, p)}
    assert -4023 not in found and -4014 not in found


def test_edge_of_context_precision_never_rounds_up():
    nines = D("0." + "9" * 30)
    assert quantize_qty(nines, _filters(D("1"), D("1"))) == 0


# ---------------------------------------------------------------- check_order_filters

def test_valid_limit_order_passes():
    assert check_order_filters(BTC, "BUY", "0.002", "65000.0") == []


@pytest.mark.parametrize("qty,price,expected", [
    ("0.0025", "65000.0", [-4023]),
    ("0.0015", "65000.0", [-4023, -4164]),
    ("0.002", "65000.05", [-4014]),
    ("0.001", "65000.0", [-4164]),          # 65 USDT < 100
    ("0", "65000.0", [-4003]),
    ("-1", "65000.0", [-4003]),
    ("1001", "65000.0", [-4005]),
    ("0.002", "500.0", [-4164, -4013]),    # below minPrice, and 1 USDT notional
    ("0.002", "5000000.0", [-4002]),
    ("0.002", "0", [-4001]),
])
def test_limit_violations(qty, price, expected):
    out = check_order_filters(BTC, "BUY", qty, price)
    assert codes(out) == sorted(expected)
    assert all(isinstance(v, FilterViolation) and v.reason and v.name for v in out)


def test_boundaries_are_inclusive_as_on_binance():
    # notional exactly MIN_NOTIONAL ("no smaller than"), qty exactly min/max, price exactly min/max: all pass
    assert check_order_filters(BTC, "BUY", "0.002", "50000.0") == []  # 0.002 x 50,000 = 100
    assert check_order_filters(BTC, "BUY", "0.001", order_type="MARKET", mark_price="100000") == []  # 100
    assert check_order_filters(BTC, "BUY", "1000", "65000.0") == []  # LOT_SIZE maxQty
    assert check_order_filters(BTC, "BUY", "120", order_type="MARKET", mark_price="65000") == []  # MARKET maxQty
    assert codes(check_order_filters(BTC, "BUY", "120.001", order_type="MARKET", mark_price="65000")) == [-4005]
    assert check_order_filters(BTC, "BUY", "0.2", "556.80") == []  # minPrice, 111.36 USD
    assert check_order_filters(BTC, "SELL", "0.001", "4529764") == []  # maxPrice
    assert check_order_filters(BTC, "BUY", "0.002", "68250.0", mark_price="65000") == []  # exactly mark x 1.05
    assert check_order_filters(BTC, "SELL", "0.002", "61750.0", mark_price="65000") == []  # exactly mark x 0.95


def test_min_notional_reason_matches_binance_text():
    (v,) = check_order_filters(DOGE, "BUY", "10", "0.1")
    assert v.code == -4164
    assert v.reason == "Order's notional must be no smaller than 5 (unless you choose reduce only)."


def test_reduce_only_is_exempt_from_min_notional_only():
    assert check_order_filters(BTC, "SELL", "0.001", "65000.0", reduce_only=True) == []
    assert codes(check_order_filters(BTC, "SELL", "0.0015", "65000.0", reduce_only=True)) == [-4023]


def test_market_orders_use_market_lot_and_mark_for_notional():
    assert codes(check_order_filters(BTC, "BUY", "121", order_type="MARKET", mark_price="65000")) == [-4005]
    assert codes(check_order_filters(BTC, "BUY", "0.001", order_type="MARKET", mark_price="65000")) == [-4164]
    assert check_order_filters(BTC, "BUY", "0.001", order_type="MARKET") == []  # no price: notional unknown
    # a price passed with a MARKET order is ignored, as Binance ignores it
    assert check_order_filters(BTC, "BUY", "0.002", "1.23", order_type="MARKET", mark_price="65000") == []


def test_percent_price():
    assert codes(check_order_filters(BTC, "BUY", "0.002", "68250.1", mark_price="65000")) == [-4016]
    assert codes(check_order_filters(BTC, "SELL", "0.002", "61749.9", mark_price="65000")) == [-4024]
    assert check_order_filters(BTC, "SELL", "0.002", "68250.0", mark_price="65000") == []


def test_invalid_side():
    assert codes(check_order_filters(BTC, "LONG", "0.002", "65000.0")) == [-1117]


def test_is_multiple_zero_step():
    assert is_multiple(D("1.2345"), D(0))


# ---------------------------------------------------------------- is_multiple is total and exact at any size

def _reference_multiple(value: D, step: D) -> bool:
    from fractions import Fraction

    return (Fraction(value) / Fraction(step)).denominator == 1


coefficients = st.integers(min_value=-(10**40), max_value=10**40)
exponents = st.integers(min_value=-60, max_value=200)


@settings(max_examples=500, deadline=None)
@given(v=coefficients, ev=exponents, s=st.integers(1, 10**6), es=st.integers(-30, 10))
def test_is_multiple_equals_exact_rational_arithmetic(v, ev, s, es):
    value, step = D(v).scaleb(ev), D(s).scaleb(es)
    assert is_multiple(value, step) == _reference_multiple(value, step)
    assert is_multiple(value * s, D(1).scaleb(es)) == _reference_multiple(value * s, D(1).scaleb(es))


def test_is_multiple_far_beyond_the_old_context_precision():
    # `value % step` under 120 digits raised decimal.DivisionImpossible from ~step x 10^120 (hypothesis found it)
    assert is_multiple(D("1e117"), D("0.001")) and is_multiple(D("1e121"), D("0.001"))
    assert is_multiple(D("1" + "0" * 200 + ".001"), D("0.001"))
    assert not is_multiple(D("1" + "0" * 200 + ".0005"), D("0.001"))
    assert is_multiple(D("1E+999999999"), D("0.001"))  # instant: modular arithmetic, no giant quotient
    assert not is_multiple(D("1E+999999999"), D("0.003"))  # 10^n is never a multiple of 3
    assert is_multiple(D("3E+999999999"), D("0.003"))
    assert not is_multiple(D("1E-999999"), D("0.001")) and is_multiple(D(0), D("0.003"))


def test_is_multiple_of_non_finite_numbers_is_false_never_an_error():
    for value, step in ((D("NaN"), D("0.1")), (D("Infinity"), D("0.1")), (D("-Infinity"), D("1")), (D("1"), D("NaN")),
                        (D("1"), D("Infinity")), (D("sNaN"), D("1"))):
        assert is_multiple(value, step) is False
    assert is_multiple(D("1.2345"), D("-1")) is True  # a step <= 0 is a disabled filter


def test_quantize_is_exact_for_huge_values_and_refuses_absurd_ones():
    f = _filters(D("0.001"), D("0.01"))
    huge = D("1" + "0" * 150 + ".0015")
    assert quantize_qty(huge, f) == D("1" + "0" * 150 + ".001")
    assert quantize_price(D("1" + "0" * 150 + ".005"), f, "SELL") == D("1" + "0" * 150 + ".01")
    assert quantize_qty(D("1E+999999999"), _filters(D("0.001"), D("0.01"))) == D("1E+999999999")  # already a multiple
    with pytest.raises(ValueError, match="too large"):
        quantize_qty(D("1E+999999999"), _filters(D("0.003"), D("0.01")))


def test_quantize_to_a_whole_step_prints_without_decimals():
    assert str(quantize_qty(D("857.4") * D("1.00000000000000000000000001"), DOGE)) == "857"
    assert str(quantize_qty("12.9", _filters(D("0.001"), D("0.01")))) == "12.900"


def test_numpy_floats_convert_like_python_floats():
    np = pytest.importorskip("numpy")
    assert to_decimal(np.float64(0.1)) == D("0.1") and to_decimal(np.float32(0.5)) == D("0.5")


@settings(max_examples=300, deadline=None)
@given(v=st.integers(1, 10**30), ev=st.integers(-20, 200), es=st.integers(-12, 3), s=st.sampled_from([1, 5, 25, 3]),
       side=st.sampled_from(["BUY", "SELL", None]))
def test_quantize_is_exact_at_any_magnitude(v, ev, es, s, side):
    from fractions import Fraction

    value, step = D(v).scaleb(ev), D(s).scaleb(es)
    f = _filters(step, step)
    q, p = quantize_qty(value, f), quantize_price(value, f, side)
    assert is_multiple(q, step) and is_multiple(p, step)
    assert 0 <= Fraction(value) - Fraction(q) < Fraction(step)
    assert abs(Fraction(p) - Fraction(value)) <= Fraction(step)


@pytest.mark.parametrize("bad", ["NaN", "Infinity", float("nan"), float("-inf")])
def test_quantizing_a_non_finite_number_is_an_error_not_a_value(bad):
    f = SymbolFilters("BTCUSDT", D("0.10"), D("556.80"), D("4529764"), D("0.001"), D("0.001"), D("1000"),
                      D("0.001"), D("0.001"), D("120"), D("100"), D("1.05"), D("0.95"))
    with pytest.raises(ValueError, match="not a finite number"):
        quantize_qty(bad, f)
    with pytest.raises(ValueError, match="not a finite number"):
        quantize_price(bad, f, "BUY")
