"""The engagement account's row and the documents it is computed from.

``lock`` takes the engagement's row in ``engagement_accounts`` for the rest of the
transaction: ``SELECT ... FOR UPDATE`` on PostgreSQL, so two app servers or workers can never
both spend the same balance; on SQLite the transaction holds the writers' turn already and the
row read is only there for symmetry. The row is created on first use.

``load`` reads the engagement's invoices (current versions, with what they draw and what was
paid on them) and credit notes (with their VAT groups and what they gave back to the advance)
in three statements and hands them to the pure ``EngagementAccount``. ``save`` stores the
account's figures on the row: a cache that ``verify`` recomputes, never an input.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.parties import not_found
from engagebill.domain.engagement_account import AccountCredit, AccountInvoice, EngagementAccount
from engagebill.domain.invoices import InvoiceKind
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory, VatGroup

_a = t.engagement_accounts.c
_LOCK = (
    select(_a.engagement_id)
    .where(
        _a.organization_id == bindparam("organization_id"),
        _a.engagement_id == bindparam("engagement_id"),
    )
    .with_for_update()
)
_ENGAGEMENT_OF = (
    select(
        t.invoices.c.engagement_id,
        t.invoices.c.currency,
        (
            (t.invoices.c.kind == InvoiceKind.ADVANCE.value)
            | (t.invoice_versions.c.advance_used_minor != 0)
        ).label("draws"),
    )
    .select_from(
        t.invoices.join(
            t.invoice_versions,
            (t.invoice_versions.c.invoice_id == t.invoices.c.id)
            & (t.invoice_versions.c.version == t.invoices.c.current_version),
        )
    )
    .where(
        t.invoices.c.organization_id == bindparam("organization_id"),
        t.invoices.c.id == bindparam("invoice_id"),
    )
)
FIGURES = (
    "advance_invoiced_minor",
    "advance_drawn_minor",
    "advance_reserved_minor",
    "advance_refunded_minor",
    "advance_available_minor",
)
_SAVE = update(t.engagement_accounts).where(
    _a.organization_id == bindparam("w_organization_id"),
    _a.engagement_id == bindparam("w_engagement_id"),
)
# Engagements per statement when loading many: under every database's bind limit.
_CHUNK = 500


def figures(account: EngagementAccount) -> dict[str, int]:
    """The account's figures as stored, in minor units."""
    advance = account.advance
    return {
        "advance_invoiced_minor": advance.invoiced.to_minor(),
        "advance_drawn_minor": advance.drawn.to_minor(),
        "advance_reserved_minor": advance.reserved.to_minor(),
        "advance_refunded_minor": advance.refunded.to_minor(),
        "advance_available_minor": advance.available.to_minor(),
    }


