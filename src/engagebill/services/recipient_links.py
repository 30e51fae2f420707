"""What a recipient can do through a private link, and what the link shows them.

Invoice links: amend (PO number, billing entity, cost centre), request a change, approve.
Quote links: accept by typed name (bound to the hash of the version shown) or decline.
Milestone links: sign the milestone off by typed name, which makes it invoiceable.

Each action resolves the link first (unknown, revoked and expired links are refused), checks
that it is a link for that kind of document, and acts as that link's recipient on that
document only. Invoice actions check the link in the transaction that acts, so a link revoked
a moment before cannot act. ``open_document`` reads what a link opens for display and writes
nothing: a view is recorded only by ``links.record_view`` and ``view_document``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engagebill.domain.access import DocumentType, PrivateLink
from engagebill.domain.errors import NotFound
from engagebill.domain.invoices import Invoice
from engagebill.domain.quotes import Milestone, Quote
from engagebill.services import quotes, recipient
from engagebill.services.einvoice import EInvoiceFile, invoice_file
from engagebill.services.links import note_view, open_link, resolve
from engagebill.services.parties import EntityInput
from engagebill.services.pdfs import PdfFile, invoice_pdf_file
from engagebill.services.ports import Context, UnitOfWork


@dataclass(frozen=True, slots=True)
class LinkedDocument:
    """What a link opens, read in one transaction: the link, exactly one document, and the
    names the recipient's page shows around it."""

    link: PrivateLink
    sender: str  # the seller as printed (invoices) or the organization's legal name
    engagement_name: str
    invoice: Invoice | None = None
    quote: Quote | None = None
    milestone: Milestone | None = None


def open_document(ctx: Context, token: str) -> LinkedDocument:
    """The document a link opens, for display; NotFound or Gone as ``links.resolve``."""
    with ctx.read() as uow:
        return _document(uow, resolve(uow, token, ctx.clock.now()))


def view_document(ctx: Context, token: str) -> LinkedDocument:
    """Record a view through the link (as ``links.record_view``) and return what the link
    shows after it, in one transaction: the page's view beacon answers with the new state."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        link = resolve(uow, token, now)
        document = _document(uow, link, invoice=note_view(uow, link, now))
        uow.commit()
    return document


def _document(uow: UnitOfWork, link: PrivateLink, invoice: Invoice | None = None) -> LinkedDocument:
    """What ``link`` opens, read in the caller's transaction (``invoice``: already read)."""
    org = link.organization_id
    if link.document_type is DocumentType.INVOICE:
        invoice = invoice or uow.invoices.get(org, link.document_id)
        seller = invoice.current.seller  # a sent invoice names its seller as printed
        return LinkedDocument(
            link,
            seller.name if seller else uow.organizations.get(org).legal_name,
            uow.engagements.get(org, invoice.engagement_id).name,
            invoice=invoice,
        )
    if link.document_type is DocumentType.QUOTE:
        quote = uow.quotes.get(org, link.document_id)
        return LinkedDocument(
            link,
            uow.organizations.get(org).legal_name,
            uow.engagements.get(org, quote.engagement_id).name,
            quote=quote,
        )
    milestone = uow.quotes.get_milestone(org, link.document_id)
    return LinkedDocument(
        link,
        uow.organizations.get(org).legal_name,
        uow.engagements.get(org, milestone.engagement_id).name,
        milestone=milestone,
    )


def _of_kind(link: PrivateLink, kind: DocumentType) -> PrivateLink:
    if link.document_type is not kind:
        raise NotFound(f"this link is not for a {kind.value}", code="link.not_found")
    return link


def _link_for(ctx: Context, token: str, kind: DocumentType) -> PrivateLink:
    return _of_kind(open_link(ctx, token), kind)


def _invoice_link(ctx: Context, token: str) -> PrivateLink:
    return _link_for(ctx, token, DocumentType.INVOICE)


def _on_invoice(
    ctx: Context, token: str, act: Callable[[UnitOfWork, PrivateLink], Invoice]
) -> Invoice:
    """Check the invoice link of ``token`` and act in the same transaction, so that a link
    revoked a moment before cannot act."""
    with ctx.uow() as uow:
        link = _of_kind(resolve(uow, token, ctx.clock.now()), DocumentType.INVOICE)
        invoice = act(uow, link)
        uow.commit()
    return invoice


def link_amend(
    ctx: Context,
    token: str,
    *,
    purchase_order_number: str | None = None,
    billing_entity: EntityInput | None = None,
    cost_centre: str | None = None,
) -> Invoice:
    return _on_invoice(
        ctx,
        token,
        lambda uow, link: recipient.amend_invoice(
            ctx,
            organization_id=link.organization_id,
            invoice_id=link.document_id,
            by=link.recipient,
            purchase_order_number=purchase_order_number,
            billing_entity=billing_entity,
            cost_centre=cost_centre,
            uow=uow,
        ),
    )


def link_request_change(ctx: Context, token: str, *, message: str) -> Invoice:
    return _on_invoice(
        ctx,
        token,
        lambda uow, link: recipient.request_change(
            ctx,
            organization_id=link.organization_id,
            invoice_id=link.document_id,
            message=message,
            by=link.recipient,
            uow=uow,
        ),
    )


def link_approve(ctx: Context, token: str, *, name: str) -> Invoice:
    return _on_invoice(
        ctx,
        token,
        lambda uow, link: recipient.approve_invoice(
            ctx,
            organization_id=link.organization_id,
            invoice_id=link.document_id,
            name=name,
            uow=uow,
        ),
    )


def link_accept_quote(
    ctx: Context, token: str, *, name: str, shown_hash: str | None = None
) -> Quote:
    """Accept the quote by typed name; ``shown_hash`` is the hash of the version the page
    showed, so a revision published in between is refused rather than accepted unseen."""
    link = _link_for(ctx, token, DocumentType.QUOTE)
    return quotes.accept_quote(
        ctx,
        organization_id=link.organization_id,
        quote_id=link.document_id,
        name=name,
        shown_hash=shown_hash,
    )


def link_decline_quote(ctx: Context, token: str, *, reason: str) -> Quote:
    link = _link_for(ctx, token, DocumentType.QUOTE)
    return quotes.decline_quote(
        ctx, organization_id=link.organization_id, quote_id=link.document_id, reason=reason
    )


def link_sign_off_milestone(ctx: Context, token: str, *, name: str) -> quotes.SignOff:
    """Sign the milestone off by typed name; it is invoiced at once (see
    ``quotes.sign_off_milestone``)."""
    link = _link_for(ctx, token, DocumentType.MILESTONE)
    return quotes.sign_off_milestone(
        ctx, organization_id=link.organization_id, milestone_id=link.document_id, by=name
    )


def link_invoice_pdf(ctx: Context, token: str) -> PdfFile:
    """The PDF of the invoice version the link shows (reading it records nothing)."""
    link = _invoice_link(ctx, token)
    return invoice_pdf_file(ctx, organization_id=link.organization_id, invoice_id=link.document_id)


def link_invoice_einvoice(ctx: Context, token: str, syntax: str) -> EInvoiceFile:
    """The EN 16931 e-invoice (UBL or CII) of the invoice the link shows."""
    link = _invoice_link(ctx, token)
    return invoice_file(
        ctx, organization_id=link.organization_id, invoice_id=link.document_id, syntax=syntax
    )
