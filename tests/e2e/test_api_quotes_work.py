"""Quotes, milestones and work items over the REST API, on SQLite and PostgreSQL.

The seed's project month told through the API: a fixed-price quote sent, accepted by a typed
name bound to the version shown, its milestones signed off and invoiced at once for the quoted
amount on the project's PO; out-of-scope work recorded, approved with the written approval
and billed on the change-order invoice, one line per item; a time tracker's CSV imported once;
a mini-quote approving the work linked to it. Bad input is a problem with a stable code and
writes nothing.
"""

from __future__ import annotations

from typing import Any

from engagebill.domain.delivery import Channel, OutboxMessage
from engagebill.services import delivery
from tests.e2e.test_api_resources import API, Api, a_client, a_po, an_engagement
from tests.e2e.test_api_resources import api as api  # the fixture

CSV = """\
Date,User,Hours,Billable Rate,Notes,Requested by,Approval link
2025-02-12,Ana Lima,8,125.00,Landing page A,Dana Scully,https://mail.example/1
2025-02-18,Ben Okafor,1:30,125.00,Landing page B,Dana Scully,
"""
BROKEN_CSV = """\
date,person,hours,rate,description
2025-02-12,Ana Lima,8,125.00,Landing page A
2025-13-01,Ana Lima,2,125.00,Landing page A fixes
2025-02-16,Ben Okafor,zero,125.00,Landing page B
"""


def emails(api: Api) -> list[OutboxMessage]:
    return [
        m
        for m in delivery.outbox_messages(api.app.ctx, organization_id=api.org_id)
        if m.channel is Channel.EMAIL
    ]


def a_quote(api: Api, engagement_id: str, *amounts: str, title: str = "Website rebuild") -> Any:
    items = [
        {"name": f"Milestone {n}", "description": f"Deliverable {n}", "amount": amount}
        for n, amount in enumerate(amounts, start=1)
    ]
    body = {"engagement_id": engagement_id, "title": title, "items": items}
    return api.ok(api.post("/quotes", body), 201)


def a_work_item(api: Api, engagement_id: str, **extra: Any) -> Any:
    body = {
        "engagement_id": engagement_id,
        "work_date": "2025-02-20",
        "person": "Ana Lima",
        "hours": "3.5",
        "rate": "120.00",
        "description": "Extra landing page",
        "requester": "Dana Scully",
        **extra,
    }
    return api.ok(api.post("/work-items", body), 201)


def import_csv(api: Api, engagement_id: str, text: str) -> Any:
    return api.http.post(
        f"{API}/engagements/{engagement_id}/work-items/import",
        content=text.encode(),
        headers=api.headers(**{"content-type": "text/csv"}),
    )


