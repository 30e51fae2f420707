"""The ports: what the use cases need from the outside world, as Protocols.

A ``UnitOfWork`` is one transaction with its repositories; it rolls back unless committed.
The clock and the id generator are inputs, so tests run on a fixed clock. Adapters in
``engagebill.adapters`` implement these; use cases never import an adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Protocol

from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.engagements import Engagement
from engagebill.domain.events import DomainEvent, EventRecord
from engagebill.domain.invoices import Invoice
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.numbering import NumberFormat, SeriesKind
from engagebill.domain.parties import ApContact, BillingEntity, Client, Organization
from engagebill.domain.purchase_orders import PurchaseOrder


class Clock(Protocol):
    def now(self) -> datetime: ...

    def today(self) -> date: ...


class IdGenerator(Protocol):
    def __call__(self, prefix: str) -> str: ...


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    """What ``InvoiceRepository.list`` narrows by; ``after`` is the keyset cursor."""

    states: Sequence[InvoiceState] = ()
    client_id: str | None = None
    engagement_id: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class InvoiceSummary:
    """One row of an invoice list, read without loading the whole aggregate."""

    id: str
    number: str | None
    version: int
    state: InvoiceState
    client_id: str
    client_name: str
    engagement_id: str
    engagement_name: str
    po_number: str | None
    currency: str
    gross: Money
    issue_date: date
    due_date: date
    sent_at: datetime | None
    created_at: datetime
    paid: Money
    credited: Money


class OrganizationRepository(Protocol):
    def add(
        self, organization: Organization, series: Sequence[tuple[SeriesKind, NumberFormat]]
    ) -> None: ...

    def get(self, organization_id: str) -> Organization: ...

    def list(self) -> list[Organization]: ...

    def number_format(self, organization_id: str, kind: SeriesKind) -> NumberFormat: ...


class ClientRepository(Protocol):
    def add(self, client: Client) -> None: ...

    def add_billing_entity(self, entity: BillingEntity) -> None: ...

    def add_contact(self, contact: ApContact) -> None: ...

    def get(self, organization_id: str, client_id: str) -> Client: ...

    def get_billing_entity(self, organization_id: str, entity_id: str) -> BillingEntity: ...

    def list(self, organization_id: str) -> list[Client]: ...


class EngagementRepository(Protocol):
    def add(self, engagement: Engagement) -> None: ...

    def get(self, organization_id: str, engagement_id: str) -> Engagement: ...

    def update_defaults(self, engagement: Engagement) -> None: ...

    def list(self, organization_id: str, client_id: str | None = None) -> list[Engagement]: ...


class PurchaseOrderRepository(Protocol):
    def add(self, purchase_order: PurchaseOrder) -> None: ...

    def get(self, organization_id: str, purchase_order_id: str) -> PurchaseOrder: ...

    def find(
        self, organization_id: str, engagement_id: str, number: str
    ) -> PurchaseOrder | None: ...

    def list(
        self, organization_id: str, engagement_id: str | None = None
    ) -> list[PurchaseOrder]: ...

    def consumed(
        self,
        organization_id: str,
        purchase_order_id: str,
        *,
        excluding_invoice_id: str | None = None,
    ) -> Money: ...


class InvoiceRepository(Protocol):
    def add(self, invoice: Invoice) -> None: ...

    def get(
        self, organization_id: str, invoice_id: str, *, for_update: bool = False
    ) -> Invoice: ...

    def save(self, invoice: Invoice) -> None: ...

    def list(self, organization_id: str, query: InvoiceFilter) -> list[InvoiceSummary]: ...


class CreditNoteRepository(Protocol):
    def add(self, credit_note: CreditNote) -> None: ...

    def get(self, organization_id: str, credit_note_id: str) -> CreditNote: ...

    def for_invoice(self, organization_id: str, invoice_id: str) -> list[CreditNote]: ...


class NumberSeries(Protocol):
    def take(self, organization_id: str, kind: SeriesKind, issue_date: date) -> str:
        """The next number of the series, taken inside the current transaction."""
        ...


class EventLog(Protocol):
    def append(self, organization_id: str, events: Sequence[DomainEvent]) -> list[EventRecord]: ...

    def head(self, organization_id: str) -> tuple[int, str]: ...

    def records(self, organization_id: str) -> Iterator[EventRecord]: ...

    def for_subject(self, organization_id: str, subject_id: str) -> list[EventRecord]: ...

    def organizations(self) -> list[str]: ...


class UnitOfWork(Protocol):
    # Read-only members, so that an adapter may expose its concrete repository types.
    @property
    def organizations(self) -> OrganizationRepository: ...

    @property
    def clients(self) -> ClientRepository: ...

    @property
    def engagements(self) -> EngagementRepository: ...

    @property
    def purchase_orders(self) -> PurchaseOrderRepository: ...

    @property
    def invoices(self) -> InvoiceRepository: ...

    @property
    def credit_notes(self) -> CreditNoteRepository: ...

    @property
    def numbers(self) -> NumberSeries: ...

    @property
    def events(self) -> EventLog: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


@dataclass(slots=True)
class Context:
    """What every use case is given: a way to open a transaction, the time, and new ids."""

    uow: Callable[[], UnitOfWork]
    clock: Clock
    ids: IdGenerator
    settings: dict[str, object] = field(default_factory=dict)
