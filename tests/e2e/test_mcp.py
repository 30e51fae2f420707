"""The MCP server through the SDK's in-memory client: the tools, and the first seed's month.

The set-up no tool offers (the organization, the client, its three engagements and POs, the
retainer schedule, the accepted quote, February's milestone invoice) is done with the use
cases directly. March itself is told through tools alone, as an assistant would: what goes
out on the first business day, the milestone signed off mid-month, the two extra landing
pages approved in writing, the change order on the 28th, each invoice sent, and at the end
three March invoices, each on its own engagement and its own PO.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from mcp import Client

from engagebill.bootstrap import App
from engagebill.entrypoints.http import create_app
from engagebill.entrypoints.mcp.auth import local_operator
from engagebill.entrypoints.mcp.server import TOOLS, build_server
from engagebill.services import delivery, invoicing, quotes, retainers
from engagebill.services.access import create_api_key
from tests.e2e.mcp_support import call, over_http, refusal, serving
from tests.support import FixedClock, a_client, a_po, an_engagement, an_organization, migrated_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock) -> Iterator[App]:
    application = migrated_app(f"sqlite:///{tmp_path / 'mcp.db'}", clock)
    yield application
    application.dispose()


class Acme:
    """The first seed's client as it stands at the end of February."""

    def __init__(self, app: App, clock: FixedClock) -> None:
        ctx = app.ctx
        clock.set(date(2025, 2, 10))
        self.org = an_organization(app)
        self.client = a_client(app, self.org)
        kinds = [
            ("retainer", "Monthly retainer"),
            ("fixed_price", "Website rebuild"),
            ("time_and_material", "Out-of-scope work"),
        ]
        self.retainer, self.project, self.extra = (
            an_engagement(app, self.org, self.client, kind=k, currency="USD", name=n)
            for k, n in kinds
        )
        a_po(app, self.org, self.retainer, "PO-RETAINER-2025", valid_to=date(2025, 12, 31))
        a_po(app, self.org, self.project, "PO-WEBSITE")
        a_po(app, self.org, self.extra, "PO-EXTRAS-2025")
        retainers.create_schedule(
            ctx,
            organization_id=self.org,
            engagement_id=self.retainer,
            amount="10000.00",
            start_date=date(2025, 3, 1),
        )
        quote = quotes.create_quote(
            ctx,
            organization_id=self.org,
            engagement_id=self.project,
            title="Website rebuild",
            items=[
                quotes.QuoteItemInput("Discovery", "Research and wireframes", "20000.00"),
                quotes.QuoteItemInput("design system sign-off", "Components", "20000.00"),
                quotes.QuoteItemInput("Launch", "Build and launch", "20000.00"),
            ],
        )
        quotes.send_quote(ctx, organization_id=self.org, quote_id=quote.id)
        quotes.accept_quote(ctx, organization_id=self.org, quote_id=quote.id, name="Dana Scully")
        first = quotes.list_milestones(ctx, organization_id=self.org, engagement_id=self.project)
        # Milestone 1 was signed off, invoiced and sent in February.
        signed = quotes.sign_off_milestone(
            ctx, organization_id=self.org, milestone_id=first[0].id, by="Dana Scully"
        )
        invoicing.send_invoice(ctx, organization_id=self.org, invoice_id=signed.invoice.id)


@pytest.fixture
def acme(app: App, clock: FixedClock) -> Acme:
    return Acme(app, clock)


@pytest.fixture
def client(app: App, acme: Acme) -> Client:
    # The local operator of a stdio server: the only organization, with full rights.
    return Client(build_server(app.ctx, local_operator(app.ctx, None)))


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


@pytest.mark.anyio
async def test_every_tool_publishes_its_input_and_output_schema(client: Client) -> None:
    async with client:
        tools = (await client.list_tools()).tools
    assert sorted(t.name for t in tools) == sorted(TOOLS)
    for tool in tools:
        assert tool.description, tool.name
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name
        writes = "idempotency_key" in tool.input_schema["properties"]
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is (not writes), tool.name
    by_name = {t.name: t for t in tools}
    plan = by_name["billing_plan"]
    assert plan.input_schema["required"] == ["as_of"]
    assert "invoice_count" in plan.output_schema["properties"]  # type: ignore[index]


