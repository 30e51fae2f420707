"""The recipient's pages at /l/{token}: one invoice, quote or milestone, and its actions.

A private link is a capability (DESIGN example 10). This module owns how it is presented:

* ``GET /l/{token}`` renders the document and changes nothing. The view is recorded by a
  small inline script that POSTs a beacon to ``/l/{token}/view`` once the page has loaded
  (mail scanners that prefetch links do not run scripts), with a <noscript> button posting the
  same form.
* Every action is a POST form with a CSRF field (``csrf``), answered by a redirect to the page
  with a flash message (POST/redirect/GET). A refusal by the domain re-renders the page with
  its message and the status of its error class (409 for a lifecycle refusal, 422 for bad
  input), and nothing was written.
* Unknown tokens get the same 404 page whatever the token; after 10 of them within a minute
  from one address, 429 (``ratelimit``). Revoked and expired links get a friendly 410.
* Tokens are never logged here: they appear only in the URLs and forms of their own page.

Routes parse the form, call one service of ``services.recipient_links`` or ``services.links``
and present the result; the rules live in the services and the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from starlette.responses import Response

from engagebill.domain.errors import DomainError, Gone, NotFound
from engagebill.domain.invoices import Invoice, InvoiceVersion, Totals
from engagebill.domain.lifecycle import InvoiceAction, InvoiceState, allowed
from engagebill.domain.quotes import Milestone, MilestoneState, Quote, QuoteState
from engagebill.entrypoints.api.problems import status_of
from engagebill.entrypoints.web import STATIC_DIR, make_templates, moment
from engagebill.entrypoints.web.csrf import COOKIE_PATH, CsrfGuard, secret_from
from engagebill.entrypoints.web.ratelimit import FailedLookupLimiter, client_key
from engagebill.services import links, recipient_links
from engagebill.services.parties import EntityInput
from engagebill.services.ports import Context
from engagebill.services.recipient_links import LinkedDocument

router = APIRouter(include_in_schema=False)

FLASH_COOKIE = "eb_flash"
# A token from ``secrets.token_urlsafe(32)`` has 43 characters; anything far longer is not a
# token, and is refused without hashing it or asking the database.
MAX_TOKEN_LENGTH = 200
RETRY_AFTER_SECONDS = 60

T = TypeVar("T")


@dataclass(slots=True)
class RecipientPages:
    """What the pages need besides the use cases: templates, the CSRF guard, the limiter."""

    templates: Environment
    csrf: CsrfGuard
    limiter: FailedLookupLimiter = field(default_factory=FailedLookupLimiter)


def install(app: FastAPI, ctx: Context) -> None:
    """Serve the recipient's pages and the static files from ``app``."""
    app.state.recipient_pages = RecipientPages(
        templates=make_templates(), csrf=CsrfGuard(secret_from(ctx.settings))
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)


async def _pages(request: Request) -> RecipientPages:
    # async: no I/O here, so no hand-over to the thread pool
    pages: RecipientPages = request.app.state.recipient_pages
    return pages


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


Pages = Annotated[RecipientPages, Depends(_pages)]
# Every form field is optional at the HTTP level: a missing value reaches the use case, whose
# refusal ("the approver's name is required") is shown on the page instead of a JSON error.
FormText = Annotated[str, Form()]
OptionalFormText = Annotated[str | None, Form()]


class Flash(StrEnum):
    """What an action's redirect confirms; the page words it from the document's state."""

    VIEWED = "viewed"
    PURCHASE_ORDER = "purchase_order"
    BILLING_ENTITY = "billing_entity"
    COST_CENTRE = "cost_centre"
    CHANGE_REQUESTED = "change_requested"
    APPROVED = "approved"
    QUOTE_ACCEPTED = "quote_accepted"
    QUOTE_DECLINED = "quote_declined"
    SIGNED_OFF = "signed_off"


# Presenting: the state in words -------------------------------------------------------------

