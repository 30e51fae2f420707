"""The engagement page of the agency's app: a project's milestones signed off and invoiced at
once, or the client asked to sign off through an emailed link; out-of-scope work approved with
its written approval, then billed on the change-order invoice by the run."""

from __future__ import annotations

from datetime import date

from engagebill.domain.delivery import Channel
from engagebill.services import billing_run, delivery, quotes, work
from engagebill.services.quotes import QuoteItemInput
from tests.e2e.test_web_app import Browser, agency_user, signed_in, text_of, web
from tests.support import World, a_po, an_engagement

__all__ = ["agency_user", "signed_in", "web"]  # the fixtures this module uses


def a_project_with_milestones(world: World) -> tuple[str, list[str]]:
    project = an_engagement(
        world.app, world.org_id, world.client_id, kind="fixed_price", name="Website rebuild"
    )
    a_po(world.app, world.org_id, project, "PO-WEB")
    quote = quotes.create_quote(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=project,
        title="Website rebuild",
        items=[
            QuoteItemInput("Discovery", "Workshops and sitemap", "20000.00"),
            QuoteItemInput("Design system", "Tokens and components", "40000.00"),
        ],
    )
    quotes.send_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id)
    quotes.accept_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id, name="Dana")
    found = quotes.list_milestones(world.ctx, organization_id=world.org_id, engagement_id=project)
    return project, [m.id for m in found]


def test_a_milestone_is_signed_off_and_invoiced_from_the_engagement_page(
    world: World, signed_in: Browser
) -> None:
    project, (first, second) = a_project_with_milestones(world)
    page = text_of(signed_in.http.get(f"/engagements/{project}").text)
    assert "Milestones" in page and "Discovery" in page and "Design system" in page
    assert page.count("Planned") == 2

    refused = signed_in.post(f"/engagements/{project}/milestones/{first}/sign-off")
    assert "signed off by must not be empty" in signed_in.refused(refused).lower()

    done = signed_in.done(
        signed_in.post(
            f"/engagements/{project}/milestones/{first}/sign-off", signed_off_by="Dana Scully"
        )
    )
    assert "Milestone 1 signed off by Dana Scully: its invoice is created as a draft." in done
    assert "Website rebuild, Milestone 1: Discovery" in done and "PO-WEB" in done
    after = text_of(signed_in.http.get(f"/engagements/{project}").text)
    assert "Invoiced (signed off by Dana Scully, 3 Mar 2025) Its invoice (draft)" in after
    again = signed_in.post(
        f"/engagements/{project}/milestones/{first}/sign-off", signed_off_by="Dana Scully"
    )
    assert "milestone 1 (Discovery) is already invoiced" in signed_in.refused(again)

    asked = signed_in.done(
        signed_in.post(
            f"/engagements/{project}/milestones/{second}/ask-sign-off",
            email="lead@acme.example",
            name="Lee Lead",
        )
    )
    assert "A private sign-off link is on its way to lead@acme.example." in asked
    [email] = [
        m
        for m in delivery.outbox_messages(world.ctx, organization_id=world.org_id)
        if m.channel is Channel.EMAIL and m.payload["document_type"] == "milestone"
    ]
    assert email.payload["to"] == "Lee Lead <lead@acme.example>"
    bad = signed_in.post(
        f"/engagements/{project}/milestones/{second}/ask-sign-off", email="not an address"
    )
    assert "is not an email address" in signed_in.refused(bad)
    states = {
        m.id: m.state.value for m in quotes.list_milestones(world.ctx, organization_id=world.org_id)
    }
    assert states == {first: "invoiced", second: "planned"}


def test_work_is_approved_on_the_engagement_page_and_billed_by_the_run(
    world: World, signed_in: Browser
) -> None:
    extras = an_engagement(
        world.app, world.org_id, world.client_id, kind="time_and_material", name="Extras"
    )
    item = work.record_work_item(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=extras,
        work_date=date(2025, 2, 20),
        person="Ana Lima",
        hours="3.5",
        rate="120.00",
        description="Extra landing page",
        requester="Dana Scully",
    )
    page = text_of(signed_in.http.get(f"/engagements/{extras}").text)
    assert (
        "Work to bill" in page and "Extra landing page" in page and "asked by Dana Scully" in page
    )

    refused = signed_in.post(f"/engagements/{extras}/work-items/{item.id}/approve")
    assert "no written approval" in signed_in.refused(refused)
    done = signed_in.done(
        signed_in.post(
            f"/engagements/{extras}/work-items/{item.id}/approve",
            approval_ref="https://mail.example/acme/7",
        )
    )
    assert "Work of 2025-02-20 by Ana Lima approved" in done
    assert "Approved: https://mail.example/acme/7" in done

    run = billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=date(2025, 3, 3))
    [invoice] = run.created
    assert [ln.approval_ref for ln in invoice.current.lines] == ["https://mail.example/acme/7"]
    after = text_of(signed_in.http.get(f"/engagements/{extras}").text)
    assert "No work waiting to be billed." in after and "Extra landing page" not in after
