"""/milestones: the instalments of accepted fixed-price quotes, ``planned -> signed_off ->
invoiced``. A milestone is invoiced when it is signed off, never by calendar: the sign-off
creates its invoice in the same transaction, on the project's PO and for the quoted amount.
The client can sign off through a private link of their own, emailed to them
(``sign-off-links``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field

from engagebill.domain.quotes import Milestone, MilestoneState
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.routes.invoices import LinkOut, links_out
from engagebill.entrypoints.api.schemas import InvoiceOut, Model, Page, invoice_out
from engagebill.entrypoints.outputs import MilestoneOut, WarningOut, milestone_out, warnings_out
from engagebill.services import queries, quotes

router = APIRouter(prefix="/milestones", tags=["milestones"])


class SignOffIn(Model):
    signed_off_by: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="Who accepted the deliverable, as they gave their name"
    )


class SignOffOut(Model):
    milestone: MilestoneOut
    invoice: InvoiceOut = Field(description="The milestone's invoice, created in the sign-off")
    warnings: list[WarningOut]
    held_reason: str = Field(description="Why an auto-sending engagement kept it a draft")


class SignOffLinkIn(Model):
    recipient_email: Annotated[str, Field(min_length=3, max_length=254)] = Field(
        description="Who is asked to sign off, e.g. the client's project lead",
        examples=["lead@acme.example"],
    )
    recipient_name: Annotated[str, Field(max_length=200)] = ""


def _key(milestone: Milestone) -> tuple[datetime, str]:
    return milestone.created_at, milestone.id


@router.get("", response_model=Page[MilestoneOut])
def list_milestones(
    ctx: Ctx,
    key: Reader,
    engagement_id: str | None = None,
    state: MilestoneState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[MilestoneOut]:
    """Milestones, newest first; filter by engagement and state (``planned`` is what waits
    for a sign-off)."""
    found = quotes.list_milestones(
        ctx,
        organization_id=key.organization_id,
        engagement_id=engagement_id,
        states=() if state is None else (state,),
    )
    rows = queries.keyset_page(found, key=_key, after=pagination.decode(cursor), limit=limit + 1)
    return Page[MilestoneOut](
        items=[milestone_out(m) for m in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, _key),
    )


@router.get("/{milestone_id}", response_model=MilestoneOut)
def get_milestone(milestone_id: str, ctx: Ctx, key: Reader) -> MilestoneOut:
    return milestone_out(
        quotes.get_milestone(ctx, organization_id=key.organization_id, milestone_id=milestone_id)
    )


@router.post("/{milestone_id}/sign-off", response_model=SignOffOut)
def sign_off_milestone(milestone_id: str, body: SignOffIn, ctx: Ctx, key: Writer) -> SignOffOut:
    """Record who signed the milestone off and invoice it at once (sent too when the
    engagement sends automatically). A second sign-off is refused; nothing is billed twice."""
    signed = quotes.sign_off_milestone(
        ctx,
        organization_id=key.organization_id,
        milestone_id=milestone_id,
        by=body.signed_off_by,
    )
    return SignOffOut(
        milestone=milestone_out(signed.milestone),
        invoice=invoice_out(signed.invoice),
        warnings=warnings_out(signed.warnings),
        held_reason=signed.held_reason,
    )


@router.post("/{milestone_id}/sign-off-links", status_code=201, response_model=LinkOut)
def request_sign_off(
    milestone_id: str, body: SignOffLinkIn, request: Request, ctx: Ctx, key: Writer
) -> LinkOut:
    """Ask the client to sign a planned milestone off: a private link of their own, emailed
    to them, with which they sign off by typing their name. The URL is returned once, here."""
    issued = quotes.request_sign_off(
        ctx,
        organization_id=key.organization_id,
        milestone_id=milestone_id,
        recipient_email=body.recipient_email,
        recipient_name=body.recipient_name,
    )
    return links_out(request, [issued])[0]