INVOICE_STATE_LABELS: dict[InvoiceState, str] = {
    InvoiceState.DRAFT: "Draft",
    InvoiceState.SENT: "Sent",
    InvoiceState.VIEWED: "Viewed",
    InvoiceState.CHANGE_REQUESTED: "Change requested",
    InvoiceState.APPROVED: "Approved",
    InvoiceState.LOCKED: "Locked",
    InvoiceState.VOID: "Void",
}
QUOTE_STATE_LABELS: dict[QuoteState, str] = {
    QuoteState.DRAFT: "Draft",
    QuoteState.SENT: "Sent",
    QuoteState.ACCEPTED: "Accepted",
    QuoteState.DECLINED: "Declined",
}
MILESTONE_STATE_LABELS: dict[MilestoneState, str] = {
    MilestoneState.PLANNED: "Planned",
    MilestoneState.SIGNED_OFF: "Signed off",
    MilestoneState.INVOICED: "Invoiced",
}


def _invoice_state(invoice: Invoice) -> tuple[str, str]:
    state = invoice.state
    if state in (InvoiceState.SENT, InvoiceState.VIEWED):
        explanation = (
            "Waiting for your review: add your PO number or billing details, request a "
            "change, or approve it for payment."
        )
    elif state is InvoiceState.CHANGE_REQUESTED:
        explanation = (
            "You asked for a change. The sender will answer with a new version under the same "
            "invoice number, at this same link."
        )
    elif state is InvoiceState.APPROVED:
        explanation = (
            f"Approved for payment by {invoice.approved_by}. It can no longer be changed here."
        )
    elif state is InvoiceState.LOCKED:
        explanation = "Payment is under way or done; the invoice can no longer be changed here."
    elif state is InvoiceState.VOID:
        explanation = "This invoice was cancelled by a credit note."
    else:
        explanation = "This invoice has not been sent yet."
    return INVOICE_STATE_LABELS[state], explanation


def _quote_state(quote: Quote) -> tuple[str, str]:
    if quote.state is QuoteState.SENT:
        explanation = "Waiting for your answer: accept it by typing your name, or decline it."
    elif quote.state is QuoteState.ACCEPTED and quote.accepted_at is not None:
        explanation = (
            f"Accepted by {quote.accepted_by} on {moment(quote.accepted_at)} "
            f"(version {quote.accepted_version})."
        )
    elif quote.state is QuoteState.DECLINED:
        explanation = f"Declined. Reason given: {quote.declined_reason}"
    else:
        explanation = "This quote has not been sent yet."
    return QUOTE_STATE_LABELS[quote.state], explanation


def _milestone_state(milestone: Milestone) -> tuple[str, str]:
    if milestone.state is MilestoneState.PLANNED:
        explanation = "Waiting for your sign-off: type your name to accept this milestone."
    else:
        when = moment(milestone.signed_off_at) if milestone.signed_off_at else "an earlier date"
        explanation = f"Signed off by {milestone.signed_off_by} on {when}."
        if milestone.state is MilestoneState.INVOICED:
            explanation += " It has been invoiced."
    return MILESTONE_STATE_LABELS[milestone.state], explanation


def _state_words(document: LinkedDocument) -> tuple[str, str]:
    if document.invoice is not None:
        return _invoice_state(document.invoice)
    if document.quote is not None:
        return _quote_state(document.quote)
    assert document.milestone is not None
    return _milestone_state(document.milestone)


