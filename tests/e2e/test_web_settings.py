"""The settings page of the agency's app: the organization's email choices, and webhook
endpoints registered (the signing secret shown once, on the answer itself), filtered by event
and removed."""

from __future__ import annotations

import re

from engagebill.services import delivery
from tests.e2e.test_web_app import Browser, agency_user, signed_in, text_of, web
from tests.support import World

__all__ = ["agency_user", "signed_in", "web"]  # the fixtures this module uses


def test_email_choices_are_saved_from_the_settings_page(world: World, signed_in: Browser) -> None:
    page = text_of(signed_in.http.get("/settings").text)
    assert "Settings" in page and "No endpoints yet." in page

    saved = signed_in.done(
        signed_in.post("/settings/delivery", attach_pdf="on", unopened_after_days="5")
    )
    assert (
        "Saved: invoice emails carry the PDF, unopened invoices are chased after 5 days, "
        "overdue reminders are off." in saved
    )
    settings = delivery.delivery_settings(world.ctx, organization_id=world.org_id)
    assert (settings.attach_pdf, settings.unopened_after_days, settings.overdue_reminders) == (
        True,
        5,
        False,
    )
    for days, message in [
        ("0", "chase unopened invoices after 1 to 60 days"),
        ("x", "not a whole"),
    ]:
        refused = signed_in.post("/settings/delivery", unopened_after_days=days)
        assert message in signed_in.refused(refused)
    assert delivery.delivery_settings(world.ctx, organization_id=world.org_id) == settings


def test_a_webhook_endpoint_is_registered_once_shown_and_removed(
    world: World, signed_in: Browser
) -> None:
    answer = signed_in.http.post(
        "/settings/webhooks",
        data={
            "csrf_token": signed_in.csrf("/settings"),
            "url": "https://erp.example/hooks",
            "events": ["invoice.approved", "invoice.paid"],
        },
        follow_redirects=False,
    )
    assert answer.status_code == 200
    secret = re.search(r'<code class="hash" id="secret">(whsec_[^<]+)</code>', answer.text)
    assert secret, answer.text
    [endpoint] = delivery.list_webhooks(world.ctx, organization_id=world.org_id)
    assert endpoint.secret == secret[1]
    assert endpoint.events == {"invoice.approved", "invoice.paid"}
    later = signed_in.http.get("/settings").text
    assert secret[1] not in later  # shown once
    assert "invoice.approved, invoice.paid" in text_of(later)

    refused = signed_in.post("/settings/webhooks", url="ftp://erp.example/x")
    assert "a webhook URL must be an absolute http(s) URL" in signed_in.refused(refused)

    removed = signed_in.done(signed_in.post(f"/settings/webhooks/{endpoint.id}/remove"))
    assert "Removed: nothing new goes to https://erp.example/hooks" in removed
    assert "(removed)" in removed
    assert delivery.list_webhooks(world.ctx, organization_id=world.org_id) == []
