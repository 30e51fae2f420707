"""Repository for quotes (with versions and items) and the milestones of accepted quotes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.parties import not_found
from engagebill.domain.errors import ConcurrencyConflict
from engagebill.domain.money import Money
from engagebill.domain.quotes import (
    Milestone,
    MilestoneState,
    Quote,
    QuoteItem,
    QuoteState,
    QuoteVersion,
)


class SqlQuotes:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # quotes -------------------------------------------------------------------------------
    def add(self, quote: Quote) -> None:
        self.conn.execute(
            insert(t.quotes).values(
                id=quote.id,
                organization_id=quote.organization_id,
                engagement_id=quote.engagement_id,
                client_id=quote.client_id,
                currency=quote.currency,
                created_at=quote.created_at,
                row_version=0,
                **self._header(quote),
            )
        )
        self._insert_versions(quote, start=0)

    @staticmethod
    def _header(quote: Quote) -> dict[str, Any]:
        return {
            "state": quote.state.value,
            "number": quote.number,
            "current_version": quote.current.version,
            "accepted_version": quote.accepted_version,
            "accepted_by": quote.accepted_by,
            "accepted_at": quote.accepted_at,
            "accepted_hash": quote.accepted_hash,
            "declined_reason": quote.declined_reason,
        }

    def _insert_versions(self, quote: Quote, *, start: int) -> None:
        for version in quote.versions[start:]:
            self.conn.execute(
                insert(t.quote_versions).values(
                    quote_id=quote.id,
                    version=version.version,
                    organization_id=quote.organization_id,
                    title=version.title,
                    total_minor=version.total.to_minor(),
                    content_hash=version.content_hash,
                    created_at=version.created_at,
                )
            )
            self.conn.execute(
                insert(t.quote_items),
                [
                    {
                        "quote_id": quote.id,
                        "version": version.version,
                        "position": n,
                        "organization_id": quote.organization_id,
                        "name": item.name,
                        "description": item.description,
                        "amount_minor": item.amount.to_minor(),
                    }
                    for n, item in enumerate(version.items, start=1)
                ],
            )

    def save(self, quote: Quote) -> None:
        c = t.quotes.c
        result = self.conn.execute(
            update(t.quotes)
            .where(
                c.id == quote.id,
                c.organization_id == quote.organization_id,
                c.row_version == quote.row_version,
            )
            .values(row_version=quote.row_version + 1, **self._header(quote))
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(
                f"quote {quote.number or quote.id} was changed by "
                "someone else; reload it and try again",
                code="quote.concurrent_change",
            )
        quote.row_version += 1
        stored = {
            r.version: r.content_hash
            for r in self.conn.execute(
                select(t.quote_versions.c.version, t.quote_versions.c.content_hash).where(
                    t.quote_versions.c.quote_id == quote.id
                )
            )
        }
        for version in quote.versions:
            # A version's hash is set once, when the quote is first sent.
            if version.version in stored and not stored[version.version] and version.content_hash:
                self.conn.execute(
                    update(t.quote_versions)
                    .where(
                        t.quote_versions.c.quote_id == quote.id,
                        t.quote_versions.c.version == version.version,
                    )
                    .values(content_hash=version.content_hash)
                )
        self._insert_versions(quote, start=len(stored))

    def get(self, organization_id: str, quote_id: str, *, for_update: bool = False) -> Quote:
        query = select(t.quotes).where(
            t.quotes.c.organization_id == organization_id, t.quotes.c.id == quote_id
        )
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            raise not_found("quote", quote_id)
        return self._load([row])[0]

    def list_quotes(self, organization_id: str, engagement_id: str | None = None) -> list[Quote]:
        query = select(t.quotes).where(t.quotes.c.organization_id == organization_id)
        if engagement_id is not None:
            query = query.where(t.quotes.c.engagement_id == engagement_id)
        rows = self.conn.execute(query.order_by(t.quotes.c.created_at, t.quotes.c.id)).all()
        return self._load(rows)

    def _load(self, rows: Sequence[Any]) -> list[Quote]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        currency = {r.id: r.currency for r in rows}
        items: dict[tuple[str, int], list[QuoteItem]] = {}
        for item in self.conn.execute(
            select(t.quote_items)
            .where(t.quote_items.c.quote_id.in_(ids))
            .order_by(t.quote_items.c.quote_id, t.quote_items.c.version, t.quote_items.c.position)
        ):
            items.setdefault((item.quote_id, item.version), []).append(
                QuoteItem(
                    item.name,
                    item.description,
                    Money.from_minor(item.amount_minor, currency[item.quote_id]),
                )
            )
        versions: dict[str, list[QuoteVersion]] = {}
        for v in self.conn.execute(
            select(t.quote_versions)
            .where(t.quote_versions.c.quote_id.in_(ids))
            .order_by(t.quote_versions.c.quote_id, t.quote_versions.c.version)
        ):
            versions.setdefault(v.quote_id, []).append(
                QuoteVersion(
                    version=v.version,
                    title=v.title,
                    items=items[(v.quote_id, v.version)],
                    total=Money.from_minor(v.total_minor, currency[v.quote_id]),
                    created_at=v.created_at,
                    content_hash=v.content_hash,
                )
            )
        return [
            Quote(
                id=r.id,
                organization_id=r.organization_id,
                engagement_id=r.engagement_id,
                client_id=r.client_id,
                currency=r.currency,
                state=QuoteState(r.state),
                versions=versions[r.id],
                created_at=r.created_at,
                number=r.number,
                accepted_version=r.accepted_version,
                accepted_by=r.accepted_by,
                accepted_at=r.accepted_at,
                accepted_hash=r.accepted_hash,
                declined_reason=r.declined_reason,
                row_version=r.row_version,
            )
            for r in rows
        ]

    # milestones ---------------------------------------------------------------------------
    def add_milestones(self, milestones: Sequence[Milestone]) -> None:
        if not milestones:
            return
        self.conn.execute(
            insert(t.milestones),
            [
                {
                    "id": m.id,
                    "organization_id": m.organization_id,
                    "engagement_id": m.engagement_id,
                    "quote_id": m.quote_id,
                    "quote_number": m.quote_number,
                    "position": m.position,
                    "name": m.name,
                    "description": m.description,
                    "amount_minor": m.amount.to_minor(),
                    "currency": m.amount.currency,
                    "state": m.state.value,
                    "signed_off_by": m.signed_off_by,
                    "signed_off_at": m.signed_off_at,
                    "invoice_id": m.invoice_id,
                    "created_at": m.created_at,
                }
                for m in milestones
            ],
        )

    @staticmethod
    def _milestone(row: Any) -> Milestone:
        return Milestone(
            id=row.id,
            organization_id=row.organization_id,
            engagement_id=row.engagement_id,
            quote_id=row.quote_id,
            quote_number=row.quote_number,
            position=row.position,
            name=row.name,
            description=row.description,
            amount=Money.from_minor(row.amount_minor, row.currency),
            state=MilestoneState(row.state),
            created_at=row.created_at,
            signed_off_by=row.signed_off_by,
            signed_off_at=row.signed_off_at,
            invoice_id=row.invoice_id,
        )

    def get_milestone(
        self, organization_id: str, milestone_id: str, *, for_update: bool = False
    ) -> Milestone:
        query = select(t.milestones).where(
            t.milestones.c.organization_id == organization_id, t.milestones.c.id == milestone_id
        )
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            raise not_found("milestone", milestone_id)
        return self._milestone(row)

    def save_milestone(self, milestone: Milestone) -> None:
        c = t.milestones.c
        self.conn.execute(
            update(t.milestones)
            .where(c.id == milestone.id, c.organization_id == milestone.organization_id)
            .values(
                state=milestone.state.value,
                signed_off_by=milestone.signed_off_by,
                signed_off_at=milestone.signed_off_at,
                invoice_id=milestone.invoice_id,
            )
        )

    def mark_milestones_invoiced(
        self, organization_id: str, invoice_by_milestone: dict[str, str]
    ) -> None:
        if not invoice_by_milestone:
            return
        c = t.milestones.c
        result = self.conn.execute(
            update(t.milestones)
            .where(
                c.organization_id == organization_id,
                c.id == bindparam("m_id"),
                c.state == MilestoneState.SIGNED_OFF.value,
            )
            .values(state=MilestoneState.INVOICED.value, invoice_id=bindparam("inv_id")),
            [{"m_id": m, "inv_id": i} for m, i in invoice_by_milestone.items()],
        )
        if result.rowcount != len(invoice_by_milestone):
            raise ConcurrencyConflict(
                "a milestone was invoiced meanwhile; plan again",
                code="milestone.concurrent_billing",
            )

    def milestones(
        self,
        organization_id: str,
        engagement_id: str | None = None,
        states: Sequence[MilestoneState] = (),
    ) -> list[Milestone]:
        c = t.milestones.c
        query = select(t.milestones).where(c.organization_id == organization_id)
        if engagement_id is not None:
            query = query.where(c.engagement_id == engagement_id)
        if states:
            query = query.where(c.state.in_([s.value for s in states]))
        rows = self.conn.execute(query.order_by(c.engagement_id, c.quote_id, c.position))
        return [self._milestone(r) for r in rows]
