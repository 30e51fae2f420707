"""Read-side use cases: invoice lists, one invoice with its history; clients, engagements,
POs (with what was consumed of them), retainer schedules, advances, credit notes and events.

They read through ``ctx.read()``: a snapshot that neither waits for nor holds up a writer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, TypeVar

from engagebill.domain.advances import Advance
from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.engagements import Engagement, EngagementKind
from engagebill.domain.events import EventRecord
from engagebill.domain.invoices import Invoice
from engagebill.domain.money import Money
from engagebill.domain.parties import Client
from engagebill.domain.purchase_orders import PurchaseOrder
from engagebill.domain.schedules import RetainerSchedule
from engagebill.services.ports import (
    Context,
    CreditNoteFilter,
    CreditNoteSummary,
    InvoiceFilter,
    InvoiceSummary,
    UnitOfWork,
)


@dataclass(slots=True)
class InvoiceDetail:
    invoice: Invoice
    credit_notes: list[CreditNote]
    events: list[EventRecord]


def list_invoices(
    ctx: Context, *, organization_id: str, query: InvoiceFilter | None = None
) -> list[InvoiceSummary]:
    with ctx.read() as uow:
        return uow.invoices.list(organization_id, query or InvoiceFilter())


def get_invoice(ctx: Context, *, organization_id: str, invoice_id: str) -> InvoiceDetail:
    with ctx.read() as uow:
        invoice = uow.invoices.get(organization_id, invoice_id)
        return InvoiceDetail(
            invoice=invoice,
            credit_notes=uow.credit_notes.for_invoice(organization_id, invoice_id),
            events=uow.events.for_subject(organization_id, invoice_id),
        )


# --- parties and agreements ------------------------------------------------------------------
# Clients, engagements, POs, schedules and advances are a few hundred rows per organization at
# most, so their lists are read whole and paged here by the same keyset as invoices: newest
# first by (created_at, id), ``after`` being the last row of the previous page.

Row = TypeVar("Row")


def keyset_page(
    rows: Iterable[Row],
    *,
    key: Callable[[Row], tuple[datetime, str]],
    after: tuple[datetime, str] | None,
    limit: int | None,
) -> list[Row]:
    """At most ``limit`` rows (None: all), newest first by ``key``, of those that come after
    ``after``."""
    ordered = sorted(rows, key=key, reverse=True)
    if after is not None:
        ordered = [row for row in ordered if key(row) < after]
    return ordered[:limit]


def _created(row: Client | Engagement | RetainerSchedule | Advance) -> tuple[datetime, str]:
    return row.created_at, row.id


def list_clients(
    ctx: Context,
    *,
    organization_id: str,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
) -> list[Client]:
    with ctx.read() as uow:
        clients = uow.clients.list(organization_id)
    return keyset_page(clients, key=_created, after=after, limit=limit)


def get_client(ctx: Context, *, organization_id: str, client_id: str) -> Client:
    with ctx.read() as uow:
        return uow.clients.get(organization_id, client_id)


def list_engagements(
    ctx: Context,
    *,
    organization_id: str,
    client_id: str | None = None,
    kind: EngagementKind | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
) -> list[Engagement]:
    with ctx.read() as uow:
        engagements = uow.engagements.list(organization_id, client_id)
    wanted = [e for e in engagements if kind is None or e.kind is kind]
    return keyset_page(wanted, key=_created, after=after, limit=limit)


def get_engagement(ctx: Context, *, organization_id: str, engagement_id: str) -> Engagement:
    with ctx.read() as uow:
        return uow.engagements.get(organization_id, engagement_id)


PoValidity = Literal["valid", "expired", "not_yet_valid"]


@dataclass(frozen=True, slots=True)
class PurchaseOrderUsage:
    """A PO with what issued invoices consumed of it (net, less credit notes) and whether it
    is valid on ``as_of``."""

    purchase_order: PurchaseOrder
    consumed: Money
    as_of: date

    @property
    def remaining(self) -> Money | None:
        ceiling = self.purchase_order.ceiling
        return None if ceiling is None else ceiling - self.consumed

    @property
    def validity(self) -> PoValidity:
        """``valid``, ``expired`` or ``not_yet_valid`` on ``as_of``."""
        po = self.purchase_order
        if po.valid_to is not None and self.as_of > po.valid_to:
            return "expired"
        if po.valid_from is not None and self.as_of < po.valid_from:
            return "not_yet_valid"
        return "valid"


def _usage(uow: UnitOfWork, po: PurchaseOrder, as_of: date) -> PurchaseOrderUsage:
    return PurchaseOrderUsage(po, uow.purchase_orders.consumed(po.organization_id, po.id), as_of)


def list_purchase_orders(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int | None = 100,
) -> list[PurchaseOrderUsage]:
    """POs newest first with their consumption; with ``engagement_id`` that engagement's
    (``engagement.not_found`` when it is not this organization's). ``limit=None``: all."""
    today = ctx.clock.today()
    with ctx.read() as uow:
        if engagement_id is not None:
            uow.engagements.get(organization_id, engagement_id)
        page = keyset_page(
            uow.purchase_orders.list(organization_id, engagement_id),
            key=lambda po: (po.created_at, po.id),
            after=after,
            limit=limit,
        )
        return [_usage(uow, po, today) for po in page]


def get_purchase_order(
    ctx: Context, *, organization_id: str, purchase_order_id: str
) -> PurchaseOrderUsage:
    with ctx.read() as uow:
        po = uow.purchase_orders.get(organization_id, purchase_order_id)
        return _usage(uow, po, ctx.clock.today())


def list_schedules(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str | None = None,
    active_only: bool = False,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
) -> list[RetainerSchedule]:
    with ctx.read() as uow:
        schedules = uow.retainers.schedules(organization_id, engagement_id, active_only=active_only)
    return keyset_page(schedules, key=_created, after=after, limit=limit)


def get_schedule(ctx: Context, *, organization_id: str, schedule_id: str) -> RetainerSchedule:
    with ctx.read() as uow:
        return uow.retainers.get_schedule(organization_id, schedule_id)


def list_advances(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str | None = None,
    uninvoiced_only: bool = False,
    after: tuple[datetime, str] | None = None,
    limit: int = 100,
) -> list[Advance]:
    with ctx.read() as uow:
        advances = uow.retainers.advances(
            organization_id, engagement_id, uninvoiced_only=uninvoiced_only
        )
    return keyset_page(advances, key=_created, after=after, limit=limit)


def get_advance(ctx: Context, *, organization_id: str, advance_id: str) -> Advance:
    with ctx.read() as uow:
        return uow.retainers.get_advance(organization_id, advance_id)


# --- credit notes and events -----------------------------------------------------------------
def list_credit_notes(
    ctx: Context, *, organization_id: str, query: CreditNoteFilter | None = None
) -> list[CreditNoteSummary]:
    with ctx.read() as uow:
        return uow.credit_notes.list(organization_id, query or CreditNoteFilter())


def get_credit_note(ctx: Context, *, organization_id: str, credit_note_id: str) -> CreditNote:
    with ctx.read() as uow:
        return uow.credit_notes.get(organization_id, credit_note_id)


def list_events(
    ctx: Context,
    *,
    organization_id: str,
    after_seq: int = 0,
    limit: int = 100,
    subject_id: str | None = None,
) -> list[EventRecord]:
    """The organization's audit trail, oldest first, from just after ``after_seq``."""
    with ctx.read() as uow:
        return uow.events.page(
            organization_id, after_seq=after_seq, limit=limit, subject_id=subject_id
        )
