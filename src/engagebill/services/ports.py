"""The ports: what the use cases need from the outside world, as Protocols.

A ``UnitOfWork`` is one transaction with its repositories; it rolls back unless committed.
The clock and the id generator are inputs, so tests run on a fixed clock. Adapters in
``engagebill.adapters`` implement these; use cases never import an adapter.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from engagebill.domain.access import ApiKey, PrivateLink
from engagebill.domain.advances import Advance
from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.delivery import (
    Channel,
    DeliverySettings,
    OutboxMessage,
    Status,
    WebhookEndpoint,
)
from engagebill.domain.engagement_account import (
    EngagementAccount,
    InvoicePosition,
    invoice_position,
)
from engagebill.domain.engagements import Engagement
from engagebill.domain.events import DomainEvent, EventRecord
from engagebill.domain.invoice_templates import InvoiceTemplate
from engagebill.domain.invoices import Invoice, InvoiceKind
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.numbering import NumberFormat, SeriesKind
from engagebill.domain.parties import ApContact, BillingEntity, Client, Organization
from engagebill.domain.purchase_orders import PurchaseOrder
from engagebill.domain.quotes import Milestone, MilestoneState, Quote
from engagebill.domain.schedules import FirstBusinessDay, RetainerSchedule
from engagebill.domain.users import User, WebSession
from engagebill.domain.work import WorkItem, WorkState

if TYPE_CHECKING:  # documents.py builds on this module (it takes a Context)
    from engagebill.services.documents import Document


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
    net: Money  # the current version's net (revenue)
    prepaid: Money  # advance applied (BT-113)
    kind: InvoiceKind = InvoiceKind.STANDARD
    credited_prepaid: Money | None = None  # what its credit notes gave back to the advance

    @property
    def position(self) -> InvoicePosition:
        """Its place in the engagement account (``domain.engagement_account``)."""
        return invoice_position(
            gross=self.gross,
            prepaid=self.prepaid,
            credited=self.credited,
            credited_prepaid=self.credited_prepaid,
            paid=self.paid,
            state=self.state,
        )


@dataclass(frozen=True, slots=True)
class CreditNoteFilter:
    """What ``CreditNoteRepository.list`` narrows by; ``after`` is the keyset cursor."""

    client_id: str | None = None
    engagement_id: str | None = None
    invoice_id: str | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    after: tuple[datetime, str] | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class CreditNoteSummary:
    """One row of a credit-note list, read without its lines."""

    id: str
    number: str
    invoice_id: str
    invoice_number: str
    invoice_kind: InvoiceKind
    client_id: str
    engagement_id: str
    currency: str
    issue_date: date
    reason: str
    net: Money
    gross: Money
    created_at: datetime


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

    def names(self, organization_id: str) -> dict[str, str]:
        """Client id to name, without billing entities and contacts."""
        ...


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

    def consumed_all(self, organization_id: str) -> dict[str, Money]:
        """Every PO's consumption at once (for a billing run)."""
        ...

    def consumed(
        self,
        organization_id: str,
        purchase_order_id: str,
        *,
        excluding_invoice_id: str | None = None,
    ) -> Money: ...


class InvoiceRepository(Protocol):
    def add(self, invoice: Invoice) -> None: ...

    def add_many(self, invoices: Sequence[Invoice]) -> None:
        """New drafts in bulk; ``Conflict`` if any billing key exists already."""
        ...

    def get(
        self, organization_id: str, invoice_id: str, *, for_update: bool = False
    ) -> Invoice: ...

    def save(self, invoice: Invoice) -> None: ...

    def list(self, organization_id: str, query: InvoiceFilter) -> list[InvoiceSummary]: ...

    def existing_billing_keys(self, organization_id: str, keys: Sequence[str]) -> set[str]: ...


class CreditNoteRepository(Protocol):
    def add(self, credit_note: CreditNote) -> None: ...

    def get(self, organization_id: str, credit_note_id: str) -> CreditNote: ...

    def for_invoice(self, organization_id: str, invoice_id: str) -> list[CreditNote]: ...

    def list(self, organization_id: str, query: CreditNoteFilter) -> list[CreditNoteSummary]:
        """Newest first, by (created_at, id)."""
        ...


class NumberSeries(Protocol):
    def take(self, organization_id: str, kind: SeriesKind, issue_date: date) -> str:
        """The next number of the series, taken inside the current transaction."""
        ...

    def preview(
        self, organization_id: str, kind: SeriesKind, issue_dates: Sequence[date]
    ) -> list[str]:
        """The numbers documents with these issue dates would get if sent in this order."""
        ...


