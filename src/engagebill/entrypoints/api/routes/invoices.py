"""/invoices: create and edit drafts, send, revise, record payments, lock, credit."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from engagebill.domain.lifecycle import InvoiceState
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import (
    CreditNoteOut,
    Day,
    Decimalish,
    InvoiceOut,
    InvoicePositionOut,
    LineIn,
    Model,
    Page,
    WarningOut,
    credit_note_out,
    invoice_out,
    position_fields,
    warnings_out,
)
from engagebill.services import invoicing, queries, recipient, settlement
from engagebill.services.invoicing import UNSET
from engagebill.services.links import IssuedLink
from engagebill.services.ports import InvoiceFilter, InvoiceSummary

router = APIRouter(prefix="/invoices", tags=["invoices"])


class InvoiceSummaryOut(InvoicePositionOut):
    id: str
    number: str | None
    version: int
    state: str
    client_id: str
    client_name: str
    engagement_id: str
    engagement_name: str
    po_number: str | None
    issue_date: date
    due_date: date
    sent_at: datetime | None
    created_at: datetime


def summary_out(row: InvoiceSummary) -> InvoiceSummaryOut:
    return InvoiceSummaryOut(
        id=row.id,
        number=row.number,
        version=row.version,
        state=row.state.value,
        client_id=row.client_id,
        client_name=row.client_name,
        engagement_id=row.engagement_id,
        engagement_name=row.engagement_name,
        po_number=row.po_number,
        **position_fields(row.position),
        issue_date=row.issue_date,
        due_date=row.due_date,
        sent_at=row.sent_at,
        created_at=row.created_at,
    )


class DraftIn(Model):
    engagement_id: str
    lines: Annotated[list[LineIn], Field(default_factory=list, max_length=1000)]
    issue_date: Day | None = None
    purchase_order_id: str | None = Field(
        default=None, description="The PO to carry; omitted: the engagement's default PO"
    )
    notes: Annotated[str, Field(max_length=5000)] = ""
    quote_reference: Annotated[str, Field(max_length=100)] = ""


class DraftEditIn(Model):
    lines: Annotated[list[LineIn], Field(max_length=1000)] | None = None
    issue_date: Day | None = None
    purchase_order_id: str | None = Field(default=None, description="null removes the PO")
    notes: Annotated[str, Field(max_length=5000)] | None = None


class DraftOut(Model):
    invoice: InvoiceOut
    warnings: list[WarningOut]


class SendIn(Model):
    override_reason: Annotated[str, Field(max_length=2000)] = ""


class LinkOut(Model):
    id: str
    recipient_email: str
    url: str
    expires_at: datetime


class SentOut(Model):
    invoice: InvoiceOut
    links: list[LinkOut]


class ReviseIn(Model):
    lines: Annotated[list[LineIn], Field(max_length=1000)] | None = None
    notes: Annotated[str, Field(max_length=5000)] | None = None


class PaymentIn(Model):
    amount: Decimalish
    received_on: Day | None = None
    reference: Annotated[str, Field(max_length=200)] = ""


class CreditIn(Model):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    lines: Annotated[list[LineIn], Field(max_length=1000)] | None = None
    issue_date: Day | None = None


class ApproveIn(Model):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class ChangeRequestIn(Model):
    message: Annotated[str, Field(min_length=1, max_length=5000)]
    by: Annotated[str, Field(max_length=200)] = "recipient"


class AmendIn(Model):
    by: Annotated[str, Field(max_length=200)] = "recipient"
    purchase_order_number: Annotated[str, Field(max_length=100)] | None = None
    cost_centre: Annotated[str, Field(max_length=100)] | None = None


class EventOut(Model):
    seq: int
    kind: str
    occurred_at: str
    data: dict[str, Any]
    hash: str


def link_url(request: Request, token: str) -> str:
    base = str(request.app.state.public_url or request.base_url).rstrip("/")
    return f"{base}/l/{token}"


def links_out(request: Request, issued: list[IssuedLink]) -> list[LinkOut]:
    return [
        LinkOut(
            id=i.link.id,
            recipient_email=i.link.recipient_email,
            url=link_url(request, i.token),
            expires_at=i.link.expires_at,
        )
        for i in issued
    ]


@router.get("", response_model=Page[InvoiceSummaryOut])
def list_invoices(
    ctx: Ctx,
    key: Reader,
    state: Annotated[list[InvoiceState] | None, Query()] = None,
    client_id: str | None = None,
    engagement_id: str | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[InvoiceSummaryOut]:
    """Invoices, newest first, with their lifecycle state; filter by state, client,
    engagement and issue date."""
    rows = queries.list_invoices(
        ctx,
        organization_id=key.organization_id,
        query=InvoiceFilter(
            states=state or [],
            client_id=client_id,
            engagement_id=engagement_id,
            issued_from=issued_from,
            issued_to=issued_to,
            after=pagination.decode(cursor),
            limit=limit + 1,
        ),
    )
    items = [summary_out(r) for r in rows[:limit]]
    more = len(rows) > limit
    return Page[InvoiceSummaryOut](
        items=items,
        next_cursor=pagination.encode(rows[limit - 1].created_at, rows[limit - 1].id)
        if more
        else None,
    )


@router.post("", status_code=201, response_model=DraftOut)
def create_invoice(body: DraftIn, ctx: Ctx, key: Writer) -> DraftOut:
    """Create a draft on one engagement; it has no number until it is sent."""
    fields = body.model_fields_set
    result = invoicing.create_draft(
        ctx,
        organization_id=key.organization_id,
        engagement_id=body.engagement_id,
        lines=[ln.to_input() for ln in body.lines],
        issue_date=body.issue_date,
        purchase_order_id=body.purchase_order_id if "purchase_order_id" in fields else UNSET,
        notes=body.notes,
        quote_reference=body.quote_reference,
    )
    return DraftOut(invoice=invoice_out(result.invoice), warnings=warnings_out(result.warnings))


@router.get("/{invoice_id}", response_model=InvoiceOut)
def get_invoice(invoice_id: str, ctx: Ctx, key: Reader) -> InvoiceOut:
    detail = queries.get_invoice(ctx, organization_id=key.organization_id, invoice_id=invoice_id)
    return invoice_out(detail.invoice)


@router.patch("/{invoice_id}", response_model=DraftOut)
def edit_invoice(invoice_id: str, body: DraftEditIn, ctx: Ctx, key: Writer) -> DraftOut:
    """Edit a draft; a sent invoice changes only by revision or credit note."""
    fields = body.model_fields_set
    result = invoicing.edit_draft(
        ctx,
        organization_id=key.organization_id,
        invoice_id=invoice_id,
        lines=[ln.to_input() for ln in body.lines] if body.lines is not None else None,
        issue_date=body.issue_date,
        purchase_order_id=body.purchase_order_id if "purchase_order_id" in fields else UNSET,
        notes=body.notes,
    )
    return DraftOut(invoice=invoice_out(result.invoice), warnings=warnings_out(result.warnings))


@router.post("/{invoice_id}/send", response_model=SentOut)
def send_invoice(invoice_id: str, body: SendIn, request: Request, ctx: Ctx, key: Writer) -> SentOut:
    """Send: the invoice takes its number now, and each AP contact gets a private link (shown
    here once; only a hash is kept)."""
    issued: list[IssuedLink] = []
    invoice = invoicing.send_invoice(
        ctx,
        organization_id=key.organization_id,
        invoice_id=invoice_id,
        override_reason=body.override_reason,
        issued=issued,
    )
    return SentOut(invoice=invoice_out(invoice), links=links_out(request, issued))


@router.post("/{invoice_id}/revise", response_model=InvoiceOut)
def revise_invoice(invoice_id: str, body: ReviseIn, ctx: Ctx, key: Writer) -> InvoiceOut:
    """Answer a change request: version n+1 with the same number."""
    return invoice_out(
        invoicing.revise_invoice(
            ctx,
            organization_id=key.organization_id,
            invoice_id=invoice_id,
            lines=[ln.to_input() for ln in body.lines] if body.lines is not None else None,
            notes=body.notes,
        )
    )


@router.post("/{invoice_id}/approve", response_model=InvoiceOut)
def approve_invoice(invoice_id: str, body: ApproveIn, ctx: Ctx, key: Writer) -> InvoiceOut:
    """Record the client's approval, with the approver's typed name."""
    return invoice_out(
        recipient.approve_invoice(
            ctx, organization_id=key.organization_id, invoice_id=invoice_id, name=body.name
        )
    )


@router.post("/{invoice_id}/change-requests", response_model=InvoiceOut)
def request_change(invoice_id: str, body: ChangeRequestIn, ctx: Ctx, key: Writer) -> InvoiceOut:
    return invoice_out(
        recipient.request_change(
            ctx,
            organization_id=key.organization_id,
            invoice_id=invoice_id,
            message=body.message,
            by=body.by,
        )
    )


@router.post("/{invoice_id}/amendments", response_model=InvoiceOut)
def amend_invoice(invoice_id: str, body: AmendIn, ctx: Ctx, key: Writer) -> InvoiceOut:
    """Record an amendment (PO number, cost centre): same number, same version."""
    return invoice_out(
        recipient.amend_invoice(
            ctx,
            organization_id=key.organization_id,
            invoice_id=invoice_id,
            by=body.by,
            purchase_order_number=body.purchase_order_number,
            cost_centre=body.cost_centre,
        )
    )


@router.post("/{invoice_id}/payments", response_model=InvoiceOut)
def record_payment(invoice_id: str, body: PaymentIn, ctx: Ctx, key: Writer) -> InvoiceOut:
    """Record money received; partial payments are fine and the first one locks."""
    return invoice_out(
        settlement.record_payment(
            ctx,
            organization_id=key.organization_id,
            invoice_id=invoice_id,
            amount=body.amount,
            received_on=body.received_on,
            reference=body.reference,
        )
    )


@router.post("/{invoice_id}/lock", response_model=InvoiceOut)
def lock_invoice(invoice_id: str, ctx: Ctx, key: Writer) -> InvoiceOut:
    return invoice_out(
        settlement.lock_invoice(ctx, organization_id=key.organization_id, invoice_id=invoice_id)
    )


@router.post("/{invoice_id}/credit-notes", status_code=201, response_model=CreditNoteOut)
def credit_invoice(invoice_id: str, body: CreditIn, ctx: Ctx, key: Writer) -> CreditNoteOut:
    """Issue a credit note; without lines it credits what is left and voids the invoice."""
    return credit_note_out(
        settlement.issue_credit_note(
            ctx,
            organization_id=key.organization_id,
            invoice_id=invoice_id,
            reason=body.reason,
            lines=[ln.to_input() for ln in body.lines] if body.lines is not None else None,
            issue_date=body.issue_date,
        )
    )


@router.get("/{invoice_id}/events", response_model=list[EventOut])
def invoice_events(invoice_id: str, ctx: Ctx, key: Reader) -> list[EventOut]:
    detail = queries.get_invoice(ctx, organization_id=key.organization_id, invoice_id=invoice_id)
    return [
        EventOut(seq=e.seq, kind=e.kind, occurred_at=e.occurred_at, data=e.data, hash=e.hash)
        for e in detail.events
    ]
