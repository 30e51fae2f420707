"""Advances: a prepaid balance on an engagement that approved work draws down.

An advance comes from an advance-mode retainer schedule (a managed-service agreement) or is a
one-off. It can be invoiced only once its invoice date has come; once invoiced its net amount
is available. Work invoiced on the engagement then applies the available balance: the invoice
shows gross, the applied advance (EN 16931 BT-113, prepaid) and the amount due. The draw-down
can be discarded on an invoice, and the unused balance is refunded by a credit note against
the advance invoice. The balance itself is a figure of the engagement account
(``domain.engagement_account``), derived from the issued documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from engagebill.domain.errors import RuleViolation
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory


@dataclass(slots=True)
class Advance:
    """A one-off advance, invoiced on or after its invoice date."""

    id: str
    organization_id: str
    engagement_id: str
    amount: Money
    invoice_date: date
    description: str
    created_at: datetime
    vat_category: VatCategory = VatCategory.STANDARD
    vat_rate: Decimal = Decimal("21")
    invoice_id: str | None = None

    @property
    def billing_key(self) -> str:
        return f"advance:{self.id}"

    def check_ready(self, as_of: date) -> None:
        if as_of < self.invoice_date:
            raise RuleViolation(
                f"this advance can be invoiced only from its invoice date, "
                f"{self.invoice_date.isoformat()}",
                code="advance.not_ready",
                details={"invoice_date": self.invoice_date.isoformat(), "as_of": as_of.isoformat()},
            )
