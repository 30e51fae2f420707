"""Quotes in the agency's app: drafted on the engagement's page from items typed one a line,
sent from the quote's page (each AP contact is emailed a link), and the acceptance shown with
who typed their name, when, and the hash of the version they saw."""

from __future__ import annotations

import re

from engagebill.domain.delivery import Channel
from engagebill.services import delivery, quotes
from tests.e2e.test_web_app import Browser, agency_user, signed_in, text_of, web
from tests.support import World, an_engagement

__all__ = ["agency_user", "signed_in", "web"]  # the fixtures this module uses

ITEMS = """\
Discovery | Workshops and sitemap | 20000.00
Design system | 40000.00
"""


def test_a_quote_is_drafted_sent_and_its_acceptance_shown(world: World, signed_in: Browser) -> None:
    project = an_engagement(
        world.app, world.org_id, world.client_id, kind="fixed_price", name="Website rebuild"
    )
    page = text_of(signed_in.http.get(f"/engagements/{project}").text)
    assert "Quotes" in page and "No quotes yet" in page

    for items, message in [
        ("", "a quote needs at least one item"),
        ("Discovery without an amount", "must be NAME|DESCRIPTION|AMOUNT"),
        ("Discovery | -5", "every milestone amount must be more than zero"),
    ]:
        refused = signed_in.post(f"/engagements/{project}/quotes", title="Rebuild", items=items)
        assert message in signed_in.refused(refused)
    assert quotes.list_quotes(world.ctx, organization_id=world.org_id) == []

    created = signed_in.post(f"/engagements/{project}/quotes", title="Website rebuild", items=ITEMS)
    draft = signed_in.done(created)
    assert "Draft quote saved, 60,000.00 EUR. Send it when it is ready." in draft
    assert "Draft quote" in draft and "Workshops and sitemap" in draft
    quote_path = created.headers["location"]
    quote_id = quote_path.rsplit("/", 1)[1]

    revised = signed_in.done(
        signed_in.post(
            f"{quote_path}/revise",
            title="Website rebuild",
            items="Discovery | Workshops and sitemap | 15000.00\nDesign system | 40000.00",
        )
    )
    assert "Version 2 saved, 55,000.00 EUR." in revised
    assert "Version 1: Website rebuild, 60,000.00 EUR" in revised  # kept on record
    refused = signed_in.post(f"{quote_path}/revise", title="Website rebuild", items="")
    assert "a quote needs at least one item" in signed_in.refused(refused)

    sent = signed_in.done(signed_in.post(f"{quote_path}/send"))
    match = re.search(r"Quote (Q-\d{4}-0001) sent: a private link went to 1 AP contact\(s\)", sent)
    assert match, sent
    assert "Waiting for the client" in sent and "Alex AP: not opened yet" in sent
    [email] = [
        m
        for m in delivery.outbox_messages(world.ctx, organization_id=world.org_id)
        if m.channel is Channel.EMAIL
    ]
    assert email.payload["subject"] == f"Quote {match[1]} from Northwind Studio: Website rebuild"
    again = signed_in.post(f"{quote_path}/send")
    assert "cannot send a quote that is sent" in signed_in.refused(again)

    shown = quotes.get_quote(world.ctx, organization_id=world.org_id, quote_id=quote_id)
    quotes.accept_quote(
        world.ctx,
        organization_id=world.org_id,
        quote_id=quote_id,
        name="Dana Scully",
        shown_hash=shown.quote.current.content_hash,
    )
    accepted = text_of(signed_in.http.get(quote_path).text)
    assert "Dana Scully accepted version 2 by typing their name on 3 Mar 2025 at 09:00 UTC" in (
        accepted
    )
    assert shown.quote.current.content_hash in accepted
    assert "Milestone 1, Discovery: planned" in accepted
    listing = text_of(signed_in.http.get(f"/engagements/{project}").text)
    assert f"{match[1]} Website rebuild 2 55,000.00 EUR Accepted" in listing


def test_another_organizations_quote_is_not_found(world: World, signed_in: Browser) -> None:
    assert signed_in.http.get("/quotes/quo_not_there").status_code == 404
