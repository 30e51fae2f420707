"""Use cases for organization API keys: create (the secret is shown once), authenticate, revoke.

A key reads ``ebk_<id>.<secret>``; the id finds the row, the secret is compared by its
SHA-256 in constant time. Keys are random 256-bit values, so a fast hash is enough here.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from engagebill.domain.access import ApiKey, parse_scope, same_hash, token_hash
from engagebill.domain.errors import DomainError
from engagebill.domain.events import DomainEvent
from engagebill.domain.parties import require_text
from engagebill.services.ports import Context

PREFIX = "ebk_"


class Unauthorized(DomainError):
    default_code = "auth.invalid_key"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    key: ApiKey
    secret: str  # the full key, shown once


def create_api_key(
    ctx: Context, *, organization_id: str, name: str, scope: str = "read_write"
) -> IssuedKey:
    secret = secrets.token_urlsafe(32)
    now = ctx.clock.now()
    key = ApiKey(
        id=ctx.ids("key"),
        organization_id=organization_id,
        name=require_text(name, "key name", max_length=200),
        scope=parse_scope(scope),
        secret_hash=token_hash(secret),
        created_at=now,
    )
    with ctx.uow() as uow:
        uow.organizations.get(organization_id)
        uow.api_keys.add(key)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "api_key.created",
                    "api_key",
                    key.id,
                    now,
                    {"name": key.name, "scope": key.scope.value},
                )
            ],
        )
        uow.commit()
    return IssuedKey(key, f"{PREFIX}{key.id}.{secret}")


def authenticate(ctx: Context, presented: str) -> ApiKey:
    """The key for a presented secret, or ``Unauthorized`` (the same error for every failure,
    so a caller learns nothing about which part was wrong)."""
    refused = Unauthorized("a valid API key is required", code="auth.invalid_key")
    if not presented.startswith(PREFIX) or "." not in presented:
        raise refused
    key_id, _, secret = presented[len(PREFIX) :].partition(".")
    with ctx.read() as uow:
        key = uow.api_keys.get(key_id)
    if key is None or key.revoked_at is not None:
        raise refused
    if not same_hash(key.secret_hash, token_hash(secret)):
        raise refused
    return key


def revoke_api_key(ctx: Context, *, organization_id: str, key_id: str) -> None:
    with ctx.uow() as uow:
        uow.api_keys.revoke(organization_id, key_id, ctx.clock.now())
        uow.events.append(
            organization_id,
            [DomainEvent("api_key.revoked", "api_key", key_id, ctx.clock.now(), {})],
        )
        uow.commit()


def list_api_keys(ctx: Context, *, organization_id: str) -> list[ApiKey]:
    with ctx.read() as uow:
        return uow.api_keys.list(organization_id)
