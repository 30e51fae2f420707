"""Units are UN/ECE codes (friendly words accepted), and "not subject to VAT" lines stand
alone on their invoice, as EN 16931 requires."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engagebill.domain.errors import RuleViolation, ValidationError
from engagebill.domain.invoices import InvoiceLine, check_lines
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory
from engagebill.domain.units import unit_code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("HUR", "HUR"),
        ("hur", "HUR"),
        ("hours", "HUR"),
        ("h", "HUR"),
        ("C62", "C62"),
        ("each", "C62"),
        ("pcs", "H87"),
        ("month", "MON"),
        (" Day ", "DAY"),
    ],
)
def test_typed_units_become_codes(typed: str, code: str) -> None:
    assert unit_code(typed) == code


@pytest.mark.parametrize("typed", ["hourz", "ZZZ", "", "stunden"])
def test_unknown_units_are_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as err:
        unit_code(typed)
    assert err.value.code == "line.invalid_unit"


def _line(category: VatCategory, rate: str) -> InvoiceLine:
    return InvoiceLine(
        "Design", Decimal(1), "C62", Money.of("100.00", "EUR"), category, Decimal(rate)
    )


def test_outside_scope_lines_do_not_mix_with_taxed_lines() -> None:
    with pytest.raises(RuleViolation) as err:
        check_lines(
            [_line(VatCategory.OUTSIDE_SCOPE, "0"), _line(VatCategory.STANDARD, "21")], "EUR"
        )
    assert err.value.code == "vat.outside_scope_mixed"
    check_lines(
        [_line(VatCategory.OUTSIDE_SCOPE, "0"), _line(VatCategory.OUTSIDE_SCOPE, "0")], "EUR"
    )
