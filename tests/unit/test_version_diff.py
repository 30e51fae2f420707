"""What changed between two versions of an invoice: the pure line diff behind the invoice page's
side-by-side comparison."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engagebill.domain.invoices import InvoiceLine, InvoiceVersion
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory
from engagebill.domain.version_diff import Change, diff_lines, diff_versions


def a_line(
    description: str = "Website rebuild, Milestone 2: design system sign-off",
    quantity: str = "1",
    price: str = "20000.00",
    rate: str = "21",
    **kw: object,
) -> InvoiceLine:
    return InvoiceLine(
        description=description,
        quantity=Decimal(quantity),
        unit="C62",
        unit_price=Money.of(price, "EUR"),
        vat_category=VatCategory.STANDARD,
        vat_rate=Decimal(rate),
        **kw,  # type: ignore[arg-type]
    )


def version(number: int, *lines: InvoiceLine) -> InvoiceVersion:
    return InvoiceVersion(
        version=number,
        lines=list(lines),
        issue_date=date(2025, 3, 3),
        due_date=date(2025, 4, 2),
        currency="EUR",
    )


def changes(before: list[InvoiceLine], after: list[InvoiceLine]) -> list[Change]:
    return [row.change for row in diff_lines(before, after)]


def test_identical_versions_are_all_the_same() -> None:
    lines = [a_line(), a_line("Hosting", price="300.00")]
    assert changes(lines, list(lines)) == [Change.SAME, Change.SAME]


def test_a_reworded_line_is_changed_and_names_the_field() -> None:
    [row] = diff_lines([a_line("Milestone 2")], [a_line("Milestone 2: design system sign-off")])
    assert row.change is Change.CHANGED
    assert row.fields == frozenset({"description"})
    assert row.differs("description") and not row.differs("unit_price")


def test_splitting_a_line_in_two_reads_as_changed_plus_added() -> None:
    """The seed's change request: "the milestone split into two lines"."""
    before = [a_line("Annual report", price="2400.00")]
    after = [
        a_line("Annual report: design", price="1800.00"),
        a_line("Annual report: print management", price="600.00"),
    ]
    rows = diff_lines(before, after)
    assert [r.change for r in rows] == [Change.CHANGED, Change.ADDED]
    assert rows[0].fields == frozenset({"description", "unit_price"})
    assert rows[1].before is None and rows[1].after == after[1]


def test_removed_and_added_lines_keep_the_unchanged_ones_aligned() -> None:
    retainer, hosting, extra = (
        a_line("Retainer"),
        a_line("Hosting", price="300.00"),
        a_line("Extra"),
    )
    assert changes([retainer, hosting], [retainer, extra, hosting]) == [
        Change.SAME,
        Change.ADDED,
        Change.SAME,
    ]
    assert changes([retainer, extra, hosting], [retainer, hosting]) == [
        Change.SAME,
        Change.REMOVED,
        Change.SAME,
    ]


def test_numbers_compare_by_value_not_by_spelling() -> None:
    assert changes([a_line(quantity="1")], [a_line(quantity="1.000")]) == [Change.SAME]
    [row] = diff_lines([a_line(rate="21")], [a_line(rate="9")])
    assert row.fields == frozenset({"vat_rate"})


def test_the_source_reference_is_not_a_change_a_reader_sees() -> None:
    assert changes([a_line(source_ref="milestone:1")], [a_line()]) == [Change.SAME]


def test_versions_are_compared_pairwise_newest_first() -> None:
    v1 = version(1, a_line("A"))
    v2 = version(2, a_line("B"))
    v3 = version(3, a_line("B"), a_line("C"))
    diffs = diff_versions([v1, v2, v3])
    assert [(d.before.version, d.after.version) for d in diffs] == [(2, 3), (1, 2)]
    assert [d.changed for d in diffs] == [1, 1]
    assert diff_versions([v1]) == []
