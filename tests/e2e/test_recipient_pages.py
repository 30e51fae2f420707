"""The recipient's pages over HTTP, on SQLite and PostgreSQL: a private link is a capability.

The story of the seed: the recipient opens the link, adds the PO number or the cost centre
(an amendment: same number, same version), requests a change (the agency answers with version
2 under the same number, at the same link) or approves by typing a name. Opening the page
changes nothing; the page's beacon records the view. Every form carries a CSRF field; unknown
tokens get the same 404 and, after ten a minute, 429; revoked and expired links get 410.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from engagebill.domain.access import DocumentType
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.quotes import MilestoneState, QuoteState
from engagebill.entrypoints.http import NoLinkTokens, create_app
from engagebill.entrypoints.web.ratelimit import FailedLookupLimiter
from engagebill.services import invoicing, links, parties, queries, quotes, settlement
from engagebill.services.links import IssuedLink
from engagebill.services.quotes import QuoteItemInput
from tests.support import World, a_po, an_engagement, line

CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SHOWN_HASH = re.compile(r'name="shown_hash" value="([0-9a-f]+)"')


@dataclass
class SentInvoice:
    id: str
    number: str
    token: str


def a_sent_invoice(world: World, *, prepaid: Money | None = None) -> SentInvoice:
    engagement = an_engagement(world.app, world.org_id, world.client_id, kind="fixed_price")
    draft = invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement,
        lines=[line("Website rebuild, Milestone 2: design system sign-off", price="20000.00")],
        prepaid=prepaid,
    ).invoice
    issued: list[IssuedLink] = []
    sent = invoicing.send_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=draft.id, issued=issued
    )
    assert sent.number is not None and len(issued) == 1  # one AP contact, one link
    return SentInvoice(sent.id, sent.number, issued[0].token)


@pytest.fixture
def web(world: World) -> FastAPI:
    return create_app(world.ctx)


@pytest.fixture
def browser(web: FastAPI) -> Iterator[TestClient]:
    with TestClient(web) as client:
        yield client


def invoice_of(world: World, sent: SentInvoice):  # type: ignore[no-untyped-def]
    return queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=sent.id)


def events_of(world: World, document_id: str) -> list[str]:
    with world.ctx.uow() as uow:
        return [e.kind for e in uow.events.for_subject(world.org_id, document_id)]


def view_times(world: World, document_id: str) -> list[object]:
    [link] = links.links_for(world.ctx, organization_id=world.org_id, document_id=document_id)
    with world.ctx.uow() as uow:
        return list(uow.links.views(world.org_id, link.id))


def open_page(browser: TestClient, token: str) -> tuple[str, str]:
    """GET the page; return its HTML and the CSRF field its forms carry."""
    page = browser.get(f"/l/{token}")
    assert page.status_code == 200, page.text
    match = CSRF_FIELD.search(page.text)
    assert match is not None
    return page.text, match.group(1)


def act(browser: TestClient, token: str, action: str, **fields: str):  # type: ignore[no-untyped-def]
    """Open the page as the recipient would, then submit one of its forms."""
    _, field = open_page(browser, token)
    return browser.post(
        f"/l/{token}/{action}", data={"csrf_token": field, **fields}, follow_redirects=False
    )


def confirmed(browser: TestClient, token: str, response) -> str:  # type: ignore[no-untyped-def]
    """POST/redirect/GET: the action redirects to the page, which shows the confirmation."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/l/{token}"
    page = browser.get(response.headers["location"])
    assert page.status_code == 200
    assert 'role="status"' in page.text
    return page.text


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed, for reading assertions."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# Viewing ---------------------------------------------------------------------------------------


