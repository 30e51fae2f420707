"""The document model: one frozen, renderable view of an issued invoice version or credit note.

PDF, UBL and CII are all rendered from a ``Document`` built here from the frozen snapshot of a
sent version (or an issued credit note), never from live rows: the seller and buyer as they
were sent (with the recipient's amendments, which are part of the current version), the PO,
the quote reference, the lines, the VAT breakdown, totals, payment instructions, and the hash
of the document's last event in the organization's chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from engagebill.domain.errors import RuleViolation
from engagebill.domain.invoices import InvoiceKind, InvoiceLine, PartySnapshot, Totals
from engagebill.services.ports import Context


class DocumentKind(StrEnum):
    INVOICE = "invoice"  # UNTDID 1001 code 380, or 386 for an advance (prepayment) invoice
    CREDIT_NOTE = "credit_note"  # code 381

    @property
    def type_code(self) -> str:
        return "380" if self is DocumentKind.INVOICE else "381"


@dataclass(frozen=True, slots=True)
class Document:
    """Everything printed on, or exported from, one issued document."""

    kind: DocumentKind
    id: str
    number: str
    version: int
    issue_date: date
    due_date: date | None
    currency: str
    seller: PartySnapshot
    buyer: PartySnapshot
    lines: tuple[InvoiceLine, ...]
    totals: Totals
    purchase_order: str  # BT-13
    buyer_reference: str  # BT-10: the buyer's cost centre, else the PO, else our number
    buyer_accounting_reference: str  # BT-19: the cost centre
    quote_reference: str  # BT-11 / tender or project reference
    preceding_invoice: str  # BT-25, credit notes only
    preceding_invoice_date: date | None
    payment_terms: str  # BT-20
    iban: str  # BT-84
    note: str  # BT-22
    engagement_name: str
    chain_hash: str  # hash of the document's last event (footer)
    content_hash: str
    # An advance invoice: a prepayment that later invoices deduct as their prepaid amount.
    prepayment: bool = False

    @property
    def type_code(self) -> str:
        """The document type (BT-3): 380 invoice, 386 prepayment invoice, 381 credit note."""
        return "386" if self.prepayment else self.kind.type_code


def _payment_terms(issue: date, due: date | None) -> str:
    if due is None:
        return ""
    return f"Net {(due - issue).days} days, due {due.isoformat()}"


def invoice_document(
    ctx: Context, *, organization_id: str, invoice_id: str, version: int | None = None
) -> Document:
    """The document of a sent invoice's version (default: the current one)."""
    with ctx.uow() as uow:
        invoice = uow.invoices.get(organization_id, invoice_id)
        if invoice.number is None:
            raise RuleViolation(
                "a draft has no document yet: send it first", code="document.not_issued"
            )
        chosen = (
            invoice.versions[-1]
            if version is None
            else next((v for v in invoice.versions if v.version == version), None)
        )
        if chosen is None or not chosen.frozen:
            raise RuleViolation(
                f"invoice {invoice.number} has no version {version}",
                code="document.unknown_version",
            )
        engagement = uow.engagements.get(organization_id, invoice.engagement_id)
        events = uow.events.for_subject(organization_id, invoice.id)
    current = chosen.version == invoice.version
    # Amendments belong to the current version; earlier versions print as they were sent.
    buyer = (invoice.effective_buyer() if current else chosen.buyer) or chosen.buyer
    po = invoice.effective_purchase_order() if current else chosen.purchase_order
    assert buyer is not None and chosen.seller is not None
    po_number = po.number if po else ""
    return Document(
        kind=DocumentKind.INVOICE,
        id=invoice.id,
        number=invoice.number,
        version=chosen.version,
        issue_date=chosen.issue_date,
        due_date=chosen.due_date,
        currency=invoice.currency,
        seller=chosen.seller,
        buyer=buyer,
        lines=tuple(chosen.lines),
        totals=chosen.totals(),
        purchase_order=po_number,
        buyer_reference=buyer.cost_centre or po_number or invoice.number,
        buyer_accounting_reference=buyer.cost_centre,
        quote_reference=chosen.quote_reference,
        preceding_invoice="",
        preceding_invoice_date=None,
        payment_terms=_payment_terms(chosen.issue_date, chosen.due_date),
        iban=chosen.seller.iban,
        note=chosen.notes,
        engagement_name=engagement.name,
        chain_hash=events[-1].hash if events else "",
        content_hash=chosen.content_hash,
        prepayment=invoice.kind is InvoiceKind.ADVANCE,
    )


def credit_note_document(ctx: Context, *, organization_id: str, credit_note_id: str) -> Document:
    with ctx.uow() as uow:
        note = uow.credit_notes.get(organization_id, credit_note_id)
        invoice = uow.invoices.get(organization_id, note.invoice_id)
        engagement = uow.engagements.get(organization_id, note.engagement_id)
        events = uow.events.for_subject(organization_id, note.id)
    return Document(
        kind=DocumentKind.CREDIT_NOTE,
        id=note.id,
        number=note.number,
        version=1,
        issue_date=note.issue_date,
        due_date=None,
        currency=note.currency,
        seller=note.seller,
        buyer=note.buyer,
        lines=tuple(note.lines),
        totals=note.totals(),
        purchase_order=note.purchase_order_number,
        buyer_reference=note.buyer.cost_centre or note.purchase_order_number or note.number,
        buyer_accounting_reference=note.buyer.cost_centre,
        quote_reference="",
        preceding_invoice=note.invoice_number,
        preceding_invoice_date=invoice.versions[0].issue_date,
        payment_terms="",
        iban=note.seller.iban,
        note=note.reason,
        engagement_name=engagement.name,
        chain_hash=events[-1].hash if events else "",
        content_hash=note.content_hash,
    )
