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


def parse_line(line: LineInput, currency: str, *, position: int = 1) -> InvoiceLine:
    try:
        category = parse_category(line.vat_category)
        return InvoiceLine(
            description=require_text(line.description, "description", max_length=1000),
            quantity=parse_decimal(line.quantity, field="quantity", code="line.invalid_quantity"),
            unit=unit_code(require_text(line.unit, "unit", max_length=20)),
            unit_price=Money.of(line.unit_price, currency),
            vat_category=category,
            vat_rate=check_rate(
                category, parse_decimal(line.vat_rate, field="VAT rate", code="vat.invalid_rate")
            ),
            source_ref=line.source_ref,
            service_date=line.service_date,
            person=line.person,
            requester=line.requester,
            approval_ref=line.approval_ref,
        )
    except ValidationError as exc:
        raise ValidationError(
            f"line {position}: {exc.message}",
            code=exc.code,
            details={**exc.details, "line": position},
        ) from None


def parse_lines(lines: Sequence[LineInput], currency: str) -> list[InvoiceLine]:
    return [parse_line(line, currency, position=i) for i, line in enumerate(lines, start=1)]
