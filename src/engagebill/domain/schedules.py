"""Retainer schedules: when and how much a retainer engagement invoices.

A schedule has an amount, a frequency (monthly, quarterly, yearly), an invoice-day rule (a
calendar day of the period's first month, or its first business day under the organization's
holiday calendar), a line text template, and start and end dates. Each period it covers is due
on its invoice day and is billed exactly once: its billing key
(``retainer:<schedule>:<period>``) is unique in the database. In ``advance`` mode the invoice
tops up a prepaid balance instead of charging a fee.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from engagebill.domain.engagements import RetainerMode
from engagebill.domain.errors import ValidationError
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory

# Returns the first business day on or after a date, for the organization's country.
FirstBusinessDay = Callable[[date], date]


class Frequency(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "yearly": 12}[self.value]


@dataclass(frozen=True, slots=True)
class InvoiceDayRule:
    """``day:N`` (the Nth of the month, clamped to its last day) or ``first_business_day``."""

    text: str

    def __post_init__(self) -> None:
        if self.text == "first_business_day":
            return
        kind, _, number = self.text.partition(":")
        if kind != "day" or not number.isdigit() or not 1 <= int(number) <= 31:
            raise ValidationError(
                f"invoice day {self.text!r} must be 'first_business_day' or 'day:1' to 'day:31'",
                code="schedule.invalid_invoice_day",
            )

    def day_in(self, year: int, month: int, first_business_day: FirstBusinessDay) -> date:
        if self.text == "first_business_day":
            return first_business_day(date(year, month, 1))
        wanted = int(self.text.partition(":")[2])
        return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Period:
    """One billing period of a schedule."""

    key: str  # 2025-03, 2025-Q1 or 2025
    start: date
    end: date
    invoice_date: date

    def describe(self, template: str) -> str:
        """Fill a line template: {month} {year} {quarter} {period_start} {period_end}."""
        return template.format(
            month=calendar.month_name[self.start.month],
            month_short=calendar.month_abbr[self.start.month],
            year=self.start.year,
            quarter=f"Q{(self.start.month - 1) // 3 + 1}",
            period_start=self.start.isoformat(),
            period_end=self.end.isoformat(),
        )


def check_template(template: str) -> str:
    text = template.strip()
    if not text:
        raise ValidationError("a line text template is needed", code="schedule.invalid_template")
    probe = Period("2025-03", date(2025, 3, 1), date(2025, 3, 31), date(2025, 3, 3))
    try:
        probe.describe(text)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(
            f"line text template {template!r} may use only {{month}}, {{month_short}}, "
            f"{{year}}, {{quarter}}, {{period_start}} and {{period_end}} ({exc})",
            code="schedule.invalid_template",
        ) from None
    return text


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(slots=True)
class RetainerSchedule:
    id: str
    organization_id: str
    engagement_id: str
    mode: RetainerMode
    amount: Money
    frequency: Frequency
    invoice_day: InvoiceDayRule
    line_template: str
    start_date: date
    created_at: datetime
    end_date: date | None = None
    vat_category: VatCategory = VatCategory.STANDARD
    vat_rate: Decimal = Decimal("21")
    active: bool = True

    def periods(self, first_business_day: FirstBusinessDay) -> Iterator[Period]:
        """Every period from the start, in order, until the end date (or forever)."""
        start = date(self.start_date.year, self.start_date.month, 1)
        if self.frequency is not Frequency.MONTHLY:
            # Quarters and years follow the calendar: the period holding the start date.
            months_into = (start.month - 1) % self.frequency.months
            start = _add_months(start, -months_into)
        while self.end_date is None or start <= self.end_date:
            nxt = _add_months(start, self.frequency.months)
            if self.frequency is Frequency.MONTHLY:
                key = f"{start.year:04d}-{start.month:02d}"
            elif self.frequency is Frequency.QUARTERLY:
                key = f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
            else:
                key = f"{start.year:04d}"
            yield Period(
                key,
                start,
                nxt - timedelta(days=1),
                self.invoice_day.day_in(start.year, start.month, first_business_day),
            )
            start = nxt

    def due_periods(self, as_of: date, first_business_day: FirstBusinessDay) -> list[Period]:
        """Periods whose invoice day has come by ``as_of`` (billed or not)."""
        due = []
        for period in self.periods(first_business_day):
            if period.invoice_date > as_of:
                break
            due.append(period)
        return due

    def billing_key(self, period: Period) -> str:
        return f"retainer:{self.id}:{period.key}"
