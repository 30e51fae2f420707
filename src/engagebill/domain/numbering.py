"""Document number formats. Pure: the counter itself lives in the database adapter.

A series has a format such as ``{prefix}-{yyyy}-{seq:04}``. When the format names the year,
the sequence restarts every year (the counter is keyed by the period); otherwise it runs on.
Numbers are taken only when a document is first sent, inside the sending transaction, so a
rolled-back send leaves no gap.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from engagebill.domain.errors import ValidationError

_ALLOWED = {"prefix", "yyyy", "yy", "mm", "seq"}


class SeriesKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    QUOTE = "quote"


@dataclass(frozen=True, slots=True)
class NumberFormat:
    pattern: str
    prefix: str

    def __post_init__(self) -> None:
        check_format(self.pattern)
        if not re.fullmatch(r"[A-Za-z0-9._/-]{0,20}", self.prefix):
            raise ValidationError(
                "a number prefix is up to 20 letters, digits, '.', '_', '/' or '-'",
                code="numbering.invalid_prefix",
            )

    def period(self, issue_date: date) -> str:
        """The counter's period: the year when the format shows one, else one endless run."""
        fields = {name for _, name, _, _ in string.Formatter().parse(self.pattern) if name}
        if "mm" in fields:
            return f"{issue_date.year:04d}-{issue_date.month:02d}"
        if fields & {"yyyy", "yy"}:
            return f"{issue_date.year:04d}"
        return ""

    def render(self, seq: int, issue_date: date) -> str:
        return self.pattern.format(
            prefix=self.prefix,
            yyyy=f"{issue_date.year:04d}",
            yy=f"{issue_date.year % 100:02d}",
            mm=f"{issue_date.month:02d}",
            seq=seq,
        )


def check_format(pattern: str) -> None:
    try:
        parsed = list(string.Formatter().parse(pattern))
    except ValueError as exc:
        raise ValidationError(
            f"number format {pattern!r} is malformed: {exc}", code="numbering.invalid_format"
        ) from None
    names = [name for _, name, _, _ in parsed if name is not None]
    for _, name, spec, conversion in parsed:
        # Only whole-number renderings of the sequence: {seq}, {seq:04}, {seq:4d}. Anything
        # else ("g", "e", "c") can print two sequence numbers the same way.
        if name == "seq" and (conversion or not re.fullmatch(r"0?\d{0,2}d?", spec or "")):
            raise ValidationError(
                f"number format {pattern!r}: {{seq}} may only be padded, as in {{seq:04}}",
                code="numbering.invalid_format",
            )
        if name in {"prefix", "yyyy", "yy", "mm"} and (spec or conversion):
            raise ValidationError(
                f"number format {pattern!r}: {{{name}}} takes no format specification",
                code="numbering.invalid_format",
            )
    unknown = set(names) - _ALLOWED
    if unknown or "seq" not in names:
        raise ValidationError(
            f"number format {pattern!r} must contain {{seq}} and may use only "
            "{prefix}, {yyyy}, {yy}, {mm} and {seq}",
            code="numbering.invalid_format",
        )
    try:
        pattern.format(prefix="P", yyyy="2000", yy="00", mm="01", seq=1)
    except (ValueError, IndexError, KeyError) as exc:
        raise ValidationError(
            f"number format {pattern!r} is malformed: {exc}", code="numbering.invalid_format"
        ) from None