def test_opening_the_page_changes_nothing_and_each_beacon_records_a_view(
    world: World, browser: TestClient
) -> None:
    sent = a_sent_invoice(world)
    for _ in range(3):  # a mail scanner prefetching the link, and the recipient's GETs
        html, field = open_page(browser, sent.token)
    assert invoice_of(world, sent).invoice.state is InvoiceState.SENT
    assert view_times(world, sent.id) == []
    assert "invoice.viewed" not in events_of(world, sent.id)
    assert 'id="view-beacon"' in html and "<noscript>" in html and "beacon" in html

    first = browser.post(
        f"/l/{sent.token}/view", data={"csrf_token": field, "beacon": "1"}, follow_redirects=False
    )
    assert first.status_code == 200
    assert first.json()["label"] == "Viewed"
    assert invoice_of(world, sent).invoice.state is InvoiceState.VIEWED

    world.clock.advance(hours=2)
    again = browser.post(f"/l/{sent.token}/view", data={"csrf_token": field, "beacon": "1"})
    assert again.status_code == 200 and again.json()["label"] == "Viewed"
    times = view_times(world, sent.id)
    assert len(times) == 2 and times[0] < times[1]  # type: ignore[operator]
    viewed = [k for k in events_of(world, sent.id) if k == "invoice.viewed"]
    assert len(viewed) == 2
    assert invoice_of(world, sent).invoice.state is InvoiceState.VIEWED


def test_without_scripts_the_noscript_button_records_the_view(
    world: World, browser: TestClient
) -> None:
    sent = a_sent_invoice(world)
    response = act(browser, sent.token, "view")
    page = confirmed(browser, sent.token, response)
    assert "can see that you opened this page" in page
    assert 'id="view-beacon"' not in page  # the confirmation is not a second view
    assert len(view_times(world, sent.id)) == 1
    assert invoice_of(world, sent).invoice.state is InvoiceState.VIEWED


def test_the_page_shows_the_invoice_as_sent(world: World, browser: TestClient) -> None:
    sent = a_sent_invoice(world, prepaid=Money.of("4000.00", "EUR"))
    html, _ = open_page(browser, sent.token)
    words = text_of(html)
    assert f"Invoice {sent.number}" in words and "Version 1" in words
    assert "Status: Sent" in words
    assert "Website rebuild, Milestone 2: design system sign-off" in words
    assert "Acme Retail GmbH" in words and "Cost centre MKT-100" in words
    assert "PO number None yet" in words
    assert "Net total 20,000.00 EUR" in words
    assert "VAT 21% on 20,000.00 EUR 4,200.00 EUR" in words
    assert "Total 24,200.00 EUR" in words
    assert "Prepaid (advance) −4,000.00 EUR" in words
    assert "Amount due 20,200.00 EUR" in words
    assert re.search(r'<td class="num">20,000.00 EUR</td>', html)  # money right-aligned
    # The documents are offered under the link itself.
    assert 'href="/l/' in html
    assert "/invoice.pdf" in html
    assert "/invoice.ubl.xml" in html
    # Every input has a label.
    inputs = re.findall(r'<(?:input|textarea)(?![^>]*type="hidden")[^>]*id="([^"]+)"', html)
    assert inputs and all(f'for="{i}"' in html for i in inputs)


# Acting ----------------------------------------------------------------------------------------