def test_a_quote_is_accepted_and_its_milestones_invoiced_when_signed_off(api: Api) -> None:
    acme = a_client(api)["id"]
    project = an_engagement(api, acme, "fixed_price", name="Website rebuild")["id"]
    a_po(api, project, "PO-PROJECT")
    draft = a_quote(api, project, "20000.00", "40000.00")
    assert draft["state"] == "draft" and draft["number"] is None and draft["version"] == 1
    assert draft["total"] == {"amount": "60000.00", "currency": "EUR"}
    assert draft["versions"][0]["content_hash"] == ""  # hashed when sent

    revised = api.ok(api.post(f"/quotes/{draft['id']}/revise", {"title": "Website rebuild v2"}))
    assert revised["version"] == 2 and revised["title"] == "Website rebuild v2"
    assert [i["amount"]["amount"] for i in revised["versions"][1]["items"]] == [
        "20000.00",
        "40000.00",
    ]

    sent = api.ok(api.post(f"/quotes/{draft['id']}/send"))
    quote = sent["quote"]
    [email] = [m for m in emails(api) if m.payload["document_type"] == "quote"]
    assert email.payload["to"] == "Alex AP <ap@acme.example>"
    assert email.payload["subject"] == (
        "Quote Q-2025-0001 from Northwind Studio: Website rebuild v2"
    )
    assert sent["links"][0]["url"].removeprefix("http://testserver") in email.payload["text"]
    assert quote["state"] == "sent" and quote["number"] == "Q-2025-0001"
    assert [link["recipient_email"] for link in sent["links"]] == ["ap@acme.example"]
    assert sent["links"][0]["url"].startswith("http://testserver/l/")
    shown = quote["versions"][-1]["content_hash"]
    assert len(shown) == 64

    # A version the client did not see cannot be accepted.
    stale = api.post(f"/quotes/{draft['id']}/accept", {"name": "Dana Scully", "shown_hash": "0"})
    assert stale.status_code == 422 and stale.json()["code"] == "quote.version_changed"
    accepted = api.ok(
        api.post(f"/quotes/{draft['id']}/accept", {"name": "Dana Scully", "shown_hash": shown})
    )
    assert accepted["state"] == "accepted" and accepted["accepted_by"] == "Dana Scully"
    assert accepted["accepted_hash"] == shown and accepted["accepted_version"] == 2
    assert [(m["position"], m["state"]) for m in accepted["milestones"]] == [
        (1, "planned"),
        (2, "planned"),
    ]
    again = api.post(f"/quotes/{draft['id']}/accept", {"name": "Dana Scully"})
    assert again.status_code == 409 and again.json()["code"] == "quote.not_acceptable"

    planned = api.ok(api.get("/milestones", engagement_id=project, state="planned"))["items"]
    first = next(m for m in planned if m["position"] == 1)
    assert first["amount"] == {"amount": "20000.00", "currency": "EUR"}
    assert first["quote_number"] == "Q-2025-0001"

    signed = api.ok(
        api.post(f"/milestones/{first['id']}/sign-off", {"signed_off_by": "Dana Scully"})
    )
    assert signed["milestone"]["state"] == "invoiced"
    assert signed["milestone"]["signed_off_by"] == "Dana Scully"
    invoice = signed["invoice"]
    assert signed["milestone"]["invoice_id"] == invoice["id"]
    assert invoice["engagement_id"] == project
    assert invoice["purchase_order"]["number"] == "PO-PROJECT"
    assert [ln["description"] for ln in invoice["lines"]] == [
        "Website rebuild, Milestone 1: Milestone 1"
    ]
    assert invoice["totals"]["net"] == {"amount": "20000.00", "currency": "EUR"}

    twice = api.post(f"/milestones/{first['id']}/sign-off", {"signed_off_by": "Dana Scully"})
    assert twice.status_code == 409 and twice.json()["code"] == "milestone.not_signable"
    assert api.ok(api.get(f"/milestones/{first['id']}"))["state"] == "invoiced"
    assert [m["state"] for m in api.ok(api.get("/milestones", state="planned"))["items"]] == [
        "planned"
    ]


def test_the_client_is_asked_to_sign_off_through_a_link(api: Api) -> None:
    acme = a_client(api)["id"]
    project = an_engagement(api, acme, "fixed_price", name="Website rebuild")["id"]
    quote = a_quote(api, project, "15000.00")
    api.ok(api.post(f"/quotes/{quote['id']}/send"))
    milestone = api.ok(api.post(f"/quotes/{quote['id']}/accept", {"name": "Dana"}))["milestones"][0]

    link = api.ok(
        api.post(
            f"/milestones/{milestone['id']}/sign-off-links",
            {"recipient_email": "lead@acme.example", "recipient_name": "Lee Lead"},
        ),
        201,
    )
    assert link["recipient_email"] == "lead@acme.example"
    [email] = [m for m in emails(api) if m.payload["document_type"] == "milestone"]
    assert email.payload["to"] == "Lee Lead <lead@acme.example>"
    assert (
        email.payload["subject"] == "Please sign off milestone 1, Milestone 1, of quote Q-2025-0001"
    )
    assert link["url"].removeprefix("http://testserver") in email.payload["text"]
    page = api.http.get(link["url"].removeprefix("http://testserver"))
    assert page.status_code == 200 and "Milestone 1" in page.text
    refused = api.post(
        f"/milestones/{milestone['id']}/sign-off-links", {"recipient_email": "not an address"}
    )
    assert refused.status_code == 422 and refused.json()["code"] == "email.invalid"
    api.ok(api.post(f"/milestones/{milestone['id']}/sign-off", {"signed_off_by": "Lee Lead"}))
    late = api.post(
        f"/milestones/{milestone['id']}/sign-off-links", {"recipient_email": "lead@acme.example"}
    )
    assert late.status_code == 409 and late.json()["code"] == "milestone.not_signable"