@pytest.mark.anyio
async def test_the_first_seed_month_told_through_tools(
    client: Client, acme: Acme, clock: FixedClock
) -> None:
    async with client:
        # Who is the client, and what do we bill them under?
        found = (await call(client, "find_clients", name_contains="acme"))["clients"]
        assert [c["name"] for c in found] == ["Acme Retail"]
        client_id = found[0]["id"]
        engagements = (await call(client, "find_engagements", client_id=client_id))["engagements"]
        po_of = {
            e["name"]: [po["number"] for po in e["purchase_orders"] if po["is_default"]]
            for e in engagements
        }
        assert po_of == {
            "Monthly retainer": ["PO-RETAINER-2025"],
            "Website rebuild": ["PO-WEBSITE"],
            "Out-of-scope work": ["PO-EXTRAS-2025"],
        }

        # Day 1 to 3: on the first business day (Monday 3 March) the retainer goes out.
        clock.set(date(2025, 3, 3))
        plan = await call(client, "billing_plan", as_of="2025-03-03")
        assert plan["invoice_count"] == 1
        retainer = plan["invoices"][0]
        assert retainer["purpose"] == "retainer"
        assert retainer["engagement_name"] == "Monthly retainer"
        assert retainer["purchase_order"]["number"] == "PO-RETAINER-2025"
        assert retainer["number"] == "INV-2025-0002"  # February's milestone took 0001
        assert [ln["description"] for ln in retainer["lines"]] == ["Monthly retainer, March 2025"]
        assert retainer["totals"]["net"] == money("10000.00")
        run = await call(client, "execute_billing_run", as_of="2025-03-03")
        assert [(i["state"], i["purchase_order"]["number"]) for i in run["created"]] == [
            ("draft", "PO-RETAINER-2025")
        ]
        sent = await call(client, "send_invoice", invoice_id=run["created"][0]["id"])
        assert sent["invoice"]["number"] == retainer["number"]
        assert [link["recipient_email"] for link in sent["links"]] == ["ap@acme.example"]

        # Mid-month: milestone 2 is signed off and invoiced at once, on the project's PO.
        clock.set(date(2025, 3, 14))
        milestones = (await call(client, "list_milestones", engagement_id=acme.project))[
            "milestones"
        ]
        assert [(m["position"], m["state"]) for m in milestones] == [
            (1, "invoiced"),
            (2, "planned"),
            (3, "planned"),
        ]
        signed = await call(
            client,
            "sign_off_milestone",
            milestone_id=milestones[1]["id"],
            signed_off_by="Dana Scully",
        )
        assert signed["milestone"]["state"] == "invoiced"
        milestone_invoice = signed["invoice"]
        assert milestone_invoice["purchase_order"]["number"] == "PO-WEBSITE"
        assert [ln["description"] for ln in milestone_invoice["lines"]] == [
            "Website rebuild, Milestone 2: design system sign-off"
        ]
        assert milestone_invoice["totals"]["net"] == money("20000.00")
        sent = await call(client, "send_invoice", invoice_id=milestone_invoice["id"])
        assert sent["invoice"]["number"] == "INV-2025-0003"

        # The two extra landing pages, 14 hours, each with the client's written approval.
        recorded = []
        for day, hours in (("2025-03-17", "8"), ("2025-03-19", "6")):
            clock.set(date.fromisoformat(day))
            item = await call(
                client,
                "record_work_item",
                engagement_id=acme.extra,
                work_date=day,
                person="Sam Rivera",
                hours=hours,
                rate="150.00",
                description="Extra landing page",
                requester="Dana Scully",
                approval_ref=f"https://mail.example/approval/{day}",
            )
            assert item["state"] == "unapproved"
            recorded.append(item["id"])
        approved = await call(client, "approve_work_items", work_item_ids=recorded)
        assert [i["state"] for i in approved["work_items"]] == ["approved", "approved"]

        # The 28th: how many invoices go out, with what numbers, under whose PO?
        clock.set(date(2025, 3, 28))
        plan = await call(client, "billing_plan", as_of="2025-03-28")
        assert plan["invoice_count"] == 1
        change_order = plan["invoices"][0]
        assert change_order["purpose"] == "change_order"
        assert change_order["purchase_order"]["number"] == "PO-EXTRAS-2025"
        assert change_order["number"] == "INV-2025-0004"
        assert change_order["totals"]["net"] == money("2100.00")  # 14 h x 150
        assert [
            (ln["service_date"], ln["requester"], ln["quantity"], ln["unit_price"]["amount"])
            for ln in change_order["lines"]
        ] == [
            ("2025-03-17", "Dana Scully", "8.00", "150.00"),
            ("2025-03-19", "Dana Scully", "6.00", "150.00"),
        ]
        assert all(ln["approval_ref"] for ln in change_order["lines"])
        run = await call(client, "execute_billing_run", as_of="2025-03-28")
        assert len(run["created"]) == 1
        sent = await call(client, "send_invoice", invoice_id=run["created"][0]["id"])
        assert sent["invoice"]["number"] == change_order["number"]

        # Nothing more is due, and running again creates nothing.
        assert (await call(client, "billing_plan", as_of="2025-03-28"))["invoice_count"] == 0
        assert (await call(client, "execute_billing_run", as_of="2025-03-28"))["created"] == []

        # March: three invoices, one per engagement, each with its own PO, all sent.
        march = (
            await call(
                client,
                "list_invoices",
                client_id=client_id,
                issued_from="2025-03-01",
                issued_to="2025-03-31",
            )
        )["invoices"]
        assert sorted(
            (i["issue_date"], i["number"], i["engagement_name"], i["po_number"], i["state"])
            for i in march
        ) == [
            ("2025-03-03", "INV-2025-0002", "Monthly retainer", "PO-RETAINER-2025", "sent"),
            ("2025-03-14", "INV-2025-0003", "Website rebuild", "PO-WEBSITE", "sent"),
            ("2025-03-28", "INV-2025-0004", "Out-of-scope work", "PO-EXTRAS-2025", "sent"),
        ]

        # The four questions for the client: what went out, was viewed, is approved, is stuck.
        lifecycle = await call(client, "client_lifecycle", client_id=client_id, as_of="2025-03-28")
        [acme_retail] = lifecycle["clients"]
        assert (acme_retail["went_out"], acme_retail["viewed"], acme_retail["approved"]) == (
            4,
            0,
            0,
        )
        assert {i["number"]: i["po_number"] for i in acme_retail["invoices"]} == {
            "INV-2025-0001": "PO-WEBSITE",
            "INV-2025-0002": "PO-RETAINER-2025",
            "INV-2025-0003": "PO-WEBSITE",
            "INV-2025-0004": "PO-EXTRAS-2025",
        }
        # Sent and never opened: the ones to chase first, oldest first.
        chase = await call(client, "chase_list", as_of="2025-03-28")
        assert [(i["invoice"]["number"], i["reason"]) for i in chase["items"]] == [
            ("INV-2025-0001", "unopened"),
            ("INV-2025-0002", "unopened"),
            ("INV-2025-0003", "unopened"),
        ]
        assert chase["items"][0]["contacts"] == ["ap@acme.example"]
        # Each invoice has its own line in the revenue report.
        revenue = await call(client, "revenue_report", date_from="2025-03-01", date_to="2025-03-31")
        assert sorted((r["engagement_kind"], r["net"]["amount"]) for r in revenue["rows"]) == [
            ("fixed_price", "20000.00"),
            ("retainer", "10000.00"),
            ("time_and_material", "2100.00"),
        ]
        assert revenue["totals"] == [
            {"invoiced": money("32100.00"), "credited": money("0.00"), "net": money("32100.00")}
        ]


