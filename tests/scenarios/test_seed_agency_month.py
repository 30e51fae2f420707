"""The first seed story, end to end: one client, three engagements, three invoices in March.

A client on a 10,000 monthly retainer signed a 60,000 website rebuild billed in three
milestones, and asked mid-month for two extra landing pages (14 hours). On the 28th the
account manager wants to know how many invoices go out, with what numbers, under whose PO:
exactly three, each on its own engagement with its own PO.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from engagebill.domain.billing import Purpose
from engagebill.domain.lifecycle import InvoiceState
from engagebill.services import billing_run, invoicing, queries, quotes, retainers, work
from tests.support import World, a_po, an_engagement


def _acme_month(world: World) -> dict[str, str]:
    ctx, org, client = world.ctx, world.org_id, world.client_id
    world.clock.set(date(2025, 2, 10))
    retainer = an_engagement(
        world.app, org, client, kind="retainer", currency="USD", name="Monthly retainer"
    )
    project = an_engagement(
        world.app, org, client, kind="fixed_price", currency="USD", name="Website rebuild"
    )
    extra = an_engagement(
        world.app, org, client, kind="time_and_material", currency="USD", name="Out-of-scope work"
    )
    a_po(world.app, org, retainer, "PO-RETAINER-2025", valid_to=date(2025, 12, 31))
    a_po(world.app, org, project, "PO-WEBSITE")
    a_po(world.app, org, extra, "PO-EXTRAS-2025")
    retainers.create_schedule(
        ctx,
        organization_id=org,
        engagement_id=retainer,
        amount="10000.00",
        start_date=date(2025, 3, 1),
    )
    quote = quotes.create_quote(
        ctx,
        organization_id=org,
        engagement_id=project,
        title="Website rebuild",
        items=[
            quotes.QuoteItemInput("Discovery", "Research and wireframes", "20000.00"),
            quotes.QuoteItemInput("design system sign-off", "Components and templates", "20000.00"),
            quotes.QuoteItemInput("Launch", "Build and launch", "20000.00"),
        ],
    )
    quotes.send_quote(ctx, organization_id=org, quote_id=quote.id)
    quotes.accept_quote(ctx, organization_id=org, quote_id=quote.id, name="Dana Scully")
    milestones = quotes.list_milestones(ctx, organization_id=org, engagement_id=project)
    # Milestone 1 was billed in February.
    quotes.sign_off_milestone(
        ctx, organization_id=org, milestone_id=milestones[0].id, by="Dana Scully"
    )
    return {
        "retainer": retainer,
        "project": project,
        "extra": extra,
        "milestone2": milestones[1].id,
    }


def test_march_has_exactly_three_invoices_each_with_its_own_po(world: World) -> None:
    ids = _acme_month(world)
    ctx, org = world.ctx, world.org_id
    # Day 1-3: the retainer goes out on the first business day (3 March 2025, a Monday).
    world.clock.set(date(2025, 3, 3))
    billing_run.execute_run(ctx, organization_id=org, as_of=date(2025, 3, 3))
    # Mid-month: milestone 2 is signed off and invoiced at once, not in the monthly batch.
    world.clock.set(date(2025, 3, 14))
    signed = quotes.sign_off_milestone(
        ctx, organization_id=org, milestone_id=ids["milestone2"], by="Dana Scully"
    )
    # The two extra landing pages, approved in writing.
    for day, hours in ((date(2025, 3, 17), "8"), (date(2025, 3, 19), "6")):
        item = work.record_work_item(
            ctx,
            organization_id=org,
            engagement_id=ids["extra"],
            work_date=day,
            person="Sam Rivera",
            hours=hours,
            rate="150.00",
            description="Extra landing page",
            requester="Dana Scully",
            approval_ref=f"https://mail.example/approval/{day}",
        )
        work.approve_work_item(ctx, organization_id=org, work_item_id=item.id)

    # The 28th: the plan still due is the change order alone; the month has three invoices.
    world.clock.set(date(2025, 3, 28))
    view = billing_run.plan_run(ctx, organization_id=org, as_of=date(2025, 3, 28))
    assert [p.purpose for p in view.plan.invoices] == [Purpose.CHANGE_ORDER]
    change_order = view.plan.invoices[0]
    assert change_order.purchase_order is not None
    assert change_order.purchase_order.number == "PO-EXTRAS-2025"
    assert change_order.totals().net.amount == Decimal("2100.00")  # 14 h x 150
    assert [
        (ln.service_date, ln.requester, str(ln.quantity), ln.unit_price.amount)
        for ln in change_order.lines
    ] == [
        (date(2025, 3, 17), "Dana Scully", "8.00", Decimal("150.00")),
        (date(2025, 3, 19), "Dana Scully", "6.00", Decimal("150.00")),
    ]
    assert all(ln.approval_ref for ln in change_order.lines)
    billing_run.execute_run(ctx, organization_id=org, as_of=date(2025, 3, 28))

    month = billing_run.month_overview(ctx, organization_id=org, month="2025-03")
    assert month.due.plan.is_empty()
    march = sorted(month.issued, key=lambda r: r.issue_date)
    assert [(r.engagement_name, r.issue_date, r.po_number) for r in march] == [
        ("Monthly retainer", date(2025, 3, 3), "PO-RETAINER-2025"),
        ("Website rebuild", date(2025, 3, 14), "PO-WEBSITE"),
        ("Out-of-scope work", date(2025, 3, 28), "PO-EXTRAS-2025"),
    ]
    # One engagement, one invoice, one PO: no invoice carries another engagement's lines.
    assert len({r.engagement_id for r in march}) == 3
    assert len({r.po_number for r in march}) == 3
    milestone = queries.get_invoice(ctx, organization_id=org, invoice_id=signed.invoice.id).invoice
    assert [ln.description for ln in milestone.current.lines] == [
        "Website rebuild, Milestone 2: design system sign-off"
    ]
    assert milestone.current.quote_reference.startswith("Q-2025-")
    assert milestone.totals().net.amount == Decimal("20000.00")

    # Sending them takes gapless numbers in the order they go out.
    numbers = []
    for row in march:
        if row.state is InvoiceState.DRAFT:
            sent = invoicing.send_invoice(ctx, organization_id=org, invoice_id=row.id)
            numbers.append(sent.number)
    assert numbers == sorted(numbers)
    again = billing_run.execute_run(ctx, organization_id=org, as_of=date(2025, 3, 28))
    assert again.created == []


def test_the_retainer_never_carries_project_lines(world: World) -> None:
    ids = _acme_month(world)
    world.clock.set(date(2025, 3, 3))
    billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=date(2025, 3, 31))
    rows = queries.list_invoices(world.ctx, organization_id=world.org_id)
    by_engagement: dict[str, int] = {}
    for row in rows:
        by_engagement[row.engagement_id] = by_engagement.get(row.engagement_id, 0) + 1
        invoice = queries.get_invoice(
            world.ctx, organization_id=world.org_id, invoice_id=row.id
        ).invoice
        refs = {ln.source_ref.split(":")[0] for ln in invoice.current.lines if ln.source_ref}
        assert len(refs) == 1, "an invoice bills one kind of source from one engagement"
    assert by_engagement[ids["retainer"]] == 1
