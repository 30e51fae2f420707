"""Parsing the agency app's forms and query strings into what the use cases take.

Only parsing: whether a value is acceptable is the use case's call (a bad quantity is refused
by ``services.lines`` with its own message, shown on the form).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from starlette.datastructures import FormData

from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import InvoiceLine
from engagebill.services.lines import LineInput

# The fields of one row of the line editor, repeated once per row.
LINE_FIELDS = ("description", "quantity", "unit", "unit_price", "vat_category", "vat_rate")
# Carried unchanged in hidden fields, so an edited line keeps what it bills and its trail.
KEPT_FIELDS = ("source_ref", "service_date", "person", "requester", "approval_ref")
BLANK_ROWS = 3


def parse_day(value: str | None, label: str) -> date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{label} {text!r} is not a date such as 2025-03-01", code="validation.invalid_date"
        ) from None


def parse_int(value: str | None, label: str, default: int) -> int:
    text = (value or "").strip()
    if not text:
        return default
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 6:
        raise ValidationError(f"{label} {text!r} is not a whole number", code="validation.number")
    return int(text)


@dataclass(frozen=True, slots=True)
class LineRow:
    """One row of the line editor as the form shows it (all text)."""

    description: str = ""
    quantity: str = ""
    unit: str = "C62"
    unit_price: str = ""
    vat_category: str = "S"
    vat_rate: str = ""
    source_ref: str = ""
    service_date: str = ""
    person: str = ""
    requester: str = ""
    approval_ref: str = ""

    @property
    def blank(self) -> bool:
        return not (self.description.strip() or self.quantity.strip() or self.unit_price.strip())

    def to_input(self) -> LineInput:
        return LineInput(
            description=self.description,
            quantity=self.quantity.strip(),
            unit_price=self.unit_price.strip(),
            unit=self.unit.strip() or "C62",
            vat_category=self.vat_category.strip() or "S",
            vat_rate=self.vat_rate.strip(),
            source_ref=self.source_ref or None,
            service_date=parse_day(self.service_date, "service date"),
            person=self.person or None,
            requester=self.requester or None,
            approval_ref=self.approval_ref or None,
        )


def row_of(line: InvoiceLine) -> LineRow:
    return LineRow(
        description=line.description,
        quantity=format(line.quantity.normalize(), "f"),
        unit=line.unit,
        unit_price=line.unit_price.decimal_string(),
        vat_category=line.vat_category.value,
        vat_rate=format(line.vat_rate.normalize(), "f"),
        source_ref=line.source_ref or "",
        service_date=line.service_date.isoformat() if line.service_date else "",
        person=line.person or "",
        requester=line.requester or "",
        approval_ref=line.approval_ref or "",
    )


def rows_from_form(form: FormData) -> list[LineRow]:
    """The editor's rows as submitted, blank ones included (to show the form again)."""
    columns = {name: form.getlist(name) for name in LINE_FIELDS + KEPT_FIELDS}
    count = len(columns["description"])

    def cell(name: str, index: int) -> str:
        values = columns[name]
        value = values[index] if index < len(values) else ""
        return value if isinstance(value, str) else ""

    return [
        LineRow(**{name: cell(name, i) for name in LINE_FIELDS + KEPT_FIELDS}) for i in range(count)
    ]


def lines_from_rows(rows: list[LineRow]) -> list[LineInput]:
    """The lines to save: every row that is not left blank."""
    return [row.to_input() for row in rows if not row.blank]
