"""The REST API's resources over HTTP, on SQLite and PostgreSQL.

Clients, engagements, POs, retainer schedules, advances, credit notes, billing runs, events and
reports: each one's happy path; lists walked page by page with their cursors; filters; bad
input answered with problem+json and a stable code, with nothing written; 401 without a key,
403 for a read-only key on every write; and Idempotency-Key replays.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engagebill.adapters.db.tables import metadata
from engagebill.bootstrap import App
from engagebill.entrypoints.http import create_app
from engagebill.services import recipient
from engagebill.services.access import create_api_key
from tests.support import FixedClock, an_organization

API = "/api/v1"
PROBLEM = "application/problem+json"


@dataclass
class Api:
    """An organization, its read-write and read-only keys, and an HTTP client on the app."""

    app: App
    http: TestClient
    org_id: str
    key: str
    read_key: str
    clock: FixedClock

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.key}", **extra}

    def get(self, path: str, *, key: str | None = None, **params: Any) -> httpx.Response:
        return self.http.get(API + path, params=params, headers=self.headers(key))

    def post(
        self, path: str, body: Any = None, *, key: str | None = None, **headers: str
    ) -> httpx.Response:
        return self.http.post(API + path, json=body, headers=self.headers(key, **headers))

    def ok(self, response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def rows(self) -> dict[str, int]:
        """Rows of every table that belong to this organization (events included)."""
        with self.app.engine.connect() as conn:
            return {
                table.name: conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.organization_id == self.org_id)
                ).scalar_one()
                for table in metadata.sorted_tables
                if "organization_id" in table.c
            }


@pytest.fixture
def api(app: App, clock: FixedClock) -> Iterator[Api]:
    org = an_organization(app)
    key = create_api_key(app.ctx, organization_id=org, name="tests").secret
    read_key = create_api_key(app.ctx, organization_id=org, name="read", scope="read").secret
    with TestClient(create_app(app.ctx)) as http:
        yield Api(app, http, org, key, read_key, clock)


# --- builders, through the API --------------------------------------------------------------
ENTITY = {
    "legal_name": "Acme Retail GmbH",
    "line1": "Friedrichstrasse 10",
    "city": "Berlin",
    "postal_code": "10117",
    "country_code": "DE",
    "tax_id": "DE 136 695 976",
    "cost_centre": "MKT-100",
}


def a_client(api: Api, name: str = "Acme Retail", email: str = "ap@acme.example") -> Any:
    body = {
        "name": name,
        "billing_entity": {**ENTITY, "legal_name": f"{name} GmbH"},
        "contacts": [{"name": "Alex AP", "email": email}],
    }
    return api.ok(api.post("/clients", body), 201)


def an_engagement(api: Api, client_id: str, kind: str = "retainer", **extra: Any) -> Any:
    body = {
        "client_id": client_id,
        "name": extra.pop("name", kind.replace("_", " ").title()),
        "kind": kind,
        "currency": extra.pop("currency", "EUR"),
        **extra,
    }
    return api.ok(api.post("/engagements", body), 201)


def a_po(api: Api, engagement_id: str, number: str = "PO-1", **extra: Any) -> Any:
    body = {"engagement_id": engagement_id, "number": number, **extra}
    return api.ok(api.post("/purchase-orders", body), 201)


def a_schedule(api: Api, engagement_id: str, **extra: Any) -> Any:
    body = {
        "engagement_id": engagement_id,
        "amount": extra.pop("amount", "5000.00"),
        "start_date": extra.pop("start_date", "2025-01-01"),
        **extra,
    }
    return api.ok(api.post("/retainer-schedules", body), 201)


def an_advance(api: Api, engagement_id: str, **extra: Any) -> Any:
    body = {
        "engagement_id": engagement_id,
        "amount": extra.pop("amount", "2000.00"),
        "invoice_date": extra.pop("invoice_date", "2025-02-01"),
        **extra,
    }
    return api.ok(api.post("/advances", body), 201)


def a_draft(api: Api, engagement_id: str, price: str = "1000.00", **extra: Any) -> Any:
    body = {
        "engagement_id": engagement_id,
        "lines": [{"description": "Design work", "quantity": "1", "unit_price": price}],
        **extra,
    }
    return api.ok(api.post("/invoices", body), 201)["invoice"]


def a_sent_invoice(api: Api, engagement_id: str, price: str = "1000.00", **extra: Any) -> Any:
    draft = a_draft(api, engagement_id, price, **extra)
    return api.ok(api.post(f"/invoices/{draft['id']}/send", {}))["invoice"]


def walk(api: Api, path: str, limit: int = 2, **params: Any) -> list[Any]:
    """Every item of a list, following ``next_cursor`` page by page."""
    items: list[Any] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = api.ok(api.get(path, **query))
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path} never ends")


def ids(items: list[Any]) -> list[str]:
    return [item["id"] for item in items]


# --- clients ---------------------------------------------------------------------------------
def test_a_client_with_billing_entities_and_contacts(api: Api) -> None:
    client = a_client(api)
    assert client["name"] == "Acme Retail"
    [entity] = client["billing_entities"]
    assert entity["tax_id"] == "DE136695976"  # validated and compacted
    assert entity["address"]["country_code"] == "DE"
    assert [c["email"] for c in client["contacts"]] == ["ap@acme.example"]

    second = api.ok(
        api.post(
            f"/clients/{client['id']}/billing-entities",
            {**ENTITY, "legal_name": "Acme Retail Holding GmbH", "tax_id": ""},
        ),
        201,
    )
    assert second["client_id"] == client["id"]
    contact = api.ok(
        api.post(
            f"/clients/{client['id']}/contacts", {"name": "Dana", "email": "dana@acme.example"}
        ),
        201,
    )
    assert contact["email"] == "dana@acme.example"

    fetched = api.ok(api.get(f"/clients/{client['id']}"))
    assert [e["legal_name"] for e in fetched["billing_entities"]] == [
        "Acme Retail GmbH",
        "Acme Retail Holding GmbH",
    ]
    assert {c["name"] for c in fetched["contacts"]} == {"Alex AP", "Dana"}
    assert ids(api.ok(api.get("/clients"))["items"]) == [client["id"]]


# --- engagements and POs ---------------------------------------------------------------------
def test_engagements_and_their_purchase_orders_with_usage(api: Api) -> None:
    acme = a_client(api)["id"]
    bolt = a_client(api, "Bolt Logistics")["id"]
    retainer = an_engagement(api, acme, "retainer", retainer_mode="advance")
    project = an_engagement(api, acme, "fixed_price", net_days=14, name="Website rebuild")
    other = an_engagement(api, bolt, "time_and_material", currency="USD")
    assert retainer["retainer_mode"] == "advance" and project["retainer_mode"] is None
    assert project["net_days"] == 14 and project["vat_rate"] == "21.00"
    assert other["currency"] == "USD"

    assert set(ids(walk(api, "/engagements", client_id=acme))) == {retainer["id"], project["id"]}
    assert ids(walk(api, "/engagements", kind="time_and_material")) == [other["id"]]
    assert api.ok(api.get(f"/engagements/{project['id']}"))["name"] == "Website rebuild"

    expired = a_po(api, project["id"], "PO-OLD", valid_to="2025-02-28")
    po = a_po(
        api,
        project["id"],
        "PO-WEB-7",
        ceiling="10000.00",
        valid_from="2025-01-01",
        valid_to="2025-12-31",
    )
    assert po["ceiling"] == {"amount": "10000.00", "currency": "EUR"}
    assert po["consumed"]["amount"] == "0.00" and po["remaining"]["amount"] == "10000.00"
    assert po["validity"] == "valid" and expired["validity"] == "expired"
    assert api.ok(api.get(f"/engagements/{project['id']}"))["default_purchase_order_id"] == po["id"]

    a_sent_invoice(api, project["id"], "4000.00")  # carries the default PO
    a_draft(api, project["id"], "3000.00")  # drafts consume nothing
    usage = {
        p["number"]: p for p in api.ok(api.get(f"/engagements/{project['id']}/purchase-orders"))
    }
    assert usage["PO-WEB-7"]["consumed"] == {"amount": "4000.00", "currency": "EUR"}
    assert usage["PO-WEB-7"]["remaining"] == {"amount": "6000.00", "currency": "EUR"}
    assert usage["PO-OLD"]["remaining"] is None
    assert api.ok(api.get(f"/purchase-orders/{po['id']}"))["consumed"]["amount"] == "4000.00"
    assert set(ids(walk(api, "/purchase-orders", engagement_id=project["id"]))) == {
        po["id"],
        expired["id"],
    }
    assert walk(api, "/purchase-orders", engagement_id=retainer["id"]) == []


# --- retainer schedules and advances ---------------------------------------------------------
def test_retainer_schedules_and_advances(api: Api) -> None:
    acme = a_client(api)["id"]
    retainer = an_engagement(api, acme, "retainer")["id"]
    project = an_engagement(api, acme, "fixed_price")["id"]

    monthly = a_schedule(api, retainer, line_template="Retainer {month_short} {year}")
    quarterly = a_schedule(
        api, retainer, amount="15000.00", frequency="quarterly", invoice_day="day:15"
    )
    assert monthly["amount"] == {"amount": "5000.00", "currency": "EUR"}
    assert monthly["mode"] == "fee" and monthly["active"] is True
    assert quarterly["invoice_day"] == "day:15"
    assert set(ids(walk(api, "/retainer-schedules", engagement_id=retainer))) == {
        monthly["id"],
        quarterly["id"],
    }
    ended = api.ok(api.post(f"/retainer-schedules/{quarterly['id']}/end"))
    assert ended["active"] is False
    assert ids(walk(api, "/retainer-schedules", active=True)) == [monthly["id"]]
    assert api.ok(api.get(f"/retainer-schedules/{quarterly['id']}"))["active"] is False

    advance = an_advance(api, project, description="Prepaid design hours")
    assert advance["invoice_id"] is None
    assert ids(walk(api, "/advances", uninvoiced=True)) == [advance["id"]]
    run = api.ok(api.post("/billing-runs", {"as_of": "2025-03-03"}))
    [advance_invoice] = [i for i in run["created"] if i["engagement_id"] == project]
    assert api.ok(api.get(f"/advances/{advance['id']}"))["invoice_id"] == advance_invoice["id"]
    assert walk(api, "/advances", uninvoiced=True) == []
    assert ids(walk(api, "/advances", engagement_id=project)) == [advance["id"]]

    before = api.ok(api.get(f"/engagements/{project}/advance-balance"))
    assert before["available"] == {"amount": "0.00", "currency": "EUR"}  # a draft is no balance
    api.ok(api.post(f"/invoices/{advance_invoice['id']}/send", {}))
    balance = api.ok(api.get(f"/engagements/{project}/advance-balance", as_of="2025-03-03"))
    assert balance["invoiced"]["amount"] == "2000.00"
    assert balance["available"]["amount"] == "2000.00"
    early = api.ok(api.get(f"/engagements/{project}/advance-balance", as_of="2025-01-31"))
    assert early["invoiced"]["amount"] == "0.00"


# --- billing runs ----------------------------------------------------------------------------
def test_billing_run_plan_execute_and_month(api: Api) -> None:
    acme = a_client(api)["id"]
    retainer = an_engagement(api, acme, "retainer")["id"]
    a_po(api, retainer, "PO-Q1", valid_to="2025-01-15")
    a_schedule(api, retainer)

    plan = api.ok(api.get("/billing-runs/plan", as_of="2025-03-03"))
    assert [p["number"] for p in plan["invoices"]] == [
        "INV-2025-0001",
        "INV-2025-0002",
        "INV-2025-0003",
    ]
    # The first business day in the Netherlands: New Year's Day is a holiday.
    assert [p["issue_date"] for p in plan["invoices"]] == ["2025-01-02", "2025-02-03", "2025-03-03"]
    assert plan["invoices"][0]["lines"][0]["description"] == "Monthly retainer, January 2025"
    assert plan["invoices"][0]["totals"]["gross"] == {"amount": "6050.00", "currency": "EUR"}
    assert [w["code"] for w in plan["invoices"][0]["warnings"]] == ["po.expires_in_period"]
    assert [w["code"] for w in plan["invoices"][1]["warnings"]] == ["po.expired"]
    assert api.ok(api.get("/billing-runs/plan", as_of="2025-03-03")) == plan  # nothing written

    run = api.ok(api.post("/billing-runs", {"as_of": "2025-03-03"}))
    assert run["planned"] == 3 and len(run["created"]) == 3
    assert run["sent"] == [] and run["skipped"] == [] and run["held"] == []
    assert [i["state"] for i in run["created"]] == ["draft"] * 3
    again = api.ok(api.post("/billing-runs", {"as_of": "2025-03-03"}))
    assert again["planned"] == 0 and again["created"] == []

    month = api.ok(api.get("/billing-runs/month", month="2025-03"))
    assert [i["issue_date"] for i in month["issued"]] == ["2025-03-03"]
    assert month["due"]["as_of"] == "2025-03-31" and month["due"]["invoices"] == []
    april = api.ok(api.get("/billing-runs/month", month="2025-04"))
    assert april["issued"] == [] and [p["issue_date"] for p in april["due"]["invoices"]] == [
        "2025-04-01"
    ]


# --- credit notes ----------------------------------------------------------------------------
def test_credit_notes_list_filters_and_detail(api: Api) -> None:
    acme = a_client(api)["id"]
    bolt = a_client(api, "Bolt Logistics")["id"]
    first = a_sent_invoice(api, an_engagement(api, acme, "fixed_price")["id"], "1000.00")
    second = a_sent_invoice(api, an_engagement(api, bolt, "fixed_price")["id"], "500.00")
    partial = api.ok(
        api.post(
            f"/invoices/{first['id']}/credit-notes",
            {
                "reason": "Discount agreed",
                "lines": [{"description": "Discount", "quantity": "1", "unit_price": "100.00"}],
            },
        ),
        201,
    )
    api.clock.set(date(2025, 4, 2))
    full = api.ok(api.post(f"/invoices/{second['id']}/credit-notes", {"reason": "Cancelled"}), 201)
    assert (partial["number"], full["number"]) == ("CN-2025-0001", "CN-2025-0002")

    assert ids(walk(api, "/credit-notes", limit=1)) == [full["id"], partial["id"]]
    assert ids(walk(api, "/credit-notes", invoice_id=first["id"])) == [partial["id"]]
    assert ids(walk(api, "/credit-notes", client_id=bolt)) == [full["id"]]
    assert ids(walk(api, "/credit-notes", issued_from="2025-04-01")) == [full["id"]]
    assert ids(walk(api, "/credit-notes", issued_to="2025-03-31")) == [partial["id"]]
    [row] = walk(api, "/credit-notes", invoice_id=first["id"])
    assert row["net"] == {"amount": "100.00", "currency": "EUR"}
    assert row["gross"] == {"amount": "121.00", "currency": "EUR"}

    detail = api.ok(api.get(f"/credit-notes/{full['id']}"))
    assert detail["invoice_number"] == second["number"] and detail["reason"] == "Cancelled"
    assert detail["totals"]["gross"]["amount"] == "605.00"
    assert api.ok(api.get(f"/invoices/{second['id']}"))["state"] == "void"


# --- events ----------------------------------------------------------------------------------
def test_events_follow_the_sequence_and_filter_by_subject(api: Api) -> None:
    client = a_client(api)
    engagement = an_engagement(api, client["id"])
    a_po(api, engagement["id"])
    api.ok(
        api.post(f"/clients/{client['id']}/contacts", {"name": "Dana", "email": "d@acme.example"}),
        201,
    )

    events = walk(api, "/events", limit=3)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))  # every event once, in order
    assert events[0]["kind"] == "organization.created"
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(events))
    mine = walk(api, "/events", subject_id=client["id"])
    assert [e["kind"] for e in mine] == ["client.created", "client.contact_added"]
    tail = api.ok(api.get("/events", cursor=str(seqs[-2])))
    assert [e["seq"] for e in tail["items"]] == [seqs[-1]] and tail["next_cursor"] is None


# --- pagination ------------------------------------------------------------------------------
def test_every_list_walks_all_pages_without_duplicates(api: Api) -> None:
    expected: dict[str, list[str]] = {
        "/clients": [],
        "/engagements": [],
        "/purchase-orders": [],
        "/retainer-schedules": [],
        "/advances": [],
        "/invoices": [],
        "/credit-notes": [],
    }
    for n in range(5):
        client = a_client(api, f"Client {n}")
        engagement = an_engagement(api, client["id"], "retainer")
        expected["/clients"].append(client["id"])
        expected["/engagements"].append(engagement["id"])
        expected["/purchase-orders"].append(a_po(api, engagement["id"], f"PO-{n}")["id"])
        expected["/retainer-schedules"].append(a_schedule(api, engagement["id"])["id"])
        expected["/advances"].append(an_advance(api, engagement["id"])["id"])
        invoice = a_sent_invoice(api, engagement["id"])
        expected["/invoices"].append(invoice["id"])
        note = api.ok(api.post(f"/invoices/{invoice['id']}/credit-notes", {"reason": "x"}), 201)
        expected["/credit-notes"].append(note["id"])
    for path, created in expected.items():
        for limit in (1, 2, 5):
            seen = ids(walk(api, path, limit=limit))
            assert len(seen) == len(set(seen)), f"{path} repeats items"
            assert seen == created[::-1], f"{path}: newest first, every one once"


# --- reports ---------------------------------------------------------------------------------
def test_reports_lifecycle_chase_list_revenue_and_aging(api: Api) -> None:
    ctx, org = api.app.ctx, api.org_id
    acme = a_client(api, "Acme Retail", "ap@acme.example")["id"]
    bolt = a_client(api, "Bolt Logistics", "ap@bolt.example")["id"]
    project = an_engagement(api, acme, "fixed_price")["id"]
    hours = an_engagement(api, bolt, "time_and_material", currency="USD")["id"]

    old = a_sent_invoice(api, project, "300.00", issue_date="2025-01-02")  # due 02-01
    unopened = a_sent_invoice(api, project, "1000.00")  # sent 03-03, due 04-02
    questioned = a_sent_invoice(api, project, "2000.00")
    approved = a_sent_invoice(api, project, "3000.00")
    overdue = a_sent_invoice(api, hours, "400.00")
    paid = a_sent_invoice(api, hours, "500.00")
    voided = a_sent_invoice(api, project, "600.00")
    for invoice in (old, questioned, approved, overdue, paid):
        recipient.record_view(ctx, organization_id=org, invoice_id=invoice["id"])
    api.ok(api.post(f"/invoices/{questioned['id']}/change-requests", {"message": "Split it"}))
    api.ok(api.post(f"/invoices/{approved['id']}/approve", {"name": "Dana Scully"}))
    api.ok(api.post(f"/invoices/{paid['id']}/payments", {"amount": "605.00"}))
    api.ok(api.post(f"/invoices/{voided['id']}/credit-notes", {"reason": "Cancelled"}), 201)
    a_draft(api, project, "999.00")  # drafts never went out

    report = api.ok(api.get("/reports/lifecycle", as_of="2025-04-15"))
    by_client = {c["client_name"]: c for c in report["clients"]}
    acme_report = by_client["Acme Retail"]
    assert acme_report["went_out"]["count"] == 5  # old, unopened, questioned, approved, voided
    assert {i["invoice_id"] for i in acme_report["viewed"]["invoices"]} == {
        old["id"],
        questioned["id"],
        approved["id"],
    }
    assert [i["invoice_id"] for i in acme_report["approved"]["invoices"]] == [approved["id"]]
    stuck = {i["invoice_id"]: i["stuck"] for i in acme_report["stuck"]["invoices"]}
    assert stuck == {
        old["id"]: "past_due_unapproved",
        unopened["id"]: "unopened",
        questioned["id"]: "change_requested",
    }
    only_bolt = api.ok(api.get("/reports/lifecycle", client_id=bolt, as_of="2025-04-15"))
    assert [c["client_name"] for c in only_bolt["clients"]] == ["Bolt Logistics"]
    assert only_bolt["clients"][0]["stuck"]["invoices"][0]["invoice_id"] == overdue["id"]

    chase = api.ok(api.get("/reports/chase-list", as_of="2025-04-15"))["items"]
    assert [(i["reason"], i["invoice"]["invoice_id"]) for i in chase] == [
        ("unopened", unopened["id"]),
        ("change_requested", questioned["id"]),
        ("past_due_unapproved", old["id"]),  # due 02-01: the oldest first
        ("past_due_unapproved", overdue["id"]),  # due 04-02
    ]
    assert chase[0]["since"] == "2025-03-03" and chase[0]["days_waiting"] == 43
    assert chase[0]["contacts"] == ["ap@acme.example"]
    not_yet = api.ok(api.get("/reports/chase-list", as_of="2025-03-05"))["items"]
    assert [i["reason"] for i in not_yet] == ["change_requested", "past_due_unapproved"]
    sooner = api.ok(api.get("/reports/chase-list", as_of="2025-03-05", unopened_days=2))
    assert [i["reason"] for i in sooner["items"]] == [
        "unopened",
        "change_requested",
        "past_due_unapproved",
    ]

    revenue = api.ok(api.get("/reports/revenue", date_from="2025-01-01", date_to="2025-03-31"))
    rows = {(r["month"], r["client_name"], r["currency"]): r for r in revenue["rows"]}
    assert rows[("2025-01", "Acme Retail", "EUR")]["net"]["amount"] == "300.00"
    march = rows[("2025-03", "Acme Retail", "EUR")]
    assert march["engagement_kind"] == "fixed_price"
    assert march["invoiced"]["amount"] == "6600.00"  # 1000 + 2000 + 3000 + 600
    assert march["credited"]["amount"] == "600.00" and march["net"]["amount"] == "6000.00"
    assert rows[("2025-03", "Bolt Logistics", "USD")]["net"]["amount"] == "900.00"
    assert {t["currency"]: t["net"]["amount"] for t in revenue["totals"]} == {
        "EUR": "6300.00",
        "USD": "900.00",
    }

    aging = api.ok(api.get("/reports/aging", as_of="2025-05-20"))
    totals = {t["currency"]: t for t in aging["totals"]}
    eur = totals["EUR"]
    assert eur["over_90"]["amount"] == "363.00"  # old: due 02-01, 108 days
    assert eur["days_31_60"]["amount"] == "7260.00"  # 1210 + 2420 + 3630, due 04-02
    assert eur["current"]["amount"] == "0.00" and eur["total"]["amount"] == "7623.00"
    assert totals["USD"]["days_31_60"]["amount"] == "484.00"  # the paid one owes nothing
    assert aging["invoices"][0]["invoice"]["invoice_id"] == old["id"]  # most overdue first
    assert aging["invoices"][0]["bucket"] == "over_90"


# --- bad input -------------------------------------------------------------------------------
@dataclass
class Refs:
    client: str
    retainer: str
    project: str
    invoice: str


@pytest.fixture
def refs(api: Api) -> Refs:
    client = a_client(api)["id"]
    retainer = an_engagement(api, client, "retainer")["id"]
    project = an_engagement(api, client, "fixed_price")["id"]
    a_po(api, project, "PO-DUP")
    return Refs(client, retainer, project, a_sent_invoice(api, project)["id"])


def entity(**changes: Any) -> dict[str, Any]:
    return {**ENTITY, **changes}


BAD_INPUT: list[tuple[str, Any, int, str]] = [
    ("POST /clients", {"name": "X"}, 422, "validation.invalid_request"),
    (
        "POST /clients",
        {"name": "X", "billing_entity": entity(), "vip": True},
        422,
        "validation.invalid_request",
    ),
    ("POST /clients", {"name": " ", "billing_entity": entity()}, 422, "validation.required"),
    (
        "POST /clients",
        {"name": "X", "billing_entity": entity(tax_id="DE123")},
        422,
        "tax_id.invalid",
    ),
    (
        "POST /clients",
        {
            "name": "X",
            "billing_entity": entity(),
            "contacts": [{"name": "A", "email": "not-an-email"}],
        },
        422,
        "email.invalid",
    ),
    (
        "POST /clients",
        {"name": "Nul\u0000Corp", "billing_entity": entity()},
        422,
        "validation.nul_character",
    ),
    ("POST /clients/{client}/contacts", {"name": "A", "email": "a@b"}, 422, "email.invalid"),
    (
        "POST /clients/cli_unknown/contacts",
        {"name": "A", "email": "a@b.example"},
        404,
        "client.not_found",
    ),
    (
        "POST /engagements",
        {"client_id": "{client}", "name": "E", "kind": "retainer", "currency": "XYZ"},
        422,
        "money.unknown_currency",
    ),
    (
        "POST /engagements",
        {"client_id": "cli_unknown", "name": "E", "kind": "retainer", "currency": "EUR"},
        404,
        "client.not_found",
    ),
    (
        "POST /engagements",
        {
            "client_id": "{client}",
            "name": "E",
            "kind": "fixed_price",
            "currency": "EUR",
            "retainer_mode": "advance",
        },
        422,
        "engagement.invalid_retainer_mode",
    ),
    (
        "POST /engagements",
        {"client_id": "{client}", "name": "E", "kind": "barter", "currency": "EUR"},
        422,
        "validation.invalid_request",
    ),
    (
        "POST /engagements",
        {
            "client_id": "{client}",
            "name": "E",
            "kind": "retainer",
            "currency": "EUR",
            "vat_category": "AE",
            "vat_rate": "21",
        },
        422,
        "vat.invalid_rate",
    ),
    (
        "POST /purchase-orders",
        {"engagement_id": "{project}", "number": "P", "ceiling": 100.5},
        422,
        "validation.invalid_request",
    ),
    (
        "POST /purchase-orders",
        {"engagement_id": "{project}", "number": "P", "ceiling": "100.001"},
        422,
        "po.invalid_ceiling",
    ),
    (
        "POST /purchase-orders",
        {
            "engagement_id": "{project}",
            "number": "P",
            "valid_from": "2025-02-01",
            "valid_to": "2025-01-01",
        },
        422,
        "po.invalid_validity",
    ),
    (
        "POST /purchase-orders",
        {"engagement_id": "{project}", "number": "PO-DUP"},
        422,
        "po.duplicate",
    ),
    (
        "POST /retainer-schedules",
        {"engagement_id": "{project}", "amount": "10", "start_date": "2025-01-01"},
        422,
        "schedule.not_a_retainer",
    ),
    (
        "POST /retainer-schedules",
        {
            "engagement_id": "{retainer}",
            "amount": "10",
            "start_date": "2025-01-01",
            "line_template": "{nope}",
        },
        422,
        "schedule.invalid_template",
    ),
    (
        "POST /retainer-schedules",
        {
            "engagement_id": "{retainer}",
            "amount": "10",
            "start_date": "2025-01-01",
            "vat_category": "AE",
        },
        422,
        "vat.invalid_rate",
    ),
    (
        "POST /retainer-schedules",
        {"engagement_id": "{retainer}", "amount": "10", "start_date": "9999-01-01"},
        422,
        "validation.invalid_request",
    ),
    (
        "POST /advances",
        {"engagement_id": "{project}", "amount": "0", "invoice_date": "2025-01-01"},
        422,
        "advance.invalid_amount",
    ),
    (
        "POST /advances",
        {
            "engagement_id": "{project}",
            "amount": "1",
            "invoice_date": "2025-01-01",
            "vat_category": "Z",
        },
        422,
        "vat.invalid_rate",
    ),
    ("POST /billing-runs", {"as_of": "2300-01-01"}, 422, "validation.invalid_request"),
    (
        "POST /invoices",
        {
            "engagement_id": "{project}",
            "lines": [
                {"description": "Huge", "quantity": "999999999", "unit_price": "999999999999999"}
            ],
        },
        422,
        "money.out_of_range",
    ),
    (
        "POST /invoices",
        {"engagement_id": "{project}", "issue_date": "9999-12-31"},
        422,
        "validation.invalid_request",
    ),
    (
        "POST /invoices/{invoice}/payments",
        {"amount": "1", "received_on": "0001-01-01"},
        422,
        "validation.invalid_request",
    ),
    ("POST /retainer-schedules/rs_unknown/end", None, 404, "retainer_schedule.not_found"),
    ("GET /billing-runs/month?month=2025-13", None, 422, "validation.invalid_request"),
    ("GET /billing-runs/plan", None, 422, "validation.invalid_request"),
    (
        "GET /reports/revenue?date_from=2025-02-01&date_to=2025-01-01",
        None,
        422,
        "report.invalid_range",
    ),
    ("GET /reports/lifecycle?client_id=cli_unknown", None, 404, "client.not_found"),
    ("GET /reports/chase-list?unopened_days=-1", None, 422, "validation.invalid_request"),
    ("GET /events?cursor=abc", None, 422, "pagination.invalid_cursor"),
    ("GET /clients?cursor=not-a-cursor", None, 422, "pagination.invalid_cursor"),
    (  # a forged cursor: 0001-01-01T00:00:00+01:00 is off the calendar in UTC
        "GET /engagements?cursor=MDAwMS0wMS0wMVQwMDowMDowMCswMTowMHx4",
        None,
        422,
        "pagination.invalid_cursor",
    ),
    ("GET /invoices/inv%00x", None, 422, "validation.nul_character"),
    ("GET /credit-notes/cn_unknown", None, 404, "credit_note.not_found"),
    ("GET /engagements/eng_unknown/purchase-orders", None, 404, "engagement.not_found"),
    ("GET /engagements/eng_unknown/advance-balance", None, 404, "engagement.not_found"),
]


def test_bad_input_is_a_problem_and_writes_nothing(api: Api, refs: Refs) -> None:
    """Every case of ``BAD_INPUT`` against one organization (one set-up, so it stays quick):
    the stable code, the problem+json shape, and not one row written, events included."""
    names = {
        "client": refs.client,
        "retainer": refs.retainer,
        "project": refs.project,
        "invoice": refs.invoice,
    }

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            for name, ident in names.items():
                value = value.replace("{" + name + "}", ident)
            return value
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    wrong = []
    for request, body, status, code in BAD_INPUT:
        method, path = request.split(" ", 1)
        before = api.rows()
        response = api.http.request(
            method, API + fill(path), json=fill(body), headers=api.headers()
        )
        problem = response.json()
        if (
            response.status_code != status
            or response.headers["content-type"] != PROBLEM
            or problem.get("code") != code
            or problem.get("type") != f"urn:engagebill:problem:{code}"
            or problem.get("status") != status
            or not problem.get("title")
            or not problem.get("detail")
        ):
            wrong.append(f"{method} {path}: expected {status} {code}, got {response.text}")
        if api.rows() != before:
            wrong.append(f"{method} {path} wrote rows")
    assert not wrong, "\n".join(wrong)


# --- authentication and scope ----------------------------------------------------------------
def operations(api: Api) -> list[tuple[str, str]]:
    spec = api.http.get(API + "/openapi.json").json()
    return [
        (method.upper(), path.replace("{", "").replace("}", ""))  # any id will do
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "patch", "put", "delete")
    ]


def test_every_route_needs_a_key(api: Api) -> None:
    for method, path in operations(api):
        for headers in ({}, {"Authorization": "Bearer ebk_nope.nope"}, {"Authorization": "x"}):
            response = api.http.request(method, API + path, headers=headers)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["code"] in ("auth.missing_key", "auth.invalid_key")


def test_a_read_only_key_reads_but_never_writes(api: Api, refs: Refs) -> None:
    before = api.rows()
    writes = [(m, p) for m, p in operations(api) if m != "GET"]
    assert len(writes) >= 15
    for method, path in writes:
        response = api.http.request(method, API + path, headers=api.headers(api.read_key))
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["code"] == "api_key.read_only"
    assert api.rows() == before
    assert api.ok(api.get("/clients", key=api.read_key))["items"]
    assert api.ok(api.get("/reports/aging", key=api.read_key))["as_of"] == "2025-03-03"


# --- idempotency -----------------------------------------------------------------------------
def test_idempotency_key_replays_byte_for_byte_and_refuses_another_body(api: Api) -> None:
    body = {"name": "Acme Retail", "billing_entity": ENTITY}
    first = api.post("/clients", body, **{"Idempotency-Key": "create-acme"})
    assert first.status_code == 201
    replay = api.post("/clients", body, **{"Idempotency-Key": "create-acme"})
    assert replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert len(api.ok(api.get("/clients"))["items"]) == 1

    before = api.rows()
    other = api.post("/clients", {**body, "name": "Bolt"}, **{"Idempotency-Key": "create-acme"})
    assert other.status_code == 409
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["code"] == "idempotency.key_reused"
    assert api.rows() == before

    engagement = an_engagement(api, first.json()["id"], "retainer")
    a_schedule(api, engagement["id"])
    run = api.post("/billing-runs", {"as_of": "2025-03-03"}, **{"Idempotency-Key": "run-march"})
    assert len(run.json()["created"]) == 3
    rerun = api.post("/billing-runs", {"as_of": "2025-03-03"}, **{"Idempotency-Key": "run-march"})
    assert rerun.content == run.content  # the first answer, not an empty second run
    refused = api.post("/billing-runs", {"as_of": "2025-03-04"}, **{"Idempotency-Key": "run-march"})
    assert refused.status_code == 409
