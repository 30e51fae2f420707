"""Billing engine: retainer schedules, advances, quotes, milestones and work items.

Also gives invoices a kind (standard or advance) and versions the advance net they use, and
adds a quote number series to existing organizations. Columns are added with plain
ALTER TABLE ADD COLUMN so that SQLite keeps the immutability triggers on those tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:25:16.135304
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engagebill.adapters.db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quotes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("accepted_version", sa.Integer(), nullable=True),
        sa.Column("accepted_by", sa.String(length=200), nullable=False),
        sa.Column(
            "accepted_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("accepted_hash", sa.String(length=64), nullable=False),
        sa.Column("declined_reason", sa.Text(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_quotes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"], ["engagements.id"], name=op.f("fk_quotes_engagement_id_engagements")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_quotes_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
        sa.UniqueConstraint(
            "organization_id", "number", name=op.f("uq_quotes_organization_id_number")
        ),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index("ix_quotes_engagement", ["engagement_id"], unique=False)

    op.create_table(
        "retainer_schedules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("invoice_day", sa.String(length=30), nullable=False),
        sa.Column("line_template", sa.String(length=300), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("vat_category", sa.String(length=3), nullable=False),
        sa.Column("vat_rate", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_retainer_schedules_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_retainer_schedules_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retainer_schedules")),
    )
    with op.batch_alter_table("retainer_schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_retainer_schedules_org", ["organization_id", "active"], unique=False
        )

    op.create_table(
        "quote_versions",
        sa.Column("quote_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_quote_versions_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_quote_versions_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("quote_id", "version", name=op.f("pk_quote_versions")),
    )
    op.create_table(
        "advances",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("vat_category", sa.String(length=3), nullable=False),
        sa.Column("vat_rate", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_advances_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_advances_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_advances_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advances")),
    )
    with op.batch_alter_table("advances", schema=None) as batch_op:
        batch_op.create_index("ix_advances_engagement", ["engagement_id"], unique=False)

    op.create_table(
        "milestones",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("quote_id", sa.String(length=40), nullable=False),
        sa.Column("quote_number", sa.String(length=60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("signed_off_by", sa.String(length=200), nullable=False),
        sa.Column(
            "signed_off_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("invoice_id", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_milestones_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_milestones_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_milestones_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_milestones_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
        sa.UniqueConstraint("quote_id", "position", name=op.f("uq_milestones_quote_id_position")),
    )
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.create_index("ix_milestones_org_state", ["organization_id", "state"], unique=False)

    op.create_table(
        "quote_items",
        sa.Column("quote_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_quote_items_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id", "version"],
            ["quote_versions.quote_id", "quote_versions.version"],
            name=op.f("fk_quote_items_quote_id_quote_versions"),
        ),
        sa.PrimaryKeyConstraint("quote_id", "version", "position", name=op.f("pk_quote_items")),
    )
    op.create_table(
        "work_items",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("hours", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("rate_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("requester", sa.String(length=200), nullable=False),
        sa.Column("approval_ref", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=False),
        sa.Column("quote_id", sa.String(length=40), nullable=True),
        sa.Column("invoice_id", sa.String(length=40), nullable=True),
        sa.Column(
            "created_at", engagebill.adapters.db.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_work_items_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_work_items_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_work_items_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["quote_id"], ["quotes.id"], name=op.f("fk_work_items_quote_id_quotes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
    )
    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.create_index("ix_work_items_engagement", ["engagement_id", "state"], unique=False)
        batch_op.create_index("ix_work_items_org_state", ["organization_id", "state"], unique=False)

    op.add_column(
        "invoice_versions",
        sa.Column("advance_used_minor", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "engagements",
        sa.Column("vat_category", sa.String(length=3), server_default="S", nullable=False),
    )
    op.add_column(
        "engagements",
        sa.Column("vat_rate", sa.String(length=40), server_default="21", nullable=False),
    )
    op.add_column(
        "invoices",
        sa.Column("kind", sa.String(length=10), server_default="standard", nullable=False),
    )
    op.execute(
        "INSERT INTO number_series (organization_id, kind, pattern, prefix) "
        "SELECT id, 'quote', '{prefix}-{yyyy}-{seq:04}', 'Q' FROM organizations"
    )


def downgrade() -> None:
    op.execute("DELETE FROM number_series WHERE kind = 'quote'")
    op.drop_column("engagements", "vat_rate")
    op.drop_column("engagements", "vat_category")
    op.drop_column("invoices", "kind")
    op.drop_column("invoice_versions", "advance_used_minor")

    with op.batch_alter_table("work_items", schema=None) as batch_op:
        batch_op.drop_index("ix_work_items_org_state")
        batch_op.drop_index("ix_work_items_engagement")

    op.drop_table("work_items")
    op.drop_table("quote_items")
    with op.batch_alter_table("milestones", schema=None) as batch_op:
        batch_op.drop_index("ix_milestones_org_state")

    op.drop_table("milestones")
    with op.batch_alter_table("advances", schema=None) as batch_op:
        batch_op.drop_index("ix_advances_engagement")

    op.drop_table("advances")
    op.drop_table("quote_versions")
    with op.batch_alter_table("retainer_schedules", schema=None) as batch_op:
        batch_op.drop_index("ix_retainer_schedules_org")

    op.drop_table("retainer_schedules")
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index("ix_quotes_engagement")

    op.drop_table("quotes")
