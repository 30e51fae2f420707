"""Use cases for the parties and agreements: organizations, clients, engagements and POs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from engagebill.domain.engagements import (
    Engagement,
    EngagementKind,
    PaymentTerms,
    RetainerMode,
)
from engagebill.domain.errors import RuleViolation, ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.money import Money, currency_exponent, parse_decimal
from engagebill.domain.numbering import NumberFormat, SeriesKind
from engagebill.domain.parties import (
    Address,
    ApContact,
    BillingEntity,
    Client,
    Organization,
    require_text,
)
from engagebill.domain.purchase_orders import PurchaseOrder
from engagebill.domain.taxes import check_rate, parse_category
from engagebill.services.ports import Context, UnitOfWork
from engagebill.services.validation import check_email, clean_text, normalize_tax_id

DEFAULT_INVOICE_FORMAT = "{prefix}-{yyyy}-{seq:04}"


@dataclass(frozen=True, slots=True)
class EntityInput:
    """A billing entity as typed by a user, before validation."""

    legal_name: str
    line1: str
    city: str
    postal_code: str
    country_code: str
    line2: str = ""
    tax_id: str = ""
    cost_centre: str = ""


@dataclass(frozen=True, slots=True)
class ContactInput:
    name: str
    email: str


def _address(entity: EntityInput) -> Address:
    return Address(
        line1=require_text(entity.line1, "address line 1", max_length=200),
        line2=clean_text(entity.line2, "address line 2", max_length=200),
        city=require_text(entity.city, "city", max_length=100),
        postal_code=require_text(entity.postal_code, "postal code", max_length=20),
        country_code=entity.country_code,
    )


def create_organization(
    ctx: Context,
    *,
    name: str,
    seller: EntityInput,
    email: str,
    iban: str = "",
    invoice_prefix: str = "INV",
    invoice_format: str = DEFAULT_INVOICE_FORMAT,
    credit_note_prefix: str = "CN",
    credit_note_format: str = DEFAULT_INVOICE_FORMAT,
    quote_prefix: str = "Q",
) -> Organization:
    now = ctx.clock.now()
    address = _address(seller)
    organization = Organization(
        id=ctx.ids("org"),
        name=require_text(name, "name", max_length=200),
        legal_name=require_text(seller.legal_name, "legal name", max_length=200),
        address=address,
        tax_id=normalize_tax_id(seller.tax_id, address.country_code),
        email=check_email(email),
        iban=iban.replace(" ", "").upper(),
        created_at=now,
    )
    series = [
        (SeriesKind.INVOICE, NumberFormat(invoice_format, invoice_prefix)),
        (SeriesKind.CREDIT_NOTE, NumberFormat(credit_note_format, credit_note_prefix)),
        (SeriesKind.QUOTE, NumberFormat(DEFAULT_INVOICE_FORMAT, quote_prefix)),
    ]
    if series[0][1].prefix == series[1][1].prefix and series[0][1].pattern == series[1][1].pattern:
        raise ValidationError(
            "invoices and credit notes need different number prefixes",
            code="numbering.series_clash",
        )
    with ctx.uow() as uow:
        uow.organizations.add(organization, series)
        uow.events.append(
            organization.id,
            [
                DomainEvent(
                    "organization.created",
                    "organization",
                    organization.id,
                    now,
                    {"name": organization.name},
                )
            ],
        )
        uow.commit()
    return organization


def _entity(
    ctx: Context, organization_id: str, client_id: str, entity: EntityInput
) -> BillingEntity:
    address = _address(entity)
    return BillingEntity(
        id=ctx.ids("be"),
        organization_id=organization_id,
        client_id=client_id,
        legal_name=require_text(entity.legal_name, "legal name", max_length=200),
        address=address,
        tax_id=normalize_tax_id(entity.tax_id, address.country_code),
        cost_centre=clean_text(entity.cost_centre, "cost centre", max_length=100),
        created_at=ctx.clock.now(),
    )


def create_client(
    ctx: Context,
    *,
    organization_id: str,
    name: str,
    billing_entity: EntityInput,
    contacts: Sequence[ContactInput] = (),
) -> Client:
    now = ctx.clock.now()
    client = Client(
        id=ctx.ids("cli"),
        organization_id=organization_id,
        name=require_text(name, "client name", max_length=200),
        created_at=now,
    )
    client.billing_entities.append(_entity(ctx, organization_id, client.id, billing_entity))
    for contact in contacts:
        client.contacts.append(
            ApContact(
                id=ctx.ids("con"),
                organization_id=organization_id,
                client_id=client.id,
                name=require_text(contact.name, "contact name", max_length=200),
                email=check_email(contact.email),
            )
        )
    with ctx.uow() as uow:
        uow.organizations.get(organization_id)
        uow.clients.add(client)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "client.created",
                    "client",
                    client.id,
                    now,
                    {"name": client.name, "billing_entity_id": client.billing_entities[0].id},
                )
            ],
        )
        uow.commit()
    return client


def add_billing_entity(
    ctx: Context, *, organization_id: str, client_id: str, entity: EntityInput
) -> BillingEntity:
    billing_entity = _entity(ctx, organization_id, client_id, entity)
    with ctx.uow() as uow:
        uow.clients.get(organization_id, client_id)
        uow.clients.add_billing_entity(billing_entity)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "client.billing_entity_added",
                    "client",
                    client_id,
                    ctx.clock.now(),
                    {
                        "billing_entity_id": billing_entity.id,
                        "legal_name": billing_entity.legal_name,
                    },
                )
            ],
        )
        uow.commit()
    return billing_entity


def add_contact(
    ctx: Context, *, organization_id: str, client_id: str, contact: ContactInput
) -> ApContact:
    ap_contact = ApContact(
        id=ctx.ids("con"),
        organization_id=organization_id,
        client_id=client_id,
        name=require_text(contact.name, "contact name", max_length=200),
        email=check_email(contact.email),
    )
    with ctx.uow() as uow:
        uow.clients.get(organization_id, client_id)
        uow.clients.add_contact(ap_contact)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "client.contact_added",
                    "client",
                    client_id,
                    ctx.clock.now(),
                    {"contact_id": ap_contact.id, "email": ap_contact.email},
                )
            ],
        )
        uow.commit()
    return ap_contact


def parse_kind(kind: str) -> EngagementKind:
    try:
        return EngagementKind(kind.strip().lower())
    except ValueError:
        raise ValidationError(
            f"engagement kind {kind!r} is not one of {', '.join(k.value for k in EngagementKind)}",
            code="engagement.invalid_kind",
        ) from None


def create_engagement(
    ctx: Context,
    *,
    organization_id: str,
    client_id: str,
    name: str,
    kind: str,
    currency: str,
    net_days: int = 30,
    billing_entity_id: str | None = None,
    retainer_mode: str | None = None,
    auto_send: bool = False,
    vat_category: str = "S",
    vat_rate: str = "21",
) -> Engagement:
    engagement_kind = parse_kind(kind)
    category = parse_category(vat_category)
    rate = check_rate(category, parse_decimal(vat_rate, field="VAT rate", code="vat.invalid_rate"))
    code = currency.strip().upper()
    currency_exponent(code)
    mode: RetainerMode | None = None
    if engagement_kind is EngagementKind.RETAINER:
        try:
            mode = RetainerMode((retainer_mode or "fee").strip().lower())
        except ValueError:
            raise ValidationError(
                "retainer mode must be fee or advance", code="engagement.invalid_retainer_mode"
            ) from None
    elif retainer_mode:
        raise ValidationError(
            "only a retainer engagement has a retainer mode",
            code="engagement.invalid_retainer_mode",
        )
    now = ctx.clock.now()
    with ctx.uow() as uow:
        client = uow.clients.get(organization_id, client_id)
        entity_id = billing_entity_id or client.billing_entities[-1].id
        client.billing_entity(entity_id)
        engagement = Engagement(
            id=ctx.ids("eng"),
            organization_id=organization_id,
            client_id=client_id,
            name=require_text(name, "engagement name", max_length=200),
            kind=engagement_kind,
            currency=code,
            terms=PaymentTerms(net_days),
            billing_entity_id=entity_id,
            created_at=now,
            retainer_mode=mode,
            auto_send=auto_send,
            vat_category=category,
            vat_rate=rate,
        )
        uow.engagements.add(engagement)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "engagement.created",
                    "engagement",
                    engagement.id,
                    now,
                    {
                        "client_id": client_id,
                        "name": engagement.name,
                        "kind": engagement.kind.value,
                        "currency": code,
                        "net_days": net_days,
                    },
                )
            ],
        )
        uow.commit()
    return engagement


def create_purchase_order(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str,
    number: str,
    valid_from: date | None = None,
    valid_to: date | None = None,
    ceiling: str | None = None,
    make_default: bool = True,
) -> PurchaseOrder:
    po_number = require_text(number, "PO number", max_length=100)
    if valid_from and valid_to and valid_to < valid_from:
        raise ValidationError("a PO cannot end before it starts", code="po.invalid_validity")
    now = ctx.clock.now()
    with ctx.uow() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        limit = Money.of(ceiling, engagement.currency) if ceiling not in (None, "") else None
        if limit is not None and (limit.amount <= 0 or not limit.is_whole_minor()):
            raise ValidationError(
                "a PO ceiling must be a positive amount in whole minor units",
                code="po.invalid_ceiling",
            )
        if uow.purchase_orders.find(organization_id, engagement_id, po_number) is not None:
            raise RuleViolation(
                f"PO {po_number} already exists on this engagement", code="po.duplicate"
            )
        purchase_order = PurchaseOrder(
            id=ctx.ids("po"),
            organization_id=organization_id,
            engagement_id=engagement_id,
            number=po_number,
            currency=engagement.currency,
            created_at=now,
            valid_from=valid_from,
            valid_to=valid_to,
            ceiling=limit,
        )
        uow.purchase_orders.add(purchase_order)
        if make_default:
            engagement.default_purchase_order_id = purchase_order.id
            uow.engagements.update_defaults(engagement)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "purchase_order.created",
                    "purchase_order",
                    purchase_order.id,
                    now,
                    {
                        "engagement_id": engagement_id,
                        "number": po_number,
                        "valid_from": valid_from.isoformat() if valid_from else None,
                        "valid_to": valid_to.isoformat() if valid_to else None,
                        "ceiling": str(limit.amount) if limit else None,
                    },
                )
            ],
        )
        uow.commit()
    return purchase_order


def resolve_organization(uow: UnitOfWork, organization_id: str | None) -> Organization:
    """The organization named, or the only one when there is exactly one."""
    if organization_id:
        return uow.organizations.get(organization_id)
    organizations = uow.organizations.list()
    if len(organizations) == 1:
        return organizations[0]
    if not organizations:
        raise ValidationError("no organization yet: create one first", code="organization.none")
    raise ValidationError(
        "several organizations exist: name one with --org", code="organization.ambiguous"
    )