def test_the_recipient_amends_requests_a_change_and_approves_the_new_version(
    world: World, browser: TestClient
) -> None:
    sent = a_sent_invoice(world)
    browser.post(f"/l/{sent.token}/view", data={"csrf_token": open_page(browser, sent.token)[1]})

    page = confirmed(
        browser, sent.token, act(browser, sent.token, "po", purchase_order_number="PO-7781")
    )
    assert f"PO number PO-7781 recorded on invoice {sent.number}, version 1" in page
    assert 'id="po-number">PO-7781<' in page

    page = confirmed(
        browser, sent.token, act(browser, sent.token, "billing-entity", cost_centre="AP-42")
    )
    assert "Cost centre AP-42 recorded" in page and 'id="cost-centre">AP-42<' in page

    entity = {
        "legal_name": "Acme Retail Europe GmbH",
        "line1": "Unter den Linden 5",
        "line2": "",
        "city": "Berlin",
        "postal_code": "10117",
        "country_code": "DE",
        "tax_id": "DE136695976",
        "cost_centre": "AP-43",
    }
    page = confirmed(browser, sent.token, act(browser, sent.token, "billing-entity", **entity))
    assert "Billing details recorded" in page and "Acme Retail Europe GmbH" in page

    invoice = invoice_of(world, sent).invoice
    assert (invoice.number, invoice.version) == (sent.number, 1)  # amendments: same both
    assert [a.field.value for a in invoice.amendments] == [
        "purchase_order",
        "cost_centre",
        "billing_entity",
    ]
    assert invoice.effective_buyer().cost_centre == "AP-43"

    page = confirmed(
        browser,
        sent.token,
        act(browser, sent.token, "change-request", message="Split the milestone in two lines"),
    )
    assert "Your change request was sent" in page
    assert "Status: Change requested" in text_of(page)
    assert "Split the milestone in two lines" in page
    assert invoice_of(world, sent).invoice.state is InvoiceState.CHANGE_REQUESTED

    invoicing.revise_invoice(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=sent.id,
        lines=[
            line("Milestone 2a: components", price="12000.00"),
            line("Milestone 2b: documentation", price="8000.00"),
        ],
    )
    html, _ = open_page(browser, sent.token)
    words = text_of(html)
    assert f"Invoice {sent.number}" in words and "Version 2" in words
    assert "Milestone 2a: components" in words
    assert '<details class="card">' in html and "Version 1 · 24,200.00 EUR due" in words
    assert 'id="po-number">PO-7781<' in html  # the amended PO carries into version 2

    page = confirmed(browser, sent.token, act(browser, sent.token, "approve", name="Dana Scully"))
    assert "Approved for payment by Dana Scully" in page
    assert "Status: Approved" in text_of(page)
    invoice = invoice_of(world, sent).invoice
    assert invoice.state is InvoiceState.APPROVED and invoice.approved_by == "Dana Scully"
    assert (invoice.number, invoice.version) == (sent.number, 2)
    assert 'action="/l/' + sent.token + '/approve"' not in page  # nothing left to do


def test_changes_after_approval_are_refused_with_the_domain_message(
    world: World, browser: TestClient
) -> None:
    sent = a_sent_invoice(world)
    confirmed(browser, sent.token, act(browser, sent.token, "approve", name="Dana Scully"))
    before = events_of(world, sent.id)

    refused = act(browser, sent.token, "po", purchase_order_number="PO-9")
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text
    assert "amendments are accepted until the invoice is approved" in refused.text

    for action, fields in [
        ("approve", {"name": "Someone Else"}),
        ("change-request", {"message": "Please change it"}),
        ("billing-entity", {"cost_centre": "X-1"}),
    ]:
        response = act(browser, sent.token, action, **fields)
        assert response.status_code == 409, action
        assert "cannot" in response.text and "approved" in response.text

    settlement.lock_invoice(world.ctx, organization_id=world.org_id, invoice_id=sent.id)
    locked = act(browser, sent.token, "po", purchase_order_number="PO-10")
    assert locked.status_code == 409
    assert "cannot amend an invoice that is locked" in locked.text
    assert "Status: Locked" in text_of(browser.get(f"/l/{sent.token}").text)
    assert events_of(world, sent.id) == [*before, "invoice.locked"]


def test_bad_input_is_refused_on_the_page_with_422(world: World, browser: TestClient) -> None:
    sent = a_sent_invoice(world)
    empty_name = act(browser, sent.token, "approve", name="   ")
    assert empty_name.status_code == 422
    assert 'role="alert"' in empty_name.text
    bad_country = act(
        browser,
        sent.token,
        "billing-entity",
        legal_name="Acme",
        line1="Street 1",
        city="Berlin",
        postal_code="10117",
        country_code="Germany",
    )
    assert bad_country.status_code == 422
    assert "ISO 3166 alpha-2" in bad_country.text
    assert invoice_of(world, sent).invoice.state is InvoiceState.SENT


def test_a_quote_action_on_an_invoice_link_is_not_found(world: World, browser: TestClient) -> None:
    sent = a_sent_invoice(world)
    response = act(browser, sent.token, "accept", name="Dana Scully")
    assert response.status_code == 404
    assert invoice_of(world, sent).invoice.state is InvoiceState.SENT


# CSRF ------------------------------------------------------------------------------------------


