"""Use cases for work items: out-of-scope work recorded, approved in writing, and imported.

This module owns how work comes in. A work item belongs on a ``time_and_material``
engagement, or on an ``advance``-mode retainer whose prepaid balance the work draws down; a
fixed price or a fee retainer already covers its scope, so extra work there is refused. Its
hours are a positive number to the hundredth, less than a month of days and nights; its rate
is a positive amount in the engagement's currency, in whole minor units. It is approved only
with a reference to the client's written approval (a link to the approving email or message,
or an accepted mini-quote), or with an override whose reason is recorded.

It also owns the CSV import from time trackers: every row is checked and every bad row is
reported with its file line; a file with any bad row imports nothing.

Billing the approved items is the billing run's (``services.billing_run``): they go on one
change-order invoice per engagement, a line each.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, DecimalException
from typing import Any, TypeVar

from engagebill.domain.engagements import Engagement, EngagementKind, RetainerMode
from engagebill.domain.errors import Conflict, DomainError, RuleViolation, ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.money import Money, currency_exponent, round_half_up
from engagebill.domain.quotes import Quote, QuoteState
from engagebill.domain.work import WorkItem, WorkState
from engagebill.services.ports import Context, UnitOfWork
from engagebill.services.quotes import _approve_work as approve_by_quote
from engagebill.services.validation import clean_text

T = TypeVar("T")

HOURS_PLACES = 2  # hundredths of an hour: a line's quantity, and 0:20 reads as 0.33
MAX_HOURS = Decimal(24 * 31)  # one item of a month or more of days and nights is a typo
# Keeps hours x rate, and an invoice's sum of lines, far inside BIGINT minor units.
MAX_RATE_MINOR = 10**12
MAX_CSV_ROWS = 10_000
MAX_CSV_BYTES = 5 * 1024 * 1024
# The widths of the work_items and invoice_lines columns: PostgreSQL refuses longer text.
MAX_PERSON = 200
MAX_REQUESTER = 200
MAX_APPROVAL_REF = 500
MAX_DESCRIPTION = 1000  # an invoice line's limit
# An item billed without written approval shows "override: <reason>" as the line's approval
# reference, in the same 500-character column.
MAX_OVERRIDE_REASON = MAX_APPROVAL_REF - len("override: ")


# ---------------------------------------------------------------------------------------------
# Input and its checks
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkInput:
    """One piece of work as typed or exported, before validation."""

    work_date: date | str
    person: str
    hours: str
    rate: str
    description: str
    requester: str = ""
    approval_ref: str = ""
    currency: str = ""  # a tracker's currency column; when given it must be the engagement's


def _show(value: str) -> str:
    """A value quoted for a message, cut short so that one garbled cell cannot flood a report."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _as_text(value: object, field_name: str) -> str:
    """Numbers arrive as text from every interface; a Decimal is welcome, a float is not."""
    if isinstance(value, str):
        return value
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return str(value)
    raise ValidationError(
        f"{field_name} must be a decimal string, not {type(value).__name__}",
        code="money.float_refused" if isinstance(value, float) else "validation.invalid",
        details={"field": field_name},
    )


def _finite_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text)
    except (DecimalException, ValueError):
        return None
    return number if number.is_finite() else None


_SLASHED_ISO = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


