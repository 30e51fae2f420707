"""Credit notes: the only way to reduce or cancel an issued invoice.

A credit note references the invoice it corrects (EN 16931 BT-25), has its own number series,
and is issued at once: it takes its number in the transaction that creates it. Its lines are
positive amounts that are taken off the invoice; crediting everything not yet credited voids
the invoice. A credit note against an advance invoice refunds the unused advance.

Its VAT per group and the part of it that goes back to the engagement's advance (its prepaid
amount, BT-113) are decided by the engagement account before it is issued
(``domain.engagement_account``) and stored with it: the tax of a group is not always the
note's own lines' tax, because the note that completes a group takes what is left of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from engagebill.domain.engagement_account import VatKey
from engagebill.domain.events import DomainEvent
from engagebill.domain.invoices import InvoiceLine, PartySnapshot, Totals, compute_totals
from engagebill.domain.money import Money


@dataclass(slots=True)
class CreditNote:
    id: str
    organization_id: str
    invoice_id: str
    invoice_number: str
    client_id: str
    engagement_id: str
    currency: str
    number: str
    issue_date: date
    lines: list[InvoiceLine]
    reason: str
    seller: PartySnapshot
    buyer: PartySnapshot
    created_at: datetime
    purchase_order_number: str = ""
    content_hash: str = ""
    # The tax of each VAT group as issued, when the account set it (see the module's doc).
    taxes: dict[VatKey, Money] = field(default_factory=dict)
    prepaid: Money | None = None  # gross given back to the advance: not payable to the client
    advance_returned: Money | None = None  # its net equivalent
    pending_events: list[DomainEvent] = field(default_factory=list)

    def totals(self) -> Totals:
        """Net, VAT and gross as issued; ``due`` is what is payable to the client."""
        base = compute_totals(self.lines, self.currency, self.prepaid)
        if not self.taxes:
            return base
        groups = tuple(
            replace(g, tax=self.taxes.get((g.category, g.rate), g.tax)) for g in base.breakdown
        )
        vat = Money.sum((g.tax for g in groups), self.currency)
        gross = base.net + vat
        return replace(base, vat=vat, gross=gross, due=gross - base.prepaid, breakdown=groups)

    def issued_event(self) -> DomainEvent:
        totals = self.totals()
        payload: dict[str, Any] = {
            "number": self.number,
            "invoice_id": self.invoice_id,
            "invoice_number": self.invoice_number,
            "gross": str(totals.gross.amount),
            "prepaid": str(totals.prepaid.amount),
            "currency": self.currency,
            "reason": self.reason,
            "content_hash": self.content_hash,
        }
        return DomainEvent("credit_note.issued", "credit_note", self.id, self.created_at, payload)
