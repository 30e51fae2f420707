"""An engagement's advance in use: invoice a one-off advance, draw a draft on the advance or
bill it normally, and refund what is left by credit notes.

Every one of these is a money decision of the engagement account (``services.advances``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from engagebill.entrypoints.api.deps import Ctx, Writer
from engagebill.entrypoints.api.schemas import (
    CreditNoteOut,
    InvoiceOut,
    Model,
    credit_note_out,
    invoice_out,
)
from engagebill.services import advances

router = APIRouter(tags=["retainers"])


class RefundIn(Model):
    reason: Annotated[str, Field(min_length=1, max_length=2000)] = advances.REFUND_REASON


@router.post("/advances/{advance_id}/invoice", status_code=201, response_model=InvoiceOut)
def invoice_advance(advance_id: str, ctx: Ctx, key: Writer) -> InvoiceOut:
    """A draft advance invoice, from the advance's invoice date on (``advance.not_ready``)."""
    return invoice_out(
        advances.invoice_advance(ctx, organization_id=key.organization_id, advance_id=advance_id)
    )


@router.post("/invoices/{invoice_id}/advance/apply", response_model=InvoiceOut)
def apply_advance(invoice_id: str, ctx: Ctx, key: Writer) -> InvoiceOut:
    """Draw a draft on the available advance, up to its net."""
    return invoice_out(
        advances.apply_advance(ctx, organization_id=key.organization_id, invoice_id=invoice_id)
    )


@router.post("/invoices/{invoice_id}/advance/discard", response_model=InvoiceOut)
def discard_advance(invoice_id: str, ctx: Ctx, key: Writer) -> InvoiceOut:
    """Bill a draft normally: its draw on the advance is declined (used 0.00, due = gross)."""
    return invoice_out(
        advances.discard_advance(ctx, organization_id=key.organization_id, invoice_id=invoice_id)
    )


@router.post(
    "/engagements/{engagement_id}/advance/refunds",
    status_code=201,
    response_model=list[CreditNoteOut],
    tags=["engagements"],
)
def refund_advance(
    engagement_id: str, body: RefundIn, ctx: Ctx, key: Writer
) -> list[CreditNoteOut]:
    """Refund the unused advance: credit notes against the advance invoices, newest first,
    never more than is available."""
    notes = advances.refund_advance(
        ctx, organization_id=key.organization_id, engagement_id=engagement_id, reason=body.reason
    )
    return [credit_note_out(note) for note in notes]
