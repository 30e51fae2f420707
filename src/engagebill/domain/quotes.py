"""Quotes and milestones.

A quote is an offer on one engagement, with versions. A fixed-price quote lists milestones
(name, description, amount) that must sum to its total; a mini-quote on a time-and-material
engagement approves out-of-scope work before it is done. The recipient accepts by typing their
name; the acceptance records the time and the SHA-256 of the exact version shown, so what was
accepted can always be proven. Accepted milestones become the engagement's:
``planned -> signed_off -> invoiced``, billed when signed off, never by calendar.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from engagebill.domain.errors import InvalidTransition, RuleViolation, ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.money import Money


class QuoteState(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class MilestoneState(StrEnum):
    PLANNED = "planned"
    SIGNED_OFF = "signed_off"
    INVOICED = "invoiced"


@dataclass(frozen=True, slots=True)
class QuoteItem:
    """A milestone as quoted (fixed price) or a priced item of a mini-quote."""

    name: str
    description: str
    amount: Money


@dataclass(slots=True)
class QuoteVersion:
    version: int
    title: str
    items: list[QuoteItem]
    total: Money
    created_at: datetime
    content_hash: str = ""

    def __post_init__(self) -> None:
        if not self.items:
            raise ValidationError(
                "a quote needs at least one milestone or item", code="quote.no_items"
            )
        summed = Money.sum((i.amount for i in self.items), self.total.currency)
        if summed != self.total:
            raise RuleViolation(
                f"the milestones sum to {summed.format()} but the quote total is "
                f"{self.total.format()}",
                code="quote.milestones_do_not_sum",
                details={"sum": str(summed.amount), "total": str(self.total.amount)},
            )
        if any(i.amount.amount <= 0 for i in self.items):
            raise ValidationError(
                "every milestone amount must be more than zero", code="quote.invalid_amount"
            )

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "title": self.title,
            "currency": self.total.currency,
            "total": str(self.total.amount),
            "items": [
                {"name": i.name, "description": i.description, "amount": str(i.amount.amount)}
                for i in self.items
            ],
        }

    def compute_hash(self, number: str) -> str:
        material = json.dumps(
            {"number": number, **self.snapshot()}, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(material.encode()).hexdigest()


@dataclass(slots=True)
class Quote:
    id: str
    organization_id: str
    engagement_id: str
    client_id: str
    currency: str
    state: QuoteState
    versions: list[QuoteVersion]
    created_at: datetime
    number: str | None = None
    accepted_version: int | None = None
    accepted_by: str = ""
    accepted_at: datetime | None = None
    accepted_hash: str = ""
    declined_reason: str = ""
    row_version: int = 0
    pending_events: list[DomainEvent] = field(default_factory=list)

    @property
    def current(self) -> QuoteVersion:
        return self.versions[-1]

    def _event(self, kind: str, at: datetime, **payload: Any) -> None:
        self.pending_events.append(
            DomainEvent(
                kind,
                "quote",
                self.id,
                at,
                {"number": self.number, "version": self.current.version, **payload},
            )
        )

    def _refuse(self, action: str, allowed: set[QuoteState]) -> None:
        if self.state not in allowed:
            raise InvalidTransition(
                f"cannot {action} a quote that is {self.state.value}",
                code=f"quote.not_{action.replace(' ', '_')}able",
                details={"state": self.state.value},
            )

    def revise(self, version: QuoteVersion, at: datetime) -> None:
        """A new version (draft or sent quotes only); a sent quote is re-hashed on send."""
        self._refuse("revise", {QuoteState.DRAFT, QuoteState.SENT})
        version.version = self.current.version + 1
        if self.number:
            version.content_hash = version.compute_hash(self.number)
        self.versions.append(version)
        self._event("quote.revised", at, total=str(version.total.amount))

    def send(self, number: str | None, at: datetime) -> None:
        self._refuse("send", {QuoteState.DRAFT})
        self.number = self.number or number
        assert self.number is not None
        self.state = QuoteState.SENT
        for version in self.versions:
            version.content_hash = version.content_hash or version.compute_hash(self.number)
        self._event("quote.sent", at, content_hash=self.current.content_hash)

    def accept(self, *, name: str, at: datetime, shown_hash: str | None = None) -> None:
        """Accept the current version; ``shown_hash`` guards against accepting a version other
        than the one the recipient saw (a revision in between is refused)."""
        self._refuse("accept", {QuoteState.SENT})
        current = self.current
        if shown_hash is not None and shown_hash != current.content_hash:
            raise RuleViolation(
                "the quote changed since it was shown; reload it and accept again",
                code="quote.version_changed",
            )
        self.state = QuoteState.ACCEPTED
        self.accepted_version = current.version
        self.accepted_by = name
        self.accepted_at = at
        self.accepted_hash = current.content_hash
        self._event(
            "quote.accepted",
            at,
            by=name,
            content_hash=current.content_hash,
            total=str(current.total.amount),
        )

    def decline(self, *, reason: str, at: datetime) -> None:
        self._refuse("decline", {QuoteState.SENT})
        self.state = QuoteState.DECLINED
        self.declined_reason = reason
        self._event("quote.declined", at, reason=reason)


@dataclass(slots=True)
class Milestone:
    """An instalment of an accepted fixed-price quote."""

    id: str
    organization_id: str
    engagement_id: str
    quote_id: str
    quote_number: str
    position: int
    name: str
    description: str
    amount: Money
    state: MilestoneState
    created_at: datetime
    signed_off_by: str = ""
    signed_off_at: datetime | None = None
    invoice_id: str | None = None

    @property
    def billing_key(self) -> str:
        return f"milestone:{self.id}"

    def line_text(self, project: str) -> str:
        return f"{project}, Milestone {self.position}: {self.name}"

    def require_signable(self) -> None:
        """Only a planned milestone is signed off, or asked to be."""
        if self.state is not MilestoneState.PLANNED:
            raise InvalidTransition(
                f"milestone {self.position} ({self.name}) is already {self.state.value}",
                code="milestone.not_signable",
                details={"state": self.state.value},
            )

    def sign_off(self, *, by: str, at: datetime) -> DomainEvent:
        self.require_signable()
        self.state = MilestoneState.SIGNED_OFF
        self.signed_off_by = by
        self.signed_off_at = at
        return DomainEvent(
            "milestone.signed_off",
            "milestone",
            self.id,
            at,
            {
                "by": by,
                "engagement_id": self.engagement_id,
                "quote_number": self.quote_number,
                "position": self.position,
                "amount": str(self.amount.amount),
            },
        )

    def mark_invoiced(self, invoice_id: str) -> None:
        if self.state is not MilestoneState.SIGNED_OFF:
            raise InvalidTransition(
                f"milestone {self.position} ({self.name}) cannot be invoiced while "
                f"{self.state.value}",
                code="milestone.not_invoiceable",
            )
        self.state = MilestoneState.INVOICED
        self.invoice_id = invoice_id
