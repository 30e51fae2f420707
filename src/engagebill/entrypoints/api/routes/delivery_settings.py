"""/delivery-settings: how the organization's emails go out: the invoice PDF attached or not,
the chase of invoices still unopened after some days, and reminders about overdue ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from engagebill.domain.delivery import DeliverySettings
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import Model
from engagebill.services import delivery
from engagebill.services.delivery import MAX_UNOPENED_DAYS

router = APIRouter(prefix="/delivery-settings", tags=["delivery"])


class DeliverySettingsOut(Model):
    attach_pdf: bool = Field(description="Invoice emails carry the PDF as well as the link")
    unopened_after_days: int = Field(description="Chase an invoice still unopened after this")
    overdue_reminders: bool = Field(description="Remind the client when an invoice is overdue")


class DeliverySettingsIn(Model):
    attach_pdf: bool | None = None
    unopened_after_days: Annotated[int, Field(ge=1, le=MAX_UNOPENED_DAYS)] | None = None
    overdue_reminders: bool | None = None


def settings_out(settings: DeliverySettings) -> DeliverySettingsOut:
    return DeliverySettingsOut(
        attach_pdf=settings.attach_pdf,
        unopened_after_days=settings.unopened_after_days,
        overdue_reminders=settings.overdue_reminders,
    )


@router.get("", response_model=DeliverySettingsOut)
def get_delivery_settings(ctx: Ctx, key: Reader) -> DeliverySettingsOut:
    return settings_out(delivery.delivery_settings(ctx, organization_id=key.organization_id))


@router.patch("", response_model=DeliverySettingsOut)
def update_delivery_settings(
    body: DeliverySettingsIn, ctx: Ctx, key: Writer
) -> DeliverySettingsOut:
    """Change what is given; the rest stays. Applies to the emails queued from now on."""
    return settings_out(
        delivery.update_delivery_settings(
            ctx,
            organization_id=key.organization_id,
            attach_pdf=body.attach_pdf,
            unopened_after_days=body.unopened_after_days,
            overdue_reminders=body.overdue_reminders,
        )
    )
