"""The number counters and the event chain, both taken inside the caller's transaction.

Their statements run in every sending transaction and every state change, so they are built
once, with bound parameters (building them anew cost more than running them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.bulk import insert_rows
from engagebill.adapters.db.parties import not_found
from engagebill.domain.events import GENESIS_HASH, DomainEvent, EventRecord, chain
from engagebill.domain.numbering import NumberFormat, SeriesKind

_series = t.number_series.c
_SERIES = select(t.number_series).where(
    _series.organization_id == bindparam("organization_id"), _series.kind == bindparam("kind")
)
_counter = t.number_counters.c
# Where-clause parameters of updates are prefixed: SQLAlchemy keeps column names for the SET.
_NEXT_NUMBER = (
    update(t.number_counters)
    .where(
        _counter.organization_id == bindparam("w_organization_id"),
        _counter.kind == bindparam("w_kind"),
        _counter.period == bindparam("w_period"),
    )
    .values(last_seq=_counter.last_seq + 1)
    .returning(_counter.last_seq)
)
_head = t.event_heads.c
_HEAD_FOR_UPDATE = (
    select(t.event_heads)
    .where(_head.organization_id == bindparam("organization_id"))
    .with_for_update()
)
_MOVE_HEAD = update(t.event_heads).where(_head.organization_id == bindparam("w_organization_id"))


class SqlNumberSeries:
    """Gapless numbers: ``UPDATE ... SET last_seq = last_seq + 1 RETURNING last_seq``.

    The row lock (PostgreSQL) or the write lock (SQLite, ``BEGIN IMMEDIATE``) serialises
    senders of one series; a rollback returns the number with everything else. The unique
    constraint on (organization, number) is the backstop, never ``MAX(number) + 1``.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _format(self, organization_id: str, kind: SeriesKind) -> NumberFormat:
        row = self.conn.execute(
            _SERIES, {"organization_id": organization_id, "kind": kind.value}
        ).first()
        if row is None:
            raise not_found("number series", f"{organization_id}/{kind.value}")
        return NumberFormat(row.pattern, row.prefix)

    def preview(
        self, organization_id: str, kind: SeriesKind, issue_dates: Sequence[date]
    ) -> list[str]:
        fmt = self._format(organization_id, kind)
        c = t.number_counters.c
        last = {
            str(r.period): int(r.last_seq)
            for r in self.conn.execute(
                select(c.period, c.last_seq).where(
                    c.organization_id == organization_id, c.kind == kind.value
                )
            )
        }
        numbers = []
        for day in issue_dates:
            period = fmt.period(day)
            last[period] = last.get(period, 0) + 1
            numbers.append(fmt.render(last[period], day))
        return numbers

    def take(self, organization_id: str, kind: SeriesKind, issue_date: date) -> str:
        fmt = self._format(organization_id, kind)
        period = fmt.period(issue_date)
        key = {"w_organization_id": organization_id, "w_kind": kind.value, "w_period": period}
        # The period's counter exists but for its first number: count on it, and create it
        # only when the update found nothing.
        seq = self.conn.execute(_NEXT_NUMBER, key).scalar_one_or_none()
        if seq is None:
            self._create_counter(
                {"organization_id": organization_id, "kind": kind.value, "period": period}
            )
            seq = self.conn.execute(_NEXT_NUMBER, key).scalar_one()
        return fmt.render(int(seq), issue_date)

    def _create_counter(self, key: dict[str, Any]) -> None:
        # ON CONFLICT DO NOTHING: a concurrent sender may create it first; the update that
        # follows then waits for that sender's row lock (PostgreSQL) and counts on.
        values = {**key, "last_seq": 0}
        dialect = self.conn.dialect.name
        if dialect == "postgresql":
            self.conn.execute(
                postgresql.insert(t.number_counters).values(values).on_conflict_do_nothing()
            )
        elif dialect == "sqlite":
            self.conn.execute(
                sqlite.insert(t.number_counters).values(values).on_conflict_do_nothing()
            )
        else:  # pragma: no cover - only the two supported databases
            raise RuntimeError(f"unsupported database {dialect}")


