"""Advances: a prepaid balance on an engagement that approved work draws down.

An advance comes from an advance-mode retainer schedule (a managed-service agreement) or is a
one-off. It can be invoiced only once its invoice date has come; once invoiced its net amount
is available. Work invoiced on the engagement then applies the available balance: the invoice
shows gross, the applied advance (EN 16931 BT-113, prepaid) and the amount due. The draw-down
can be discarded on an invoice, and the unused balance is refunded by a credit note against
the advance invoice. Balances are kept in net amounts so that a refund credits exactly the VAT
groups of the advance invoice.
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


@dataclass(frozen=True, slots=True)
class AdvanceBalance:
    """The engagement's advance as of a date: invoiced, used, refunded, available (net)."""

    currency: str
    invoiced: Money
    used: Money
    refunded: Money

    @property
    def available(self) -> Money:
        return self.invoiced - self.used - self.refunded


def prepaid_for(net: Money, gross: Money, available: Money) -> tuple[Money, Money]:
    """How much of the available advance an invoice of ``net``/``gross`` uses.

    Returns ``(used_net, prepaid_gross)``: the net drawn from the balance, and the amount shown
    as prepaid on the invoice (its tax-inclusive equivalent, so a fully covered invoice is due
    0.00 exactly).
    """
    zero = Money.zero(net.currency)
    if available.amount <= 0 or net.amount <= 0:
        return zero, zero
    if available >= net:
        return net, gross
    prepaid = Money(available.amount * gross.amount / net.amount, net.currency).rounded()
    return available, prepaid
