"""Seed 003, told end to end on both databases: advances and retainers on an engagement.

A one-off advance is invoiced only on its invoice date; once the advance invoice is issued its
amount is available; approved time is invoiced with the advance applied (gross, prepaid, due);
the draw-down can be discarded on an invoice (billed normally); the unused balance is refunded
by a credit note against the advance invoice; the ledger shows the state as of any date. An
advance-mode schedule (a managed-service agreement) tops the balance up every month.
"""

from __future__ import annotations

from datetime import date

import pytest

from engagebill.domain.engagement_account import AdvanceFigures as AdvanceBalance
from engagebill.domain.errors import Conflict, InvalidTransition, RuleViolation
from engagebill.domain.invoices import Invoice, InvoiceKind
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.services import (
    advances,
    billing_run,
    invoicing,
    parties,
    queries,
    recipient,
    retainers,
    settlement,
    work,
)
from engagebill.services.advances import Actual
from tests.support import World, line


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def an_advance_retainer(world: World, name: str = "Support retainer") -> str:
    return parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name=name,
        kind="retainer",
        retainer_mode="advance",
        currency="EUR",
        net_days=14,
    ).id


def approved_work(
    world: World, engagement_id: str, day: date, hours: str, description: str, rate: str = "150"
) -> str:
    item = work.record_work_item(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        work_date=day,
        person="Robin",
        hours=hours,
        rate=rate,
        description=description,
        requester="Dana (Acme)",
    )
    work.approve_work_items(
        world.ctx,
        organization_id=world.org_id,
        work_item_ids=[item.id],
        approval_ref=f"https://mail.example/acme/{item.id}",
    )
    return item.id


def an_issued_advance(world: World, engagement_id: str, amount: str, day: date) -> Invoice:
    advance = retainers.create_advance(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        amount=amount,
        invoice_date=day,
    )
    draft = advances.invoice_advance(
        world.ctx, organization_id=world.org_id, advance_id=advance.id, as_of=day
    )
    return send(world, draft)


def send(world: World, invoice: Invoice) -> Invoice:
    return invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice.id)


def run(world: World, day: date) -> list[Invoice]:
    world.clock.set(day)
    return billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=day).created


def balance(world: World, engagement_id: str, as_of: date | None = None) -> AdvanceBalance:
    return retainers.advance_balance(
        world.ctx, organization_id=world.org_id, engagement_id=engagement_id, as_of=as_of
    )


def amounts(b: AdvanceBalance) -> tuple[str, str, str]:
    return b.invoiced.decimal_string(), b.used.decimal_string(), b.available.decimal_string()


def event_kinds(world: World, invoice_id: str) -> list[str]:
    detail = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)
    return [e.kind for e in detail.events]