def parse_work_date(value: date | str) -> date:
    """An ISO date; ``2025/03/14`` and a timestamp's day are taken too. ``03/04/2025`` is not:
    it is the 3rd of April in one country and the 4th of March in another."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip()
    if not text:
        raise ValidationError("date is empty", code="work_item.invalid_date")
    if match := _SLASHED_ISO.fullmatch(text):
        text = f"{match[1]}-{int(match[2]):02}-{int(match[3]):02}"
    elif len(text) > 10 and text[10] in "T ":
        text = text[:10]  # a timestamp: the work's day is its date part
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"date {_show(value)} is not a date: write it as YYYY-MM-DD, e.g. 2025-03-14",
            code="work_item.invalid_date",
        ) from None


_DURATION = re.compile(r"(\d{1,4}):([0-5]\d)(?::([0-5]\d))?")


def _duration_hours(match: re.Match[str]) -> Decimal:
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    # Minutes become hundredths of an hour, the precision of an invoice line's quantity.
    exact = Decimal(hours) + Decimal(minutes) / 60 + Decimal(seconds) / 3600
    return round_half_up(exact, HOURS_PLACES)


def _hours_error(message: str) -> ValidationError:
    return ValidationError(message, code="work_item.invalid_hours")


def parse_hours(value: str | Decimal) -> Decimal:
    """Decimal hours (``1.5``) or a duration (``1:30``, ``1:30:00``), as hours to the
    hundredth, more than zero and less than ``MAX_HOURS``."""
    text = _as_text(value, "hours").strip()
    if not text:
        raise _hours_error("hours is empty")
    if match := _DURATION.fullmatch(text):
        hours = _duration_hours(match)
    else:
        number = _finite_decimal(text)
        if number is None:
            raise _hours_error(
                f"hours {_show(text)} is not a number of hours: write 1.5 or 1:30, with a "
                "point for decimals"
            )
        hours = number
    if hours <= 0:
        raise _hours_error(f"hours {_show(text)} must be more than zero")
    if hours >= MAX_HOURS:
        raise _hours_error(
            f"hours {_show(text)} is a month or more: one work item is under {MAX_HOURS} hours"
        )
    step = Decimal(1).scaleb(-HOURS_PLACES)
    if hours != hours.quantize(step):
        raise _hours_error(f"hours {_show(text)} has more than {HOURS_PLACES} decimals")
    return hours.quantize(step)


_RATE = re.compile(r"(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<amount>\S+?)(?:\s*(?P<post>[A-Za-z]{3}))?")


def _rate_error(message: str) -> ValidationError:
    return ValidationError(message, code="work_item.invalid_rate")


def parse_rate(value: str | Decimal, currency: str) -> Money:
    """A positive hourly rate in whole minor units of ``currency``; ``120.00``, ``120 EUR`` and
    ``EUR 120`` are the same rate, ``120 USD`` is refused on a EUR engagement."""
    text = _as_text(value, "rate").strip()
    if not text:
        raise _rate_error("rate is empty")
    match = _RATE.fullmatch(text)
    number = _finite_decimal(match["amount"]) if match else None
    if match is None or number is None:
        raise _rate_error(
            f"rate {_show(text)} is not an amount: write it like 120.00 (in {currency}), with "
            "a point for decimals and no thousands separator"
        )
    code = (match["pre"] or match["post"] or currency).upper()
    if code != currency:
        raise ValidationError(
            f"rate {_show(text)} is in {code} but this engagement bills in {currency}",
            code="work_item.currency_mismatch",
        )
    # Compare before any scaling: scaling a huge or tiny Decimal overflows or underflows.
    minor_unit = Decimal(1).scaleb(-currency_exponent(currency))
    if number <= 0:
        raise _rate_error(f"rate {_show(text)} must be more than zero")
    if number >= MAX_RATE_MINOR * minor_unit:
        raise _rate_error(f"rate {_show(text)} is too large")
    rate = Money(number, currency)
    if number < minor_unit or not rate.is_whole_minor():
        raise _rate_error(f"rate {_show(text)} has more decimals than {currency} allows")
    return rate


_CURRENCY_CODE = re.compile(r"\b[A-Z]{3}\b")


def check_currency(value: str, currency: str) -> None:
    """A currency column (``EUR``, Harvest's ``Euro - EUR``) must name the engagement's."""
    text = value.strip().upper()
    if text and currency not in _CURRENCY_CODE.findall(text):
        raise ValidationError(
            f"currency {_show(value.strip())} is not {currency}, the engagement's currency",
            code="work_item.currency_mismatch",
        )


class _Problems:
    """Every refusal of one entry, instead of only the first: a row is fixed in one go."""

    def __init__(self) -> None:
        self.errors: list[ValidationError] = []

    def check(self, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except ValidationError as exc:
            self.errors.append(exc)
            return None

    def combined(self) -> ValidationError:
        if len(self.errors) == 1:
            return self.errors[0]
        return ValidationError(
            "; ".join(e.message for e in self.errors),
            code="work_item.invalid",
            details={"problems": [{"code": e.code, "message": e.message} for e in self.errors]},
        )


def build_item(
    entry: WorkInput, *, engagement: Engagement, item_id: str, created_at: datetime
) -> WorkItem:
    """A new, unapproved work item of ``engagement``, or one error naming every problem."""
    currency = engagement.currency
    problems = _Problems()
    work_date = problems.check(lambda: parse_work_date(entry.work_date))
    person = problems.check(
        lambda: clean_text(entry.person, "person", max_length=MAX_PERSON, required=True)
    )
    hours = problems.check(lambda: parse_hours(entry.hours))
    rate = problems.check(lambda: parse_rate(entry.rate, currency))
    problems.check(lambda: check_currency(entry.currency, currency))
    description = problems.check(
        lambda: clean_text(
            entry.description,
            "description",
            max_length=MAX_DESCRIPTION,
            required=True,
            multiline=True,
        )
    )
    requester = problems.check(
        lambda: clean_text(entry.requester, "requester", max_length=MAX_REQUESTER)
    )
    approval_ref = problems.check(
        lambda: clean_text(entry.approval_ref, "approval reference", max_length=MAX_APPROVAL_REF)
    )
    if (
        problems.errors
        or work_date is None
        or person is None
        or hours is None
        or rate is None
        or description is None
        or requester is None
        or approval_ref is None
    ):
        raise problems.combined()
    return WorkItem(
        id=item_id,
        organization_id=engagement.organization_id,
        engagement_id=engagement.id,
        work_date=work_date,
        person=person,
        hours=hours,
        rate=rate,
        description=description,
        requester=requester,
        approval_ref=approval_ref,
        state=WorkState.UNAPPROVED,
        created_at=created_at,
    )


def check_billable(engagement: Engagement) -> None:
    """Out-of-scope work goes on a time_and_material engagement; an advance-mode retainer
    takes work too, because delivered work draws its prepaid balance down."""
    if engagement.kind is EngagementKind.TIME_AND_MATERIAL:
        return
    if (
        engagement.kind is EngagementKind.RETAINER
        and engagement.retainer_mode is RetainerMode.ADVANCE
    ):
        return
    kind = engagement.kind.value
    if engagement.kind is EngagementKind.RETAINER:
        kind = f"{(engagement.retainer_mode or RetainerMode.FEE).value} retainer"
    raise RuleViolation(
        f"{engagement.name} is a {kind} engagement, which already covers its scope: record "
        "out-of-scope work on a time_and_material engagement of this client",
        code="work_item.not_billable_here",
        details={"engagement_id": engagement.id, "kind": engagement.kind.value},
    )


# ---------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------


def _recorded(item: WorkItem, at: datetime, **extra: Any) -> DomainEvent:
    return DomainEvent(
        "work_item.recorded",
        "work_item",
        item.id,
        at,
        {
            "engagement_id": item.engagement_id,
            "work_date": item.work_date.isoformat(),
            "person": item.person,
            "hours": str(item.hours),
            "rate": item.rate.decimal_string(),
            "currency": item.rate.currency,
            "amount": item.amount.decimal_string(),
            "description": item.description,
            "requester": item.requester,
            "approval_ref": item.approval_ref,
            "quote_id": item.quote_id,
            **extra,
        },
    )


def _approved(item: WorkItem, at: datetime) -> DomainEvent:
    return DomainEvent(
        "work_item.approved",
        "work_item",
        item.id,
        at,
        {
            "engagement_id": item.engagement_id,
            "approval_ref": item.approval_ref,
            "written_approval": item.has_written_approval,
            "override_reason": item.override_reason,
        },
    )


# ---------------------------------------------------------------------------------------------
# Use cases
# ---------------------------------------------------------------------------------------------


def _mini_quote(uow: UnitOfWork, engagement: Engagement, quote_id: str) -> Quote:
    """The quote new work is recorded under: this engagement's, and not declined (the rules
    of ``quotes.link_work_to_quote``)."""
    quote = uow.quotes.get(engagement.organization_id, quote_id)
    if quote.engagement_id != engagement.id:
        raise RuleViolation(
            "a work item can only be linked to a quote of its own engagement",
            code="work_item.wrong_engagement",
            details={"quote_id": quote_id},
        )
    if quote.state is QuoteState.DECLINED:
        raise RuleViolation("this quote was declined; it approves no work", code="quote.declined")
    return quote


def record_work_item(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str,
    work_date: date,
    person: str,
    hours: str | Decimal,
    rate: str | Decimal,
    description: str,
    requester: str = "",
    approval_ref: str = "",
    quote_id: str | None = None,
) -> WorkItem:
    """Record a piece of delivered work, unapproved; the rate is in the engagement's currency.

    Work recorded under a mini-quote (``quote_id``) is approved when the quote is accepted,
    or at once when it already is: the acceptance is the written approval.
    """
    entry = WorkInput(
        work_date=work_date,
        person=person,
        hours=_as_text(hours, "hours"),
        rate=_as_text(rate, "rate"),
        description=description,
        requester=requester,
        approval_ref=approval_ref,
    )
    now = ctx.clock.now()
    with ctx.uow() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        check_billable(engagement)
        item = build_item(entry, engagement=engagement, item_id=ctx.ids("work"), created_at=now)
        quote = _mini_quote(uow, engagement, quote_id) if quote_id else None
        item.quote_id = quote_id or None
        uow.work.add_many([item])
        uow.events.append(organization_id, [_recorded(item, now)])
        if quote is not None and quote.state is QuoteState.ACCEPTED:
            # One wording of a quote's approval, the quotes module's, for linked work too.
            approve_by_quote(uow, quote, [item], now)
        uow.commit()
    return item


def approve_work_items(
    ctx: Context,
    *,
    organization_id: str,
    work_item_ids: Sequence[str],
    approval_ref: str = "",
    override_reason: str = "",
) -> list[WorkItem]:
    """Approve items together, all or none (one email often approves a week of work).

    ``approval_ref`` is the written approval (replacing any recorded one); without one, an
    item needs its own, or ``override_reason``, which is recorded in the item and the event.
    """
    ref = clean_text(approval_ref, "approval reference", max_length=MAX_APPROVAL_REF)
    reason = clean_text(override_reason, "override reason", max_length=MAX_OVERRIDE_REASON)
    ids = list(dict.fromkeys(work_item_ids))
    if not ids:
        raise ValidationError("name at least one work item", code="work_item.none_given")
    now = ctx.clock.now()
    with ctx.uow() as uow:
        items = [uow.work.get(organization_id, i, for_update=True) for i in ids]
        for item in items:
            try:
                item.approve(approval_ref=ref, override_reason=reason)
            except DomainError as exc:
                exc.details.setdefault("work_item_id", item.id)
                raise
            uow.work.save(item)
        uow.events.append(organization_id, [_approved(item, now) for item in items])
        uow.commit()
    return items


def approve_work_item(
    ctx: Context,
    *,
    organization_id: str,
    work_item_id: str,
    approval_ref: str = "",
    override_reason: str = "",
) -> WorkItem:
    """Approve one item: with the reference to the written approval, or an override reason."""
    return approve_work_items(
        ctx,
        organization_id=organization_id,
        work_item_ids=[work_item_id],
        approval_ref=approval_ref,
        override_reason=override_reason,
    )[0]


def parse_states(states: Sequence[str | WorkState]) -> list[WorkState]:
    try:
        return [WorkState(s.strip().lower() if isinstance(s, str) else s) for s in states]
    except ValueError:
        raise ValidationError(
            f"state must be one of {', '.join(s.value for s in WorkState)}",
            code="work_item.invalid_state",
        ) from None


def list_work_items(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str | None = None,
    states: Sequence[str | WorkState] = (),
    limit: int | None = None,
) -> list[WorkItem]:
    """Work items by engagement, then date and recording time."""
    wanted = parse_states(states)
    with ctx.read() as uow:
        return uow.work.list(organization_id, engagement_id, wanted, limit=limit)


def get_work_item(ctx: Context, *, organization_id: str, work_item_id: str) -> WorkItem:
    with ctx.read() as uow:
        return uow.work.get(organization_id, work_item_id)


def unapproved_work(
    ctx: Context, organization_id: str, *, engagement_id: str | None = None
) -> list[WorkItem]:
    """The work a billing run leaves out because nobody confirmed a written approval: every
    unapproved item (the run's ``work_item.no_written_approval`` notice counts the same).
    Those with a reference recorded only need ``approve``; the rest need one, or a quote."""
    return list_work_items(
        ctx,
        organization_id=organization_id,
        engagement_id=engagement_id,
        states=[WorkState.UNAPPROVED],
    )


# ---------------------------------------------------------------------------------------------
# CSV import
# ---------------------------------------------------------------------------------------------

# Header names time trackers write (Harvest, Toggl, Clockify, spreadsheets), normalised to
# lower-case words; per field the first name found wins, so "Notes" beats "Task".
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("date", "work date", "start date", "spent date", "day"),
    "person": ("person", "user", "member", "employee", "user name", "username"),
    "hours": (
        "hours",
        "duration decimal",
        "decimal duration",
        "duration",
        "duration h",
        "hours worked",
        "time",
    ),
    "rate": ("rate", "billable rate", "hourly rate", "bill rate", "rate per hour"),
    "description": ("description", "notes", "note", "task", "details"),
    "requester": ("requester", "requested by", "client contact", "contact"),
    "approval": (
        "approval",
        "approval ref",
        "approval reference",
        "approval link",
        "approval url",
    ),
    "currency": ("currency",),
    # Harvest writes the person as two columns.
    "first name": ("first name",),
    "last name": ("last name",),
}
REQUIRED = ("date", "person", "hours", "rate", "description")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # 1-based line of the file, the header being line 1
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    entry: WorkInput


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import recorded: its id (in the ``work_csv.imported`` event) and the items."""

    import_id: str
    engagement_id: str
    currency: str
    items: list[WorkItem]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def total(self) -> Money:
        return Money.sum((i.amount for i in self.items), self.currency)

    @property
    def without_written_approval(self) -> int:
        return sum(1 for i in self.items if not i.has_written_approval)


def _too_large(message: str) -> ValidationError:
    return ValidationError(
        message,
        code="work_csv.too_large",
        details={"max_rows": MAX_CSV_ROWS, "max_bytes": MAX_CSV_BYTES},
    )


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV file: UTF-8, with or without the BOM spreadsheets write."""
    if len(data) > MAX_CSV_BYTES:
        raise _too_large(f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = "not UTF-8 text: export the file, or save it, as CSV UTF-8"
        raise ValidationError(
            f"the file is {message} (line {line})",
            code="work_csv.not_utf8",
            details={"errors": [RowError(line, message).as_dict()]},
        ) from None


def _check_size(text: str) -> bytes:
    """The text as UTF-8, refused above the size limit or when it cannot be stored."""
    if len(text) > MAX_CSV_BYTES:  # a character is at least a byte: no need to encode
        raise _too_large(f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            "the file holds characters that are not valid Unicode text",
            code="work_csv.not_utf8",
        ) from None
    if len(data) > MAX_CSV_BYTES:
        raise _too_large(f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB")
    return data


def _normal(name: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name.casefold()).split())


def _delimiter(body: str) -> str:
    """A comma, or the semicolon or tab a spreadsheet in another locale writes: whichever the
    header line holds most of (a comma on a tie)."""
    header = next((line for line in body.splitlines() if line.strip()), "")
    counts = {d: header.count(d) for d in ",;\t"}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(reader: Any) -> Iterator[tuple[int, list[str] | str]]:
    """(line the record starts on, its cells) for every non-blank record; a record the csv
    module cannot read comes as the reason instead, and ends the file."""
    start = 1
    while True:
        try:
            cells: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, f"cannot be read as CSV from here on: {exc}"
            return
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _column_error(line: int, message: str, code: str) -> ValidationError:
    return ValidationError(
        message, code=code, details={"errors": [RowError(line, message).as_dict()]}
    )


def map_columns(header: list[str], line: int = 1) -> dict[str, int]:
    """Which column holds which field, by the header's names, case and punctuation aside."""
    names = [_normal(cell) for cell in header]
    found: dict[str, int] = {}
    for field_name, aliases in COLUMNS.items():
        for alias in aliases:
            positions = [i for i, name in enumerate(names) if name == alias]
            if len(positions) > 1:
                raise _column_error(
                    line,
                    f"the header has {len(positions)} columns named {header[positions[0]]!r}: "
                    "keep one",
                    "work_csv.duplicate_column",
                )
            if positions:
                found[field_name] = positions[0]
                break
    if "person" not in found and "first name" in found:
        found["person"] = found["first name"]
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        wanted = "; ".join(f"{f} (one of: {', '.join(COLUMNS[f])})" for f in missing)
        raise _column_error(
            line,
            f"the header lacks the required column(s) {', '.join(missing)}: name them {wanted}",
            "work_csv.missing_columns",
        )
    return found


def _entry(cells: list[str], columns: dict[str, int]) -> WorkInput:
    def cell(field_name: str) -> str:
        position = columns.get(field_name)
        return cells[position] if position is not None and position < len(cells) else ""

    person = cell("person")
    if "first name" in columns and columns["person"] == columns["first name"]:
        person = f"{cell('first name').strip()} {cell('last name').strip()}"
    return WorkInput(
        work_date=cell("date"),
        person=person,
        hours=cell("hours"),
        rate=cell("rate"),
        description=cell("description"),
        requester=cell("requester"),
        approval_ref=cell("approval"),
        currency=cell("currency"),
    )


def read_work_csv(text: str) -> tuple[list[CsvRow], list[RowError]]:
    """The rows of a time tracker's CSV with their file lines, and the rows that are not
    even rows (more cells than the header, unreadable CSV). Refuses an empty file, a header
    without the required columns, and more than ``MAX_CSV_ROWS`` rows."""
    body = text.removeprefix("\ufeff")
    if not body.strip():
        raise ValidationError("the file is empty", code="work_csv.empty")
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=_delimiter(body))
    records = _records(reader)
    first = next(records, None)
    if first is None:  # only blank cells, such as ",,,"
        raise ValidationError("the file has no header row", code="work_csv.empty")
    header_line, header = first
    if isinstance(header, str):
        raise _column_error(header_line, f"the header {header}", "work_csv.invalid")
    columns = map_columns(header, header_line)
    rows: list[CsvRow] = []
    broken: list[RowError] = []
    for line, cells in records:
        if len(rows) + len(broken) >= MAX_CSV_ROWS:
            raise _too_large(f"the file has more than {MAX_CSV_ROWS} rows: split it")
        if isinstance(cells, str):
            broken.append(RowError(line, cells))
        elif any(cell.strip() for cell in cells[len(header) :]):
            broken.append(
                RowError(
                    line,
                    f"{len(cells)} cells but the header has {len(header)}: quote a text that "
                    "holds the delimiter",
                )
            )
        else:
            rows.append(CsvRow(line, _entry(cells, columns)))
    if not rows and not broken:
        raise ValidationError("the file has a header but no rows of work", code="work_csv.empty")
    return rows, broken


