"""What a recipient can do through an invoice link: amend, request a change, approve.

Each action resolves the link first (unknown, revoked and expired links are refused), checks
that it is an invoice link, and acts as that link's recipient on that invoice only.
"""

from __future__ import annotations

from engagebill.domain.access import DocumentType, PrivateLink
from engagebill.domain.errors import NotFound
from engagebill.domain.invoices import Invoice
from engagebill.services import recipient
from engagebill.services.links import open_link
from engagebill.services.parties import EntityInput
from engagebill.services.ports import Context


def _invoice_link(ctx: Context, token: str) -> PrivateLink:
    link = open_link(ctx, token)
    if link.document_type is not DocumentType.INVOICE:
        raise NotFound("this link is not for an invoice", code="link.not_found")
    return link


def link_amend(
    ctx: Context,
    token: str,
    *,
    purchase_order_number: str | None = None,
    billing_entity: EntityInput | None = None,
    cost_centre: str | None = None,
) -> Invoice:
    link = _invoice_link(ctx, token)
    return recipient.amend_invoice(
        ctx,
        organization_id=link.organization_id,
        invoice_id=link.document_id,
        by=link.recipient,
        purchase_order_number=purchase_order_number,
        billing_entity=billing_entity,
        cost_centre=cost_centre,
    )


def link_request_change(ctx: Context, token: str, *, message: str) -> Invoice:
    link = _invoice_link(ctx, token)
    return recipient.request_change(
        ctx,
        organization_id=link.organization_id,
        invoice_id=link.document_id,
        message=message,
        by=link.recipient,
    )


def link_approve(ctx: Context, token: str, *, name: str) -> Invoice:
    link = _invoice_link(ctx, token)
    return recipient.approve_invoice(
        ctx, organization_id=link.organization_id, invoice_id=link.document_id, name=name
    )
