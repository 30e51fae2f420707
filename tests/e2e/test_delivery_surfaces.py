"""Delivery through the product's surfaces: webhook endpoints and the organization's email
choices, over the REST API (on SQLite and PostgreSQL) and the CLI. A webhook's secret is
shown once; an endpoint gets only the events it asked for; a removed endpoint gets no new
deliveries. The PDF is attached to invoice emails when the organization chooses it.
"""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from engagebill.domain.delivery import Channel
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.services import delivery
from tests.e2e.test_api_resources import Api, a_client, a_sent_invoice, an_engagement
from tests.e2e.test_api_resources import api as api  # the fixture


def deliveries(api: Api) -> dict[str, list[str]]:
    """The webhook deliveries in the outbox, as event types by endpoint."""
    delivery.fan_out_webhooks(api.app.ctx, organization_id=api.org_id)
    found: dict[str, list[str]] = {}
    for message in delivery.outbox_messages(api.app.ctx, organization_id=api.org_id):
        if message.channel is Channel.WEBHOOK:
            found.setdefault(message.payload["endpoint_id"], []).append(
                message.payload["event"]["type"]
            )
    return found


def test_endpoints_are_registered_filtered_and_removed_through_the_api(api: Api) -> None:
    every = api.ok(api.post("/webhook-endpoints", {"url": "https://erp.example/all"}), 201)
    assert every["secret"].startswith("whsec_") and every["active"] is True
    assert "invoice.sent" in every["events"] and "milestone.signed_off" in every["events"]
    approvals = api.ok(
        api.post(
            "/webhook-endpoints",
            {"url": "https://erp.example/approved", "events": ["invoice.approved"]},
        ),
        201,
    )
    shown = api.ok(api.get(f"/webhook-endpoints/{every['id']}"))
    assert "secret" not in shown and shown["url"] == "https://erp.example/all"
    assert [e["id"] for e in api.ok(api.get("/webhook-endpoints"))] == [
        every["id"],
        approvals["id"],
    ]

    engagement = an_engagement(api, a_client(api)["id"], "time_and_material")["id"]
    sent = a_sent_invoice(api, engagement)
    assert deliveries(api) == {every["id"]: ["invoice.sent"]}
    api.ok(api.post(f"/invoices/{sent['id']}/approve", {"name": "Dana Scully"}))
    assert deliveries(api) == {
        every["id"]: ["invoice.sent", "invoice.approved"],
        approvals["id"]: ["invoice.approved"],
    }

    removed = api.ok(
        api.http.delete(f"/api/v1/webhook-endpoints/{every['id']}", headers=api.headers())
    )
    assert removed["active"] is False
    again = api.http.delete(f"/api/v1/webhook-endpoints/{every['id']}", headers=api.headers())
    assert again.status_code == 200 and again.json() == removed
    assert [e["id"] for e in api.ok(api.get("/webhook-endpoints"))] == [approvals["id"]]
    assert len(api.ok(api.get("/webhook-endpoints", include_removed="true"))) == 2
    a_sent_invoice(api, engagement)
    assert deliveries(api)[every["id"]] == ["invoice.sent", "invoice.approved"]  # nothing new

    events = api.ok(api.get("/events", subject_id=every["id"]))["items"]
    assert [e["kind"] for e in events] == ["webhook.registered", "webhook.removed"]


def test_bad_endpoints_are_refused_and_write_nothing(api: Api) -> None:
    before = api.rows()
    for body, code in [
        ({"url": "ftp://erp.example/x"}, "webhook.invalid_url"),
        ({"url": "https://erp.example/\x07"}, "validation.control_characters"),
        ({"url": "https://erp.example/x", "events": ["invoice.eaten"]}, "webhook.unknown_event"),
    ]:
        response = api.post("/webhook-endpoints", body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] in (code, "webhook.invalid_url"), response.text
    assert (
        api.post("/webhook-endpoints", {"url": "https://x.example"}, key=api.read_key).status_code
        == 403
    )
    assert api.get("/webhook-endpoints/whe_missing").status_code == 404
    assert api.rows() == before


