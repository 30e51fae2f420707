"""What UBL and CII both derive from a ``Document``: EN 16931 value formats and terms.

Both syntaxes carry the same semantic model, so the decisions that are not about XML live here
once: how amounts, prices, quantities and rates are written, how a VAT identifier gets its
country prefix, which VAT categories need an exemption reason or code, how a change-order
line's service date, person, requester and approval reference are presented, and the invoicing
period derived from the lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from engagebill.domain.errors import RuleViolation
from engagebill.domain.invoices import InvoiceLine, PartySnapshot
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory, VatGroup
from engagebill.services.documents import Document, DocumentKind

# EN 16931 restricts every amount to two decimals (BR-DEC-*); prices and quantities are free.
AMOUNT_PLACES = 2
CENTS = Decimal(1).scaleb(-AMOUNT_PLACES)

# VATEX codes (BT-121) for the categories whose reason is unambiguous. Exempt (E) has no
# single code: the reason depends on the article of the VAT directive, so only the text
# (BT-120) is given.
EXEMPTION_CODES: dict[VatCategory, str] = {
    VatCategory.REVERSE_CHARGE: "VATEX-EU-AE",
    VatCategory.INTRA_COMMUNITY: "VATEX-EU-IC",
    VatCategory.EXPORT: "VATEX-EU-G",
    VatCategory.OUTSIDE_SCOPE: "VATEX-EU-O",
}

# UNTDID 4461 payment means: SEPA credit transfer only exists in euro; other currencies are
# paid by a plain credit transfer to the same account.
SEPA_CREDIT_TRANSFER = "58"
CREDIT_TRANSFER = "30"

# Greece uses EL, not its ISO 3166 code, as the prefix of a VAT identifier (BR-CO-09).
VAT_PREFIX_EXCEPTIONS = {"GR": "EL"}


XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def serialise(root: Any) -> bytes:
    """UTF-8 with the declaration written the usual way (lxml would quote it with ``'``),
    indented for people who open the file; the same tree always gives the same bytes."""
    body: bytes = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return XML_DECLARATION + body


def amount(money: Money) -> str:
    """An EN 16931 amount: exactly two decimals, refused rather than rounded when finer.

    Zero-exponent currencies (JPY) are written ``"1500.00"``, which is exact. A three-decimal
    currency amount such as 1.235 BHD cannot be expressed at all, and rounding it here would
    change what the document says, so it is refused.
    """
    fixed = money.amount.quantize(CENTS)
    if fixed != money.amount:
        raise RuleViolation(
            f"{money.amount} {money.currency} has more than {AMOUNT_PLACES} decimals, which "
            "EN 16931 cannot carry",
            code="einvoice.amount_too_precise",
            details={"amount": str(money.amount), "currency": money.currency},
        )
    return f"{_unsigned_zero(fixed):f}"


def price(money: Money) -> str:
    """A unit price (BT-146): at least two decimals, more if the currency has them."""
    places = max(AMOUNT_PLACES, money.exponent)
    return f"{money.amount.quantize(Decimal(1).scaleb(-places)):f}"


def quantity(value: Decimal) -> str:
    """A quantity as plain decimal text without exponent or trailing zeros (``"7.5"``)."""
    return f"{_unsigned_zero(value.normalize()):f}"


def percent(rate: Decimal) -> str:
    """A VAT rate (BT-119, BT-152), two decimals, so equal rates are written identically."""
    return f"{rate.quantize(CENTS):f}"


def _unsigned_zero(value: Decimal) -> Decimal:
    return value.copy_abs() if value.is_zero() else value


def iso_date(day: date) -> str:
    return day.isoformat()


def cii_date(day: date) -> str:
    """CII date format 102: ``YYYYMMDD``."""
    return day.strftime("%Y%m%d")


def vat_identifier(party: PartySnapshot) -> str:
    """The party's VAT identifier with its country prefix (BR-CO-09), or ``""``.

    Tax ids are stored as typed; separators are dropped and a missing prefix is taken from
    the party's country, so ``"004495445B01"`` of a Dutch party becomes ``"NL004495445B01"``.
    """
    compact = "".join(ch for ch in party.tax_id if ch.isalnum()).upper()
    if not compact:
        return ""
    if compact[:2].isalpha():
        return compact
    country = party.address.country_code
    return VAT_PREFIX_EXCEPTIONS.get(country, country) + compact


def has_category(document: Document, category: VatCategory) -> bool:
    return any(line.vat_category is category for line in document.lines)


def carries_vat_identifiers(document: Document) -> bool:
    """Whether VAT identifiers may be shown: not on "not subject to VAT" documents (BR-O-02)."""
    return not has_category(document, VatCategory.OUTSIDE_SCOPE)


def seller_identifier(document: Document) -> str:
    """BT-29, only where the seller's VAT identifier may not be shown (BR-O-02): the buyer
    must still be able to identify the seller (BR-CO-26), and the snapshot holds no other
    registration number, so the tax number is given as a plain identifier."""
    if carries_vat_identifiers(document):
        return ""
    return vat_identifier(document.seller)


def has_rate(category: VatCategory) -> bool:
    """Whether the category carries a rate; "not subject to VAT" has none (BR-O-05)."""
    return category is not VatCategory.OUTSIDE_SCOPE


def exemption_code(group: VatGroup) -> str:
    return EXEMPTION_CODES.get(group.category, "")


def payment_means_code(document: Document) -> str:
    return SEPA_CREDIT_TRANSFER if document.currency == "EUR" else CREDIT_TRANSFER


def pays_by_transfer(document: Document) -> bool:
    """Payment instructions belong on invoices with an account to pay into; a credit note
    moves money the other way, so the seller's account would only mislead."""
    return document.kind is DocumentKind.INVOICE and bool(document.iban)


def remittance_information(document: Document) -> str:
    """BT-83: what the buyer quotes with the payment, so that it matches this invoice."""
    return document.number


def invoicing_period(document: Document) -> tuple[date, date] | None:
    """BG-14, when every line was delivered on a known date: from the first to the last.

    Only then is the period true of the whole document (a change-order invoice); retainer and
    milestone lines carry no service date and the snapshot holds no billing period.
    """
    days = [line.service_date for line in document.lines]
    if not days or any(day is None for day in days):
        return None
    known = [day for day in days if day is not None]
    return min(known), max(known)


def needs_delivery_information(document: Document) -> bool:
    """Intra-community supplies need the deliver-to country (BR-IC-12) and a supply date or
    invoicing period (BR-IC-11)."""
    return has_category(document, VatCategory.INTRA_COMMUNITY)


@dataclass(frozen=True, slots=True)
class LineDetail:
    """One named detail of a change-order line (an item attribute, BG-32)."""

    name: str
    value: str


def line_details(line: InvoiceLine) -> list[LineDetail]:
    """Who did the work, who asked for it and where it was approved, for AP to check."""
    details = []
    if line.person:
        details.append(LineDetail("Performed by", line.person))
    if line.requester:
        details.append(LineDetail("Requested by", line.requester))
    if line.approval_ref:
        details.append(LineDetail("Approval reference", line.approval_ref))
    return details


def line_note(line: InvoiceLine) -> str:
    """The same details as one readable sentence (BT-127), for viewers that show notes but
    not item attributes."""
    parts = []
    if line.service_date:
        parts.append(f"Service date {line.service_date.isoformat()}")
    parts.extend(f"{detail.name} {detail.value}" for detail in line_details(line))
    return "; ".join(parts)
