"""Per client, the four questions (which invoices went out, were viewed, are approved, are
stuck), and the chase list: whom to chase first. Both read ``services.reports``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from engagebill.domain.errors import ValidationError
from engagebill.entrypoints.web.agency.forms import parse_int
from engagebill.entrypoints.web.agency.pages import protected_router, render
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of
from engagebill.services import reports
from engagebill.services.invoice_views import InvoiceRow, invoice_row
from engagebill.services.reports import UNOPENED_DAYS, InvoiceStanding

router = protected_router()


def _days(value: str) -> tuple[int, str]:
    """The "unopened for N days" threshold of a query, or the default and what was wrong."""
    try:
        days = parse_int(value, "Days", UNOPENED_DAYS)
        reports.check_unopened_days(days)
    except ValidationError as refused:
        return UNOPENED_DAYS, refused.message
    return days, ""


def _rows(standings: list[InvoiceStanding], request: Request) -> dict[str, InvoiceRow]:
    today = context_of(request).clock.today()
    return {s.invoice.id: invoice_row(s.invoice, today, sent_at=s.last_sent_at) for s in standings}


@router.get("/clients", name="app.clients", response_class=HTMLResponse)
def client_list(request: Request, signed_in: CurrentUser, days: str = "") -> HTMLResponse:
    unopened_days, error = _days(days)
    report = reports.client_lifecycle(
        context_of(request),
        organization_id=signed_in.organization_id,
        unopened_days=unopened_days,
    )
    return render(
        request,
        "app/clients.html",
        status=422 if error else 200,
        title="Clients",
        report=report,
        days=unopened_days,
        error=error,
    )


@router.get("/clients/{client_id}", name="app.client", response_class=HTMLResponse)
def client_page(
    request: Request, signed_in: CurrentUser, client_id: str, days: str = ""
) -> HTMLResponse:
    unopened_days, error = _days(days)
    [lifecycle] = reports.client_lifecycle(
        context_of(request),
        organization_id=signed_in.organization_id,
        client_id=client_id,
        unopened_days=unopened_days,
    )
    return render(
        request,
        "app/client.html",
        status=422 if error else 200,
        title=lifecycle.client_name,
        lifecycle=lifecycle,
        rows=_rows(lifecycle.went_out, request),
        days=unopened_days,
        error=error,
    )


@router.get("/chase", name="app.chase", response_class=HTMLResponse)
def chase_list(request: Request, signed_in: CurrentUser, days: str = "") -> HTMLResponse:
    """Unopened N days after sending first, then change requests, then past due."""
    unopened_days, error = _days(days)
    items = reports.chase_list(
        context_of(request),
        organization_id=signed_in.organization_id,
        unopened_days=unopened_days,
    )
    groups = [(reason, [i for i in items if i.reason is reason]) for reason in reports.CHASE_ORDER]
    return render(
        request,
        "app/chase.html",
        status=422 if error else 200,
        title="Chase list",
        items=items,
        groups=groups,
        rows=_rows([i.standing for i in items], request),
        days=unopened_days,
        back=f"/chase?days={unopened_days}",
        error=error,
    )
