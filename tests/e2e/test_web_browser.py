"""The agency's web app in a real browser: Debian's chromium driven by Playwright, against a
real uvicorn server on a free loopback port, with the demo organization loaded.

The account manager's morning on 28 March: sign in, read the invoice list's states, open the
chase list (unopened first, then change requests), open an invoice and answer its change
request. Every page is checked for labelled inputs, no third-party requests, and a working
skip link; screenshots (desktop and phone) go to test-artifacts/ for people to look at.

Skips with a reason when /usr/bin/chromium is missing, unless ENGAGEBILL_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engagebill.domain.engagements import EngagementKind
from engagebill.domain.lifecycle import InvoiceState
from engagebill.services import queries, reports
from engagebill.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from engagebill.services.ports import InvoiceFilter
from tests.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Site,
    demo_site,
    require_browser,
)

TODAY = date(2025, 3, 28)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo on SQLite, served by uvicorn in a thread, as `make run` serves it."""
    require_browser()
    with demo_site(tmp_path_factory.mktemp("web"), TODAY) as served:
        yield served


@pytest.fixture(scope="module")
def chromium(site: Site) -> Iterator[Any]:
    sync_api = require_browser()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """One browser tab of a signed-in account manager, watching what it loads."""

    page: Any
    base: str
    requests: list[str]

    def go(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, (path, response)
        self.check()

    def check(self) -> None:
        """What every page must be: labelled inputs, nothing loaded from elsewhere."""
        unlabelled = self.page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter(e => e.type !== 'hidden')
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                .map(e => e.name || e.id)"""
        )
        assert unlabelled == [], f"inputs without a label on {self.page.url}: {unlabelled}"
        strangers = [url for url in self.requests if not url.startswith(self.base)]
        assert strangers == [], f"third-party requests: {strangers}"
        assert self.page.locator("h1").count() == 1

    def shoot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"web-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def sign_in(chromium: Any, site: Site, viewport: dict[str, int]) -> Visit:
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    visit = Visit(page, site.base, requests)
    page.goto(site.base + "/")
    assert page.url == site.base + "/login"
    visit.check()
    page.get_by_label("Email address").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(site.base + "/invoices")
    return visit


@pytest.fixture(scope="module")
def desk(chromium: Any, site: Site) -> Iterator[Visit]:
    visit = sign_in(chromium, site, DESKTOP)
    yield visit
    visit.page.context.close()


@pytest.fixture(scope="module")
def phone(chromium: Any, site: Site) -> Iterator[Visit]:
    visit = sign_in(chromium, site, PHONE)
    yield visit
    visit.page.context.close()


def test_sign_in_and_the_invoice_list_shows_the_states(desk: Visit, site: Site) -> None:
    page = desk.page
    desk.go("/invoices")
    expected = {
        s.id: s
        for s in queries.list_invoices(
            site.app.ctx, organization_id=site.organization_id, query=InvoiceFilter(limit=1000)
        )
    }
    rows = page.locator("#invoice-list tbody tr")
    assert rows.count() == len(expected)
    states = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        states[row.get_attribute("data-invoice")] = row.locator(".state").inner_text()
    words = {
        InvoiceState.SENT: "Sent",
        InvoiceState.CHANGE_REQUESTED: "Change Requested",
        InvoiceState.APPROVED: "Approved",
        InvoiceState.DRAFT: "Draft",
    }
    for invoice_id, summary in expected.items():
        if summary.state in words:
            assert states[invoice_id] in (words[summary.state], "Paid"), summary
        if summary.state is InvoiceState.LOCKED:
            assert states[invoice_id] == "Paid"  # the demo's locked invoices are paid in full
    assert {"Sent", "Change Requested", "Approved", "Paid", "Draft"} <= set(states.values())
    assert page.get_by_role("link", name="Invoices").get_attribute("aria-current") == "page"
    desk.shoot("invoices-desktop")


def test_the_chase_list_chases_the_unopened_first(desk: Visit, site: Site) -> None:
    page = desk.page
    desk.go("/chase")
    sections = page.locator("table.chase")
    assert [sections.nth(i).get_attribute("id") for i in range(sections.count())] == [
        "chase-unopened",
        "chase-change_requested",
    ]  # the demo has nothing past due
    shown = page.locator("tr.chase-row")
    order = [shown.nth(i).get_attribute("data-invoice") for i in range(shown.count())]
    expected = reports.chase_list(site.app.ctx, organization_id=site.organization_id)
    assert order == [item.standing.invoice.id for item in expected]
    # The first to chase: this month's Acme retainer, sent on the first business day and
    # never opened.
    first = expected[0].standing.invoice
    assert (first.client_name, first.engagement_name) == ("Acme Retail", "Monthly retainer")
    assert page.locator("tr.chase-row").first.locator("text=Re-send link").count() == 1
    revise = page.locator("#chase-change_requested").get_by_role("link", name="Revise")
    assert revise.count() == 1
    desk.shoot("chase-desktop")

    # One click re-sends the link, and the list comes back with the confirmation.
    page.locator("tr.chase-row").first.get_by_role("button", name="Re-send link").click()
    page.wait_for_url(re.compile(r".*/chase\?days=3$"))
    assert "A fresh link is on its way to 2 AP contact(s)." in page.locator("#flash").inner_text()


def test_the_client_page_answers_the_four_questions(desk: Visit, site: Site) -> None:
    page = desk.page
    desk.go("/clients")
    page.get_by_role("link", name="Initech").click()
    desk.check()
    counts = {
        key: page.locator(f"#count-{key}").inner_text()
        for key in ("went-out", "viewed", "approved", "stuck")
    }
    assert counts == {"went-out": "2", "viewed": "1", "approved": "0", "stuck": "2"}
    desk.shoot("client-desktop")


def test_open_an_invoice_and_answer_its_change_request(desk: Visit, site: Site) -> None:
    page = desk.page
    desk.go("/chase")
    page.locator("#chase-change_requested").get_by_role("link", name="Revise").click()
    desk.check()
    assert page.locator("h1").inner_text().startswith("Revise invoice NW-")
    page.get_by_label("Description").first.fill("Annual report layout: design")
    page.get_by_label("Unit price").first.fill("1800.00")
    page.locator("#description-2").fill("Annual report: print management")
    page.locator("#quantity-2").fill("1")
    page.locator("#unit_price-2").fill("600.00")
    page.get_by_role("button", name="Send the new version").click()
    page.wait_for_url(re.compile(r".*/invoices/inv_[0-9a-f]+$"))
    desk.check()
    assert "Version 2 of NW-" in page.locator("#flash").inner_text()
    assert page.locator("#invoice-state").inner_text() == "Sent"
    diff = page.locator("#diff-2 tbody tr")
    assert [diff.nth(i).get_attribute("class") for i in range(diff.count())] == [
        "diff-changed",
        "diff-added",
    ]
    assert (
        page.locator("#timeline li")
        .first.inner_text()
        .endswith("Revised: version 2 sent under the same number")
    )
    desk.shoot("invoice-revised-desktop")

    desk.go("/invoices")
    page.locator("#invoice-list tbody tr").filter(has_text="Approved").first.locator(
        "a.doc-number"
    ).click()
    desk.check()
    assert page.locator("#invoice-state").inner_text() == "Approved"
    assert page.get_by_role("button", name="Lock invoice").count() == 1
    assert page.locator("#links tbody tr").count() == 2  # one private link per AP contact
    desk.shoot("invoice-desktop")


def test_the_next_milestone_is_signed_off_from_the_engagement_page(desk: Visit, site: Site) -> None:
    [project] = queries.list_engagements(
        site.app.ctx, organization_id=site.organization_id, kind=EngagementKind.FIXED_PRICE
    )
    page = desk.page
    desk.go(f"/engagements/{project.id}")
    planned = page.locator("#milestones tr.milestone-row[data-state=planned]").first
    position = planned.locator("td").first.inner_text()
    planned.get_by_text("Sign off", exact=True).click()
    planned.get_by_label("Signed off by (as the client gave their name)").fill("Dana Scully")
    desk.shoot("engagement-sign-off-desktop")
    planned.get_by_role("button", name="Sign off and invoice").click()
    page.wait_for_url(re.compile(r".*/invoices/inv_[0-9a-f]+$"))
    desk.check()
    flash = page.locator("#flash").inner_text()
    assert f"Milestone {position} signed off by Dana Scully" in flash
    assert page.locator("#invoice-state").inner_text() == "Draft"

    desk.go(f"/engagements/{project.id}")
    signed = page.locator(f"#milestones tr.milestone-row:nth-child({position})")
    assert signed.get_attribute("data-state") == "invoiced"
    assert "signed off by Dana Scully" in signed.inner_text()


def test_the_keyboard_reaches_the_content_first(desk: Visit) -> None:
    page = desk.page
    desk.go("/invoices")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


def test_the_pages_read_well_on_a_phone(phone: Visit) -> None:
    page = phone.page
    for path, name in (
        ("/invoices", "invoices"),
        ("/chase", "chase"),
        ("/clients", "clients"),
        ("/settings", "settings"),
    ):
        phone.go(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} scrolls sideways on a phone ({overflow}px)"
        phone.shoot(f"{name}-phone")
    phone.go("/invoices")
    page.locator("#invoice-list tbody tr").first.locator("a.doc-number").click()
    phone.check()
    phone.shoot("invoice-phone")
