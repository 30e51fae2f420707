"""Quotes and milestones on both databases: offer, accept by typed name, sign off, invoice once.

The story: a 60,000 website rebuild quoted in three milestones, each invoiced the moment it is
signed off (never by calendar), on the project's PO with the quote number; and a mini-quote
whose acceptance is the written approval of out-of-scope work.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from engagebill.domain.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    RuleViolation,
    ValidationError,
)
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.quotes import MilestoneState, Quote, QuoteState
from engagebill.domain.work import WorkItem, WorkState
from engagebill.services import audit, billing_run, invoicing, parties, queries, quotes
from engagebill.services.quotes import QuoteItemInput
from tests.support import World, a_po, an_engagement, an_organization, line

WEBSITE_REBUILD = [
    QuoteItemInput("discovery and wireframes", "Workshops, sitemap, wireframes", "20000.00"),
    QuoteItemInput("design system sign-off", "Tokens, components, documentation", "25000.00"),
    QuoteItemInput("launch", "Build, content migration, go-live", "15000.00"),
]


def a_project(world: World, *, auto_send: bool = False, po: str | None = "PO-WEB-7") -> str:
    """The fixed-price 'Website rebuild' engagement, with its own PO as the default."""
    engagement = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Website rebuild",
        kind="fixed_price",
        currency="EUR",
        auto_send=auto_send,
    )
    if po is not None:
        a_po(world.app, world.org_id, engagement.id, po)
    return engagement.id


def a_quote(world: World, engagement_id: str, **kw: object) -> Quote:
    return quotes.create_quote(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        title=str(kw.pop("title", "Website rebuild")),
        items=kw.pop("items", WEBSITE_REBUILD),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def a_sent_quote(world: World, engagement_id: str, **kw: object) -> Quote:
    quote = a_quote(world, engagement_id, **kw)
    return quotes.send_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id)


def an_accepted_quote(world: World, engagement_id: str, **kw: object) -> Quote:
    quote = a_sent_quote(world, engagement_id, **kw)
    return quotes.accept_quote(
        world.ctx, organization_id=world.org_id, quote_id=quote.id, name="Dana Scully"
    )


def milestones_of(world: World, engagement_id: str):  # type: ignore[no-untyped-def]
    return quotes.list_milestones(
        world.ctx, organization_id=world.org_id, engagement_id=engagement_id
    )


def sign_off(world: World, milestone_id: str, by: str = "Dana Scully") -> quotes.SignOff:
    return quotes.sign_off_milestone(
        world.ctx, organization_id=world.org_id, milestone_id=milestone_id, by=by
    )


# Quotes ------------------------------------------------------------------------------------


def test_total_defaults_to_the_sum_of_the_milestones(world: World) -> None:
    quote = a_quote(world, a_project(world))
    assert quote.state is QuoteState.DRAFT and quote.number is None
    assert quote.current.total == Money.of("60000.00", "EUR")
    stored = quotes.get_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id).quote
    assert [i.name for i in stored.current.items] == [i.name for i in WEBSITE_REBUILD]
    assert stored.current.total == Money.of("60000.00", "EUR")


def test_milestones_must_sum_to_the_total(world: World) -> None:
    project = a_project(world)
    with pytest.raises(RuleViolation) as err:
        a_quote(world, project, total="65000.00")
    assert err.value.code == "quote.milestones_do_not_sum"
    assert quotes.list_quotes(world.ctx, organization_id=world.org_id) == []
    assert a_quote(world, project, total="60000").current.total.amount == Decimal("60000")


def test_bad_item_amounts_are_refused_with_their_position(world: World) -> None:
    project = a_project(world)
    with pytest.raises(ValidationError) as err:
        a_quote(world, project, items=[QuoteItemInput("Design", "", "12.345")])
    assert err.value.code == "quote.invalid_amount"
    assert err.value.message.startswith("item 1:")
    with pytest.raises(ValidationError) as err:
        a_quote(world, project, items=[QuoteItemInput("Design", "", "-5")])
    assert err.value.code == "quote.invalid_amount"
    with pytest.raises(ValidationError) as err:
        a_quote(world, project, items=[])
    assert err.value.code == "quote.no_items"


def test_quotes_on_a_retainer_engagement_are_refused(world: World) -> None:
    retainer = an_engagement(world.app, world.org_id, world.client_id, kind="retainer")
    with pytest.raises(RuleViolation) as err:
        a_quote(world, retainer)
    assert err.value.code == "quote.retainer_engagement"


def test_sending_takes_a_quote_number_and_hashes_the_version(world: World) -> None:
    project = a_project(world)
    first = a_sent_quote(world, project)
    second = a_sent_quote(world, project, title="Website rebuild, phase 2")
    assert (first.number, second.number) == ("Q-2025-0001", "Q-2025-0002")
    assert first.state is QuoteState.SENT
    assert first.current.content_hash == first.current.compute_hash("Q-2025-0001")
    with pytest.raises(InvalidTransition) as err:
        quotes.send_quote(world.ctx, organization_id=world.org_id, quote_id=first.id)
    assert err.value.code == "quote.not_sendable"
    # The invoice series is untouched by quotes.
    inv = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=project, lines=[line()]
    ).invoice
    sent = invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=inv.id)
    assert sent.number == "INV-2025-0001"


def test_accept_by_typed_name_records_time_and_hash_of_the_exact_version(world: World) -> None:
    project = a_project(world)
    quote = a_sent_quote(world, project)
    shown_v1 = quote.current.content_hash
    revised = quotes.revise_quote(
        world.ctx,
        organization_id=world.org_id,
        quote_id=quote.id,
        items=[*WEBSITE_REBUILD[:2], QuoteItemInput("launch", "Go-live only", "12000.00")],
    )
    v2 = revised.current
    assert (v2.version, v2.total.amount) == (2, Decimal("57000.00"))
    assert v2.content_hash == v2.compute_hash("Q-2025-0001") != shown_v1
    with pytest.raises(RuleViolation) as err:
        quotes.accept_quote(
            world.ctx,
            organization_id=world.org_id,
            quote_id=quote.id,
            name="Dana Scully",
            shown_hash=shown_v1,
        )
    assert err.value.code == "quote.version_changed"
    with pytest.raises(ValidationError) as no_name:
        quotes.accept_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id, name="   ")
    assert no_name.value.code == "validation.required"

    world.clock.set(date(2025, 3, 5), hour=14)
    accepted = quotes.accept_quote(
        world.ctx,
        organization_id=world.org_id,
        quote_id=quote.id,
        name=" Dana Scully ",
        shown_hash=v2.content_hash,
    )
    detail = quotes.get_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id)
    stored = detail.quote
    assert stored.state is QuoteState.ACCEPTED
    assert (stored.accepted_by, stored.accepted_version) == ("Dana Scully", 2)
    assert stored.accepted_hash == v2.content_hash == accepted.accepted_hash
    assert stored.accepted_at is not None
    assert stored.accepted_at.replace(microsecond=0) == datetime(2025, 3, 5, 14, tzinfo=UTC)
    # Version 1 is still there, with the hash it was shown with.
    assert [v.content_hash for v in stored.versions] == [shown_v1, v2.content_hash]
    # The quote's own lifecycle, in order (sending also issues private links to AP contacts).
    lifecycle = [e for e in detail.events if e.kind.startswith("quote.")]
    kinds = [e.kind for e in lifecycle]
    assert kinds == ["quote.created", "quote.sent", "quote.revised", "quote.accepted"]
    assert lifecycle[-1].data["content_hash"] == v2.content_hash
    assert lifecycle[-1].data["by"] == "Dana Scully"


def test_revising_after_acceptance_is_refused(world: World) -> None:
    quote = an_accepted_quote(world, a_project(world))
    with pytest.raises(InvalidTransition) as err:
        quotes.revise_quote(
            world.ctx, organization_id=world.org_id, quote_id=quote.id, title="Cheaper"
        )
    assert err.value.code == "quote.not_reviseable"
    stored = quotes.get_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id).quote
    assert len(stored.versions) == 1


def test_a_declined_quote_records_the_reason_and_cannot_be_accepted(world: World) -> None:
    quote = a_sent_quote(world, a_project(world))
    declined = quotes.decline_quote(
        world.ctx, organization_id=world.org_id, quote_id=quote.id, reason="Over budget"
    )
    assert (declined.state, declined.declined_reason) == (QuoteState.DECLINED, "Over budget")
    with pytest.raises(InvalidTransition) as err:
        quotes.accept_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id, name="X")
    assert err.value.code == "quote.not_acceptable"


def test_accepted_milestones_appear_on_the_engagement(world: World) -> None:
    project = a_project(world)
    assert milestones_of(world, project) == []
    quote = an_accepted_quote(world, project)
    milestones = milestones_of(world, project)
    assert [(m.position, m.name, m.amount.amount) for m in milestones] == [
        (1, "discovery and wireframes", Decimal("20000.00")),
        (2, "design system sign-off", Decimal("25000.00")),
        (3, "launch", Decimal("15000.00")),
    ]
    assert {m.state for m in milestones} == {MilestoneState.PLANNED}
    assert {(m.quote_id, m.quote_number) for m in milestones} == {(quote.id, "Q-2025-0001")}
    # A second quote on the project continues the numbering: "Milestone 4" stays unambiguous.
    an_accepted_quote(
        world, project, title="Extra", items=[QuoteItemInput("analytics", "", "5000")]
    )
    assert [m.position for m in milestones_of(world, project)] == [1, 2, 3, 4]


# Sign-off and the milestone invoice ----------------------------------------------------------


def test_sign_off_creates_the_milestone_invoice_at_once(world: World) -> None:
    project = a_project(world)
    an_accepted_quote(world, project)
    second = milestones_of(world, project)[1]
    world.clock.set(date(2025, 3, 18), hour=16)

    result = sign_off(world, second.id, by="Dana Scully")

    invoice = result.invoice
    assert invoice.state is InvoiceState.DRAFT and invoice.number is None
    assert invoice.billing_key == f"milestone:{second.id}"
    current = invoice.current
    assert [ln.description for ln in current.lines] == [
        "Website rebuild, Milestone 2: design system sign-off"
    ]
    assert current.issue_date == date(2025, 3, 18)
    assert current.purchase_order is not None and current.purchase_order.number == "PO-WEB-7"
    assert current.quote_reference == "Q-2025-0001"
    assert invoice.totals().net == second.amount == Money.of("25000.00", "EUR")
    milestone = result.milestone
    assert milestone.state is MilestoneState.INVOICED and milestone.invoice_id == invoice.id
    assert milestone.signed_off_by == "Dana Scully"
    assert milestone.signed_off_at is not None
    assert milestone.signed_off_at.date() == date(2025, 3, 18)
    # Stored as returned, and the other milestones are untouched.
    states = [m.state for m in milestones_of(world, project)]
    assert states == [MilestoneState.PLANNED, MilestoneState.INVOICED, MilestoneState.PLANNED]
    stored = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice.id)
    assert stored.invoice.current.quote_reference == "Q-2025-0001"
    with world.ctx.uow() as uow:
        kinds = [e.kind for e in uow.events.for_subject(world.org_id, second.id)]
    assert kinds == ["milestone.planned", "milestone.signed_off"]
    [report] = audit.verify_chains(world.ctx, organization_id=world.org_id)
    assert report.broken is None


def test_sign_off_on_an_auto_send_engagement_sends_and_numbers_the_invoice(world: World) -> None:
    project = a_project(world, auto_send=True)
    an_accepted_quote(world, project)
    result = sign_off(world, milestones_of(world, project)[0].id)
    assert result.invoice.state is InvoiceState.SENT
    assert result.invoice.number == "INV-2025-0001"
    assert result.held_reason == ""
    assert result.invoice.current.buyer is not None
    assert result.invoice.totals().gross.amount == Decimal("24200.00")  # 20,000 + 21% VAT


def test_auto_send_waits_for_a_person_when_the_po_has_expired(world: World) -> None:
    project = a_project(world, auto_send=True, po=None)
    a_po(world.app, world.org_id, project, "PO-2024", valid_to=date(2024, 12, 31))
    an_accepted_quote(world, project)
    result = sign_off(world, milestones_of(world, project)[0].id)
    assert result.invoice.state is InvoiceState.DRAFT
    assert [w.code for w in result.warnings] == ["po.expired"]
    assert "PO-2024" in result.held_reason


def test_signing_off_twice_is_refused(world: World) -> None:
    project = a_project(world)
    an_accepted_quote(world, project)
    first = milestones_of(world, project)[0]
    sign_off(world, first.id)
    with pytest.raises(InvalidTransition) as err:
        sign_off(world, first.id, by="Someone Else")
    assert err.value.code == "milestone.not_signable"
    again = milestones_of(world, project)[0]
    assert again.signed_off_by == "Dana Scully"
    invoices = queries.list_invoices(world.ctx, organization_id=world.org_id)
    assert len(invoices) == 1


def test_the_billing_key_refuses_a_second_invoice_for_a_milestone(world: World) -> None:
    project = a_project(world)
    an_accepted_quote(world, project)
    milestone = sign_off(world, milestones_of(world, project)[0].id).milestone
    with pytest.raises(Conflict) as err:
        invoicing.create_draft(
            world.ctx,
            organization_id=world.org_id,
            engagement_id=project,
            lines=[line("Milestone 1 again", price="20000.00")],
            billing_key=milestone.billing_key,
        )
    assert err.value.code == "invoice.already_billed"
    # And the milestone itself refuses to be invoiced again.
    with pytest.raises(InvalidTransition) as transition:
        milestone.mark_invoiced("inv_other")
    assert transition.value.code == "milestone.not_invoiceable"


def test_sign_off_is_rolled_back_when_the_milestone_is_already_billed(world: World) -> None:
    project = a_project(world)
    an_accepted_quote(world, project)
    milestone = milestones_of(world, project)[0]
    # Someone billed the milestone by hand under its key before it was signed off.
    invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=project,
        lines=[line(price="20000.00")],
        billing_key=milestone.billing_key,
    )
    with pytest.raises(Conflict) as err:
        sign_off(world, milestone.id)
    assert err.value.code == "milestone.already_invoiced"
    still = milestones_of(world, project)[0]
    assert (still.state, still.signed_off_by) == (MilestoneState.PLANNED, "")


def test_a_billing_run_after_sign_off_creates_nothing_more_for_the_milestone(
    world: World,
) -> None:
    project = a_project(world)
    an_accepted_quote(world, project)
    first = milestones_of(world, project)[0]
    signed = sign_off(world, first.id)
    for as_of in (date(2025, 3, 3), date(2025, 3, 31), date(2025, 6, 30)):
        result = billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=as_of)
        assert result.created == []
    invoices = queries.list_invoices(world.ctx, organization_id=world.org_id)
    assert [i.id for i in invoices] == [signed.invoice.id]
    # Planned milestones are not billed by calendar either.
    assert [m.state for m in milestones_of(world, project)][1:] == [MilestoneState.PLANNED] * 2


# Mini-quotes on time-and-material work -------------------------------------------------------


def out_of_scope_work(
    world: World, engagement_id: str, description: str, quote_id: str | None = None
) -> WorkItem:
    item = WorkItem(
        id=f"wi_{description.replace(' ', '_')}_{world.org_id[-8:]}",
        organization_id=world.org_id,
        engagement_id=engagement_id,
        work_date=date(2025, 3, 10),
        person="Sam Designer",
        hours=Decimal("7.5"),
        rate=Money.of("120.00", "EUR"),
        description=description,
        requester="Dana Scully",
        approval_ref="",
        state=WorkState.UNAPPROVED,
        created_at=world.clock.now(),
        quote_id=quote_id,
    )
    with world.ctx.uow() as uow:
        uow.work.add_many([item])
        uow.commit()
    return item


def work_items(world: World, engagement_id: str) -> dict[str, WorkItem]:
    with world.ctx.uow() as uow:
        return {w.description: w for w in uow.work.list(world.org_id, engagement_id)}


def test_an_accepted_mini_quote_approves_its_linked_work(world: World) -> None:
    extra = an_engagement(
        world.app, world.org_id, world.client_id, kind="time_and_material", name="Extra work"
    )
    pages = [QuoteItemInput("Two extra landing pages", "Design and build", "1800.00")]
    quote = a_sent_quote(world, extra, title="Landing pages", items=pages)
    out_of_scope_work(world, extra, "landing page one", quote.id)
    linked_later = out_of_scope_work(world, extra, "landing page two")
    out_of_scope_work(world, extra, "unrelated tweak")
    quotes.link_work_to_quote(
        world.ctx, organization_id=world.org_id, quote_id=quote.id, work_item_ids=[linked_later.id]
    )

    quotes.accept_quote(
        world.ctx, organization_id=world.org_id, quote_id=quote.id, name="Dana Scully"
    )

    items = work_items(world, extra)
    reference = "Quote Q-2025-0001 accepted by Dana Scully on 2025-03-03"
    for name in ("landing page one", "landing page two"):
        assert (items[name].state, items[name].approval_ref) == (WorkState.APPROVED, reference)
    assert items["unrelated tweak"].state is WorkState.UNAPPROVED
    assert milestones_of(world, extra) == []  # a mini-quote plans no milestones
    # The approved work goes out on the change-order invoice, the acceptance as its approval.
    run = billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=date(2025, 3, 28))
    assert len(run.created) == 1
    lines = run.created[0].current.lines
    assert [ln.approval_ref for ln in lines] == [reference, reference]


def test_work_linked_to_an_accepted_mini_quote_is_approved_at_once(world: World) -> None:
    extra = an_engagement(world.app, world.org_id, world.client_id, kind="time_and_material")
    quote = an_accepted_quote(
        world, extra, title="Landing pages", items=[QuoteItemInput("Pages", "", "900")]
    )
    late = out_of_scope_work(world, extra, "late page")
    [linked] = quotes.link_work_to_quote(
        world.ctx, organization_id=world.org_id, quote_id=quote.id, work_item_ids=[late.id]
    )
    assert linked.state is WorkState.APPROVED and linked.quote_id == quote.id
    assert work_items(world, extra)["late page"].approval_ref.startswith("Quote Q-2025-0001")


def test_work_cannot_be_linked_to_a_milestone_quote(world: World) -> None:
    project = a_project(world)
    quote = a_quote(world, project)
    extra = an_engagement(world.app, world.org_id, world.client_id, kind="time_and_material")
    item = out_of_scope_work(world, extra, "stray page")
    with pytest.raises(RuleViolation) as err:
        quotes.link_work_to_quote(
            world.ctx, organization_id=world.org_id, quote_id=quote.id, work_item_ids=[item.id]
        )
    assert err.value.code == "quote.not_a_mini_quote"


# Tenancy ----------------------------------------------------------------------------------


def test_quotes_and_milestones_of_another_organization_are_not_found(world: World) -> None:
    project = a_project(world)
    quote = an_accepted_quote(world, project)
    milestone = milestones_of(world, project)[0]
    other = an_organization(world.app, name="Other Agency")
    ctx = world.ctx
    with pytest.raises(NotFound):
        quotes.get_quote(ctx, organization_id=other, quote_id=quote.id)
    with pytest.raises(NotFound):
        quotes.accept_quote(ctx, organization_id=other, quote_id=quote.id, name="Mallory")
    with pytest.raises(NotFound):
        quotes.revise_quote(ctx, organization_id=other, quote_id=quote.id, title="Mine")
    with pytest.raises(NotFound):
        quotes.create_quote(
            ctx, organization_id=other, engagement_id=project, title="X", items=WEBSITE_REBUILD
        )
    with pytest.raises(NotFound):
        quotes.sign_off_milestone(ctx, organization_id=other, milestone_id=milestone.id, by="M")
    with pytest.raises(NotFound):
        quotes.list_milestones(ctx, organization_id=other, engagement_id=project)
    assert quotes.list_quotes(ctx, organization_id=other) == []
    assert quotes.list_milestones(ctx, organization_id=other) == []
    assert milestones_of(world, project)[0].state is MilestoneState.PLANNED
