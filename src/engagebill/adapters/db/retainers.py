"""Repository for retainer schedules, one-off advances and advance balances."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.parties import not_found
from engagebill.domain.advances import Advance
from engagebill.domain.engagements import RetainerMode
from engagebill.domain.errors import Conflict
from engagebill.domain.invoices import InvoiceKind
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.schedules import Frequency, InvoiceDayRule, RetainerSchedule
from engagebill.domain.taxes import VatCategory


class SqlRetainers:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # schedules ----------------------------------------------------------------------------
    def add_schedule(self, schedule: RetainerSchedule) -> None:
        s = schedule
        self.conn.execute(
            insert(t.retainer_schedules).values(
                id=s.id,
                organization_id=s.organization_id,
                engagement_id=s.engagement_id,
                mode=s.mode.value,
                amount_minor=s.amount.to_minor(),
                currency=s.amount.currency,
                frequency=s.frequency.value,
                invoice_day=s.invoice_day.text,
                line_template=s.line_template,
                start_date=s.start_date,
                end_date=s.end_date,
                vat_category=s.vat_category.value,
                vat_rate=s.vat_rate,
                active=s.active,
                created_at=s.created_at,
            )
        )

    @staticmethod
    def _schedule(row: Any) -> RetainerSchedule:
        return RetainerSchedule(
            id=row.id,
            organization_id=row.organization_id,
            engagement_id=row.engagement_id,
            mode=RetainerMode(row.mode),
            amount=Money.from_minor(row.amount_minor, row.currency),
            frequency=Frequency(row.frequency),
            invoice_day=InvoiceDayRule(row.invoice_day),
            line_template=row.line_template,
            start_date=row.start_date,
            end_date=row.end_date,
            created_at=row.created_at,
            vat_category=VatCategory(row.vat_category),
            vat_rate=Decimal(row.vat_rate),
            active=bool(row.active),
        )

    def get_schedule(self, organization_id: str, schedule_id: str) -> RetainerSchedule:
        row = self.conn.execute(
            select(t.retainer_schedules).where(
                t.retainer_schedules.c.organization_id == organization_id,
                t.retainer_schedules.c.id == schedule_id,
            )
        ).first()
        if row is None:
            raise not_found("retainer schedule", schedule_id)
        return self._schedule(row)

    def schedules(
        self, organization_id: str, engagement_id: str | None = None, *, active_only: bool = True
    ) -> list[RetainerSchedule]:
        c = t.retainer_schedules.c
        query = select(t.retainer_schedules).where(c.organization_id == organization_id)
        if engagement_id is not None:
            query = query.where(c.engagement_id == engagement_id)
        if active_only:
            query = query.where(c.active.is_(True))
        return [self._schedule(r) for r in self.conn.execute(query.order_by(c.created_at, c.id))]

    def set_schedule_active(self, organization_id: str, schedule_id: str, active: bool) -> None:
        c = t.retainer_schedules.c
        result = self.conn.execute(
            update(t.retainer_schedules)
            .where(c.organization_id == organization_id, c.id == schedule_id)
            .values(active=active)
        )
        if result.rowcount != 1:
            raise not_found("retainer schedule", schedule_id)

    # advances -----------------------------------------------------------------------------
    def add_advance(self, advance: Advance) -> None:
        a = advance
        self.conn.execute(
            insert(t.advances).values(
                id=a.id,
                organization_id=a.organization_id,
                engagement_id=a.engagement_id,
                amount_minor=a.amount.to_minor(),
                currency=a.amount.currency,
                invoice_date=a.invoice_date,
                description=a.description,
                vat_category=a.vat_category.value,
                vat_rate=a.vat_rate,
                invoice_id=a.invoice_id,
                created_at=a.created_at,
            )
        )

    @staticmethod
    def _advance(row: Any) -> Advance:
        return Advance(
            id=row.id,
            organization_id=row.organization_id,
            engagement_id=row.engagement_id,
            amount=Money.from_minor(row.amount_minor, row.currency),
            invoice_date=row.invoice_date,
            description=row.description,
            created_at=row.created_at,
            vat_category=VatCategory(row.vat_category),
            vat_rate=Decimal(row.vat_rate),
            invoice_id=row.invoice_id,
        )

    def get_advance(self, organization_id: str, advance_id: str) -> Advance:
        row = self.conn.execute(
            select(t.advances).where(
                t.advances.c.organization_id == organization_id, t.advances.c.id == advance_id
            )
        ).first()
        if row is None:
            raise not_found("advance", advance_id)
        return self._advance(row)

    def advances(
        self,
        organization_id: str,
        engagement_id: str | None = None,
        *,
        uninvoiced_only: bool = False,
    ) -> list[Advance]:
        c = t.advances.c
        query = select(t.advances).where(c.organization_id == organization_id)
        if engagement_id is not None:
            query = query.where(c.engagement_id == engagement_id)
        if uninvoiced_only:
            query = query.where(c.invoice_id.is_(None))
        return [self._advance(r) for r in self.conn.execute(query.order_by(c.invoice_date, c.id))]

    def mark_advance_invoiced(self, organization_id: str, advance_id: str, invoice_id: str) -> None:
        c = t.advances.c
        result = self.conn.execute(
            update(t.advances)
            .where(c.organization_id == organization_id, c.id == advance_id, c.invoice_id.is_(None))
            .values(invoice_id=invoice_id)
        )
        if result.rowcount != 1:
            raise Conflict(
                "this advance has already been invoiced",
                code="advance.already_invoiced",
                details={"id": advance_id},
            )

    def engagements_with_advances(self, organization_id: str) -> set[str]:
        i = t.invoices
        rows = self.conn.execute(
            select(i.c.engagement_id)
            .distinct()
            .where(
                i.c.organization_id == organization_id,
                i.c.kind == InvoiceKind.ADVANCE.value,
                i.c.state != InvoiceState.DRAFT.value,
            )
        )
        return {str(r[0]) for r in rows}
