"""Credit notes: the only way to reduce or cancel an issued invoice.

A credit note references the invoice it corrects (EN 16931 BT-25), has its own number series,
and is issued at once: it takes its number in the transaction that creates it. Its lines are
positive amounts that are taken off the invoice; crediting everything not yet credited voids
the invoice. A credit note against an advance invoice refunds the unused advance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engagebill.domain.events import DomainEvent
from engagebill.domain.invoices import InvoiceLine, PartySnapshot, Totals, compute_totals


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
    pending_events: list[DomainEvent] = field(default_factory=list)

    def totals(self) -> Totals:
        return compute_totals(self.lines, self.currency)

    def issued_event(self) -> DomainEvent:
        totals = self.totals()
        payload: dict[str, Any] = {
            "number": self.number,
            "invoice_id": self.invoice_id,
            "invoice_number": self.invoice_number,
            "gross": str(totals.gross.amount),
            "currency": self.currency,
            "reason": self.reason,
            "content_hash": self.content_hash,
        }
        return DomainEvent("credit_note.issued", "credit_note", self.id, self.created_at, payload)
