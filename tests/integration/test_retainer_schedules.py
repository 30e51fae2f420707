"""Retainer schedules on both databases: one invoice per due period, dated on the scheduled
day, its line from the template; amendments carried forward; PO warnings; automatic sending."""

from __future__ import annotations

from datetime import date

import pytest

from engagebill.domain.errors import RuleViolation
from engagebill.domain.invoices import Invoice, InvoiceKind
from engagebill.domain.lifecycle import InvoiceState
from engagebill.services import billing_run, invoicing, parties, recipient, retainers
from engagebill.services.billing_run import RunResult
from tests.support import World, a_po


def a_fee_retainer(world: World, *, auto_send: bool = False, net_days: int = 14) -> str:
    return parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Brand retainer",
        kind="retainer",
        currency="EUR",
        net_days=net_days,
        auto_send=auto_send,
    ).id


def a_schedule(world: World, engagement_id: str, **kw: object) -> str:
    options: dict[str, object] = {"amount": "10000.00", "start_date": date(2025, 1, 1), **kw}
    return retainers.create_schedule(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        **options,  # type: ignore[arg-type]
    ).id


def run(world: World, day: date) -> RunResult:
    world.clock.set(day)
    return billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=day)


def dates(invoices: list[Invoice]) -> list[date]:
    return [i.current.issue_date for i in invoices]


def texts(invoices: list[Invoice]) -> list[str]:
    return [ln.description for i in invoices for ln in i.current.lines]


def warnings_by_line(world: World, day: date) -> dict[str, list[str]]:
    view = billing_run.plan_run(world.ctx, organization_id=world.org_id, as_of=day)
    return {p.lines[0].description: [w.code for w in p.warnings] for p in view.plan.invoices}


def test_monthly_retainer_bills_each_period_once_on_its_first_business_day(
    world: World,
) -> None:
    eng = a_fee_retainer(world, net_days=14)
    schedule = a_schedule(world, eng)
    created = run(world, date(2025, 3, 31)).created
    # 1 January is New Year's Day in NL (the organization's country); 1 Feb and 1 Mar are
    # Saturdays.
    assert dates(created) == [date(2025, 1, 2), date(2025, 2, 3), date(2025, 3, 3)]
    assert [i.current.due_date for i in created] == [
        date(2025, 1, 16),
        date(2025, 2, 17),
        date(2025, 3, 17),
    ]
    assert texts(created) == [
        "Monthly retainer, January 2025",
        "Monthly retainer, February 2025",
        "Monthly retainer, March 2025",
    ]
    assert [i.billing_key for i in created] == [
        f"retainer:{schedule}:2025-01",
        f"retainer:{schedule}:2025-02",
        f"retainer:{schedule}:2025-03",
    ]
    assert {(i.kind, i.state) for i in created} == {(InvoiceKind.STANDARD, InvoiceState.DRAFT)}
    assert {i.totals().net.decimal_string() for i in created} == {"10000.00"}
    assert run(world, date(2025, 3, 31)).created == []
    assert dates(run(world, date(2025, 4, 1)).created) == [date(2025, 4, 1)]


def test_a_day_of_month_rule_dates_on_that_day(world: World) -> None:
    eng = a_fee_retainer(world)
    a_schedule(world, eng, invoice_day="day:15", line_template="Retainer {month_short} {year}")
    created = run(world, date(2025, 3, 20)).created
    assert dates(created) == [date(2025, 1, 15), date(2025, 2, 15), date(2025, 3, 15)]
    assert texts(created)[-1] == "Retainer Mar 2025"
    assert run(world, date(2025, 4, 14)).created == []


def test_quarterly_and_yearly_retainers(world: World) -> None:
    quarterly = a_fee_retainer(world)
    a_schedule(
        world,
        quarterly,
        frequency="quarterly",
        amount="30000.00",
        line_template="Quarterly retainer, {quarter} {year}",
    )
    yearly = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Support plan",
        kind="retainer",
        currency="EUR",
    ).id
    a_schedule(world, yearly, frequency="yearly", line_template="Annual support, {year}")
    created = run(world, date(2026, 1, 31)).created
    by_engagement = {
        eng: [
            (i.current.issue_date, i.current.lines[0].description)
            for i in created
            if i.engagement_id == eng
        ]
        for eng in (quarterly, yearly)
    }
    assert by_engagement[quarterly] == [
        (date(2025, 1, 2), "Quarterly retainer, Q1 2025"),
        (date(2025, 4, 1), "Quarterly retainer, Q2 2025"),
        (date(2025, 7, 1), "Quarterly retainer, Q3 2025"),
        (date(2025, 10, 1), "Quarterly retainer, Q4 2025"),
        (date(2026, 1, 2), "Quarterly retainer, Q1 2026"),
    ]
    assert by_engagement[yearly] == [
        (date(2025, 1, 2), "Annual support, 2025"),
        (date(2026, 1, 2), "Annual support, 2026"),
    ]


