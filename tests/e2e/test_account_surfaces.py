"""Every surface shows the same engagement account, on SQLite and PostgreSQL.

One advance retainer, told with the use cases from September to November: a 10,000.00 advance
invoiced and paid; September's support drawn in full from it, then one line of it credited
(which gives that part back to the advance); October's support billed without the advance,
sent and paid in part; a workshop invoiced, paid, then credited in full (void, and paid
beyond what it now asks); November's support left a draft that reserves its draw.

The REST API, the MCP server, the CLI and the agency's pages then show the same figures: the
advance (invoiced, drawn, reserved, used, refunded, available) and, per issued invoice, its
gross, drawn, credited, paid and outstanding amounts, its credit balance and payment status.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from mcp import Client
from typer.testing import CliRunner

from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.entrypoints.http import create_app
from engagebill.entrypoints.mcp.auth import local_operator
from engagebill.entrypoints.mcp.server import build_server
from engagebill.services import (
    advances,
    billing_run,
    invoicing,
    parties,
    retainers,
    settlement,
    users,
    work,
)
from engagebill.services.access import create_api_key
from tests.e2e.mcp_support import call
from tests.support import World, line

API = "/api/v1"
PASSWORD = "correct horse battery staple"
FIGURES = ("gross", "drawn", "credited", "paid", "outstanding", "credit_balance")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Story:
    world: World
    engagement: str
    advance: str  # the advance invoice, paid
    september: str  # drawn from the advance, one line credited back to it
    october: str  # billed without the advance, paid in part
    workshop: str  # paid, then credited in full: void, paid beyond what it asks
    november: str  # a draft: it reserves its draw

    @property
    def issued(self) -> dict[str, str]:
        return {
            "advance": self.advance,
            "september": self.september,
            "october": self.october,
            "workshop": self.workshop,
        }


def approved_work(world: World, engagement: str, day: date, hours: str, text: str) -> None:
    item = work.record_work_item(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement,
        work_date=day,
        person="Robin",
        hours=hours,
        rate="150",
        description=text,
        requester="Dana (Acme)",
    )
    work.approve_work_items(
        world.ctx,
        organization_id=world.org_id,
        work_item_ids=[item.id],
        approval_ref=f"https://mail.example/acme/{item.id}",
    )


def run(world: World, day: date) -> str:
    world.clock.set(day)
    [created] = billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=day).created
    return created.id


def send(world: World, invoice_id: str) -> None:
    invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)


def pay(world: World, invoice_id: str, amount: str) -> None:
    settlement.record_payment(
        world.ctx, organization_id=world.org_id, invoice_id=invoice_id, amount=amount
    )


@pytest.fixture
def story(world: World) -> Story:
    ctx, org = world.ctx, world.org_id
    engagement = parties.create_engagement(
        ctx,
        organization_id=org,
        client_id=world.client_id,
        name="Support retainer",
        kind="retainer",
        retainer_mode="advance",
        currency="EUR",
        net_days=14,
    ).id
    world.clock.set(date(2025, 9, 12))
    prepaid = retainers.create_advance(
        ctx,
        organization_id=org,
        engagement_id=engagement,
        amount="10000.00",
        invoice_date=date(2025, 9, 12),
        description="Advance for support, autumn 2025",
    )
    advance = advances.invoice_advance(ctx, organization_id=org, advance_id=prepaid.id).id
    send(world, advance)
    pay(world, advance, "12100.00")

    approved_work(world, engagement, date(2025, 9, 15), "12", "Support: checkout incident")
    approved_work(world, engagement, date(2025, 9, 19), "18", "Support: release 4.2")
    september = run(world, date(2025, 9, 30))  # 4,500.00 net, all of it drawn
    send(world, september)
    world.clock.set(date(2025, 10, 3))
    settlement.issue_credit_note(
        ctx,
        organization_id=org,
        invoice_id=september,
        reason="Goodwill: the checkout incident",
        lines=[line("Support: checkout incident", quantity="12", price="150.00")],
    )

    approved_work(world, engagement, date(2025, 10, 8), "20", "Support: data migration")
    october = run(world, date(2025, 10, 31))
    advances.discard_advance(ctx, organization_id=org, invoice_id=october)  # billed normally
    send(world, october)
    pay(world, october, "1000.00")

    workshop = invoicing.create_draft(
        ctx,
        organization_id=org,
        engagement_id=engagement,
        lines=[line("Analytics workshop", price="500.00")],
    ).invoice.id
    send(world, workshop)
    pay(world, workshop, "605.00")
    settlement.issue_credit_note(
        ctx, organization_id=org, invoice_id=workshop, reason="Workshop cancelled"
    )

    approved_work(world, engagement, date(2025, 11, 12), "5", "Support: on-call weekend")
    november = run(world, date(2025, 11, 30))  # a draft: reserves 750.00
    return Story(world, engagement, advance, september, october, workshop, november)


# What the story adds up to: the advance in net amounts, the invoices in gross.
ADVANCE = {
    "invoiced": "10000.00",
    "drawn": "2700.00",  # 4,500.00 drawn by September, 1,800.00 of it given back by the credit
    "reserved": "750.00",  # November's draft
    "used": "3450.00",
    "refunded": "0.00",
    "available": "6550.00",
}
POSITIONS = {  # gross, drawn, credited, paid, outstanding, credit_balance; payment status
    "advance": (("12100.00", "0.00", "0.00", "12100.00", "0.00", "0.00"), "paid"),
    "september": (("5445.00", "3267.00", "2178.00", "0.00", "0.00", "0.00"), "paid"),
    "october": (("3630.00", "0.00", "0.00", "1000.00", "2630.00", "0.00"), "partially_paid"),
    "workshop": (("605.00", "0.00", "605.00", "605.00", "0.00", "605.00"), "void"),
}
TOTALS = {
    "invoiced": "21780.00",
    "drawn": "3267.00",
    "credited": "2783.00",
    "paid": "13705.00",
    "outstanding": "2630.00",
    "credit_balance": "605.00",
}


def eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def figures(body: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    """An invoice output's position: its six amounts (EUR) and its payment status."""
    amounts = []
    for name in FIGURES:
        assert body[name]["currency"] == "EUR", name
        amounts.append(body[name]["amount"])
    return tuple(amounts), body["payment_status"]


