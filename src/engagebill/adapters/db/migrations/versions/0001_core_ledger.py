"""Core ledger: parties, engagements, POs, invoices with versions, credit notes, events.

Frozen invoice versions and their lines, credit notes and events are protected by triggers:
the database itself refuses to update or delete what was sent.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:19:54.497589
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engagebill.adapters.db.types
from engagebill.adapters.db.guards import drop_guards, install_guards

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_heads",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_event_heads")),
    )
    op.create_table(
        "events",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("organization_id", "seq", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_subject", ["subject_id"], unique=False)

    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("tax_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("iban", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    op.create_table(
        "clients",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_clients_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index("ix_clients_org_name", ["organization_id", "name"], unique=False)

    op.create_table(
        "number_counters",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_number_counters_organization_id_organizations"),
        ),
        sa.UniqueConstraint(
            "organization_id",
            "kind",
            "period",
            name=op.f("uq_number_counters_organization_id_kind_period"),
        ),
    )
    op.create_table(
        "number_series",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("pattern", sa.String(length=60), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_number_series_organization_id_organizations"),
        ),
        sa.UniqueConstraint(
            "organization_id", "kind", name=op.f("uq_number_series_organization_id_kind")
        ),
    )
    op.create_table(
        "ap_contacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_ap_contacts_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_ap_contacts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ap_contacts")),
    )
    with op.batch_alter_table("ap_contacts", schema=None) as batch_op:
        batch_op.create_index("ix_ap_contacts_client", ["client_id"], unique=False)

    op.create_table(
        "billing_entities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("address_line1", sa.String(length=200), nullable=False),
        sa.Column("address_line2", sa.String(length=200), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("postal_code", sa.String(length=20), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.Column("tax_id", sa.String(length=40), nullable=False),
        sa.Column("cost_centre", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_billing_entities_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_billing_entities_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_entities")),
    )
    with op.batch_alter_table("billing_entities", schema=None) as batch_op:
        batch_op.create_index("ix_billing_entities_client", ["client_id"], unique=False)

    op.create_table(
        "engagements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("net_days", sa.Integer(), nullable=False),
        sa.Column("billing_entity_id", sa.String(length=40), nullable=False),
        sa.Column("default_purchase_order_id", sa.String(length=40), nullable=True),
        sa.Column("retainer_mode", sa.String(length=10), nullable=True),
        sa.Column("auto_send", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["billing_entity_id"],
            ["billing_entities.id"],
            name=op.f("fk_engagements_billing_entity_id_billing_entities"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_engagements_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_engagements_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagements")),
    )
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_engagements_client", ["organization_id", "client_id"], unique=False
        )

    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("ceiling_minor", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_purchase_orders_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_purchase_orders_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint(
            "engagement_id", "number", name=op.f("uq_purchase_orders_engagement_id_number")
        ),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("purchase_order_id", sa.String(length=40), nullable=True),
        sa.Column("po_number", sa.String(length=100), nullable=True),
        sa.Column(
            "sent_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("billing_key", sa.String(length=200), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("change_request", sa.Text(), nullable=False),
        sa.Column("credited_minor", sa.BigInteger(), nullable=False),
        sa.Column("credited_net_minor", sa.BigInteger(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_invoices_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_invoices_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invoices_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_invoices_purchase_order_id_purchase_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "organization_id", "billing_key", name=op.f("uq_invoices_organization_id_billing_key")
        ),
        sa.UniqueConstraint(
            "organization_id", "number", name=op.f("uq_invoices_organization_id_number")
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index("ix_invoices_engagement", ["engagement_id"], unique=False)
        batch_op.create_index("ix_invoices_org_state", ["organization_id", "state"], unique=False)

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_number", sa.String(length=60), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seller_json", sa.Text(), nullable=False),
        sa.Column("buyer_json", sa.Text(), nullable=False),
        sa.Column("po_number", sa.String(length=100), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_credit_notes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_credit_notes_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_credit_notes_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint(
            "organization_id", "number", name=op.f("uq_credit_notes_organization_id_number")
        ),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index("ix_credit_notes_invoice", ["invoice_id"], unique=False)

    op.create_table(
        "invoice_amendments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=30), nullable=False),
        sa.Column("value_json", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column(
            "recorded_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_amendments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invoice_amendments_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_amendments")),
    )
    with op.batch_alter_table("invoice_amendments", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_amendments_invoice", ["invoice_id"], unique=False)

    op.create_table(
        "invoice_versions",
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("purchase_order_id", sa.String(length=40), nullable=True),
        sa.Column("po_number", sa.String(length=100), nullable=True),
        sa.Column("buyer_json", sa.Text(), nullable=True),
        sa.Column("seller_json", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("quote_reference", sa.String(length=100), nullable=False),
        sa.Column("prepaid_minor", sa.BigInteger(), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("gross_minor", sa.BigInteger(), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_versions_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invoice_versions_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_invoice_versions_purchase_order_id_purchase_orders"),
        ),
        sa.PrimaryKeyConstraint("invoice_id", "version", name=op.f("pk_invoice_versions")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column(
            "recorded_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payments_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_invoice", ["invoice_id"], unique=False)

    op.create_table(
        "credit_note_lines",
        sa.Column("credit_note_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_category", sa.String(length=3), nullable=False),
        sa.Column("vat_rate", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("person", sa.String(length=200), nullable=True),
        sa.Column("requester", sa.String(length=200), nullable=True),
        sa.Column("approval_ref", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_lines_credit_note_id_credit_notes"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_credit_note_lines_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("credit_note_id", "position", name=op.f("pk_credit_note_lines")),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_category", sa.String(length=3), nullable=False),
        sa.Column("vat_rate", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=True),
        sa.Column("person", sa.String(length=200), nullable=True),
        sa.Column("requester", sa.String(length=200), nullable=True),
        sa.Column("approval_ref", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["invoice_id", "version"],
            ["invoice_versions.invoice_id", "invoice_versions.version"],
            name=op.f("fk_invoice_lines_invoice_id_invoice_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_invoice_lines_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("invoice_id", "version", "position", name=op.f("pk_invoice_lines")),
    )

    install_guards(op.get_bind())


def downgrade() -> None:
    drop_guards(op.get_bind())
    op.drop_table("invoice_lines")
    op.drop_table("credit_note_lines")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_invoice")

    op.drop_table("payments")
    op.drop_table("invoice_versions")
    with op.batch_alter_table("invoice_amendments", schema=None) as batch_op:
        batch_op.drop_index("ix_invoice_amendments_invoice")

    op.drop_table("invoice_amendments")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_notes_invoice")

    op.drop_table("credit_notes")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index("ix_invoices_org_state")
        batch_op.drop_index("ix_invoices_engagement")

    op.drop_table("invoices")
    op.drop_table("purchase_orders")
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_index("ix_engagements_client")

    op.drop_table("engagements")
    with op.batch_alter_table("billing_entities", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_entities_client")

    op.drop_table("billing_entities")
    with op.batch_alter_table("ap_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_ap_contacts_client")

    op.drop_table("ap_contacts")
    op.drop_table("number_series")
    op.drop_table("number_counters")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_org_name")

    op.drop_table("clients")
    op.drop_table("organizations")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_subject")

    op.drop_table("events")
    op.drop_table("event_heads")
