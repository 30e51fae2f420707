"""Repositories for organizations, clients, engagements and purchase orders.

The lookups by id that every sending and every page makes are built once, with bound
parameters: building a statement and its cache key anew costs SQLAlchemy more than SQLite
takes to answer it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engagebill.adapters.db import tables as t
from engagebill.domain.engagements import Engagement, EngagementKind, PaymentTerms, RetainerMode
from engagebill.domain.errors import ConcurrencyConflict, NotFound
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.numbering import NumberFormat, SeriesKind
from engagebill.domain.parties import Address, ApContact, BillingEntity, Client, Organization
from engagebill.domain.purchase_orders import PurchaseOrder
from engagebill.domain.taxes import VatCategory


def address_columns(address: Address) -> dict[str, str]:
    return {
        "address_line1": address.line1,
        "address_line2": address.line2,
        "city": address.city,
        "postal_code": address.postal_code,
        "country_code": address.country_code,
    }


def address_from(row: Any) -> Address:
    return Address(
        line1=row.address_line1,
        line2=row.address_line2,
        city=row.city,
        postal_code=row.postal_code,
        country_code=row.country_code,
    )


def not_found(kind: str, ident: str) -> NotFound:
    return NotFound(
        f"{kind} {ident} not found",
        code=f"{kind.replace(' ', '_')}.not_found",
        details={"id": ident},
    )


_ORGANIZATION = select(t.organizations).where(t.organizations.c.id == bindparam("id"))
_CLIENT = select(t.clients).where(
    t.clients.c.organization_id == bindparam("organization_id"),
    t.clients.c.id == bindparam("client_id"),
)
_BILLING_ENTITY = select(t.billing_entities).where(
    t.billing_entities.c.organization_id == bindparam("organization_id"),
    t.billing_entities.c.id == bindparam("entity_id"),
)
_CLIENT_ENTITIES = (
    select(t.billing_entities)
    .where(t.billing_entities.c.client_id.in_(bindparam("client_ids", expanding=True)))
    .order_by(t.billing_entities.c.created_at)
)
_CLIENT_CONTACTS = (
    select(t.ap_contacts)
    .where(t.ap_contacts.c.client_id.in_(bindparam("client_ids", expanding=True)))
    .order_by(t.ap_contacts.c.name)
)
_ENGAGEMENT = select(t.engagements).where(
    t.engagements.c.organization_id == bindparam("organization_id"),
    t.engagements.c.id == bindparam("engagement_id"),
)


class SqlOrganizations:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, organization: Organization, series: Sequence[tuple[SeriesKind, NumberFormat]]
    ) -> None:
        self.conn.execute(
            insert(t.organizations).values(
                id=organization.id,
                name=organization.name,
                legal_name=organization.legal_name,
                tax_id=organization.tax_id,
                email=organization.email,
                iban=organization.iban,
                created_at=organization.created_at,
                **address_columns(organization.address),
            )
        )
        for kind, fmt in series:
            self.conn.execute(
                insert(t.number_series).values(
                    organization_id=organization.id,
                    kind=kind.value,
                    pattern=fmt.pattern,
                    prefix=fmt.prefix,
                )
            )
        self.conn.execute(
            insert(t.event_heads).values(
                organization_id=organization.id, last_seq=0, last_hash="0" * 64
            )
        )

    @staticmethod
    def _from(row: Any) -> Organization:
        return Organization(
            id=row.id,
            name=row.name,
            legal_name=row.legal_name,
            address=address_from(row),
            tax_id=row.tax_id,
            email=row.email,
            iban=row.iban,
            created_at=row.created_at,
        )

    def get(self, organization_id: str) -> Organization:
        row = self.conn.execute(_ORGANIZATION, {"id": organization_id}).first()
        if row is None:
            raise not_found("organization", organization_id)
        return self._from(row)

    def list(self) -> list[Organization]:
        rows = self.conn.execute(select(t.organizations).order_by(t.organizations.c.created_at))
        return [self._from(r) for r in rows]

    def number_format(self, organization_id: str, kind: SeriesKind) -> NumberFormat:
        row = self.conn.execute(
            select(t.number_series).where(
                t.number_series.c.organization_id == organization_id,
                t.number_series.c.kind == kind.value,
            )
        ).first()
        if row is None:
            raise not_found("number series", f"{organization_id}/{kind.value}")
        return NumberFormat(row.pattern, row.prefix)


class SqlClients:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, client: Client) -> None:
        self.conn.execute(
            insert(t.clients).values(
                id=client.id,
                organization_id=client.organization_id,
                name=client.name,
                created_at=client.created_at,
            )
        )
        for entity in client.billing_entities:
            self.add_billing_entity(entity)
        for contact in client.contacts:
            self.add_contact(contact)

    def add_billing_entity(self, entity: BillingEntity) -> None:
        self.conn.execute(
            insert(t.billing_entities).values(
                id=entity.id,
                organization_id=entity.organization_id,
                client_id=entity.client_id,
                legal_name=entity.legal_name,
                tax_id=entity.tax_id,
                cost_centre=entity.cost_centre,
                created_at=entity.created_at,
                **address_columns(entity.address),
            )
        )

    def add_contact(self, contact: ApContact) -> None:
        self.conn.execute(
            insert(t.ap_contacts).values(
                id=contact.id,
                organization_id=contact.organization_id,
                client_id=contact.client_id,
                name=contact.name,
                email=contact.email,
            )
        )

    @staticmethod
    def _entity(row: Any) -> BillingEntity:
        return BillingEntity(
            id=row.id,
            organization_id=row.organization_id,
            client_id=row.client_id,
            legal_name=row.legal_name,
            address=address_from(row),
            tax_id=row.tax_id,
            cost_centre=row.cost_centre,
            created_at=row.created_at,
        )

    def get_billing_entity(self, organization_id: str, entity_id: str) -> BillingEntity:
        row = self.conn.execute(
            _BILLING_ENTITY, {"organization_id": organization_id, "entity_id": entity_id}
        ).first()
        if row is None:
            raise not_found("billing entity", entity_id)
        return self._entity(row)

    def _load(self, rows: Sequence[Any]) -> list[Client]:
        clients = {
            r.id: Client(
                id=r.id, organization_id=r.organization_id, name=r.name, created_at=r.created_at
            )
            for r in rows
        }
        if not clients:
            return []
        ids = {"client_ids": list(clients)}
        for row in self.conn.execute(_CLIENT_ENTITIES, ids):
            clients[row.client_id].billing_entities.append(self._entity(row))
        for row in self.conn.execute(_CLIENT_CONTACTS, ids):
            clients[row.client_id].contacts.append(
                ApContact(
                    id=row.id,
                    organization_id=row.organization_id,
                    client_id=row.client_id,
                    name=row.name,
                    email=row.email,
                )
            )
        return list(clients.values())

    def get(self, organization_id: str, client_id: str) -> Client:
        rows = self.conn.execute(
            _CLIENT, {"organization_id": organization_id, "client_id": client_id}
        ).all()
        if not rows:
            raise not_found("client", client_id)
        return self._load(rows)[0]

    def list(self, organization_id: str) -> list[Client]:
        rows = self.conn.execute(
            select(t.clients)
            .where(t.clients.c.organization_id == organization_id)
            .order_by(t.clients.c.name, t.clients.c.id)
        ).all()
        return self._load(rows)

    def names(self, organization_id: str) -> dict[str, str]:
        c = t.clients.c
        rows = self.conn.execute(select(c.id, c.name).where(c.organization_id == organization_id))
        return {str(client_id): str(name) for client_id, name in rows}


class SqlEngagements:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, engagement: Engagement) -> None:
        self.conn.execute(
            insert(t.engagements).values(
                id=engagement.id,
                organization_id=engagement.organization_id,
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
                vat_rate=engagement.vat_rate,
                created_at=engagement.created_at,
            )
        )

    @staticmethod
    def _from(row: Any) -> Engagement:
        return Engagement(
            id=row.id,
            organization_id=row.organization_id,
            client_id=row.client_id,
            name=row.name,
            kind=EngagementKind(row.kind),
            currency=row.currency,
            terms=PaymentTerms(row.net_days),
            billing_entity_id=row.billing_entity_id,
            created_at=row.created_at,
            default_purchase_order_id=row.default_purchase_order_id,
            retainer_mode=RetainerMode(row.retainer_mode) if row.retainer_mode else None,
            auto_send=bool(row.auto_send),
            vat_category=VatCategory(row.vat_category),
            vat_rate=Decimal(row.vat_rate),
        )

    def get(self, organization_id: str, engagement_id: str) -> Engagement:
        row = self.conn.execute(
            _ENGAGEMENT, {"organization_id": organization_id, "engagement_id": engagement_id}
        ).first()
        if row is None:
            raise not_found("engagement", engagement_id)
        return self._from(row)

    def update_defaults(self, engagement: Engagement) -> None:
        self.conn.execute(
            update(t.engagements)
            .where(
                t.engagements.c.id == engagement.id,
                t.engagements.c.organization_id == engagement.organization_id,
            )
            .values(
                billing_entity_id=engagement.billing_entity_id,
                default_purchase_order_id=engagement.default_purchase_order_id,
                auto_send=engagement.auto_send,
            )
        )

    def list(self, organization_id: str, client_id: str | None = None) -> list[Engagement]:
        query = select(t.engagements).where(t.engagements.c.organization_id == organization_id)
        if client_id is not None:
            query = query.where(t.engagements.c.client_id == client_id)
        rows = self.conn.execute(query.order_by(t.engagements.c.created_at, t.engagements.c.id))
        return [self._from(r) for r in rows]


class SqlPurchaseOrders:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, purchase_order: PurchaseOrder) -> None:
        po = purchase_order
        try:
            # A savepoint: another transaction may have added this number since the caller
            # looked it up (two recipients amending with the same new PO at once).
            with self.conn.begin_nested():
                self._insert(po)
        except IntegrityError:
            raise ConcurrencyConflict(
                f"PO {po.number} was added to this engagement meanwhile; try again",
                code="po.concurrent_create",
                details={"engagement_id": po.engagement_id, "number": po.number},
            ) from None

    def _insert(self, po: PurchaseOrder) -> None:
        self.conn.execute(
            insert(t.purchase_orders).values(
                id=po.id,
                organization_id=po.organization_id,
                engagement_id=po.engagement_id,
                number=po.number,
                currency=po.currency,
                valid_from=po.valid_from,
                valid_to=po.valid_to,
                ceiling_minor=po.ceiling.to_minor() if po.ceiling is not None else None,
                created_at=po.created_at,
            )
        )

    @staticmethod
    def _from(row: Any) -> PurchaseOrder:
        return PurchaseOrder(
            id=row.id,
            organization_id=row.organization_id,
            engagement_id=row.engagement_id,
            number=row.number,
            currency=row.currency,
            created_at=row.created_at,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            ceiling=(
                Money.from_minor(row.ceiling_minor, row.currency)
                if row.ceiling_minor is not None
                else None
            ),
        )

    def get(self, organization_id: str, purchase_order_id: str) -> PurchaseOrder:
        row = self.conn.execute(
            select(t.purchase_orders).where(
                t.purchase_orders.c.organization_id == organization_id,
                t.purchase_orders.c.id == purchase_order_id,
            )
        ).first()
        if row is None:
            raise not_found("purchase order", purchase_order_id)
        return self._from(row)

    def find(self, organization_id: str, engagement_id: str, number: str) -> PurchaseOrder | None:
        row = self.conn.execute(
            select(t.purchase_orders).where(
                t.purchase_orders.c.organization_id == organization_id,
                t.purchase_orders.c.engagement_id == engagement_id,
                t.purchase_orders.c.number == number,
            )
        ).first()
        return None if row is None else self._from(row)

    def list(self, organization_id: str, engagement_id: str | None = None) -> list[PurchaseOrder]:
        query = select(t.purchase_orders).where(
            t.purchase_orders.c.organization_id == organization_id
        )
        if engagement_id is not None:
            query = query.where(t.purchase_orders.c.engagement_id == engagement_id)
        rows = self.conn.execute(query.order_by(t.purchase_orders.c.created_at))
        return [self._from(r) for r in rows]

    def consumed_all(self, organization_id: str) -> dict[str, Money]:
        i, v, cn = t.invoices, t.invoice_versions, t.credit_notes
        issued = (
            (i.c.organization_id == organization_id)
            & i.c.purchase_order_id.is_not(None)
            & i.c.state.not_in([InvoiceState.DRAFT.value, InvoiceState.VOID.value])
        )
        billed = self.conn.execute(
            # An advance is consumed when invoiced; the work it later pays for only adds
            # what the advance did not cover.
            select(
                i.c.purchase_order_id,
                i.c.currency,
                func.sum(v.c.net_minor - v.c.advance_used_minor),
            )
            .select_from(
                i.join(v, (v.c.invoice_id == i.c.id) & (v.c.version == i.c.current_version))
            )
            .where(issued)
            .group_by(i.c.purchase_order_id, i.c.currency)
        ).all()
        credited = dict(
            self.conn.execute(
                select(i.c.purchase_order_id, func.sum(cn.c.net_minor))
                .select_from(cn.join(i, i.c.id == cn.c.invoice_id))
                .where(issued)
                .group_by(i.c.purchase_order_id)
            ).all()
        )
        return {
            po_id: Money.from_minor(int(net) - int(credited.get(po_id) or 0), currency)
            for po_id, currency, net in billed
        }

    def consumed(
        self,
        organization_id: str,
        purchase_order_id: str,
        *,
        excluding_invoice_id: str | None = None,
    ) -> Money:
        """Net amount of issued, unvoided invoices whose current version carries the PO,
        less the net of credit notes against them."""
        po = self.get(organization_id, purchase_order_id)
        v, i = t.invoice_versions, t.invoices
        issued = (
            (i.c.organization_id == organization_id)
            & (i.c.purchase_order_id == purchase_order_id)
            & i.c.state.not_in([InvoiceState.DRAFT.value, InvoiceState.VOID.value])
        )
        query = (
            select(func.coalesce(func.sum(v.c.net_minor - v.c.advance_used_minor), 0))
            .select_from(
                v.join(i, (i.c.id == v.c.invoice_id) & (i.c.current_version == v.c.version))
            )
            .where(issued)
        )
        credits = (
            select(func.coalesce(func.sum(t.credit_notes.c.net_minor), 0))
            .select_from(t.credit_notes.join(i, i.c.id == t.credit_notes.c.invoice_id))
            .where(issued)
        )
        if excluding_invoice_id is not None:
            query = query.where(i.c.id != excluding_invoice_id)
            credits = credits.where(i.c.id != excluding_invoice_id)
        billed = int(self.conn.execute(query).scalar_one())
        credited = int(self.conn.execute(credits).scalar_one())
        return Money.from_minor(billed - credited, po.currency)