def assert_the_story(account: dict[str, Any], story: Story) -> None:
    """An engagement account output (REST, MCP and the CLI's --json are one shape)."""
    assert account["engagement_id"] == story.engagement
    assert account["currency"] == "EUR"
    assert account["advance"] == {name: eur(value) for name, value in ADVANCE.items()}
    assert account["totals"] == {name: eur(value) for name, value in TOTALS.items()}
    rows = {row["id"]: row for row in account["invoices"]}
    assert list(rows) == list(story.issued.values())  # issued only, oldest first
    assert story.november not in rows
    for name, invoice_id in story.issued.items():
        assert figures(rows[invoice_id]) == POSITIONS[name], name
    assert rows[story.advance]["kind"] == "advance"
    assert rows[story.workshop]["state"] == "void"


# --- REST --------------------------------------------------------------------------------------
@pytest.fixture
def rest(story: Story) -> Iterator[TestClient]:
    issued = create_api_key(story.world.ctx, organization_id=story.world.org_id, name="surfaces")
    with TestClient(create_app(story.world.ctx)) as http:
        http.headers["Authorization"] = f"Bearer {issued.secret}"
        yield http


def get(http: TestClient, path: str, **params: Any) -> Any:
    response = http.get(API + path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_rest_api_shows_the_account_and_every_invoice_its_position(
    story: Story, rest: TestClient
) -> None:
    account = get(rest, f"/engagements/{story.engagement}/account")
    assert_the_story(account, story)

    for name, invoice_id in story.issued.items():
        invoice = get(rest, f"/invoices/{invoice_id}")
        assert figures(invoice) == POSITIONS[name], name
        assert invoice["gross"] == invoice["totals"]["gross"]
    listed = get(rest, "/invoices", engagement_id=story.engagement)["items"]
    rows = {row["id"]: row for row in listed}
    for name, invoice_id in story.issued.items():
        assert figures(rows[invoice_id]) == POSITIONS[name], name
    # The draft reserves its draw: it shows it, and asks nothing yet.
    draft = get(rest, f"/invoices/{story.november}")
    assert (draft["drawn"], draft["outstanding"]) == (eur("907.50"), eur("0.00"))
    assert figures(rows[story.november]) == figures(draft)

    # The advance balance says what the account says.
    balance = get(rest, f"/engagements/{story.engagement}/advance-balance")
    assert {name: balance[name] for name in ADVANCE} == account["advance"]

    # A credit note says what of it went back to the advance, and what is left to settle.
    notes = get(rest, "/credit-notes", invoice_id=story.september)["items"]
    [note] = [get(rest, f"/credit-notes/{n['id']}") for n in notes]
    assert (note["gross"], note["prepaid"], note["payable"]) == (
        eur("2178.00"),
        eur("2178.00"),
        eur("0.00"),
    )
    [void] = get(rest, "/credit-notes", invoice_id=story.workshop)["items"]
    full = get(rest, f"/credit-notes/{void['id']}")
    assert (full["prepaid"], full["payable"]) == (eur("0.00"), eur("605.00"))


def test_another_organizations_engagement_account_is_not_found(
    story: Story, rest: TestClient
) -> None:
    response = rest.get(f"{API}/engagements/eng_unknown/account")
    assert response.status_code == 404
    assert response.json()["code"] == "engagement.not_found"


# --- MCP ---------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_mcp_shows_the_same_account_and_positions(story: Story, rest: TestClient) -> None:
    ctx = story.world.ctx
    client = Client(build_server(ctx, local_operator(ctx, story.world.org_id)))
    async with client:
        account = await call(client, "engagement_account", engagement_id=story.engagement)
        assert_the_story(account, story)
        assert account == get(rest, f"/engagements/{story.engagement}/account")
        for name, invoice_id in story.issued.items():
            invoice = await call(client, "get_invoice", invoice_id=invoice_id)
            assert figures(invoice) == POSITIONS[name], name
        listed = await call(client, "list_invoices", engagement_id=story.engagement)
        rows = {row["id"]: row for row in listed["invoices"]}
        for name, invoice_id in story.issued.items():
            assert figures(rows[invoice_id]) == POSITIONS[name], name
        balance = await call(client, "advance_balance", engagement_id=story.engagement)
        assert {name: balance[name] for name in ADVANCE} == account["advance"]
        tools = {t.name: t for t in (await client.list_tools()).tools}
    annotations = tools["engagement_account"].annotations
    assert annotations is not None and annotations.read_only_hint is True


# --- CLI ---------------------------------------------------------------------------------------
def cli(story: Story, *args: str) -> str:
    url = story.world.app.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(cli_app, ["--db", url, *args, "--org", story.world.org_id])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_cli_shows_the_same_account_and_positions(story: Story, rest: TestClient) -> None:
    account = json.loads(cli(story, "engagement", "account", story.engagement, "--json"))
    assert_the_story(account, story)
    assert account == get(rest, f"/engagements/{story.engagement}/account")

    text = cli(story, "engagement", "account", story.engagement)
    assert (
        "advance (net): invoiced 10000.00 EUR  drawn 2700.00 EUR  reserved 750.00 EUR  "
        "used 3450.00 EUR  refunded 0.00 EUR  available 6550.00 EUR"
    ) in text
    lines = {i: next(ln for ln in text.splitlines() if i in ln) for i in story.issued.values()}
    assert (
        "partially_paid: gross 3630.00 EUR  drawn 0.00 EUR  credited 0.00 EUR  "
        in (lines[story.october])
    )
    assert "paid 1000.00 EUR  outstanding 2630.00 EUR" in lines[story.october]
    assert "void, void:" in lines[story.workshop]
    assert "credit balance 605.00 EUR" in lines[story.workshop]
    assert "(advance)" in lines[story.advance]
    assert story.november not in text
    assert "outstanding 2630.00 EUR  credit balance 605.00 EUR" in text  # the totals

    listed = json.loads(cli(story, "invoice", "list", "--engagement", story.engagement, "--json"))
    rows = {row["id"]: row for row in listed["invoices"]}
    for name, invoice_id in story.issued.items():
        row = rows[invoice_id]
        assert (tuple(row[f] for f in FIGURES), row["payment_status"]) == POSITIONS[name], name

    september = cli(story, "invoice", "show", story.september)
    assert (
        "gross 5445.00 EUR  drawn from advance 3267.00 EUR  credited 2178.00 EUR  "
        "paid 0.00 EUR  outstanding 0.00 EUR"
    ) in september
    assert "credit balance" not in september
    workshop = cli(story, "invoice", "show", story.workshop)
    assert " - void - void" in workshop  # its state, and its payment status
    assert "credited 605.00 EUR  paid 605.00 EUR  outstanding 0.00 EUR" in workshop
    assert "credit balance 605.00 EUR (refundable)" in workshop


# --- the agency's pages ------------------------------------------------------------------------
def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def browser(story: Story) -> Iterator[TestClient]:
    ctx = story.world.ctx
    ctx.settings["password_hashing"] = "fast"
    email = f"am-{secrets.token_hex(4)}@northwind.example"
    users.create_user(
        ctx, organization_id=story.world.org_id, email=email, name="Avery", password=PASSWORD
    )
    with TestClient(create_app(ctx)) as http:
        login = http.get("/login")
        token = re.search(r'name="login_token" value="([^"]+)"', login.text)
        assert token is not None
        signed = http.post(
            "/login",
            data={"email": email, "password": PASSWORD, "login_token": token.group(1)},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        yield http


def money_words(amount: str) -> str:
    whole, cents = amount.split(".")
    return f"{int(whole):,}.{cents} EUR"


def test_the_engagement_page_shows_the_advance_and_each_invoices_position(
    story: Story, browser: TestClient
) -> None:
    page = browser.get(f"/engagements/{story.engagement}")
    assert page.status_code == 200, page.text
    for name, value in ADVANCE.items():
        shown = re.search(rf'id="advance-{name}">(?:<strong>)?([^<]+)<', page.text)
        assert shown is not None, name
        assert shown.group(1) == money_words(value), name
    for name, invoice_id in story.issued.items():
        row = re.search(rf'<tr data-invoice="{invoice_id}"[^>]*>(.*?)</tr>', page.text, re.S)
        assert row is not None, name
        amounts, status = POSITIONS[name]
        shown = dict(re.findall(r'data-figure="(\w+)">([^<]+)<', row.group(0)))
        expected = dict(zip(FIGURES, amounts, strict=True))
        if expected["credit_balance"] == "0.00":
            del expected["credit_balance"]
        else:
            shown["credit_balance"] = shown["credit_balance"].removesuffix(" paid beyond it")
        assert shown == {k: money_words(v) for k, v in expected.items()}, name
        assert f'data-payment="{status}"' in row.group(0), name
    totals = re.search(r'<tr id="engagement-totals">(.*?)</tr>', page.text, re.S)
    assert totals is not None
    shown = dict(re.findall(r'data-figure="(\w+)">([^<]+)<', totals.group(0)))
    assert shown["gross"] == money_words(TOTALS["invoiced"])
    assert shown["outstanding"] == money_words(TOTALS["outstanding"])
    assert shown["drawn"] == money_words(TOTALS["drawn"])


def test_the_invoice_page_shows_gross_drawn_credited_paid_and_outstanding(
    story: Story, browser: TestClient
) -> None:
    def shown(invoice_id: str) -> tuple[dict[str, str], str]:
        page = browser.get(f"/invoices/{invoice_id}")
        assert page.status_code == 200, page.text
        found = dict(re.findall(r'<dd id="(position-[\w-]+|outstanding)">([^<]+)<', page.text))
        status = re.search(r'<dd id="payment-status" data-status="(\w+)">([^<]+)<', page.text)
        assert status is not None
        return found, f"{status.group(1)}: {status.group(2)}"

    september, status = shown(story.september)
    assert september == {
        "position-gross": "5,445.00 EUR",
        "position-drawn": "3,267.00 EUR",
        "position-credited": "2,178.00 EUR",
        "position-paid": "0.00 EUR",
        "outstanding": "0.00 EUR",
    }
    assert status == "paid: Paid"
    october, status = shown(story.october)
    assert (october["position-paid"], october["outstanding"]) == ("1,000.00 EUR", "2,630.00 EUR")
    assert status == "partially_paid: Partially paid"
    workshop, status = shown(story.workshop)
    assert workshop["position-credited"] == "605.00 EUR"
    assert workshop["position-credit-balance"] == "605.00 EUR"
    assert workshop["outstanding"] == "0.00 EUR"
    assert status.startswith("void: Void")
    page = words(browser.get(f"/invoices/{story.september}").text)
    assert "(2,178.00 EUR of it back to the advance)" in page
