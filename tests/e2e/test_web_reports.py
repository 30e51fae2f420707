"""The billing run, engagement, reports and calendar pages over HTTP (TestClient), on the demo.

Month-end from the seed: on 28 March the account manager plans the run for the 1st (how many
invoices, their numbers in order, whose PO each needs), executes it and sees a second plan
empty; opens an engagement to see its PO usage and its advance; reads revenue (chart, table,
CSV agree with ``services.reports.revenue``) and receivables aging; and subscribes to the
calendar feed so the 1st of the month reminds itself.

SQLite only: these pages read the same use cases the integration tests run on both backends.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engagebill.bootstrap import App
from engagebill.entrypoints.http import create_app
from engagebill.entrypoints.web.agency import ical
from engagebill.services import advances, billing_run, calendar_feed, queries, reports
from engagebill.services.calendar_feed import CalendarEvent, EventKind
from engagebill.services.demo import DEMO_EMAIL, DEMO_PASSWORD, load_demo
from engagebill.services.ports import InvoiceFilter
from tests.support import FixedClock, migrated_app

TODAY = date(2025, 3, 28)
TODAY_NOON = datetime(2025, 3, 28, 12, tzinfo=UTC)
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
NEW_ROUTES = [
    ("GET", "/run"),
    ("POST", "/run"),
    ("GET", "/run/progress/x_unknown"),
    ("GET", "/run/runs/x_unknown"),
    ("GET", "/engagements/x_unknown"),
    ("GET", "/reports"),
    ("GET", "/reports/revenue.csv"),
    ("GET", "/calendar"),
    ("GET", "/calendar.ics"),
    ("POST", "/calendar/subscription"),
]


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@dataclass
class Demo:
    app: App
    clock: FixedClock
    organization_id: str
    http: TestClient

    def csrf(self, path: str = "/run") -> str:
        match = CSRF.search(self.http.get(path).text)
        assert match is not None
        return match.group(1)

    def engagement(self, name: str) -> str:
        found = [
            e.id
            for e in queries.list_engagements(self.app.ctx, organization_id=self.organization_id)
            if e.name == name
        ]
        assert len(found) == 1, name
        return found[0]


def signed_in(http: TestClient) -> None:
    page = http.get("/login")
    token = LOGIN_TOKEN.search(page.text)
    assert token is not None
    response = http.post(
        "/login",
        data={
            "email": DEMO_EMAIL,
            "password": DEMO_PASSWORD,
            "login_token": token.group(1),
            "next": "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303


def a_demo(directory: Path) -> Iterator[Demo]:
    clock = FixedClock()
    clock.set(TODAY)
    application = migrated_app(f"sqlite:///{directory / 'demo.db'}", clock)
    application.ctx.settings["password_hashing"] = "fast"
    organization_id = load_demo(application.ctx, today=TODAY).organization_id
    clock.set(TODAY, hour=12)
    try:
        with TestClient(create_app(application.ctx)) as http:
            signed_in(http)
            yield Demo(application, clock, organization_id, http)
    finally:
        application.dispose()


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    """The demo, read only: tests that change it take ``fresh_demo``."""
    with tempfile.TemporaryDirectory() as directory:
        yield from a_demo(Path(directory))


@pytest.fixture
def fresh_demo(tmp_path: Path) -> Iterator[Demo]:
    yield from a_demo(tmp_path)


# --- no session, no page -----------------------------------------------------------------------
def test_every_new_route_refuses_an_anonymous_request(demo: Demo) -> None:
    with TestClient(create_app(demo.app.ctx)) as anonymous:
        for method, path in NEW_ROUTES:
            response = anonymous.request(method, path, follow_redirects=False)
            if method == "GET":
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"].startswith("/login?next="), path
            else:
                assert response.status_code in (401, 403), (method, path, response.status_code)
        # The private feed is public by design, but only for a token it knows.
        assert anonymous.get("/calendar/not-a-token.ics").status_code == 404


# --- the billing run ---------------------------------------------------------------------------
def test_the_run_page_shows_the_plan_executes_it_and_a_second_plan_is_empty(
    fresh_demo: Demo,
) -> None:
    demo = fresh_demo
    plan = billing_run.plan_run(
        demo.app.ctx, organization_id=demo.organization_id, as_of=date(2025, 4, 1)
    )
    assert len(plan.plan.invoices) == 1
    page = demo.http.get("/run", params={"as_of": "2025-04-01"})
    assert page.status_code == 200
    assert re.search(r'id="plan-count">1<', page.text)
    rows = re.findall(r'<tr class="plan-row" data-number="([^"]+)"', page.text)
    assert rows == plan.numbers == ["NW-2025-0011"]
    words = text_of(page.text)
    assert "4500012345" in words  # the retainer's PO
    assert "Monthly retainer" in words and "10,000.00 EUR" in words

    # Without a script: the run happens during the POST, then the result.
    response = demo.http.post(
        "/run",
        data={"csrf_token": demo.csrf(), "as_of": "2025-04-01"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/run/runs/")
    result = demo.http.get(response.headers["location"])
    assert result.status_code == 200
    assert re.search(r'id="count-created">1<', result.text)
    assert re.search(r'id="count-sent">1<', result.text)  # the retainer sends automatically
    assert "NW-2025-0011" in result.text
    again = demo.http.get("/run", params={"as_of": "2025-04-01"})
    assert 'id="plan-empty"' in again.text
    assert re.search(r'id="plan-count">0<', again.text)


def test_a_run_in_the_background_reports_its_progress(fresh_demo: Demo) -> None:
    demo = fresh_demo
    as_of = date(2025, 12, 31)
    plan = billing_run.plan_run(demo.app.ctx, organization_id=demo.organization_id, as_of=as_of)
    planned = len(plan.plan.invoices)
    assert planned == 9  # April to December's retainers
    page = demo.http.get("/run", params={"as_of": as_of.isoformat()})
    assert re.findall(r'data-number="([^"]+)"', page.text) == plan.numbers
    started = demo.http.post(
        "/run",
        data={"csrf_token": demo.csrf(), "as_of": as_of.isoformat()},
        headers={"Accept": "application/json"},
    )
    assert started.status_code == 202, started.text
    progress_url = started.json()["progress_url"]
    deadline = time.monotonic() + 30
    while True:
        progress = demo.http.get(progress_url, headers={"Accept": "application/json"}).json()
        if progress["finished"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert progress["finished"] and not progress["failed"], progress
    assert progress["done"] == progress["total"] == planned
    result = demo.http.get(progress["result_url"])
    assert re.search(rf'id="count-created">{planned}<', result.text)
    created = queries.list_invoices(
        demo.app.ctx,
        organization_id=demo.organization_id,
        query=InvoiceFilter(issued_from=date(2025, 4, 1), limit=1000),
    )
    assert sorted(i.number or "" for i in created) == sorted(plan.numbers)
    assert billing_run.plan_run(
        demo.app.ctx, organization_id=demo.organization_id, as_of=as_of
    ).plan.is_empty()
    # Another organization's (or an unknown) run is not found.
    assert demo.http.get("/run/progress/not-a-run").status_code == 404
    assert demo.http.get("/run/runs/not-a-run").status_code == 404


def test_a_run_date_that_is_not_a_date_is_refused_with_the_reason(demo: Demo) -> None:
    page = demo.http.get("/run", params={"as_of": "first of April"})
    assert page.status_code == 422
    assert "is not a date" in text_of(page.text)


# --- the engagement page ------------------------------------------------------------------------
def test_the_engagement_page_shows_po_usage_and_validity(demo: Demo) -> None:
    engagement = demo.engagement("Monthly retainer")
    page = demo.http.get(f"/engagements/{engagement}")
    assert page.status_code == 200
    words = text_of(page.text)
    [usage] = queries.list_purchase_orders(
        demo.app.ctx, organization_id=demo.organization_id, engagement_id=engagement
    )
    assert usage.purchase_order.number == "4500012345"
    assert "30,000.00 EUR / 120,000.00 EUR" in words
    assert '<meter min="0" max="120000.00" value="30000.00"' in page.text
    assert "Valid" in words and "31 Dec 2025" in words
    assert "Acme Retail" in words
    assert len(re.findall(r'<tr data-invoice="', page.text)) == len(
        queries.list_invoices(
            demo.app.ctx,
            organization_id=demo.organization_id,
            query=InvoiceFilter(engagement_id=engagement),
        )
    )
    assert 'id="advance-figures"' not in page.text  # a fee retainer has no advance


def test_the_engagement_page_shows_the_advance_invoiced_used_and_available(demo: Demo) -> None:
    engagement = demo.engagement("Managed service agreement")
    balance = advances.advance_ledger(
        demo.app.ctx, organization_id=demo.organization_id, engagement_id=engagement, as_of=TODAY
    ).balance
    page = demo.http.get(f"/engagements/{engagement}")
    assert page.status_code == 200

    def figure(name: str) -> str:
        match = re.search(rf'id="advance-{name}">(?:<strong>)?([^<]+)<', page.text)
        assert match is not None, name
        return match.group(1)

    assert figure("invoiced") == f"{balance.invoiced.amount:,.2f} EUR"
    assert figure("used") == f"{balance.used.amount:,.2f} EUR"
    assert figure("available") == f"{balance.available.amount:,.2f} EUR"
    assert balance.invoiced.amount > 0 and balance.used.amount > 0
    assert '<svg id="advance-chart"' in page.text and 'role="img"' in page.text
    points = re.findall(
        r'<circle class="point"[^>]*data-category="([^"]+)" data-value="([^"]+)"', page.text
    )
    assert points and Decimal(points[-1][1]) == balance.available.amount
    assert 'id="advance-ledger"' in page.text


def test_an_unknown_engagement_is_not_found(demo: Demo) -> None:
    assert demo.http.get("/engagements/eng_unknown").status_code == 404


# --- reports ------------------------------------------------------------------------------------
def test_the_revenue_chart_table_and_csv_agree_with_the_report(demo: Demo) -> None:
    first, last = date(2025, 1, 1), date(2025, 3, 31)
    report = reports.revenue(
        demo.app.ctx, organization_id=demo.organization_id, date_from=first, date_to=last
    )
    expected: dict[tuple[str, str, str], Decimal] = {}
    for row in report.rows:
        key = (row.currency, row.month, row.engagement_kind.value)
        expected[key] = expected.get(key, Decimal(0)) + row.net.amount
    params = {"date_from": first.isoformat(), "date_to": last.isoformat()}
    page = demo.http.get("/reports", params=params)
    assert page.status_code == 200
    drawn: dict[tuple[str, str, str], Decimal] = {}
    for currency, svg in re.findall(r'<svg id="revenue-chart-(\w+)"(.*?)</svg>', page.text, re.S):
        assert 'role="img"' in svg and "<title" in svg
        for month, kind, value in re.findall(
            r'data-category="([^"]+)" data-series="([^"]+)" data-value="([^"]+)"', svg
        ):
            drawn[(currency.upper(), month, kind)] = Decimal(value)
    assert drawn == expected
    assert {c for c, _, _ in drawn} == {"EUR", "GBP"}
    # The table under the chart: a month's total is the sum of its bars.
    march = re.search(r'<tr data-month="2025-03">(.*?)</tr>', page.text, re.S)
    assert march is not None
    eur_march = sum(v for (c, m, _), v in expected.items() if c == "EUR" and m == "2025-03")
    assert f"{eur_march:,.2f}" in march.group(1)

    exported = demo.http.get("/reports/revenue.csv", params=params)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert (
        'filename="revenue-2025-01-01-to-2025-03-31.csv"' in exported.headers["content-disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [
        (r["month"], r["client_id"], r["engagement_kind"], r["currency"], Decimal(r["net"]))
        for r in rows
    ] == [
        (r.month, r.client_id, r.engagement_kind.value, r.currency, r.net.amount)
        for r in report.rows
    ]


def test_a_reversed_date_range_is_refused_with_the_reason(demo: Demo) -> None:
    page = demo.http.get("/reports", params={"date_from": "2025-03-01", "date_to": "2025-01-01"})
    assert page.status_code == 422
    assert "date_to must not be before date_from" in text_of(page.text)


def test_receivables_aging_buckets_per_currency(demo: Demo) -> None:
    aging = reports.receivables_aging(demo.app.ctx, organization_id=demo.organization_id)
    page = demo.http.get("/reports")
    assert [t.currency for t in aging.totals] == ["EUR", "GBP"]
    for totals in aging.totals:
        row = re.search(rf'<tr data-currency="{totals.currency}">(.*?)</tr>', page.text, re.S)
        assert row is not None
        cells = dict(re.findall(r'data-bucket="([^"]+)">([^<]+)<', row.group(1)))
        assert list(cells) == ["current", "1-30", "31-60", "61-90", "over_90"]
        for bucket, amount in totals.buckets.items():
            assert cells[bucket.value] == f"{amount.amount:,.2f} {totals.currency}"
    # The demo has one retainer invoice 1-30 days past due.
    eur = aging.totals[0].buckets
    assert eur[reports.AgingBucket.DAYS_1_30].amount == Decimal("10000.00")


# --- the calendar feed --------------------------------------------------------------------------
def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def check_ics(body: bytes) -> list[str]:
    """The feed's structure: CRLF everywhere, folded at 75 octets; its unfolded lines."""
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")
    physical = body.split(b"\r\n")[:-1]
    assert all(len(line) <= 75 for line in physical), max(physical, key=len)
    assert len(physical) > 0
    lines = unfold(body.decode("utf-8"))[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines and any(line.startswith("PRODID:") for line in lines)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT")
    return lines


def test_the_calendar_has_one_event_per_retainer_day_po_expiry_and_unpaid_invoice(
    demo: Demo,
) -> None:
    feed = calendar_feed.upcoming_events(demo.app.ctx, organization_id=demo.organization_id)
    kinds = {k: [e for e in feed.events if e.kind is k] for k in EventKind}
    # April, May, June and July's retainer invoice days are within the horizon from 28 March.
    assert [e.on for e in kinds[EventKind.RETAINER_INVOICE]] == [
        date(2025, 4, 1),
        date(2025, 5, 1),
        date(2025, 6, 2),
        date(2025, 7, 1),
    ]
    assert {e.on for e in kinds[EventKind.PO_EXPIRY]} == {date(2025, 12, 31)}
    unpaid = [
        s
        for s in reports.receivables_aging(demo.app.ctx, organization_id=demo.organization_id).lines
    ]
    assert len(kinds[EventKind.INVOICE_DUE]) == len(unpaid)

    response = demo.http.get("/calendar.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    lines = check_ics(response.content)
    assert lines.count("BEGIN:VEVENT") == len(feed.events)
    uids = [line.removeprefix("UID:") for line in lines if line.startswith("UID:")]
    assert uids == [e.uid for e in feed.events] and len(set(uids)) == len(uids)
    assert all(line == "DTSTAMP:20250328T120000Z" for line in lines if line.startswith("DTSTAMP"))
    assert "DTSTART;VALUE=DATE:20250401" in lines
    # Fetched again later, the same events keep their UIDs.
    demo.clock.advance(hours=1)
    later = unfold(demo.http.get("/calendar.ics").text)
    assert [line for line in later if line.startswith("UID:")] == [f"UID:{u}" for u in uids]


def test_the_private_feed_opens_without_a_session_and_a_replaced_token_is_404(
    demo: Demo,
) -> None:
    created = demo.http.post("/calendar/subscription", data={"csrf_token": demo.csrf("/calendar")})
    assert created.status_code == 200
    assert created.headers["referrer-policy"] == "no-referrer"
    match = re.search(r'id="feed-url" type="text" readonly value="([^"]+)"', created.text)
    assert match is not None
    url = match.group(1)
    path = url.removeprefix("http://testserver")
    assert re.fullmatch(r"/calendar/[A-Za-z0-9_-]{43}\.ics", path)
    with TestClient(create_app(demo.app.ctx)) as anonymous:
        feed = anonymous.get(path)
        assert feed.status_code == 200
        lines = check_ics(feed.content)
        assert lines == unfold(demo.http.get("/calendar.ics").text)[:-1]
        assert anonymous.get("/calendar/" + "x" * 43 + ".ics").status_code == 404
        # A new URL replaces the old one, which stops working at once.
        demo.http.post("/calendar/subscription", data={"csrf_token": demo.csrf("/calendar")})
        assert anonymous.get(path).status_code == 404
    # Only the SHA-256 is stored: the token appears nowhere in the database.
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    with demo.app.ctx.uow() as uow:
        assert uow.calendar_feeds.user_for(token) is None


def test_ical_folds_at_75_octets_without_splitting_characters_and_escapes_text() -> None:
    event = CalendarEvent(
        uid="x@engagebill",
        kind=EventKind.INVOICE_DUE,
        on=date(2025, 4, 1),
        summary="Überweisung; Rechnung, fällig\\" + "€" * 40,
        description="line one\nline two",
    )
    body = ical.calendar([event], name="Test", now=TODAY_NOON).encode("utf-8")
    lines = check_ics(body)
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    assert summary == "SUMMARY:Überweisung\\; Rechnung\\, fällig\\\\" + "€" * 40
    assert "DESCRIPTION:line one\\nline two" in lines
    for piece in body.split(b"\r\n"):
        piece.decode("utf-8")  # every folded piece is whole UTF-8 on its own
