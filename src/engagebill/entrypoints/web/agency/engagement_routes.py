"""One engagement's page: its client, POs (usage against the ceiling, validity), invoices,
and for an advance retainer the advance invoiced, used and available over time.

Reads ``services.engagement_overview``; the balance chart is drawn by ``charts``.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from engagebill.entrypoints.web.agency import charts
from engagebill.entrypoints.web.agency.pages import protected_router, render
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of
from engagebill.services.engagement_overview import EXPIRING_DAYS, engagement_overview
from engagebill.services.invoice_views import invoice_row

router = protected_router()


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
    today = ctx.clock.today()
    return render(
        request,
        "app/engagement.html",
        title=overview.engagement.name,
        overview=overview,
        engagement=overview.engagement,
        rows={s.id: invoice_row(s, today, sent_at=s.sent_at) for s in overview.invoices},
        expiring_days=EXPIRING_DAYS,
        chart=chart,
    )
