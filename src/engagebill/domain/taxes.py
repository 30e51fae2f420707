"""VAT categories and the VAT breakdown of a document, as EN 16931 computes it.

The breakdown groups lines by (category, rate) and computes the tax on the *sum* of the line
net amounts of each group (BR-CO-17), rounded half-up to the currency's exponent, never by
summing per-line taxes. Exempt, reverse-charge and export categories carry rate 0 and an
exemption reason (BT-120).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from engagebill.domain.errors import ValidationError
from engagebill.domain.money import Money, round_half_up

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class VatCategory(StrEnum):
    """UNCL5305 codes used by EN 16931 (BT-151)."""

    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"
    EXPORT = "G"
    OUTSIDE_SCOPE = "O"


# Categories whose rate must be 0 and that need an exemption reason (BR-E-10, BR-AE-10 ...).
EXEMPTION_REASONS: dict[VatCategory, str] = {
    VatCategory.EXEMPT: "Exempt from VAT",
    VatCategory.REVERSE_CHARGE: "Reverse charge",
    VatCategory.INTRA_COMMUNITY: "Intra-community supply",
    VatCategory.EXPORT: "Export outside the EU",
    VatCategory.OUTSIDE_SCOPE: "Not subject to VAT",
}


def parse_category(value: str) -> VatCategory:
    try:
        return VatCategory(value.strip().upper())
    except ValueError:
        raise ValidationError(
            f"VAT category {value!r} is not one of {', '.join(c.value for c in VatCategory)}",
            code="vat.unknown_category",
        ) from None


def check_rate(category: VatCategory, rate: Decimal) -> Decimal:
    """Refuse a rate that does not fit its category; return it normalised to 2 decimals."""
    if rate < 0 or rate >= 100:
        raise ValidationError(f"VAT rate {rate} must be between 0 and 100", code="vat.invalid_rate")
    if category is VatCategory.STANDARD and rate == 0:
        raise ValidationError(
            "standard-rated (S) lines need a rate above 0; use Z for zero-rated",
            code="vat.invalid_rate",
        )
    if category is not VatCategory.STANDARD and rate != 0:
        raise ValidationError(
            f"VAT category {category.value} must have rate 0", code="vat.invalid_rate"
        )
    if rate != round_half_up(rate, 2):
        raise ValidationError(f"VAT rate {rate} has more than 2 decimals", code="vat.invalid_rate")
    return round_half_up(rate, 2)


@dataclass(frozen=True, slots=True)
class VatGroup:
    """One row of the VAT breakdown (BG-23)."""

    category: VatCategory
    rate: Decimal
    taxable: Money
    tax: Money

    @property
    def exemption_reason(self) -> str:
        return EXEMPTION_REASONS.get(self.category, "")


def vat_breakdown(
    nets: Iterable[tuple[VatCategory, Decimal, Money]], currency: str
) -> list[VatGroup]:
    """Group ``(category, rate, line_net)`` triples and tax each group's summed net."""
    sums: dict[tuple[VatCategory, Decimal], Decimal] = {}
    for category, rate, net in nets:
        key = (category, rate)
        sums[key] = sums.get(key, _ZERO) + net.amount
    return vat_groups(sums, currency)


def vat_groups(
    taxable: Mapping[tuple[VatCategory, Decimal], Decimal], currency: str
) -> list[VatGroup]:
    """The breakdown from each (category, rate)'s summed line nets, in a stable order."""
    groups = []
    for (category, rate), amount in sorted(taxable.items(), key=lambda kv: kv[0]):
        tax = Money(amount * rate / _HUNDRED, currency).rounded()
        groups.append(VatGroup(category, rate, Money(amount, currency).rounded(), tax))
    return groups
