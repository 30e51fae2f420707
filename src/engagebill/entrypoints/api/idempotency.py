"""Idempotency-Key on every POST (Stripe semantics), as ASGI middleware.

The first request with a key claims it; its response is stored and every later request with
the same key and the same body gets that response back byte for byte (with
``Idempotent-Replayed: true``). The same key with a different body is a 409, and so is a key
whose first request is still running. Server errors release the key so the client may retry.
Keys are kept 48 hours (at least the promised 24) and purged as new ones are claimed.
Its database work runs in the thread pool, as the routes' does: on the event loop, a claim
waiting for the writer's turn would stall every other request.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engagebill.domain.errors import DomainError
from engagebill.entrypoints.api.problems import problem
from engagebill.services.access import authenticate
from engagebill.services.ports import Context

KEEP = timedelta(hours=48)
PURGE_EVERY = 500
MAX_KEY_LENGTH = 255


HEADER_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Send the same key again with the same body to get the first answer back "
    "(Idempotent-Replayed: true); with another body it is a 409. Kept 48 hours.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}


def document(api: FastAPI) -> None:
    """Show the header on every POST of the OpenAPI document; the middleware, not the routes,
    reads it, so FastAPI cannot see it."""
    build = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                if "post" in item:
                    item["post"].setdefault("parameters", []).append(HEADER_PARAMETER)
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, ctx: Context, prefix: str = "/api/v1") -> None:
        self.app = app
        self.ctx = ctx
        self.prefix = prefix
        self.claims = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("idempotency-key", "").strip()
        if not key:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        replay = _replayer(body, receive)
        if len(key) > MAX_KEY_LENGTH:
            await _send(
                send,
                problem(
                    400,
                    "idempotency.invalid_key",
                    f"Idempotency-Key is limited to {MAX_KEY_LENGTH} characters",
                ),
            )
            return
        try:
            api_key = await run_in_threadpool(authenticate, self.ctx, _bearer(headers))
        except DomainError:
            await self.app(scope, replay, send)  # the route answers 401 itself
            return
        scope.setdefault("state", {})["api_key"] = api_key
        org = api_key.organization_id
        digest = hashlib.sha256(
            b"\0".join(
                [
                    scope["method"].encode(),
                    scope["path"].encode(),
                    scope.get("query_string", b""),
                    body,
                ]
            )
        ).hexdigest()
        stored = await run_in_threadpool(self._claim, org, key, digest)
        if stored is not None:
            await self._answer_stored(send, stored, digest)
            return
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        try:
            await self.app(scope, replay, capture)
        except Exception:
            await run_in_threadpool(self._finish, org, key, None)
            raise
        status = next((m["status"] for m in messages if m["type"] == "http.response.start"), 500)
        start = next(m for m in messages if m["type"] == "http.response.start")
        content_type = next(
            (v.decode() for k, v in start.get("headers", []) if k.lower() == b"content-type"),
            "application/json",
        )
        payload = b"".join(
            m.get("body", b"") for m in messages if m["type"] == "http.response.body"
        )
        await run_in_threadpool(
            self._finish, org, key, (status, content_type, payload) if status < 500 else None
        )
        for message in messages:
            await send(message)

    def _claim(self, org: str, key: str, digest: str) -> Any:
        now = self.ctx.clock.now()
        with self.ctx.uow() as uow:
            stored = uow.idempotency.claim(org, key, digest, now)
            self.claims += 1
            if self.claims % PURGE_EVERY == 0:
                uow.idempotency.purge(now - KEEP)
            uow.commit()
        return stored

    def _finish(self, org: str, key: str, response: tuple[int, str, bytes] | None) -> None:
        with self.ctx.uow() as uow:
            if response is None:
                uow.idempotency.release(org, key)
            else:
                status, content_type, payload = response
                uow.idempotency.complete(
                    org,
                    key,
                    status,
                    content_type,
                    payload.decode("utf-8", errors="surrogateescape"),
                )
            uow.commit()

    async def _answer_stored(self, send: Send, stored: Any, digest: str) -> None:
        if stored.request_hash != digest:
            await _send(
                send,
                problem(
                    409,
                    "idempotency.key_reused",
                    "this Idempotency-Key was used with a different request; use a new key",
                ),
            )
        elif stored.status_code is None:
            await _send(
                send,
                problem(
                    409,
                    "idempotency.in_progress",
                    "a request with this Idempotency-Key is still being processed",
                ),
            )
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": stored.status_code,
                    "headers": [
                        (b"content-type", stored.content_type.encode()),
                        (b"idempotent-replayed", b"true"),
                    ],
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": stored.body.encode("utf-8", errors="surrogateescape"),
                }
            )


def _bearer(headers: dict[str, str]) -> str:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replayer(body: bytes, original: Receive) -> Receive:
    """Hand the already-read body to the app once, then the real channel (disconnects)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


async def _send(send: Send, response: Any) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": response.raw_headers,
        }
    )
    await send({"type": "http.response.body", "body": response.body})