@pytest.mark.anyio
async def test_a_business_refusal_is_a_tool_error_with_its_stable_code(
    client: Client, acme: Acme
) -> None:
    async with client:
        [sent] = (await call(client, "list_invoices", states=["sent"]))["invoices"]
        text = await refusal(client, "send_invoice", invoice_id=sent["id"])
        assert "invoice.not_sendable: cannot send an invoice that is sent" in text
        text = await refusal(client, "get_invoice", invoice_id="inv_not_there")
        assert "invoice.not_found: " in text
        # Arguments that fail the input schema are refused before any use case runs.
        text = await refusal(client, "billing_plan", as_of="the 28th")
        assert "as_of" in text
        text = await refusal(
            client,
            "record_work_item",
            engagement_id=acme.extra,
            work_date="2025-03-17",
            person="Sam",
            hours="8",
            rate=150.0,
            description="Landing page",
        )
        assert "rate" in text  # money is a decimal string, never a float


@pytest.mark.anyio
async def test_an_idempotent_write_replays_and_a_changed_one_is_refused(
    client: Client, acme: Acme
) -> None:
    line = {"description": "Workshop", "quantity": "1", "unit_price": "1500.00"}
    async with client:
        first = await call(
            client,
            "create_draft_invoice",
            engagement_id=acme.extra,
            lines=[line],
            idempotency_key="draft-workshop",
        )
        again = await call(
            client,
            "create_draft_invoice",
            engagement_id=acme.extra,
            lines=[line],
            idempotency_key="draft-workshop",
        )
        assert again == first
        drafts = await call(client, "list_invoices", engagement_id=acme.extra, states=["draft"])
        assert [d["id"] for d in drafts["invoices"]] == [first["invoice"]["id"]]

        changed = await refusal(
            client,
            "create_draft_invoice",
            engagement_id=acme.extra,
            lines=[{**line, "unit_price": "1600.00"}],
            idempotency_key="draft-workshop",
        )
        assert "idempotency.key_reused" in changed
        other_tool = await refusal(
            client, "execute_billing_run", as_of="2025-03-03", idempotency_key="draft-workshop"
        )
        assert "idempotency.key_reused" in other_tool

        # The first send takes the number; a replay returns it without sending again.
        invoice_id = first["invoice"]["id"]
        sent = await call(client, "send_invoice", invoice_id=invoice_id, idempotency_key="send-1")
        replay = await call(client, "send_invoice", invoice_id=invoice_id, idempotency_key="send-1")
        assert replay == sent
        assert sent["invoice"]["number"] == "INV-2025-0002"
        # A refusal is an outcome too: the same key replays it.
        for _ in range(2):
            text = await refusal(
                client, "send_invoice", invoice_id=invoice_id, idempotency_key="send-2"
            )
            assert "invoice.not_sendable" in text