class SqlEngagementAccounts:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _insert(self) -> Any:
        """INSERT ... ON CONFLICT DO NOTHING: a concurrent first lock may create a row first;
        the lock that follows then waits for that transaction."""
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            return postgresql.insert(t.engagement_accounts).on_conflict_do_nothing()
        if dialect == "sqlite":
            return sqlite.insert(t.engagement_accounts).on_conflict_do_nothing()
        raise RuntimeError(f"unsupported database {dialect}")  # pragma: no cover

    def lock(self, organization_id: str, engagement_id: str, currency: str) -> None:
        key = {"organization_id": organization_id, "engagement_id": engagement_id}
        if self.conn.execute(_LOCK, key).first() is None:
            self.conn.execute(self._insert(), _empty_row(organization_id, engagement_id, currency))
            self.conn.execute(_LOCK, key).one()

    def lock_many(self, organization_id: str, engagements: Mapping[str, str]) -> None:
        """Take the rows of several engagements (``{engagement_id: currency}``), in engagement
        id order: every process takes them in that order, so two never wait on each other."""
        ids = sorted(engagements)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            found = {
                str(r[0])
                for r in self.conn.execute(
                    select(_a.engagement_id).where(
                        _a.organization_id == organization_id, _a.engagement_id.in_(chunk)
                    )
                )
            }
            missing = [
                _empty_row(organization_id, e, engagements[e]) for e in chunk if e not in found
            ]
            if missing:
                self.conn.execute(self._insert(), missing)
            self.conn.execute(
                select(_a.engagement_id)
                .where(_a.organization_id == organization_id, _a.engagement_id.in_(chunk))
                .order_by(_a.engagement_id)
                .with_for_update()
            ).all()

    def lock_for_invoice(
        self, organization_id: str, invoice_id: str, *, only_if_it_draws: bool = False
    ) -> tuple[str, str] | None:
        """Lock the account of the invoice's engagement; return (engagement id, currency).

        With ``only_if_it_draws``, only an invoice that draws on the advance or tops it up
        takes the lock (and nothing is returned for the others)."""
        row = self.conn.execute(
            _ENGAGEMENT_OF, {"organization_id": organization_id, "invoice_id": invoice_id}
        ).first()
        if row is None:
            raise not_found("invoice", invoice_id)
        if only_if_it_draws and not row.draws:
            return None
        self.lock(organization_id, row.engagement_id, row.currency)
        return str(row.engagement_id), str(row.currency)

    def load(self, organization_id: str, engagement_id: str, currency: str) -> EngagementAccount:
        return self.load_many(organization_id, {engagement_id: currency})[engagement_id]

    def load_many(
        self, organization_id: str, engagements: Mapping[str, str]
    ) -> dict[str, EngagementAccount]:
        ids = list(engagements)
        invoices: dict[str, list[AccountInvoice]] = {e: [] for e in ids}
        credits: dict[str, list[AccountCredit]] = {e: [] for e in ids}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for engagement_id, invoice in self._invoices(organization_id, chunk):
                invoices[engagement_id].append(invoice)
            for engagement_id, credit in self._credits(organization_id, chunk):
                credits[engagement_id].append(credit)
        return {e: EngagementAccount(e, engagements[e], invoices[e], credits[e]) for e in ids}

    def _invoices(
        self, organization_id: str, engagement_ids: list[str]
    ) -> Iterable[tuple[str, AccountInvoice]]:
        i, v, p = t.invoices, t.invoice_versions, t.payments
        paid = (
            select(p.c.invoice_id, func.sum(p.c.amount_minor).label("paid_minor"))
            .where(p.c.organization_id == organization_id)
            .group_by(p.c.invoice_id)
            .subquery()
        )
        rows = self.conn.execute(
            select(
                i.c.id,
                i.c.engagement_id,
                i.c.number,
                i.c.kind,
                i.c.state,
                i.c.currency,
                v.c.issue_date,
                v.c.net_minor,
                v.c.gross_minor,
                v.c.advance_used_minor,
                v.c.prepaid_minor,
                func.coalesce(paid.c.paid_minor, 0).label("paid_minor"),
            )
            .select_from(
                i.join(
                    v, (v.c.invoice_id == i.c.id) & (v.c.version == i.c.current_version)
                ).outerjoin(paid, paid.c.invoice_id == i.c.id)
            )
            .where(i.c.organization_id == organization_id, i.c.engagement_id.in_(engagement_ids))
            .order_by(i.c.created_at, i.c.id)
        )
        for r in rows:
            cur = r.currency
            yield (
                r.engagement_id,
                AccountInvoice(
                    id=r.id,
                    number=r.number,
                    advance=r.kind == InvoiceKind.ADVANCE.value,
                    state=InvoiceState(r.state),
                    issue_date=r.issue_date,
                    net=Money.from_minor(r.net_minor, cur),
                    gross=Money.from_minor(r.gross_minor, cur),
                    advance_used=Money.from_minor(r.advance_used_minor, cur),
                    prepaid=Money.from_minor(r.prepaid_minor, cur),
                    paid=Money.from_minor(int(r.paid_minor), cur),
                ),
            )

    def _credits(
        self, organization_id: str, engagement_ids: list[str]
    ) -> Iterable[tuple[str, AccountCredit]]:
        cn, g = t.credit_notes, t.credit_note_vat_groups
        rows = self.conn.execute(
            select(
                cn.c.id,
                cn.c.engagement_id,
                cn.c.number,
                cn.c.invoice_id,
                cn.c.issue_date,
                cn.c.currency,
                cn.c.prepaid_minor,
                cn.c.advance_returned_minor,
                g.c.vat_category,
                g.c.vat_rate,
                g.c.taxable_minor,
                g.c.tax_minor,
            )
            .select_from(cn.join(g, g.c.credit_note_id == cn.c.id))
            .where(cn.c.organization_id == organization_id, cn.c.engagement_id.in_(engagement_ids))
            .order_by(cn.c.created_at, cn.c.id, g.c.vat_category, g.c.vat_rate)
        )
        current: Any = None
        groups: list[VatGroup] = []
        for r in rows:
            if current is not None and r.id != current.id:
                yield current.engagement_id, _credit(current, groups)
                groups = []
            current = r
            groups.append(
                VatGroup(
                    VatCategory(r.vat_category),
                    Decimal(r.vat_rate),
                    Money.from_minor(r.taxable_minor, r.currency),
                    Money.from_minor(r.tax_minor, r.currency),
                )
            )
        if current is not None:
            yield current.engagement_id, _credit(current, groups)

    def save_many(self, organization_id: str, accounts: Iterable[EngagementAccount]) -> None:
        """Store several accounts' figures (rows taken by ``lock_many``) in one statement."""
        rows = [
            {"w_organization_id": organization_id, "w_engagement_id": a.engagement_id, **figures(a)}
            for a in accounts
        ]
        if rows:
            self.conn.execute(_SAVE, rows)

    def save(self, organization_id: str, account: EngagementAccount) -> None:
        self.save_many(organization_id, [account])

    def stored(self, organization_id: str) -> dict[str, dict[str, int]]:
        rows = self.conn.execute(
            select(t.engagement_accounts).where(_a.organization_id == organization_id)
        )
        return {r.engagement_id: {f: int(getattr(r, f)) for f in FIGURES} for r in rows}

    def stored_credits(self, organization_id: str) -> dict[str, tuple[int, int, int]]:
        i = t.invoices.c
        rows = self.conn.execute(
            select(i.id, i.credited_minor, i.credited_net_minor, i.credited_prepaid_minor).where(
                i.organization_id == organization_id
            )
        )
        return {r.id: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def _empty_row(organization_id: str, engagement_id: str, currency: str) -> dict[str, Any]:
    return {
        "engagement_id": engagement_id,
        "organization_id": organization_id,
        "currency": currency,
        **dict.fromkeys(FIGURES, 0),
    }


def _credit(row: Any, groups: list[VatGroup]) -> AccountCredit:
    return AccountCredit(
        id=row.id,
        number=row.number,
        invoice_id=row.invoice_id,
        issue_date=row.issue_date,
        groups=tuple(groups),
        prepaid=Money.from_minor(row.prepaid_minor, row.currency),
        advance_returned=Money.from_minor(row.advance_returned_minor, row.currency),
    )