def test_work_is_recorded_approved_and_billed_on_the_change_order(api: Api) -> None:
    acme = a_client(api)["id"]
    extras = an_engagement(api, acme, "time_and_material", name="Out of scope")["id"]
    a_po(api, extras, "PO-EXTRAS")
    first = a_work_item(api, extras)
    second = a_work_item(
        api, extras, work_date="2025-02-21", hours="2:15", approval_ref="https://mail.example/7"
    )
    third = a_work_item(api, extras, work_date="2025-02-22", person="Ben Okafor")
    assert first["state"] == "unapproved"
    assert first["amount"] == {"amount": "420.00", "currency": "EUR"}
    assert second["hours"] == "2.25"

    unapproved = api.post(f"/work-items/{first['id']}/approve", {})
    assert unapproved.status_code == 422
    assert unapproved.json()["code"] == "work_item.no_written_approval"
    approved = api.ok(
        api.post(f"/work-items/{first['id']}/approve", {"approval_ref": "https://mail.example/5"})
    )
    assert approved["state"] == "approved" and approved["approval_ref"] == "https://mail.example/5"

    # All or none: one item already approved refuses the batch, and the other stays as it was.
    batch = {"work_item_ids": [first["id"], third["id"]], "override_reason": "agreed by phone"}
    refused = api.post("/work-items/approve", batch)
    assert refused.status_code == 409 and refused.json()["code"] == "work_item.not_approvable"
    assert api.ok(api.get(f"/work-items/{third['id']}"))["state"] == "unapproved"
    batch["work_item_ids"] = [second["id"], third["id"]]
    both = api.ok(api.post("/work-items/approve", batch))["work_items"]
    assert [(w["state"], w["override_reason"]) for w in both] == [
        ("approved", "agreed by phone"),
        ("approved", "agreed by phone"),
    ]

    run = api.ok(api.post("/billing-runs", {"as_of": "2025-03-03"}))
    [change_order] = run["created"]
    invoice = api.ok(api.get(f"/invoices/{change_order['id']}"))
    assert invoice["purchase_order"]["number"] == "PO-EXTRAS"
    assert len(invoice["lines"]) == 3
    assert {ln["approval_ref"] for ln in invoice["lines"]} == {
        "https://mail.example/5",
        "https://mail.example/7",
        "override: agreed by phone",  # no written approval: the override is what the line says
    }
    billed = api.ok(api.get("/work-items", engagement_id=extras, state="billed"))["items"]
    assert {w["id"] for w in billed} == {first["id"], second["id"], third["id"]}
    assert {w["invoice_id"] for w in billed} == {change_order["id"]}


def test_a_time_trackers_csv_is_imported_once_all_rows_or_none(api: Api) -> None:
    acme = a_client(api)["id"]
    extras = an_engagement(api, acme, "time_and_material")["id"]

    before = api.rows()
    broken = import_csv(api, extras, BROKEN_CSV)
    assert broken.status_code == 422 and broken.json()["code"] == "work_csv.invalid"
    assert [e["line"] for e in broken.json()["details"]["errors"]] == [3, 4]
    assert api.rows() == before

    imported = import_csv(api, extras, CSV)
    assert imported.status_code == 201, imported.text
    result = imported.json()
    assert result["rows"] == 2 and result["without_written_approval"] == 1
    assert result["total"] == {"amount": "1187.50", "currency": "EUR"}
    assert [w["hours"] for w in result["work_items"]] == ["8.00", "1.50"]

    again = import_csv(api, extras, CSV)
    assert again.status_code == 409 and again.json()["code"] == "work_csv.already_imported"
    listed = api.ok(api.get("/work-items", engagement_id=extras))["items"]
    assert len(listed) == 2

    retainer = an_engagement(api, acme, "retainer")["id"]
    wrong = import_csv(api, retainer, CSV)
    assert wrong.status_code == 422 and wrong.json()["code"].startswith("work_item.")


