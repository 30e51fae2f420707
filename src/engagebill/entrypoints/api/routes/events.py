"""/events: the organization's append-only, hash-chained audit trail, oldest first. The
cursor is the sequence number of the last event read, so a consumer can resume from it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from engagebill.domain.events import EventRecord
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader
from engagebill.entrypoints.api.schemas import Model, Page
from engagebill.services import queries

router = APIRouter(prefix="/events", tags=["events"])


class EventOut(Model):
    seq: int
    kind: str = Field(examples=["invoice.sent"])
    subject_type: str
    subject_id: str
    occurred_at: str = Field(description="UTC, ISO 8601, exactly as hashed")
    data: dict[str, Any]
    prev_hash: str
    hash: str


def event_out(record: EventRecord) -> EventOut:
    return EventOut(
        seq=record.seq,
        kind=record.kind,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        occurred_at=record.occurred_at,
        data=record.data,
        prev_hash=record.prev_hash,
        hash=record.hash,
    )


@router.get("", response_model=Page[EventOut])
def list_events(
    ctx: Ctx,
    key: Reader,
    subject_id: str | None = None,
    cursor: Annotated[
        str | None, Query(description="The seq of the last event read; omitted: from the start")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[EventOut]:
    """Events in the order they happened; filter by subject (an invoice, a client ...)."""
    rows = queries.list_events(
        ctx,
        organization_id=key.organization_id,
        after_seq=pagination.decode_seq(cursor),
        limit=limit + 1,
        subject_id=subject_id,
    )
    more = len(rows) > limit
    return Page[EventOut](
        items=[event_out(r) for r in rows[:limit]],
        next_cursor=str(rows[limit - 1].seq) if more else None,
    )
