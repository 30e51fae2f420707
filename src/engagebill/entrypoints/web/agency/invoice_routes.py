"""The invoices: the list with its filters, one invoice's page, and its actions.

Routes parse, call one use case and render. Every action is a POST form answered by a
redirect with a flash message (``pages.act``); a refusal by the domain comes back as the
domain's own message. The line editor (editing a draft, revising after a change request)
shows its form again, with what was typed, when the lines are refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.errors import DomainError, NotFound, ValidationError
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.schedules import RetainerSchedule
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.problems import status_of
from engagebill.entrypoints.web.agency.forms import (
    BLANK_ROWS,
    LineRow,
    lines_from_rows,
    parse_day,
    parse_int,
    row_of,
    rows_from_form,
)
from engagebill.entrypoints.web.agency.pages import (
    Outcome,
    act,
    local_path,
    protected_router,
    redirect,
    render,
    with_query,
)
from engagebill.entrypoints.web.agency.present import PAYMENT_LABELS
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of, form_of
from engagebill.services import (
    delivery,
    invoice_views,
    invoicing,
    line_credits,
    links,
    reuse,
    settlement,
)
from engagebill.services.invoice_views import InvoicePage
from engagebill.services.links import IssuedLink
from engagebill.services.ports import InvoiceFilter

router = protected_router()

PAGE_SIZE = 50
FormText = Annotated[str, Form()]


def invoice_url(invoice_id: str) -> str:
    return f"/invoices/{invoice_id}"


# --- the list --------------------------------------------------------------------------------
def _state(value: str) -> InvoiceState:
    try:
        return InvoiceState(value)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not an invoice state", code="validation.invalid_state"
        ) from None


@router.get("/invoices", name="app.invoices", response_class=HTMLResponse)
def invoice_list(
    request: Request,
    signed_in: CurrentUser,
    state: str = "",
    client: str = "",
    engagement: str = "",
    issued_from: str = "",
    issued_to: str = "",
    after: str = "",
) -> HTMLResponse:
    """Every invoice, newest first, with its state in words; filtered by a GET form."""
    filters = {
        "state": state,
        "client": client,
        "engagement": engagement,
        "issued_from": issued_from,
        "issued_to": issued_to,
    }
    error = ""
    try:
        query = InvoiceFilter(
            states=[_state(state)] if state else [],
            client_id=client or None,
            engagement_id=engagement or None,
            issued_from=parse_day(issued_from, "Issued from"),
            issued_to=parse_day(issued_to, "Issued to"),
            after=pagination.decode(after),
            limit=PAGE_SIZE,
        )
        listing = invoice_views.invoice_list(
            context_of(request), organization_id=signed_in.organization_id, query=query
        )
    except ValidationError as refused:
        # A hand-edited address: show the whole list and say what was not understood.
        error, filters = refused.message, dict.fromkeys(filters, "")
        listing = invoice_views.invoice_list(
            context_of(request),
            organization_id=signed_in.organization_id,
            query=InvoiceFilter(limit=PAGE_SIZE),
        )
    next_url = (
        with_query("/invoices", **filters, after=pagination.encode(*listing.next_after))
        if listing.next_after
        else None
    )
    return render(
        request,
        "app/invoices.html",
        status=422 if error else 200,
        title="Invoices",
        listing=listing,
        filters=filters,
        filtered=any(filters.values()),
        first_url=with_query("/invoices", **filters) if after else None,
        next_url=next_url,
        error=error,
    )


# --- one invoice -----------------------------------------------------------------------------
def _page(request: Request, signed_in: CurrentUser, invoice_id: str) -> InvoicePage:
    return invoice_views.invoice_page(
        context_of(request), organization_id=signed_in.organization_id, invoice_id=invoice_id
    )


@router.get("/invoices/{invoice_id}", name="app.invoice", response_class=HTMLResponse)
def invoice_page(request: Request, signed_in: CurrentUser, invoice_id: str) -> HTMLResponse:
    page = _page(request, signed_in, invoice_id)
    invoice = page.invoice
    return render(
        request,
        "app/invoice.html",
        title=f"Invoice {invoice.number}" if invoice.number else "Draft invoice",
        page=page,
        invoice=invoice,
        payment_label=PAYMENT_LABELS[page.payment_status],
        today=context_of(request).clock.today(),
    )


# --- the line editor: edit a draft, revise after a change request ---------------------------
EDITORS = {
    "edit": (
        "Edit draft",
        "Save the draft",
        "Change the lines, the issue date or the notes. Nothing is sent until you send it.",
    ),
    "revise": (
        "Revise invoice",
        "Send the new version",
        "The client asked for a change. Sending this creates the next version under the same "
        "number, at the same link; the earlier version stays on record.",
    ),
}


def _editor(
    request: Request,
    page: InvoicePage,
    mode: str,
    *,
    rows: list[LineRow] | None = None,
    notes: str | None = None,
    issue_date: str | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    invoice, engagement = page.invoice, page.engagement
    blank = LineRow(
        unit="C62",
        vat_category=engagement.vat_category.value,
        vat_rate=format(engagement.vat_rate.normalize(), "f"),
    )
    shown = rows if rows is not None else [row_of(line) for line in invoice.current.lines]
    heading, button, hint = EDITORS[mode]
    return render(
        request,
        "app/line_editor.html",
        status=status,
        title=f"{heading} {invoice.number or ''}".strip(),
        page=page,
        invoice=invoice,
        mode=mode,
        heading=heading,
        button=button,
        hint=hint,
        rows=[*shown, *([blank] * BLANK_ROWS)] if rows is None else shown,
        notes=invoice.current.notes if notes is None else notes,
        issue_date=invoice.current.issue_date.isoformat() if issue_date is None else issue_date,
        error=error,
    )


def _editor_allowed(page: InvoicePage, mode: str) -> bool:
    return page.actions.edit if mode == "edit" else page.actions.revise


NOT_ALLOWED = {
    "edit": "Only a draft can be edited; a sent invoice changes by revision or credit note.",
    "revise": "Only an invoice with a change request can be revised.",
}


def _editor_page(request: Request, signed_in: CurrentUser, invoice_id: str, mode: str) -> Response:
    page = _page(request, signed_in, invoice_id)
    if not _editor_allowed(page, mode):
        return redirect(request, invoice_url(invoice_id), refused=NOT_ALLOWED[mode])
    return _editor(request, page, mode)


@router.get("/invoices/{invoice_id}/edit", name="app.invoice_edit", response_class=HTMLResponse)
def edit_page(request: Request, signed_in: CurrentUser, invoice_id: str) -> Response:
    return _editor_page(request, signed_in, invoice_id, "edit")


@router.get("/invoices/{invoice_id}/revise", name="app.invoice_revise", response_class=HTMLResponse)
def revise_page(request: Request, signed_in: CurrentUser, invoice_id: str) -> Response:
    return _editor_page(request, signed_in, invoice_id, "revise")


def _save_lines(request: Request, signed_in: CurrentUser, invoice_id: str, mode: str) -> Response:
    ctx, org = context_of(request), signed_in.organization_id
    form = form_of(request)
    rows = rows_from_form(form)
    notes = str(form.get("notes", ""))
    issue_date = str(form.get("issue_date", ""))
    try:
        lines = lines_from_rows(rows)
        if mode == "edit":
            result = invoicing.edit_draft(
                ctx,
                organization_id=org,
                invoice_id=invoice_id,
                lines=lines,
                notes=notes,
                issue_date=parse_day(issue_date, "Issue date"),
            )
            warnings = "; ".join(w.message for w in result.warnings)
            message = "Draft saved." + (f" Before sending, note: {warnings}." if warnings else "")
        else:
            revised = invoicing.revise_invoice(
                ctx, organization_id=org, invoice_id=invoice_id, lines=lines, notes=notes
            )
            message = (
                f"Version {revised.version} of {revised.number} sent under the same number, "
                "at the same link."
            )
    except NotFound:
        raise
    except DomainError as error:
        page = _page(request, signed_in, invoice_id)
        return _editor(
            request,
            page,
            mode,
            rows=rows,
            notes=notes,
            issue_date=issue_date,
            error=error.message,
            status=status_of(error),
        )
    return redirect(request, invoice_url(invoice_id), done=message)


@router.post("/invoices/{invoice_id}/edit")
def save_draft(request: Request, signed_in: CurrentUser, invoice_id: str) -> Response:
    return _save_lines(request, signed_in, invoice_id, "edit")


@router.post("/invoices/{invoice_id}/revise")
def revise(request: Request, signed_in: CurrentUser, invoice_id: str) -> Response:
    return _save_lines(request, signed_in, invoice_id, "revise")


# --- lifecycle actions -----------------------------------------------------------------------
@router.post("/invoices/{invoice_id}/send")
def send(
    request: Request, signed_in: CurrentUser, invoice_id: str, override_reason: FormText = ""
) -> RedirectResponse:
    """Send a draft; a PO warning refuses it unless a reason is given."""
    issued: list[IssuedLink] = []

    def sent_message(number: str | None) -> Outcome:
        return Outcome(
            f"Invoice {number} sent: a private link went to {len(issued)} AP contact(s)."
        )

    return act(
        request,
        lambda: invoicing.send_invoice(
            context_of(request),
            organization_id=signed_in.organization_id,
            invoice_id=invoice_id,
            override_reason=override_reason,
            issued=issued,
        ),
        back=invoice_url(invoice_id),
        outcome=lambda invoice: sent_message(invoice.number),
    )


@router.post("/invoices/{invoice_id}/lock")
def lock(request: Request, signed_in: CurrentUser, invoice_id: str) -> RedirectResponse:
    return act(
        request,
        lambda: settlement.lock_invoice(
            context_of(request), organization_id=signed_in.organization_id, invoice_id=invoice_id
        ),
        back=invoice_url(invoice_id),
        outcome=lambda invoice: Outcome(f"Invoice {invoice.number} locked."),
    )


@router.post("/invoices/{invoice_id}/payments")
def record_payment(
    request: Request,
    signed_in: CurrentUser,
    invoice_id: str,
    amount: FormText = "",
    received_on: FormText = "",
    reference: FormText = "",
) -> RedirectResponse:
    return act(
        request,
        lambda: settlement.record_payment(
            context_of(request),
            organization_id=signed_in.organization_id,
            invoice_id=invoice_id,
            amount=amount.strip(),
            received_on=parse_day(received_on, "Received on"),
            reference=reference,
        ),
        back=invoice_url(invoice_id),
        outcome=lambda invoice: Outcome(
            f"Payment recorded on {invoice.number}: "
            f"{PAYMENT_LABELS[invoice.payment_status].lower()}, "
            f"{invoice.outstanding.format()} still open."
        ),
    )


@router.post("/invoices/{invoice_id}/credit-notes")
def credit(
    request: Request,
    signed_in: CurrentUser,
    invoice_id: str,
    scope: FormText = "full",
    line: FormText = "",
    reason: FormText = "",
) -> RedirectResponse:
    """A credit note for what is left of the invoice, or for one of its lines."""
    ctx, org = context_of(request), signed_in.organization_id

    def issue() -> CreditNote:
        if scope == "line":
            return line_credits.credit_line(
                ctx,
                organization_id=org,
                invoice_id=invoice_id,
                position=parse_int(line, "Line", 0),
                reason=reason,
            )
        return settlement.issue_credit_note(
            ctx, organization_id=org, invoice_id=invoice_id, reason=reason
        )

    return act(
        request,
        issue,
        back=invoice_url(invoice_id),
        outcome=lambda note: Outcome(
            f"Credit note {note.number} issued for {note.totals().gross.format()}."
        ),
    )


@router.post("/invoices/{invoice_id}/resend")
def resend(
    request: Request,
    signed_in: CurrentUser,
    invoice_id: str,
    next: FormText = "",
) -> RedirectResponse:
    """Send every AP contact a fresh link (one click, also from the chase list)."""
    return act(
        request,
        lambda: delivery.resend_links(
            context_of(request), organization_id=signed_in.organization_id, invoice_id=invoice_id
        ),
        back=local_path(next, invoice_url(invoice_id)),
        outcome=lambda count: Outcome(f"A fresh link is on its way to {count} AP contact(s)."),
    )


@router.post("/invoices/{invoice_id}/links/{link_id}/revoke")
def revoke_link(
    request: Request, signed_in: CurrentUser, invoice_id: str, link_id: str
) -> RedirectResponse:
    return act(
        request,
        lambda: links.revoke_link(
            context_of(request), organization_id=signed_in.organization_id, link_id=link_id
        ),
        back=invoice_url(invoice_id),
        outcome=lambda link: Outcome(
            f"The link of {link.recipient} is revoked: it no longer opens the invoice."
        ),
    )


# --- reuse: duplicate, template, retainer schedule -------------------------------------------
@router.post("/invoices/{invoice_id}/duplicate")
def duplicate(request: Request, signed_in: CurrentUser, invoice_id: str) -> RedirectResponse:
    """A new draft with the same lines, opened in the editor to update the period."""
    return act(
        request,
        lambda: reuse.duplicate_invoice(
            context_of(request), organization_id=signed_in.organization_id, invoice_id=invoice_id
        ),
        back=invoice_url(invoice_id),
        outcome=lambda result: Outcome(
            "New draft created from the invoice. Update the period in its lines, then send it.",
            to=f"{invoice_url(result.invoice.id)}/edit",
        ),
    )


@router.post("/invoices/{invoice_id}/template")
def save_template(
    request: Request, signed_in: CurrentUser, invoice_id: str, name: FormText = ""
) -> RedirectResponse:
    return act(
        request,
        lambda: reuse.save_as_template(
            context_of(request),
            organization_id=signed_in.organization_id,
            invoice_id=invoice_id,
            name=name,
        ),
        back=invoice_url(invoice_id),
        outcome=lambda template: Outcome(
            f"Saved as the template “{template.name}”. Start a draft from it under Templates."
        ),
    )


@router.post("/invoices/{invoice_id}/retainer-schedule")
def start_schedule(
    request: Request,
    signed_in: CurrentUser,
    invoice_id: str,
    start_date: FormText = "",
    line_template: FormText = "",
    frequency: FormText = "monthly",
) -> RedirectResponse:
    """A retainer schedule for the invoice's engagement and amount."""

    def create() -> RetainerSchedule:
        start = parse_day(start_date, "Start date")
        if start is None:
            raise ValidationError("a start date is needed", code="validation.required")
        return reuse.schedule_from_invoice(
            context_of(request),
            organization_id=signed_in.organization_id,
            invoice_id=invoice_id,
            start_date=start,
            line_template=line_template or "Monthly retainer, {month} {year}",
            frequency=frequency,
        )

    return act(
        request,
        create,
        back=invoice_url(invoice_id),
        outcome=lambda schedule: Outcome(
            f"Retainer schedule created: {schedule.amount.format()} {schedule.frequency.value}, "
            f"from {schedule.start_date.isoformat()}. The billing run drafts each period."
        ),
    )
