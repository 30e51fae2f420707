"""Money is exact: it splits without losing a minor unit, rounds half-up, and refuses bad input.

Proves that ``Money.allocate`` parts always sum to the rounded total, are whole minor units and
stay within one minor unit of the exact proportional share (JPY, EUR and BHD: exponents 0, 2
and 3); that ``rounded()`` is half-up to the currency exponent; that floats, mixed currencies,
unknown currencies and non-finite amounts are refused with stable codes; and that integer
minor units round-trip.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagebill.domain.errors import ValidationError
from engagebill.domain.money import Money, currency_exponent, parse_decimal

# One currency for each exponent the engine meets: 0, 2 and 3 minor-unit digits.
CURRENCIES = {"JPY": 0, "EUR": 2, "BHD": 3}

currencies = st.sampled_from(sorted(CURRENCIES))
# Up to ten million units, with up to three digits more than the currency allows, any sign.
raw_amounts = st.integers(min_value=-(10**13), max_value=10**13).map(
    lambda n: Decimal(n).scaleb(-6)
)
# Whole-number or decimal weights, zeros included, never all zero.
ratios = st.one_of(
    st.integers(min_value=0, max_value=1000),
    st.decimals(min_value=0, max_value=100, places=2),
)
ratio_lists = st.lists(ratios, min_size=1, max_size=8).filter(lambda rs: sum(rs) > 0)


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-CURRENCIES[currency])


def code_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> str:
    return excinfo.value.code


# allocate -----------------------------------------------------------------------------------


@given(amount=raw_amounts, currency=currencies, ratios=ratio_lists)
def test_allocated_parts_sum_exactly_to_the_rounded_total(
    amount: Decimal, currency: str, ratios: list[int | Decimal]
) -> None:
    money = Money(amount, currency)

    parts = money.allocate(ratios)

    assert len(parts) == len(ratios)
    assert Money.sum(parts, currency) == money.rounded()


@given(amount=raw_amounts, currency=currencies, ratios=ratio_lists)
def test_every_allocated_part_is_a_whole_minor_unit_of_the_same_currency(
    amount: Decimal, currency: str, ratios: list[int | Decimal]
) -> None:
    for part in Money(amount, currency).allocate(ratios):
        assert part.currency == currency
        assert part.is_whole_minor()
        assert part.amount % minor_unit(currency) == 0


@given(amount=raw_amounts, currency=currencies, ratios=ratio_lists)
def test_allocated_parts_are_within_one_minor_unit_of_the_exact_share(
    amount: Decimal, currency: str, ratios: list[int | Decimal]
) -> None:
    money = Money(amount, currency)
    total_minor = money.rounded().to_minor()

    parts = money.allocate(ratios)

    for part, ratio in zip(parts, ratios, strict=True):
        exact_share = Fraction(total_minor) * Fraction(ratio) / Fraction(sum(ratios))
        assert abs(Fraction(part.to_minor()) - exact_share) < 1


@given(amount=raw_amounts, currency=currencies, ratios=ratio_lists)
def test_a_zero_ratio_gets_nothing_and_no_part_has_the_wrong_sign(
    amount: Decimal, currency: str, ratios: list[int | Decimal]
) -> None:
    total = Money(amount, currency).rounded()

    parts = Money(amount, currency).allocate(ratios)

    for part, ratio in zip(parts, ratios, strict=True):
        if ratio == 0:
            assert part.is_zero()
        assert part.amount * total.amount >= 0


def test_ten_cents_in_three_gives_the_leftover_cent_to_the_first_part() -> None:
    parts = Money.of("0.10", "EUR").allocate([1, 1, 1])

    assert [p.amount for p in parts] == [Decimal("0.04"), Decimal("0.03"), Decimal("0.03")]


def test_a_negative_amount_is_split_like_a_positive_one_with_the_sign_kept() -> None:
    parts = Money.of("-0.10", "EUR").allocate([1, 1, 1])

    assert [p.amount for p in parts] == [Decimal("-0.04"), Decimal("-0.03"), Decimal("-0.03")]


def test_yen_are_split_into_whole_yen_and_bahraini_dinar_into_fils() -> None:
    assert [p.amount for p in Money.of("100", "JPY").allocate([1, 1, 1])] == [34, 33, 33]
    assert [p.amount for p in Money.of("1", "BHD").allocate([1, 2])] == [
        Decimal("0.333"),
        Decimal("0.667"),
    ]


def test_the_largest_remainder_gets_the_leftover_minor_unit() -> None:
    # 1.00 EUR by 5:1 is 83.33 : 16.67 cents, so the second part takes the leftover cent.
    parts = Money.of("1.00", "EUR").allocate([5, 1])

    assert [p.amount for p in parts] == [Decimal("0.83"), Decimal("0.17")]


def test_allocate_splits_the_rounded_amount_not_the_raw_one() -> None:
    parts = Money.of("0.125", "EUR").allocate([1, 1])

    assert [p.amount for p in parts] == [Decimal("0.07"), Decimal("0.06")]


@pytest.mark.parametrize("ratios", [[], [0], [0, 0, 0], [1, -1, 2], [Decimal("-0.5")]])
def test_allocate_refuses_empty_negative_or_all_zero_ratios(ratios: list[int]) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money.of("10.00", "EUR").allocate(ratios)
    assert code_of(excinfo) == "money.bad_ratios"


def test_allocate_refuses_float_ratios() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money.of("10.00", "EUR").allocate([0.5, 0.5])  # type: ignore[list-item]
    assert code_of(excinfo) == "money.float_refused"


# rounding -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.125", "EUR", "0.13"),
        ("-0.125", "EUR", "-0.13"),
        ("0.124", "EUR", "0.12"),
        ("-0.124", "EUR", "-0.12"),
        ("2.5", "JPY", "3"),
        ("-2.5", "JPY", "-3"),
        ("3.5", "JPY", "4"),
        ("2.4999", "JPY", "2"),
        ("1.0005", "BHD", "1.001"),
        ("-1.0005", "BHD", "-1.001"),
        ("1.0004", "BHD", "1.000"),
        ("7", "EUR", "7.00"),
    ],
)
def test_rounding_is_half_up_away_from_zero_to_the_currency_exponent(
    amount: str, currency: str, expected: str
) -> None:
    rounded = Money.of(amount, currency).rounded()

    assert rounded.amount == Decimal(expected)
    assert rounded.currency == currency


@given(amount=raw_amounts, currency=currencies)
def test_rounding_matches_decimal_quantize_half_up(amount: Decimal, currency: str) -> None:
    expected = amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)

    rounded = Money(amount, currency).rounded()

    assert rounded.amount == expected
    assert rounded.is_whole_minor()


@given(amount=raw_amounts, currency=currencies)
def test_rounding_twice_changes_nothing(amount: Decimal, currency: str) -> None:
    once = Money(amount, currency).rounded()

    assert once.rounded() == once


def test_arithmetic_keeps_full_precision_until_rounded() -> None:
    product = Money.of("0.10", "EUR") * Decimal("0.333")

    assert product.amount == Decimal("0.0333")
    assert product.rounded().amount == Decimal("0.03")


# refusals -----------------------------------------------------------------------------------


def test_money_of_refuses_a_float() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money.of(1.5, "EUR")
    assert code_of(excinfo) == "money.float_refused"


def test_the_constructor_refuses_a_float() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money(1.5, "EUR")  # type: ignore[arg-type]
    assert code_of(excinfo) == "money.float_refused"


def test_multiplying_by_a_float_is_refused() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money.of("10.00", "EUR") * 0.5  # type: ignore[operator]
    assert code_of(excinfo) == "money.float_refused"


def test_multiplying_a_float_by_money_is_refused_too() -> None:
    with pytest.raises(ValidationError) as excinfo:
        0.5 * Money.of("10.00", "EUR")  # type: ignore[operator]
    assert code_of(excinfo) == "money.float_refused"


def test_parse_decimal_refuses_a_float() -> None:
    with pytest.raises(ValidationError) as excinfo:
        parse_decimal(0.1)
    assert code_of(excinfo) == "money.float_refused"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12.34", Decimal("12.34")), (" 1_000.5 ", Decimal("1000.5")), (7, Decimal(7))],
)
def test_parse_decimal_reads_strings_ints_and_decimals_exactly(
    value: object, expected: Decimal
) -> None:
    assert parse_decimal(value) == expected
    assert parse_decimal(expected) == expected


def test_money_of_keeps_a_decimal_string_exact() -> None:
    money = Money.of("0.1", "eur")

    assert money.amount == Decimal("0.1")
    assert money.currency == "EUR"


@pytest.mark.parametrize(
    "combine",
    [
        pytest.param(lambda a, b: a + b, id="add"),
        pytest.param(lambda a, b: a - b, id="subtract"),
        pytest.param(lambda a, b: a < b, id="compare"),
        pytest.param(lambda a, b: a >= b, id="compare-or-equal"),
        pytest.param(lambda a, b: Money.sum([a, b], "EUR"), id="sum"),
    ],
)
def test_mixing_currencies_is_refused(combine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        combine(Money.of("1.00", "EUR"), Money.of("1.00", "USD"))
    assert code_of(excinfo) == "money.currency_mismatch"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: Money.of("1", "XYZ"), id="of"),
        pytest.param(lambda: Money(Decimal(1), "ECU"), id="constructor"),
        pytest.param(lambda: Money.zero("ABC"), id="zero"),
        pytest.param(lambda: Money.from_minor(100, "EURO"), id="from_minor"),
        pytest.param(lambda: Money(Decimal(1), "eur"), id="lower-case-constructor"),
    ],
)
def test_an_unknown_currency_is_refused(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        make()
    assert code_of(excinfo) == "money.unknown_currency"


@pytest.mark.parametrize("text", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "-inf"])
def test_non_finite_amount_strings_are_refused(text: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money.of(text, "EUR")
    assert code_of(excinfo) == "money.invalid_amount"


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money(value, "EUR")
    assert code_of(excinfo) == "money.invalid_amount"


@pytest.mark.parametrize("text", ["", "12,50", "ten", "1.2.3", "€5"])
def test_text_that_is_not_a_number_is_refused(text: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money.of(text, "EUR")
    assert code_of(excinfo) == "money.invalid_amount"


# minor units --------------------------------------------------------------------------------


@given(
    minor=st.integers(min_value=-(10**15), max_value=10**15),
    currency=currencies,
)
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    money = Money.from_minor(minor, currency)

    assert money.to_minor() == minor
    assert Money.from_minor(money.to_minor(), currency) == money


@given(amount=raw_amounts, currency=currencies)
def test_a_rounded_amount_round_trips_through_minor_units(amount: Decimal, currency: str) -> None:
    rounded = Money(amount, currency).rounded()

    assert Money.from_minor(rounded.to_minor(), currency) == rounded


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [(1234, "EUR", "12.34"), (1234, "JPY", "1234"), (1234, "BHD", "1.234"), (-5, "EUR", "-0.05")],
)
def test_from_minor_scales_by_the_currency_exponent(minor: int, currency: str, amount: str) -> None:
    assert Money.from_minor(minor, currency).amount == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("0.001", "EUR"), ("12.345", "EUR"), ("0.5", "JPY"), ("0.0001", "BHD"), ("-0.005", "EUR")],
)
def test_to_minor_refuses_amounts_finer_than_the_currency_allows(
    amount: str, currency: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        Money.of(amount, currency).to_minor()
    assert code_of(excinfo) == "money.too_precise"


def test_to_minor_accepts_trailing_zeros_beyond_the_exponent() -> None:
    assert Money.of("12.3400", "EUR").to_minor() == 1234


@pytest.mark.parametrize("text", ["1e999999999", "-1E+999999999999999999"])
def test_an_absurd_exponent_is_refused_as_out_of_range(text: str) -> None:
    """Not with decimal.Overflow: abs() of such a number overflows the decimal context."""
    with pytest.raises(ValidationError) as excinfo:
        parse_decimal(text)
    assert code_of(excinfo) == "money.out_of_range"


@pytest.mark.parametrize("amount", ["0.0100000000000000000000000000001", "1E-999999999999999999"])
def test_digits_past_the_decimal_precision_are_not_whole_minor_units(amount: str) -> None:
    """28-digit arithmetic would round these to 0.01 and 0 and call them whole: stored as
    minor units, the amount would silently change."""
    money = Money.of(amount, "EUR")
    assert not money.is_whole_minor()
    with pytest.raises(ValidationError) as excinfo:
        money.to_minor()
    assert code_of(excinfo) == "money.too_precise"


@given(st.decimals(allow_nan=False, allow_infinity=False), currencies)
def test_whole_minor_means_no_nonzero_digit_below_the_minor_unit(
    value: Decimal, currency: str
) -> None:
    """The definition, read off the digits, for any finite decimal: tiny, huge, long."""
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    below = -(exponent + currency_exponent(currency))
    expected = below <= 0 or not any(digits[-below:])
    assert Money(value, currency).is_whole_minor() is expected
