"""Opaque keyset cursors: base64 of the last row's (created_at, id)."""

from __future__ import annotations

import base64
from datetime import datetime

from engagebill.domain.errors import ValidationError


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
        return moment, ident
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(
            "cursor is not one this API returned", code="pagination.invalid_cursor"
        ) from None
