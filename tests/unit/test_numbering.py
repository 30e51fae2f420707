"""Document number formats render the agreed numbers and pick the right counter period.

Proves that ``NumberFormat`` renders ``{prefix}``, ``{yyyy}``, ``{yy}``, ``{mm}`` and a padded
``{seq}``; that the counter restarts per year when the format shows a year, per month when it
shows a month, and never otherwise; and that malformed formats, formats without ``{seq}``,
unknown fields and bad prefixes are refused with stable codes.
"""

from __future__ import annotations

from datetime import date

import pytest

from engagebill.domain.errors import ValidationError
from engagebill.domain.numbering import NumberFormat, check_format

MARCH_1 = date(2025, 3, 1)


def test_the_default_invoice_format_renders_prefix_year_and_padded_sequence() -> None:
    fmt = NumberFormat("{prefix}-{yyyy}-{seq:04}", "INV")

    assert fmt.render(7, MARCH_1) == "INV-2025-0007"
    assert fmt.period(MARCH_1) == "2025"


def test_a_sequence_wider_than_its_padding_is_printed_in_full() -> None:
    fmt = NumberFormat("{prefix}-{yyyy}-{seq:04}", "INV")

    assert fmt.render(12345, MARCH_1) == "INV-2025-12345"


def test_a_format_without_a_year_runs_on_forever() -> None:
    fmt = NumberFormat("{prefix}{seq}", "CN")

    assert fmt.render(7, MARCH_1) == "CN7"
    assert fmt.period(MARCH_1) == ""
    assert fmt.period(date(2031, 12, 31)) == ""


def test_a_format_with_a_month_restarts_every_month() -> None:
    fmt = NumberFormat("{prefix}/{yyyy}/{mm}/{seq:03}", "INV")

    assert fmt.render(7, MARCH_1) == "INV/2025/03/007"
    assert fmt.period(MARCH_1) == "2025-03"
    assert fmt.period(date(2025, 4, 1)) == "2025-04"


def test_a_month_without_a_year_still_keys_the_counter_by_year_and_month() -> None:
    fmt = NumberFormat("{prefix}-{mm}-{seq}", "INV")

    assert fmt.period(MARCH_1) == "2025-03"
    assert fmt.period(date(2026, 3, 1)) == "2026-03"


def test_a_two_digit_year_restarts_every_year() -> None:
    fmt = NumberFormat("{yy}{seq:05}", "")

    assert fmt.render(42, date(2009, 1, 2)) == "0900042"
    assert fmt.period(date(2009, 1, 2)) == "2009"


def test_the_same_date_in_another_year_is_another_period() -> None:
    fmt = NumberFormat("{prefix}-{yyyy}-{seq:04}", "INV")

    assert fmt.period(date(2024, 12, 31)) != fmt.period(date(2025, 1, 1))


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("", id="empty"),
        pytest.param("{prefix}-{yyyy}", id="no-seq"),
        pytest.param("INV-0001", id="no-fields"),
        pytest.param("{{seq}}", id="escaped-seq-is-text"),
        pytest.param("{seq", id="unclosed-brace"),
        pytest.param("seq}", id="stray-closing-brace"),
        pytest.param("{prefix}{seq}}", id="trailing-brace"),
        pytest.param("{seq:Z}", id="bad-format-spec"),
        pytest.param("{seq:s}", id="string-spec-on-a-number"),
        pytest.param("{seq!x}", id="bad-conversion"),
        pytest.param("{seq:{prefix}}", id="nested-spec"),
    ],
)
def test_malformed_formats_and_formats_without_seq_are_refused(pattern: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        NumberFormat(pattern, "INV")
    assert excinfo.value.code == "numbering.invalid_format"


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("{prefix}-{year}-{seq}", id="unknown-name"),
        pytest.param("{client}-{seq}", id="client"),
        pytest.param("{}-{seq}", id="positional"),
        pytest.param("{0}-{seq}", id="numbered"),
        pytest.param("{seq.real}", id="attribute"),
        pytest.param("{seq[0]}", id="index"),
        pytest.param("{SEQ}", id="wrong-case"),
    ],
)
def test_unknown_fields_are_refused(pattern: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        check_format(pattern)
    assert excinfo.value.code == "numbering.invalid_format"


@pytest.mark.parametrize(
    "prefix",
    [
        pytest.param("INV 2025", id="space"),
        pytest.param("INV#", id="hash"),
        pytest.param("A" * 21, id="too-long"),
        pytest.param("FÄKT", id="non-ascii"),
        pytest.param("INV\n", id="newline"),
        pytest.param("{seq}", id="braces"),
    ],
)
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        NumberFormat("{prefix}-{seq}", prefix)
    assert excinfo.value.code == "numbering.invalid_prefix"


@pytest.mark.parametrize("prefix", ["", "INV", "A" * 20, "a.b_c/d-9"])
def test_prefixes_of_letters_digits_and_separators_are_accepted(prefix: str) -> None:
    assert NumberFormat("{prefix}-{seq}", prefix).render(1, MARCH_1) == f"{prefix}-1"


@pytest.mark.parametrize("pattern", ["{prefix}-{seq:g}", "{prefix}-{seq:.0e}", "{prefix}-{seq:c}"])
def test_seq_must_print_as_a_whole_number_so_numbers_never_repeat(pattern: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        NumberFormat(pattern, "INV")
    assert excinfo.value.code == "numbering.invalid_format"


@pytest.mark.parametrize(
    ("pattern", "rendered"),
    [("{seq}", "7"), ("{seq:04}", "0007"), ("{seq:04d}", "0007"), ("{seq:5d}", "    7")],
)
def test_padded_decimal_renderings_of_seq_are_accepted(pattern: str, rendered: str) -> None:
    assert NumberFormat(pattern, "INV").render(7, MARCH_1) == rendered


@pytest.mark.parametrize(
    "pattern", ["{seq:x}", "{seq:>5}", "{seq:,}", "{seq!r}", "{prefix:>9}-{seq}"]
)
def test_other_renderings_are_refused(pattern: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        NumberFormat(pattern, "INV")
    assert excinfo.value.code == "numbering.invalid_format"