def _flash_text(flash: Flash, document: LinkedDocument) -> str:
    invoice, quote, milestone = document.invoice, document.quote, document.milestone
    if flash is Flash.VIEWED:
        return f"Thank you. {document.sender} can see that you opened this page."
    if invoice is not None:
        where = f"invoice {invoice.number}, version {invoice.version}"
        po = invoice.effective_purchase_order()
        buyer = invoice.effective_buyer()
        texts = {
            Flash.PURCHASE_ORDER: f"PO number {po.number if po else ''} recorded on {where}. "
            "The invoice number stays the same.",
            Flash.BILLING_ENTITY: f"Billing details recorded on {where}. "
            "The invoice number stays the same.",
            Flash.COST_CENTRE: f"Cost centre {buyer.cost_centre if buyer else ''} recorded on "
            f"{where}. The invoice number stays the same.",
            Flash.CHANGE_REQUESTED: f"Your change request was sent to {document.sender}: "
            "the new version will appear at this same link, under the same number.",
            Flash.APPROVED: f"Approved for payment by {invoice.approved_by}. Thank you.",
        }
        return texts.get(flash, "")
    if quote is not None:
        if flash is Flash.QUOTE_ACCEPTED:
            return f"You accepted quote {quote.number} as {quote.accepted_by}. Thank you."
        if flash is Flash.QUOTE_DECLINED:
            return f"You declined quote {quote.number}. {document.sender} has been told why."
    if milestone is not None and flash is Flash.SIGNED_OFF:
        return f"Milestone signed off by {milestone.signed_off_by}. Thank you."
    return ""


@dataclass(frozen=True, slots=True)
class VersionView:
    """One invoice version with its totals, as the page lists it."""

    content: InvoiceVersion
    totals: Totals


def _document_context(document: LinkedDocument) -> tuple[str, dict[str, Any]]:
    """The template and the document-specific names it is given."""
    if document.invoice is not None:
        invoice = document.invoice
        return "recipient/invoice.html", {
            "invoice": invoice,
            "current": VersionView(invoice.current, invoice.totals()),
            "earlier": [VersionView(v, v.totals()) for v in reversed(invoice.versions[:-1])],
            "po": invoice.effective_purchase_order(),
            "buyer": invoice.effective_buyer(),
            "can_amend": allowed(invoice.state, InvoiceAction.AMEND),
            "can_request_change": allowed(invoice.state, InvoiceAction.REQUEST_CHANGE),
            "can_approve": allowed(invoice.state, InvoiceAction.APPROVE),
        }
    if document.quote is not None:
        quote = document.quote
        return "recipient/quote.html", {
            "quote": quote,
            "current": quote.current,
            "earlier": list(reversed(quote.versions[:-1])),
            "can_answer": quote.state is QuoteState.SENT,
        }
    assert document.milestone is not None
    return "recipient/milestone.html", {
        "milestone": document.milestone,
        "can_sign_off": document.milestone.state is MilestoneState.PLANNED,
    }


# Rendering -------------------------------------------------------------------------------------


def _html(pages: RecipientPages, template: str, status: int, **context: Any) -> HTMLResponse:
    return HTMLResponse(pages.templates.get_template(template).render(**context), status)


def _not_found(pages: RecipientPages) -> HTMLResponse:
    # The same page for every unknown token: nothing in it depends on what was asked for.
    return _html(pages, "recipient/not_found.html", 404)


def _unknown_token(pages: RecipientPages, request: Request) -> HTMLResponse:
    address = client_key(request.client.host if request.client else None)
    if pages.limiter.record_failure(address):
        response = _html(pages, "recipient/rate_limited.html", 429)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return _not_found(pages)


def _gone(pages: RecipientPages, error: Gone) -> HTMLResponse:
    return _html(pages, "recipient/gone.html", 410, message=error.message)


def _open(
    pages: RecipientPages, request: Request, token: str, read: Callable[[Context, str], T]
) -> T | Response:
    """Resolve the token through ``read``, or the 404/429/410 page."""
    if len(token) > MAX_TOKEN_LENGTH:
        return _unknown_token(pages, request)
    try:
        return read(_ctx(request), token)
    except NotFound:
        return _unknown_token(pages, request)
    except Gone as gone:
        return _gone(pages, gone)