@pytest.mark.anyio
async def test_drafts_credit_notes_and_the_advance_balance(
    client: Client, acme: Acme, app: App, clock: FixedClock
) -> None:
    clock.set(date(2025, 3, 5))
    retainers.create_advance(
        app.ctx,
        organization_id=acme.org,
        engagement_id=acme.extra,
        amount="5000.00",
        invoice_date=date(2025, 3, 5),
    )
    async with client:
        draft = await call(
            client,
            "create_draft_invoice",
            engagement_id=acme.extra,
            lines=[{"description": "Workshop", "quantity": "2", "unit_price": "750.00"}],
            without_purchase_order=True,
        )
        assert draft["invoice"]["purchase_order"] is None
        edited = await call(
            client,
            "edit_draft_invoice",
            invoice_id=draft["invoice"]["id"],
            purchase_order_id=(await call(client, "find_engagements", kind="time_and_material"))[
                "engagements"
            ][0]["purchase_orders"][0]["id"],
            notes="Workshop with the marketing team",
        )
        assert edited["invoice"]["purchase_order"]["number"] == "PO-EXTRAS-2025"
        assert edited["invoice"]["notes"] == "Workshop with the marketing team"
        conflicting = await refusal(
            client,
            "edit_draft_invoice",
            invoice_id=draft["invoice"]["id"],
            purchase_order_id="po_x",
            remove_purchase_order=True,
        )
        assert "validation.conflicting_arguments" in conflicting

        sent = await call(client, "send_invoice", invoice_id=draft["invoice"]["id"])
        note = await call(
            client,
            "issue_credit_note",
            invoice_id=sent["invoice"]["id"],
            reason="The workshop was cancelled",
        )
        assert note["invoice_state"] == "void"
        assert note["totals"]["net"] == money("1500.00")
        assert note["number"].startswith("CN-2025-")

        # The advance: invoiced by the run on its date, available once sent.
        run = await call(client, "execute_billing_run", as_of="2025-03-05")
        [advance_invoice] = [i for i in run["created"] if i["engagement_id"] == acme.extra]
        await call(client, "send_invoice", invoice_id=advance_invoice["id"])
        balance = await call(client, "advance_balance", engagement_id=acme.extra)
        assert (balance["invoiced"], balance["used"], balance["available"]) == (
            money("5000.00"),
            money("0.00"),
            money("5000.00"),
        )