def test_a_post_whose_csrf_field_does_not_verify_is_403_and_writes_nothing(
    world: World, web: FastAPI, browser: TestClient
) -> None:
    sent = a_sent_invoice(world)
    other = a_sent_invoice(world)
    page = browser.get(f"/l/{sent.token}")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/l/" in cookie
    field = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
    other_field = CSRF_FIELD.search(browser.get(f"/l/{other.token}").text).group(1)  # type: ignore[union-attr]
    before = events_of(world, sent.id)

    with TestClient(web) as stranger:  # another browser: no cookie, or its own cookie
        no_cookie = stranger.post(
            f"/l/{sent.token}/approve", data={"csrf_token": field, "name": "M"}
        )
        stranger.get(f"/l/{sent.token}")
        own_cookie = stranger.post(
            f"/l/{sent.token}/approve", data={"csrf_token": field, "name": "Mallory"}
        )
    attempts = [
        no_cookie,
        own_cookie,
        browser.post(f"/l/{sent.token}/approve", data={"name": "Mallory"}),
        browser.post(f"/l/{sent.token}/approve", data={"csrf_token": "0" * 64, "name": "M"}),
        # A field made for another link does not verify on this one.
        browser.post(f"/l/{sent.token}/approve", data={"csrf_token": other_field, "name": "M"}),
        browser.post(f"/l/{sent.token}/view", data={"beacon": "1"}),
        browser.post(f"/l/{sent.token}/po", data={"purchase_order_number": "PO-1"}),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert "Please reload the page and try again" in response.text
        assert "nothing was changed" in response.text
    assert events_of(world, sent.id) == before
    assert view_times(world, sent.id) == []
    assert invoice_of(world, sent).invoice.state is InvoiceState.SENT
    # The real field still works.
    ok = browser.post(
        f"/l/{sent.token}/approve",
        data={"csrf_token": field, "name": "Dana"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == f"/l/{sent.token}"


# Links that do not work ------------------------------------------------------------------------


def test_a_revoked_link_is_gone(world: World, browser: TestClient) -> None:
    sent = a_sent_invoice(world)
    _, field = open_page(browser, sent.token)
    [link] = links.links_for(world.ctx, organization_id=world.org_id, document_id=sent.id)
    revoked_at = time.monotonic()
    links.revoke_link(world.ctx, organization_id=world.org_id, link_id=link.id)

    page = browser.get(f"/l/{sent.token}")
    assert page.status_code == 410
    assert time.monotonic() - revoked_at < 1.0  # a revoked link stops working within a second
    assert "This link has been revoked by the sender." in page.text
    action = browser.post(f"/l/{sent.token}/approve", data={"csrf_token": field, "name": "D"})
    assert action.status_code == 410
    assert invoice_of(world, sent).invoice.state is InvoiceState.SENT


def test_a_link_past_its_180_days_is_gone(world: World, browser: TestClient) -> None:
    sent = a_sent_invoice(world)
    _, field = open_page(browser, sent.token)
    world.clock.advance(days=181)
    page = browser.get(f"/l/{sent.token}")
    assert page.status_code == 410
    assert "This link has expired" in page.text
    beacon = browser.post(f"/l/{sent.token}/view", data={"csrf_token": field, "beacon": "1"})
    assert beacon.status_code == 410
    assert view_times(world, sent.id) == []


def test_every_unknown_token_gets_the_same_404_page(world: World, browser: TestClient) -> None:
    a_sent_invoice(world)
    pages = [browser.get(f"/l/{secrets.token_urlsafe(32)}") for _ in range(3)]
    pages.append(browser.get(f"/l/{'x' * 5000}"))
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1
    assert "This link is not valid" in pages[0].text


# Headers and assets ----------------------------------------------------------------------------


def test_every_recipient_response_carries_the_privacy_headers(
    world: World, web: FastAPI, browser: TestClient
) -> None:
    sent = a_sent_invoice(world)
    _, field = open_page(browser, sent.token)
    responses = [
        browser.get(f"/l/{sent.token}"),
        browser.post(f"/l/{sent.token}/view", data={"csrf_token": field, "beacon": "1"}),
        browser.post(
            f"/l/{sent.token}/po",
            data={"csrf_token": field, "purchase_order_number": "PO-1"},
            follow_redirects=False,
        ),
        browser.post(f"/l/{sent.token}/po", data={"csrf_token": "bad"}),  # 403
        browser.post(f"/l/{sent.token}/approve", data={"csrf_token": field}),  # 422
        browser.get(f"/l/{secrets.token_urlsafe(32)}"),  # 404
    ]
    web.state.recipient_pages.limiter = FailedLookupLimiter(limit=0)
    responses.append(browser.get(f"/l/{secrets.token_urlsafe(32)}"))  # 429
    world.clock.advance(days=200)
    responses.append(browser.get(f"/l/{sent.token}"))  # 410
    assert sorted({r.status_code for r in responses}) == [200, 303, 403, 404, 410, 422, 429]
    for response in responses:
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "noindex" in response.headers["x-robots-tag"]
        assert response.headers["cache-control"] == "no-store"


def test_the_page_loads_nothing_from_third_parties(world: World, browser: TestClient) -> None:
    sent = a_sent_invoice(world)
    html, _ = open_page(browser, sent.token)
    assets = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert "/static/engagebill.css" in assets
    # Our own paths, in-page anchors, and the empty icon that stops a /favicon.ico request.
    assert all(
        (a.startswith(("/", "#")) and not a.startswith("//")) or a == "data:," for a in assets
    ), assets
    assert "@import" not in html and "fonts." not in html
    css = browser.get("/static/engagebill.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text and "@font-face" not in css.text


# Guessing --------------------------------------------------------------------------------------


# 10,000 in the fast tier; `make soak` (ENGAGEBILL_PROOF_LONG=1) tries 100,000.
GUESSES = 100_000 if os.environ.get("ENGAGEBILL_PROOF_LONG") == "1" else 10_000


async def guess(web: FastAPI, tokens: list[str], *, address: str) -> list[int]:
    """GET each token from ``address``, a few at a time, straight through the ASGI app: the
    test client's thread hops would make 10,000 requests take minutes."""
    transport = httpx.ASGITransport(app=web, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        slots = asyncio.Semaphore(8)

        async def one(token: str) -> int:
            async with slots:
                return (await client.get(f"/l/{token}")).status_code

        return list(await asyncio.gather(*(one(t) for t in tokens)))


# The database only answers "no such hash" here, the same query on both; one is enough.
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_guessing_tokens_finds_nothing_and_is_limited_while_a_real_link_works(
    world: World, web: FastAPI, browser: TestClient
) -> None:
    sent = a_sent_invoice(world)
    seconds = [1000.0]
    web.state.recipient_pages.limiter = FailedLookupLimiter(clock=lambda: seconds[0])
    address = "testclient"  # the address the test client's requests come from
    statuses: list[int] = []
    for _ in range(10):
        batch = [secrets.token_urlsafe(32) for _ in range(GUESSES // 10)]
        # The recipient, behind the same address, is served in the middle of the guessing.
        batch.insert(len(batch) // 2, sent.token)
        answers = asyncio.run(guess(web, batch, address=address))
        assert answers.pop(len(batch) // 2) == 200
        statuses += answers
        seconds[0] += 1  # 10,000 guesses in ten seconds
    assert len(statuses) == GUESSES
    assert {code: statuses.count(code) for code in set(statuses)} == {404: 10, 429: GUESSES - 10}

    limited = browser.get(f"/l/{secrets.token_urlsafe(32)}")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert "Too many invalid links" in limited.text
    _, field = open_page(browser, sent.token)
    approve = browser.post(
        f"/l/{sent.token}/approve",
        data={"csrf_token": field, "name": "Dana Scully"},
        follow_redirects=False,
    )
    assert approve.status_code == 303
    assert invoice_of(world, sent).invoice.state is InvoiceState.APPROVED
    # Guessed actions count too; another address is not limited by this one.
    assert browser.post(f"/l/{secrets.token_urlsafe(32)}/approve").status_code == 429
    assert asyncio.run(guess(web, [secrets.token_urlsafe(32)], address="203.0.113.9")) == [404]
    # A minute of quiet and the window has slid past.
    seconds[0] += 61
    assert browser.get(f"/l/{secrets.token_urlsafe(32)}").status_code == 404


# Logs ------------------------------------------------------------------------------------------


def test_tokens_are_never_logged(
    world: World, browser: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    sent = a_sent_invoice(world)
    with caplog.at_level(logging.DEBUG):
        _, field = open_page(browser, sent.token)
        browser.post(f"/l/{sent.token}/view", data={"csrf_token": field, "beacon": "1"})
        act(browser, sent.token, "po", purchase_order_number="PO-1")
        act(browser, sent.token, "approve", name="")
        browser.post(f"/l/{sent.token}/approve", data={"csrf_token": "bad"})
    # The test client logs the URLs it requests; the application must not.
    application_logs = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert caplog.records and not any(sent.token in m for m in application_logs)
    # The server's access-log filter hides the token of every recipient route.
    for path in [f"/l/{sent.token}", f"/l/{sent.token}/view", f"/l/{sent.token}/po?x=1"]:
        record = logging.LogRecord(
            "uvicorn.access",
            logging.INFO,
            __file__,
            1,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "POST", path, "1.1", 303),
            None,
        )
        NoLinkTokens().filter(record)
        assert sent.token not in record.getMessage() and "/l/<token>" in record.getMessage()


# Quotes and milestones ---------------------------------------------------------------------------

WEBSITE_REBUILD = [
    QuoteItemInput("discovery and wireframes", "Workshops, sitemap, wireframes", "20000.00"),
    QuoteItemInput("design system sign-off", "Tokens, components, documentation", "25000.00"),
    QuoteItemInput("launch", "Build, content migration, go-live", "15000.00"),
]


def a_sent_quote(world: World) -> tuple[str, str]:
    """A fixed-price 'Website rebuild' quote, sent: its id and the AP contact's link token."""
    engagement = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Website rebuild",
        kind="fixed_price",
        currency="EUR",
    ).id
    a_po(world.app, world.org_id, engagement, "PO-WEB-7")
    quote = quotes.create_quote(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement,
        title="Website rebuild",
        items=WEBSITE_REBUILD,
    )
    issued: list[IssuedLink] = []
    quotes.send_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id, issued=issued)
    [link] = issued  # sending a quote issues a link to each AP contact, like an invoice
    assert link.link.document_type is DocumentType.QUOTE
    return quote.id, link.token


def test_the_recipient_accepts_a_quote_by_typing_a_name(world: World, browser: TestClient) -> None:
    quote_id, token = a_sent_quote(world)
    html, field = open_page(browser, token)
    words = text_of(html)
    assert "Quote Q-2025-0001" in words and "version 1" in words
    assert "design system sign-off" in words and "Total (excl. VAT) 60,000.00 EUR" in words
    shown = SHOWN_HASH.search(html).group(1)  # type: ignore[union-attr]
    browser.post(f"/l/{token}/view", data={"csrf_token": field, "beacon": "1"})
    assert "quote.viewed" in events_of(world, quote_id)

    page = confirmed(
        browser,
        token,
        browser.post(
            f"/l/{token}/accept",
            data={"csrf_token": field, "name": "Dana Scully", "shown_hash": shown},
            follow_redirects=False,
        ),
    )
    assert "You accepted quote Q-2025-0001 as Dana Scully" in page
    assert "Status: Accepted" in text_of(page)
    detail = quotes.get_quote(world.ctx, organization_id=world.org_id, quote_id=quote_id)
    assert detail.quote.state is QuoteState.ACCEPTED
    assert detail.quote.accepted_hash == shown and detail.quote.accepted_by == "Dana Scully"
    assert [m.state for m in detail.milestones] == [MilestoneState.PLANNED] * 3

    again = act(browser, token, "decline", reason="Changed our minds")
    assert again.status_code == 409 and "cannot decline a quote that is accepted" in again.text


def test_a_quote_revised_after_it_was_shown_is_not_accepted_unseen(
    world: World, browser: TestClient
) -> None:
    quote_id, token = a_sent_quote(world)
    html, field = open_page(browser, token)
    shown = SHOWN_HASH.search(html).group(1)  # type: ignore[union-attr]
    quotes.revise_quote(world.ctx, organization_id=world.org_id, quote_id=quote_id, title="v2")
    response = browser.post(
        f"/l/{token}/accept", data={"csrf_token": field, "name": "Dana", "shown_hash": shown}
    )
    assert response.status_code == 422
    assert "the quote changed since it was shown" in response.text
    assert "version 2" in text_of(response.text)  # the page now shows what would be accepted


def test_the_recipient_declines_a_quote_with_a_reason(world: World, browser: TestClient) -> None:
    quote_id, token = a_sent_quote(world)
    empty = act(browser, token, "decline", reason="")
    assert empty.status_code == 422
    page = confirmed(browser, token, act(browser, token, "decline", reason="Over budget"))
    assert "You declined quote Q-2025-0001" in page
    assert "Declined. Reason given: Over budget" in page
    detail = quotes.get_quote(world.ctx, organization_id=world.org_id, quote_id=quote_id)
    assert detail.quote.state is QuoteState.DECLINED
    assert detail.quote.declined_reason == "Over budget"


def test_the_client_signs_off_a_milestone_through_a_link(world: World, browser: TestClient) -> None:
    quote_id, _ = a_sent_quote(world)
    quotes.accept_quote(world.ctx, organization_id=world.org_id, quote_id=quote_id, name="Dana")
    first = quotes.get_quote(world.ctx, organization_id=world.org_id, quote_id=quote_id)
    milestone = first.milestones[0]
    issued = links.create_link(
        world.ctx,
        organization_id=world.org_id,
        document_type="milestone",
        document_id=milestone.id,
        recipient_email="lead@acme.example",
        recipient_name="Pat Project-Lead",
    )
    html, _ = open_page(browser, issued.token)
    words = text_of(html)
    assert "Milestone 1: discovery and wireframes" in words
    assert "Amount (excl. VAT) 20,000.00 EUR" in words and "Status: Planned" in words

    world.clock.advance(days=20)
    page = confirmed(browser, issued.token, act(browser, issued.token, "sign-off", name="Pat Lee"))
    assert "Milestone signed off by Pat Lee" in page
    [signed] = [
        m
        for m in quotes.list_milestones(world.ctx, organization_id=world.org_id)
        if m.id == milestone.id
    ]
    # Signed off is invoiceable, and signing off invoices it at once, exactly once.
    assert signed.state is MilestoneState.INVOICED and signed.invoice_id is not None
    assert signed.signed_off_by == "Pat Lee"
    assert signed.signed_off_at is not None and signed.signed_off_at.date() == world.clock.today()

    twice = act(browser, issued.token, "sign-off", name="Pat Lee")
    assert twice.status_code == 409 and "is already invoiced" in twice.text


def test_the_recipient_downloads_the_pdf_and_e_invoices_without_a_view(app, clock) -> None:  # type: ignore[no-untyped-def]
    """Documents are served under the link itself; fetching them records nothing."""
    from fastapi.testclient import TestClient

    from engagebill.entrypoints.http import create_app
    from engagebill.services import invoicing, queries
    from tests.support import a_client, an_engagement, an_organization, line

    org = an_organization(app)
    client = a_client(app, org)
    engagement = an_engagement(app, org, client)
    draft = invoicing.create_draft(
        app.ctx, organization_id=org, engagement_id=engagement, lines=[line()]
    ).invoice
    issued: list = []  # type: ignore[type-arg]
    invoicing.send_invoice(app.ctx, organization_id=org, invoice_id=draft.id, issued=issued)
    web = TestClient(create_app(app.ctx))
    pdf = web.get(f"/l/{issued[0].token}/invoice.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert "INV-2025-0001" in pdf.headers["content-disposition"]
    for syntax in ("ubl", "cii"):
        xml = web.get(f"/l/{issued[0].token}/invoice.{syntax}.xml")
        assert xml.status_code == 200
        assert b"INV-2025-0001" in xml.content
    assert web.get(f"/l/{issued[0].token}/invoice.xyz.xml").status_code == 422
    assert web.get("/l/not-a-token/invoice.pdf").status_code == 404
    invoice = queries.get_invoice(app.ctx, organization_id=org, invoice_id=draft.id).invoice
    assert invoice.state.value == "sent"