def _document_page(
    pages: RecipientPages,
    request: Request,
    token: str,
    document: LinkedDocument,
    *,
    status: int = 200,
    flash: Flash | None = None,
    error: str = "",
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    cookie, new_cookie = pages.csrf.cookie_for(request)
    template, specific = _document_context(document)
    label, explanation = _state_words(document)
    response = _html(
        pages,
        template,
        status,
        document=document,
        link=document.link,
        base=f"/l/{token}",
        csrf_field=pages.csrf.field_for(cookie, document.link.id),
        state_label=label,
        state_explanation=explanation,
        flash=_flash_text(flash, document) if flash else "",
        error=error,
        values=values or {},
        # Only a fresh page load is a view: the page shown after an action (a flash) or a
        # refusal answers a form that was sent from an already viewed page.
        beacon=flash is None and not error,
        **specific,
    )
    if new_cookie:
        pages.csrf.set_cookie(response, request, cookie)
    return response


def _act(
    pages: RecipientPages,
    request: Request,
    token: str,
    csrf_field: str,
    action: Callable[[Context], T],
    *,
    flash: Flash,
    values: dict[str, str] | None = None,
    respond: Callable[[T], Response] | None = None,
) -> Response:
    """Check the link and the CSRF field, run ``action``, then redirect with ``flash`` (or
    answer with ``respond`` given what the action returned)."""
    link = _open(pages, request, token, links.open_link)
    if isinstance(link, Response):
        return link
    if not pages.csrf.verify(request, csrf_field, link.id):
        return _html(pages, "recipient/csrf_failed.html", 403, base=f"/l/{token}")
    try:
        done = action(_ctx(request))
    except NotFound:
        return _not_found(pages)  # e.g. a quote's action posted to an invoice link
    except Gone as gone:
        return _gone(pages, gone)
    except DomainError as error:
        document = _open(pages, request, token, recipient_links.open_document)
        if isinstance(document, Response):
            return document
        return _document_page(
            pages,
            request,
            token,
            document,
            status=status_of(error),
            error=error.message,
            values=values,
        )
    if respond is not None:
        return respond(done)
    redirect = RedirectResponse(f"/l/{token}", status_code=303)
    redirect.set_cookie(
        FLASH_COOKIE,
        flash.value,
        max_age=60,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return redirect


# Routes ----------------------------------------------------------------------------------------


@router.get("/l/{token}", response_class=HTMLResponse)
def document_page(token: str, request: Request, pages: Pages) -> Response:
    """The document, as the recipient sees it. Reads only."""
    document = _open(pages, request, token, recipient_links.open_document)
    if isinstance(document, Response):
        return document
    try:
        flash: Flash | None = Flash(request.cookies.get(FLASH_COOKIE, ""))
    except ValueError:
        flash = None
    response = _document_page(pages, request, token, document, flash=flash)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path=COOKIE_PATH)
    return response


def _download(
    pages: RecipientPages, request: Request, token: str, read: Callable[[Context, str], Any]
) -> Response:
    """A document file for the link: read-only, so downloading is not a view."""
    produced = _open(pages, request, token, read)
    if isinstance(produced, Response):
        return produced
    return Response(
        produced.content,
        media_type=getattr(produced, "media_type", "application/pdf"),
        headers={"Content-Disposition": f'attachment; filename="{produced.filename}"'},
    )


@router.get("/l/{token}/invoice.pdf")
def invoice_pdf(token: str, request: Request, pages: Pages) -> Response:
    """The invoice as a PDF (PDF/A-3 with the Factur-X XML inside)."""
    return _download(pages, request, token, recipient_links.link_invoice_pdf)


@router.get("/l/{token}/invoice.{syntax}.xml")
def invoice_einvoice(token: str, syntax: str, request: Request, pages: Pages) -> Response:
    """The invoice as an EN 16931 e-invoice: ``ubl`` or ``cii``."""
    return _download(
        pages, request, token, lambda ctx, t: recipient_links.link_invoice_einvoice(ctx, t, syntax)
    )


@router.post("/l/{token}/view")
def record_view(
    token: str,
    request: Request,
    pages: Pages,
    csrf_token: FormText = "",
    beacon: FormText = "",
) -> Response:
    """The view beacon: the page's script posts it on load (``beacon=1``, answered with the
    state in words as JSON); the <noscript> button posts it without, and is redirected."""

    def state_now(document: LinkedDocument) -> Response:
        label, explanation = _state_words(document)
        return JSONResponse({"label": label, "explanation": explanation})

    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.view_document(ctx, token),
        flash=Flash.VIEWED,
        respond=state_now if beacon else None,
    )