@pytest.mark.anyio
async def test_a_read_only_key_cannot_call_a_write_tool_over_http(app: App, acme: Acme) -> None:
    reader = create_api_key(app.ctx, organization_id=acme.org, name="reports", scope="read")
    with serving(create_app(app.ctx)) as base:
        async with over_http(f"{base}/mcp", reader.secret) as client:
            plan = await call(client, "billing_plan", as_of="2025-03-03")
            assert plan["invoice_count"] == 1
            text = await refusal(client, "execute_billing_run", as_of="2025-03-03")
            assert "api_key.read_only: this API key may only read" in text
            assert (await call(client, "billing_plan", as_of="2025-03-03"))["invoice_count"] == 1


@pytest.mark.anyio
async def test_quotes_are_drafted_and_sent_and_sign_off_is_asked_through_tools(
    client: Client, acme: Acme, app: App
) -> None:
    async with client:
        draft = await call(
            client,
            "create_quote",
            engagement_id=acme.project,
            title="Phase 2",
            items=[
                {"name": "Checkout redesign", "description": "Flows", "amount": "12000.00"},
                {"name": "Loyalty pages", "amount": "8000.00"},
            ],
            total="20000.00",
            idempotency_key="quote-phase-2",
        )
        assert (draft["state"], draft["number"], draft["total"]) == (
            "draft",
            None,
            money("20000.00"),
        )
        text = await refusal(
            client,
            "create_quote",
            engagement_id=acme.project,
            title="Phase 2",
            items=[{"name": "Checkout redesign", "amount": "12000.00"}],
            total="20000.00",
        )
        assert "quote.milestones_do_not_sum: the milestones sum to 12000.00 USD" in text

        sent = await call(client, "send_quote", quote_id=draft["id"])
        assert sent["quote"]["state"] == "sent" and sent["quote"]["number"] == "Q-2025-0002"
        assert [link["recipient_email"] for link in sent["links"]] == ["ap@acme.example"]
        assert "token" not in str(sent["links"])  # a capability belongs in the mail only
        listed = await call(client, "list_quotes", engagement_id=acme.project, states=["sent"])
        assert [q["id"] for q in listed["quotes"]] == [draft["id"]]
        shown = await call(client, "get_quote", quote_id=draft["id"])
        assert len(shown["versions"][0]["content_hash"]) == 64

        [_, planned, _] = (await call(client, "list_milestones", engagement_id=acme.project))[
            "milestones"
        ]
        asked = await call(
            client,
            "request_milestone_sign_off",
            milestone_id=planned["id"],
            recipient_email="lead@acme.example",
            recipient_name="Lee Lead",
        )
        assert asked["recipient_email"] == "lead@acme.example"
        text = await refusal(
            client,
            "request_milestone_sign_off",
            milestone_id=planned["id"],
            recipient_email="not an address",
        )
        assert "email.invalid: " in text
    subjects = [
        m.payload["subject"] for m in delivery.outbox_messages(app.ctx, organization_id=acme.org)
    ]
    assert "Quote Q-2025-0002 from Northwind Studio: Phase 2" in subjects
    assert any(s.startswith("Please sign off milestone 2") for s in subjects)