class EventLog(Protocol):
    def append(self, organization_id: str, events: Sequence[DomainEvent]) -> list[EventRecord]: ...

    def head(self, organization_id: str) -> tuple[int, str]: ...

    def records(self, organization_id: str) -> Iterator[EventRecord]: ...

    def for_subject(self, organization_id: str, subject_id: str) -> list[EventRecord]: ...

    def after(self, organization_id: str, seq: int, limit: int) -> list[EventRecord]:
        """Events with a sequence number above ``seq``, in order."""
        ...

    def page(
        self,
        organization_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        subject_id: str | None = None,
    ) -> list[EventRecord]:
        """Events after ``after_seq``, oldest first (the sequence number is the cursor)."""
        ...

    def last_occurrences(
        self, organization_id: str, kinds: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        """When each subject last had an event of each of these kinds: (subject id, kind) ->
        time. One grouped query, so reports need not read every subject's history."""
        ...


class RetainerRepository(Protocol):
    """Retainer schedules, one-off advances, and the advance balance of an engagement."""

    def add_schedule(self, schedule: RetainerSchedule) -> None: ...

    def get_schedule(self, organization_id: str, schedule_id: str) -> RetainerSchedule: ...

    def schedules(
        self, organization_id: str, engagement_id: str | None = None, *, active_only: bool = True
    ) -> list[RetainerSchedule]: ...

    def set_schedule_active(self, organization_id: str, schedule_id: str, active: bool) -> None: ...

    def add_advance(self, advance: Advance) -> None: ...

    def get_advance(self, organization_id: str, advance_id: str) -> Advance: ...

    def advances(
        self,
        organization_id: str,
        engagement_id: str | None = None,
        *,
        uninvoiced_only: bool = False,
    ) -> list[Advance]: ...

    def mark_advance_invoiced(self, organization_id: str, advance_id: str, invoice_id: str) -> None:
        """Set the advance's invoice; ``Conflict`` if it already has one."""
        ...

    def engagements_with_advances(self, organization_id: str) -> set[str]:
        """Engagements that have issued an advance invoice (the only ones with a balance)."""
        ...


class QuoteRepository(Protocol):
    def add(self, quote: Quote) -> None: ...

    def get(self, organization_id: str, quote_id: str, *, for_update: bool = False) -> Quote: ...

    def save(self, quote: Quote) -> None: ...

    def list_quotes(
        self, organization_id: str, engagement_id: str | None = None
    ) -> list[Quote]: ...

    def add_milestones(self, milestones: Sequence[Milestone]) -> None: ...

    def get_milestone(
        self, organization_id: str, milestone_id: str, *, for_update: bool = False
    ) -> Milestone: ...

    def save_milestone(self, milestone: Milestone) -> None: ...

    def mark_milestones_invoiced(
        self, organization_id: str, invoice_by_milestone: dict[str, str]
    ) -> None:
        """signed_off -> invoiced for exactly these milestones, or ``ConcurrencyConflict``."""
        ...

    def milestones(
        self,
        organization_id: str,
        engagement_id: str | None = None,
        states: Sequence[MilestoneState] = (),
    ) -> list[Milestone]: ...


class WorkRepository(Protocol):
    def add_many(self, items: Sequence[WorkItem]) -> None: ...

    def get(
        self, organization_id: str, work_item_id: str, *, for_update: bool = False
    ) -> WorkItem: ...

    def save(self, item: WorkItem) -> None: ...

    def list(
        self,
        organization_id: str,
        engagement_id: str | None = None,
        states: Sequence[WorkState] = (),
        *,
        quote_id: str | None = None,
        limit: int | None = None,
    ) -> list[WorkItem]: ...

    def unapproved_counts(self, organization_id: str) -> dict[str, int]:
        """Unapproved work items per engagement (flagged in the billing plan)."""
        ...

    def mark_billed_many(self, organization_id: str, invoice_by_item: dict[str, str]) -> None:
        """approved -> billed for exactly these items (each to its invoice), or
        ``ConcurrencyConflict``."""
        ...

    def mark_billed(
        self, organization_id: str, work_item_ids: Sequence[str], invoice_id: str
    ) -> None:
        """approved -> billed for exactly these items, or ``ConcurrencyConflict`` when any of
        them is no longer approved (another run billed it first)."""
        ...


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...

    def get(self, key_id: str) -> ApiKey | None: ...

    def list(self, organization_id: str) -> list[ApiKey]: ...

    def revoke(self, organization_id: str, key_id: str, at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An idempotency key's record: the request it was first used for, and its response
    (``status_code`` is None while that first request is still running)."""

    request_hash: str
    status_code: int | None
    content_type: str | None
    body: str | None
    created_at: datetime


class IdempotencyStore(Protocol):
    def claim(
        self, organization_id: str, key: str, request_hash: str, at: datetime
    ) -> StoredResponse | None: ...

    def complete(
        self, organization_id: str, key: str, status_code: int, content_type: str, body: str
    ) -> None: ...

    def release(self, organization_id: str, key: str) -> None: ...

    def purge(self, older_than: datetime) -> int: ...


class LinkRepository(Protocol):
    def add(self, link: PrivateLink) -> None: ...

    def by_token_hash(self, digest: str) -> PrivateLink | None: ...

    def get(self, organization_id: str, link_id: str) -> PrivateLink: ...

    def for_document(self, organization_id: str, document_id: str) -> list[PrivateLink]: ...

    def revoke(self, organization_id: str, link_id: str, at: datetime) -> None: ...

    def record_view(self, link: PrivateLink, at: datetime) -> None: ...

    def views(self, organization_id: str, link_id: str) -> list[datetime]: ...


class OutboxRepository(Protocol):
    def enqueue(self, messages: Sequence[OutboxMessage]) -> int: ...

    def claim_marker(
        self, organization_id: str, key: str, marker_id: str, at: datetime
    ) -> bool: ...

    def claim_due(
        self, now: datetime, *, limit: int, lease_until: datetime
    ) -> list[OutboxMessage]: ...

    def mark_delivered(self, message_id: str, at: datetime, payload: dict[str, Any]) -> None: ...

    def mark_failed(
        self, message_id: str, error: str, attempts: int, retry_at: datetime | None
    ) -> None: ...

    def messages(
        self,
        organization_id: str,
        *,
        channel: Channel | None = None,
        status: Status | None = None,
        limit: int = 1000,
    ) -> list[OutboxMessage]: ...

    def add_endpoint(self, endpoint: WebhookEndpoint) -> None: ...

    def endpoints(
        self, organization_id: str, *, active_only: bool = True
    ) -> list[WebhookEndpoint]: ...

    def get_endpoint(self, organization_id: str, endpoint_id: str) -> WebhookEndpoint: ...

    def deactivate_endpoint(self, organization_id: str, endpoint_id: str) -> None: ...

    def cursor(self, organization_id: str) -> int: ...

    def set_cursor(self, organization_id: str, last_seq: int) -> None: ...

    def settings(self, organization_id: str) -> DeliverySettings: ...

    def save_settings(self, organization_id: str, settings: DeliverySettings) -> None: ...


class UserRepository(Protocol):
    """Agency users (email unique across organizations) and their web sessions."""

    def add(self, user: User) -> None:
        """``Conflict`` (``user.email_taken``) when the email address is taken."""
        ...

    def get(self, user_id: str) -> User | None: ...

    def by_email(self, email: str) -> User | None: ...

    def list(self, organization_id: str) -> list[User]: ...

    def set_password_hash(self, user_id: str, password_hash: str) -> None: ...

    def add_session(self, session: WebSession) -> None: ...

    def session(self, session_id: str) -> WebSession | None: ...

    def revoke_session(self, session_id: str) -> None: ...


class CalendarFeedRepository(Protocol):
    """Each user's private calendar feed token, by its SHA-256 (the token is never stored)."""

    def replace(self, user_id: str, token_sha256: str, at: datetime) -> None: ...

    def user_for(self, token_sha256: str) -> str | None: ...

    def created_at(self, user_id: str) -> datetime | None: ...


class InvoiceTemplateRepository(Protocol):
    def add(self, template: InvoiceTemplate) -> None: ...

    def get(self, organization_id: str, template_id: str) -> InvoiceTemplate: ...

    def list(self, organization_id: str) -> list[InvoiceTemplate]: ...

    def delete(self, organization_id: str, template_id: str) -> None: ...


class Mailer(Protocol):
    """Hands one email to a mail server (or a folder). Raises on failure."""

    def send(self, message: EmailMessage) -> None: ...


class WebhookSender(Protocol):
    """POSTs a body; returns the HTTP status, raises on network failure."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


class PdfRenderer(Protocol):
    """Turns an issued document into its PDF; ``cii`` is embedded as Factur-X when given."""

    def render(self, document: Document, *, cii: bytes | None) -> bytes: ...


class CiiRenderer(Protocol):
    """The document's EN 16931 invoice in UN/CEFACT CII syntax (a function such as
    ``adapters.einvoice.cii.to_cii``)."""

    def __call__(self, document: Document) -> bytes: ...


EInvoiceSyntax = Literal["ubl", "cii"]


class EInvoiceRenderer(Protocol):
    """The document's EN 16931 e-invoice in UBL 2.1 or UN/CEFACT CII syntax."""

    def render(self, document: Document, syntax: EInvoiceSyntax) -> bytes: ...


class EngagementAccountRepository(Protocol):
    """The engagement account's row (the lock every money decision takes) and its inputs."""

    def lock(self, organization_id: str, engagement_id: str, currency: str) -> None:
        """Take the engagement's account row for the rest of the transaction (``FOR UPDATE``
        on PostgreSQL; on SQLite the transaction already has the writers' turn)."""
        ...

    def lock_many(self, organization_id: str, engagements: Mapping[str, str]) -> None:
        """Take several engagements' rows (``{engagement_id: currency}``), in id order."""
        ...

    def save_many(self, organization_id: str, accounts: Iterable[EngagementAccount]) -> None:
        """Store several accounts' figures (rows taken by ``lock_many``)."""
        ...

    def lock_for_invoice(
        self, organization_id: str, invoice_id: str, *, only_if_it_draws: bool = False
    ) -> tuple[str, str] | None:
        """Lock the account of the invoice's engagement; return (engagement id, currency).
        With ``only_if_it_draws``, only an invoice that draws on the advance or tops it up."""
        ...

    def load(
        self, organization_id: str, engagement_id: str, currency: str
    ) -> EngagementAccount: ...

    def load_many(
        self, organization_id: str, engagements: Mapping[str, str]
    ) -> dict[str, EngagementAccount]:
        """Accounts of several engagements (``{engagement_id: currency}``) in a few
        statements."""
        ...

    def save(self, organization_id: str, account: EngagementAccount) -> None:
        """Store the account's figures on its row (a cache that ``verify`` recomputes)."""
        ...

    def stored(self, organization_id: str) -> dict[str, dict[str, int]]:
        """Every engagement's stored figures, in minor units, by engagement id."""
        ...

    def stored_credits(self, organization_id: str) -> dict[str, tuple[int, int, int]]:
        """Per invoice, the credited gross, net and prepaid stored on its header."""
        ...


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
    def accounts(self) -> EngagementAccountRepository: ...

    @property
    def numbers(self) -> NumberSeries: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def retainers(self) -> RetainerRepository: ...

    @property
    def quotes(self) -> QuoteRepository: ...

    @property
    def work(self) -> WorkRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def idempotency(self) -> IdempotencyStore: ...

    @property
    def links(self) -> LinkRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def invoice_templates(self) -> InvoiceTemplateRepository: ...

    @property
    def calendar_feeds(self) -> CalendarFeedRepository: ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Calendars(Protocol):
    """Business-day calendars by country (ISO 3166 alpha-2)."""

    def first_business_day(self, country_code: str) -> FirstBusinessDay: ...


class WeekdayCalendars:
    """Weekends only, no public holidays: the fallback when no holiday data is wired in."""

    def first_business_day(self, country_code: str) -> FirstBusinessDay:
        def first(day: date) -> date:
            while day.weekday() >= 5:
                day += timedelta(days=1)
            return day

        return first


@dataclass(slots=True)
class Context:
    """What every use case is given: a way to open a transaction, the time, new ids, and the
    business-day calendars."""

    uow: Callable[[], UnitOfWork]
    clock: Clock
    ids: IdGenerator
    calendars: Calendars = field(default_factory=WeekdayCalendars)
    tokens: Callable[[], str] = field(default=lambda: secrets.token_urlsafe(32))
    settings: dict[str, object] = field(default_factory=dict)
    # Document renderers; optional, so a context built for tests or scripts needs none.
    pdf_renderer: PdfRenderer | None = None
    cii_renderer: CiiRenderer | None = None
    einvoice_renderer: EInvoiceRenderer | None = None
    # A unit of work that only reads: a consistent snapshot that waits for no writer (on
    # SQLite it neither takes the write lock nor queues behind writers). None: ``uow``.
    reader: Callable[[], UnitOfWork] | None = None

    def read(self) -> UnitOfWork:
        """A unit of work for a use case that writes nothing (it may refuse to)."""
        return (self.reader or self.uow)()
