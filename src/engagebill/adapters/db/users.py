"""Repository for agency users and their server-side web sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from engagebill.adapters.db import tables as t
from engagebill.domain.errors import Conflict
from engagebill.domain.users import User, WebSession


class SqlUsers:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _user(row: Any) -> User:
        return User(
            id=row.id,
            organization_id=row.organization_id,
            email=row.email,
            name=row.name,
            password_hash=row.password_hash,
            created_at=row.created_at,
        )

    def add(self, user: User) -> None:
        try:
            # A savepoint: the unique email is the backstop of a concurrent create.
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(t.users).values(
                        id=user.id,
                        organization_id=user.organization_id,
                        email=user.email,
                        name=user.name,
                        password_hash=user.password_hash,
                        created_at=user.created_at,
                    )
                )
        except IntegrityError:
            raise Conflict(
                f"a user with the email address {user.email} exists already",
                code="user.email_taken",
            ) from None

    def get(self, user_id: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.id == user_id)).first()
        return None if row is None else self._user(row)

    def by_email(self, email: str) -> User | None:
        row = self.conn.execute(select(t.users).where(t.users.c.email == email)).first()
        return None if row is None else self._user(row)

    def list(self, organization_id: str) -> list[User]:
        rows = self.conn.execute(
            select(t.users)
            .where(t.users.c.organization_id == organization_id)
            .order_by(t.users.c.email)
        )
        return [self._user(r) for r in rows]

    def set_password_hash(self, user_id: str, password_hash: str) -> None:
        self.conn.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    def add_session(self, session: WebSession) -> None:
        self.conn.execute(
            insert(t.web_sessions).values(
                id=session.id,
                user_id=session.user_id,
                created_at=session.created_at,
                expires_at=session.expires_at,
                revoked=session.revoked,
            )
        )

    def session(self, session_id: str) -> WebSession | None:
        row = self.conn.execute(
            select(t.web_sessions).where(t.web_sessions.c.id == session_id)
        ).first()
        if row is None:
            return None
        return WebSession(
            id=row.id,
            user_id=row.user_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked=bool(row.revoked),
        )

    def revoke_session(self, session_id: str) -> None:
        self.conn.execute(
            update(t.web_sessions).where(t.web_sessions.c.id == session_id).values(revoked=True)
        )
