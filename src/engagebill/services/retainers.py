"""Use cases for retainer schedules and one-off advances, and the advance's balance."""

from __future__ import annotations

from datetime import date

from engagebill.domain.advances import Advance
from engagebill.domain.engagement_account import AdvanceFigures
from engagebill.domain.engagements import EngagementKind, RetainerMode
from engagebill.domain.errors import RuleViolation, ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.money import Money, parse_decimal
from engagebill.domain.parties import require_text
from engagebill.domain.schedules import (
    Frequency,
    InvoiceDayRule,
    RetainerSchedule,
    check_template,
)
from engagebill.domain.taxes import check_rate, parse_category
from engagebill.services.engagement_account import engagement_account
from engagebill.services.ports import Context


def create_schedule(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str,
    amount: str,
    start_date: date,
    frequency: str = "monthly",
    invoice_day: str = "first_business_day",
    line_template: str = "Monthly retainer, {month} {year}",
    end_date: date | None = None,
    vat_category: str | None = None,
    vat_rate: str | None = None,
) -> RetainerSchedule:
    """A retainer schedule on a retainer engagement; its mode is the engagement's."""
    try:
        freq = Frequency(frequency.strip().lower())
    except ValueError:
        raise ValidationError(
            "frequency must be monthly, quarterly or yearly", code="schedule.invalid_frequency"
        ) from None
    if end_date is not None and end_date < start_date:
        raise ValidationError(
            "a schedule cannot end before it starts", code="schedule.invalid_dates"
        )
    now = ctx.clock.now()
    with ctx.uow() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        if engagement.kind is not EngagementKind.RETAINER:
            raise RuleViolation(
                f"{engagement.name} is a {engagement.kind.value} engagement; retainer schedules "
                "belong to retainer engagements",
                code="schedule.not_a_retainer",
            )
        category = parse_category(vat_category) if vat_category else engagement.vat_category
        rate = (
            check_rate(category, parse_decimal(vat_rate, field="VAT rate", code="vat.invalid_rate"))
            if vat_rate is not None
            # A category without a rate takes the engagement's rate, which must suit it (an
            # AE advance on a 21% engagement would make every later billing plan fail).
            else check_rate(category, engagement.vat_rate)
        )
        money = Money.of(amount, engagement.currency)
        if money.amount <= 0 or not money.is_whole_minor():
            raise ValidationError(
                "a retainer amount must be positive, in whole minor units",
                code="schedule.invalid_amount",
            )
        schedule = RetainerSchedule(
            id=ctx.ids("rs"),
            organization_id=organization_id,
            engagement_id=engagement_id,
            mode=engagement.retainer_mode or RetainerMode.FEE,
            amount=money,
            frequency=freq,
            invoice_day=InvoiceDayRule(invoice_day.strip()),
            line_template=check_template(line_template),
            start_date=start_date,
            created_at=now,
            end_date=end_date,
            vat_category=category,
            vat_rate=rate,
        )
        uow.retainers.add_schedule(schedule)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "retainer_schedule.created",
                    "retainer_schedule",
                    schedule.id,
                    now,
                    {
                        "engagement_id": engagement_id,
                        "mode": schedule.mode.value,
                        "amount": str(money.amount),
                        "frequency": freq.value,
                        "invoice_day": schedule.invoice_day.text,
                        "start_date": start_date.isoformat(),
                        "end_date": end_date.isoformat() if end_date else None,
                    },
                )
            ],
        )
        uow.commit()
    return schedule


def end_schedule(ctx: Context, *, organization_id: str, schedule_id: str) -> None:
    """Stop a schedule: no further periods are planned. Issued invoices are untouched."""
    with ctx.uow() as uow:
        uow.retainers.set_schedule_active(organization_id, schedule_id, False)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "retainer_schedule.ended", "retainer_schedule", schedule_id, ctx.clock.now(), {}
                )
            ],
        )
        uow.commit()


def create_advance(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str,
    amount: str,
    invoice_date: date,
    description: str = "Advance payment",
    vat_category: str | None = None,
    vat_rate: str | None = None,
) -> Advance:
    """A one-off advance on any engagement, ready for invoicing on its invoice date."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        category = parse_category(vat_category) if vat_category else engagement.vat_category
        rate = (
            check_rate(category, parse_decimal(vat_rate, field="VAT rate", code="vat.invalid_rate"))
            if vat_rate is not None
            # A category without a rate takes the engagement's rate, which must suit it (an
            # AE advance on a 21% engagement would make every later billing plan fail).
            else check_rate(category, engagement.vat_rate)
        )
        money = Money.of(amount, engagement.currency)
        if money.amount <= 0 or not money.is_whole_minor():
            raise ValidationError(
                "an advance must be positive, in whole minor units", code="advance.invalid_amount"
            )
        advance = Advance(
            id=ctx.ids("adv"),
            organization_id=organization_id,
            engagement_id=engagement_id,
            amount=money,
            invoice_date=invoice_date,
            description=require_text(description, "description", max_length=300),
            created_at=now,
            vat_category=category,
            vat_rate=rate,
        )
        uow.retainers.add_advance(advance)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "advance.created",
                    "advance",
                    advance.id,
                    now,
                    {
                        "engagement_id": engagement_id,
                        "amount": str(money.amount),
                        "invoice_date": invoice_date.isoformat(),
                    },
                )
            ],
        )
        uow.commit()
    return advance


def advance_balance(
    ctx: Context, *, organization_id: str, engagement_id: str, as_of: date | None = None
) -> AdvanceFigures:
    """The engagement's advance: invoiced, drawn, reserved, refunded and available; as its
    documents dated up to ``as_of`` make it, when a date is given."""
    account = engagement_account(ctx, organization_id=organization_id, engagement_id=engagement_id)
    return (account if as_of is None else account.as_of(as_of)).advance