class SqlEventLog:
    """Appends hash-chained events; the head row per organization is locked while appending.

    The first append of a transaction reads the head under its lock; the transaction then
    holds that lock until it ends, so later appends continue from the head it wrote itself.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._heads: dict[str, tuple[int, str]] = {}  # heads this transaction has moved

    def head(self, organization_id: str) -> tuple[int, str]:
        """The chain head; an empty chain's if the row is missing, so that verification of a
        chain whose head was deleted reports the break instead of failing."""
        row = self.conn.execute(
            select(t.event_heads).where(t.event_heads.c.organization_id == organization_id)
        ).first()
        if row is None:
            return 0, GENESIS_HASH
        return int(row.last_seq), str(row.last_hash)

    def append(self, organization_id: str, events: Sequence[DomainEvent]) -> list[EventRecord]:
        if not events:
            return []
        head = self._heads.get(organization_id)
        if head is None:
            row = self.conn.execute(_HEAD_FOR_UPDATE, {"organization_id": organization_id}).first()
            if row is None:
                raise not_found("organization", organization_id)
            head = int(row.last_seq), str(row.last_hash)
        records = chain(organization_id, events, last_seq=head[0], last_hash=head[1])
        insert_rows(
            self.conn,
            t.events,
            [
                {
                    "organization_id": r.organization_id,
                    "seq": r.seq,
                    "kind": r.kind,
                    "subject_type": r.subject_type,
                    "subject_id": r.subject_id,
                    "occurred_at": r.occurred_at,
                    "payload": r.payload,
                    "prev_hash": r.prev_hash,
                    "hash": r.hash,
                }
                for r in records
            ],
        )
        last = records[-1]
        self.conn.execute(
            _MOVE_HEAD,
            {"w_organization_id": organization_id, "last_seq": last.seq, "last_hash": last.hash},
        )
        self._heads[organization_id] = (last.seq, last.hash)
        return records

    @staticmethod
    def _record(row: Any) -> EventRecord:
        return EventRecord(
            organization_id=row.organization_id,
            seq=int(row.seq),
            kind=row.kind,
            subject_type=row.subject_type,
            subject_id=row.subject_id,
            occurred_at=row.occurred_at,
            payload=row.payload,
            prev_hash=row.prev_hash,
            hash=row.hash,
        )

    def records(self, organization_id: str) -> Iterator[EventRecord]:
        # Paged on the statement: Connection.execution_options would page every later
        # statement of the transaction too (server-side cursors on PostgreSQL, refused for
        # an INSERT).
        result = self.conn.execute(
            select(t.events)
            .where(t.events.c.organization_id == organization_id)
            .order_by(t.events.c.seq)
            .execution_options(yield_per=2000)
        )
        for row in result:
            yield self._record(row)

    def after(self, organization_id: str, seq: int, limit: int) -> list[EventRecord]:
        rows = self.conn.execute(
            select(t.events)
            .where(t.events.c.organization_id == organization_id, t.events.c.seq > seq)
            .order_by(t.events.c.seq)
            .limit(limit)
        )
        return [self._record(r) for r in rows]

    def for_subject(self, organization_id: str, subject_id: str) -> list[EventRecord]:
        rows = self.conn.execute(
            select(t.events)
            .where(
                t.events.c.organization_id == organization_id, t.events.c.subject_id == subject_id
            )
            .order_by(t.events.c.seq)
        )
        return [self._record(r) for r in rows]

    def page(
        self,
        organization_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        subject_id: str | None = None,
    ) -> list[EventRecord]:
        query = select(t.events).where(
            t.events.c.organization_id == organization_id, t.events.c.seq > after_seq
        )
        if subject_id is not None:
            query = query.where(t.events.c.subject_id == subject_id)
        rows = self.conn.execute(query.order_by(t.events.c.seq).limit(limit))
        return [self._record(r) for r in rows]

    def last_occurrences(
        self, organization_id: str, kinds: Sequence[str]
    ) -> dict[tuple[str, str], datetime]:
        if not kinds:
            return {}
        e = t.events.c
        rows = self.conn.execute(
            select(e.subject_id, e.kind, func.max(e.occurred_at))
            .where(e.organization_id == organization_id, e.kind.in_(list(kinds)))
            .group_by(e.subject_id, e.kind)
        )
        # occurred_at is one fixed-width UTC ISO 8601 text form, so MAX on text is the latest.
        return {(str(s), str(k)): datetime.fromisoformat(str(at)) for s, k, at in rows}