@router.post("/l/{token}/po")
def add_purchase_order(
    token: str,
    request: Request,
    pages: Pages,
    csrf_token: FormText = "",
    purchase_order_number: FormText = "",
) -> Response:
    """Add or change the PO number: an amendment of the current version."""
    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.link_amend(
            ctx, token, purchase_order_number=purchase_order_number
        ),
        flash=Flash.PURCHASE_ORDER,
        values={"purchase_order_number": purchase_order_number},
    )


@router.post("/l/{token}/billing-entity")
def update_billing_entity(
    token: str,
    request: Request,
    pages: Pages,
    csrf_token: FormText = "",
    legal_name: OptionalFormText = None,
    line1: FormText = "",
    line2: FormText = "",
    city: FormText = "",
    postal_code: FormText = "",
    country_code: FormText = "",
    tax_id: FormText = "",
    cost_centre: FormText = "",
) -> Response:
    """Update the billing entity, or only its cost centre: an amendment of the current
    version. The cost-centre form sends no legal name."""
    values = {
        "legal_name": legal_name or "",
        "line1": line1,
        "line2": line2,
        "city": city,
        "postal_code": postal_code,
        "country_code": country_code,
        "tax_id": tax_id,
        "cost_centre": cost_centre,
    }
    if legal_name is None:
        return _act(
            pages,
            request,
            token,
            csrf_token,
            lambda ctx: recipient_links.link_amend(ctx, token, cost_centre=cost_centre),
            flash=Flash.COST_CENTRE,
            values=values,
        )
    entity = EntityInput(
        legal_name=legal_name,
        line1=line1,
        line2=line2,
        city=city,
        postal_code=postal_code,
        country_code=country_code,
        tax_id=tax_id,
        cost_centre=cost_centre,
    )
    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.link_amend(ctx, token, billing_entity=entity),
        flash=Flash.BILLING_ENTITY,
        values=values,
    )


@router.post("/l/{token}/change-request")
def request_change(
    token: str, request: Request, pages: Pages, csrf_token: FormText = "", message: FormText = ""
) -> Response:
    """Ask for a change; the agency answers with a new version under the same number."""
    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.link_request_change(ctx, token, message=message),
        flash=Flash.CHANGE_REQUESTED,
        values={"message": message},
    )


@router.post("/l/{token}/approve")
def approve(
    token: str, request: Request, pages: Pages, csrf_token: FormText = "", name: FormText = ""
) -> Response:
    """Approve the invoice for payment by typing a name."""
    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.link_approve(ctx, token, name=name),
        flash=Flash.APPROVED,
        values={"name": name},
    )


@router.post("/l/{token}/accept")
def accept_quote(
    token: str,
    request: Request,
    pages: Pages,
    csrf_token: FormText = "",
    name: FormText = "",
    shown_hash: FormText = "",
) -> Response:
    """Accept the quote version the page showed, by typing a name."""
    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.link_accept_quote(
            ctx, token, name=name, shown_hash=shown_hash or None
        ),
        flash=Flash.QUOTE_ACCEPTED,
        values={"name": name},
    )


@router.post("/l/{token}/decline")
def decline_quote(
    token: str, request: Request, pages: Pages, csrf_token: FormText = "", reason: FormText = ""
) -> Response:
    """Decline the quote, with a reason."""
    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.link_decline_quote(ctx, token, reason=reason),
        flash=Flash.QUOTE_DECLINED,
        values={"reason": reason},
    )


@router.post("/l/{token}/sign-off")
def sign_off_milestone(
    token: str, request: Request, pages: Pages, csrf_token: FormText = "", name: FormText = ""
) -> Response:
    """Sign the milestone off by typing a name; it becomes invoiceable."""
    return _act(
        pages,
        request,
        token,
        csrf_token,
        lambda ctx: recipient_links.link_sign_off_milestone(ctx, token, name=name),
        flash=Flash.SIGNED_OFF,
        values={"name": name},
    )
