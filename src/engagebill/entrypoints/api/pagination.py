"""Opaque keyset cursors: base64 of the last row's (created_at, id); the event log's cursor is
its sequence number."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from engagebill.domain.errors import ValidationError

T = TypeVar("T")


def encode(created_at: datetime, ident: str) -> str:
    raw = f"{created_at.isoformat()}|{ident}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        stamp, ident = text.split("|", 1)
        moment = datetime.fromisoformat(stamp)
        if moment.tzinfo is None or not ident:
            raise ValueError
        # In UTC, as stored; a forged offset at the edge of the calendar overflows here.
        return moment.astimezone(UTC), ident
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise ValidationError(
            "cursor is not one this API returned", code="pagination.invalid_cursor"
        ) from None


def next_cursor(
    rows: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, str]]
) -> str | None:
    """The cursor of the page after ``rows[:limit]``, when ``rows`` (read as ``limit + 1``)
    shows there is one."""
    if len(rows) <= limit:
        return None
    created_at, ident = key(rows[limit - 1])
    return encode(created_at, ident)


def decode_seq(cursor: str | None) -> int:
    """An event cursor: the sequence number of the last event seen (0: from the start)."""
    if not cursor:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 18:
        raise ValidationError(
            "cursor is not one this API returned", code="pagination.invalid_cursor"
        )
    return int(cursor)