def test_a_mini_quote_approves_the_work_linked_to_it(api: Api) -> None:
    acme = a_client(api)["id"]
    extras = an_engagement(api, acme, "time_and_material")["id"]
    item = a_work_item(api, extras)
    quote = a_quote(api, extras, "420.00", title="Two extra landing pages")
    api.ok(api.post(f"/quotes/{quote['id']}/send"))
    linked = api.ok(api.post(f"/quotes/{quote['id']}/work-items", {"work_item_ids": [item["id"]]}))
    assert [w["id"] for w in linked["work_items"]] == [item["id"]]

    accepted = api.ok(api.post(f"/quotes/{quote['id']}/accept", {"name": "Dana Scully"}))
    assert accepted["milestones"] == []
    assert [w["state"] for w in accepted["work_items"]] == ["approved"]
    assert api.ok(api.get(f"/work-items/{item['id']}"))["quote_id"] == quote["id"]

    declined = a_quote(api, extras, "100.00", title="Another page")
    api.ok(api.post(f"/quotes/{declined['id']}/send"))
    answer = api.ok(api.post(f"/quotes/{declined['id']}/decline", {"reason": "Not this month"}))
    assert answer["state"] == "declined" and answer["declined_reason"] == "Not this month"
    states = api.ok(api.get("/quotes", engagement_id=extras, state="declined"))["items"]
    assert [q["id"] for q in states] == [declined["id"]]


def test_lists_walk_every_page_and_bad_input_writes_nothing(api: Api) -> None:
    acme = a_client(api)["id"]
    extras = an_engagement(api, acme, "time_and_material")["id"]
    made = {a_work_item(api, extras, work_date=f"2025-02-{day:02}")["id"] for day in range(1, 8)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "engagement_id": extras}
        if cursor:
            params["cursor"] = cursor
        page = api.ok(api.get("/work-items", **params))
        seen += [w["id"] for w in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 7
    window = api.ok(api.get("/work-items", date_from="2025-02-03", date_to="2025-02-04"))
    assert [w["work_date"] for w in window["items"]] == ["2025-02-04", "2025-02-03"]

    before = api.rows()
    work = {"engagement_id": extras, "work_date": "2025-02-01", "person": "A", "rate": "100"}
    bad: list[tuple[str, dict[str, Any], str]] = [
        ("/work-items", {**work, "hours": "-2", "description": "x"}, "work_item.invalid_hours"),
        (
            "/work-items",
            {**work, "engagement_id": "eng_missing", "hours": "2", "description": "x"},
            "engagement.not_found",
        ),
        (
            "/quotes",
            {"engagement_id": extras, "title": "T", "items": [{"name": "A", "amount": "10.00"}],
             "total": "20.00"},
            "quote.milestones_do_not_sum",
        ),
        (
            "/quotes",
            {"engagement_id": extras, "title": "T", "items": [{"name": "A", "amount": "0"}]},
            "quote.invalid_amount",
        ),
        ("/work-items/approve", {"work_item_ids": ["work_missing"]}, "work_item.not_found"),
    ]  # fmt: skip
    for path, body, code in bad:
        response = api.post(path, body)
        assert 400 <= response.status_code < 500, (path, response.text)
        assert response.json()["code"] == code, (path, response.text)
    assert api.ok(api.get("/quotes", limit=1))["items"] == []
    assert api.post("/milestones/ms_missing/sign-off", {"signed_off_by": "A"}).status_code == 404
    assert api.rows() == before


def test_a_retried_import_with_its_idempotency_key_replays_the_first_answer(api: Api) -> None:
    extras = an_engagement(api, a_client(api)["id"], "time_and_material")["id"]
    headers = api.headers(**{"content-type": "text/csv", "Idempotency-Key": "import-feb"})
    url = f"{API}/engagements/{extras}/work-items/import"
    first = api.http.post(url, content=CSV.encode(), headers=headers)
    assert first.status_code == 201, first.text
    retried = api.http.post(url, content=CSV.encode(), headers=headers)
    assert retried.status_code == 201 and retried.content == first.content
    assert retried.headers["idempotent-replayed"] == "true"
    other = api.http.post(url, content=BROKEN_CSV.encode(), headers=headers)
    assert other.status_code == 409 and other.json()["code"] == "idempotency.key_reused"
    assert len(api.ok(api.get("/work-items", engagement_id=extras))["items"]) == 2
