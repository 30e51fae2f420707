"""Engagements: one billable agreement with a client, and one invoice stream.

An engagement is a ``retainer`` (a monthly fee or a prepaid advance), a ``fixed_price``
project billed by milestones, or ``time_and_material`` work billed as change orders. It fixes
the currency and the payment terms, and remembers the defaults its next invoice starts from:
the billing entity and the PO, both updated when the recipient amends an invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from engagebill.domain.errors import ValidationError
from engagebill.domain.taxes import VatCategory


class EngagementKind(StrEnum):
    RETAINER = "retainer"
    FIXED_PRICE = "fixed_price"
    TIME_AND_MATERIAL = "time_and_material"


class RetainerMode(StrEnum):
    FEE = "fee"
    ADVANCE = "advance"


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """Net N: the invoice is due N days after its issue date."""

    net_days: int

    def __post_init__(self) -> None:
        if not 0 <= self.net_days <= 365:
            raise ValidationError(
                "payment terms must be Net 0 to Net 365",
                code="engagement.invalid_terms",
                details={"net_days": self.net_days},
            )

    def due_date(self, issue_date: date) -> date:
        try:
            return issue_date + timedelta(days=self.net_days)
        except OverflowError:  # a valid date, but the calendar ends before the due date
            raise ValidationError(
                f"issue date {issue_date.isoformat()} leaves no room for a due date {self}",
                code="invoice.invalid_issue_date",
                details={"issue_date": issue_date.isoformat()},
            ) from None

    def __str__(self) -> str:
        return f"Net {self.net_days}"


@dataclass(slots=True)
class Engagement:
    id: str
    organization_id: str
    client_id: str
    name: str
    kind: EngagementKind
    currency: str
    terms: PaymentTerms
    billing_entity_id: str
    created_at: datetime
    default_purchase_order_id: str | None = None
    retainer_mode: RetainerMode | None = None
    auto_send: bool = False
    vat_category: VatCategory = VatCategory.STANDARD
    vat_rate: Decimal = Decimal("21")
