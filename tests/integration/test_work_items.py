"""Out-of-scope work on both databases: recorded, approved in writing, billed as change orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engagebill.domain.errors import InvalidTransition, RuleViolation, ValidationError
from engagebill.domain.invoices import Invoice
from engagebill.domain.work import WorkItem, WorkState
from engagebill.services import billing_run, parties, queries, quotes, retainers, work
from tests.support import World, a_po, an_engagement

RATE = "125.00"


def a_change_order_engagement(world: World, name: str = "Out-of-scope work") -> str:
    return an_engagement(
        world.app, world.org_id, world.client_id, kind="time_and_material", name=name
    )


def some_work(world: World, engagement_id: str, **overrides: object) -> WorkItem:
    values: dict[str, object] = {
        "work_date": date(2025, 3, 12),
        "person": "Ana Lima",
        "hours": "8",
        "rate": RATE,
        "description": "Landing page A: design and build",
        "requester": "Dana Scully",
        "approval_ref": "",
    }
    values.update(overrides)
    return work.record_work_item(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        **values,  # type: ignore[arg-type]
    )


def approved_work(world: World, engagement_id: str, ref: str, **overrides: object) -> WorkItem:
    item = some_work(world, engagement_id, **overrides)
    return work.approve_work_item(
        world.ctx, organization_id=world.org_id, work_item_id=item.id, approval_ref=ref
    )


def run(world: World, as_of: date) -> billing_run.RunResult:
    return billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=as_of)


def change_orders(result: billing_run.RunResult, engagement_id: str) -> list[Invoice]:
    return [i for i in result.created if i.engagement_id == engagement_id]


def items(world: World, engagement_id: str, *states: WorkState) -> list[WorkItem]:
    return work.list_work_items(
        world.ctx, organization_id=world.org_id, engagement_id=engagement_id, states=states
    )


# Recording ----------------------------------------------------------------------------------


def test_recorded_work_is_unapproved_with_its_details(world: World) -> None:
    eng = a_change_order_engagement(world)
    item = some_work(world, eng, hours="1:30")
    assert item.state is WorkState.UNAPPROVED
    (stored,) = items(world, eng)
    assert stored.id == item.id
    assert (stored.work_date, stored.person, stored.requester) == (
        date(2025, 3, 12),
        "Ana Lima",
        "Dana Scully",
    )
    assert stored.hours == Decimal("1.50")
    assert (stored.rate.amount, stored.rate.currency) == (Decimal("125.00"), "EUR")
    assert stored.amount.amount == Decimal("187.50")
    with world.ctx.uow() as uow:
        (event,) = uow.events.for_subject(world.org_id, item.id)
    assert event.kind == "work_item.recorded"
    assert event.data["hours"] == "1.50" and event.data["rate"] == "125.00"


@pytest.mark.parametrize(
    ("kind", "mode"), [("fixed_price", None), ("retainer", "fee"), ("retainer", None)]
)
def test_work_is_refused_where_the_scope_is_already_paid_for(
    world: World, kind: str, mode: str | None
) -> None:
    eng = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Website rebuild",
        kind=kind,
        currency="EUR",
        retainer_mode=mode,
    )
    with pytest.raises(RuleViolation) as err:
        some_work(world, eng.id)
    assert err.value.code == "work_item.not_billable_here"
    assert "time_and_material" in err.value.message
    assert items(world, eng.id) == []


def test_an_advance_retainer_takes_work_that_draws_it_down(world: World) -> None:
    eng = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Prepaid hours",
        kind="retainer",
        currency="EUR",
        retainer_mode="advance",
    )
    assert some_work(world, eng.id).state is WorkState.UNAPPROVED


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("hours", "0", "work_item.invalid_hours"),
        ("hours", "-2", "work_item.invalid_hours"),
        ("hours", "1.234", "work_item.invalid_hours"),
        ("hours", "744", "work_item.invalid_hours"),
        ("hours", "eight", "work_item.invalid_hours"),
        ("rate", "0", "work_item.invalid_rate"),
        ("rate", "125.001", "work_item.invalid_rate"),
        ("rate", "1,250.00", "work_item.invalid_rate"),
        ("rate", "125 USD", "work_item.currency_mismatch"),
        ("person", "  ", "validation.required"),
        ("description", "", "validation.required"),
        ("approval_ref", "x" * 501, "validation.too_long"),
        ("requester", "Dana\x00", "validation.control_characters"),
    ],
)
def test_bad_values_are_refused_with_a_code(
    world: World, field: str, value: str, code: str
) -> None:
    eng = a_change_order_engagement(world)
    with pytest.raises(ValidationError) as err:
        some_work(world, eng, **{field: value})
    assert err.value.code == code
    assert items(world, eng) == []


def test_every_problem_of_one_entry_is_named(world: World) -> None:
    eng = a_change_order_engagement(world)
    with pytest.raises(ValidationError) as err:
        some_work(world, eng, hours="0", rate="free", person="")
    assert err.value.code == "work_item.invalid"
    assert [p["code"] for p in err.value.details["problems"]] == [
        "validation.required",
        "work_item.invalid_hours",
        "work_item.invalid_rate",
    ]


def test_a_rate_may_name_the_engagements_currency(world: World) -> None:
    eng = a_change_order_engagement(world)
    assert some_work(world, eng, rate="EUR 125").rate.amount == Decimal("125")


# Approval -----------------------------------------------------------------------------------


def test_approval_with_a_written_reference(world: World) -> None:
    eng = a_change_order_engagement(world)
    item = some_work(world, eng)
    ref = "https://mail.example/thread/8812"
    approved = work.approve_work_item(
        world.ctx, organization_id=world.org_id, work_item_id=item.id, approval_ref=ref
    )
    assert approved.state is WorkState.APPROVED and approved.approval_ref == ref
    (stored,) = items(world, eng, WorkState.APPROVED)
    assert stored.approval_ref == ref and stored.override_reason == ""
    with world.ctx.uow() as uow:
        event = uow.events.for_subject(world.org_id, item.id)[-1]
    assert event.kind == "work_item.approved"
    assert event.data["approval_ref"] == ref and event.data["written_approval"] is True


def test_a_reference_given_when_recording_is_enough(world: World) -> None:
    eng = a_change_order_engagement(world)
    item = some_work(world, eng, approval_ref="slack://C01/p123")
    approved = work.approve_work_item(world.ctx, organization_id=world.org_id, work_item_id=item.id)
    assert approved.approval_ref == "slack://C01/p123"


def test_approval_without_written_approval_is_refused(world: World) -> None:
    eng = a_change_order_engagement(world)
    item = some_work(world, eng)
    with pytest.raises(RuleViolation) as err:
        work.approve_work_item(world.ctx, organization_id=world.org_id, work_item_id=item.id)
    assert err.value.code == "work_item.no_written_approval"
    assert [i.id for i in work.unapproved_work(world.ctx, world.org_id)] == [item.id]
    (stored,) = items(world, eng)
    assert stored.state is WorkState.UNAPPROVED


def test_override_records_its_reason(world: World) -> None:
    eng = a_change_order_engagement(world)
    item = some_work(world, eng)
    reason = "agreed by phone with Dana, confirmation to follow"
    approved = work.approve_work_item(
        world.ctx, organization_id=world.org_id, work_item_id=item.id, override_reason=reason
    )
    assert approved.state is WorkState.APPROVED
    (stored,) = items(world, eng)
    assert stored.override_reason == reason and not stored.has_written_approval
    with world.ctx.uow() as uow:
        event = uow.events.for_subject(world.org_id, item.id)[-1]
    assert event.data["override_reason"] == reason and event.data["written_approval"] is False


def test_approving_twice_is_refused(world: World) -> None:
    eng = a_change_order_engagement(world)
    item = approved_work(world, eng, "mail-1")
    with pytest.raises(InvalidTransition) as err:
        work.approve_work_item(
            world.ctx, organization_id=world.org_id, work_item_id=item.id, approval_ref="mail-2"
        )
    assert err.value.code == "work_item.not_approvable"


def test_bulk_approval_is_all_or_nothing(world: World) -> None:
    eng = a_change_order_engagement(world)
    first = some_work(world, eng)
    second = approved_work(world, eng, "mail-1", description="Landing page B")
    with pytest.raises(InvalidTransition) as err:
        work.approve_work_items(
            world.ctx,
            organization_id=world.org_id,
            work_item_ids=[first.id, second.id],
            approval_ref="mail-2",
        )
    assert err.value.details["work_item_id"] == second.id
    assert [i.id for i in items(world, eng, WorkState.UNAPPROVED)] == [first.id]
    both = work.approve_work_items(
        world.ctx,
        organization_id=world.org_id,
        work_item_ids=[first.id],
        approval_ref="mail-2",
    )
    assert [i.state for i in both] == [WorkState.APPROVED]


# Billing ------------------------------------------------------------------------------------


def test_approved_work_goes_on_one_change_order_invoice_under_its_po(world: World) -> None:
    eng = a_change_order_engagement(world)
    a_po(world.app, world.org_id, eng, "PO-CO-2025")
    a = approved_work(world, eng, "https://mail.example/1", work_date=date(2025, 3, 12))
    b = approved_work(
        world,
        eng,
        "https://chat.example/2",
        work_date=date(2025, 3, 18),
        person="Ben Okafor",
        hours="6",
        description="Landing page B: copy and build",
        requester="Sam Carter",
    )
    waiting = some_work(world, eng, description="Landing page C", hours="2")

    view = billing_run.plan_run(world.ctx, organization_id=world.org_id, as_of=date(2025, 3, 28))
    assert [n.code for n in view.plan.notices] == ["work_item.no_written_approval"]
    assert "1 work item(s)" in view.plan.notices[0].message

    (invoice,) = change_orders(run(world, date(2025, 3, 28)), eng)
    invoice = queries.get_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id
    ).invoice
    assert invoice.billing_key is not None and invoice.billing_key.startswith(f"work:{eng}:")
    assert invoice.current.purchase_order is not None
    assert invoice.current.purchase_order.number == "PO-CO-2025"
    rows = [
        (
            ln.service_date,
            ln.person,
            ln.requester,
            ln.quantity,
            ln.unit,
            ln.unit_price.amount,
            ln.approval_ref,
            ln.source_ref,
        )
        for ln in invoice.current.lines
    ]
    assert rows == [
        (
            date(2025, 3, 12),
            "Ana Lima",
            "Dana Scully",
            Decimal("8.00"),
            "HUR",
            Decimal("125.00"),
            "https://mail.example/1",
            f"work_item:{a.id}",
        ),
        (
            date(2025, 3, 18),
            "Ben Okafor",
            "Sam Carter",
            Decimal("6.00"),
            "HUR",
            Decimal("125.00"),
            "https://chat.example/2",
            f"work_item:{b.id}",
        ),
    ]
    billed = items(world, eng, WorkState.BILLED)
    assert {i.id for i in billed} == {a.id, b.id}
    assert {i.invoice_id for i in billed} == {invoice.id}
    assert [i.id for i in items(world, eng, WorkState.UNAPPROVED)] == [waiting.id]


def test_override_shows_on_the_line_instead_of_a_reference(world: World) -> None:
    eng = a_change_order_engagement(world)
    item = some_work(world, eng)
    work.approve_work_item(
        world.ctx, organization_id=world.org_id, work_item_id=item.id, override_reason="by phone"
    )
    (invoice,) = change_orders(run(world, date(2025, 3, 28)), eng)
    assert invoice.current.lines[0].approval_ref == "override: by phone"


def test_the_seed_story_three_invoices_fourteen_hours(world: World) -> None:
    """Retainer, project and two extra landing pages: the pages go on their own invoice."""
    retainer = an_engagement(world.app, world.org_id, world.client_id, name="Retainer")
    a_po(world.app, world.org_id, retainer, "PO-RET-2025")
    retainers.create_schedule(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=retainer,
        amount="10000.00",
        start_date=date(2025, 3, 1),
    )
    extra = a_change_order_engagement(world)
    a_po(world.app, world.org_id, extra, "PO-CO-2025")
    approved_work(world, extra, "https://mail.example/pages", hours="8")
    approved_work(
        world,
        extra,
        "https://mail.example/pages",
        hours="6",
        work_date=date(2025, 3, 19),
        description="Landing page B: copy and build",
    )

    result = run(world, date(2025, 3, 28))

    by_engagement = {i.engagement_id: i for i in result.created}
    assert set(by_engagement) == {retainer, extra}
    pages = by_engagement[extra]
    assert sum(ln.quantity for ln in pages.current.lines) == Decimal("14")
    totals = pages.totals()
    assert totals.net.amount == Decimal("1750.00")
    assert totals.vat.amount == Decimal("367.50")
    assert totals.gross.amount == Decimal("2117.50")
    assert pages.current.purchase_order is not None
    assert pages.current.purchase_order.number == "PO-CO-2025"
    assert by_engagement[retainer].current.purchase_order is not None
    assert by_engagement[retainer].current.purchase_order.number == "PO-RET-2025"


def test_running_twice_bills_nothing_twice(world: World) -> None:
    eng = a_change_order_engagement(world)
    approved_work(world, eng, "mail-1")
    approved_work(world, eng, "mail-2", description="Landing page B", hours="6")
    first = run(world, date(2025, 3, 28))
    second = run(world, date(2025, 3, 28))
    assert len(change_orders(first, eng)) == 1
    assert second.created == [] and second.planned == 0
    assert len(items(world, eng, WorkState.BILLED)) == 2
    plan = billing_run.plan_run(world.ctx, organization_id=world.org_id, as_of=date(2025, 3, 31))
    assert plan.plan.is_empty()


def test_a_blanket_yearly_po_is_reused_month_after_month(world: World) -> None:
    eng = a_change_order_engagement(world)
    a_po(
        world.app,
        world.org_id,
        eng,
        "PO-OOS-2025",
        valid_from=date(2025, 1, 1),
        valid_to=date(2025, 12, 31),
    )
    march = approved_work(world, eng, "mail-march", work_date=date(2025, 3, 12))
    (march_invoice,) = change_orders(run(world, date(2025, 3, 31)), eng)
    april = approved_work(world, eng, "mail-april", work_date=date(2025, 4, 9))
    (april_invoice,) = change_orders(run(world, date(2025, 4, 30)), eng)

    assert march_invoice.id != april_invoice.id
    for invoice, item in ((march_invoice, march), (april_invoice, april)):
        assert invoice.current.purchase_order is not None
        assert invoice.current.purchase_order.number == "PO-OOS-2025"
        assert [ln.source_ref for ln in invoice.current.lines] == [f"work_item:{item.id}"]


def test_a_po_per_change_order(world: World) -> None:
    eng = a_change_order_engagement(world)
    numbers = []
    for month, po in ((3, "PO-CO-1"), (4, "PO-CO-2")):
        parties.create_purchase_order(
            world.ctx,
            organization_id=world.org_id,
            engagement_id=eng,
            number=po,
            make_default=True,
        )
        approved_work(world, eng, f"mail-{month}", work_date=date(2025, month, 10))
        (invoice,) = change_orders(run(world, date(2025, month, 28)), eng)
        assert invoice.current.purchase_order is not None
        numbers.append(invoice.current.purchase_order.number)
    assert numbers == ["PO-CO-1", "PO-CO-2"]


def test_work_dated_after_the_run_waits_for_a_later_run(world: World) -> None:
    eng = a_change_order_engagement(world)
    approved_work(world, eng, "mail-1", work_date=date(2025, 4, 2))
    assert change_orders(run(world, date(2025, 3, 31)), eng) == []
    assert len(change_orders(run(world, date(2025, 4, 30)), eng)) == 1


# Mini-quotes --------------------------------------------------------------------------------


def a_sent_mini_quote(world: World, engagement_id: str) -> str:
    quote = quotes.create_quote(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        title="Two extra landing pages",
        items=[quotes.QuoteItemInput("Landing pages", "Design and build", "1750.00")],
    )
    return quotes.send_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id).id


def test_work_under_an_accepted_mini_quote_is_approved_by_it(world: World) -> None:
    eng = a_change_order_engagement(world)
    quote_id = a_sent_mini_quote(world, eng)
    before = some_work(world, eng, quote_id=quote_id)
    assert before.state is WorkState.UNAPPROVED
    quotes.accept_quote(world.ctx, organization_id=world.org_id, quote_id=quote_id, name="Dana")
    after = some_work(world, eng, quote_id=quote_id, description="Landing page B")
    reference = "Quote Q-2025-0001 accepted by Dana on 2025-03-03"
    assert after.state is WorkState.APPROVED and after.approval_ref == reference
    stored = items(world, eng, WorkState.APPROVED)
    assert [(i.quote_id, i.approval_ref) for i in stored] == [(quote_id, reference)] * 2


def test_work_under_another_engagements_quote_is_refused(world: World) -> None:
    quote_id = a_sent_mini_quote(world, a_change_order_engagement(world, "Other"))
    eng = a_change_order_engagement(world)
    with pytest.raises(RuleViolation) as err:
        some_work(world, eng, quote_id=quote_id)
    assert err.value.code == "work_item.wrong_engagement"
    assert items(world, eng) == []
