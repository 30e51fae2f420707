"""The agency's web app over HTTP (TestClient), on SQLite and PostgreSQL.

The account manager's month from the seed: sign in, see every invoice with its state in words,
answer the four questions per client (went out, viewed, approved, stuck), chase what was sent
days ago and never opened first, then change requests, then what was opened but not approved
past its due date; act on an invoice with one click (send, revise, lock, record a payment,
credit, re-send or revoke a link, duplicate, save as a template, start a retainer schedule).

No page opens and no form posts without a session: the list of routes checked comes from the
app's router, so a page added later is covered without touching this file.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from engagebill.bootstrap import App
from engagebill.domain.lifecycle import InvoiceState
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.entrypoints.http import create_app
from engagebill.entrypoints.web import agency
from engagebill.entrypoints.web.agency import invoice_routes, pages
from engagebill.services import (
    invoicing,
    links,
    queries,
    recipient,
    reuse,
    users,
)
from engagebill.services.demo import DEMO_EMAIL, DEMO_PASSWORD, load_demo
from engagebill.services.ports import InvoiceFilter
from tests.support import FixedClock, World, a_client, a_po, an_engagement, an_organization, line

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')
# Public by design: the sign-in page and the root, the recipients' capability links, health.
PUBLIC_PREFIXES = ("/l/",)
OTHER_PUBLIC_PATHS = frozenset({"/healthz"})


def text_of(html: str) -> str:
    """The page's words, tags dropped and spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def a_user(app: App, org_id: str, *, name: str = "Avery Account") -> str:
    email = f"am-{secrets.token_hex(4)}@northwind.example"
    users.create_user(app.ctx, organization_id=org_id, email=email, name=name, password=PASSWORD)
    return email


@dataclass
class Browser:
    """A TestClient that signs in and posts forms the way the pages do."""

    http: TestClient

    def sign_in(self, email: str, password: str = PASSWORD, next_path: str = "") -> httpx.Response:
        page = self.http.get("/login")
        token = LOGIN_TOKEN.search(page.text)
        assert token is not None, page.text
        return self.http.post(
            "/login",
            data={
                "email": email,
                "password": password,
                "login_token": token.group(1),
                "next": next_path,
            },
            follow_redirects=False,
        )

    def csrf(self, path: str = "/invoices") -> str:
        page = self.http.get(path)
        assert page.status_code == 200, page.text
        match = CSRF.search(page.text)
        assert match is not None
        return match.group(1)

    def post(self, path: str, **fields: Any) -> httpx.Response:
        """Submit a form of a page (with its CSRF field); do not follow the redirect."""
        return self.http.post(
            path, data={"csrf_token": self.csrf(), **fields}, follow_redirects=False
        )

    def done(self, response: httpx.Response, to: str | None = None) -> str:
        """POST/redirect/GET: the redirect's page, with its confirmation."""
        assert response.status_code == 303, response.text
        if to is not None:
            assert response.headers["location"] == to
        page = self.http.get(response.headers["location"])
        assert page.status_code == 200, page.text
        assert 'role="status"' in page.text, text_of(page.text)
        return text_of(page.text)

    def refused(self, response: httpx.Response) -> str:
        """A refused action: back to the page, which shows the domain's message."""
        assert response.status_code == 303, response.text
        page = self.http.get(response.headers["location"])
        assert page.status_code == 200, page.text
        assert 'role="alert"' in page.text, text_of(page.text)
        return text_of(page.text)


@pytest.fixture
def web(app: App) -> FastAPI:
    app.ctx.settings["password_hashing"] = "fast"  # argon2's cheapest: tests sign in often
    return create_app(app.ctx)


@pytest.fixture
def anonymous(web: FastAPI) -> Iterator[Browser]:
    with TestClient(web) as http:
        yield Browser(http)


@pytest.fixture
def agency_user(world: World, web: FastAPI) -> str:
    return a_user(world.app, world.org_id)


@pytest.fixture
def signed_in(web: FastAPI, agency_user: str) -> Iterator[Browser]:
    with TestClient(web) as http:
        browser = Browser(http)
        assert browser.sign_in(agency_user).status_code == 303
        yield browser


def routes_of(app: FastAPI) -> list[tuple[str, set[str]]]:
    """Every route of the app as (path, methods), included routers flattened."""
    try:  # FastAPI >= 0.16x keeps included routers lazily; this walks into them.
        from fastapi.routing import iter_route_contexts
    except ImportError:  # pragma: no cover - older FastAPI: included routes are plain routes
        return [(r.path, set(r.methods)) for r in app.routes if isinstance(r, APIRoute)]
    return [
        (str(c.path), set(c.methods or ()))
        for c in iter_route_contexts(app.router.routes)
        if isinstance(c.original_route, APIRoute)
    ]


