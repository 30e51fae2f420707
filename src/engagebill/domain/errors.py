"""The one error tree of engagebill, with stable codes.

Every refusal of a business rule is a ``DomainError`` carrying a dotted ``code`` that never
changes once published (API clients, CLI scripts and MCP assistants match on it), a readable
message, and optional structured details. Interfaces map the classes in one place each::

    DomainError                     400/422  generic rule violation
    ├── ValidationError             422      bad input value (money string, date, tax id ...)
    ├── NotFound                    404      unknown id, or another organization's
    ├── Conflict                    409      duplicate or concurrent change
    │   └── ConcurrencyConflict     409      someone else changed the row first
    ├── InvalidTransition           409      lifecycle refuses the step
    ├── RuleViolation               422      structural rule (one PO, one engagement ...)
    ├── Forbidden                   403      the caller may not do this
    └── Gone                        410      a revoked or expired private link
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DomainError(Exception):
    """A refusal by a business rule. ``code`` is stable; ``message`` is for people."""

    default_code = "domain.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message


class ValidationError(DomainError):
    default_code = "validation.invalid"


class NotFound(DomainError):
    default_code = "not_found"


class Conflict(DomainError):
    default_code = "conflict"


class ConcurrencyConflict(Conflict):
    default_code = "concurrency.conflict"


class InvalidTransition(DomainError):
    default_code = "lifecycle.invalid_transition"


class RuleViolation(DomainError):
    default_code = "rule.violation"


class Forbidden(DomainError):
    default_code = "forbidden"


class Gone(DomainError):
    default_code = "gone"
