"""The five ways the money used not to add up, told through the use cases and the REST API.

1. A work invoice the advance settled, credited in full, then the advance refunded: the client
   is credited no more than it paid.
2. A draft dated in October draws on the advance; a run for September cannot spend it again.
3. Two lines of 12.50 at 21 %, credited line by line, add up to the invoice's 30.25.
4. A credit note line at a VAT rate the invoice never charged is refused, naming the rate.
5. A void invoice says void and owes nothing; an invoice the advance settled is never chased.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from engagebill.bootstrap import App
from engagebill.domain.errors import RuleViolation
from engagebill.domain.lifecycle import InvoiceState, PaymentStatus
from engagebill.domain.money import Money
from engagebill.entrypoints.http import create_app
from engagebill.services import (
    advances,
    billing_run,
    invoicing,
    line_credits,
    parties,
    queries,
    reports,
    retainers,
    settlement,
    work,
)
from engagebill.services.access import create_api_key
from engagebill.services.engagement_account import engagement_account
from tests.support import FixedClock, World, a_client, an_organization, line

API = "/api/v1"


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def advance_engagement(world: World) -> str:
    return parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Support retainer",
        kind="retainer",
        retainer_mode="advance",
        currency="EUR",
        net_days=14,
    ).id


def issued_advance(world: World, engagement_id: str, amount: str, day: date) -> str:
    world.clock.set(day)
    advance = retainers.create_advance(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        amount=amount,
        invoice_date=day,
    )
    draft = advances.invoice_advance(world.ctx, organization_id=world.org_id, advance_id=advance.id)
    return invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id).id


def sent(world: World, engagement_id: str, *lines: Any, draw: bool = False, day: date) -> str:
    world.clock.set(day)
    draft = invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        lines=list(lines),
        issue_date=day,
        advance_used=eur("1000000") if draw else None,
    ).invoice
    return invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id).id


def test_crediting_an_invoice_the_advance_settled_gives_it_back_to_the_advance(
    world: World,
) -> None:
    ctx, org = world.ctx, world.org_id
    eng = advance_engagement(world)
    advance = issued_advance(world, eng, "1000.00", date(2025, 3, 3))  # 1,210.00 gross
    settlement.record_payment(ctx, organization_id=org, invoice_id=advance, amount="1210.00")
    work_invoice = sent(
        world, eng, line("Support", price="300.00"), draw=True, day=date(2025, 3, 20)
    )
    assert (
        queries.get_invoice(ctx, organization_id=org, invoice_id=work_invoice)
        .invoice.totals()
        .due.is_zero()
    )

    note = settlement.issue_credit_note(
        ctx, organization_id=org, invoice_id=work_invoice, reason="Not delivered"
    )
    # The whole 363.00 goes back to the advance: nothing is owed to the client for it.
    assert (note.totals().gross, note.totals().prepaid, note.totals().due) == (
        eur("363.00"),
        eur("363.00"),
        eur("0.00"),
    )
    credited = queries.get_invoice(ctx, organization_id=org, invoice_id=work_invoice).invoice
    assert (credited.state, credited.payment_status, credited.outstanding) == (
        InvoiceState.VOID,
        PaymentStatus.VOID,
        eur("0.00"),
    )
    assert credited.position.credit_balance.is_zero()
    assert engagement_account(ctx, organization_id=org, engagement_id=eng).advance.available == eur(
        "1000.00"
    )

    [refund] = advances.refund_advance(ctx, organization_id=org, engagement_id=eng)
    assert refund.totals().gross == eur("1210.00")
    account = engagement_account(ctx, organization_id=org, engagement_id=eng)
    totals = account.totals
    # The client paid 1,210.00 and can claim back 1,210.00: not a cent more.
    assert (totals.paid, totals.credit_balance) == (eur("1210.00"), eur("1210.00"))
    assert account.advance.available.is_zero()
    with pytest.raises(RuleViolation) as again:
        advances.refund_advance(ctx, organization_id=org, engagement_id=eng)
    assert again.value.code == "advance.nothing_to_refund"


def test_a_later_dated_draft_keeps_its_draw_from_an_earlier_run(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = advance_engagement(world)
    issued_advance(world, eng, "1000.00", date(2025, 8, 1))
    october = invoicing.create_draft(
        ctx,
        organization_id=org,
        engagement_id=eng,
        lines=[line("October support", price="800.00")],
        issue_date=date(2025, 10, 1),
        advance_used=eur("800.00"),
    ).invoice
    assert october.current.advance_used == eur("800.00")
    world.clock.set(date(2025, 9, 30))
    item = work.record_work_item(
        ctx,
        organization_id=org,
        engagement_id=eng,
        work_date=date(2025, 9, 15),
        person="Robin",
        hours="4",
        rate="150",
        description="September support",
        requester="Dana",
    )
    work.approve_work_items(ctx, organization_id=org, work_item_ids=[item.id], approval_ref="mail")
    [september] = billing_run.execute_run(ctx, organization_id=org, as_of=date(2025, 9, 30)).created
    # 600.00 asked for, 200.00 left: it draws 200.00 and bills the rest.
    assert september.current.advance_used == eur("200.00")
    assert september.totals().due == eur("484.00")
    advance = engagement_account(ctx, organization_id=org, engagement_id=eng).advance
    assert (advance.reserved, advance.available) == (eur("1000.00"), eur("0.00"))


def test_line_by_line_credits_add_up_to_the_invoice_to_the_cent(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = advance_engagement(world)
    invoice_id = sent(
        world,
        eng,
        line("Banner A", price="12.50"),
        line("Banner B", price="12.50"),
        day=date(2025, 3, 3),
    )
    first = line_credits.credit_line(
        ctx, organization_id=org, invoice_id=invoice_id, position=1, reason="Not delivered"
    )
    second = line_credits.credit_line(
        ctx, organization_id=org, invoice_id=invoice_id, position=2, reason="Not delivered"
    )
    assert first.totals().gross + second.totals().gross == eur("30.25")
    assert (first.totals().vat, second.totals().vat) == (eur("2.63"), eur("2.62"))
    invoice = queries.get_invoice(ctx, organization_id=org, invoice_id=invoice_id).invoice
    assert (invoice.state, invoice.outstanding, invoice.payment_status) == (
        InvoiceState.VOID,
        eur("0.00"),
        PaymentStatus.VOID,
    )


def test_a_credit_note_may_only_use_the_invoices_vat_groups(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = advance_engagement(world)
    reverse_charged = sent(
        world, eng, line("Audit", price="500.00", rate="0", category="AE"), day=date(2025, 3, 3)
    )
    mixed = sent(
        world,
        eng,
        line("Design", price="100.00"),
        line("Print", price="100.00", rate="9"),
        day=date(2025, 3, 3),
    )
    with pytest.raises(RuleViolation) as standard:
        settlement.issue_credit_note(
            ctx,
            organization_id=org,
            invoice_id=reverse_charged,
            reason="x",
            lines=[line("Audit", price="10")],
        )
    assert standard.value.code == "credit_note.vat_not_invoiced"
    assert "S 21 %" in standard.value.message
    with pytest.raises(RuleViolation) as five:
        settlement.issue_credit_note(
            ctx,
            organization_id=org,
            invoice_id=mixed,
            reason="x",
            lines=[line("Print", price="10", rate="5")],
        )
    assert five.value.code == "credit_note.vat_not_invoiced"
    assert five.value.details["vat_rate"] == "5"
    assert queries.get_invoice(ctx, organization_id=org, invoice_id=mixed).credit_notes == []


def test_void_says_void_and_nothing_settled_is_chased(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    eng = advance_engagement(world)
    issued_advance(world, eng, "1000.00", date(2025, 3, 3))
    covered = sent(world, eng, line("Support", price="300.00"), draw=True, day=date(2025, 3, 4))
    voided = sent(world, eng, line("Extra", price="100.00"), day=date(2025, 3, 4))
    settlement.record_payment(ctx, organization_id=org, invoice_id=voided, amount="121.00")
    settlement.issue_credit_note(ctx, organization_id=org, invoice_id=voided, reason="Cancelled")
    void = queries.get_invoice(ctx, organization_id=org, invoice_id=voided).invoice
    assert (void.payment_status, void.outstanding, void.position.credit_balance) == (
        PaymentStatus.VOID,
        eur("0.00"),
        eur("121.00"),
    )
    chased = reports.chase_list(ctx, organization_id=org, as_of=date(2025, 6, 30))
    assert covered not in {item.standing.invoice.id for item in chased}
    aging = reports.receivables_aging(ctx, organization_id=org, as_of=date(2025, 6, 30))
    assert {line.standing.invoice.id for line in aging.lines}.isdisjoint({covered, voided})


# --- the same through the REST API -------------------------------------------------------------
@pytest.fixture
def http(app: App, clock: FixedClock) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    org = an_organization(app)
    client_id = a_client(app, org)
    key = create_api_key(app.ctx, organization_id=org, name="tests").secret
    with TestClient(create_app(app.ctx)) as client:
        yield client, {"Authorization": f"Bearer {key}"}, client_id


def test_the_five_cases_through_the_rest_api(
    http: tuple[TestClient, dict[str, str], str], app: App, clock: FixedClock
) -> None:
    client, headers, client_id = http

    def call(method: str, path: str, body: Any = None, status: int = 200) -> Any:
        if method == "POST" and body is None:
            body = {}
        response = client.request(method, API + path, json=body, headers=headers)
        assert response.status_code == status, response.text
        return response.json()

    eng = call(
        "POST",
        "/engagements",
        {
            "client_id": client_id,
            "name": "Support retainer",
            "kind": "retainer",
            "retainer_mode": "advance",
            "currency": "EUR",
        },
        201,
    )["id"]
    clock.set(date(2025, 3, 3))
    advance = call(
        "POST",
        "/advances",
        {"engagement_id": eng, "amount": "1000.00", "invoice_date": "2025-03-03"},
        201,
    )
    advance_invoice = call("POST", f"/advances/{advance['id']}/invoice", status=201)["id"]
    call("POST", f"/invoices/{advance_invoice}/send")
    call("POST", f"/invoices/{advance_invoice}/payments", {"amount": "1210.00"})

    # 1. The advance settles a work invoice; crediting it gives the draw back, not cash.
    work_invoice = call(
        "POST",
        "/invoices",
        {
            "engagement_id": eng,
            "lines": [
                {
                    "description": "Support",
                    "quantity": "1",
                    "unit_price": "300.00",
                    "vat_rate": "21",
                }
            ],
        },
        201,
    )["invoice"]["id"]
    call("POST", f"/invoices/{work_invoice}/advance/apply")
    call("POST", f"/invoices/{work_invoice}/send")
    note = call("POST", f"/invoices/{work_invoice}/credit-notes", {"reason": "Not delivered"}, 201)
    refunds = call("POST", f"/engagements/{eng}/advance/refunds", {}, 201)
    credited_cash = sum(
        Decimal(n["totals"]["gross"]["amount"])
        - Decimal(n.get("prepaid", {"amount": "0"})["amount"])
        for n in [note, *refunds]
    )
    assert credited_cash <= Decimal("1210.00")
    invoice = call("GET", f"/invoices/{work_invoice}")
    assert invoice["payment_status"] == "void"
    assert invoice["outstanding"]["amount"] == "0.00"
    balance = call("GET", f"/engagements/{eng}/advance-balance")
    assert balance["available"]["amount"] == "0.00"

    # 3. Line by line, to the cent; 4. a rate never charged is refused with a 422 problem.
    two_lines = call(
        "POST",
        "/invoices",
        {
            "engagement_id": eng,
            "lines": [
                {
                    "description": "Banner A",
                    "quantity": "1",
                    "unit_price": "12.50",
                    "vat_rate": "21",
                },
                {
                    "description": "Banner B",
                    "quantity": "1",
                    "unit_price": "12.50",
                    "vat_rate": "21",
                },
            ],
        },
        201,
    )["invoice"]["id"]
    call("POST", f"/invoices/{two_lines}/send")
    refused = client.post(
        f"{API}/invoices/{two_lines}/credit-notes",
        json={
            "reason": "x",
            "lines": [{"description": "A", "quantity": "1", "unit_price": "1.00", "vat_rate": "5"}],
        },
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "credit_note.vat_not_invoiced"
    assert "5 %" in refused.json()["detail"]
    gross = Decimal(0)
    for description in ("Banner A", "Banner B"):
        gross += Decimal(
            call(
                "POST",
                f"/invoices/{two_lines}/credit-notes",
                {
                    "reason": "Not delivered",
                    "lines": [
                        {
                            "description": description,
                            "quantity": "1",
                            "unit_price": "12.50",
                            "vat_rate": "21",
                        }
                    ],
                },
                201,
            )["totals"]["gross"]["amount"]
        )
    assert gross == Decimal("30.25")
    assert call("GET", f"/invoices/{two_lines}")["payment_status"] == "void"

    # 5. An invoice the advance settled is never chased; an unpaid advance invoice is.
    top_up = call(
        "POST",
        "/advances",
        {"engagement_id": eng, "amount": "500.00", "invoice_date": "2025-03-03"},
        201,
    )
    unpaid = call("POST", f"/advances/{top_up['id']}/invoice", status=201)["id"]
    call("POST", f"/invoices/{unpaid}/send")
    covered = call(
        "POST",
        "/invoices",
        {
            "engagement_id": eng,
            "lines": [
                {
                    "description": "Support",
                    "quantity": "1",
                    "unit_price": "100.00",
                    "vat_rate": "21",
                }
            ],
        },
        201,
    )["invoice"]["id"]
    call("POST", f"/invoices/{covered}/advance/apply")
    call("POST", f"/invoices/{covered}/send")
    assert call("GET", f"/invoices/{covered}")["outstanding"]["amount"] == "0.00"
    chase = call("GET", "/reports/chase-list?as_of=2025-06-30")["items"]
    chased = {item["invoice"]["invoice_id"] for item in chase}
    assert unpaid in chased
    assert covered not in chased
    assert all(Decimal(item["invoice"]["outstanding"]["amount"]) > 0 for item in chase)
