"""/engagements: one billable agreement with a client (retainer, fixed price, or time and
material), and one invoice stream. Its POs are at /engagements/{id}/purchase-orders, its
advance balance at /engagements/{id}/advance-balance, and its account (the advance, and every
issued invoice's gross, drawn, credited, paid and outstanding) at /engagements/{id}/account."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from engagebill.domain.engagements import Engagement, EngagementKind, RetainerMode
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import Decimalish, Model, Page
from engagebill.entrypoints.outputs import EngagementAccountOut, engagement_account_out
from engagebill.services import parties, queries
from engagebill.services.engagement_account import engagement_account

router = APIRouter(prefix="/engagements", tags=["engagements"])

VatCategoryText = Annotated[str, Field(pattern=r"^(S|Z|E|AE|K|G|O)$")]


class EngagementIn(Model):
    client_id: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: EngagementKind
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$", examples=["EUR"])]
    net_days: Annotated[int, Field(ge=0, le=365, description="Payment terms: Net N")] = 30
    billing_entity_id: Annotated[
        str | None,
        Field(max_length=100, description="Omitted: the client's newest billing entity"),
    ] = None
    retainer_mode: RetainerMode | None = Field(
        default=None, description="Retainers only: fee (default) or advance"
    )
    auto_send: bool = Field(
        default=False, description="Billing runs send this engagement's invoices at once"
    )
    vat_category: VatCategoryText = "S"
    vat_rate: Decimalish = "21"


class EngagementOut(Model):
    id: str
    client_id: str
    name: str
    kind: str
    currency: str
    net_days: int
    billing_entity_id: str
    default_purchase_order_id: str | None
    retainer_mode: str | None
    auto_send: bool
    vat_category: str
    vat_rate: str
    created_at: datetime


def engagement_out(engagement: Engagement) -> EngagementOut:
    return EngagementOut(
        id=engagement.id,
        client_id=engagement.client_id,
        name=engagement.name,
        kind=engagement.kind.value,
        currency=engagement.currency,
        net_days=engagement.terms.net_days,
        billing_entity_id=engagement.billing_entity_id,
        default_purchase_order_id=engagement.default_purchase_order_id,
        retainer_mode=engagement.retainer_mode.value if engagement.retainer_mode else None,
        auto_send=engagement.auto_send,
        vat_category=engagement.vat_category.value,
        vat_rate=str(engagement.vat_rate),
        created_at=engagement.created_at,
    )


@router.get("", response_model=Page[EngagementOut])
def list_engagements(
    ctx: Ctx,
    key: Reader,
    client_id: str | None = None,
    kind: EngagementKind | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[EngagementOut]:
    """Engagements, newest first; filter by client and kind."""
    rows = queries.list_engagements(
        ctx,
        organization_id=key.organization_id,
        client_id=client_id,
        kind=kind,
        after=pagination.decode(cursor),
        limit=limit + 1,
    )
    return Page[EngagementOut](
        items=[engagement_out(e) for e in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, lambda e: (e.created_at, e.id)),
    )


@router.post("", status_code=201, response_model=EngagementOut)
def create_engagement(body: EngagementIn, ctx: Ctx, key: Writer) -> EngagementOut:
    """An engagement fixes the currency, payment terms, VAT treatment and billing entity of
    every invoice it issues."""
    return engagement_out(
        parties.create_engagement(
            ctx,
            organization_id=key.organization_id,
            client_id=body.client_id,
            name=body.name,
            kind=body.kind.value,
            currency=body.currency,
            net_days=body.net_days,
            billing_entity_id=body.billing_entity_id,
            retainer_mode=body.retainer_mode.value if body.retainer_mode else None,
            auto_send=body.auto_send,
            vat_category=body.vat_category,
            vat_rate=body.vat_rate,
        )
    )


@router.get("/{engagement_id}", response_model=EngagementOut)
def get_engagement(engagement_id: str, ctx: Ctx, key: Reader) -> EngagementOut:
    return engagement_out(
        queries.get_engagement(
            ctx, organization_id=key.organization_id, engagement_id=engagement_id
        )
    )


@router.get("/{engagement_id}/account", response_model=EngagementAccountOut)
def get_engagement_account(engagement_id: str, ctx: Ctx, key: Reader) -> EngagementAccountOut:
    """The engagement's account, derived from its issued documents: the advance (invoiced,
    drawn, reserved, used, refunded, available; net), the issued invoices' totals, and each
    issued invoice's gross, drawn, credited, paid, outstanding and credit balance (gross)."""
    return engagement_account_out(
        engagement_account(ctx, organization_id=key.organization_id, engagement_id=engagement_id)
    )
