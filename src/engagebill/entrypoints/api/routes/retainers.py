"""/retainer-schedules and /advances: when and how much a retainer invoices, one-off advances,
and an engagement's advance balance (/engagements/{id}/advance-balance).

Invoicing, drawing down and refunding an advance are the advances module's routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from engagebill.domain.advances import Advance
from engagebill.domain.schedules import Frequency, RetainerSchedule
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import Day, Decimalish, Model, MoneyOut, Page, money
from engagebill.services import queries, retainers

router = APIRouter(tags=["retainers"])

VatCategoryText = Annotated[str, Field(pattern=r"^(S|Z|E|AE|K|G|O)$")]


class ScheduleIn(Model):
    engagement_id: Annotated[str, Field(min_length=1, max_length=100)]
    amount: Decimalish = Field(description="Per period, in the engagement's currency")
    start_date: Day
    end_date: Day | None = None
    frequency: Frequency = Frequency.MONTHLY
    invoice_day: Annotated[
        str,
        Field(
            pattern=r"^(first_business_day|day:([1-9]|[12][0-9]|3[01]))$",
            description="first_business_day (holiday calendar of the agency's country) or day:N",
        ),
    ] = "first_business_day"
    line_template: Annotated[
        str,
        Field(
            min_length=1,
            max_length=300,
            description="May use {month} {month_short} {year} {quarter} {period_start} "
            "{period_end}",
        ),
    ] = "Monthly retainer, {month} {year}"
    vat_category: VatCategoryText | None = Field(
        default=None, description="Omitted: the engagement's"
    )
    vat_rate: Decimalish | None = Field(default=None, description="Omitted: the engagement's")


class ScheduleOut(Model):
    id: str
    engagement_id: str
    mode: str
    amount: MoneyOut
    frequency: str
    invoice_day: str
    line_template: str
    start_date: date
    end_date: date | None
    vat_category: str
    vat_rate: str
    active: bool
    created_at: datetime


def schedule_out(schedule: RetainerSchedule) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        engagement_id=schedule.engagement_id,
        mode=schedule.mode.value,
        amount=money(schedule.amount),
        frequency=schedule.frequency.value,
        invoice_day=schedule.invoice_day.text,
        line_template=schedule.line_template,
        start_date=schedule.start_date,
        end_date=schedule.end_date,
        vat_category=schedule.vat_category.value,
        vat_rate=str(schedule.vat_rate),
        active=schedule.active,
        created_at=schedule.created_at,
    )


class AdvanceIn(Model):
    engagement_id: Annotated[str, Field(min_length=1, max_length=100)]
    amount: Decimalish = Field(description="Net, in the engagement's currency")
    invoice_date: Day = Field(description="Invoiced by the first billing run on or after it")
    description: Annotated[str, Field(min_length=1, max_length=300)] = "Advance payment"
    vat_category: VatCategoryText | None = Field(
        default=None, description="Omitted: the engagement's"
    )
    vat_rate: Decimalish | None = Field(default=None, description="Omitted: the engagement's")


class AdvanceOut(Model):
    id: str
    engagement_id: str
    amount: MoneyOut
    invoice_date: date
    description: str
    vat_category: str
    vat_rate: str
    invoice_id: str | None
    created_at: datetime


def advance_out(advance: Advance) -> AdvanceOut:
    return AdvanceOut(
        id=advance.id,
        engagement_id=advance.engagement_id,
        amount=money(advance.amount),
        invoice_date=advance.invoice_date,
        description=advance.description,
        vat_category=advance.vat_category.value,
        vat_rate=str(advance.vat_rate),
        invoice_id=advance.invoice_id,
        created_at=advance.created_at,
    )


class AdvanceBalanceOut(Model):
    engagement_id: str
    as_of: date | None
    invoiced: MoneyOut = Field(description="Net of advance invoices issued")
    used: MoneyOut = Field(description="Net drawn by invoices or reserved by drafts")
    drawn: MoneyOut = Field(description="Net drawn by issued invoices")
    reserved: MoneyOut = Field(description="Net reserved by drafts of any date")
    refunded: MoneyOut = Field(description="Net of credit notes against advance invoices")
    available: MoneyOut = Field(description="invoiced - drawn - reserved - refunded; never < 0")


# --- schedules -------------------------------------------------------------------------------
@router.get("/retainer-schedules", response_model=Page[ScheduleOut])
def list_schedules(
    ctx: Ctx,
    key: Reader,
    engagement_id: str | None = None,
    active: Annotated[bool, Query(description="Only schedules not ended")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ScheduleOut]:
    """Retainer schedules, newest first; filter by engagement, or only active ones."""
    rows = queries.list_schedules(
        ctx,
        organization_id=key.organization_id,
        engagement_id=engagement_id,
        active_only=active,
        after=pagination.decode(cursor),
        limit=limit + 1,
    )
    return Page[ScheduleOut](
        items=[schedule_out(s) for s in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, lambda s: (s.created_at, s.id)),
    )


@router.post("/retainer-schedules", status_code=201, response_model=ScheduleOut)
def create_schedule(body: ScheduleIn, ctx: Ctx, key: Writer) -> ScheduleOut:
    """A schedule on a retainer engagement; billing runs invoice each period on its invoice
    day, exactly once."""
    return schedule_out(
        retainers.create_schedule(
            ctx,
            organization_id=key.organization_id,
            engagement_id=body.engagement_id,
            amount=body.amount,
            start_date=body.start_date,
            end_date=body.end_date,
            frequency=body.frequency.value,
            invoice_day=body.invoice_day,
            line_template=body.line_template,
            vat_category=body.vat_category,
            vat_rate=body.vat_rate,
        )
    )


@router.get("/retainer-schedules/{schedule_id}", response_model=ScheduleOut)
def get_schedule(schedule_id: str, ctx: Ctx, key: Reader) -> ScheduleOut:
    return schedule_out(
        queries.get_schedule(ctx, organization_id=key.organization_id, schedule_id=schedule_id)
    )


@router.post("/retainer-schedules/{schedule_id}/end", response_model=ScheduleOut)
def end_schedule(schedule_id: str, ctx: Ctx, key: Writer) -> ScheduleOut:
    """Stop planning further periods; invoices already issued are untouched."""
    retainers.end_schedule(ctx, organization_id=key.organization_id, schedule_id=schedule_id)
    return schedule_out(
        queries.get_schedule(ctx, organization_id=key.organization_id, schedule_id=schedule_id)
    )


# --- advances --------------------------------------------------------------------------------
@router.get("/advances", response_model=Page[AdvanceOut])
def list_advances(
    ctx: Ctx,
    key: Reader,
    engagement_id: str | None = None,
    uninvoiced: Annotated[bool, Query(description="Only advances not invoiced yet")] = False,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[AdvanceOut]:
    """One-off advances, newest first; filter by engagement, or only those not invoiced."""
    rows = queries.list_advances(
        ctx,
        organization_id=key.organization_id,
        engagement_id=engagement_id,
        uninvoiced_only=uninvoiced,
        after=pagination.decode(cursor),
        limit=limit + 1,
    )
    return Page[AdvanceOut](
        items=[advance_out(a) for a in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, lambda a: (a.created_at, a.id)),
    )


@router.post("/advances", status_code=201, response_model=AdvanceOut)
def create_advance(body: AdvanceIn, ctx: Ctx, key: Writer) -> AdvanceOut:
    """A one-off advance on an engagement, invoiced from its invoice date."""
    return advance_out(
        retainers.create_advance(
            ctx,
            organization_id=key.organization_id,
            engagement_id=body.engagement_id,
            amount=body.amount,
            invoice_date=body.invoice_date,
            description=body.description,
            vat_category=body.vat_category,
            vat_rate=body.vat_rate,
        )
    )


@router.get("/advances/{advance_id}", response_model=AdvanceOut)
def get_advance(advance_id: str, ctx: Ctx, key: Reader) -> AdvanceOut:
    return advance_out(
        queries.get_advance(ctx, organization_id=key.organization_id, advance_id=advance_id)
    )


@router.get(
    "/engagements/{engagement_id}/advance-balance",
    response_model=AdvanceBalanceOut,
    tags=["engagements"],
)
def advance_balance(
    engagement_id: str, ctx: Ctx, key: Reader, as_of: Day | None = None
) -> AdvanceBalanceOut:
    """The engagement's advance as of a date (default: everything so far), in net amounts."""
    balance = retainers.advance_balance(
        ctx, organization_id=key.organization_id, engagement_id=engagement_id, as_of=as_of
    )
    return AdvanceBalanceOut(
        engagement_id=engagement_id,
        as_of=as_of,
        invoiced=money(balance.invoiced),
        used=money(balance.used),
        drawn=money(balance.drawn),
        reserved=money(balance.reserved),
        refunded=money(balance.refunded),
        available=money(balance.available),
    )
