"""Events: the append-only, SHA-256 hash-chained record of every state change.

Aggregates queue ``DomainEvent``s; the services layer appends them, in the transaction that
changes the state, as ``EventRecord``s numbered per organization. Each record's hash covers its
own fields and the previous record's hash, so editing, deleting or inserting a row anywhere in
an organization's chain breaks every hash after it; the chain head (last sequence and hash)
is kept separately so that cutting off the newest events is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Something that happened to one subject, before it is chained."""

    kind: str
    subject_type: str
    subject_id: str
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A chained event as stored. ``occurred_at`` and ``payload`` are kept as the exact text
    that was hashed, so the chain verifies byte for byte on any database."""

    organization_id: str
    seq: int
    kind: str
    subject_type: str
    subject_id: str
    occurred_at: str
    payload: str
    prev_hash: str
    hash: str

    @property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.payload)
        return loaded


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def timestamp(moment: datetime) -> str:
    """UTC, microsecond ISO 8601: the one textual form of an event's time."""
    if moment.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def record_hash(
    *,
    organization_id: str,
    seq: int,
    kind: str,
    subject_type: str,
    subject_id: str,
    occurred_at: str,
    payload: str,
    prev_hash: str,
) -> str:
    material = canonical_json(
        [organization_id, seq, kind, subject_type, subject_id, occurred_at, payload, prev_hash]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def chain(
    organization_id: str, events: Iterable[DomainEvent], *, last_seq: int, last_hash: str
) -> list[EventRecord]:
    """Turn events into records continuing a chain whose head is (last_seq, last_hash)."""
    records = []
    seq, prev = last_seq, last_hash
    for event in events:
        seq += 1
        occurred_at = timestamp(event.occurred_at)
        payload = canonical_json(event.payload)
        digest = record_hash(
            organization_id=organization_id,
            seq=seq,
            kind=event.kind,
            subject_type=event.subject_type,
            subject_id=event.subject_id,
            occurred_at=occurred_at,
            payload=payload,
            prev_hash=prev,
        )
        records.append(
            EventRecord(
                organization_id,
                seq,
                event.kind,
                event.subject_type,
                event.subject_id,
                occurred_at,
                payload,
                prev,
                digest,
            )
        )
        prev = digest
    return records


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where verification failed: the first event that does not hold, and why."""

    organization_id: str
    seq: int
    reason: str


def _holds(record: EventRecord) -> bool:
    return record.hash == record_hash(
        organization_id=record.organization_id,
        seq=record.seq,
        kind=record.kind,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        occurred_at=record.occurred_at,
        payload=record.payload,
        prev_hash=record.prev_hash,
    )


def verify_chain(
    organization_id: str,
    records: Iterable[EventRecord],
    *,
    head_seq: int,
    head_hash: str,
) -> ChainBreak | None:
    """Recompute an organization's chain; name the first broken event, or None if it holds."""
    expected_seq, prev = 0, GENESIS_HASH
    for record in records:
        expected_seq += 1
        if record.seq != expected_seq:
            # A record whose own hash holds was really written with that number: the gap is
            # before it (deleted events). One whose hash fails was relabelled: it is the break,
            # named by its place in the chain, or by its own number when that lies before the
            # chain's start (the genuine event at its place still holds).
            if not _holds(record):
                seq = record.seq if record.seq < 1 else expected_seq
                return ChainBreak(organization_id, seq, f"event {seq} ({record.kind}) was altered")
            if record.seq > expected_seq:
                return ChainBreak(organization_id, expected_seq, f"event {expected_seq} is missing")
            return ChainBreak(
                organization_id,
                record.seq,
                f"event {record.seq} is out of sequence (expected {expected_seq})",
            )
        if record.prev_hash != prev:
            return ChainBreak(
                organization_id,
                record.seq,
                f"event {record.seq} does not link to event {record.seq - 1}",
            )
        digest = record_hash(
            organization_id=record.organization_id,
            seq=record.seq,
            kind=record.kind,
            subject_type=record.subject_type,
            subject_id=record.subject_id,
            occurred_at=record.occurred_at,
            payload=record.payload,
            prev_hash=record.prev_hash,
        )
        if digest != record.hash or record.organization_id != organization_id:
            return ChainBreak(
                organization_id, record.seq, f"event {record.seq} ({record.kind}) was altered"
            )
        prev = record.hash
    if expected_seq != head_seq or prev != head_hash:
        if expected_seq < head_seq:
            return ChainBreak(
                organization_id,
                expected_seq + 1,
                f"event {expected_seq + 1} is missing (the chain head is at {head_seq})",
            )
        return ChainBreak(
            organization_id,
            max(expected_seq, 1),
            f"the chain head ({head_seq}) does not match event {expected_seq}",
        )
    return None