def _items_or_report(
    ctx: Context, engagement: Engagement, rows: list[CsvRow], broken: list[RowError]
) -> list[WorkItem]:
    """Every row as a work item, or ``work_csv.invalid`` listing every bad row by line."""
    now = ctx.clock.now()
    items: list[WorkItem] = []
    errors = list(broken)
    for position, row in enumerate(rows):
        try:
            # A microsecond apart, so the invoice lists one day's work in the file's order.
            created_at = now + timedelta(microseconds=position)
            item_id = ctx.ids("work")
            items.append(
                build_item(row.entry, engagement=engagement, item_id=item_id, created_at=created_at)
            )
        except ValidationError as exc:
            errors.append(RowError(row.line, exc.message))
    if errors:
        errors.sort(key=lambda e: e.line)
        total = len(rows) + len(broken)
        raise ValidationError(
            f"{len(errors)} of {total} rows cannot be imported; nothing was imported",
            code="work_csv.invalid",
            details={"errors": [e.as_dict() for e in errors], "rows": total},
        )
    return items


def _import_id(engagement_id: str, data: bytes) -> str:
    """The same file into the same engagement gets the same id: a second import is caught."""
    digest = hashlib.sha256(engagement_id.encode() + b"\n" + data).hexdigest()
    return f"wimp_{digest[:32]}"


