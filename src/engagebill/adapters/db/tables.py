"""The schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create it.

Every row carries ``organization_id`` (tenancy). Money is ``*_minor`` integers next to a
currency code. Invoice versions and their lines are insert-only once frozen; triggers added by
the migrations refuse updates and deletes of frozen versions and of events, so no code path can
change what was sent.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from engagebill.adapters.db.types import DecimalText, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

ID = 40  # prefixed ids such as "inv_" + 32 hex digits


def _id(name: str = "id", *args: object, **kw: object) -> Column[str]:
    return Column(name, String(ID), *args, **kw)  # type: ignore[arg-type]


def _org() -> Column[str]:
    return Column("organization_id", String(ID), ForeignKey("organizations.id"), nullable=False)


organizations = Table(
    "organizations",
    metadata,
    _id(primary_key=True),
    Column("name", String(200), nullable=False),
    Column("legal_name", String(200), nullable=False),
    Column("address_line1", String(200), nullable=False),
    Column("address_line2", String(200), nullable=False, default=""),
    Column("city", String(100), nullable=False),
    Column("postal_code", String(20), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("tax_id", String(40), nullable=False),
    Column("email", String(254), nullable=False),
    Column("iban", String(40), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
)

number_series = Table(
    "number_series",
    metadata,
    _org(),
    Column("kind", String(20), nullable=False),
    Column("pattern", String(60), nullable=False),
    Column("prefix", String(20), nullable=False),
    UniqueConstraint("organization_id", "kind"),
)

# One row per (series, period). Taking a number is an UPDATE ... RETURNING on this row inside
# the sending transaction: the row lock serialises senders and a rollback gives the number back.
number_counters = Table(
    "number_counters",
    metadata,
    _org(),
    Column("kind", String(20), nullable=False),
    Column("period", String(10), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    UniqueConstraint("organization_id", "kind", "period"),
)

clients = Table(
    "clients",
    metadata,
    _id(primary_key=True),
    _org(),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_clients_org_name", "organization_id", "name"),
)

billing_entities = Table(
    "billing_entities",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("client_id", ForeignKey("clients.id"), nullable=False),
    Column("legal_name", String(200), nullable=False),
    Column("address_line1", String(200), nullable=False),
    Column("address_line2", String(200), nullable=False, default=""),
    Column("city", String(100), nullable=False),
    Column("postal_code", String(20), nullable=False),
    Column("country_code", String(2), nullable=False),
    Column("tax_id", String(40), nullable=False, default=""),
    Column("cost_centre", String(100), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_billing_entities_client", "client_id"),
)

ap_contacts = Table(
    "ap_contacts",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("client_id", ForeignKey("clients.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=False),
    Index("ix_ap_contacts_client", "client_id"),
)

engagements = Table(
    "engagements",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("client_id", ForeignKey("clients.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("net_days", Integer, nullable=False),
    _id("billing_entity_id", ForeignKey("billing_entities.id"), nullable=False),
    _id("default_purchase_order_id", nullable=True),
    Column("retainer_mode", String(10), nullable=True),
    Column("auto_send", Boolean, nullable=False, default=False),
    # The VAT treatment of the engagement's work (e.g. AE 0 for a foreign B2B client).
    Column("vat_category", String(3), nullable=False, server_default="S"),
    Column("vat_rate", DecimalText, nullable=False, server_default="21"),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_engagements_client", "organization_id", "client_id"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    Column("number", String(100), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("valid_from", Date, nullable=True),
    Column("valid_to", Date, nullable=True),
    Column("ceiling_minor", BigInteger, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("engagement_id", "number"),
)

invoices = Table(
    "invoices",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("client_id", ForeignKey("clients.id"), nullable=False),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    # standard, or advance (an invoice that tops up the engagement's prepaid balance)
    Column("kind", String(10), nullable=False, server_default="standard"),
    Column("state", String(20), nullable=False),
    Column("number", String(60), nullable=True),
    Column("current_version", Integer, nullable=False),
    # The effective PO: the current version's, or the one a recipient's amendment set.
    _id("purchase_order_id", ForeignKey("purchase_orders.id"), nullable=True),
    Column("po_number", String(100), nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    # What a billing run created this invoice for (engagement + period or source): unique, so
    # a re-run, a concurrent run or a run after a crash can never create it twice.
    Column("billing_key", String(200), nullable=True),
    Column("approved_by", String(200), nullable=False, default=""),
    Column("change_request", Text, nullable=False, default=""),
    Column("credited_minor", BigInteger, nullable=False, default=0),
    Column("credited_net_minor", BigInteger, nullable=False, default=0),
    # Caches of its credit notes (gross, net, and the gross they gave back to the advance);
    # verify recomputes them from the credit notes.
    Column("credited_prepaid_minor", BigInteger, nullable=False, server_default="0"),
    Column("row_version", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("organization_id", "number"),
    UniqueConstraint("organization_id", "billing_key"),
    Index("ix_invoices_org_state", "organization_id", "state"),
    Index("ix_invoices_engagement", "engagement_id"),
    Index("ix_invoices_purchase_order", "purchase_order_id"),
)

invoice_versions = Table(
    "invoice_versions",
    metadata,
    _id("invoice_id", ForeignKey("invoices.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    _org(),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    _id("purchase_order_id", ForeignKey("purchase_orders.id"), nullable=True),
    Column("po_number", String(100), nullable=True),
    Column("buyer_json", Text, nullable=True),
    Column("seller_json", Text, nullable=True),
    Column("notes", Text, nullable=False, default=""),
    Column("quote_reference", String(100), nullable=False, default=""),
    Column("prepaid_minor", BigInteger, nullable=False, default=0),
    # The net drawn from the engagement's advance balance by this version (0 if discarded).
    Column("advance_used_minor", BigInteger, nullable=False, server_default="0"),
    Column("net_minor", BigInteger, nullable=False, default=0),
    Column("gross_minor", BigInteger, nullable=False, default=0),
    Column("frozen", Boolean, nullable=False, default=False),
    Column("content_hash", String(64), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
)


def _line_columns() -> list[Column[object]]:
    return [
        Column("description", Text, nullable=False),
        Column("quantity", DecimalText, nullable=False),
        Column("unit", String(20), nullable=False),
        Column("unit_price_minor", BigInteger, nullable=False),
        Column("vat_category", String(3), nullable=False),
        Column("vat_rate", DecimalText, nullable=False),
        Column("source_ref", String(200), nullable=True),
        Column("service_date", Date, nullable=True),
        Column("person", String(200), nullable=True),
        Column("requester", String(200), nullable=True),
        Column("approval_ref", String(500), nullable=True),
    ]


invoice_lines = Table(
    "invoice_lines",
    metadata,
    _id("invoice_id", primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    _org(),
    *_line_columns(),
    ForeignKeyConstraint(
        ["invoice_id", "version"], ["invoice_versions.invoice_id", "invoice_versions.version"]
    ),
)

invoice_amendments = Table(
    "invoice_amendments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    _id("invoice_id", ForeignKey("invoices.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("field", String(30), nullable=False),
    Column("value_json", Text, nullable=False),
    Column("by", String(200), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_invoice_amendments_invoice", "invoice_id"),
)

payments = Table(
    "payments",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("invoice_id", ForeignKey("invoices.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("reference", String(200), nullable=False, default=""),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index("ix_payments_invoice", "invoice_id"),
)

credit_notes = Table(
    "credit_notes",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("invoice_id", ForeignKey("invoices.id"), nullable=False),
    Column("invoice_number", String(60), nullable=False),
    _id("client_id", ForeignKey("clients.id"), nullable=False),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("number", String(60), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("reason", Text, nullable=False),
    Column("seller_json", Text, nullable=False),
    Column("buyer_json", Text, nullable=False),
    Column("po_number", String(100), nullable=False, default=""),
    Column("net_minor", BigInteger, nullable=False),
    Column("gross_minor", BigInteger, nullable=False),
    # The gross it gave back to the engagement's advance (its prepaid amount, BT-113) and
    # the net equivalent, as the engagement account decided when it was issued.
    Column("prepaid_minor", BigInteger, nullable=False, server_default="0"),
    Column("advance_returned_minor", BigInteger, nullable=False, server_default="0"),
    Column("content_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("organization_id", "number"),
    Index("ix_credit_notes_invoice", "invoice_id"),
)

# A credit note's VAT breakdown as issued: per (category, rate), the net it credits and the
# tax, which the engagement account sets so that a group's credits never exceed it.
credit_note_vat_groups = Table(
    "credit_note_vat_groups",
    metadata,
    _id("credit_note_id", ForeignKey("credit_notes.id"), primary_key=True),
    Column("vat_category", String(3), primary_key=True),
    Column("vat_rate", DecimalText, primary_key=True),
    _org(),
    _id("invoice_id", ForeignKey("invoices.id"), nullable=False),
    Column("taxable_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Index("ix_credit_note_vat_groups_invoice", "invoice_id"),
)

# One row per engagement: the row every money decision locks (FOR UPDATE on PostgreSQL; on
# SQLite the writers' turn serialises them), and a cache of the account's figures, which
# verify recomputes from the issued documents.
engagement_accounts = Table(
    "engagement_accounts",
    metadata,
    _id("engagement_id", ForeignKey("engagements.id"), primary_key=True),
    _org(),
    Column("currency", String(3), nullable=False),
    Column("advance_invoiced_minor", BigInteger, nullable=False, default=0),
    Column("advance_drawn_minor", BigInteger, nullable=False, default=0),
    Column("advance_reserved_minor", BigInteger, nullable=False, default=0),
    Column("advance_refunded_minor", BigInteger, nullable=False, default=0),
    Column("advance_available_minor", BigInteger, nullable=False, default=0),
    Index("ix_engagement_accounts_org", "organization_id"),
)

credit_note_lines = Table(
    "credit_note_lines",
    metadata,
    _id("credit_note_id", ForeignKey("credit_notes.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    _org(),
    *_line_columns(),
)

events = Table(
    "events",
    metadata,
    Column("organization_id", String(ID), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(60), nullable=False),
    Column("subject_type", String(30), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_events_subject", "subject_id"),
)

event_heads = Table(
    "event_heads",
    metadata,
    Column("organization_id", String(ID), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

# --- billing engine ----------------------------------------------------------------------------

retainer_schedules = Table(
    "retainer_schedules",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("frequency", String(10), nullable=False),
    Column("invoice_day", String(30), nullable=False),
    Column("line_template", String(300), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=True),
    Column("vat_category", String(3), nullable=False),
    Column("vat_rate", DecimalText, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_retainer_schedules_org", "organization_id", "active"),
)

advances = Table(
    "advances",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("invoice_date", Date, nullable=False),
    Column("description", String(300), nullable=False),
    Column("vat_category", String(3), nullable=False),
    Column("vat_rate", DecimalText, nullable=False),
    _id("invoice_id", ForeignKey("invoices.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_advances_engagement", "engagement_id"),
)

quotes = Table(
    "quotes",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    _id("client_id", ForeignKey("clients.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(20), nullable=False),
    Column("number", String(60), nullable=True),
    Column("current_version", Integer, nullable=False),
    Column("accepted_version", Integer, nullable=True),
    Column("accepted_by", String(200), nullable=False, default=""),
    Column("accepted_at", UtcDateTime, nullable=True),
    Column("accepted_hash", String(64), nullable=False, default=""),
    Column("declined_reason", Text, nullable=False, default=""),
    Column("row_version", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("organization_id", "number"),
    Index("ix_quotes_engagement", "engagement_id"),
)

quote_versions = Table(
    "quote_versions",
    metadata,
    _id("quote_id", ForeignKey("quotes.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    _org(),
    Column("title", String(300), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("content_hash", String(64), nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
)

quote_items = Table(
    "quote_items",
    metadata,
    _id("quote_id", primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    _org(),
    Column("name", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("amount_minor", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["quote_id", "version"], ["quote_versions.quote_id", "quote_versions.version"]
    ),
)

milestones = Table(
    "milestones",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    _id("quote_id", ForeignKey("quotes.id"), nullable=False),
    Column("quote_number", String(60), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", String(300), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("amount_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(20), nullable=False),
    Column("signed_off_by", String(200), nullable=False, default=""),
    Column("signed_off_at", UtcDateTime, nullable=True),
    _id("invoice_id", ForeignKey("invoices.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("quote_id", "position"),
    Index("ix_milestones_org_state", "organization_id", "state"),
)

work_items = Table(
    "work_items",
    metadata,
    _id(primary_key=True),
    _org(),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("person", String(200), nullable=False),
    Column("hours", DecimalText, nullable=False),
    Column("rate_minor", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("description", Text, nullable=False),
    Column("requester", String(200), nullable=False, default=""),
    Column("approval_ref", String(500), nullable=False, default=""),
    Column("state", String(20), nullable=False),
    Column("override_reason", Text, nullable=False, default=""),
    _id("quote_id", ForeignKey("quotes.id"), nullable=True),
    _id("invoice_id", ForeignKey("invoices.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_work_items_org_state", "organization_id", "state"),
    Index("ix_work_items_engagement", "engagement_id", "state"),
)

# --- access: API keys, idempotency, private links ----------------------------------------------

api_keys = Table(
    "api_keys",
    metadata,
    _id(primary_key=True),
    _org(),
    Column("name", String(200), nullable=False),
    Column("scope", String(20), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
)

# Stripe semantics: the first response to (organization, key) is kept and replayed byte for
# byte; the same key with another request body is a conflict.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    _org(),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("content_type", String(100), nullable=True),
    Column("body", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("organization_id", "key"),
    Index("ix_idempotency_keys_created", "created_at"),
)

document_links = Table(
    "document_links",
    metadata,
    _id(primary_key=True),
    _org(),
    Column("document_type", String(20), nullable=False),
    _id("document_id", nullable=False),
    Column("recipient_name", String(200), nullable=False, default=""),
    Column("recipient_email", String(254), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("token_hash"),
    Index("ix_document_links_document", "document_id"),
)

link_views = Table(
    "link_views",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _org(),
    _id("link_id", ForeignKey("document_links.id"), nullable=False),
    Column("viewed_at", UtcDateTime, nullable=False),
    Index("ix_link_views_link", "link_id"),
)

# --- delivery: the outbox, webhook endpoints and their cursors ---------------------------------

# Every message that leaves engagebill (email, webhook call) is a row here, written in the
# transaction that caused it. ``dedupe_key`` is unique: an invoice's reminder for one rule and
# day, or one event for one endpoint, can be enqueued only once however often workers run.
# Workers claim rows by setting ``claimed_until`` (with SKIP LOCKED on PostgreSQL).
outbox = Table(
    "outbox",
    metadata,
    _id(primary_key=True),
    _org(),
    Column("channel", String(20), nullable=False),
    Column("dedupe_key", String(300), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    UniqueConstraint("dedupe_key"),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    _id(primary_key=True),
    _org(),
    Column("url", String(2000), nullable=False),
    Column("secret", String(100), nullable=False),
    Column("events", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# How far the worker has turned each organization's events into webhook deliveries.
webhook_cursors = Table(
    "webhook_cursors",
    metadata,
    Column("organization_id", String(ID), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

delivery_settings = Table(
    "delivery_settings",
    metadata,
    Column("organization_id", String(ID), ForeignKey("organizations.id"), primary_key=True),
    Column("attach_pdf", Boolean, nullable=False, default=False),
    Column("unopened_after_days", Integer, nullable=False, default=3),
    Column("overdue_reminders", Boolean, nullable=False, default=True),
)

# --- the agency's app: users, their web sessions, invoice templates -----------------------------

users = Table(
    "users",
    metadata,
    _id(primary_key=True),
    _org(),
    Column("email", String(254), nullable=False),  # lower-cased: sign-in ignores case
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),  # argon2id, never the password
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("email"),
)

# A session's id is the SHA-256 of the token in the browser's cookie: the table opens nothing.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    _id("user_id", ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Index("ix_web_sessions_user", "user_id"),
)

invoice_templates = Table(
    "invoice_templates",
    metadata,
    _id(primary_key=True),
    _org(),
    Column("name", String(200), nullable=False),
    _id("engagement_id", ForeignKey("engagements.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("lines", Text, nullable=False),  # JSON: the lines as ``line_to_dict`` writes them
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_invoice_templates_organization", "organization_id"),
)

# One private calendar subscription per user (``services.calendar_feed``): only the SHA-256 of
# the token in the subscription URL is kept, so the table opens nothing.
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    _id("user_id", ForeignKey("users.id"), primary_key=True),
    Column("token_sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("token_sha256"),
)
