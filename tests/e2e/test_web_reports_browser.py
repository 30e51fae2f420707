"""The billing run and the revenue chart in a real browser: Debian's chromium driven by
Playwright against uvicorn on a free loopback port, with the demo loaded.

The run from plan to execution: plan December's month-end, press the button, watch the
progress bar fill (the page's own script polls the progress endpoint), land on the result.
Then the revenue report's chart. Screenshots go to test-artifacts/.

Skips with a reason when /usr/bin/chromium is missing, unless ENGAGEBILL_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from engagebill.services import billing_run
from engagebill.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    Site,
    demo_site,
    require_browser,
)
from tests.e2e.test_web_browser import TODAY


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    with demo_site(tmp_path_factory.mktemp("run"), TODAY) as served:
        yield served


@pytest.fixture(scope="module")
def page(site: Site) -> Iterator[Any]:
    sync_api = require_browser()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=DESKTOP)
        tab = context.new_page()
        requests: list[str] = []
        tab.on("request", lambda request: requests.append(request.url))
        tab.goto(site.base + "/login")
        tab.get_by_label("Email address").fill(DEMO_EMAIL)
        tab.get_by_label("Password").fill(DEMO_PASSWORD)
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_url(site.base + "/invoices")
        try:
            yield tab
        finally:
            assert [u for u in requests if not u.startswith(site.base)] == []
            browser.close()


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


def test_a_billing_run_from_plan_to_execution(page: Any, site: Site) -> None:
    as_of = "2025-12-31"
    plan = billing_run.plan_run(
        site.app.ctx, organization_id=site.organization_id, as_of=TODAY.replace(month=12, day=31)
    )
    page.get_by_role("link", name="Billing run").click()
    page.get_by_label("Run as of").fill(as_of)
    page.get_by_role("button", name="Plan").click()
    page.wait_for_url(f"{site.base}/run?as_of={as_of}")
    numbers = page.locator("tr.plan-row").evaluate_all("rows => rows.map(r => r.dataset.number)")
    assert numbers == plan.numbers and len(numbers) == 9
    assert page.locator("tr.plan-row td.po").first.inner_text() == "4500012345"
    progress = page.locator("#run-progress")
    assert progress.is_hidden()
    shoot(page, "run-plan")

    page.get_by_role("button", name="Run the billing").click()
    # The page's script shows the bar, polls, and fills it before moving to the result.
    page.locator("#run-progress[data-finished]").wait_for(timeout=30_000)
    bar = page.locator("#run-bar")
    assert bar.evaluate("b => [b.value, b.max]") == [9, 9]
    assert "Done: 9 of 9" in page.locator("#run-status").inner_text()
    shoot(page, "run-progress")
    page.wait_for_url(f"{site.base}/run/runs/**")
    assert page.locator("#count-created").inner_text() == "9"
    assert page.locator("#count-sent").inner_text() == "9"
    shoot(page, "run-result")

    page.get_by_role("link", name="Plan again for 31 Dec 2025").click()
    assert page.locator("#plan-empty").is_visible()


def test_the_revenue_chart(page: Any, site: Site) -> None:
    page.goto(f"{site.base}/reports?date_from=2025-01-01&date_to=2025-03-31")
    chart = page.get_by_role("img", name="Net revenue by month, EUR, stacked by engagement kind")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    bars = page.locator("#revenue-chart-eur rect.bar")
    assert bars.count() == 5  # Jan: fixed price + retainer; Feb: retainer; Mar: both + Globex
    assert page.locator("#revenue-table-eur tr[data-month]").count() == 3
    assert page.locator("#aging").is_visible()
    shoot(page, "reports")
