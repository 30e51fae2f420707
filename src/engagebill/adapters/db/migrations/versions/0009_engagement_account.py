"""The engagement account: one locked row per engagement, credit notes' VAT groups and what
they gave back to the advance.

Adds ``engagement_accounts`` (the row money decisions lock, with a cache of the account's
figures), ``credit_note_vat_groups`` (a credit note's VAT breakdown as issued, append-only),
``credit_notes.prepaid_minor`` / ``advance_returned_minor`` and
``invoices.credited_prepaid_minor``.

Existing data is recomputed: each credit note's VAT groups from its lines; for a credit note
on an invoice that drew on the advance, the part that went back to the advance by the
account's rule (after what was still owed when it was issued), which is what voiding such an
invoice did before; then every invoice's credit caches and every engagement's account. Those
credit notes are append-only, so their guard is lifted for the one update and put back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic import op

import engagebill.adapters.db.types
from engagebill.adapters.db.accounts import SqlEngagementAccounts
from engagebill.domain.money import currency_exponent

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GUARD_SQLITE = """CREATE TRIGGER guard_credit_note_vat_groups_{op} BEFORE {OP}
ON credit_note_vat_groups
BEGIN SELECT RAISE(ABORT, 'engagebill: credit_note_vat_groups are append-only'); END"""
_GUARD_POSTGRES = """CREATE TRIGGER guard_credit_note_vat_groups BEFORE UPDATE OR DELETE
ON credit_note_vat_groups FOR EACH ROW
EXECUTE FUNCTION engagebill_refuse('credit_note_vat_groups are append-only')"""
_CREDIT_NOTES_UPDATE_SQLITE = """CREATE TRIGGER guard_credit_notes_update BEFORE UPDATE
ON credit_notes BEGIN SELECT RAISE(ABORT, 'engagebill: credit_notes are append-only'); END"""


def _money_columns(*names: str) -> list[sa.Column[int]]:
    return [sa.Column(n, sa.BigInteger(), nullable=False, server_default="0") for n in names]


def upgrade() -> None:
    op.execute("ALTER TABLE invoices ADD COLUMN credited_prepaid_minor BIGINT NOT NULL DEFAULT 0")
    op.execute("ALTER TABLE credit_notes ADD COLUMN prepaid_minor BIGINT NOT NULL DEFAULT 0")
    op.execute(
        "ALTER TABLE credit_notes ADD COLUMN advance_returned_minor BIGINT NOT NULL DEFAULT 0"
    )
    op.create_table(
        "credit_note_vat_groups",
        sa.Column("credit_note_id", sa.String(length=40), nullable=False),
        sa.Column("vat_category", sa.String(length=3), nullable=False),
        sa.Column("vat_rate", engagebill.adapters.db.types.DecimalText(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("invoice_id", sa.String(length=40), nullable=False),
        sa.Column("taxable_minor", sa.BigInteger(), nullable=False),
        sa.Column("tax_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_credit_note_vat_groups_credit_note_id_credit_notes"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_credit_note_vat_groups_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_credit_note_vat_groups_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "credit_note_id", "vat_category", "vat_rate", name=op.f("pk_credit_note_vat_groups")
        ),
    )
    op.create_index("ix_credit_note_vat_groups_invoice", "credit_note_vat_groups", ["invoice_id"])
    op.create_table(
        "engagement_accounts",
        sa.Column("engagement_id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        *_money_columns(
            "advance_invoiced_minor",
            "advance_drawn_minor",
            "advance_reserved_minor",
            "advance_refunded_minor",
            "advance_available_minor",
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_engagement_accounts_engagement_id_engagements"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_engagement_accounts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("engagement_id", name=op.f("pk_engagement_accounts")),
    )
    op.create_index("ix_engagement_accounts_org", "engagement_accounts", ["organization_id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_GUARD_POSTGRES)
    else:
        for name in ("update", "delete"):
            op.execute(_GUARD_SQLITE.format(op=name, OP=name.upper()))
    _recompute(bind)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), ROUND_HALF_UP)


def _minor(amount: Decimal, currency: str) -> int:
    return int(_round(amount, currency).scaleb(currency_exponent(currency)))


def _recompute(bind: sa.Connection) -> None:
    notes = list(
        bind.execute(
            sa.text(
                "SELECT id, organization_id, invoice_id, currency, gross_minor, created_at "
                "FROM credit_notes ORDER BY created_at, id"
            )
        )
    )
    # 1. Each credit note's VAT groups, from its lines, as they were issued.
    for note in notes:
        scale = Decimal(1).scaleb(-currency_exponent(note.currency))
        sums: dict[tuple[str, str], Decimal] = {}
        for line in bind.execute(
            sa.text(
                "SELECT quantity, unit_price_minor, vat_category, vat_rate "
                "FROM credit_note_lines WHERE credit_note_id = :id"
            ),
            {"id": note.id},
        ):
            net = _round(
                Decimal(line.quantity) * Decimal(line.unit_price_minor) * scale, note.currency
            )
            key = (line.vat_category, str(Decimal(line.vat_rate)))
            sums[key] = sums.get(key, Decimal(0)) + net
        for (category, rate), taxable in sorted(sums.items()):
            bind.execute(
                sa.text(
                    "INSERT INTO credit_note_vat_groups (credit_note_id, vat_category, vat_rate, "
                    "organization_id, invoice_id, taxable_minor, tax_minor) VALUES "
                    "(:cn, :cat, :rate, :org, :inv, :taxable, :tax)"
                ),
                {
                    "cn": note.id,
                    "cat": category,
                    "rate": rate,
                    "org": note.organization_id,
                    "inv": note.invoice_id,
                    "taxable": _minor(taxable, note.currency),
                    "tax": _minor(taxable * Decimal(rate) / 100, note.currency),
                },
            )
    # 2. What credit notes on invoices that drew on the advance gave back to it.
    returned = _returned_by_notes(bind, notes)
    if returned:
        _update_credit_notes(bind, returned)
    # 3. The invoices' credit caches and every engagement's account.
    bind.execute(
        sa.text(
            "UPDATE invoices SET credited_minor = COALESCE((SELECT SUM(gross_minor) FROM "
            "credit_notes c WHERE c.invoice_id = invoices.id), 0), credited_net_minor = "
            "COALESCE((SELECT SUM(net_minor) FROM credit_notes c WHERE c.invoice_id = "
            "invoices.id), 0), credited_prepaid_minor = COALESCE((SELECT SUM(prepaid_minor) "
            "FROM credit_notes c WHERE c.invoice_id = invoices.id), 0)"
        )
    )
    accounts = SqlEngagementAccounts(bind)
    by_org: dict[str, dict[str, str]] = {}
    for row in bind.execute(sa.text("SELECT id, organization_id, currency FROM engagements")):
        by_org.setdefault(row.organization_id, {})[row.id] = row.currency
    for organization_id, engagements in by_org.items():
        accounts.lock_many(organization_id, engagements)  # creates their rows
        accounts.save_many(
            organization_id, accounts.load_many(organization_id, engagements).values()
        )


def _returned_by_notes(
    bind: sa.Connection, notes: Sequence[sa.Row[tuple[object, ...]]]
) -> dict[str, tuple[int, int]]:
    """Per credit note on a drawing invoice: (prepaid, net) it gave back to the advance."""
    drawing = {
        r.id: r
        for r in bind.execute(
            sa.text(
                "SELECT i.id, i.state, v.gross_minor, v.prepaid_minor, v.advance_used_minor "
                "FROM invoices i JOIN invoice_versions v ON v.invoice_id = i.id "
                "AND v.version = i.current_version WHERE v.prepaid_minor > 0"
            )
        )
    }
    done: dict[str, tuple[int, int, int]] = {}  # invoice -> credited, returned, returned net
    returned: dict[str, tuple[int, int]] = {}
    for note in notes:
        invoice = drawing.get(note.invoice_id)
        if invoice is None:
            continue
        credited, back, back_net = done.get(invoice.id, (0, 0, 0))
        paid = int(
            bind.execute(
                sa.text(
                    "SELECT COALESCE(SUM(amount_minor), 0) FROM payments "
                    "WHERE invoice_id = :id AND recorded_at <= :at"
                ),
                {"id": invoice.id, "at": note.created_at},
            ).scalar_one()
        )
        drawn, drawn_net = invoice.prepaid_minor - back, invoice.advance_used_minor - back_net
        owed = max(invoice.gross_minor - drawn - credited - paid, 0)
        gross = int(note.gross_minor)
        complete = credited + gross >= invoice.gross_minor
        give = drawn if complete else min(max(gross - owed, 0), drawn)
        give_net = drawn_net if give == drawn else min(drawn_net, round(give * drawn_net / drawn))
        if give:
            returned[note.id] = (give, give_net)
        done[invoice.id] = (credited + gross, back + give, back_net + give_net)
    return returned


def _update_credit_notes(bind: sa.Connection, returned: dict[str, tuple[int, int]]) -> None:
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE credit_notes DISABLE TRIGGER guard_credit_notes")
    else:
        op.execute("DROP TRIGGER IF EXISTS guard_credit_notes_update")
    for note_id, (prepaid, net) in returned.items():
        bind.execute(
            sa.text(
                "UPDATE credit_notes SET prepaid_minor = :p, advance_returned_minor = :n "
                "WHERE id = :id"
            ),
            {"p": prepaid, "n": net, "id": note_id},
        )
    if postgres:
        op.execute("ALTER TABLE credit_notes ENABLE TRIGGER guard_credit_notes")
    else:
        op.execute(_CREDIT_NOTES_UPDATE_SQLITE)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS guard_credit_note_vat_groups ON credit_note_vat_groups")
    else:
        for name in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS guard_credit_note_vat_groups_{name}")
    op.drop_index("ix_engagement_accounts_org", table_name="engagement_accounts")
    op.drop_table("engagement_accounts")
    op.drop_index("ix_credit_note_vat_groups_invoice", table_name="credit_note_vat_groups")
    op.drop_table("credit_note_vat_groups")
    with op.batch_alter_table("credit_notes") as batch:
        batch.drop_column("advance_returned_minor")
        batch.drop_column("prepaid_minor")
    with op.batch_alter_table("invoices") as batch:
        batch.drop_column("credited_prepaid_minor")
