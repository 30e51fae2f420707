"""Bad input is refused with a domain error, never anything else, and refused input writes
nothing.

Hypothesis throws money strings (and floats, NaNs, huge exponents, junk objects) at
``Money.of`` and ``parse_decimal``; text at the CLI's ``parse_date`` and at the work-date
parser; random invoice lines at ``services.lines.parse_line``; and random drafts at
``invoicing.create_draft`` (then ``send_invoice`` when the draft was accepted), on SQLite and
PostgreSQL, and through ``engagebill invoice create --issue-date`` on SQLite. Every refusal must
be an ``engagebill.domain.errors.DomainError`` (a ``ValidationError`` for malformed values),
and when a use case refuses, every table holds as many rows as before. 150 examples per
property by default, 2,000 with ENGAGEBILL_PROOF_LONG=1.
Derandomized by default, random under ``make soak`` (tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from engagebill.adapters.db.tables import metadata
from engagebill.domain.currencies import EXPONENTS
from engagebill.domain.errors import DomainError, ValidationError
from engagebill.domain.invoices import InvoiceLine
from engagebill.domain.money import MAX_MINOR, Money, parse_decimal
from engagebill.entrypoints.cli.common import parse_date
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.services import invoicing
from engagebill.services.lines import LineInput, parse_line
from engagebill.services.work import parse_work_date
from tests.proof.harness import scale
from tests.support import (
    FixedClock,
    a_client,
    a_po,
    an_engagement,
    an_organization,
    migrated_app,
    postgres_database,
)

pytestmark = pytest.mark.slow  # a long mode too: `make soak` runs 2,000 examples a property
T = TypeVar("T")
EXAMPLES = scale(150, 2000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- strategies ----------------------------------------------------------------------------

NUMBERISH = st.from_regex(
    r"\A\s?[+-]?[0-9_]{0,18}(\.[0-9]{0,8})?([eE][+-]?[0-9]{1,20})?\s?\Z", fullmatch=True
)
ODD_AMOUNTS = st.sampled_from(
    [
        "NaN",
        "-sNaN",
        "Infinity",
        "-inf",
        "1e999999999999999999",
        "1e-999999999999999999",
        "999999999999999.99",
        "1000000000000000",
        "1,000.00",
        "1.000,00",
        "€10",
        "10 EUR",
        "0x10",
        "١٢٣",  # Arabic-Indic digits: Decimal reads them
        "",
        " ",
        "-0",
        "0." + "0" * 40 + "1",
        "1." + "1" * 40,
        "9" * 30,
    ]
)
AMOUNTS: st.SearchStrategy[Any] = st.one_of(
    NUMBERISH,
    ODD_AMOUNTS,
    st.text(max_size=30),
    st.decimals(),
    st.integers(),
    st.floats(),
    st.none(),
    st.booleans(),
    st.binary(max_size=6),
    st.lists(st.integers(), max_size=2),
)
CURRENCIES: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["EUR", "USD", "JPY", "BHD", "CLF", "eur", "XXX", "", "EURO"]),
    st.text(max_size=4),
    st.none(),
    st.integers(),
)
DATE_TEXT = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}\Z", fullmatch=True),
    st.dates().map(date.isoformat),
    st.sampled_from(["0000-01-01", "9999-12-31", "2025-02-29", "2024-02-29", "2025-W10-1"]),
    st.sampled_from(["20250301", "2025-03-01T10:00", "2025/03/01", "2025-3-1", "01/03/2025"]),
)
DATES = st.one_of(st.dates(), st.sampled_from([date.min, date.max, date(9999, 12, 15)]))
TEXT = st.text(max_size=60)
LONG_TEXT = st.one_of(st.none(), st.text(max_size=20), st.text(min_size=190, max_size=520))
PLAUSIBLE_LINE = st.builds(
    LineInput,
    description=st.text(min_size=1, max_size=40),
    quantity=st.decimals(min_value=-5, max_value=10**6, places=2).map(str),
    unit_price=st.decimals(min_value=-100, max_value=10**9, places=2).map(str),
    unit=st.sampled_from(["C62", "HUR", "DAY"]),
    vat_category=st.sampled_from(["S", "Z", "E", "AE", "O"]),
    vat_rate=st.sampled_from(["21", "0", "9.5", "19"]),
    service_date=st.none() | DATES,
    person=LONG_TEXT,
    requester=LONG_TEXT,
    approval_ref=LONG_TEXT,
)
FUZZY_LINE = st.builds(
    LineInput,
    description=TEXT,
    quantity=AMOUNTS,
    unit_price=AMOUNTS,
    unit=TEXT,
    vat_category=st.one_of(st.sampled_from(["S", "z", " AE ", "X", ""]), TEXT),
    vat_rate=AMOUNTS,
    source_ref=st.none() | TEXT,
    service_date=st.none() | DATES,
    person=LONG_TEXT,
    requester=LONG_TEXT,
    approval_ref=LONG_TEXT,
)
LINES = st.one_of(PLAUSIBLE_LINE, FUZZY_LINE)


# -- pure parsing --------------------------------------------------------------------------


def outcome(call: Callable[[], T]) -> T | DomainError:
    """What a call returns, or the domain error it refuses with; any other error escapes."""
    try:
        return call()
    except DomainError as exc:
        return exc


@FUZZ
@given(amount=AMOUNTS, currency=CURRENCIES)
@example(amount="999999999999999.99", currency="BHD")  # found by a random run: 10^18 fils
def test_money_of_gives_exact_money_or_a_validation_error(amount: Any, currency: Any) -> None:
    money = outcome(lambda: Money.of(amount, currency))
    if isinstance(money, DomainError):
        assert isinstance(money, ValidationError), money
        return
    assert not isinstance(amount, float | bool)
    assert money.currency in EXPONENTS
    assert money.amount.is_finite() and abs(money.amount) < Decimal("1e15")
    # What is done with an accepted amount works, or refuses with a domain error.
    assert money.rounded().currency == money.currency
    assert money.format().endswith(money.currency)
    minor = outcome(money.to_minor)
    if isinstance(minor, DomainError):
        # Too precise for the currency, or more minor units than are stored: 10^15 of a
        # three-decimal currency (BHD, KWD) is 10^18 of them, beyond MAX_MINOR.
        assert isinstance(minor, ValidationError), minor
        if money.is_whole_minor():
            assert minor.code == "money.out_of_range", minor
            assert abs(money.amount.scaleb(money.exponent)) > MAX_MINOR
        else:
            assert minor.code == "money.too_precise", minor
    else:
        assert Money.from_minor(minor, money.currency) == money


@FUZZ
@given(value=AMOUNTS)
def test_parse_decimal_gives_a_finite_decimal_or_a_validation_error_with_its_code(
    value: Any,
) -> None:
    number = outcome(lambda: parse_decimal(value, field="quantity", code="line.invalid_quantity"))
    if isinstance(number, DomainError):
        assert isinstance(number, ValidationError), number
        assert number.code in {"line.invalid_quantity", "money.float_refused", "money.out_of_range"}
        return
    assert number.is_finite() and abs(number) < Decimal("1e15")


@FUZZ
@given(text=DATE_TEXT)
def test_the_cli_date_parser_gives_a_date_or_a_validation_error(text: str) -> None:
    day = outcome(lambda: parse_date(text, "issue-date"))
    if isinstance(day, DomainError):
        assert isinstance(day, ValidationError) and day.code == "validation.invalid_date", day
        return
    assert day is None if text == "" else isinstance(day, date)


@FUZZ
@given(text=DATE_TEXT)
def test_the_work_date_parser_gives_a_date_or_a_validation_error(text: str) -> None:
    day = outcome(lambda: parse_work_date(text))
    if isinstance(day, DomainError):
        assert isinstance(day, ValidationError) and day.code == "work_item.invalid_date", day
        return
    assert isinstance(day, date)


@FUZZ
@given(line=LINES, currency=st.sampled_from(["EUR", "JPY", "BHD"]))
def test_parse_line_gives_a_valid_line_or_a_validation_error(
    line: LineInput, currency: str
) -> None:
    parsed = outcome(lambda: parse_line(line, currency, position=2))
    if isinstance(parsed, DomainError):
        assert isinstance(parsed, ValidationError), parsed
        assert parsed.message.startswith("line 2: ") and parsed.details["line"] == 2, parsed
        return
    assert isinstance(parsed, InvoiceLine)
    assert parsed.unit_price.currency == currency and parsed.unit_price.is_whole_minor()
    assert parsed.net.currency == currency


# -- use cases that write ------------------------------------------------------------------


@dataclass
class Desk:
    """An organization with an engagement to draft on, in a database of its own."""

    engine: Engine
    ctx: Any
    url: str
    org: str
    engagement: str
    po: str


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
        yield from _desk(url)
        return
    with postgres_database() as url:
        yield from _desk(url)


def _desk(url: str) -> Iterator[Desk]:
    app = migrated_app(url, FixedClock())
    org = an_organization(app)
    engagement = an_engagement(app, org, a_client(app, org))
    po = a_po(app, org, engagement)
    try:
        yield Desk(app.engine, app.ctx, url, org, engagement, po)
    finally:
        app.dispose()


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, in one query."""
    counts = select(
        *(
            select(func.count()).select_from(table).scalar_subquery().label(table.name)
            for table in metadata.sorted_tables
        )
    )
    with engine.connect() as conn:
        return dict(conn.execute(counts).one()._mapping)


