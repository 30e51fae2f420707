"""Who is calling an MCP tool: the organization it acts for, and whether it may write.

Every tool asks a ``CallerResolver`` at each call, so the tools never know the transport:

* over stdio the server runs on the operator's own machine, like the CLI: it acts for the
  organization named by ``--org`` (or the only one) with full rights, or, when an API key is
  given (``ENGAGEBILL_API_KEY``), for that key's organization with that key's scope. The key
  is checked again at every call, so revoking it takes effect at once;
* over streamable HTTP every request carries ``Authorization: Bearer ebk_...``, exactly as
  the REST API: ``BearerKeyGuard`` authenticates it before the MCP transport sees the
  request (no key, 401) and leaves the key in the request's state, where the resolver finds
  it through the SDK's request context. One key, one organization; a read-only key may call
  the read tools only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from mcp.server.mcpserver import Context as CallContext
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from engagebill.domain.access import ApiKey
from engagebill.domain.errors import DomainError, ValidationError
from engagebill.entrypoints.api.problems import domain_problem
from engagebill.services.access import Unauthorized, authenticate
from engagebill.services.parties import resolve_organization
from engagebill.services.ports import Context

STATE_KEY = "api_key"  # where the guard leaves the key: the REST API's name for it too


@dataclass(frozen=True, slots=True)
class Caller:
    """The organization a call acts for, and the API key it came with (None: the operator of
    a local stdio server, who has the CLI's rights)."""

    organization_id: str
    api_key: ApiKey | None = None

    def require_write(self) -> None:
        """Refuse a write to a read-only key (``api_key.read_only``)."""
        if self.api_key is not None:
            self.api_key.require_write()


CallerResolver = Callable[[CallContext], Caller]


# --- stdio -----------------------------------------------------------------------------------
def local_operator(ctx: Context, organization_id: str | None) -> CallerResolver:
    """The operator of a local server: the organization named, or the only one."""
    with ctx.uow() as uow:
        caller = Caller(resolve_organization(uow, organization_id).id)
    return lambda _call: caller


def key_holder(
    ctx: Context, presented: str, *, organization_id: str | None = None
) -> CallerResolver:
    """The holder of an API key, authenticated now (so a bad key fails at start) and again
    at every call (so a revoked key stops working mid-session)."""
    key = authenticate(ctx, presented.strip())
    if organization_id and organization_id != key.organization_id:
        raise ValidationError(
            "the API key belongs to another organization than --org names",
            code="auth.organization_mismatch",
        )

    def resolve(_call: CallContext) -> Caller:
        current = authenticate(ctx, presented.strip())
        return Caller(current.organization_id, current)

    return resolve


def stdio_caller(
    ctx: Context, *, organization_id: str | None, api_key: str | None
) -> CallerResolver:
    """A key when one is given, otherwise the local operator."""
    if api_key and api_key.strip():
        return key_holder(ctx, api_key, organization_id=organization_id)
    return local_operator(ctx, organization_id)


# --- streamable HTTP -------------------------------------------------------------------------
def bearer_caller(call: CallContext) -> Caller:
    """The key ``BearerKeyGuard`` authenticated for the HTTP request carrying this call."""
    request = call.request_context.request
    state: Any = request.scope.get("state", {}) if isinstance(request, Request) else {}
    key = state.get(STATE_KEY) if isinstance(state, dict) else None
    if not isinstance(key, ApiKey):
        # Only reachable if the server were served without the guard: refuse, never guess.
        raise Unauthorized("a valid API key is required", code="auth.missing_key")
    return Caller(key.organization_id, key)


def _bearer(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return ""


class BearerKeyGuard:
    """ASGI middleware in front of the MCP transport: no valid key, no MCP.

    Refusals are the REST API's problem+json 401, with ``WWW-Authenticate: Bearer``.
    """

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = _bearer(scope)
        try:
            if not presented:
                raise Unauthorized(
                    "send the API key as 'Authorization: Bearer <key>'", code="auth.missing_key"
                )
            # A database read: off the event loop, like any other blocking call.
            key = await anyio.to_thread.run_sync(authenticate, self.ctx, presented)
        except DomainError as refusal:
            await domain_problem(refusal)(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = key
        await self.app(scope, receive, send)
