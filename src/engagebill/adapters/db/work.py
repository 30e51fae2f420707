"""Repository for work items."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import JSONB

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.parties import not_found
from engagebill.domain.errors import ConcurrencyConflict
from engagebill.domain.money import Money
from engagebill.domain.work import WorkItem, WorkState

_STATES = {state.value: state for state in WorkState}  # a dict beats Enum() per row


class SqlWorkItems:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, items: Sequence[WorkItem]) -> None:
        if not items:
            return
        self.conn.execute(
            insert(t.work_items),
            [
                {
                    "id": w.id,
                    "organization_id": w.organization_id,
                    "engagement_id": w.engagement_id,
                    "work_date": w.work_date,
                    "person": w.person,
                    "hours": w.hours,
                    "rate_minor": w.rate.to_minor(),
                    "currency": w.rate.currency,
                    "description": w.description,
                    "requester": w.requester,
                    "approval_ref": w.approval_ref,
                    "state": w.state.value,
                    "override_reason": w.override_reason,
                    "quote_id": w.quote_id,
                    "invoice_id": w.invoice_id,
                    "created_at": w.created_at,
                }
                for w in items
            ],
        )

    @staticmethod
    def _item(row: Any) -> WorkItem:
        # Unpacked by position, in the table's column order (``select(t.work_items)``): a
        # month end reads tens of thousands of items, and looking each column up by name cost
        # more than building the item.
        (
            item_id,
            organization_id,
            engagement_id,
            work_date,
            person,
            hours,
            rate_minor,
            currency,
            description,
            requester,
            approval_ref,
            state,
            override_reason,
            quote_id,
            invoice_id,
            created_at,
        ) = row
        return WorkItem(
            id=item_id,
            organization_id=organization_id,
            engagement_id=engagement_id,
            work_date=work_date,
            person=person,
            hours=hours,
            rate=Money.from_minor(rate_minor, currency),
            description=description,
            requester=requester,
            approval_ref=approval_ref,
            state=_STATES[state],
            created_at=created_at,
            override_reason=override_reason,
            quote_id=quote_id,
            invoice_id=invoice_id,
        )

    def get(self, organization_id: str, work_item_id: str, *, for_update: bool = False) -> WorkItem:
        query = select(t.work_items).where(
            t.work_items.c.organization_id == organization_id, t.work_items.c.id == work_item_id
        )
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            raise not_found("work item", work_item_id)
        return self._item(row)

    def save(self, item: WorkItem) -> None:
        c = t.work_items.c
        self.conn.execute(
            update(t.work_items)
            .where(c.id == item.id, c.organization_id == item.organization_id)
            .values(
                approval_ref=item.approval_ref,
                state=item.state.value,
                override_reason=item.override_reason,
                quote_id=item.quote_id,
                invoice_id=item.invoice_id,
            )
        )

    def list(
        self,
        organization_id: str,
        engagement_id: str | None = None,
        states: Sequence[WorkState] = (),
        *,
        quote_id: str | None = None,
        limit: int | None = None,
    ) -> list[WorkItem]:
        c = t.work_items.c
        query = select(t.work_items).where(c.organization_id == organization_id)
        if engagement_id is not None:
            query = query.where(c.engagement_id == engagement_id)
        if states:
            query = query.where(c.state.in_([s.value for s in states]))
        if quote_id is not None:
            query = query.where(c.quote_id == quote_id)
        query = query.order_by(c.engagement_id, c.work_date, c.created_at, c.id)
        if limit is not None:
            query = query.limit(limit)
        return [self._item(r) for r in self.conn.execute(query)]

    def unapproved_counts(self, organization_id: str) -> dict[str, int]:
        c = t.work_items.c
        rows = self.conn.execute(
            select(c.engagement_id, func.count())
            .where(c.organization_id == organization_id, c.state == WorkState.UNAPPROVED.value)
            .group_by(c.engagement_id)
        )
        return {str(engagement): int(count) for engagement, count in rows}

    def mark_billed_many(self, organization_id: str, invoice_by_item: dict[str, str]) -> None:
        """Move approved items to billed on their invoices, in one statement for a whole
        batch of a run, and ``ConcurrencyConflict`` if any item is no longer approved.

        The item-to-invoice pairs travel as one JSON object that the database unpacks
        (``json_each`` / ``jsonb_each_text``): thousands of single-row updates cost the run
        more in statement overhead than the updates themselves.
        """
        if not invoice_by_item:
            return
        if self.conn.dialect.name == "postgresql":
            document = bindparam("pairs", invoice_by_item, type_=JSONB)
            pairs = func.jsonb_each_text(document).table_valued("key", "value")
        else:
            pairs = func.json_each(json.dumps(invoice_by_item)).table_valued("key", "value")
        c = t.work_items.c
        result = self.conn.execute(
            update(t.work_items)
            .where(
                c.id == pairs.c.key,
                c.organization_id == organization_id,
                c.state == WorkState.APPROVED.value,
            )
            .values(state=WorkState.BILLED.value, invoice_id=pairs.c.value)
        )
        if result.rowcount != len(invoice_by_item):
            raise ConcurrencyConflict(
                "some of these work items were billed or changed meanwhile; plan again",
                code="work_item.concurrent_billing",
            )

    def mark_billed(
        self, organization_id: str, work_item_ids: Sequence[str], invoice_id: str
    ) -> None:
        self.mark_billed_many(organization_id, dict.fromkeys(work_item_ids, invoice_id))
