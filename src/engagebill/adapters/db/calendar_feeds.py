"""Repository for the agency users' private calendar feed tokens (hashes only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from engagebill.adapters.db import tables as t


class SqlCalendarFeeds:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def replace(self, user_id: str, token_sha256: str, at: datetime) -> None:
        # Delete then insert in the caller's transaction: the old URL dies with the new one.
        self.conn.execute(delete(t.calendar_feeds).where(t.calendar_feeds.c.user_id == user_id))
        self.conn.execute(
            insert(t.calendar_feeds).values(
                user_id=user_id, token_sha256=token_sha256, created_at=at
            )
        )

    def user_for(self, token_sha256: str) -> str | None:
        row = self.conn.execute(
            select(t.calendar_feeds.c.user_id).where(
                t.calendar_feeds.c.token_sha256 == token_sha256
            )
        ).first()
        return None if row is None else str(row.user_id)

    def created_at(self, user_id: str) -> datetime | None:
        row = self.conn.execute(
            select(t.calendar_feeds.c.created_at).where(t.calendar_feeds.c.user_id == user_id)
        ).first()
        return None if row is None else row.created_at