def test_the_webhook_commands(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path}/x.db"

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, ["--db", db, *args], env={"COLUMNS": "300"})
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run(
        "org", "create", "--name", "Northwind Studio", "--legal-name", "Northwind Studio B.V.",
        "--address", "Keizersgracht 1", "--city", "Amsterdam", "--postal-code", "1015 CJ",
        "--country", "NL", "--email", "billing@northwind.example",
    )  # fmt: skip
    added = run(
        "webhook", "add", "https://erp.example/hook",
        "--event", "invoice.sent", "--event", "invoice.paid",
    )  # fmt: skip
    endpoint = re.search(r"registered (whe_\w+) for invoice.paid, invoice.sent", added)
    assert endpoint, added
    assert re.search(r"signing secret \(shown once\): whsec_\S+", added)
    listed = run("webhook", "list")
    assert endpoint[1] in listed and "whsec_" not in listed
    assert "error: unknown webhook events: nope [webhook.unknown_event]" in run(
        "webhook", "add", "https://erp.example/x", "--event", "nope", code=4
    )
    run("webhook", "remove", endpoint[1])
    assert endpoint[1] not in run("webhook", "list")
    assert "removed" in run("webhook", "list", "--removed")
    assert "[webhook_endpoint.not_found]" in run("webhook", "remove", "whe_missing", code=3)


def test_the_organization_chooses_how_its_emails_go_out(api: Api) -> None:
    assert api.ok(api.get("/delivery-settings")) == {
        "attach_pdf": False,
        "unopened_after_days": 3,
        "overdue_reminders": True,
    }
    changed = api.ok(
        api.http.patch(
            "/api/v1/delivery-settings",
            json={"attach_pdf": True, "unopened_after_days": 5},
            headers=api.headers(),
        )
    )
    assert changed == {"attach_pdf": True, "unopened_after_days": 5, "overdue_reminders": True}
    assert api.ok(api.get("/delivery-settings")) == changed

    before = api.rows()
    for body in ({"unopened_after_days": 0}, {"unopened_after_days": 61}, {"attach": True}):
        refused = api.http.patch("/api/v1/delivery-settings", json=body, headers=api.headers())
        assert refused.status_code == 422, refused.text
    read_only = api.http.patch(
        "/api/v1/delivery-settings", json={"attach_pdf": False}, headers=api.headers(api.read_key)
    )
    assert read_only.status_code == 403
    assert api.rows() == before

    engagement = an_engagement(api, a_client(api)["id"], "retainer")["id"]
    a_sent_invoice(api, engagement)
    [email] = [
        m
        for m in delivery.outbox_messages(api.app.ctx, organization_id=api.org_id)
        if m.channel is Channel.EMAIL
    ]
    assert email.payload["attach_pdf"] is True


def test_the_delivery_command(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path}/x.db"

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, ["--db", db, *args], env={"COLUMNS": "300"})
        assert result.exit_code == code, result.output
        return result.output

    run("db", "upgrade")
    run(
        "org", "create", "--name", "Northwind Studio", "--legal-name", "Northwind Studio B.V.",
        "--address", "Keizersgracht 1", "--city", "Amsterdam", "--postal-code", "1015 CJ",
        "--country", "NL", "--email", "billing@northwind.example",
    )  # fmt: skip
    assert "PDF attached to invoice emails: no; unopened invoices chased after 3 days" in run(
        "org", "delivery"
    )
    changed = run("org", "delivery", "--attach-pdf", "--chase-after", "7", "--no-overdue-reminders")
    assert changed.strip() == (
        "PDF attached to invoice emails: yes; unopened invoices chased after 7 days; "
        "overdue reminders: off"
    )
    refused = run("org", "delivery", "--chase-after", "0", code=4)
    assert refused.strip().endswith("[delivery.invalid_unopened_days]")
    assert "chased after 7 days" in run("org", "delivery")
