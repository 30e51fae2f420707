"""Idempotency keys for the MCP write tools, on the REST API's store.

A write tool given an ``idempotency_key`` claims it in ``uow.idempotency`` (per organization,
under the ``mcp:`` prefix, so the key an assistant chose is told apart from an HTTP
``Idempotency-Key``). The first call's outcome is stored: the tool's result, or the business
refusal it met, as the REST middleware stores a 4xx. A later call with the same key and the
same arguments gets that outcome back without running the use case again; the same key with
other arguments (or on another tool) is refused, and so is a key whose first call is still
running. A crash releases the key, so the call may be retried. Keys are kept as long as the
REST API keeps its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel

from engagebill.domain.errors import Conflict, DomainError
from engagebill.entrypoints.api.idempotency import KEEP, PURGE_EVERY
from engagebill.services.ports import Context, StoredResponse

PREFIX = "mcp:"
CONTENT_TYPE = "application/json"
DONE = 200  # status codes in the shared store: the tool's result ...
REFUSED = 422  # ... or the business refusal it met

Result = TypeVar("Result", bound=BaseModel)


def request_hash(tool: str, arguments: Mapping[str, Any]) -> str:
    """What a key is bound to: the tool and its arguments, in a canonical JSON form."""
    canonical = json.dumps(
        pydantic_core.to_jsonable_python(dict(arguments)),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(f"{tool}\0{canonical}".encode()).hexdigest()


class IdempotentCalls:
    """Runs write tools at most once per idempotency key."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.claims = 0

    def run(
        self,
        *,
        organization_id: str,
        key: str | None,
        tool: str,
        arguments: Mapping[str, Any],
        output: type[Result],
        call: Callable[[], Result],
    ) -> Result:
        if key is None:
            return call()
        stored_key = PREFIX + key
        digest = request_hash(tool, arguments)
        stored = self._claim(organization_id, stored_key, digest)
        if stored is not None:
            return _replay(stored, digest, output)
        try:
            result = call()
        except DomainError as refusal:
            body = {"code": refusal.code, "message": refusal.message}
            self._finish(organization_id, stored_key, (REFUSED, json.dumps(body)))
            raise
        except BaseException:
            self._finish(organization_id, stored_key, None)
            raise
        self._finish(organization_id, stored_key, (DONE, result.model_dump_json()))
        return result

    def _claim(self, organization_id: str, key: str, digest: str) -> StoredResponse | None:
        now = self.ctx.clock.now()
        with self.ctx.uow() as uow:
            stored = uow.idempotency.claim(organization_id, key, digest, now)
            self.claims += 1  # a rough count from several threads is enough: it spaces purges
            if self.claims % PURGE_EVERY == 0:
                uow.idempotency.purge(now - KEEP)
            uow.commit()
        return stored

    def _finish(self, organization_id: str, key: str, outcome: tuple[int, str] | None) -> None:
        with self.ctx.uow() as uow:
            if outcome is None:
                uow.idempotency.release(organization_id, key)
            else:
                status, body = outcome
                uow.idempotency.complete(organization_id, key, status, CONTENT_TYPE, body)
            uow.commit()


def _replay(stored: StoredResponse, digest: str, output: type[Result]) -> Result:
    if stored.request_hash != digest:
        raise Conflict(
            "this idempotency_key was used with other arguments; use a new key",
            code="idempotency.key_reused",
        )
    if stored.status_code is None or stored.body is None:
        raise Conflict(
            "a call with this idempotency_key is still running", code="idempotency.in_progress"
        )
    if stored.status_code == DONE:
        return output.model_validate_json(stored.body)
    refusal = json.loads(stored.body)
    raise DomainError(str(refusal["message"]), code=str(refusal["code"]))
