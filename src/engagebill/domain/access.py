"""Access: organization API keys and recipients' private links.

An API key belongs to one organization and has a scope (``read`` or ``read_write``); only a
hash of its secret is stored. A private link is a capability: a 256-bit random token, of which
only the SHA-256 is stored, scoped to one document and one recipient, expiring and revocable.
Whoever holds the token may act as that recipient on that document, and nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from engagebill.domain.errors import Forbidden, ValidationError


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison, so a timing side channel reveals nothing of a stored hash."""
    return hmac.compare_digest(a.encode(), b.encode())


class Scope(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


def parse_scope(value: str) -> Scope:
    try:
        return Scope(value.strip().lower().replace("-", "_"))
    except ValueError:
        raise ValidationError(
            "scope must be read or read_write", code="api_key.invalid_scope"
        ) from None


@dataclass(slots=True)
class ApiKey:
    id: str
    organization_id: str
    name: str
    scope: Scope
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    def require_write(self) -> None:
        if self.scope is not Scope.READ_WRITE:
            raise Forbidden("this API key may only read", code="api_key.read_only")


class DocumentType(StrEnum):
    INVOICE = "invoice"
    QUOTE = "quote"
    MILESTONE = "milestone"


@dataclass(slots=True)
class PrivateLink:
    id: str
    organization_id: str
    document_type: DocumentType
    document_id: str
    recipient_name: str
    recipient_email: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    last_viewed_at: datetime | None = None
    views: int = 0

    def usable_at(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    @property
    def recipient(self) -> str:
        return self.recipient_name or self.recipient_email
