"""What changed between two versions of an invoice, line by line.

A change request is answered with version n+1 under the same number; the agency and the
recipient both want to see exactly which lines moved. ``diff_lines`` aligns the lines of two
versions (``difflib.SequenceMatcher`` on what a reader sees of each line) and says of every
pair whether it is the same, changed (and which fields), added or removed. Lines replaced in
one block are paired in order, so "split one line into two" reads as one changed line and one
added line. Pure: no storage, no presentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum
from itertools import pairwise

from engagebill.domain.invoices import InvoiceLine, InvoiceVersion

# What a reader sees of a line; ``source_ref`` is bookkeeping and never shown.
COMPARED_FIELDS = (
    "description",
    "quantity",
    "unit",
    "unit_price",
    "vat_category",
    "vat_rate",
    "service_date",
    "person",
    "requester",
    "approval_ref",
)


class Change(StrEnum):
    SAME = "same"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class LineChange:
    """One row of a side-by-side comparison: the line before, the line after, or both."""

    change: Change
    before: InvoiceLine | None
    after: InvoiceLine | None
    fields: frozenset[str] = frozenset()  # for CHANGED: which COMPARED_FIELDS differ

    def differs(self, field: str) -> bool:
        return field in self.fields


@dataclass(frozen=True, slots=True)
class VersionDiff:
    before: InvoiceVersion
    after: InvoiceVersion
    lines: tuple[LineChange, ...]

    @property
    def changed(self) -> int:
        """How many rows are not the same."""
        return sum(1 for line in self.lines if line.change is not Change.SAME)


def _seen(line: InvoiceLine) -> tuple[str, ...]:
    # Compared as text: Decimal("1") and Decimal("1.00") are the same quantity to a reader
    # only when normalised, so numbers are normalised first.
    values = []
    for name in COMPARED_FIELDS:
        value = getattr(line, name)
        if name == "unit_price":
            value = value.amount.normalize()
        elif name in ("quantity", "vat_rate"):
            value = value.normalize()
        values.append(str(value))
    return tuple(values)


def changed_fields(before: InvoiceLine, after: InvoiceLine) -> frozenset[str]:
    seen_before, seen_after = _seen(before), _seen(after)
    return frozenset(
        name for name, a, b in zip(COMPARED_FIELDS, seen_before, seen_after, strict=True) if a != b
    )


def diff_lines(before: Sequence[InvoiceLine], after: Sequence[InvoiceLine]) -> list[LineChange]:
    """Align two versions' lines, in the order of the newer version."""
    matcher = SequenceMatcher(
        a=[_seen(line) for line in before], b=[_seen(line) for line in after], autojunk=False
    )
    rows: list[LineChange] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = list(before[i1:i2]), list(after[j1:j2])
        if tag == "equal":
            rows += [LineChange(Change.SAME, a, b) for a, b in zip(old, new, strict=True)]
            continue
        paired = min(len(old), len(new))
        rows += [
            LineChange(Change.CHANGED, a, b, changed_fields(a, b))
            for a, b in zip(old[:paired], new[:paired], strict=True)
        ]
        rows += [LineChange(Change.REMOVED, a, None) for a in old[paired:]]
        rows += [LineChange(Change.ADDED, None, b) for b in new[paired:]]
    return rows


def diff_versions(versions: Sequence[InvoiceVersion]) -> list[VersionDiff]:
    """Every consecutive pair of versions, newest first."""
    diffs = [
        VersionDiff(before, after, tuple(diff_lines(before.lines, after.lines)))
        for before, after in pairwise(versions)
    ]
    return diffs[::-1]
