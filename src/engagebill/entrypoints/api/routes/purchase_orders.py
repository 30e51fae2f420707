"""/purchase-orders: the client's authorisation to invoice an engagement, with what issued
invoices have consumed of its ceiling and whether it is valid today."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import Day, Decimalish, Model, MoneyOut, Page, money
from engagebill.services import parties, queries
from engagebill.services.queries import PoValidity, PurchaseOrderUsage

router = APIRouter(tags=["purchase orders"])


class PurchaseOrderIn(Model):
    engagement_id: Annotated[str, Field(min_length=1, max_length=100)]
    number: Annotated[str, Field(min_length=1, max_length=100, examples=["4500012345"])]
    valid_from: Day | None = None
    valid_to: Day | None = None
    ceiling: Decimalish | None = Field(
        default=None, description="Net amount the PO authorises, in the engagement's currency"
    )
    make_default: bool = Field(
        default=True, description="The engagement's next invoices carry this PO"
    )


class PurchaseOrderOut(Model):
    id: str
    engagement_id: str
    number: str
    currency: str
    valid_from: date | None
    valid_to: date | None
    ceiling: MoneyOut | None
    consumed: MoneyOut = Field(description="Net of issued invoices carrying it, less credits")
    remaining: MoneyOut | None
    validity: PoValidity = Field(description="On today's date")
    created_at: datetime


def purchase_order_out(usage: PurchaseOrderUsage) -> PurchaseOrderOut:
    po = usage.purchase_order
    remaining = usage.remaining
    return PurchaseOrderOut(
        id=po.id,
        engagement_id=po.engagement_id,
        number=po.number,
        currency=po.currency,
        valid_from=po.valid_from,
        valid_to=po.valid_to,
        ceiling=money(po.ceiling) if po.ceiling is not None else None,
        consumed=money(usage.consumed),
        remaining=money(remaining) if remaining is not None else None,
        validity=usage.validity,
        created_at=po.created_at,
    )


def _key(usage: PurchaseOrderUsage) -> tuple[datetime, str]:
    return usage.purchase_order.created_at, usage.purchase_order.id


@router.get("/purchase-orders", response_model=Page[PurchaseOrderOut])
def list_purchase_orders(
    ctx: Ctx,
    key: Reader,
    engagement_id: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[PurchaseOrderOut]:
    """POs, newest first, with their consumption; filter by engagement."""
    rows = queries.list_purchase_orders(
        ctx,
        organization_id=key.organization_id,
        engagement_id=engagement_id,
        after=pagination.decode(cursor),
        limit=limit + 1,
    )
    return Page[PurchaseOrderOut](
        items=[purchase_order_out(u) for u in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, _key),
    )


@router.post("/purchase-orders", status_code=201, response_model=PurchaseOrderOut)
def create_purchase_order(body: PurchaseOrderIn, ctx: Ctx, key: Writer) -> PurchaseOrderOut:
    """A PO on one engagement; by default its next invoices carry it."""
    po = parties.create_purchase_order(
        ctx,
        organization_id=key.organization_id,
        engagement_id=body.engagement_id,
        number=body.number,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        ceiling=body.ceiling,
        make_default=body.make_default,
    )
    return purchase_order_out(
        queries.get_purchase_order(
            ctx, organization_id=key.organization_id, purchase_order_id=po.id
        )
    )


@router.get("/purchase-orders/{purchase_order_id}", response_model=PurchaseOrderOut)
def get_purchase_order(purchase_order_id: str, ctx: Ctx, key: Reader) -> PurchaseOrderOut:
    return purchase_order_out(
        queries.get_purchase_order(
            ctx, organization_id=key.organization_id, purchase_order_id=purchase_order_id
        )
    )


@router.get(
    "/engagements/{engagement_id}/purchase-orders",
    response_model=list[PurchaseOrderOut],
    tags=["engagements"],
)
def engagement_purchase_orders(engagement_id: str, ctx: Ctx, key: Reader) -> list[PurchaseOrderOut]:
    """The engagement's POs, newest first: what each has left of its ceiling, and whether it
    is valid today."""
    rows = queries.list_purchase_orders(
        ctx, organization_id=key.organization_id, engagement_id=engagement_id, limit=None
    )
    return [purchase_order_out(u) for u in rows]
