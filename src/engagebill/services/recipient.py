"""Use cases of the recipient's side: view, request a change, amend, approve.

Amendments touch only reference fields (PO number, billing entity, cost centre) of the current
version: number, version and amounts stay as they are. They also become the engagement's
defaults, so the next invoice on the engagement starts from what the client told us.

Each use case takes an optional unit of work, so that an action through a private link runs
in the same transaction as the check of that link (``services.recipient_links``).
"""

from __future__ import annotations

from engagebill.domain.errors import ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.invoices import Amendment, AmendmentField, Invoice
from engagebill.domain.lifecycle import InvoiceAction, next_state
from engagebill.domain.parties import BillingEntity, require_text
from engagebill.domain.purchase_orders import PurchaseOrder
from engagebill.services.invoicing import buyer_snapshot, store
from engagebill.services.parties import EntityInput, _entity
from engagebill.services.ports import Context, UnitOfWork
from engagebill.services.validation import clean_text


def _name(by: str) -> str:
    """Who acted, as typed: at most 200 characters and nothing a document cannot print."""
    return clean_text(by, "name", max_length=200)


def record_view(
    ctx: Context, *, organization_id: str, invoice_id: str, viewer: str = ""
) -> Invoice:
    """Record a view; the first one moves a sent invoice to viewed."""
    with ctx.uow() as uow:
        invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
        invoice.view(ctx.clock.now(), viewer=viewer)
        store(uow, invoice)
        uow.commit()
    return invoice


def request_change(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    message: str,
    by: str,
    uow: UnitOfWork | None = None,
) -> Invoice:
    text = require_text(message, "change request message", max_length=5000, multiline=True)
    if uow is None:
        with ctx.uow() as own:
            invoice = request_change(
                ctx,
                organization_id=organization_id,
                invoice_id=invoice_id,
                message=text,
                by=by,
                uow=own,
            )
            own.commit()
        return invoice
    invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
    invoice.request_change(message=text, by=_name(by), at=ctx.clock.now())
    store(uow, invoice)
    return invoice


def approve_invoice(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    name: str,
    uow: UnitOfWork | None = None,
) -> Invoice:
    """Approve for payment; the approver types their name, which is recorded."""
    typed = require_text(name, "approver's name", max_length=200)
    if uow is None:
        with ctx.uow() as own:
            invoice = approve_invoice(
                ctx, organization_id=organization_id, invoice_id=invoice_id, name=typed, uow=own
            )
            own.commit()
        return invoice
    invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
    invoice.approve(name=typed, at=ctx.clock.now())
    store(uow, invoice)
    return invoice


def amend_invoice(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    by: str,
    purchase_order_number: str | None = None,
    billing_entity: EntityInput | None = None,
    cost_centre: str | None = None,
    uow: UnitOfWork | None = None,
) -> Invoice:
    """Record the recipient's amendments on the current version, and carry them forward."""
    if purchase_order_number is None and billing_entity is None and cost_centre is None:
        raise ValidationError(
            "nothing to amend: give a PO number, billing entity or cost centre",
            code="amendment.empty",
        )
    if uow is None:
        with ctx.uow() as own:
            invoice = amend_invoice(
                ctx,
                organization_id=organization_id,
                invoice_id=invoice_id,
                by=by,
                purchase_order_number=purchase_order_number,
                billing_entity=billing_entity,
                cost_centre=cost_centre,
                uow=own,
            )
            own.commit()
        return invoice
    who = _name(by) or "recipient"
    now = ctx.clock.now()
    invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
    next_state(invoice.state, InvoiceAction.AMEND)
    engagement = uow.engagements.get(organization_id, invoice.engagement_id)
    extra_events: list[DomainEvent] = []
    if purchase_order_number is not None:
        number = require_text(purchase_order_number, "PO number", max_length=100)
        po = uow.purchase_orders.find(organization_id, engagement.id, number)
        if po is None:
            # The client told us a PO we had not recorded: it is this engagement's PO now.
            po = PurchaseOrder(
                id=ctx.ids("po"),
                organization_id=organization_id,
                engagement_id=engagement.id,
                number=number,
                currency=engagement.currency,
                created_at=now,
            )
            uow.purchase_orders.add(po)
            extra_events.append(
                DomainEvent(
                    "purchase_order.created",
                    "purchase_order",
                    po.id,
                    now,
                    {
                        "engagement_id": engagement.id,
                        "number": number,
                        "source": "amendment",
                        "invoice_id": invoice.id,
                    },
                )
            )
        invoice.amend(
            Amendment(
                invoice.version,
                AmendmentField.PURCHASE_ORDER,
                {"id": po.id, "number": po.number},
                who,
                now,
            )
        )
        engagement.default_purchase_order_id = po.id
    entity: BillingEntity | None = None
    if billing_entity is not None:
        entity = _entity(ctx, organization_id, invoice.client_id, billing_entity)
        invoice.amend(
            Amendment(
                invoice.version,
                AmendmentField.BILLING_ENTITY,
                buyer_snapshot(entity).to_dict(),
                who,
                now,
            )
        )
    if cost_centre is not None:
        centre = clean_text(cost_centre, "cost centre", max_length=100)
        base = entity or uow.clients.get_billing_entity(
            organization_id, engagement.billing_entity_id
        )
        entity = BillingEntity(
            id=ctx.ids("be"),
            organization_id=organization_id,
            client_id=base.client_id,
            legal_name=base.legal_name,
            address=base.address,
            tax_id=base.tax_id,
            cost_centre=centre,
            created_at=now,
        )
        invoice.amend(
            Amendment(
                invoice.version, AmendmentField.COST_CENTRE, {"cost_centre": centre}, who, now
            )
        )
    if entity is not None:
        uow.clients.add_billing_entity(entity)
        engagement.billing_entity_id = entity.id
    uow.engagements.update_defaults(engagement)
    uow.events.append(organization_id, extra_events)
    store(uow, invoice)
    return invoice
