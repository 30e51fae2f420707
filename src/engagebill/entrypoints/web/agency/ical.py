"""iCalendar (RFC 5545) text for the calendar feed, written by hand: a few properties do not
justify a dependency.

What the RFC asks and this module does: CRLF line endings (3.1); lines folded at 75 octets
with a CRLF and one space, never inside a UTF-8 character (3.1); TEXT values escaped
(backslash, semicolon, comma, newline; 3.3.11); all-day events as ``VALUE=DATE`` with an
exclusive ``DTEND`` (3.6.1); a ``UID`` per event that stays the same across fetches and a
``DTSTAMP`` in UTC (3.8.7.2), both required in a ``VEVENT``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from engagebill.services.calendar_feed import CalendarEvent, EventKind

MAX_OCTETS = 75
PRODID = "-//engagebill//Calendar feed//EN"
# A reminder on the morning of the day: the account manager opens the billing run, asks for the
# next PO, or chases the payment. Relative to the all-day event's start (midnight).
ALARM_AT = "PT9H"


def escape_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """``line`` cut into pieces of at most 75 octets, joined by CRLF and a space."""
    pieces: list[str] = []
    current, size = "", 0
    limit = MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            # A continuation starts with the space, which counts towards its 75 octets.
            current, size, limit = char, width, MAX_OCTETS - 1
        else:
            current += char
            size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


CATEGORIES = {
    EventKind.RETAINER_INVOICE: "Retainer invoice",
    EventKind.PO_EXPIRY: "PO expiry",
    EventKind.INVOICE_DUE: "Invoice due",
}


def calendar(events: Iterable[CalendarEvent], *, name: str, now: datetime) -> str:
    """The whole feed as one ``VCALENDAR``."""
    stamp = _stamp(now)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines += [
            "BEGIN:VEVENT",
            f"UID:{event.uid}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{event.on:%Y%m%d}",
            f"DTEND;VALUE=DATE:{event.on + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape_text(event.summary)}",
            f"DESCRIPTION:{escape_text(event.description)}",
            f"CATEGORIES:{escape_text(CATEGORIES[event.kind])}",
            "TRANSP:TRANSPARENT",  # a reminder, not a meeting: it does not block the day
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(event.summary)}",
            f"TRIGGER:{ALARM_AT}",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