def test_the_end_date_and_ending_a_schedule_stop_it(world: World) -> None:
    eng = a_fee_retainer(world)
    a_schedule(world, eng, end_date=date(2025, 2, 28))
    other = a_schedule(world, eng, amount="500.00", line_template="Hosting, {month} {year}")
    assert len(run(world, date(2025, 1, 31)).created) == 2
    retainers.end_schedule(world.ctx, organization_id=world.org_id, schedule_id=other)
    created = run(world, date(2025, 6, 30)).created
    assert texts(created) == ["Monthly retainer, February 2025"]


def test_recipient_amendments_carry_to_the_next_periods_invoice(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = a_fee_retainer(world)
    a_schedule(world, eng)
    [january] = run(world, date(2025, 1, 31)).created
    january = invoicing.send_invoice(ctx, organization_id=org, invoice_id=january.id)
    assert january.current.purchase_order is None
    recipient.amend_invoice(
        ctx,
        organization_id=org,
        invoice_id=january.id,
        by="Alex AP",
        purchase_order_number="4500012345",
        billing_entity=parties.EntityInput(
            legal_name="Acme Retail Holding GmbH",
            line1="Unter den Linden 5",
            city="Berlin",
            postal_code="10117",
            country_code="DE",
            tax_id="DE136695976",
        ),
        cost_centre="MKT-200",
    )
    [february] = run(world, date(2025, 2, 28)).created
    assert february.current.purchase_order is not None
    assert february.current.purchase_order.number == "4500012345"
    february = invoicing.send_invoice(ctx, organization_id=org, invoice_id=february.id)
    buyer = february.current.buyer
    assert buyer is not None
    assert (buyer.name, buyer.cost_centre) == ("Acme Retail Holding GmbH", "MKT-200")
    assert buyer.address.line1 == "Unter den Linden 5"


def test_a_po_expiring_at_year_end_warns_on_januarys_retainer(world: World) -> None:
    eng = a_fee_retainer(world)
    a_po(world.app, world.org_id, eng, "PO-2025", valid_to=date(2025, 12, 31))
    a_schedule(world, eng, start_date=date(2025, 12, 1))
    assert warnings_by_line(world, date(2026, 1, 31)) == {
        "Monthly retainer, December 2025": [],
        "Monthly retainer, January 2026": ["po.expired"],
    }


def test_a_po_expiring_inside_a_quarter_warns(world: World) -> None:
    eng = a_fee_retainer(world)
    a_po(world.app, world.org_id, eng, "PO-H2", valid_to=date(2025, 11, 30))
    a_schedule(
        world,
        eng,
        start_date=date(2025, 10, 1),
        frequency="quarterly",
        line_template="Quarterly retainer, {quarter} {year}",
    )
    assert warnings_by_line(world, date(2025, 10, 31)) == {
        "Quarterly retainer, Q4 2025": ["po.expires_in_period"]
    }


def test_a_po_ceiling_warns_on_the_period_that_exceeds_it(world: World) -> None:
    eng = a_fee_retainer(world)
    a_po(world.app, world.org_id, eng, "PO-CAP", ceiling="25000.00")
    a_schedule(world, eng)
    assert warnings_by_line(world, date(2025, 3, 31)) == {
        "Monthly retainer, January 2025": [],
        "Monthly retainer, February 2025": [],
        "Monthly retainer, March 2025": ["po.ceiling_exceeded"],
    }


def test_auto_send_engagements_get_their_retainer_sent_by_the_run(world: World) -> None:
    eng = a_fee_retainer(world, auto_send=True)
    a_schedule(world, eng)
    result = run(world, date(2025, 2, 28))
    assert [i.number for i in result.sent] == ["INV-2025-0001", "INV-2025-0002"]
    assert {i.state for i in result.sent} == {InvoiceState.SENT}
    assert result.held == []


def test_auto_send_holds_a_retainer_with_a_blocking_po_warning(world: World) -> None:
    eng = a_fee_retainer(world, auto_send=True)
    a_po(world.app, world.org_id, eng, "PO-2025", valid_to=date(2025, 12, 31))
    a_schedule(world, eng, start_date=date(2025, 12, 1))
    result = run(world, date(2026, 1, 31))
    assert [i.current.issue_date for i in result.sent] == [date(2025, 12, 1)]
    [(held_id, reason)] = result.held
    january = next(i for i in result.created if i.id == held_id)
    assert january.current.issue_date == date(2026, 1, 2)
    assert january.state is InvoiceState.DRAFT and january.number is None
    assert "PO-2025 expired" in reason


def test_schedules_belong_to_retainer_engagements(world: World) -> None:
    project = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Website rebuild",
        kind="fixed_price",
        currency="EUR",
    ).id
    with pytest.raises(RuleViolation) as err:
        a_schedule(world, project)
    assert err.value.code == "schedule.not_a_retainer"
