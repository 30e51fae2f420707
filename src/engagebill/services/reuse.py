"""Reusing an invoice: duplicate it as a new draft, save it as a template, or start a retainer
schedule from it.

The seed's first days of the month: "open last month's retainer invoice, duplicate it, update
the period in the line description, and send", and "draft the first invoice, save it as a
template". Both copy an invoice's lines as they were, minus ``source_ref``: a copy bills
nothing a second time by accident (milestones, work items and retainer periods are billed
once, by the billing run or their own use case). A draft made here is an ordinary draft of
the same engagement, with the engagement's current default PO, dated today.

Templates are kept in their own small table (``domain.invoice_templates``) rather than as
parked drafts: a parked draft would show up in the invoice list and could be sent by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from engagebill.domain.errors import RuleViolation
from engagebill.domain.events import DomainEvent
from engagebill.domain.invoice_templates import InvoiceTemplate
from engagebill.domain.invoices import Invoice, InvoiceKind, InvoiceLine, compute_totals
from engagebill.domain.money import Money
from engagebill.domain.parties import require_text
from engagebill.domain.schedules import RetainerSchedule
from engagebill.services import invoicing, retainers
from engagebill.services.invoicing import DraftResult
from engagebill.services.ports import Context


def reusable_lines(invoice: Invoice) -> list[InvoiceLine]:
    """The current version's lines, without what ties each to one billed item."""
    if invoice.kind is InvoiceKind.ADVANCE:
        raise RuleViolation(
            "an advance invoice is made from an advance: record a new advance instead",
            code="invoice.advance_not_reusable",
        )
    return [replace(line, source_ref=None) for line in invoice.current.lines]


def duplicate_invoice(
    ctx: Context, *, organization_id: str, invoice_id: str, issue_date: date | None = None
) -> DraftResult:
    """A new draft on the same engagement with the same lines and notes, dated today."""
    with ctx.uow() as uow:
        source = uow.invoices.get(organization_id, invoice_id)
        result = invoicing.create_draft(
            ctx,
            organization_id=organization_id,
            engagement_id=source.engagement_id,
            parsed_lines=reusable_lines(source),
            issue_date=issue_date,
            notes=source.current.notes,
            quote_reference=source.current.quote_reference,
            uow=uow,
        )
        uow.commit()
    return result


@dataclass(frozen=True, slots=True)
class TemplateSummary:
    """A template as the templates page lists it."""

    template: InvoiceTemplate
    engagement_name: str
    client_name: str

    @property
    def net(self) -> Money:
        return compute_totals(list(self.template.lines), self.template.currency).net


def save_as_template(
    ctx: Context, *, organization_id: str, invoice_id: str, name: str
) -> InvoiceTemplate:
    """Keep an invoice's lines under a name, for the engagement's next drafts."""
    label = require_text(name, "template name", max_length=200)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        source = uow.invoices.get(organization_id, invoice_id)
        template = InvoiceTemplate(
            id=ctx.ids("tpl"),
            organization_id=organization_id,
            name=label,
            engagement_id=source.engagement_id,
            currency=source.currency,
            created_at=now,
            lines=tuple(reusable_lines(source)),
        )
        uow.invoice_templates.add(template)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "invoice_template.saved",
                    "invoice_template",
                    template.id,
                    now,
                    {"name": label, "engagement_id": source.engagement_id, "from": invoice_id},
                )
            ],
        )
        uow.commit()
    return template


def list_templates(ctx: Context, *, organization_id: str) -> list[TemplateSummary]:
    with ctx.uow() as uow:
        templates = uow.invoice_templates.list(organization_id)
        engagements = {e.id: e for e in uow.engagements.list(organization_id)}
        clients = {c.id: c.name for c in uow.clients.list(organization_id)}
    return [
        TemplateSummary(
            template,
            engagements[template.engagement_id].name,
            clients.get(engagements[template.engagement_id].client_id, ""),
        )
        for template in templates
    ]


def draft_from_template(
    ctx: Context, *, organization_id: str, template_id: str, issue_date: date | None = None
) -> DraftResult:
    """A new draft on the template's engagement with the template's lines, dated today."""
    with ctx.uow() as uow:
        template = uow.invoice_templates.get(organization_id, template_id)
        result = invoicing.create_draft(
            ctx,
            organization_id=organization_id,
            engagement_id=template.engagement_id,
            parsed_lines=list(template.lines),
            issue_date=issue_date,
            uow=uow,
        )
        uow.commit()
    return result


def delete_template(ctx: Context, *, organization_id: str, template_id: str) -> None:
    now = ctx.clock.now()
    with ctx.uow() as uow:
        uow.invoice_templates.delete(organization_id, template_id)
        uow.events.append(
            organization_id,
            [DomainEvent("invoice_template.deleted", "invoice_template", template_id, now, {})],
        )
        uow.commit()


def schedule_from_invoice(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    start_date: date,
    line_template: str = "Monthly retainer, {month} {year}",
    frequency: str = "monthly",
    invoice_day: str = "first_business_day",
) -> RetainerSchedule:
    """A retainer schedule on the invoice's engagement for the invoice's net amount; its VAT
    is the invoice's when all its lines share one VAT category and rate, else the
    engagement's. ``schedule.not_a_retainer`` unless the engagement is a retainer."""
    with ctx.uow() as uow:
        source = uow.invoices.get(organization_id, invoice_id)
    taxes = {(line.vat_category, line.vat_rate) for line in source.current.lines}
    category, rate = next(iter(taxes)) if len(taxes) == 1 else (None, None)
    return retainers.create_schedule(
        ctx,
        organization_id=organization_id,
        engagement_id=source.engagement_id,
        amount=source.totals().net.decimal_string(),
        start_date=start_date,
        frequency=frequency,
        invoice_day=invoice_day,
        line_template=line_template,
        vat_category=category.value if category is not None else None,
        vat_rate=str(rate) if rate is not None else None,
    )
