"""/clients: clients with their billing entities (who is invoiced) and AP contacts (who
receives the invoices)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from engagebill.domain.parties import Address, ApContact, BillingEntity, Client
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import AddressOut, Model, Page
from engagebill.services import parties, queries

router = APIRouter(prefix="/clients", tags=["clients"])


class BillingEntityIn(Model):
    legal_name: Annotated[str, Field(min_length=1, max_length=200)]
    line1: Annotated[str, Field(min_length=1, max_length=200)]
    line2: Annotated[str, Field(max_length=200)] = ""
    city: Annotated[str, Field(min_length=1, max_length=100)]
    postal_code: Annotated[str, Field(min_length=1, max_length=20)]
    country_code: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$", examples=["DE"])]
    tax_id: Annotated[str, Field(max_length=40, description="VAT number, checked")] = ""
    cost_centre: Annotated[str, Field(max_length=100)] = ""

    def to_input(self) -> parties.EntityInput:
        return parties.EntityInput(
            legal_name=self.legal_name,
            line1=self.line1,
            line2=self.line2,
            city=self.city,
            postal_code=self.postal_code,
            country_code=self.country_code,
            tax_id=self.tax_id,
            cost_centre=self.cost_centre,
        )


class ContactIn(Model):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(min_length=3, max_length=254, examples=["ap@acme.example"])]

    def to_input(self) -> parties.ContactInput:
        return parties.ContactInput(name=self.name, email=self.email)


class ClientIn(Model):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    billing_entity: BillingEntityIn
    contacts: Annotated[list[ContactIn], Field(default_factory=list, max_length=50)]


class BillingEntityOut(Model):
    id: str
    client_id: str
    legal_name: str
    address: AddressOut
    tax_id: str
    cost_centre: str
    created_at: datetime | None


class ContactOut(Model):
    id: str
    client_id: str
    name: str
    email: str


class ClientOut(Model):
    id: str
    name: str
    created_at: datetime
    billing_entities: list[BillingEntityOut]
    contacts: list[ContactOut]


def address_out(address: Address) -> AddressOut:
    return AddressOut(
        line1=address.line1,
        line2=address.line2,
        city=address.city,
        postal_code=address.postal_code,
        country_code=address.country_code,
    )


def entity_out(entity: BillingEntity) -> BillingEntityOut:
    return BillingEntityOut(
        id=entity.id,
        client_id=entity.client_id,
        legal_name=entity.legal_name,
        address=address_out(entity.address),
        tax_id=entity.tax_id,
        cost_centre=entity.cost_centre,
        created_at=entity.created_at,
    )


def contact_out(contact: ApContact) -> ContactOut:
    return ContactOut(
        id=contact.id, client_id=contact.client_id, name=contact.name, email=contact.email
    )


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        created_at=client.created_at,
        billing_entities=[entity_out(e) for e in client.billing_entities],
        contacts=[contact_out(c) for c in client.contacts],
    )


@router.get("", response_model=Page[ClientOut])
def list_clients(
    ctx: Ctx,
    key: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ClientOut]:
    """Clients, newest first, with their billing entities and AP contacts."""
    rows = queries.list_clients(
        ctx,
        organization_id=key.organization_id,
        after=pagination.decode(cursor),
        limit=limit + 1,
    )
    return Page[ClientOut](
        items=[client_out(c) for c in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, lambda c: (c.created_at, c.id)),
    )


@router.post("", status_code=201, response_model=ClientOut)
def create_client(body: ClientIn, ctx: Ctx, key: Writer) -> ClientOut:
    """A client with its first billing entity and its AP contacts."""
    return client_out(
        parties.create_client(
            ctx,
            organization_id=key.organization_id,
            name=body.name,
            billing_entity=body.billing_entity.to_input(),
            contacts=[c.to_input() for c in body.contacts],
        )
    )


@router.get("/{client_id}", response_model=ClientOut)
def get_client(client_id: str, ctx: Ctx, key: Reader) -> ClientOut:
    return client_out(
        queries.get_client(ctx, organization_id=key.organization_id, client_id=client_id)
    )


@router.post("/{client_id}/billing-entities", status_code=201, response_model=BillingEntityOut)
def add_billing_entity(
    client_id: str, body: BillingEntityIn, ctx: Ctx, key: Writer
) -> BillingEntityOut:
    """Another legal entity the client is invoiced through; engagements choose theirs."""
    return entity_out(
        parties.add_billing_entity(
            ctx,
            organization_id=key.organization_id,
            client_id=client_id,
            entity=body.to_input(),
        )
    )


@router.post("/{client_id}/contacts", status_code=201, response_model=ContactOut)
def add_contact(client_id: str, body: ContactIn, ctx: Ctx, key: Writer) -> ContactOut:
    """An AP contact: gets a private link to each invoice sent to the client."""
    return contact_out(
        parties.add_contact(
            ctx,
            organization_id=key.organization_id,
            client_id=client_id,
            contact=body.to_input(),
        )
    )
