"""Delivery: messages that leave engagebill, their retries, and webhook signatures.

A message (an email to an AP contact, a webhook call) is written to the outbox in the
transaction that caused it and delivered later by a worker, at least once, with backoff;
each has a ``dedupe_key`` that the database keeps unique. Webhook bodies are signed with
HMAC-SHA256 over ``<timestamp>.<body>`` so a receiver can check who sent them and when.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    MARKER = "marker"  # a claim that something was enqueued once (reminder per day), never sent


class Status(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


# Seconds to wait after each failed attempt. Webhooks keep trying for a little over three
# days; emails for about a day (a mail server that is down longer needs a person anyway).
WEBHOOK_BACKOFF = (60, 300, 1800, 7200, 21600, 43200, 86400, 86400, 86400)
EMAIL_BACKOFF = (60, 300, 900, 3600, 10800, 21600, 43200)

WEBHOOK_EVENTS = frozenset(
    {
        "invoice.sent",
        "invoice.viewed",
        "invoice.change_requested",
        "invoice.approved",
        "invoice.locked",
        "invoice.paid",
        "credit_note.issued",
        "quote.accepted",
        "milestone.signed_off",
    }
)


def next_attempt(channel: Channel, attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failures, or None when it is time to give up."""
    schedule = WEBHOOK_BACKOFF if channel is Channel.WEBHOOK else EMAIL_BACKOFF
    if attempts > len(schedule):
        return None
    return now + timedelta(seconds=schedule[attempts - 1])


@dataclass(slots=True)
class OutboxMessage:
    id: str
    organization_id: str
    channel: Channel
    dedupe_key: str
    payload: dict[str, Any]
    created_at: datetime
    status: Status = Status.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str = ""
    delivered_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class WebhookEndpoint:
    id: str
    organization_id: str
    url: str
    secret: str
    events: frozenset[str]
    created_at: datetime
    active: bool = True

    def wants(self, kind: str) -> bool:
        return kind in self.events


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Engagebill-Signature`` header value: ``t=<unix time>,v1=<hex HMAC-SHA256>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: recompute the HMAC and refuse stale or forged calls."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """An organization's choices: attach the PDF to invoice emails, chase unopened invoices
    after N days, remind about overdue ones."""

    attach_pdf: bool = False
    unopened_after_days: int = 3
    overdue_reminders: bool = True
