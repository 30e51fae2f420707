"""The event chain head only moves forward: refuse lowering or deleting it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from engagebill.adapters.db.guards import drop_head_guards, install_head_guards

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    install_head_guards(op.get_bind())


def downgrade() -> None:
    drop_head_guards(op.get_bind())
