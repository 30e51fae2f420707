"""Credit notes whose VAT and prepaid amount the engagement account decided are valid EN 16931
documents: the note that completes a VAT group carries that group's remaining tax, and a note
that gives an advance's draw back states it as its prepaid amount (BT-113), leaving only the
cash part payable (BT-115). Both syntaxes pass the official CEN schematron."""

from __future__ import annotations

from datetime import date

from engagebill.domain.money import Money
from engagebill.services import invoicing, line_credits, settlement
from tests.integration.test_einvoice import (
    CII_TOTALS,
    export_credit_note,
    send,
)
from tests.scenarios.test_engagement_account_cases import advance_engagement, issued_advance
from tests.support import World, an_engagement, line


def test_the_completing_line_credit_takes_the_groups_remaining_tax(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    world.clock.set(date(2025, 3, 3))
    invoice = send(
        world,
        invoicing.create_draft(
            world.ctx,
            organization_id=world.org_id,
            engagement_id=eng,
            lines=[line("Banner A", price="12.50"), line("Banner B", price="12.50")],
        ).invoice,
    )
    first = line_credits.credit_line(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id, position=1, reason="x"
    )
    second = line_credits.credit_line(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id, position=2, reason="x"
    )

    assert export_credit_note(world, first, "line credit").ubl(
        "//cac:LegalMonetaryTotal/cbc:PayableAmount"
    ) == ["15.13"]
    completing = export_credit_note(world, second, "completing line credit")
    assert completing.ubl("/*/cac:TaxTotal/cbc:TaxAmount") == ["2.62"]
    assert completing.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["15.12"]
    assert completing.cii(f"{CII_TOTALS}/ram:TaxTotalAmount") == ["2.62"]


def test_a_credit_of_what_the_advance_settled_is_prepaid_not_payable(world: World) -> None:
    eng = advance_engagement(world)
    issued_advance(world, eng, "1000.00", date(2025, 3, 3))
    world.clock.set(date(2025, 3, 10))
    invoice = send(
        world,
        invoicing.create_draft(
            world.ctx,
            organization_id=world.org_id,
            engagement_id=eng,
            lines=[line("Support", price="300.00")],
            advance_used=Money.of("300.00", "EUR"),
        ).invoice,
    )
    note = settlement.issue_credit_note(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id, reason="Not delivered"
    )

    doc = export_credit_note(world, note, "credit of an advance draw")
    money = "//cac:LegalMonetaryTotal"
    assert doc.ubl(f"{money}/cbc:TaxInclusiveAmount") == ["363.00"]
    assert doc.ubl(f"{money}/cbc:PrepaidAmount") == ["363.00"]
    assert doc.ubl(f"{money}/cbc:PayableAmount") == ["0.00"]
    assert doc.cii(f"{CII_TOTALS}/ram:TotalPrepaidAmount") == ["363.00"]
    assert doc.cii(f"{CII_TOTALS}/ram:DuePayableAmount") == ["0.00"]
