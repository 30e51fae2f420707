"""The parties: the organization (the agency), its clients, their billing entities and AP contacts.

A client can bill through several billing entities (legal name, address, tax id, cost centre)
and has accounts-payable contacts who receive invoices. Billing entities are never edited in
place once an invoice used them: a recipient's amendment creates a new entity that becomes the
engagement's default, so earlier snapshots stay true to what was sent.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from engagebill.domain.errors import ValidationError


@dataclass(frozen=True, slots=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country_code: str
    line2: str = ""

    def __post_init__(self) -> None:
        code = self.country_code.strip().upper()
        if len(code) != 2 or not code.isalpha():
            raise ValidationError(
                f"country {self.country_code!r} must be an ISO 3166 alpha-2 code such as NL",
                code="address.invalid_country",
            )
        object.__setattr__(self, "country_code", code)

    def lines(self) -> list[str]:
        parts = [self.line1, self.line2, f"{self.postal_code} {self.city}".strip()]
        return [p for p in parts if p] + [self.country_code]


@dataclass(slots=True)
class Organization:
    """The agency using engagebill; every other row belongs to exactly one organization."""

    id: str
    name: str
    legal_name: str
    address: Address
    tax_id: str
    email: str
    created_at: datetime
    iban: str = ""

    @property
    def country_code(self) -> str:
        return self.address.country_code


@dataclass(slots=True)
class BillingEntity:
    """Who is invoiced: the client's legal entity, with its tax id and cost centre."""

    id: str
    organization_id: str
    client_id: str
    legal_name: str
    address: Address
    tax_id: str = ""
    cost_centre: str = ""
    created_at: datetime | None = None


@dataclass(slots=True)
class ApContact:
    """An accounts-payable contact who receives the client's invoices."""

    id: str
    organization_id: str
    client_id: str
    name: str
    email: str


@dataclass(slots=True)
class Client:
    id: str
    organization_id: str
    name: str
    created_at: datetime
    billing_entities: list[BillingEntity] = field(default_factory=list)
    contacts: list[ApContact] = field(default_factory=list)

    def billing_entity(self, entity_id: str) -> BillingEntity:
        for entity in self.billing_entities:
            if entity.id == entity_id:
                return entity
        raise ValidationError(
            f"billing entity {entity_id} does not belong to client {self.name}",
            code="client.unknown_billing_entity",
        )


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds characters no document can carry: control codes (Cc; tab and
    line breaks are allowed in multi-line text) and lone surrogates (Cs). XML refuses them,
    so an invoice naming them could not be exported; PostgreSQL refuses NUL outright."""
    for char in text:
        if multiline and char in "\t\n\r":
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            return True
    return False


def check_text(text: str, field_name: str, *, max_length: int, multiline: bool = False) -> str:
    """Refuse ``text`` (already stripped) when too long or with control characters."""
    if len(text) > max_length:
        raise ValidationError(
            f"{field_name} is longer than {max_length} characters",
            code="validation.too_long",
            details={"field": field_name},
        )
    if has_control_characters(text, multiline=multiline):
        raise ValidationError(
            f"{field_name} contains control characters",
            code="validation.control_characters",
            details={"field": field_name},
        )
    return text


def require_text(
    value: str, field_name: str, *, max_length: int = 500, multiline: bool = False
) -> str:
    """Strip ``value`` and refuse it when empty, too long, or with control characters."""
    text = (value or "").strip()
    if not text:
        raise ValidationError(
            f"{field_name} must not be empty",
            code="validation.required",
            details={"field": field_name},
        )
    return check_text(text, field_name, max_length=max_length, multiline=multiline)