def agency_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the app outside the API, the MCP endpoint and what is public."""
    found = []
    for path, methods in routes_of(app):
        if path.startswith(PUBLIC_PREFIXES) or path in OTHER_PUBLIC_PATHS:
            continue
        if path in agency.PUBLIC_PATHS:
            continue
        found += [(method, path) for method in sorted(methods) if method != "HEAD"]
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x_unknown", path)


def a_sent_invoice(world: World, *, engagement: str | None = None, **line_kw: Any) -> str:
    engagement = engagement or an_engagement(
        world.app, world.org_id, world.client_id, kind="time_and_material"
    )
    draft = invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement,
        lines=[line(**line_kw)],
    ).invoice
    return invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id).id


def invoice_of(world: World, invoice_id: str):  # type: ignore[no-untyped-def]
    return queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)


def event_count(world: World) -> int:
    return len(queries.list_events(world.ctx, organization_id=world.org_id, limit=100_000))


# --- no session, no app ------------------------------------------------------------------------


def test_every_agency_route_is_refused_without_a_session(
    world: World, web: FastAPI, anonymous: Browser
) -> None:
    routes = agency_routes(web)
    # The router is the list: these pages exist, and so does every later one.
    for expected in [
        ("GET", "/invoices"),
        ("GET", "/invoices/{invoice_id}"),
        ("GET", "/clients/{client_id}"),
        ("GET", "/chase"),
        ("POST", "/invoices/{invoice_id}/resend"),
        ("POST", "/logout"),
    ]:
        assert expected in routes
    before = event_count(world)
    for method, path in routes:
        response = anonymous.http.request(method, concrete(path), follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next="), (method, path)
        else:
            assert response.status_code in (401, 403), (method, path, response.status_code)
    assert event_count(world) == before


def test_every_form_post_needs_the_sessions_csrf_field(
    world: World, web: FastAPI, signed_in: Browser
) -> None:
    invoice = a_sent_invoice(world)
    before = event_count(world)
    posts = [path for method, path in agency_routes(web) if method == "POST"]
    assert posts
    for path in posts:
        target = path.replace("{invoice_id}", invoice)
        target = re.sub(r"\{[^}]+\}", "x_unknown", target)
        missing = signed_in.http.post(target, data={}, follow_redirects=False)
        assert missing.status_code == 403, (path, missing.status_code)
        forged = signed_in.http.post(target, data={"csrf_token": "0" * 64}, follow_redirects=False)
        assert forged.status_code == 403, (path, forged.status_code)
        assert "This form has expired" in forged.text
    assert event_count(world) == before
    # Another session's field does not verify in this one.
    assert signed_in.http.get("/invoices").status_code == 200


def test_a_page_asked_for_without_a_session_comes_back_after_signing_in(
    world: World, agency_user: str, anonymous: Browser
) -> None:
    invoice = a_sent_invoice(world)
    asked = anonymous.http.get(f"/invoices/{invoice}", follow_redirects=False)
    assert asked.headers["location"] == f"/login?next=%2Finvoices%2F{invoice}"
    signed = anonymous.sign_in(agency_user, next_path=f"/invoices/{invoice}")
    assert signed.headers["location"] == f"/invoices/{invoice}"
    # A "next" that leaves the site is ignored.
    anonymous.http.cookies.clear()
    elsewhere = anonymous.sign_in(agency_user, next_path="//evil.example/x")
    assert elsewhere.headers["location"] == "/invoices"


# --- signing in and out ----------------------------------------------------------------------


def test_sign_in_sets_a_server_side_session_and_sign_out_revokes_it(
    world: World, agency_user: str, anonymous: Browser
) -> None:
    assert anonymous.http.get("/", follow_redirects=False).headers["location"] == "/login"
    response = anonymous.sign_in(agency_user.upper())  # addresses compare case-insensitively
    assert response.status_code == 303 and response.headers["location"] == "/invoices"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("eb_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = anonymous.http.cookies["eb_session"]
    with world.ctx.uow() as uow:  # only the token's hash is stored
        assert uow.users.session(token) is None
    assert users.user_for_session(world.ctx, token).email == agency_user
    assert anonymous.http.get("/", follow_redirects=False).headers["location"] == "/invoices"
    page = anonymous.http.get("/invoices")
    assert page.headers["cache-control"] == "no-store"
    assert "Avery Account" in page.text

    out = anonymous.post("/logout")
    assert anonymous.done(out, "/login").count("You are signed out") == 1
    with pytest.raises(users.SessionEnded):
        users.user_for_session(world.ctx, token)
    # The old cookie, replayed, opens nothing.
    anonymous.http.cookies.set("eb_session", token)
    again = anonymous.http.get("/invoices", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/login")


def test_a_failed_sign_in_says_the_same_whatever_was_wrong(
    world: World, agency_user: str, anonymous: Browser
) -> None:
    wrong_password = anonymous.sign_in(agency_user, "not the password at all")
    unknown_email = anonymous.sign_in("nobody@northwind.example", PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 200
    message = "That email address and password do not match an account"
    assert message in wrong_password.text and message in unknown_email.text
    assert "eb_session" not in anonymous.http.cookies
    # The sign-in form carries its own CSRF token.
    forged = anonymous.http.post(
        "/login", data={"email": agency_user, "password": PASSWORD}, follow_redirects=False
    )
    assert forged.status_code == 403 and "eb_session" not in anonymous.http.cookies


def test_guessing_passwords_is_slowed_down_after_ten_failures_a_minute(
    agency_user: str, anonymous: Browser
) -> None:
    for _ in range(10):
        assert anonymous.sign_in(agency_user, "wrong password, again").status_code == 200
    limited = anonymous.sign_in(agency_user, "wrong password, again")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert "Too many attempts" in limited.text


def test_users_create_command_makes_a_user_who_can_sign_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["--db", url, "db", "upgrade"]).exit_code == 0
    org = runner.invoke(
        cli_app,
        [
            "--db", url, "org", "create", "--name", "Northwind Studio",
            "--legal-name", "Northwind Studio B.V.", "--address", "Keizersgracht 1",
            "--city", "Amsterdam", "--postal-code", "1015 CJ", "--country", "NL",
            "--email", "billing@northwind.example", "--tax-id", "NL004495445B01",
        ],
    )  # fmt: skip
    assert org.exit_code == 0, org.output
    created = runner.invoke(
        cli_app,
        ["--db", url, "users", "create", "--email", "Sam@Northwind.example", "--name", "Sam"],
        input="a long enough password\na long enough password\n",
    )
    assert created.exit_code == 0, created.output
    assert "created sam@northwind.example" in created.output
    assert "a long enough password" not in created.output.split("created")[1]
    short = runner.invoke(
        cli_app,
        ["--db", url, "users", "create", "--email", "x@northwind.example", "--name", "X",
         "--password", "short"],
    )  # fmt: skip
    assert short.exit_code == 4 and "user.password_too_short" in short.stderr
    taken = runner.invoke(
        cli_app,
        ["--db", url, "users", "create", "--email", "sam@northwind.example", "--name", "S",
         "--password", "another long password"],
    )  # fmt: skip
    assert taken.exit_code == 5 and "user.email_taken" in taken.stderr
    from engagebill.bootstrap import build
    from engagebill.config import Settings

    application = build(Settings(database_url=url))
    try:
        user = users.authenticate(
            application.ctx, email="sam@northwind.example", password="a long enough password"
        )
        assert user.name == "Sam" and user.password_hash.startswith("$argon2id$")
    finally:
        application.dispose()


# --- tenancy ---------------------------------------------------------------------------------


def test_another_organizations_user_gets_404_for_this_organizations_invoice(
    world: World, web: FastAPI, signed_in: Browser
) -> None:
    invoice = a_sent_invoice(world)
    other_org = an_organization(world.app, name="Southwind Studio", prefix="SW")
    a_client(world.app, other_org, name="Other client")
    outsider = a_user(world.app, other_org, name="Olive Outsider")
    with TestClient(web) as http:
        browser = Browser(http)
        assert browser.sign_in(outsider).status_code == 303
        page = browser.http.get(f"/invoices/{invoice}")
        assert page.status_code == 404 and "Not found" in page.text
        assert browser.http.get(f"/clients/{world.client_id}").status_code == 404
        for action in ("lock", "resend", "duplicate", "send"):
            refused = browser.post(f"/invoices/{invoice}/{action}")
            assert refused.status_code == 404, action
        listing = browser.http.get("/invoices")
        assert invoice not in listing.text and "Acme Retail" not in listing.text
        assert "Other client" in browser.http.get("/clients").text
    assert invoice_of(world, invoice).invoice.state is InvoiceState.SENT
    # This organization's user still sees it.
    assert signed_in.http.get(f"/invoices/{invoice}").status_code == 200


# --- the invoice list ------------------------------------------------------------------------


def test_the_invoice_list_shows_each_state_in_words_and_filters(
    world: World,
    signed_in: Browser,
    agency_user: str,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    retainer = an_engagement(world.app, world.org_id, world.client_id, name="Monthly retainer")
    project = an_engagement(
        world.app, world.org_id, world.client_id, kind="fixed_price", name="Website rebuild"
    )
    draft = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=retainer, lines=[line()]
    ).invoice.id
    sent = a_sent_invoice(world, engagement=retainer)
    clock.advance(days=5)
    viewed = a_sent_invoice(world, engagement=project, price="20000.00")
    recipient.record_view(world.ctx, organization_id=world.org_id, invoice_id=viewed)
    approved = a_sent_invoice(world, engagement=project, price="15000.00")
    recipient.approve_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=approved, name="Alex AP"
    )
    paid = a_sent_invoice(world, engagement=retainer, price="100.00")
    from engagebill.services import settlement

    settlement.record_payment(
        world.ctx, organization_id=world.org_id, invoice_id=paid, amount="121.00"
    )
    clock.advance(days=2)
    signed_in.sign_in(agency_user)  # a week went by: the morning's session has ended

    page = signed_in.http.get("/invoices")
    assert page.status_code == 200
    rows = {
        m.group(1): text_of(m.group(2))
        for m in re.finditer(r'<tr data-invoice="([^"]+)">(.*?)</tr>', page.text, re.S)
    }
    assert rows[draft].startswith("Draft v1 Draft Acme Retail Monthly retainer")
    assert "Not sent" in rows[draft]
    assert " Sent " in rows[sent] and rows[sent].endswith("7 days")
    assert " Viewed " in rows[viewed] and rows[viewed].endswith("2 days")
    assert " Approved " in rows[approved] and "20,000.00" not in rows[approved]
    assert " Paid " in rows[paid]  # locked by the payment, paid in full: Paid
    number = invoice_of(world, sent).invoice.number
    assert number in rows[sent] and "v1" in rows[sent] and "12,100.00 EUR" in rows[sent]  # gross

    def shown(**query: str) -> set[str]:
        listing = signed_in.http.get("/invoices", params=query)
        assert listing.status_code == 200, listing.text
        return set(re.findall(r'<tr data-invoice="([^"]+)">', listing.text))

    assert shown(state="viewed") == {viewed}
    assert shown(engagement=project) == {viewed, approved}
    assert shown(client=world.client_id) == {draft, sent, viewed, approved, paid}
    today = clock.today()
    assert shown(issued_from=(today - timedelta(days=3)).isoformat()) == {viewed, approved, paid}
    assert shown(issued_to=(today - timedelta(days=3)).isoformat()) == {draft, sent}
    bad = signed_in.http.get("/invoices", params={"issued_from": "first of March"})
    assert bad.status_code == 422 and "is not a date" in text_of(bad.text)
    backwards = signed_in.http.get(
        "/invoices", params={"issued_from": today.isoformat(), "issued_to": "2020-01-01"}
    )
    assert backwards.status_code == 422 and "before its start" in text_of(backwards.text)

    # Cursor pagination, filters kept from page to page.
    monkeypatch.setattr(invoice_routes, "PAGE_SIZE", 2)
    seen: list[str] = []
    url: str | None = "/invoices"
    while url:
        listing = signed_in.http.get(url)
        ids = re.findall(r'<tr data-invoice="([^"]+)">', listing.text)
        assert 1 <= len(ids) <= 2
        seen += ids
        found = re.search(r'href="([^"]+)" rel="next"', listing.text)
        url = unescape(found.group(1)) if found else None
    assert seen == [paid, approved, viewed, sent, draft]  # newest first, each once
    filtered = signed_in.http.get("/invoices", params={"engagement": retainer})
    next_link = unescape(re.search(r'href="([^"]+)" rel="next"', filtered.text).group(1))  # type: ignore[union-attr]
    assert f"engagement={retainer}" in next_link
    assert signed_in.http.get("/invoices", params={"after": "garbage"}).status_code == 422


# --- the four questions, on the demo ---------------------------------------------------------


@pytest.fixture
def demo(app: App, clock: FixedClock) -> tuple[str, date]:
    today = date(2025, 3, 28)
    clock.set(today)
    result = load_demo(app.ctx, today=today)
    clock.set(today, hour=12)
    return result.organization_id, today


def test_each_clients_four_questions_on_the_demo(
    app: App, web: FastAPI, demo: tuple[str, date]
) -> None:
    org, _ = demo
    clients = {c.name: c.id for c in queries.list_clients(app.ctx, organization_id=org)}
    numbers = {
        s.id: s
        for s in queries.list_invoices(
            app.ctx, organization_id=org, query=InvoiceFilter(limit=1000)
        )
    }
    with TestClient(web) as http:
        browser = Browser(http)
        assert browser.sign_in(a_user(app, org)).status_code == 303
        overview = text_of(browser.http.get("/clients").text)
        # client, went out, viewed, approved, stuck
        assert "Acme Retail 5 4 4 1 stuck" in overview
        assert "Globex 3 0 0 2 stuck" in overview
        assert "Initech 2 1 0 2 stuck" in overview

        def answers(client: str) -> dict[str, Any]:
            html = browser.http.get(f"/clients/{clients[client]}").text
            counts = {
                key: int(re.search(rf'id="count-{key}">(\d+)<', html).group(1))  # type: ignore[union-attr]
                for key in ("went-out", "viewed", "approved", "stuck")
            }
            tables = {
                key: re.findall(
                    r'href="/invoices/(inv_[0-9a-f]+)"',
                    html.split(f'id="{key}"', 1)[1].split("</table>", 1)[0],
                )
                if f'id="{key}"' in html
                else []
                for key in ("went-out", "viewed", "approved", "stuck")
            }
            stuck = (
                html.split('id="stuck"', 1)[1].split("</table>", 1)[0] if tables["stuck"] else ""
            )
            return {"counts": counts, "tables": tables, "stuck": text_of(stuck)}

        acme = answers("Acme Retail")
        assert acme["counts"] == {"went-out": 5, "viewed": 4, "approved": 4, "stuck": 1}
        assert all(len(v) == acme["counts"][k] for k, v in acme["tables"].items())
        [unopened] = acme["tables"]["stuck"]
        # This month's retainer went out on the first business day and nobody opened it.
        assert numbers[unopened].engagement_name == "Monthly retainer"
        assert numbers[unopened].state is InvoiceState.SENT
        assert "Sent, never opened" in acme["stuck"]
        approved = {numbers[i].state for i in acme["tables"]["approved"]}
        assert approved == {InvoiceState.APPROVED, InvoiceState.LOCKED}
        assert unopened not in acme["tables"]["viewed"]

        globex = answers("Globex")
        assert globex["counts"] == {"went-out": 3, "viewed": 0, "approved": 0, "stuck": 2}

        initech = answers("Initech")
        assert initech["counts"] == {"went-out": 2, "viewed": 1, "approved": 0, "stuck": 2}
        stuck_states = sorted(numbers[i].state.value for i in initech["tables"]["stuck"])
        assert stuck_states == ["change_requested", "sent"]
        assert "Sent, never opened" in initech["stuck"] and "Change requested" in initech["stuck"]
        # A shorter threshold is a GET parameter; a longer one leaves fresh invoices alone.
        relaxed = browser.http.get(f"/clients/{clients['Initech']}", params={"days": "30"})
        assert 'id="count-stuck">1<' in relaxed.text


def test_the_demo_command_prints_the_demo_login(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner = CliRunner()
    assert runner.invoke(cli_app, ["--db", url, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(cli_app, ["--db", url, "demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}" in result.output


# --- the chase list --------------------------------------------------------------------------


@dataclass
class ChaseStory:
    old_unopened: str
    unopened: str
    fresh: str
    change_requested: str
    past_due: str
    viewed_not_due: str


@pytest.fixture
def chase_story(world: World, clock: FixedClock) -> ChaseStory:
    """Invoices in every situation, sent on different days up to 28 March."""
    engagement = an_engagement(
        world.app, world.org_id, world.client_id, kind="time_and_material", net_days=14
    )

    def sent_on(day: date, description: str) -> str:
        clock.set(day)
        return a_sent_invoice(world, engagement=engagement, description=description)

    past_due = sent_on(date(2025, 2, 20), "Workshop")
    old_unopened = sent_on(date(2025, 3, 10), "Brand refresh")
    change_requested = sent_on(date(2025, 3, 20), "Annual report layout")
    unopened = sent_on(date(2025, 3, 24), "Landing page")
    viewed_not_due = sent_on(date(2025, 3, 25), "Newsletter")
    fresh = sent_on(date(2025, 3, 27), "Banner set")
    clock.set(date(2025, 3, 21))
    recipient.record_view(world.ctx, organization_id=world.org_id, invoice_id=change_requested)
    recipient.request_change(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=change_requested,
        message="Please split design and print management",
        by="Alex AP",
    )
    recipient.record_view(world.ctx, organization_id=world.org_id, invoice_id=past_due)
    recipient.record_view(world.ctx, organization_id=world.org_id, invoice_id=viewed_not_due)
    clock.set(date(2025, 3, 28))
    return ChaseStory(old_unopened, unopened, fresh, change_requested, past_due, viewed_not_due)


def chase_order(browser: Browser, **query: str) -> list[tuple[str, str]]:
    page = browser.http.get("/chase", params=query)
    assert page.status_code == 200, page.text
    order = []
    for section in re.finditer(
        r'<table class="rows chase" id="chase-([a-z_]+)">(.*?)</table>', page.text, re.S
    ):
        order += [
            (section.group(1), invoice)
            for invoice in re.findall(r'data-invoice="([^"]+)"', section.group(2))
        ]
    return order


def test_the_chase_list_puts_unopened_first_then_change_requests_then_past_due(
    world: World, chase_story: ChaseStory, signed_in: Browser
) -> None:
    s = chase_story
    assert chase_order(signed_in) == [
        ("unopened", s.old_unopened),  # sent 18 days ago, never opened: chase first
        ("unopened", s.unopened),  # 4 days
        ("change_requested", s.change_requested),
        ("past_due_unapproved", s.past_due),
    ]
    # N is a GET parameter: with 1 day, yesterday's invoice is chased too.
    assert chase_order(signed_in, days="1")[:3] == [
        ("unopened", s.old_unopened),
        ("unopened", s.unopened),
        ("unopened", s.fresh),
    ]
    assert chase_order(signed_in, days="10") == [
        ("unopened", s.old_unopened),
        ("change_requested", s.change_requested),
        ("past_due_unapproved", s.past_due),
    ]
    refused = signed_in.http.get("/chase", params={"days": "1000"})
    assert refused.status_code == 422 and "0 to 365" in refused.text

    page = signed_in.http.get("/chase").text
    row = page.split(f'data-invoice="{s.change_requested}"', 1)[1].split("</tr>", 1)[0]
    assert f'href="/invoices/{s.change_requested}/revise"' in row
    assert "ap@acme.example" in row
    unopened_row = page.split(f'data-invoice="{s.unopened}"', 1)[1].split("</tr>", 1)[0]
    assert "/revise" not in unopened_row and f"/invoices/{s.unopened}/resend" in unopened_row


def test_re_send_from_the_chase_list_issues_fresh_links_and_comes_back(
    world: World, chase_story: ChaseStory, signed_in: Browser
) -> None:
    s = chase_story
    links_before = len(
        links.links_for(world.ctx, organization_id=world.org_id, document_id=s.unopened)
    )
    response = signed_in.post(f"/invoices/{s.unopened}/resend", next="/chase?days=3")
    page = signed_in.done(response, "/chase?days=3")
    assert "A fresh link is on its way to 1 AP contact(s)." in page
    after = links.links_for(world.ctx, organization_id=world.org_id, document_id=s.unopened)
    assert len(after) == links_before + 1
    # A "next" pointing elsewhere is not followed.
    away = signed_in.post(f"/invoices/{s.unopened}/resend", next="https://evil.example/")
    assert away.headers["location"] == f"/invoices/{s.unopened}"


# --- the invoice page and its actions --------------------------------------------------------


def test_send_refused_by_the_po_check_shows_why_and_sends_with_a_reason(
    world: World, signed_in: Browser, clock: FixedClock
) -> None:
    engagement = an_engagement(world.app, world.org_id, world.client_id)
    a_po(world.app, world.org_id, engagement, "PO-2024", valid_to=date(2025, 1, 31))
    draft = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=engagement, lines=[line()]
    ).invoice.id
    page = text_of(signed_in.http.get(f"/invoices/{draft}").text)
    assert "The PO check will refuse sending" in page and "PO PO-2024 expired" in page

    refused = signed_in.refused(signed_in.post(f"/invoices/{draft}/send"))
    assert "PO PO-2024 expired on 2025-01-31; send with an override reason" in refused
    assert invoice_of(world, draft).invoice.state is InvoiceState.DRAFT

    sent = signed_in.done(
        signed_in.post(f"/invoices/{draft}/send", override_reason="New PO is on its way"),
        f"/invoices/{draft}",
    )
    invoice = invoice_of(world, draft).invoice
    assert invoice.state is InvoiceState.SENT
    assert f"Invoice {invoice.number} sent: a private link went to 1 AP contact(s)." in sent
    assert "Sent as" in sent and "despite a PO warning: “New PO is on its way”" in sent
    # Sending twice is refused by the lifecycle, with its message, never a 500.
    again = signed_in.refused(signed_in.post(f"/invoices/{draft}/send"))
    assert "only a draft can be sent" in again


def test_revising_after_a_change_request_shows_the_versions_side_by_side(
    world: World, signed_in: Browser
) -> None:
    invoice = a_sent_invoice(world, description="Annual report layout", price="2400.00")
    recipient.request_change(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=invoice,
        message="Please split design and print management",
        by="Alex AP",
    )
    page = text_of(signed_in.http.get(f"/invoices/{invoice}").text)
    assert "The client asked for a change" in page and "Please split design" in page
    editor = signed_in.http.get(f"/invoices/{invoice}/revise")
    assert editor.status_code == 200
    assert 'value="Annual report layout"' in editor.text

    rows = {
        "description": ["Annual report layout: design", "Annual report: print management", ""],
        "quantity": ["1", "1", ""],
        "unit": ["C62", "C62", "C62"],
        "unit_price": ["1800.00", "600.00", ""],
        "vat_category": ["S", "S", "S"],
        "vat_rate": ["21", "21", "21"],
        "source_ref": ["", "", ""],
        "service_date": ["", "", ""],
        "person": ["", "", ""],
        "requester": ["", "", ""],
        "approval_ref": ["", "", ""],
    }
    bad = {**rows, "quantity": ["one", "1", ""]}
    refused = signed_in.http.post(
        f"/invoices/{invoice}/revise",
        data={"csrf_token": signed_in.csrf(), **bad, "notes": ""},
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "line 1" in text_of(refused.text) and 'value="one"' in refused.text  # input kept
    assert invoice_of(world, invoice).invoice.version == 1

    response = signed_in.http.post(
        f"/invoices/{invoice}/revise",
        data={"csrf_token": signed_in.csrf(), **rows, "notes": ""},
        follow_redirects=False,
    )
    number = invoice_of(world, invoice).invoice.number
    shown = signed_in.done(response, f"/invoices/{invoice}")
    assert f"Version 2 of {number} sent under the same number" in shown
    html = signed_in.http.get(f"/invoices/{invoice}").text
    diff = html.split('id="diff-2"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'<tr class="diff-(\w+)">', diff) == ["changed", "added"]
    assert "<mark>Annual report layout</mark>" in diff
    assert "<mark>Annual report layout: design</mark>" in diff
    assert "Revised: version 2 sent under the same number" in text_of(html)
    assert (
        signed_in.http.get(f"/invoices/{invoice}/revise", follow_redirects=False).status_code == 303
    )


def test_lock_pay_credit_and_links_from_the_invoice_page(world: World, signed_in: Browser) -> None:
    invoice = a_sent_invoice(world, price="1000.00")
    extra = invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=invoice_of(world, invoice).invoice.engagement_id,
        lines=[line("Landing page", price="500.00"), line("Banner set", price="200.00")],
    ).invoice.id
    invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=extra)

    # Lock is refused until the client approves.
    assert "only an approved invoice can be locked" in signed_in.refused(
        signed_in.post(f"/invoices/{invoice}/lock")
    )
    recipient.approve_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=invoice, name="Alex AP"
    )
    assert "locked." in signed_in.done(signed_in.post(f"/invoices/{invoice}/lock"))
    paid = signed_in.done(
        signed_in.post(
            f"/invoices/{invoice}/payments",
            amount="500.00",
            received_on="2025-03-20",
            reference="SEPA 1",
        )
    )
    assert "partially paid, 710.00 EUR still open" in paid
    bad_amount = signed_in.refused(signed_in.post(f"/invoices/{invoice}/payments", amount="abc"))
    assert "abc" in bad_amount
    settled = signed_in.done(signed_in.post(f"/invoices/{invoice}/payments", amount="710.00"))
    assert "paid, 0.00 EUR still open" in settled
    assert 'class="state state-paid"' in signed_in.http.get(f"/invoices/{invoice}").text

    # A credit note for one line, then for the rest (which voids the invoice).
    line_note = signed_in.done(
        signed_in.post(
            f"/invoices/{extra}/credit-notes", scope="line", line="2", reason="Not delivered"
        )
    )
    assert "issued for 242.00 EUR" in line_note
    assert "reason" in signed_in.refused(
        signed_in.post(f"/invoices/{extra}/credit-notes", scope="full", reason="")
    )
    rest = signed_in.done(
        signed_in.post(f"/invoices/{extra}/credit-notes", scope="full", reason="Cancelled")
    )
    assert "issued for 605.00 EUR" in rest
    assert invoice_of(world, extra).invoice.state is InvoiceState.VOID
    assert len(invoice_of(world, extra).credit_notes) == 2

    # Links: views are listed; revoking one closes it.
    [link] = links.links_for(world.ctx, organization_id=world.org_id, document_id=invoice)
    revoked = signed_in.done(signed_in.post(f"/invoices/{invoice}/links/{link.id}/revoke"))
    assert "is revoked" in revoked and "Revoked" in revoked
    [after] = links.links_for(world.ctx, organization_id=world.org_id, document_id=invoice)
    assert after.revoked_at is not None


def test_duplicate_template_and_retainer_schedule_from_an_invoice(
    world: World, signed_in: Browser
) -> None:
    retainer = an_engagement(world.app, world.org_id, world.client_id, name="Monthly retainer")
    invoice = a_sent_invoice(world, engagement=retainer, description="Monthly retainer, March 2025")

    duplicated = signed_in.post(f"/invoices/{invoice}/duplicate")
    assert duplicated.status_code == 303
    editor = duplicated.headers["location"]
    assert editor.endswith("/edit")
    copy = editor.split("/")[2]
    page = signed_in.http.get(editor)
    assert "Update the period in its lines" in text_of(page.text)
    assert 'value="Monthly retainer, March 2025"' in page.text
    saved = signed_in.http.post(
        editor,
        data={
            "csrf_token": signed_in.csrf(),
            "description": ["Monthly retainer, April 2025"],
            "quantity": ["1"],
            "unit": ["C62"],
            "unit_price": ["10000.00"],
            "vat_category": ["S"],
            "vat_rate": ["21"],
            "issue_date": "2025-04-01",
            "notes": "",
        },
        follow_redirects=False,
    )
    assert "Draft saved." in signed_in.done(saved, f"/invoices/{copy}")
    draft = invoice_of(world, copy).invoice
    assert draft.state is InvoiceState.DRAFT and draft.engagement_id == retainer
    assert [ln.description for ln in draft.current.lines] == ["Monthly retainer, April 2025"]
    assert draft.current.issue_date == date(2025, 4, 1)

    named = signed_in.done(signed_in.post(f"/invoices/{invoice}/template", name="Retainer"))
    assert "Saved as the template “Retainer”" in named
    templates = signed_in.http.get("/templates")
    assert "Retainer" in templates.text and "Monthly retainer" in text_of(templates.text)
    [template] = reuse.list_templates(world.ctx, organization_id=world.org_id)
    from_template = signed_in.post(f"/templates/{template.template.id}/draft")
    assert from_template.status_code == 303 and from_template.headers["location"].endswith("/edit")
    assert "Template deleted" in signed_in.done(
        signed_in.post(f"/templates/{template.template.id}/delete"), "/templates"
    )
    assert reuse.list_templates(world.ctx, organization_id=world.org_id) == []

    created = signed_in.done(
        signed_in.post(
            f"/invoices/{invoice}/retainer-schedule",
            start_date="2025-04-01",
            line_template="Monthly retainer, {month} {year}",
            frequency="monthly",
        )
    )
    assert "Retainer schedule created: 10000.00 EUR monthly, from 2025-04-01" in created
    [schedule] = retainers_of(world, retainer)
    assert schedule.amount.format() == "10000.00 EUR"

    project = an_engagement(world.app, world.org_id, world.client_id, kind="fixed_price")
    milestone_invoice = a_sent_invoice(world, engagement=project)
    page_html = signed_in.http.get(f"/invoices/{milestone_invoice}").text
    assert "retainer-schedule" not in page_html  # offered only on retainer engagements
    refused = signed_in.refused(
        signed_in.post(f"/invoices/{milestone_invoice}/retainer-schedule", start_date="2025-04-01")
    )
    assert "retainer schedules belong to retainer engagements" in refused
    missing_date = signed_in.refused(signed_in.post(f"/invoices/{invoice}/retainer-schedule"))
    assert "a start date is needed" in missing_date


def retainers_of(world: World, engagement: str):  # type: ignore[no-untyped-def]
    return queries.list_schedules(world.ctx, organization_id=world.org_id, engagement_id=engagement)


def test_unknown_ids_are_404_pages_not_errors(signed_in: Browser) -> None:
    assert signed_in.http.get("/invoices/inv_nope").status_code == 404
    assert signed_in.http.get("/clients/cli_nope").status_code == 404
    assert signed_in.post("/invoices/inv_nope/lock").status_code == 404
    assert signed_in.post("/templates/tpl_nope/draft").status_code == 404
    page = signed_in.http.get("/invoices/inv_nope/edit")
    assert page.status_code == 404 and "Not found" in page.text


def test_a_navigation_slot_shows_once_its_page_exists(
    signed_in: Browser, web: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages, "NAV", (*pages.NAV, pages.NavItem("Later page", "app.later")))

    def nav() -> str:
        html = signed_in.http.get("/chase").text
        return html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]

    labels = re.findall(r">([A-Za-z ]+)</a>", nav())
    assert labels[:3] == ["Invoices", "Clients", "Chase list"]
    assert "Later page" not in labels
    assert 'href="/chase" aria-current="page"' in nav()

    @web.get("/later", name="app.later")
    def later() -> str:  # a page added later, by name
        return "ok"

    assert re.findall(r">([A-Za-z ]+)</a>", nav())[-1] == "Later page"


def test_a_session_lasts_a_working_day(world: World, clock: FixedClock) -> None:
    email = a_user(world.app, world.org_id)
    started = users.sign_in(world.ctx, email=email, password=PASSWORD)
    assert started.session.expires_at - started.session.created_at == timedelta(hours=12)
    assert users.user_for_session(world.ctx, started.token).email == email
    clock.advance(hours=12, seconds=1)
    with pytest.raises(users.SessionEnded):
        users.user_for_session(world.ctx, started.token)
