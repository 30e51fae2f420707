"""The recipient's journey in a real browser: Debian's chromium, driven by Playwright.

A real uvicorn server serves engagebill on a free loopback port. The recipient opens the
private link (the page's beacon moves the invoice to viewed), adds a PO number, requests a
change; the agency revises; the same link shows version 2 under the same number; the
recipient approves by typing a name. A screenshot of each step goes to ``test-artifacts/``.
Following an external link from the page sends no Referer, so the token in the page's URL
never leaves with it, and the server's access log never shows a token.

Without /usr/bin/chromium the test is skipped, unless ENGAGEBILL_REQUIRE_BROWSER=1 makes it a
failure. Never ``playwright install``: the browser is Debian's.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Page, expect, sync_playwright

from engagebill.domain.lifecycle import InvoiceState
from engagebill.entrypoints.http import NoLinkTokens, create_app
from engagebill.services import invoicing, queries
from engagebill.services.links import IssuedLink
from tests.support import World, an_engagement, line

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("ENGAGEBILL_REQUIRE_BROWSER") == "1":
        pytest.fail(
            f"ENGAGEBILL_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt install chromium)"
        )
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")


class _Lines(logging.Handler):
    """Keeps the formatted access-log lines, as the server would print them."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def serving(app: FastAPI) -> Iterator[tuple[str, list[str]]]:
    """engagebill on a real uvicorn server on a free loopback port, with the access-log filter
    that ``engagebill serve`` installs; yields the base URL and the access-log lines."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # the port stays ours from here: no race for a free one
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="info", lifespan="off", server_header=False)
    server = uvicorn.Server(config)
    access = logging.getLogger("uvicorn.access")
    no_tokens, lines = NoLinkTokens(), _Lines()
    access.addFilter(no_tokens)
    access.addHandler(lines)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield base, lines.lines
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        access.removeFilter(no_tokens)
        access.removeHandler(lines)


@contextmanager
def referer_recorder() -> Iterator[tuple[str, dict[str, str | None]]]:
    """A second, unrelated site on loopback that records the Referer of each path asked."""
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen[self.path] = self.headers.get("Referer")
            body = b"<!doctype html><title>elsewhere</title><p>elsewhere</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"recipient-{name}.png"), full_page=True)


def a_sent_invoice(world: World) -> tuple[str, str, str]:
    """A milestone invoice sent to Acme's AP contact: its id, number and link token."""
    engagement = an_engagement(
        world.app, world.org_id, world.client_id, kind="fixed_price", name="Website rebuild"
    )
    draft = invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement,
        lines=[line("Website rebuild, Milestone 2: design system sign-off", price="25000.00")],
    ).invoice
    issued: list[IssuedLink] = []
    sent = invoicing.send_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=draft.id, issued=issued
    )
    assert sent.number is not None
    return sent.id, sent.number, issued[0].token


def state_of(world: World, invoice_id: str) -> InvoiceState:
    detail = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)
    return detail.invoice.state


# A browser on SQLite is enough: the pages' behaviour on both databases is in
# test_recipient_pages.py.
@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_recipient_reviews_and_approves_an_invoice_in_a_browser(world: World) -> None:
    require_chromium()
    invoice_id, number, token = a_sent_invoice(world)
    with (
        serving(create_app(world.ctx)) as (base, access_log),
        referer_recorder() as (elsewhere, referers),
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            requested: list[str] = []
            page.on("request", lambda request: requested.append(request.url))
            console_errors: list[str] = []
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if message.type == "error" else None
                ),
            )

            # 1. Open the link: the beacon, not the GET, moves the invoice to viewed.
            page.goto(f"{base}/l/{token}")
            expect(page.locator("h1")).to_contain_text(f"Invoice {number}")
            expect(page.locator("#state-label")).to_have_text("Viewed")
            assert state_of(world, invoice_id) is InvoiceState.VIEWED
            shoot(page, "01-opened")

            # 2. Add the PO number: an amendment, same number, same version.
            page.get_by_label("Your purchase order (PO) number").fill("PO-7781")
            page.get_by_role("button", name="Add PO number").click()
            expect(page.get_by_role("status")).to_contain_text(
                f"PO number PO-7781 recorded on invoice {number}, version 1"
            )
            expect(page.locator("#po-number")).to_have_text("PO-7781")
            shoot(page, "02-po-added")

            # 3. Request a change.
            page.get_by_label("What should change?").fill("Split the milestone into two lines")
            page.get_by_role("button", name="Send change request").click()
            expect(page.get_by_role("status")).to_contain_text("Your change request was sent")
            expect(page.locator("#state-label")).to_have_text("Change requested")
            shoot(page, "03-change-requested")

            # 4. The agency answers with version 2; the same link shows it, same number.
            invoicing.revise_invoice(
                world.ctx,
                organization_id=world.org_id,
                invoice_id=invoice_id,
                lines=[
                    line("Milestone 2a: components", price="15000.00"),
                    line("Milestone 2b: documentation", price="10000.00"),
                ],
            )
            page.goto(f"{base}/l/{token}")
            expect(page.locator("#invoice-number")).to_have_text(number)
            expect(page.locator("#invoice-version")).to_contain_text("Version 2")
            expect(page.get_by_text("Milestone 2a: components").first).to_be_visible()
            earlier = page.locator("details", has_text="Version 1")
            expect(earlier).to_have_count(1)
            assert earlier.get_attribute("open") is None  # earlier versions start collapsed
            expect(page.locator("#po-number")).to_have_text("PO-7781")
            shoot(page, "04-version-2")

            # 5. Approve by typing a name.
            page.get_by_label("Your full name").fill("Dana Scully")
            page.get_by_role("button", name="Approve invoice").click()
            expect(page.get_by_role("status")).to_contain_text(
                "Approved for payment by Dana Scully"
            )
            expect(page.locator("#state-label")).to_have_text("Approved")
            assert state_of(world, invoice_id) is InvoiceState.APPROVED
            shoot(page, "05-approved")

            # Everything the page loaded came from engagebill itself.
            assert requested and all(url.startswith(f"{base}/") for url in requested), requested
            assert console_errors == []  # no CSP violation, no failed asset

            # 6. On a phone: nothing wider than the screen but the lines table's own scroller.
            phone = browser.new_page(viewport=PHONE, device_scale_factor=2)
            phone.goto(f"{base}/l/{token}")
            expect(phone.locator("#state-label")).to_have_text("Approved")
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
            shoot(phone, "06-phone")

            # 7. Following an external link from the page sends no Referer.
            with page.expect_navigation():
                page.evaluate(
                    """(url) => {
                        const a = document.createElement("a");
                        a.href = url;
                        a.textContent = "our partner's site";
                        document.body.appendChild(a);
                        a.click();
                    }""",
                    f"{elsewhere}/landing",
                )
            expect(page.locator("p")).to_have_text("elsewhere")
            assert "/landing" in referers and referers["/landing"] is None
            assert page.evaluate("document.referrer") == ""
        finally:
            browser.close()
    assert any("/l/<token>" in entry for entry in access_log)
    assert not any(token in entry for entry in access_log)
