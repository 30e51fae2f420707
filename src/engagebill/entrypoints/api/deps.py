"""Request dependencies: the application context, and the caller's API key."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from engagebill.domain.access import ApiKey
from engagebill.services.access import Unauthorized, authenticate
from engagebill.services.ports import Context


def get_ctx(request: Request) -> Context:
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


def writer(key: Annotated[ApiKey, Depends(api_key)]) -> ApiKey:
    key.require_write()
    return key


Ctx = Annotated[Context, Depends(get_ctx)]
Reader = Annotated[ApiKey, Depends(api_key)]
Writer = Annotated[ApiKey, Depends(writer)]
