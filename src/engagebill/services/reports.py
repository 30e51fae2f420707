"""Reports: where each client's invoices stand, whom to chase, revenue, receivables aging.

Each report is one read-only use case in one transaction and returns small dataclasses. The
rules worth testing on their own (what counts as stuck, the chase order, aging buckets, the
month an amount falls in, grouping revenue) are pure functions of this module.

An invoice's state answers most lifecycle questions; the event log answers the rest, read in
one grouped query (``EventLog.last_occurrences``) instead of every invoice's history:

* whether it was ever opened: a revised invoice is back in ``sent`` although it was viewed;
* when it was last sent: a revision restarts the "unopened for N days" clock;
* when the change was requested, and whether it was approved (a payment can lock an invoice
  nobody approved).

Reports read the current state with ``as_of`` as the day ages are counted to; they do not
replay history as it stood on an earlier day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from engagebill.domain.engagements import EngagementKind
from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import InvoiceKind
from engagebill.domain.lifecycle import ISSUED_STATES, InvoiceState
from engagebill.domain.money import Money
from engagebill.services.ports import (
    Context,
    CreditNoteFilter,
    CreditNoteSummary,
    InvoiceFilter,
    InvoiceSummary,
    UnitOfWork,
)

UNOPENED_DAYS = 3
PAGE = 1000  # rows read per query while walking a whole list

SENT = "invoice.sent"
REVISED = "invoice.revised"
VIEWED = "invoice.viewed"
CHANGE_REQUESTED = "invoice.change_requested"
APPROVED = "invoice.approved"
FACT_KINDS = (SENT, REVISED, VIEWED, CHANGE_REQUESTED, APPROVED)

# Every state an invoice reaches once it went out; a voided invoice went out too.
WENT_OUT = tuple(sorted(ISSUED_STATES | {InvoiceState.VOID}))


class StuckReason(StrEnum):
    """Why an invoice needs a person: in chase order."""

    UNOPENED = "unopened"  # sent N days ago or more and not opened since
    CHANGE_REQUESTED = "change_requested"  # the client asked for a change; revise it
    PAST_DUE_UNAPPROVED = "past_due_unapproved"  # opened, not approved, past its due date


CHASE_ORDER = list(StuckReason)


class AgingBucket(StrEnum):
    CURRENT = "current"
    DAYS_1_30 = "1-30"
    DAYS_31_60 = "31-60"
    DAYS_61_90 = "61-90"
    OVER_90 = "over_90"


# --- pure rules ------------------------------------------------------------------------------
def stuck_reason(
    *,
    state: InvoiceState,
    last_sent_on: date | None,
    due_date: date,
    as_of: date,
    unopened_days: int = UNOPENED_DAYS,
) -> StuckReason | None:
    """What keeps an invoice from moving on as of a day, or None when nothing does.

    ``sent`` means nobody opened it since it was last sent (a view moves it to ``viewed``);
    ``viewed`` means opened and neither approved nor questioned.
    """
    if state is InvoiceState.CHANGE_REQUESTED:
        return StuckReason.CHANGE_REQUESTED
    if (
        state is InvoiceState.SENT
        and last_sent_on is not None
        and (as_of - last_sent_on).days >= unopened_days
    ):
        return StuckReason.UNOPENED
    if state is InvoiceState.VIEWED and as_of > due_date:
        return StuckReason.PAST_DUE_UNAPPROVED
    return None


def aging_bucket(days_past_due: int) -> AgingBucket:
    """The bucket of an amount ``days_past_due`` days after its due date (0 or less: current)."""
    if days_past_due <= 0:
        return AgingBucket.CURRENT
    if days_past_due <= 30:
        return AgingBucket.DAYS_1_30
    if days_past_due <= 60:
        return AgingBucket.DAYS_31_60
    if days_past_due <= 90:
        return AgingBucket.DAYS_61_90
    return AgingBucket.OVER_90


def month_of(day: date) -> str:
    """The month an amount is reported in: ``2025-03``."""
    return f"{day.year:04d}-{day.month:02d}"


def check_range(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise ValidationError(
            "date_to must not be before date_from",
            code="report.invalid_range",
            details={"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
        )


def check_unopened_days(days: int) -> None:
    if not 0 <= days <= 365:
        raise ValidationError("unopened_days must be 0 to 365", code="report.invalid_unopened_days")


# --- what the reports read -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class InvoiceStanding:
    """One invoice that went out, with the facts the reports judge it by."""

    invoice: InvoiceSummary
    last_sent_at: datetime | None
    last_viewed_at: datetime | None
    change_requested_at: datetime | None
    approved_at: datetime | None
    stuck: StuckReason | None = None

    @property
    def viewed(self) -> bool:
        return self.last_viewed_at is not None

    @property
    def approved(self) -> bool:
        return self.approved_at is not None and self.invoice.state is not InvoiceState.VOID

    @property
    def outstanding(self) -> Money:
        """What the client still owes (``domain.engagement_account``; 0.00 once void)."""
        return self.invoice.position.outstanding


Row = TypeVar("Row")


def _walk(
    fetch: Callable[[tuple[datetime, str] | None], Sequence[Row]],
    key: Callable[[Row], tuple[datetime, str]],
) -> Iterator[Row]:
    """Every row of a keyset-paged list, page by page, so no list is cut off at a limit."""
    after: tuple[datetime, str] | None = None
    while True:
        rows = fetch(after)
        yield from rows
        if len(rows) < PAGE:
            return
        after = key(rows[-1])


def _invoices(uow: UnitOfWork, organization_id: str, query: InvoiceFilter) -> list[InvoiceSummary]:
    def fetch(after: tuple[datetime, str] | None) -> list[InvoiceSummary]:
        return uow.invoices.list(
            organization_id,
            InvoiceFilter(
                states=query.states,
                client_id=query.client_id,
                issued_from=query.issued_from,
                issued_to=query.issued_to,
                after=after,
                limit=PAGE,
            ),
        )

    return list(_walk(fetch, lambda r: (r.created_at, r.id)))


def _credit_notes(
    uow: UnitOfWork, organization_id: str, date_from: date, date_to: date
) -> list[CreditNoteSummary]:
    def fetch(after: tuple[datetime, str] | None) -> list[CreditNoteSummary]:
        return uow.credit_notes.list(
            organization_id,
            CreditNoteFilter(issued_from=date_from, issued_to=date_to, after=after, limit=PAGE),
        )

    return list(_walk(fetch, lambda r: (r.created_at, r.id)))


def _standings(
    uow: UnitOfWork,
    organization_id: str,
    invoices: Iterable[InvoiceSummary],
    *,
    as_of: date,
    unopened_days: int,
) -> list[InvoiceStanding]:
    facts = uow.events.last_occurrences(organization_id, FACT_KINDS)
    standings = []
    for invoice in invoices:
        sent = [at for kind in (SENT, REVISED) if (at := facts.get((invoice.id, kind))) is not None]
        last_sent = max(sent) if sent else invoice.sent_at
        standings.append(
            InvoiceStanding(
                invoice=invoice,
                last_sent_at=last_sent,
                last_viewed_at=facts.get((invoice.id, VIEWED)),
                change_requested_at=facts.get((invoice.id, CHANGE_REQUESTED)),
                approved_at=facts.get((invoice.id, APPROVED)),
                stuck=stuck_reason(
                    state=invoice.state,
                    last_sent_on=last_sent.date() if last_sent else None,
                    due_date=invoice.due_date,
                    as_of=as_of,
                    unopened_days=unopened_days,
                ),
            )
        )
    return standings


# --- the lifecycle per client ----------------------------------------------------------------
@dataclass(slots=True)
class ClientLifecycle:
    """The four questions for one client: what went out, was viewed, is approved, is stuck."""

    client_id: str
    client_name: str
    went_out: list[InvoiceStanding] = field(default_factory=list)

    @property
    def viewed(self) -> list[InvoiceStanding]:
        return [s for s in self.went_out if s.viewed]

    @property
    def approved(self) -> list[InvoiceStanding]:
        return [s for s in self.went_out if s.approved]

    @property
    def stuck(self) -> list[InvoiceStanding]:
        return [s for s in self.went_out if s.stuck is not None]


def client_lifecycle(
    ctx: Context,
    *,
    organization_id: str,
    client_id: str | None = None,
    as_of: date | None = None,
    unopened_days: int = UNOPENED_DAYS,
) -> list[ClientLifecycle]:
    """Per client (or for one: ``client.not_found`` when it is not this organization's), its
    invoices that went out, newest first, sorted into the four questions."""
    check_unopened_days(unopened_days)
    day = as_of or ctx.clock.today()
    with ctx.uow() as uow:
        clients = (
            [uow.clients.get(organization_id, client_id)]
            if client_id is not None
            else uow.clients.list(organization_id)
        )
        invoices = _invoices(
            uow, organization_id, InvoiceFilter(states=WENT_OUT, client_id=client_id)
        )
        standings = _standings(
            uow, organization_id, invoices, as_of=day, unopened_days=unopened_days
        )
    report = {c.id: ClientLifecycle(c.id, c.name) for c in clients}
    for standing in standings:
        if (entry := report.get(standing.invoice.client_id)) is not None:
            entry.went_out.append(standing)
    return sorted(report.values(), key=lambda c: (c.client_name.lower(), c.client_id))


# --- the chase list --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChaseItem:
    """One invoice to chase: why, since when, and whom to write to."""

    reason: StuckReason
    since: date  # last sent, change requested, or due date
    days_waiting: int
    standing: InvoiceStanding
    contacts: tuple[str, ...]  # the client's AP contacts' email addresses


def chase_order(items: Iterable[ChaseItem]) -> list[ChaseItem]:
    """Unopened first, then change requests, then opened-but-past-due; oldest first in each."""
    return sorted(
        items,
        key=lambda i: (
            CHASE_ORDER.index(i.reason),
            i.since,
            i.standing.invoice.number or "",
            i.standing.invoice.id,
        ),
    )


def _since(standing: InvoiceStanding) -> date:
    invoice = standing.invoice
    if standing.stuck is StuckReason.UNOPENED and standing.last_sent_at is not None:
        return standing.last_sent_at.date()
    if standing.stuck is StuckReason.CHANGE_REQUESTED:
        moment = standing.change_requested_at or standing.last_sent_at
        return moment.date() if moment is not None else invoice.issue_date
    return invoice.due_date


def chase_list(
    ctx: Context,
    *,
    organization_id: str,
    as_of: date | None = None,
    unopened_days: int = UNOPENED_DAYS,
) -> list[ChaseItem]:
    """Invoices to chase as of a day, in ``chase_order``."""
    check_unopened_days(unopened_days)
    day = as_of or ctx.clock.today()
    waiting = [
        InvoiceState.SENT,
        InvoiceState.VIEWED,
        InvoiceState.CHANGE_REQUESTED,
    ]
    with ctx.uow() as uow:
        invoices = _invoices(uow, organization_id, InvoiceFilter(states=waiting))
        standings = _standings(
            uow, organization_id, invoices, as_of=day, unopened_days=unopened_days
        )
        contacts = {
            c.id: tuple(contact.email for contact in c.contacts)
            for c in uow.clients.list(organization_id)
        }
    items = []
    for standing in standings:
        # Nothing due (the advance or credit notes settled it): nothing to chase.
        if standing.stuck is None or standing.outstanding.amount <= 0:
            continue
        since = _since(standing)
        items.append(
            ChaseItem(
                reason=standing.stuck,
                since=since,
                days_waiting=max((day - since).days, 0),
                standing=standing,
                contacts=contacts.get(standing.invoice.client_id, ()),
            )
        )
    return chase_order(items)


# --- revenue ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RevenueEntry:
    """One document's contribution: an invoice's net, or a credit note's net taken off."""

    month: str
    client_id: str
    engagement_kind: EngagementKind
    currency: str
    invoiced: Money
    credited: Money


@dataclass(frozen=True, slots=True)
class RevenueRow:
    month: str
    client_id: str
    client_name: str
    engagement_kind: EngagementKind
    currency: str
    invoiced: Money  # net of the invoices issued in the month
    credited: Money  # net of the credit notes issued in the month

    @property
    def net(self) -> Money:
        return self.invoiced - self.credited


@dataclass(frozen=True, slots=True)
class RevenueTotal:
    currency: str
    invoiced: Money
    credited: Money

    @property
    def net(self) -> Money:
        return self.invoiced - self.credited


@dataclass(frozen=True, slots=True)
class RevenueReport:
    date_from: date
    date_to: date
    rows: list[RevenueRow]
    totals: list[RevenueTotal]


def group_revenue(
    entries: Iterable[RevenueEntry], client_names: dict[str, str]
) -> tuple[list[RevenueRow], list[RevenueTotal]]:
    """Sum entries by (month, client, engagement kind, currency), and by currency."""
    rows: dict[tuple[str, str, EngagementKind, str], tuple[Money, Money]] = {}
    totals: dict[str, tuple[Money, Money]] = {}
    for e in entries:
        zero = Money.zero(e.currency)
        key = (e.month, e.client_id, e.engagement_kind, e.currency)
        invoiced, credited = rows.get(key, (zero, zero))
        rows[key] = (invoiced + e.invoiced, credited + e.credited)
        invoiced, credited = totals.get(e.currency, (zero, zero))
        totals[e.currency] = (invoiced + e.invoiced, credited + e.credited)
    grouped = [
        RevenueRow(month, client, client_names.get(client, ""), kind, currency, inv, cred)
        for (month, client, kind, currency), (inv, cred) in rows.items()
    ]
    grouped.sort(
        key=lambda r: (r.month, r.client_name.lower(), r.client_id, r.engagement_kind, r.currency)
    )
    return grouped, [RevenueTotal(c, i, cr) for c, (i, cr) in sorted(totals.items())]


def revenue(ctx: Context, *, organization_id: str, date_from: date, date_to: date) -> RevenueReport:
    """Net invoiced less net credited, by issue date, per month, client, engagement kind and
    currency.

    Advance invoices and their refunds are left out: an advance is a prepayment, and the work
    it pays for is invoiced (and counted here) when delivered, with the advance applied as
    prepaid. Counting both would count the same revenue twice.
    """
    check_range(date_from, date_to)
    with ctx.uow() as uow:
        kinds = {e.id: e.kind for e in uow.engagements.list(organization_id)}
        names = {c.id: c.name for c in uow.clients.list(organization_id)}
        invoices = _invoices(
            uow,
            organization_id,
            InvoiceFilter(states=WENT_OUT, issued_from=date_from, issued_to=date_to),
        )
        notes = _credit_notes(uow, organization_id, date_from, date_to)
    entries = [
        RevenueEntry(
            month_of(i.issue_date),
            i.client_id,
            kinds[i.engagement_id],
            i.currency,
            invoiced=i.net,
            credited=Money.zero(i.currency),
        )
        for i in invoices
        if i.kind is InvoiceKind.STANDARD
    ] + [
        RevenueEntry(
            month_of(n.issue_date),
            n.client_id,
            kinds[n.engagement_id],
            n.currency,
            invoiced=Money.zero(n.currency),
            credited=n.net,
        )
        for n in notes
        if n.invoice_kind is InvoiceKind.STANDARD
    ]
    rows, totals = group_revenue(entries, names)
    return RevenueReport(date_from, date_to, rows, totals)


# --- receivables aging -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AgingLine:
    standing: InvoiceStanding
    outstanding: Money
    days_past_due: int
    bucket: AgingBucket


@dataclass(frozen=True, slots=True)
class AgingTotals:
    currency: str
    buckets: dict[AgingBucket, Money]

    @property
    def total(self) -> Money:
        return Money.sum(self.buckets.values(), self.currency)


@dataclass(frozen=True, slots=True)
class AgingReport:
    as_of: date
    totals: list[AgingTotals]
    lines: list[AgingLine]  # most overdue first


def age_receivables(lines: Iterable[AgingLine]) -> list[AgingTotals]:
    """Outstanding per currency and bucket; every bucket is present, zero when empty."""
    sums: dict[str, dict[AgingBucket, Money]] = {}
    for line in lines:
        currency = line.outstanding.currency
        buckets = sums.setdefault(currency, {b: Money.zero(currency) for b in AgingBucket})
        buckets[line.bucket] = buckets[line.bucket] + line.outstanding
    return [AgingTotals(currency, buckets) for currency, buckets in sorted(sums.items())]


def receivables_aging(
    ctx: Context, *, organization_id: str, as_of: date | None = None
) -> AgingReport:
    """What clients owe on issued invoices as of a day, bucketed by days past due."""
    day = as_of or ctx.clock.today()
    with ctx.uow() as uow:
        invoices = _invoices(
            uow, organization_id, InvoiceFilter(states=tuple(sorted(ISSUED_STATES)))
        )
        standings = _standings(
            uow, organization_id, invoices, as_of=day, unopened_days=UNOPENED_DAYS
        )
    lines = []
    for standing in standings:
        owed = standing.outstanding
        if owed.amount <= 0:  # settled, or overpaid: nothing to collect
            continue
        days = (day - standing.invoice.due_date).days
        lines.append(AgingLine(standing, owed, days, aging_bucket(days)))
    lines.sort(
        key=lambda a: (-a.days_past_due, a.standing.invoice.number or "", a.standing.invoice.id)
    )
    return AgingReport(day, age_receivables(lines), lines)
