"""Repositories for API keys, idempotency keys and private links.

The statements of the lookups every request makes (an API key, a link by its token) are built
once, with bound parameters: building a statement and its cache key anew costs SQLAlchemy
more than SQLite takes to answer it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.parties import not_found
from engagebill.domain.access import ApiKey, DocumentType, PrivateLink, Scope
from engagebill.services.ports import StoredResponse

_API_KEY = select(t.api_keys).where(t.api_keys.c.id == bindparam("key_id"))

_views = t.link_views.c
# A link with its view count and last view. Correlated subqueries read only that link's views
# through ix_link_views_link; a join on a grouped subquery would aggregate the whole table.
_LINKS = select(
    t.document_links,
    select(func.count())
    .where(_views.link_id == t.document_links.c.id)
    .scalar_subquery()
    .label("views"),
    select(func.max(_views.viewed_at))
    .where(_views.link_id == t.document_links.c.id)
    .scalar_subquery()
    .label("last_viewed_at"),
)
_LINK_BY_TOKEN = _LINKS.where(t.document_links.c.token_hash == bindparam("digest"))
_ADD_LINK = insert(t.document_links)
_ADD_VIEW = insert(t.link_views)


class SqlApiKeys:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, key: ApiKey) -> None:
        self.conn.execute(
            insert(t.api_keys).values(
                id=key.id,
                organization_id=key.organization_id,
                name=key.name,
                scope=key.scope.value,
                secret_hash=key.secret_hash,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
            )
        )

    @staticmethod
    def _from(row: Any) -> ApiKey:
        return ApiKey(
            id=row.id,
            organization_id=row.organization_id,
            name=row.name,
            scope=Scope(row.scope),
            secret_hash=row.secret_hash,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
        )

    def get(self, key_id: str) -> ApiKey | None:
        row = self.conn.execute(_API_KEY, {"key_id": key_id}).first()
        return None if row is None else self._from(row)

    def list(self, organization_id: str) -> list[ApiKey]:
        rows = self.conn.execute(
            select(t.api_keys)
            .where(t.api_keys.c.organization_id == organization_id)
            .order_by(t.api_keys.c.created_at)
        )
        return [self._from(r) for r in rows]

    def revoke(self, organization_id: str, key_id: str, at: datetime) -> None:
        result = self.conn.execute(
            update(t.api_keys)
            .where(
                t.api_keys.c.organization_id == organization_id,
                t.api_keys.c.id == key_id,
                t.api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        if result.rowcount != 1:
            raise not_found("api key", key_id)


class SqlIdempotency:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(
        self, organization_id: str, key: str, request_hash: str, at: datetime
    ) -> StoredResponse | None:
        """Claim the key for this request; return what is stored if someone claimed it first."""
        try:
            with self.conn.begin_nested():
                self.conn.execute(
                    insert(t.idempotency_keys).values(
                        organization_id=organization_id,
                        key=key,
                        request_hash=request_hash,
                        created_at=at,
                    )
                )
            return None
        except IntegrityError:
            row = self.conn.execute(
                select(t.idempotency_keys).where(
                    t.idempotency_keys.c.organization_id == organization_id,
                    t.idempotency_keys.c.key == key,
                )
            ).one()
            return StoredResponse(
                row.request_hash, row.status_code, row.content_type, row.body, row.created_at
            )

    def complete(
        self, organization_id: str, key: str, status_code: int, content_type: str, body: str
    ) -> None:
        self.conn.execute(
            update(t.idempotency_keys)
            .where(
                t.idempotency_keys.c.organization_id == organization_id,
                t.idempotency_keys.c.key == key,
            )
            .values(status_code=status_code, content_type=content_type, body=body)
        )

    def release(self, organization_id: str, key: str) -> None:
        self.conn.execute(
            delete(t.idempotency_keys).where(
                t.idempotency_keys.c.organization_id == organization_id,
                t.idempotency_keys.c.key == key,
                t.idempotency_keys.c.status_code.is_(None),
            )
        )

    def purge(self, older_than: datetime) -> int:
        result = self.conn.execute(
            delete(t.idempotency_keys).where(t.idempotency_keys.c.created_at < older_than)
        )
        return int(result.rowcount)


class SqlLinks:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, link: PrivateLink) -> None:
        self.conn.execute(
            _ADD_LINK,
            {
                "id": link.id,
                "organization_id": link.organization_id,
                "document_type": link.document_type.value,
                "document_id": link.document_id,
                "recipient_name": link.recipient_name,
                "recipient_email": link.recipient_email,
                "token_hash": link.token_hash,
                "created_at": link.created_at,
                "expires_at": link.expires_at,
                "revoked_at": link.revoked_at,
            },
        )

    def _select(self) -> Any:
        return _LINKS

    @staticmethod
    def _from(row: Any) -> PrivateLink:
        return PrivateLink(
            id=row.id,
            organization_id=row.organization_id,
            document_type=DocumentType(row.document_type),
            document_id=row.document_id,
            recipient_name=row.recipient_name,
            recipient_email=row.recipient_email,
            token_hash=row.token_hash,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            views=int(row.views or 0),
            last_viewed_at=row.last_viewed_at,
        )

    def by_token_hash(self, digest: str) -> PrivateLink | None:
        row = self.conn.execute(_LINK_BY_TOKEN, {"digest": digest}).first()
        return None if row is None else self._from(row)

    def get(self, organization_id: str, link_id: str) -> PrivateLink:
        row = self.conn.execute(
            self._select().where(
                t.document_links.c.organization_id == organization_id,
                t.document_links.c.id == link_id,
            )
        ).first()
        if row is None:
            raise not_found("link", link_id)
        return self._from(row)

    def for_document(self, organization_id: str, document_id: str) -> list[PrivateLink]:
        rows = self.conn.execute(
            self._select()
            .where(
                t.document_links.c.organization_id == organization_id,
                t.document_links.c.document_id == document_id,
            )
            .order_by(t.document_links.c.created_at)
        )
        return [self._from(r) for r in rows]

    def revoke(self, organization_id: str, link_id: str, at: datetime) -> None:
        self.conn.execute(
            update(t.document_links)
            .where(
                t.document_links.c.organization_id == organization_id,
                t.document_links.c.id == link_id,
                t.document_links.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )

    def record_view(self, link: PrivateLink, at: datetime) -> None:
        self.conn.execute(
            _ADD_VIEW,
            {"organization_id": link.organization_id, "link_id": link.id, "viewed_at": at},
        )

    def views(self, organization_id: str, link_id: str) -> list[datetime]:
        rows = self.conn.execute(
            select(t.link_views.c.viewed_at)
            .where(
                t.link_views.c.organization_id == organization_id, t.link_views.c.link_id == link_id
            )
            .order_by(t.link_views.c.viewed_at)
        )
        return [r[0] for r in rows]
