"""One engagement's page: its client, POs (usage against the ceiling, validity), invoices with
their gross, drawn, credited, paid and outstanding amounts, and for an advance the advance
invoiced, drawn, reserved, refunded and available (an advance retainer's also over time). A
project's quotes are drafted here (``quote_routes``), its milestones signed off (and invoiced
at once) or the client asked to sign them off through a link; out-of-scope work waiting for its
written approval is approved here.

Reads ``services.engagement_overview`` and the engagement account
(``services.engagement_account``), whose figures every surface shows; the balance chart is
drawn by ``charts``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from engagebill.domain.engagements import EngagementKind
from engagebill.domain.quotes import MilestoneState
from engagebill.domain.work import WorkState
from engagebill.entrypoints.web.agency import charts
from engagebill.entrypoints.web.agency.pages import Outcome, act, protected_router, render
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of
from engagebill.services import quotes, work
from engagebill.services.engagement_account import engagement_account
from engagebill.services.engagement_overview import EXPIRING_DAYS, engagement_overview
from engagebill.services.invoice_views import invoice_row

router = protected_router()
FormText = Annotated[str, Form()]
# Quotes offer a project's milestones, or approve out-of-scope work as mini-quotes.
QUOTABLE = (EngagementKind.FIXED_PRICE, EngagementKind.TIME_AND_MATERIAL)


def engagement_url(engagement_id: str) -> str:
    return f"/engagements/{engagement_id}"


@router.get("/engagements/{engagement_id}", name="app.engagement", response_class=HTMLResponse)
def engagement_page(request: Request, signed_in: CurrentUser, engagement_id: str) -> HTMLResponse:
    ctx = context_of(request)
    overview = engagement_overview(
        ctx, organization_id=signed_in.organization_id, engagement_id=engagement_id
    )
    chart = None
    if overview.balance_by_month:
        chart = charts.step_line(
            chart_id="advance-chart",
            title=f"Available advance by month, {overview.engagement.currency}",
            description="The advance available at the end of each month: invoiced advances "
            "add to it, invoices drawing on it and refunds take from it. The table below has "
            "the same numbers.",
            points=[(b.month, b.available.amount) for b in overview.balance_by_month],
        )
    engagement = overview.engagement
    organization_id = signed_in.organization_id
    milestones = (
        quotes.list_milestones(ctx, organization_id=organization_id, engagement_id=engagement.id)
        if engagement.kind is EngagementKind.FIXED_PRICE
        else []
    )
    quoted = (
        quotes.list_quotes(ctx, organization_id=organization_id, engagement_id=engagement.id)
        if engagement.kind in QUOTABLE
        else []
    )
    # Work still to be billed: what waits for its written approval, and what the next run bills.
    open_work = work.list_work_items(
        ctx,
        organization_id=organization_id,
        engagement_id=engagement.id,
        states=[WorkState.UNAPPROVED, WorkState.APPROVED],
    )
    account = engagement_account(ctx, organization_id=organization_id, engagement_id=engagement.id)
    # An advance retainer, or any engagement that was invoiced a one-off advance.
    has_advance = overview.is_advance or any(i.advance for i in account.invoices.values())
    today = ctx.clock.today()
    return render(
        request,
        "app/engagement.html",
        title=overview.engagement.name,
        overview=overview,
        engagement=overview.engagement,
        rows={s.id: invoice_row(s, today, sent_at=s.sent_at) for s in overview.invoices},
        account=account,
        has_advance=has_advance,
        positions={
            s.id: account.position(s.id) if s.id in account.invoices else s.position
            for s in overview.invoices
        },
        expiring_days=EXPIRING_DAYS,
        chart=chart,
        milestones=milestones,
        quotes=list(reversed(quoted)),  # newest first
        quotable=engagement.kind in QUOTABLE,
        planned=MilestoneState.PLANNED,
        open_work=open_work,
        invoice_numbers={s.id: s.number for s in overview.invoices},
        unapproved=WorkState.UNAPPROVED,
    )


@router.post("/engagements/{engagement_id}/milestones/{milestone_id}/sign-off")
def sign_off(
    request: Request,
    signed_in: CurrentUser,
    engagement_id: str,
    milestone_id: str,
    signed_off_by: FormText = "",
) -> RedirectResponse:
    """Record the client's sign-off: the milestone is invoiced at once, for the quoted amount."""

    def signed(result: quotes.SignOff) -> Outcome:
        invoice = result.invoice
        state = f"sent as {invoice.number}" if invoice.number else "created as a draft"
        return Outcome(
            f"Milestone {result.milestone.position} signed off by "
            f"{result.milestone.signed_off_by}: its invoice is {state}.",
            to=f"/invoices/{invoice.id}",
        )

    return act(
        request,
        lambda: quotes.sign_off_milestone(
            context_of(request),
            organization_id=signed_in.organization_id,
            milestone_id=milestone_id,
            by=signed_off_by,
        ),
        back=engagement_url(engagement_id),
        outcome=signed,
    )


@router.post("/engagements/{engagement_id}/milestones/{milestone_id}/ask-sign-off")
def ask_sign_off(
    request: Request,
    signed_in: CurrentUser,
    engagement_id: str,
    milestone_id: str,
    email: FormText = "",
    name: FormText = "",
) -> RedirectResponse:
    """Email someone at the client a private link with which they sign the milestone off."""
    return act(
        request,
        lambda: quotes.request_sign_off(
            context_of(request),
            organization_id=signed_in.organization_id,
            milestone_id=milestone_id,
            recipient_email=email,
            recipient_name=name,
        ),
        back=engagement_url(engagement_id),
        outcome=lambda issued: Outcome(
            f"A private sign-off link is on its way to {issued.link.recipient_email}."
        ),
    )


@router.post("/engagements/{engagement_id}/work-items/{work_item_id}/approve")
def approve_work(
    request: Request,
    signed_in: CurrentUser,
    engagement_id: str,
    work_item_id: str,
    approval_ref: FormText = "",
    override_reason: FormText = "",
) -> RedirectResponse:
    """Approve a piece of work with the client's written approval (or a recorded reason)."""
    return act(
        request,
        lambda: work.approve_work_item(
            context_of(request),
            organization_id=signed_in.organization_id,
            work_item_id=work_item_id,
            approval_ref=approval_ref,
            override_reason=override_reason,
        ),
        back=engagement_url(engagement_id),
        outcome=lambda item: Outcome(
            f"Work of {item.work_date.isoformat()} by {item.person} approved: the next billing "
            "run puts it on the change-order invoice."
        ),
    )
