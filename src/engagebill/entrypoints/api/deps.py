"""Request dependencies: the application context, the caller's API key, and the refusal of
NUL characters that every request goes through.

Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency in its
thread pool, a hand-over per dependency and request for what takes microseconds. Checking the
key reads the database, so ``api_key`` stays a ``def``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from engagebill.domain.access import ApiKey
from engagebill.domain.errors import ValidationError
from engagebill.services.access import Unauthorized, authenticate
from engagebill.services.ports import Context


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


async def refuse_nul(request: Request) -> None:
    """Refuse a NUL character anywhere in the path, the query or a JSON body.

    No name, number or id ever holds one, and PostgreSQL can neither store nor compare text
    that does: without this, such input would reach the database and fail there, a 500.
    """
    query = [item for pair in request.query_params.multi_items() for item in pair]
    body: Any = None
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()  # parsed once already by FastAPI; this is its cache
        except ValueError:
            body = None  # FastAPI has answered malformed JSON with a 422 before we get here
    if _holds_nul([request.url.path, *query]) or _holds_nul(body):
        raise ValidationError(
            "text must not contain NUL characters", code="validation.nul_character"
        )


async def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized(
            "send the API key as 'Authorization: Bearer <key>'", code="auth.missing_key"
        )
    return value.strip()


def api_key(request: Request, ctx: Annotated[Context, Depends(get_ctx)]) -> ApiKey:
    cached = getattr(request.state, "api_key", None)
    if isinstance(cached, ApiKey):  # already checked by the idempotency layer
        return cached
    key = authenticate(ctx, presented_key(request))
    request.state.api_key = key
    return key


async def writer(key: Annotated[ApiKey, Depends(api_key)]) -> ApiKey:
    key.require_write()
    return key


Ctx = Annotated[Context, Depends(get_ctx)]
Reader = Annotated[ApiKey, Depends(api_key)]
Writer = Annotated[ApiKey, Depends(writer)]
