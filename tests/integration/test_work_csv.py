"""Importing a time tracker's CSV: all rows or none, every bad row reported by its line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engagebill.bootstrap import App
from engagebill.domain.errors import Conflict, RuleViolation, ValidationError
from engagebill.domain.work import WorkState
from engagebill.services import work
from tests.support import World, a_client, an_engagement, an_organization, migrated_app

GOOD = """\
Date,User,Hours,Billable Rate,Notes,Requested by,Approval link
2025-03-12,Ana Lima,8,125.00,Landing page A: design,Dana Scully,https://mail.example/1
2025-03-13,Ana Lima,1:30,125.00,"Landing page A: fixes, round 2",Dana Scully,
2025-03-18,Ben Okafor,4.5,110.00,Landing page B: build,Sam Carter,https://chat.example/2
"""

BAD = """\
date,person,hours,rate,description
2025-03-12,Ana Lima,8,125.00,Landing page A
14/03/2025,Ana Lima,2,125.00,Landing page A fixes
2025-03-15,Ben Okafor,2,125.00,Landing page B
2025-03-16,,-1,125.00,Landing page B
2025-03-17,Ben Okafor,3,12.345,Landing page B
2025-03-18,Ben Okafor,3,125.00,
"""


def change_orders(world: World) -> str:
    return an_engagement(
        world.app, world.org_id, world.client_id, kind="time_and_material", name="Extras"
    )


def import_csv(world: World, engagement_id: str, text: str) -> work.ImportResult:
    return work.import_work_csv(
        world.ctx, organization_id=world.org_id, engagement_id=engagement_id, text=text
    )


def stored(world: World, engagement_id: str | None = None) -> int:
    return len(
        work.list_work_items(world.ctx, organization_id=world.org_id, engagement_id=engagement_id)
    )


def refusal(world: World, engagement_id: str, text: str) -> ValidationError:
    before = stored(world)
    with pytest.raises(ValidationError) as err:
        import_csv(world, engagement_id, text)
    assert stored(world) == before
    return err.value


def test_a_good_file_imports_every_row(world: World) -> None:
    eng = change_orders(world)
    result = import_csv(world, eng, GOOD)
    assert result.count == 3 and result.total.amount == Decimal("1682.50")
    items = work.list_work_items(world.ctx, organization_id=world.org_id, engagement_id=eng)
    assert [(i.work_date, i.person, i.hours, i.rate.amount) for i in items] == [
        (date(2025, 3, 12), "Ana Lima", Decimal("8.00"), Decimal("125.00")),
        (date(2025, 3, 13), "Ana Lima", Decimal("1.50"), Decimal("125.00")),
        (date(2025, 3, 18), "Ben Okafor", Decimal("4.50"), Decimal("110.00")),
    ]
    assert items[1].description == "Landing page A: fixes, round 2"
    assert [i.requester for i in items] == ["Dana Scully", "Dana Scully", "Sam Carter"]
    assert [i.approval_ref for i in items] == [
        "https://mail.example/1",
        "",
        "https://chat.example/2",
    ]
    assert {i.state for i in items} == {WorkState.UNAPPROVED}
    assert result.without_written_approval == 1
    with world.ctx.uow() as uow:
        (event,) = uow.events.for_subject(world.org_id, result.import_id)
        recorded = uow.events.for_subject(world.org_id, items[2].id)
    assert event.kind == "work_csv.imported" and event.data["rows"] == 3
    assert recorded[0].data["line"] == 4 and recorded[0].data["import_id"] == result.import_id


def test_every_bad_row_is_reported_by_line_and_nothing_is_written(world: World) -> None:
    eng = change_orders(world)
    error = refusal(world, eng, BAD)
    assert error.code == "work_csv.invalid"
    errors = error.details["errors"]
    assert [e["line"] for e in errors] == [3, 5, 6, 7]
    messages = {e["line"]: e["message"] for e in errors}
    assert "YYYY-MM-DD" in messages[3]
    assert "person is empty" in messages[5] and "more than zero" in messages[5]
    assert "more decimals than EUR allows" in messages[6]
    assert "description is empty" in messages[7]
    assert error.message == "4 of 6 rows cannot be imported; nothing was imported"


def test_line_numbers_are_file_lines_across_quoted_line_breaks(world: World) -> None:
    eng = change_orders(world)
    text = (
        "Date,Person,Hours,Rate,Description\r\n"
        '2025-03-12,Ana,2,100.00,"Two lines\r\nof notes"\r\n'
        "\r\n"
        "2025-03-13,Ana,two,100.00,Page\r\n"
    )
    error = refusal(world, eng, text)
    assert [e["line"] for e in error.details["errors"]] == [5]


@pytest.mark.parametrize(
    ("duration", "hours"),
    [("1:30", "1.50"), ("0:20", "0.33"), ("2:05:00", "2.08"), ("10:00", "10.00"), ("0:45", "0.75")],
)
def test_h_mm_durations_become_hours_to_the_hundredth(
    world: World, duration: str, hours: str
) -> None:
    eng = change_orders(world)
    result = import_csv(
        world, eng, f"Date,Person,Duration,Rate,Task\n2025-03-12,Ana,{duration},100.00,Page\n"
    )
    assert result.items[0].hours == Decimal(hours)


def test_other_trackers_headers_and_delimiters(world: World) -> None:
    eng = change_orders(world)
    toggl = (
        "\ufeffStart date;Member;Duration;Hourly rate;Description;Client contact\n"
        "2025-03-12;Ana Lima;01:30:00;EUR 125;Landing page A;Dana\n"
    )
    harvest = (
        "Date\tFirst Name\tLast Name\tTask\tNotes\tHours\tBillable Rate\tCurrency\n"
        "2025/03/14\tBen\tOkafor\tDesign\tLanding page B\t2.25\t110\tEuro - EUR\n"
    )
    (first,) = import_csv(world, eng, toggl).items
    (second,) = import_csv(world, eng, harvest).items
    assert (first.person, first.hours, first.requester) == ("Ana Lima", Decimal("1.50"), "Dana")
    assert (second.person, second.description, second.work_date) == (
        "Ben Okafor",
        "Landing page B",
        date(2025, 3, 14),
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "work_csv.empty"),
        ("\ufeff \n\n", "work_csv.empty"),
        (",,,\n", "work_csv.empty"),
        ("date,person,hours,rate,description\n\n", "work_csv.empty"),
        ("date,person,rate\n2025-03-12,Ana,100\n", "work_csv.missing_columns"),
        ("date,person,hours,hours,rate,notes\n", "work_csv.duplicate_column"),
        ("date,person,hours,rate,notes\n2025-03-12,Ana,2,100,a,b\n", "work_csv.invalid"),
    ],
)
def test_files_that_are_not_work_are_refused(world: World, text: str, code: str) -> None:
    eng = change_orders(world)
    assert refusal(world, eng, text).code == code


def test_missing_columns_are_named(world: World) -> None:
    eng = change_orders(world)
    error = refusal(world, eng, "Date,User,Notes\n2025-03-12,Ana,Page\n")
    assert error.details["errors"][0]["line"] == 1
    assert "hours, rate" in error.message and "duration" in error.message


def test_too_many_rows_or_bytes_are_refused(world: World) -> None:
    eng = change_orders(world)
    row = "2025-03-12,Ana,1,100.00,Page\n"
    header = "date,person,hours,rate,description\n"
    assert refusal(world, eng, header + row * 10_001).code == "work_csv.too_large"
    big = header + "2025-03-12,Ana,1,100.00," + "x" * (work.MAX_CSV_BYTES) + "\n"
    assert refusal(world, eng, big).code == "work_csv.too_large"
    with pytest.raises(ValidationError) as err:
        work.decode_csv(big.encode())
    assert err.value.code == "work_csv.too_large"


def test_text_that_is_not_utf8_is_refused_with_its_line() -> None:
    with pytest.raises(ValidationError) as err:
        work.decode_csv("date,person\n2025-03-12,Jos\u00e9\n".encode("latin-1"))
    assert err.value.code == "work_csv.not_utf8"
    assert err.value.details["errors"] == [
        {"line": 2, "message": "not UTF-8 text: export the file, or save it, as CSV UTF-8"}
    ]
    assert work.decode_csv("\ufeffdate\n".encode()) == "date\n"


def test_the_same_file_twice_is_refused(world: World) -> None:
    eng = change_orders(world)
    import_csv(world, eng, GOOD)
    with pytest.raises(Conflict) as err:
        import_csv(world, eng, GOOD)
    assert err.value.code == "work_csv.already_imported"
    assert stored(world, eng) == 3


def test_import_is_refused_on_a_fixed_price_engagement(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id, kind="fixed_price")
    with pytest.raises(RuleViolation) as err:
        import_csv(world, eng, GOOD)
    assert err.value.code == "work_item.not_billable_here"
    assert stored(world) == 0


# Fuzzing (SQLite only: every example writes to the database) -----------------------------------

# Header names per field, as trackers spell them; a file gets most fields, in any order.
NAMES = {
    "date": ["Date", "start date", "DATE"],
    "person": ["User", "person", "Member"],
    "hours": ["Hours", "duration", "Duration (h)"],
    "rate": ["Rate", "billable rate", "Hourly Rate"],
    "description": ["Description", "notes", "Task"],
    "requester": ["requested by", "Requester"],
    "approval": ["Approval link", "approval_ref"],
    "currency": ["Currency"],
    "other": ["Project", "Billable?"],
}
PRINTABLE = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30
).filter(str.strip)
GOOD_VALUES: dict[str, st.SearchStrategy[str]] = {
    "date": st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)).map(str),
    "hours": st.one_of(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("743.99"), places=2).map(str),
        st.builds(lambda h, m: f"{h}:{m:02}", st.integers(0, 100), st.integers(0, 59)),
    ),
    "rate": st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2).map(str),
    "currency": st.sampled_from(["EUR", "eur", "Euro - EUR", ""]),
}
NASTY = st.sampled_from(
    [
        "",
        " ",
        "0",
        "-1",
        "NaN",
        "Infinity",
        "1e999999999",
        "1e-999999999",
        "9" * 60,
        "12:75",
        "2025-02-30",
        "03/04/2025",
        "120 USD",
        "1,5",
        '"',
        "\x00",
        "\ud800",
        "\u2028",
        "=cmd|' /C calc'!A0",
        "x" * 1001,
    ]
)


@st.composite
def cell(draw: st.DrawFn, field: str) -> str:
    if draw(st.integers(0, 19)) > 0:  # mostly good, so that many files get through
        return draw(GOOD_VALUES.get(field, PRINTABLE))
    return draw(st.one_of(NASTY, st.text(max_size=30)))


@st.composite
def csv_files(draw: st.DrawFn) -> str:
    fields = [f for f in NAMES if draw(st.integers(0, 19)) > 0 or f == "other"]
    fields = draw(st.permutations(fields))
    header = [draw(st.sampled_from(NAMES[f])) for f in fields]
    rows = draw(st.lists(st.tuples(*[cell(f) for f in fields]), max_size=6))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.integers(0, 4)) == 0:  # garble: cut it, or splice random text in
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(max_size=20)) + text[at + draw(st.integers(0, 5)) :]
    return text


@contextmanager
def fuzz_world(folder: Path) -> Iterator[tuple[App, str, str]]:
    app = migrated_app(f"sqlite:///{folder / 'fuzz.db'}")
    org_id = an_organization(app)
    try:
        yield app, org_id, a_client(app, org_id)
    finally:
        app.dispose()


def test_any_text_is_imported_whole_or_refused_with_a_validation_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with fuzz_world(tmp_path_factory.mktemp("fuzz")) as (app, org_id, client_id):

        @settings(
            max_examples=100,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(text=st.one_of(csv_files(), csv_files(), st.text(max_size=300)))
        def check(text: str) -> None:
            # A new engagement per example: the same text twice is a refused re-import.
            eng = an_engagement(app, org_id, client_id, kind="time_and_material", name="Fuzz")
            refused: ValidationError | None = None
            try:
                result = work.import_work_csv(
                    app.ctx, organization_id=org_id, engagement_id=eng, text=text
                )
            except ValidationError as exc:
                refused = exc
            imported = work.list_work_items(app.ctx, organization_id=org_id, engagement_id=eng)
            if refused is not None:
                event(f"refused: {refused.code}")
                assert imported == []
                assert refused.code.startswith(("work_csv.", "work_item.", "validation."))
                for error in refused.details.get("errors", []):
                    assert error["line"] >= 1 and error["message"]
                return
            event("imported")
            assert len(imported) == result.count > 0
            for item in imported:
                assert Decimal(0) < item.hours < work.MAX_HOURS
                assert item.rate.amount > 0 and item.rate.is_whole_minor()
                assert item.person and item.description

        check()
