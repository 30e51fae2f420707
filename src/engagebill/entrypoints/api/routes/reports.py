"""/reports: each client's invoice lifecycle, the chase list, revenue and receivables aging."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from engagebill.entrypoints.api.deps import Ctx, Reader
from engagebill.entrypoints.api.schemas import Day, Model, MoneyOut, money
from engagebill.services import reports
from engagebill.services.reports import AgingBucket, InvoiceStanding

router = APIRouter(prefix="/reports", tags=["reports"])

UnopenedDays = Annotated[
    int, Query(ge=0, le=365, description="Sent this many days ago and unopened: stuck")
]


class StandingOut(Model):
    invoice_id: str
    number: str | None
    state: str
    client_id: str
    engagement_id: str
    engagement_name: str
    currency: str
    gross: MoneyOut
    outstanding: MoneyOut
    issue_date: date
    due_date: date
    last_sent_at: datetime | None
    last_viewed_at: datetime | None
    change_requested_at: datetime | None
    approved_at: datetime | None
    stuck: str | None = Field(
        description="unopened, change_requested or past_due_unapproved; null when moving"
    )


def standing_out(standing: InvoiceStanding) -> StandingOut:
    invoice = standing.invoice
    return StandingOut(
        invoice_id=invoice.id,
        number=invoice.number,
        state=invoice.state.value,
        client_id=invoice.client_id,
        engagement_id=invoice.engagement_id,
        engagement_name=invoice.engagement_name,
        currency=invoice.currency,
        gross=money(invoice.gross),
        outstanding=money(standing.outstanding),
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        last_sent_at=standing.last_sent_at,
        last_viewed_at=standing.last_viewed_at,
        change_requested_at=standing.change_requested_at,
        approved_at=standing.approved_at,
        stuck=standing.stuck.value if standing.stuck else None,
    )


class QuestionOut(Model):
    count: int
    invoices: list[StandingOut]


def question(standings: list[InvoiceStanding]) -> QuestionOut:
    return QuestionOut(count=len(standings), invoices=[standing_out(s) for s in standings])


class ClientLifecycleOut(Model):
    client_id: str
    client_name: str
    went_out: QuestionOut = Field(description="Sent and beyond (void included)")
    viewed: QuestionOut = Field(description="Opened by a recipient at least once")
    approved: QuestionOut
    stuck: QuestionOut


class LifecycleOut(Model):
    as_of: date
    unopened_days: int
    clients: list[ClientLifecycleOut]


class ChaseItemOut(Model):
    reason: str
    since: date = Field(description="Last sent, change requested, or due date")
    days_waiting: int
    client_id: str
    client_name: str
    contacts: list[str]
    invoice: StandingOut


class ChaseListOut(Model):
    as_of: date
    unopened_days: int
    items: list[ChaseItemOut]


class RevenueRowOut(Model):
    month: str = Field(examples=["2025-03"])
    client_id: str
    client_name: str
    engagement_kind: str
    currency: str
    invoiced: MoneyOut
    credited: MoneyOut
    net: MoneyOut


class RevenueTotalOut(Model):
    currency: str
    invoiced: MoneyOut
    credited: MoneyOut
    net: MoneyOut


class RevenueOut(Model):
    date_from: date
    date_to: date
    rows: list[RevenueRowOut]
    totals: list[RevenueTotalOut]


class AgingTotalsOut(Model):
    currency: str
    current: MoneyOut
    days_1_30: MoneyOut
    days_31_60: MoneyOut
    days_61_90: MoneyOut
    over_90: MoneyOut
    total: MoneyOut


class AgingLineOut(Model):
    bucket: str
    days_past_due: int
    outstanding: MoneyOut
    client_name: str
    invoice: StandingOut


class AgingOut(Model):
    as_of: date
    totals: list[AgingTotalsOut]
    invoices: list[AgingLineOut] = Field(description="Most overdue first")


@router.get("/lifecycle", response_model=LifecycleOut)
def lifecycle(
    ctx: Ctx,
    key: Reader,
    client_id: str | None = None,
    as_of: Day | None = None,
    unopened_days: UnopenedDays = reports.UNOPENED_DAYS,
) -> LifecycleOut:
    """Per client: which invoices went out, which were viewed, which are approved, which are
    stuck (change requested; unopened for N days; opened, unapproved and past due)."""
    day = as_of or ctx.clock.today()
    clients = reports.client_lifecycle(
        ctx,
        organization_id=key.organization_id,
        client_id=client_id,
        as_of=day,
        unopened_days=unopened_days,
    )
    return LifecycleOut(
        as_of=day,
        unopened_days=unopened_days,
        clients=[
            ClientLifecycleOut(
                client_id=c.client_id,
                client_name=c.client_name,
                went_out=question(c.went_out),
                viewed=question(c.viewed),
                approved=question(c.approved),
                stuck=question(c.stuck),
            )
            for c in clients
        ],
    )


@router.get("/chase-list", response_model=ChaseListOut)
def chase_list(
    ctx: Ctx,
    key: Reader,
    as_of: Day | None = None,
    unopened_days: UnopenedDays = reports.UNOPENED_DAYS,
) -> ChaseListOut:
    """Whom to chase, in order: unopened for N days (oldest first), then change requests
    awaiting a revision, then opened but unapproved past the due date."""
    day = as_of or ctx.clock.today()
    items = reports.chase_list(
        ctx, organization_id=key.organization_id, as_of=day, unopened_days=unopened_days
    )
    return ChaseListOut(
        as_of=day,
        unopened_days=unopened_days,
        items=[
            ChaseItemOut(
                reason=i.reason.value,
                since=i.since,
                days_waiting=i.days_waiting,
                client_id=i.standing.invoice.client_id,
                client_name=i.standing.invoice.client_name,
                contacts=list(i.contacts),
                invoice=standing_out(i.standing),
            )
            for i in items
        ],
    )


@router.get("/revenue", response_model=RevenueOut)
def revenue(ctx: Ctx, key: Reader, date_from: Day, date_to: Day) -> RevenueOut:
    """Net invoiced less net credited, by issue date, per month, client, engagement kind and
    currency. Advance invoices are prepayments and are left out; the work they pay for counts
    when it is invoiced."""
    report = reports.revenue(
        ctx, organization_id=key.organization_id, date_from=date_from, date_to=date_to
    )
    return RevenueOut(
        date_from=report.date_from,
        date_to=report.date_to,
        rows=[
            RevenueRowOut(
                month=r.month,
                client_id=r.client_id,
                client_name=r.client_name,
                engagement_kind=r.engagement_kind.value,
                currency=r.currency,
                invoiced=money(r.invoiced),
                credited=money(r.credited),
                net=money(r.net),
            )
            for r in report.rows
        ],
        totals=[
            RevenueTotalOut(
                currency=t.currency,
                invoiced=money(t.invoiced),
                credited=money(t.credited),
                net=money(t.net),
            )
            for t in report.totals
        ],
    )


@router.get("/aging", response_model=AgingOut)
def aging(ctx: Ctx, key: Reader, as_of: Day | None = None) -> AgingOut:
    """Outstanding on issued invoices by days past due: current, 1-30, 31-60, 61-90, over 90;
    per currency."""
    report = reports.receivables_aging(ctx, organization_id=key.organization_id, as_of=as_of)
    return AgingOut(
        as_of=report.as_of,
        totals=[
            AgingTotalsOut(
                currency=t.currency,
                current=money(t.buckets[AgingBucket.CURRENT]),
                days_1_30=money(t.buckets[AgingBucket.DAYS_1_30]),
                days_31_60=money(t.buckets[AgingBucket.DAYS_31_60]),
                days_61_90=money(t.buckets[AgingBucket.DAYS_61_90]),
                over_90=money(t.buckets[AgingBucket.OVER_90]),
                total=money(t.total),
            )
            for t in report.totals
        ],
        invoices=[
            AgingLineOut(
                bucket=line.bucket.value,
                days_past_due=line.days_past_due,
                outstanding=money(line.outstanding),
                client_name=line.standing.invoice.client_name,
                invoice=standing_out(line.standing),
            )
            for line in report.lines
        ],
    )