def import_work_csv(
    ctx: Context, *, organization_id: str, engagement_id: str, text: str
) -> ImportResult:
    """Import a time tracker's CSV export into an engagement as unapproved work items.

    All rows or none: every bad row is reported (``work_csv.invalid``, with
    ``details["errors"]`` as ``{"line", "message"}``). Importing the same file into the same
    engagement twice is refused (``work_csv.already_imported``), so nothing is billed twice.
    """
    data = _check_size(text)
    with ctx.uow() as uow:  # a short read: the currency, and whether work belongs here
        engagement = uow.engagements.get(organization_id, engagement_id)
    check_billable(engagement)
    rows, broken = read_work_csv(text)
    items = _items_or_report(ctx, engagement, rows, broken)
    import_id = _import_id(engagement_id, data)
    result = ImportResult(import_id, engagement_id, engagement.currency, items)
    now = ctx.clock.now()
    with ctx.uow() as uow:
        earlier = uow.events.for_subject(organization_id, import_id)
        if earlier:
            raise Conflict(
                f"this file was already imported into {engagement.name} "
                f"(at {earlier[0].occurred_at}); nothing was imported again",
                code="work_csv.already_imported",
                details={"import_id": import_id},
            )
        uow.work.add_many(items)
        events = [
            _recorded(item, now, import_id=import_id, line=row.line)
            for item, row in zip(items, rows, strict=True)
        ]
        events.append(
            DomainEvent(
                "work_csv.imported",
                "work_import",
                import_id,
                now,
                {
                    "engagement_id": engagement_id,
                    "rows": len(items),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "total": result.total.decimal_string(),
                },
            )
        )
        uow.events.append(organization_id, events)
        uow.commit()
    return result
