"""VAT is computed per (category, rate) on the summed line nets, as EN 16931 requires.

Proves BR-CO-17 (each breakdown row taxes the sum of its lines' nets, rounded half-up once,
never the sum of per-line rounded taxes), that lines group by category and rate, that
``check_rate`` keeps exempt/zero categories at rate 0 and standard above 0, and that
``compute_totals`` is consistent for any lines: gross = net + VAT and due = gross - prepaid.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import InvoiceLine, compute_totals
from engagebill.domain.money import Money, round_half_up
from engagebill.domain.taxes import (
    EXEMPTION_REASONS,
    VatCategory,
    check_rate,
    parse_category,
    vat_breakdown,
)

S = VatCategory.STANDARD


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def a_line(
    price: str,
    *,
    quantity: str = "1",
    rate: str = "21",
    category: VatCategory = S,
    currency: str = "EUR",
) -> InvoiceLine:
    return InvoiceLine(
        description="Design work",
        quantity=Decimal(quantity),
        unit="h",
        unit_price=Money.of(price, currency),
        vat_category=category,
        vat_rate=Decimal(rate),
    )


# BR-CO-17: tax the group's summed net -------------------------------------------------------


def test_vat_is_rounded_once_on_the_group_not_per_line() -> None:
    # Each line's tax is 1.59 x 21% = 0.3339: per line 0.33, three times 0.99.
    # The group's net is 4.77, taxed 1.0017, rounded once: 1.00.
    nets = [(S, Decimal("21"), eur("1.59"))] * 3

    [group] = vat_breakdown(nets, "EUR")

    assert group.taxable == eur("4.77")
    assert group.tax == eur("1.00")
    assert sum(round_half_up(Decimal("1.59") * Decimal("0.21"), 2) for _ in range(3)) == Decimal(
        "0.99"
    )


def test_half_cents_round_up_only_on_the_group_total() -> None:
    # 0.35 x 21% = 0.0735 per line (0.07 each, 0.21 together); the group 1.05 -> 0.2205 -> 0.22.
    [group] = vat_breakdown([(S, Decimal("21"), eur("0.35"))] * 3, "EUR")

    assert group.tax == eur("0.22")


def test_lines_group_by_category_and_rate() -> None:
    nets = [
        (S, Decimal("21"), eur("100.00")),
        (S, Decimal("9"), eur("50.00")),
        (S, Decimal("21"), eur("0.10")),
        (VatCategory.REVERSE_CHARGE, Decimal("0"), eur("200.00")),
        (S, Decimal("9"), eur("0.05")),
        (VatCategory.ZERO, Decimal("0"), eur("10.00")),
    ]

    groups = {(g.category, g.rate): (g.taxable, g.tax) for g in vat_breakdown(nets, "EUR")}

    assert groups == {
        (S, Decimal("21")): (eur("100.10"), eur("21.02")),  # 21.021
        (S, Decimal("9")): (eur("50.05"), eur("4.50")),  # 4.5045
        (VatCategory.REVERSE_CHARGE, Decimal("0")): (eur("200.00"), eur("0")),
        (VatCategory.ZERO, Decimal("0")): (eur("10.00"), eur("0")),
    }


def test_the_same_rate_written_differently_is_one_group() -> None:
    nets = [(S, Decimal("21"), eur("1.59")), (S, Decimal("21.00"), eur("1.59"))]

    assert len(vat_breakdown(nets, "EUR")) == 1


def test_the_same_rate_in_different_categories_is_two_groups() -> None:
    nets = [
        (VatCategory.EXEMPT, Decimal("0"), eur("10.00")),
        (VatCategory.EXPORT, Decimal("0"), eur("10.00")),
    ]

    groups = vat_breakdown(nets, "EUR")

    assert {g.category for g in groups} == {VatCategory.EXEMPT, VatCategory.EXPORT}
    assert {g.exemption_reason for g in groups} == {"Exempt from VAT", "Export outside the EU"}


def test_only_exempt_style_categories_carry_an_exemption_reason() -> None:
    [standard] = vat_breakdown([(S, Decimal("21"), eur("1.00"))], "EUR")

    assert standard.exemption_reason == ""
    assert VatCategory.STANDARD not in EXEMPTION_REASONS
    assert VatCategory.ZERO not in EXEMPTION_REASONS


def test_a_credit_groups_negative_nets_and_rounds_half_away_from_zero() -> None:
    [group] = vat_breakdown([(S, Decimal("21"), eur("-0.50"))], "EUR")  # -0.105

    assert group.tax == eur("-0.11")


def test_yen_vat_is_rounded_to_whole_yen() -> None:
    [group] = vat_breakdown([(S, Decimal("10"), Money.of("15", "JPY"))] * 3, "JPY")  # 4.5

    assert group.tax == Money.of("5", "JPY")


# check_rate ---------------------------------------------------------------------------------

ZERO_RATED = [c for c in VatCategory if c is not VatCategory.STANDARD]


@pytest.mark.parametrize("category", ZERO_RATED, ids=lambda c: c.name)
def test_exempt_and_zero_categories_must_have_rate_zero(category: VatCategory) -> None:
    assert check_rate(category, Decimal("0")) == Decimal("0.00")
    with pytest.raises(ValidationError) as excinfo:
        check_rate(category, Decimal("21"))
    assert excinfo.value.code == "vat.invalid_rate"


def test_standard_rate_must_be_above_zero() -> None:
    with pytest.raises(ValidationError) as excinfo:
        check_rate(S, Decimal("0"))
    assert excinfo.value.code == "vat.invalid_rate"


@pytest.mark.parametrize("rate", ["-1", "100", "150", "21.005"])
def test_rates_outside_0_to_100_or_finer_than_two_decimals_are_refused(rate: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        check_rate(S, Decimal(rate))
    assert excinfo.value.code == "vat.invalid_rate"


@pytest.mark.parametrize(
    ("rate", "normalised"), [("21", "21.00"), ("5.5", "5.50"), ("7.70", "7.70")]
)
def test_a_valid_standard_rate_is_normalised_to_two_decimals(rate: str, normalised: str) -> None:
    result = check_rate(S, Decimal(rate))

    assert result == Decimal(normalised)
    assert str(result) == normalised


@pytest.mark.parametrize(("text", "category"), [("s", S), (" AE ", VatCategory.REVERSE_CHARGE)])
def test_categories_are_read_from_their_uncl5305_codes(text: str, category: VatCategory) -> None:
    assert parse_category(text) is category


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(ValidationError) as excinfo:
        parse_category("X")
    assert excinfo.value.code == "vat.unknown_category"


def test_an_invoice_line_refuses_a_rate_on_an_exempt_category() -> None:
    with pytest.raises(ValidationError) as excinfo:
        a_line("10.00", rate="21", category=VatCategory.EXEMPT)
    assert excinfo.value.code == "vat.invalid_rate"


# compute_totals -----------------------------------------------------------------------------

TAX_CHOICES = [
    (S, "21"),
    (S, "9"),
    (S, "5.5"),
    (S, "19.6"),
    (VatCategory.ZERO, "0"),
    (VatCategory.EXEMPT, "0"),
    (VatCategory.REVERSE_CHARGE, "0"),
]


@st.composite
def lines(draw: st.DrawFn, currency: str) -> InvoiceLine:
    category, rate = draw(st.sampled_from(TAX_CHOICES))
    price_minor = draw(st.integers(min_value=-(10**7), max_value=10**8))
    quantity = Decimal(draw(st.integers(min_value=1, max_value=10**6))).scaleb(-4)
    return InvoiceLine(
        description="Work",
        quantity=quantity,
        unit="h",
        unit_price=Money.from_minor(price_minor, currency),
        vat_category=category,
        vat_rate=Decimal(rate),
    )


@st.composite
def invoices(draw: st.DrawFn) -> tuple[str, list[InvoiceLine], Money | None]:
    currency = draw(st.sampled_from(["JPY", "EUR", "BHD"]))
    content = draw(st.lists(lines(currency), min_size=0, max_size=12))
    prepaid_minor = draw(st.none() | st.integers(min_value=0, max_value=10**9))
    prepaid = None if prepaid_minor is None else Money.from_minor(prepaid_minor, currency)
    return currency, content, prepaid


@given(invoices())
def test_totals_are_consistent_for_any_lines(
    invoice: tuple[str, list[InvoiceLine], Money | None],
) -> None:
    currency, content, prepaid = invoice

    totals = compute_totals(content, currency, prepaid)

    assert totals.net == Money.sum((line.net for line in content), currency)
    assert totals.vat == Money.sum((g.tax for g in totals.breakdown), currency)
    assert totals.gross == totals.net + totals.vat
    assert totals.prepaid == (prepaid or Money.zero(currency))
    assert totals.due == totals.gross - totals.prepaid
    for amount in (totals.net, totals.vat, totals.gross, totals.prepaid, totals.due):
        assert amount.currency == currency
        assert amount.is_whole_minor()


@given(invoices())
def test_each_breakdown_row_taxes_its_summed_nets_once(
    invoice: tuple[str, list[InvoiceLine], Money | None],
) -> None:
    currency, content, _ = invoice

    totals = compute_totals(content, currency)

    assert Money.sum((g.taxable for g in totals.breakdown), currency) == totals.net
    assert len({(g.category, g.rate) for g in totals.breakdown}) == len(totals.breakdown)
    for group in totals.breakdown:
        members = [
            ln for ln in content if (ln.vat_category, ln.vat_rate) == (group.category, group.rate)
        ]
        summed = Money.sum((ln.net for ln in members), currency)
        assert members
        assert group.taxable == summed
        assert group.tax == Money(summed.amount * group.rate / 100, currency).rounded()


def test_totals_of_a_small_invoice() -> None:
    content = [
        a_line("100.00", quantity="7.5"),  # 750.00 at 21%
        a_line("1.59", quantity="3"),  # 4.77 at 21%
        a_line("80.00", rate="9"),  # 80.00 at 9%
        a_line("300.00", rate="0", category=VatCategory.REVERSE_CHARGE),
    ]

    totals = compute_totals(content, "EUR", prepaid=eur("100.00"))

    assert totals.net == eur("1134.77")
    assert totals.vat == eur("165.70")  # 754.77 x 21% = 158.5017 -> 158.50; 80 x 9% = 7.20
    assert totals.gross == eur("1300.47")
    assert totals.prepaid == eur("100.00")
    assert totals.due == eur("1200.47")


def test_a_line_net_is_quantity_times_price_rounded_half_up() -> None:
    assert a_line("0.05", quantity="0.5").net == eur("0.03")  # 0.025
    assert a_line("-0.05", quantity="0.5").net == eur("-0.03")


def test_no_lines_total_zero() -> None:
    totals = compute_totals([], "EUR")

    assert totals.gross == eur("0") and totals.due == eur("0") and totals.breakdown == ()
