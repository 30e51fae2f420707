"""Read-side use cases: invoice lists, one invoice with its history, engagements and POs."""

from __future__ import annotations

from dataclasses import dataclass

from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.events import EventRecord
from engagebill.domain.invoices import Invoice
from engagebill.services.ports import Context, InvoiceFilter, InvoiceSummary


@dataclass(slots=True)
class InvoiceDetail:
    invoice: Invoice
    credit_notes: list[CreditNote]
    events: list[EventRecord]


def list_invoices(
    ctx: Context, *, organization_id: str, query: InvoiceFilter | None = None
) -> list[InvoiceSummary]:
    with ctx.uow() as uow:
        return uow.invoices.list(organization_id, query or InvoiceFilter())


def get_invoice(ctx: Context, *, organization_id: str, invoice_id: str) -> InvoiceDetail:
    with ctx.uow() as uow:
        invoice = uow.invoices.get(organization_id, invoice_id)
        return InvoiceDetail(
            invoice=invoice,
            credit_notes=uow.credit_notes.for_invoice(organization_id, invoice_id),
            events=uow.events.for_subject(organization_id, invoice_id),
        )
