"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every domain error carries a stable ``code``; the response is ``application/problem+json``
with ``type`` ``urn:engagebill:problem:<code>``, the HTTP status of the error's class, and the
code and details as extension members. Bad input is a 4xx and, because every use case runs in
one transaction, nothing was written.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from engagebill.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidTransition,
    NotFound,
    RuleViolation,
    ValidationError,
)
from engagebill.services.access import Unauthorized

STATUS: list[tuple[type[DomainError], int]] = [
    (Unauthorized, 401),
    (NotFound, 404),
    (Gone, 410),
    (Forbidden, 403),
    (Conflict, 409),
    (InvalidTransition, 409),
    (RuleViolation, 422),
    (ValidationError, 422),
    (DomainError, 400),
]

PROBLEM_JSON = "application/problem+json"

# How every error response looks, documented on every operation (instead of FastAPI's default
# 422 schema, which is not what this API sends) so that clients and schema checks see it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:engagebill:problem:invoice.not_found"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable; match on this."},
        "details": {"type": "object"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "array", "items": {"type": "string"}},
                    "message": {"type": "string"},
                },
            },
        },
    },
}

RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    for status, description in [
        (400, "Bad request"),
        (401, "No valid API key"),
        (403, "The API key may only read"),
        (404, "Not found, or another organization's"),
        (409, "Conflict: lifecycle, duplicate or Idempotency-Key reuse"),
        (422, "Invalid input; nothing was written"),
    ]
}


def status_of(error: DomainError) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 400  # pragma: no cover


def problem(status: int, code: str, title: str, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:engagebill:problem:{code}",
        "title": title,
        "status": status,
        "detail": title,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return Response(
        json.dumps(body, default=str), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def domain_problem(error: DomainError) -> Response:
    extra = {"details": error.details} if error.details else {}
    return problem(status_of(error), error.code, error.message, **extra)


def install(app: FastAPI) -> None:
    async def on_domain(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return domain_problem(exc)

    async def on_validation(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"location": [str(p) for p in e.get("loc", ())], "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"location": [], "message": "invalid request"}
        where = ".".join(first["location"][1:]) or "request"
        return problem(
            422, "validation.invalid_request", f"{where}: {first['message']}", errors=errors
        )

    async def on_http(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "auth.invalid_key",
            429: "rate_limited",
        }.get(exc.status_code, f"http.{exc.status_code}")
        return problem(exc.status_code, code, str(exc.detail))

    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
