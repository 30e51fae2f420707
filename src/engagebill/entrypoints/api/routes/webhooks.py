"""/webhook-endpoints: where an organization's events are delivered, signed with HMAC-SHA256
(docs/api.md shows how a receiver verifies them). The signing secret is returned once, when the
endpoint is registered; removing an endpoint stops new deliveries to it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from engagebill.domain.delivery import WEBHOOK_EVENTS, WebhookEndpoint
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import Model
from engagebill.services import delivery
from engagebill.services.delivery import MAX_WEBHOOK_URL

router = APIRouter(prefix="/webhook-endpoints", tags=["webhooks"])


class WebhookIn(Model):
    url: Annotated[str, Field(min_length=1, max_length=MAX_WEBHOOK_URL)] = Field(
        examples=["https://erp.example/hooks/engagebill"]
    )
    events: Annotated[list[str], Field(max_length=len(WEBHOOK_EVENTS))] = Field(
        default_factory=list,
        description=f"Some of {', '.join(sorted(WEBHOOK_EVENTS))}; none: all of them",
    )


class WebhookOut(Model):
    id: str
    url: str
    events: list[str]
    active: bool = Field(description="False once removed")
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="Signs every delivery; shown only here, keep it")


def webhook_out(endpoint: WebhookEndpoint) -> WebhookOut:
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=sorted(endpoint.events),
        active=endpoint.active,
        created_at=endpoint.created_at,
    )


@router.get("", response_model=list[WebhookOut])
def list_webhooks(ctx: Ctx, key: Reader, include_removed: bool = False) -> list[WebhookOut]:
    """The endpoints, oldest first; removed ones too with ``include_removed``."""
    return [
        webhook_out(e)
        for e in delivery.list_webhooks(
            ctx, organization_id=key.organization_id, include_removed=include_removed
        )
    ]


@router.post("", status_code=201, response_model=WebhookCreatedOut)
def register_webhook(body: WebhookIn, ctx: Ctx, key: Writer) -> WebhookCreatedOut:
    """Register an endpoint for some or all events. Deliveries are at least once, retried with
    backoff for three days; deduplicate on the event id."""
    endpoint = delivery.register_webhook(
        ctx, organization_id=key.organization_id, url=body.url, events=body.events
    )
    return WebhookCreatedOut(**webhook_out(endpoint).model_dump(), secret=endpoint.secret)


@router.get("/{endpoint_id}", response_model=WebhookOut)
def get_webhook(endpoint_id: str, ctx: Ctx, key: Reader) -> WebhookOut:
    return webhook_out(
        delivery.get_webhook(ctx, organization_id=key.organization_id, endpoint_id=endpoint_id)
    )


@router.delete("/{endpoint_id}", response_model=WebhookOut)
def remove_webhook(endpoint_id: str, ctx: Ctx, key: Writer) -> WebhookOut:
    """Stop delivering to the endpoint (what is already queued still goes out). Removing it
    again answers the same."""
    return webhook_out(
        delivery.remove_webhook(ctx, organization_id=key.organization_id, endpoint_id=endpoint_id)
    )
