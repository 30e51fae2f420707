"""/billing-runs: what goes out as of a date. The plan is pure and shows the number each
invoice will get; executing it is idempotent (running twice creates nothing new)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from engagebill.domain.billing import PlannedInvoice
from engagebill.domain.invoices import Invoice
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.routes.invoices import InvoiceSummaryOut, summary_out
from engagebill.entrypoints.api.schemas import (
    Day,
    LineOut,
    Model,
    MoneyOut,
    PoOut,
    TotalsOut,
    WarningOut,
    line_out,
    money,
    totals_out,
    warnings_out,
)
from engagebill.services import billing_run
from engagebill.services.billing_run import PlanView

router = APIRouter(prefix="/billing-runs", tags=["billing runs"])


class PlannedInvoiceOut(Model):
    billing_key: str = Field(description="Unique per engagement and period or source")
    purpose: str
    kind: str
    number: str = Field(description="The number it gets if sent in plan order")
    client_id: str
    client_name: str
    engagement_id: str
    engagement_name: str
    currency: str
    issue_date: date
    purchase_order: PoOut | None
    quote_reference: str
    lines: list[LineOut]
    totals: TotalsOut
    advance_used: MoneyOut | None
    auto_send: bool
    warnings: list[WarningOut]


class PlanOut(Model):
    as_of: date
    invoices: list[PlannedInvoiceOut]
    notices: list[WarningOut]


def planned_out(planned: PlannedInvoice, number: str) -> PlannedInvoiceOut:
    po = planned.purchase_order
    return PlannedInvoiceOut(
        billing_key=planned.billing_key,
        purpose=planned.purpose.value,
        kind=planned.kind.value,
        number=number,
        client_id=planned.client_id,
        client_name=planned.client_name,
        engagement_id=planned.engagement_id,
        engagement_name=planned.engagement_name,
        currency=planned.currency,
        issue_date=planned.issue_date,
        purchase_order=PoOut(id=po.id, number=po.number) if po else None,
        quote_reference=planned.quote_reference,
        lines=[line_out(ln) for ln in planned.lines],
        totals=totals_out(planned.totals()),
        advance_used=money(planned.advance_used) if planned.advance_used else None,
        auto_send=planned.auto_send,
        warnings=warnings_out(list(planned.warnings)),
    )


def plan_out(view: PlanView) -> PlanOut:
    return PlanOut(
        as_of=view.plan.as_of,
        invoices=[planned_out(p, n) for p, n in view.rows()],
        notices=warnings_out(view.plan.notices),
    )


class RunIn(Model):
    as_of: Day


class RunInvoiceOut(Model):
    id: str
    number: str | None
    state: str
    billing_key: str | None
    client_id: str
    engagement_id: str
    issue_date: date
    gross: MoneyOut


class HeldOut(Model):
    invoice_id: str
    reason: str


class RunOut(Model):
    as_of: date
    planned: int
    created: list[RunInvoiceOut]
    sent: list[RunInvoiceOut]
    skipped: list[str] = Field(description="Billing keys another run created first")
    held: list[HeldOut] = Field(description="Created but not sent automatically, and why")


def run_invoice_out(invoice: Invoice) -> RunInvoiceOut:
    return RunInvoiceOut(
        id=invoice.id,
        number=invoice.number,
        state=invoice.state.value,
        billing_key=invoice.billing_key,
        client_id=invoice.client_id,
        engagement_id=invoice.engagement_id,
        issue_date=invoice.current.issue_date,
        gross=money(invoice.totals().gross),
    )


class MonthOut(Model):
    month: str
    issued: list[InvoiceSummaryOut] = Field(description="Created with an issue date in the month")
    due: PlanOut = Field(description="Still due by the month's last day")


@router.get("/plan", response_model=PlanOut)
def plan(ctx: Ctx, key: Reader, as_of: Day) -> PlanOut:
    """What a run as of this date would create, with each invoice's number and warnings.
    Nothing is written."""
    return plan_out(billing_run.plan_run(ctx, organization_id=key.organization_id, as_of=as_of))


@router.post("", response_model=RunOut)
def execute(body: RunIn, ctx: Ctx, key: Writer) -> RunOut:
    """Create what the plan says; engagements that send automatically are sent unless a PO
    warning holds them. Running again creates nothing new."""
    result = billing_run.execute_run(ctx, organization_id=key.organization_id, as_of=body.as_of)
    return RunOut(
        as_of=result.as_of,
        planned=result.planned,
        created=[run_invoice_out(i) for i in result.created],
        sent=[run_invoice_out(i) for i in result.sent],
        skipped=result.skipped,
        held=[HeldOut(invoice_id=i, reason=r) for i, r in result.held],
    )


@router.get("/month", response_model=MonthOut)
def month(
    ctx: Ctx,
    key: Reader,
    month: Annotated[str, Query(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", examples=["2025-03"])],
) -> MonthOut:
    """A month at a glance: the invoices dated in it, and what is still due by its end."""
    view = billing_run.month_overview(ctx, organization_id=key.organization_id, month=month)
    return MonthOut(
        month=view.month,
        issued=[summary_out(r) for r in view.issued],
        due=plan_out(view.due),
    )
