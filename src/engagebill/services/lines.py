"""Line input as every interface receives it (strings), and its parsing into domain lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import InvoiceLine
from engagebill.domain.money import Money, parse_decimal
from engagebill.domain.parties import require_text
from engagebill.domain.taxes import check_rate, parse_category
from engagebill.domain.units import unit_code
from engagebill.services.validation import clean_text


@dataclass(frozen=True, slots=True)
class LineInput:
    """One invoice line before validation: amounts and rates are decimal strings."""

    description: str
    quantity: str | Decimal
    unit_price: str | Decimal
    unit: str = "C62"
    vat_category: str = "S"
    vat_rate: str | Decimal = "21"
    source_ref: str | None = None
    service_date: date | None = None
    person: str | None = None
    requester: str | None = None
    approval_ref: str | None = None


def _reference(value: str | None, field_name: str, max_length: int) -> str | None:
    """An optional reference, within the width of its column and free of control codes (the
    database refuses both, with an error no interface can explain)."""
    return None if value is None else clean_text(value, field_name, max_length=max_length)


def parse_line(line: LineInput, currency: str, *, position: int = 1) -> InvoiceLine:
    try:
        category = parse_category(line.vat_category)
        return InvoiceLine(
            description=clean_text(
                line.description, "description", max_length=1000, required=True, multiline=True
            ),
            quantity=parse_decimal(line.quantity, field="quantity", code="line.invalid_quantity"),
            unit=unit_code(require_text(line.unit, "unit", max_length=20)),
            unit_price=Money.of(line.unit_price, currency),
            vat_category=category,
            vat_rate=check_rate(
                category, parse_decimal(line.vat_rate, field="VAT rate", code="vat.invalid_rate")
            ),
            source_ref=_reference(line.source_ref, "source reference", 200),
            service_date=line.service_date,
            person=_reference(line.person, "person", 200),
            requester=_reference(line.requester, "requester", 200),
            approval_ref=_reference(line.approval_ref, "approval reference", 500),
        )
    except ValidationError as exc:
        raise ValidationError(
            f"line {position}: {exc.message}",
            code=exc.code,
            details={**exc.details, "line": position},
        ) from None


def parse_lines(lines: Sequence[LineInput], currency: str) -> list[InvoiceLine]:
    return [parse_line(line, currency, position=i) for i, line in enumerate(lines, start=1)]
