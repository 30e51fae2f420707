"""Repository for the outbox, webhook endpoints, webhook cursors and delivery settings.

Claiming uses ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that several workers take disjoint
rows; on SQLite the writer lock (``BEGIN IMMEDIATE``) already serialises claims. A claim is a
lease (``claimed_until``): a worker that dies mid-delivery leaves the row to be claimed again
once the lease runs out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.parties import not_found
from engagebill.domain.delivery import (
    Channel,
    DeliverySettings,
    OutboxMessage,
    Status,
    WebhookEndpoint,
)

# Built once per dialect, as every sending enqueues. RETURNING tells which rows were new (an
# INSERT's rowcount is not reliable everywhere).
_ENQUEUE = {
    "postgresql": postgresql.insert(t.outbox)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(t.outbox.c.id),
    "sqlite": sqlite.insert(t.outbox)
    .on_conflict_do_nothing(index_elements=["dedupe_key"])
    .returning(t.outbox.c.id),
}
_SETTINGS = select(t.delivery_settings).where(
    t.delivery_settings.c.organization_id == bindparam("organization_id")
)


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _insert_ignoring_duplicates(self, rows: list[dict[str, Any]]) -> int:
        statement = _ENQUEUE[self.conn.dialect.name]
        count = 0
        for row in rows:
            count += self.conn.execute(statement, row).first() is not None
        return count

    def enqueue(self, messages: Sequence[OutboxMessage]) -> int:
        """Add messages; a dedupe key seen before is ignored. Returns how many were new."""
        return self._insert_ignoring_duplicates(
            [
                {
                    "id": m.id,
                    "organization_id": m.organization_id,
                    "channel": m.channel.value,
                    "dedupe_key": m.dedupe_key,
                    "payload": json.dumps(m.payload, sort_keys=True),
                    "status": m.status.value,
                    "attempts": m.attempts,
                    "next_attempt_at": m.next_attempt_at or m.created_at,
                    "last_error": "",
                    "created_at": m.created_at,
                    "delivered_at": m.delivered_at,
                }
                for m in messages
            ]
        )

    def claim_marker(self, organization_id: str, key: str, marker_id: str, at: datetime) -> bool:
        """Record that something happened once (a reminder for a rule and day); False if it
        had been recorded already, by this worker or another."""
        return (
            self.enqueue(
                [
                    OutboxMessage(
                        id=marker_id,
                        organization_id=organization_id,
                        channel=Channel.MARKER,
                        dedupe_key=key,
                        payload={},
                        created_at=at,
                        status=Status.DELIVERED,
                        delivered_at=at,
                    )
                ]
            )
            == 1
        )

    @staticmethod
    def _message(row: Any) -> OutboxMessage:
        return OutboxMessage(
            id=row.id,
            organization_id=row.organization_id,
            channel=Channel(row.channel),
            dedupe_key=row.dedupe_key,
            payload=json.loads(row.payload),
            created_at=row.created_at,
            status=Status(row.status),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            delivered_at=row.delivered_at,
        )

    def claim_due(self, now: datetime, *, limit: int, lease_until: datetime) -> list[OutboxMessage]:
        c = t.outbox.c
        due = (
            select(c.id)
            .where(
                c.status == Status.PENDING.value,
                c.next_attempt_at <= now,
                or_(c.claimed_until.is_(None), c.claimed_until < now),
            )
            .order_by(c.next_attempt_at, c.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(self.conn.execute(due).scalars())
        if not ids:
            return []
        self.conn.execute(update(t.outbox).where(c.id.in_(ids)).values(claimed_until=lease_until))
        rows = self.conn.execute(
            select(t.outbox).where(c.id.in_(ids)).order_by(c.next_attempt_at, c.id)
        )
        return [self._message(r) for r in rows]

    def mark_delivered(self, message_id: str, at: datetime, payload: dict[str, Any]) -> None:
        self.conn.execute(
            update(t.outbox)
            .where(t.outbox.c.id == message_id)
            .values(
                status=Status.DELIVERED.value,
                delivered_at=at,
                claimed_until=None,
                attempts=t.outbox.c.attempts + 1,
                payload=json.dumps(payload, sort_keys=True),
            )
        )

    def mark_failed(
        self, message_id: str, error: str, attempts: int, retry_at: datetime | None
    ) -> None:
        values: dict[str, Any] = {
            "attempts": attempts,
            "last_error": error[:2000],
            "claimed_until": None,
        }
        if retry_at is None:
            values["status"] = Status.DEAD.value
        else:
            values["next_attempt_at"] = retry_at
        self.conn.execute(update(t.outbox).where(t.outbox.c.id == message_id).values(values))

    def messages(
        self,
        organization_id: str,
        *,
        channel: Channel | None = None,
        status: Status | None = None,
        limit: int = 1000,
    ) -> list[OutboxMessage]:
        c = t.outbox.c
        query = select(t.outbox).where(
            c.organization_id == organization_id, c.channel != Channel.MARKER.value
        )
        if channel is not None:
            query = query.where(c.channel == channel.value)
        if status is not None:
            query = query.where(c.status == status.value)
        rows = self.conn.execute(query.order_by(c.created_at, c.id).limit(limit))
        return [self._message(r) for r in rows]

    # webhook endpoints and cursors ------------------------------------------------------------
    def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self.conn.execute(
            insert(t.webhook_endpoints).values(
                id=endpoint.id,
                organization_id=endpoint.organization_id,
                url=endpoint.url,
                secret=endpoint.secret,
                events=",".join(sorted(endpoint.events)),
                active=endpoint.active,
                created_at=endpoint.created_at,
            )
        )

    @staticmethod
    def _endpoint(row: Any) -> WebhookEndpoint:
        return WebhookEndpoint(
            id=row.id,
            organization_id=row.organization_id,
            url=row.url,
            secret=row.secret,
            events=frozenset(e for e in row.events.split(",") if e),
            created_at=row.created_at,
            active=bool(row.active),
        )

    def endpoints(self, organization_id: str, *, active_only: bool = True) -> list[WebhookEndpoint]:
        c = t.webhook_endpoints.c
        query = select(t.webhook_endpoints).where(c.organization_id == organization_id)
        if active_only:
            query = query.where(c.active.is_(True))
        return [self._endpoint(r) for r in self.conn.execute(query.order_by(c.created_at))]

    def get_endpoint(self, organization_id: str, endpoint_id: str) -> WebhookEndpoint:
        row = self.conn.execute(
            select(t.webhook_endpoints).where(
                t.webhook_endpoints.c.organization_id == organization_id,
                t.webhook_endpoints.c.id == endpoint_id,
            )
        ).first()
        if row is None:
            raise not_found("webhook endpoint", endpoint_id)
        return self._endpoint(row)

    def deactivate_endpoint(self, organization_id: str, endpoint_id: str) -> None:
        self.get_endpoint(organization_id, endpoint_id)
        self.conn.execute(
            update(t.webhook_endpoints)
            .where(t.webhook_endpoints.c.id == endpoint_id)
            .values(active=False)
        )

    def cursor(self, organization_id: str) -> int:
        """The last event already turned into webhook deliveries, locked for this turn."""
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        self.conn.execute(
            dialect.insert(t.webhook_cursors)
            .values(organization_id=organization_id, last_seq=0)
            .on_conflict_do_nothing()
        )
        query = (
            select(t.webhook_cursors.c.last_seq)
            .where(t.webhook_cursors.c.organization_id == organization_id)
            .with_for_update()
        )
        return int(self.conn.execute(query).scalar_one())

    def set_cursor(self, organization_id: str, last_seq: int) -> None:
        self.conn.execute(
            update(t.webhook_cursors)
            .where(
                and_(
                    t.webhook_cursors.c.organization_id == organization_id,
                    t.webhook_cursors.c.last_seq < last_seq,
                )
            )
            .values(last_seq=last_seq)
        )

    # settings ---------------------------------------------------------------------------------
    def settings(self, organization_id: str) -> DeliverySettings:
        row = self.conn.execute(_SETTINGS, {"organization_id": organization_id}).first()
        if row is None:
            return DeliverySettings()
        return DeliverySettings(
            attach_pdf=bool(row.attach_pdf),
            unopened_after_days=int(row.unopened_after_days),
            overdue_reminders=bool(row.overdue_reminders),
        )

    def save_settings(self, organization_id: str, settings: DeliverySettings) -> None:
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        values = {
            "attach_pdf": settings.attach_pdf,
            "unopened_after_days": settings.unopened_after_days,
            "overdue_reminders": settings.overdue_reminders,
        }
        self.conn.execute(
            dialect.insert(t.delivery_settings)
            .values(organization_id=organization_id, **values)
            .on_conflict_do_update(index_elements=["organization_id"], set_=values)
        )
