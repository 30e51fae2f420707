"""The calendar feed: the dates an account manager should not have to remember.

This module owns *which* events a user's calendar shows and the private subscription token
that opens it without a session (the iCalendar text itself is written by the web layer):

* every retainer schedule's next invoice days (periods not billed yet, within ``HORIZON``),
  so the 1st of the month reminds itself;
* every PO's expiry (``valid_to``) that is still ahead: POs often expire at year-end and
  nobody mentions it until the invoice bounces;
* every issued, unpaid invoice's due date (past due ones too: they still need chasing).

An event's ``uid`` is built from what it is about (schedule and period, PO, invoice), never
from the fetch, so calendar apps update an event instead of duplicating it.

The subscription token is a capability like a private link: ``ctx.tokens()`` random, only its
SHA-256 stored, one per user; creating a new one replaces (revokes) the old.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from engagebill.domain.access import token_hash
from engagebill.domain.errors import NotFound
from engagebill.domain.lifecycle import ISSUED_STATES
from engagebill.domain.users import User
from engagebill.services.ports import Context, InvoiceFilter

HORIZON = timedelta(days=120)  # retainer invoice days this far ahead (about four months)
MAX_INVOICES = 100_000


class EventKind(StrEnum):
    RETAINER_INVOICE = "retainer_invoice"
    PO_EXPIRY = "po_expiry"
    INVOICE_DUE = "invoice_due"


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """One all-day event of the feed."""

    uid: str  # stable across fetches: what the event is about, not when it was read
    kind: EventKind
    on: date
    summary: str
    description: str


@dataclass(frozen=True, slots=True)
class CalendarFeed:
    organization_id: str
    as_of: date
    events: list[CalendarEvent]


def upcoming_events(
    ctx: Context, *, organization_id: str, as_of: date | None = None
) -> CalendarFeed:
    """The organization's upcoming retainer invoice days, PO expiries and invoice due dates."""
    today = as_of or ctx.clock.today()
    events: list[CalendarEvent] = []
    with ctx.uow() as uow:
        organization = uow.organizations.get(organization_id)
        first_business_day = ctx.calendars.first_business_day(organization.country_code)
        engagements = {e.id: e for e in uow.engagements.list(organization_id)}
        clients = {c.id: c.name for c in uow.clients.list(organization_id)}
        upcoming = []
        for schedule in uow.retainers.schedules(organization_id):
            for period in schedule.periods(first_business_day):
                if period.invoice_date > today + HORIZON:
                    break
                if period.invoice_date >= today:
                    upcoming.append((schedule, period))
        billed = uow.invoices.existing_billing_keys(
            organization_id, [s.billing_key(p) for s, p in upcoming]
        )
        for schedule, period in upcoming:
            key = schedule.billing_key(period)
            if key in billed:
                continue
            engagement = engagements[schedule.engagement_id]
            client = clients.get(engagement.client_id, "")
            events.append(
                CalendarEvent(
                    uid=f"{key.replace(':', '-')}@engagebill",
                    kind=EventKind.RETAINER_INVOICE,
                    on=period.invoice_date,
                    summary=f"Retainer invoice: {client}, {engagement.name}",
                    description=f"{period.describe(schedule.line_template)}: "
                    f"{schedule.amount.format()}. Run the billing run for this day.",
                )
            )
        for po in uow.purchase_orders.list(organization_id):
            if po.valid_to is None or po.valid_to < today:
                continue
            engagement = engagements[po.engagement_id]
            client = clients.get(engagement.client_id, "")
            events.append(
                CalendarEvent(
                    uid=f"po-expiry-{po.id}@engagebill",
                    kind=EventKind.PO_EXPIRY,
                    on=po.valid_to,
                    summary=f"PO {po.number} expires: {client}, {engagement.name}",
                    description=f"Ask {client} for the next PO before invoicing "
                    f"{engagement.name} after {po.valid_to.isoformat()}.",
                )
            )
        invoices = uow.invoices.list(
            organization_id,
            InvoiceFilter(states=tuple(sorted(ISSUED_STATES)), limit=MAX_INVOICES),
        )
    for invoice in invoices:
        owed = invoice.position.outstanding
        if owed.amount <= 0:
            continue
        events.append(
            CalendarEvent(
                uid=f"invoice-due-{invoice.id}@engagebill",
                kind=EventKind.INVOICE_DUE,
                on=invoice.due_date,
                summary=f"Invoice {invoice.number} due: {invoice.client_name}",
                description=f"{owed.format()} outstanding on {invoice.number} "
                f"({invoice.engagement_name}).",
            )
        )
    events.sort(key=lambda e: (e.on, e.kind, e.uid))
    return CalendarFeed(organization_id, today, events)


# --- the private subscription ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class IssuedFeed:
    """A subscription just created: the only moment its token is known."""

    token: str
    created_at: datetime


def issue_feed_token(ctx: Context, *, user_id: str) -> IssuedFeed:
    """A new private feed token for the user; the previous one stops working."""
    token = ctx.tokens()
    now = ctx.clock.now()
    with ctx.uow() as uow:
        uow.calendar_feeds.replace(user_id, token_hash(token), now)
        uow.commit()
    return IssuedFeed(token, now)


def feed_created_at(ctx: Context, *, user_id: str) -> datetime | None:
    """When the user's current subscription was created, or None without one."""
    with ctx.uow() as uow:
        return uow.calendar_feeds.created_at(user_id)


def feed_owner(ctx: Context, *, token: str) -> User:
    """The user a subscription token belongs to; ``NotFound`` for any other token (unknown,
    replaced, or the user gone): a feed URL tells nothing about why it does not open."""
    with ctx.uow() as uow:
        user_id = uow.calendar_feeds.user_for(token_hash(token))
        user = uow.users.get(user_id) if user_id is not None else None
    if user is None:
        raise NotFound("no such calendar feed", code="calendar_feed.not_found")
    return user
