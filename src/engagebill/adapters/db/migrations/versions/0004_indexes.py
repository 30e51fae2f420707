"""Index invoices by their effective PO: PO consumption is summed on every send and run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_invoices_purchase_order", "invoices", ["purchase_order_id"])


def downgrade() -> None:
    op.drop_index("ix_invoices_purchase_order", table_name="invoices")
