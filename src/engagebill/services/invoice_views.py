"""Read models of the agency's app: the invoice list and the invoice page.

Each is one read-only use case returning what its page shows, so that routes only parse,
call and render. The rules the pages depend on live here as small pure functions:

* ``shown_state``: the lifecycle state, except that an issued invoice whose payment status is
  paid (or overpaid) reads "Paid". Payment status is derived, never stored (DESIGN, invoice
  lifecycle); this mirrors ``Invoice.payment_status`` for list rows, which are read without
  loading every aggregate.
* ``days_since``: how long ago an invoice was sent, counted in whole days to ``as_of``.
* ``InvoiceActions``: which agency actions the lifecycle allows now, so a page offers only
  those (the use cases still refuse anything else).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from engagebill.domain.access import PrivateLink
from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.engagement_account import InvoicePosition
from engagebill.domain.engagements import Engagement, EngagementKind
from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import Invoice, InvoiceKind
from engagebill.domain.lifecycle import (
    ISSUED_STATES,
    InvoiceAction,
    InvoiceState,
    PaymentStatus,
    allowed,
)
from engagebill.domain.money import Money
from engagebill.domain.parties import Client
from engagebill.domain.purchase_orders import Warning
from engagebill.domain.version_diff import VersionDiff, diff_versions
from engagebill.services.invoicing import po_warnings
from engagebill.services.ports import Context, InvoiceFilter, InvoiceSummary

MAX_PAGE = 200


class ShownState(StrEnum):
    """The state an invoice list shows: the lifecycle's, plus Paid (derived)."""

    DRAFT = "draft"
    SENT = "sent"
    VIEWED = "viewed"
    CHANGE_REQUESTED = "change_requested"
    APPROVED = "approved"
    LOCKED = "locked"
    PAID = "paid"
    VOID = "void"


def shown_state(state: InvoiceState, position: InvoicePosition) -> ShownState:
    """Paid once an issued invoice is settled; a draft or a void invoice is never Paid."""
    if state in ISSUED_STATES and position.status in (
        PaymentStatus.PAID,
        PaymentStatus.OVERPAID,
    ):
        return ShownState.PAID
    return ShownState(state.value)


def days_since(moment: datetime | None, as_of: date) -> int | None:
    return None if moment is None else max((as_of - moment.date()).days, 0)


# --- the invoice list ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InvoiceRow:
    summary: InvoiceSummary
    shown: ShownState
    days_since_sent: int | None

    @property
    def outstanding(self) -> Money:
        return self.summary.position.outstanding


def invoice_row(
    summary: InvoiceSummary, as_of: date, *, sent_at: datetime | None = None
) -> InvoiceRow:
    """A list row; ``sent_at`` counts the days from another moment than the first sending
    (reports know when a revision sent the invoice again)."""
    return InvoiceRow(
        summary,
        shown_state(summary.state, summary.position),
        days_since(sent_at or summary.sent_at, as_of),
    )


@dataclass(frozen=True, slots=True)
class InvoiceList:
    """One page of invoices, newest first, and what the filter form offers."""

    rows: list[InvoiceRow]
    next_after: tuple[datetime, str] | None  # the cursor of the next page, if there is one
    clients: list[Client]
    engagements: list[Engagement]
    as_of: date


def invoice_list(
    ctx: Context, *, organization_id: str, query: InvoiceFilter, as_of: date | None = None
) -> InvoiceList:
    """Invoices matching ``query`` (``query.limit`` of them from ``query.after``)."""
    if query.issued_from and query.issued_to and query.issued_to < query.issued_from:
        raise ValidationError(
            "the end of the date range is before its start", code="invoice_list.invalid_range"
        )
    limit = max(1, min(query.limit, MAX_PAGE))
    day = as_of or ctx.clock.today()
    with ctx.uow() as uow:
        summaries = uow.invoices.list(
            organization_id,
            InvoiceFilter(
                states=query.states,
                client_id=query.client_id,
                engagement_id=query.engagement_id,
                issued_from=query.issued_from,
                issued_to=query.issued_to,
                after=query.after,
                limit=limit + 1,  # one more tells whether there is a next page
            ),
        )
        clients = sorted(uow.clients.list(organization_id), key=lambda c: c.name.lower())
        engagements = uow.engagements.list(organization_id)
    names = {c.id: c.name.lower() for c in clients}
    engagements.sort(key=lambda e: (names.get(e.client_id, ""), e.name.lower()))
    page = summaries[:limit]
    more = len(summaries) > limit
    return InvoiceList(
        rows=[invoice_row(s, day) for s in page],
        next_after=(page[-1].created_at, page[-1].id) if more and page else None,
        clients=clients,
        engagements=engagements,
        as_of=day,
    )