def test_the_seed_story_from_advance_to_refund(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = an_advance_retainer(world)
    world.clock.set(date(2025, 9, 1))
    advance = retainers.create_advance(
        ctx,
        organization_id=org,
        engagement_id=eng,
        amount="10000.00",
        invoice_date=date(2025, 9, 12),
        description="Advance for support, autumn 2025",
    )

    # Retainer invoices are invoiced only on their set invoice date.
    with pytest.raises(RuleViolation) as early:
        advances.invoice_advance(
            ctx, organization_id=org, advance_id=advance.id, as_of=date(2025, 9, 10)
        )
    assert early.value.code == "advance.not_ready"
    world.clock.set(date(2025, 9, 12))
    advance_invoice = advances.invoice_advance(ctx, organization_id=org, advance_id=advance.id)
    assert advance_invoice.kind is InvoiceKind.ADVANCE
    assert advance_invoice.current.issue_date == date(2025, 9, 12)
    assert advance_invoice.current.due_date == date(2025, 9, 26)
    assert advance_invoice.current.lines[0].description == "Advance for support, autumn 2025"
    with pytest.raises(Conflict) as twice:
        advances.invoice_advance(ctx, organization_id=org, advance_id=advance.id)
    assert twice.value.code == "advance.already_invoiced"
    assert run(world, date(2025, 9, 12)) == []  # the run does not invoice it again
    # A draft tops nothing up: the advance is available once the invoice is confirmed.
    assert amounts(balance(world, eng)) == ("0.00", "0.00", "0.00")
    advance_invoice = send(world, advance_invoice)
    assert advance_invoice.totals().gross == eur("12100.00")
    assert amounts(balance(world, eng)) == ("10000.00", "0.00", "10000.00")

    # Approved time is invoiced with the advance applied: the invoice shows gross, prepaid, due.
    approved_work(world, eng, date(2025, 9, 15), "12", "Support: checkout incident")
    approved_work(world, eng, date(2025, 9, 19), "18", "Support: release 4.2")
    [september] = run(world, date(2025, 9, 30))
    totals = september.totals()
    assert (totals.net, totals.gross, totals.prepaid, totals.due) == (
        eur("4500.00"),
        eur("5445.00"),
        eur("5445.00"),
        eur("0.00"),
    )
    assert september.current.advance_used == eur("4500.00")
    september = send(world, september)
    assert amounts(balance(world, eng)) == ("10000.00", "4500.00", "5500.00")

    # On the next batch the draw-down is discarded: used 0, billed normally, due = gross.
    approved_work(world, eng, date(2025, 10, 8), "20", "Support: data migration")
    [october] = run(world, date(2025, 10, 31))
    assert october.current.advance_used == eur("3000.00")
    assert amounts(balance(world, eng)) == ("10000.00", "7500.00", "2500.00")  # drafts reserve
    october = advances.discard_advance(ctx, organization_id=org, invoice_id=october.id)
    assert october.current.advance_used is None
    totals = october.totals()
    assert (totals.gross, totals.prepaid, totals.due) == (
        eur("3630.00"),
        eur("0.00"),
        eur("3630.00"),
    )
    assert "invoice.advance_discarded" in event_kinds(world, october.id)
    october = send(world, october)
    assert october.outstanding == eur("3630.00")
    assert amounts(balance(world, eng)) == ("10000.00", "4500.00", "5500.00")

    # The unused remainder is refunded by a credit note against the advance invoice.
    world.clock.set(date(2025, 11, 5))
    [refund] = advances.refund_advance(ctx, organization_id=org, engagement_id=eng)
    assert (refund.invoice_id, refund.invoice_number) == (
        advance_invoice.id,
        advance_invoice.number,
    )
    assert refund.reason == "Refund of unused advance"
    assert [(ln.vat_category.value, ln.vat_rate, ln.net) for ln in refund.lines] == [
        ("S", advance_invoice.current.lines[0].vat_rate, eur("5500.00"))
    ]
    assert refund.totals().gross == eur("6655.00")
    after = balance(world, eng)
    assert after.refunded == eur("5500.00")
    assert after.available.decimal_string() == "0.00"
    with pytest.raises(RuleViolation) as nothing:
        advances.refund_advance(ctx, organization_id=org, engagement_id=eng)
    assert nothing.value.code == "advance.nothing_to_refund"

    # The ledger as of a date in the middle shows the state on that date.
    before_run = advances.advance_ledger(
        ctx, organization_id=org, engagement_id=eng, as_of=date(2025, 9, 25)
    )
    assert amounts(before_run.balance) == ("10000.00", "0.00", "10000.00")
    assert before_run.total(Actual.UNBILLED) == eur("4500.00")
    assert before_run.total(Actual.BILLED).is_zero()
    first_entry = before_run.entries[0]
    assert (first_entry.actual, first_entry.reference) == (Actual.INVOICED, advance_invoice.number)
    mid_october = advances.advance_ledger(
        ctx, organization_id=org, engagement_id=eng, as_of=date(2025, 10, 15)
    )
    assert amounts(mid_october.balance) == ("10000.00", "4500.00", "5500.00")
    [used] = [e for e in mid_october.entries if e.actual is Actual.USED]
    assert (used.reference, used.on, used.amount) == (
        september.number,
        date(2025, 9, 30),
        eur("4500.00"),
    )
    assert mid_october.total(Actual.BILLED) == eur("4500.00")
    assert mid_october.total(Actual.UNBILLED) == eur("3000.00")
    assert mid_october.total(Actual.REFUNDED).is_zero()
    final = advances.advance_ledger(
        ctx, organization_id=org, engagement_id=eng, as_of=date(2025, 11, 30)
    )
    assert final.total(Actual.BILLED) == eur("7500.00")
    assert final.total(Actual.USED) == eur("4500.00")
    assert [(e.reference, e.amount) for e in final.entries if e.actual is Actual.REFUNDED] == [
        (refund.number, eur("5500.00"))
    ]
    assert final.balance.available.is_zero()


def test_partly_covered_invoice_shows_gross_prepaid_and_due(world: World) -> None:
    eng = an_advance_retainer(world)
    an_issued_advance(world, eng, "1000.00", date(2025, 3, 3))
    approved_work(world, eng, date(2025, 3, 10), "10", "Support: SEO audit")
    [invoice] = run(world, date(2025, 3, 31))
    totals = invoice.totals()
    # 1000.00 of 1500.00 net is prepaid: its tax-inclusive share, 1000 x 1815 / 1500.
    assert (totals.gross, totals.prepaid, totals.due) == (
        eur("1815.00"),
        eur("1210.00"),
        eur("605.00"),
    )
    assert invoice.current.advance_used == eur("1000.00")
    assert balance(world, eng).available.is_zero()


def test_an_edited_draft_never_draws_more_than_its_net(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = an_advance_retainer(world)
    an_issued_advance(world, eng, "1000.00", date(2025, 3, 3))
    approved_work(world, eng, date(2025, 3, 10), "5", "Support: hosting move")
    [draft] = run(world, date(2025, 3, 31))
    assert draft.current.advance_used == eur("750.00")

    shorter = invoicing.edit_draft(
        ctx, organization_id=org, invoice_id=draft.id, lines=[line("Hosting move", price="400.00")]
    ).invoice
    assert shorter.current.advance_used == eur("400.00")
    assert shorter.totals().due.is_zero()
    assert balance(world, eng).available == eur("600.00")

    longer = invoicing.edit_draft(
        ctx, organization_id=org, invoice_id=draft.id, lines=[line("Hosting move", price="2000")]
    ).invoice
    assert longer.current.advance_used == eur("1000.00")  # all there is, no more
    assert longer.totals().due == eur("1210.00")

    discarded = advances.discard_advance(ctx, organization_id=org, invoice_id=draft.id)
    kept = invoicing.edit_draft(
        ctx, organization_id=org, invoice_id=draft.id, lines=[line("Hosting move", price="300")]
    ).invoice
    assert discarded.current.advance_used is None
    assert kept.current.advance_used is None  # a discard stays discarded
    reapplied = advances.apply_advance(ctx, organization_id=org, invoice_id=draft.id)
    assert reapplied.current.advance_used == eur("300.00")
    assert "invoice.advance_applied" in event_kinds(world, draft.id)


def test_a_revision_draws_for_its_new_lines(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = an_advance_retainer(world)
    an_issued_advance(world, eng, "5000.00", date(2025, 3, 3))
    approved_work(world, eng, date(2025, 3, 10), "20", "Support: checkout redesign")
    [invoice] = run(world, date(2025, 3, 31))
    invoice = send(world, invoice)
    assert balance(world, eng).used == eur("3000.00")
    recipient.request_change(
        ctx, organization_id=org, invoice_id=invoice.id, message="12 hours, not 20", by="Dana"
    )
    revised = invoicing.revise_invoice(
        ctx,
        organization_id=org,
        invoice_id=invoice.id,
        lines=[line("Support: checkout redesign", quantity="12", price="150.00")],
    )
    assert (revised.number, revised.version) == (invoice.number, 2)
    assert revised.current.advance_used == eur("1800.00")
    assert revised.versions[0].advance_used == eur("3000.00")  # version 1 is unchanged
    assert amounts(balance(world, eng)) == ("5000.00", "1800.00", "3200.00")


def test_discard_is_only_for_drafts_that_draw_on_an_advance(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = an_advance_retainer(world)
    with pytest.raises(RuleViolation) as empty:
        advances.refund_advance(ctx, organization_id=org, engagement_id=eng)
    assert empty.value.code == "advance.nothing_to_refund"
    an_issued_advance(world, eng, "1000.00", date(2025, 3, 3))
    approved_work(world, eng, date(2025, 3, 10), "2", "Support: DNS")
    [invoice] = run(world, date(2025, 3, 31))
    plain = invoicing.create_draft(
        ctx, organization_id=org, engagement_id=eng, lines=[line("Extra", price="10")]
    ).invoice
    with pytest.raises(RuleViolation) as not_applied:
        advances.discard_advance(ctx, organization_id=org, invoice_id=plain.id)
    assert not_applied.value.code == "advance.not_applied"
    top_up = retainers.create_advance(
        ctx, organization_id=org, engagement_id=eng, amount="500", invoice_date=date(2025, 3, 31)
    )
    top_up_draft = advances.invoice_advance(ctx, organization_id=org, advance_id=top_up.id)
    with pytest.raises(RuleViolation) as on_advance:
        advances.apply_advance(ctx, organization_id=org, invoice_id=top_up_draft.id)
    assert on_advance.value.code == "advance.not_applicable"
    send(world, invoice)
    with pytest.raises(InvalidTransition) as sent:
        advances.discard_advance(ctx, organization_id=org, invoice_id=invoice.id)
    assert sent.value.code == "invoice.not_editable"


def test_refund_credits_the_newest_advance_invoice_first_within_each_invoice(
    world: World,
) -> None:
    ctx, org = world.ctx, world.org_id
    eng = an_advance_retainer(world)
    older = an_issued_advance(world, eng, "3000.00", date(2025, 9, 1))
    newer = an_issued_advance(world, eng, "2000.00", date(2025, 9, 15))
    world.clock.set(date(2025, 9, 20))
    settlement.issue_credit_note(
        ctx,
        organization_id=org,
        invoice_id=newer.id,
        reason="Scope reduced",
        lines=[line("Scope reduced", price="500.00")],
    )
    approved_work(world, eng, date(2025, 9, 22), "6", "Support: newsletter")
    send(world, run(world, date(2025, 9, 30))[0])
    assert amounts(balance(world, eng)) == ("5000.00", "900.00", "3600.00")

    world.clock.set(date(2025, 10, 1))
    first, second = advances.refund_advance(ctx, organization_id=org, engagement_id=eng)
    # The newer invoice has 1500.00 not yet credited; the rest comes from the older one.
    assert (first.invoice_id, first.totals().net) == (newer.id, eur("1500.00"))
    assert (second.invoice_id, second.totals().net) == (older.id, eur("2100.00"))
    assert balance(world, eng).available.is_zero()
    states = {
        i.id: queries.get_invoice(ctx, organization_id=org, invoice_id=i.id).invoice.state
        for i in (older, newer)
    }
    assert states == {newer.id: InvoiceState.VOID, older.id: InvoiceState.SENT}


def test_a_managed_service_agreement_tops_up_monthly(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = an_advance_retainer(world, "Managed services")
    retainers.create_schedule(
        ctx,
        organization_id=org,
        engagement_id=eng,
        amount="5000.00",
        start_date=date(2025, 1, 1),
        line_template="Managed services, {month} {year}",
    )
    created = run(world, date(2025, 3, 31))
    assert [(i.kind, i.current.issue_date) for i in created] == [
        (InvoiceKind.ADVANCE, date(2025, 1, 2)),  # 1 January is a public holiday in NL
        (InvoiceKind.ADVANCE, date(2025, 2, 3)),
        (InvoiceKind.ADVANCE, date(2025, 3, 3)),
    ]
    assert created[2].current.lines[0].description == "Managed services, March 2025"
    assert run(world, date(2025, 3, 31)) == []
    for invoice in created:
        send(world, invoice)
    assert amounts(balance(world, eng)) == ("15000.00", "0.00", "15000.00")

    # April's top-up is a draft when April's work is planned, so it is not drawn yet.
    approved_work(world, eng, date(2025, 3, 20), "40", "Monitoring and patching")
    april = run(world, date(2025, 4, 30))
    assert sorted((i.kind.value, str(i.current.advance_used)) for i in april) == [
        ("advance", "None"),
        ("standard", "6000.00 EUR"),
    ]
    assert amounts(balance(world, eng)) == ("15000.00", "6000.00", "9000.00")