@FUZZ
@given(
    lines=st.lists(LINES, max_size=3),
    issue_date=st.none() | DATES,
    purchase_order=st.sampled_from(["engagement's", "none", "unknown"]),
    notes=TEXT,
)
def test_a_draft_is_written_whole_and_sent_or_refused_with_nothing_written(
    desk: Desk, lines: list[LineInput], issue_date: date | None, purchase_order: str, notes: str
) -> None:
    po: dict[str, Any] = {
        "engagement's": {"purchase_order_id": desk.po},
        "none": {"purchase_order_id": None},
        "unknown": {"purchase_order_id": "po_" + "0" * 32},
    }[purchase_order]
    before = row_counts(desk.engine)
    draft = outcome(
        lambda: (
            invoicing.create_draft(
                desk.ctx,
                organization_id=desk.org,
                engagement_id=desk.engagement,
                lines=lines,
                issue_date=issue_date,
                notes=notes,
                **po,
            ).invoice
        )
    )
    if isinstance(draft, DomainError):
        assert row_counts(desk.engine) == before, draft
        return
    before = row_counts(desk.engine)
    sent = outcome(
        lambda: invoicing.send_invoice(desk.ctx, organization_id=desk.org, invoice_id=draft.id)
    )
    if isinstance(sent, DomainError):
        assert row_counts(desk.engine) == before, sent


@pytest.fixture(scope="module")
def cli_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    yield from _desk(f"sqlite:///{tmp_path_factory.mktemp('cli-fuzz') / 'cli.db'}")


@settings(FUZZ, max_examples=scale(40, 400))
@given(issue_date=DATE_TEXT, line=st.sampled_from(["Retainer|1|100.00", "Fix|x|1", "|1|1"]))
@example(issue_date="9999-12-31", line="Retainer|1|100.00")  # no due date after it
@example(issue_date="2025-02-29", line="Retainer|1|100.00")
def test_the_cli_refuses_a_bad_issue_date_or_line_with_a_domain_exit_code(
    cli_desk: Desk, issue_date: str, line: str
) -> None:
    before = row_counts(cli_desk.engine)
    command = ["--db", cli_desk.url, "invoice", "create", "--engagement", cli_desk.engagement]
    command += ["--line", line, "--issue-date", issue_date, "--org", cli_desk.org]
    result = CliRunner().invoke(cli_app, command)
    assert isinstance(result.exception, SystemExit | None), result.exception
    assert result.exit_code in {0, 3, 4, 5, 6, 7}, result.output
    if result.exit_code:
        assert row_counts(cli_desk.engine) == before
        assert "error: " in result.output