# --- the invoice page ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LinkView:
    link: PrivateLink
    views: list[datetime]
    usable: bool


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    seq: int
    at: datetime
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InvoiceActions:
    """What the agency may do with the invoice in its current state."""

    edit: bool = False
    send: bool = False
    revise: bool = False
    lock: bool = False
    record_payment: bool = False
    credit: bool = False
    resend: bool = False
    reuse: bool = False  # duplicate, save as template
    schedule: bool = False  # start a retainer schedule from it


def invoice_actions(invoice: Invoice, engagement: Engagement) -> InvoiceActions:
    state = invoice.state
    reusable = invoice.kind is InvoiceKind.STANDARD and bool(invoice.current.lines)
    return InvoiceActions(
        edit=allowed(state, InvoiceAction.EDIT_DRAFT),
        send=allowed(state, InvoiceAction.SEND),
        revise=allowed(state, InvoiceAction.REVISE),
        lock=allowed(state, InvoiceAction.LOCK),
        record_payment=allowed(state, InvoiceAction.RECORD_PAYMENT),
        credit=allowed(state, InvoiceAction.CREDIT_PART),
        resend=invoice.number is not None and state in ISSUED_STATES,
        reuse=reusable,
        schedule=reusable and engagement.kind is EngagementKind.RETAINER,
    )


@dataclass(frozen=True, slots=True)
class InvoicePage:
    invoice: Invoice
    client_name: str
    engagement: Engagement
    shown: ShownState
    payment_status: PaymentStatus
    days_since_sent: int | None
    credit_notes: list[CreditNote]
    links: list[LinkView]
    timeline: list[TimelineEntry]  # newest first
    diffs: list[VersionDiff]  # consecutive versions, newest first
    actions: InvoiceActions
    po_warnings: list[Warning] = field(default_factory=list)  # what sending would refuse


def invoice_page(
    ctx: Context, *, organization_id: str, invoice_id: str, as_of: date | None = None
) -> InvoicePage:
    """Everything the invoice page shows; ``invoice.not_found`` for another organization's."""
    day = as_of or ctx.clock.today()
    now = ctx.clock.now()
    with ctx.uow() as uow:
        invoice = uow.invoices.get(organization_id, invoice_id)
        engagement = uow.engagements.get(organization_id, invoice.engagement_id)
        client = uow.clients.get(organization_id, invoice.client_id)
        notes = uow.credit_notes.for_invoice(organization_id, invoice_id)
        events = uow.events.for_subject(organization_id, invoice_id)
        links = [
            LinkView(link, uow.links.views(organization_id, link.id), link.usable_at(now))
            for link in uow.links.for_document(organization_id, invoice_id)
        ]
        warnings = po_warnings(uow, invoice) if invoice.state is InvoiceState.DRAFT else []
    return InvoicePage(
        invoice=invoice,
        client_name=client.name,
        engagement=engagement,
        shown=shown_state(invoice.state, invoice.position),
        payment_status=invoice.payment_status,
        days_since_sent=days_since(invoice.sent_at, day),
        credit_notes=notes,
        links=links,
        timeline=[
            TimelineEntry(e.seq, datetime.fromisoformat(e.occurred_at), e.kind, e.data)
            for e in sorted(events, key=lambda e: e.seq, reverse=True)
        ],
        diffs=diff_versions(invoice.versions),
        actions=invoice_actions(invoice, engagement),
        po_warnings=warnings,
    )
