"""An invoice's life on both databases: draft, send, view, change, revise, amend, approve, pay."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from engagebill.domain.errors import (
    ConcurrencyConflict,
    InvalidTransition,
    NotFound,
    RuleViolation,
    ValidationError,
)
from engagebill.domain.lifecycle import InvoiceState, PaymentStatus
from engagebill.domain.purchase_orders import PurchaseOrder
from engagebill.services import invoicing, queries, recipient, settlement
from engagebill.services.parties import EntityInput
from tests.support import World, a_po, an_engagement, line


def _draft(world: World, engagement_id: str, *lines):  # type: ignore[no-untyped-def]
    return invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        lines=list(lines) or [line()],
    ).invoice


def test_draft_has_no_number_and_send_takes_one(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    draft = _draft(world, eng)
    assert draft.number is None and draft.state is InvoiceState.DRAFT
    sent = invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id)
    assert sent.number == "INV-2025-0001"
    assert sent.state is InvoiceState.SENT
    assert sent.current.frozen and sent.current.buyer is not None
    assert sent.current.buyer.name == "Acme Retail GmbH"
    totals = sent.totals()
    assert totals.net.amount == Decimal("10000.00")
    assert totals.vat.amount == Decimal("2100.00")
    assert totals.gross.amount == Decimal("12100.00")


def test_full_lifecycle_keeps_number_across_versions(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id, kind="fixed_price")
    po = a_po(world.app, world.org_id, eng, "PO-WEB-7")
    inv = _draft(
        world, eng, line("Website rebuild, Milestone 2: design system sign-off", price="20000.00")
    )
    assert inv.current.purchase_order is not None and inv.current.purchase_order.id == po
    ctx, org = world.ctx, world.org_id
    inv = invoicing.send_invoice(ctx, organization_id=org, invoice_id=inv.id)
    number = inv.number
    inv = recipient.record_view(ctx, organization_id=org, invoice_id=inv.id)
    assert inv.state is InvoiceState.VIEWED
    inv = recipient.request_change(
        ctx,
        organization_id=org,
        invoice_id=inv.id,
        message="Split the milestone into two lines",
        by="Dana",
    )
    assert inv.state is InvoiceState.CHANGE_REQUESTED
    inv = invoicing.revise_invoice(
        ctx,
        organization_id=org,
        invoice_id=inv.id,
        lines=[
            line("Milestone 2a: components", price="12000.00"),
            line("Milestone 2b: documentation", price="8000.00"),
        ],
    )
    assert (inv.number, inv.version, inv.state) == (number, 2, InvoiceState.SENT)
    inv = recipient.amend_invoice(
        ctx,
        organization_id=org,
        invoice_id=inv.id,
        by="Dana",
        cost_centre="WEB-42",
        purchase_order_number="PO-WEB-8",
    )
    assert (inv.number, inv.version) == (number, 2)
    assert inv.effective_purchase_order().number == "PO-WEB-8"  # type: ignore[union-attr]
    assert inv.effective_buyer().cost_centre == "WEB-42"  # type: ignore[union-attr]
    inv = recipient.approve_invoice(ctx, organization_id=org, invoice_id=inv.id, name="Dana Scully")
    assert inv.state is InvoiceState.APPROVED and inv.approved_by == "Dana Scully"
    inv = settlement.record_payment(
        ctx, organization_id=org, invoice_id=inv.id, amount="10000.00", received_on=date(2025, 4, 2)
    )
    assert inv.state is InvoiceState.LOCKED
    assert inv.payment_status is PaymentStatus.PARTIALLY_PAID
    inv = settlement.record_payment(ctx, organization_id=org, invoice_id=inv.id, amount="14200.00")
    assert inv.payment_status is PaymentStatus.PAID
    assert inv.outstanding.is_zero()
    detail = queries.get_invoice(ctx, organization_id=org, invoice_id=inv.id)
    kinds = [e.kind for e in detail.events if e.kind.startswith("invoice.")]
    assert kinds[:3] == ["invoice.created", "invoice.sent", "invoice.viewed"]
    assert "invoice.paid" in kinds
    # Version 1 is still readable and unchanged.
    v1 = detail.invoice.versions[0]
    assert [ln.description for ln in v1.lines] == [
        "Website rebuild, Milestone 2: design system sign-off"
    ]
    assert v1.content_hash == v1.compute_hash()


def test_amendments_become_the_engagements_defaults(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    inv = _draft(world, eng)
    inv = invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=inv.id)
    recipient.amend_invoice(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=inv.id,
        by="AP",
        purchase_order_number="4500012345",
        billing_entity=EntityInput(
            legal_name="Acme Retail Holding GmbH",
            line1="Unter den Linden 5",
            city="Berlin",
            postal_code="10117",
            country_code="DE",
            tax_id="DE136695976",
            cost_centre="FIN-7",
        ),
    )
    nxt = _draft(world, eng, line("Monthly retainer, April 2025"))
    nxt = invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=nxt.id)
    assert nxt.current.purchase_order.number == "4500012345"  # type: ignore[union-attr]
    assert nxt.current.buyer.name == "Acme Retail Holding GmbH"  # type: ignore[union-attr]
    assert nxt.current.buyer.cost_centre == "FIN-7"  # type: ignore[union-attr]


def test_editing_a_sent_invoice_is_refused(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    inv = _draft(world, eng)
    invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=inv.id)
    with pytest.raises(InvalidTransition) as err:
        invoicing.edit_draft(
            world.ctx, organization_id=world.org_id, invoice_id=inv.id, lines=[line(price="1.00")]
        )
    assert err.value.code == "invoice.not_editable"


def test_database_refuses_changes_to_a_sent_version(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    inv = _draft(world, eng)
    invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=inv.id)
    for statement in (
        "UPDATE invoice_lines SET unit_price_minor = 1 WHERE invoice_id = :i",
        "DELETE FROM invoice_lines WHERE invoice_id = :i",
        "UPDATE invoice_versions SET net_minor = 1 WHERE invoice_id = :i",
    ):
        with pytest.raises(Exception, match="immutable"), world.app.engine.begin() as conn:
            conn.execute(text(statement), {"i": inv.id})


def test_po_of_another_engagement_is_refused(world: World) -> None:
    retainer = an_engagement(world.app, world.org_id, world.client_id)
    project = an_engagement(world.app, world.org_id, world.client_id, kind="fixed_price")
    project_po = a_po(world.app, world.org_id, project, "PO-PROJECT")
    with pytest.raises(RuleViolation) as err:
        invoicing.create_draft(
            world.ctx,
            organization_id=world.org_id,
            engagement_id=retainer,
            lines=[line()],
            purchase_order_id=project_po,
        )
    assert err.value.code == "invoice.po_wrong_engagement"


def test_expired_po_warns_on_draft_and_refuses_send_without_override(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    a_po(world.app, world.org_id, eng, "PO-2024", valid_to=date(2024, 12, 31), ceiling="50000")
    result = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=eng, lines=[line()]
    )
    assert [w.code for w in result.warnings] == ["po.expired"]
    with pytest.raises(RuleViolation) as err:
        invoicing.send_invoice(
            world.ctx, organization_id=world.org_id, invoice_id=result.invoice.id
        )
    assert err.value.code == "po.expired"
    sent = invoicing.send_invoice(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=result.invoice.id,
        override_reason="Client confirmed the 2025 PO is on its way",
    )
    assert sent.number == "INV-2025-0001"  # the refused send left no gap
    detail = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=sent.id)
    sent_event = next(e for e in detail.events if e.kind == "invoice.sent")
    assert sent_event.data["override_reason"].startswith("Client confirmed")
    assert sent_event.data["overridden"] == ["po.expired"]


def test_ceiling_counts_issued_invoices(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    a_po(world.app, world.org_id, eng, "PO-CAP", ceiling="15000.00")
    first = _draft(world, eng)
    invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=first.id)
    second = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=eng, lines=[line()]
    )
    assert [w.code for w in second.warnings] == ["po.ceiling_exceeded"]


def test_credit_in_full_voids_and_uses_its_own_series(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    inv = _draft(world, eng, line(price="1000.00"), line("Hosting", price="99.99", rate="9"))
    inv = invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=inv.id)
    part = settlement.issue_credit_note(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=inv.id,
        reason="Discount agreed",
        lines=[line("Discount", price="100.00")],
    )
    assert part.number == "CN-2025-0001" and part.invoice_number == inv.number
    rest = settlement.issue_credit_note(
        world.ctx, organization_id=world.org_id, invoice_id=inv.id, reason="Cancelled"
    )
    assert rest.number == "CN-2025-0002"
    assert sum(ln.net.amount for ln in rest.lines) == Decimal("999.99")
    detail = queries.get_invoice(world.ctx, organization_id=world.org_id, invoice_id=inv.id)
    assert detail.invoice.state is InvoiceState.VOID
    with pytest.raises(InvalidTransition):
        settlement.issue_credit_note(
            world.ctx, organization_id=world.org_id, invoice_id=inv.id, reason="again"
        )


def test_credit_beyond_the_invoice_is_refused(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    inv = _draft(world, eng, line(price="100.00"))
    invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=inv.id)
    with pytest.raises(RuleViolation) as err:
        settlement.issue_credit_note(
            world.ctx,
            organization_id=world.org_id,
            invoice_id=inv.id,
            reason="x",
            lines=[line("Too much", price="100.01")],
        )
    assert err.value.code == "credit_note.exceeds_invoice"


def test_another_organization_cannot_see_an_invoice(world: World) -> None:
    from tests.support import an_organization

    eng = an_engagement(world.app, world.org_id, world.client_id)
    inv = _draft(world, eng)
    other = an_organization(world.app, name="Other Agency")
    with pytest.raises(NotFound):
        queries.get_invoice(world.ctx, organization_id=other, invoice_id=inv.id)
    with pytest.raises(NotFound):
        invoicing.send_invoice(world.ctx, organization_id=other, invoice_id=inv.id)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("description", "Retainer\x00, March", "validation.control_characters"),
        ("person", "P" * 201, "validation.too_long"),
        ("requester", "R" * 201, "validation.too_long"),
        ("approval_ref", "https://mail.example/" + "m" * 480, "validation.too_long"),
        ("source_ref", "s" * 201, "validation.too_long"),
        ("person", "Sam\x00", "validation.control_characters"),
    ],
)
def test_line_text_no_column_can_hold_is_refused_before_anything_is_written(
    world: World, field: str, value: str, code: str
) -> None:
    """PostgreSQL refuses NUL and text wider than the column with a DataError; the use case
    refuses it first, with a domain error, whatever interface the line came through."""
    eng = an_engagement(world.app, world.org_id, world.client_id)
    with pytest.raises(ValidationError) as refused:
        _draft(world, eng, line(**{field: value}))
    assert refused.value.code == code
    assert queries.list_invoices(world.ctx, organization_id=world.org_id) == []


def test_notes_with_a_nul_character_are_refused(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    with pytest.raises(ValidationError) as refused:
        invoicing.create_draft(
            world.ctx,
            organization_id=world.org_id,
            engagement_id=eng,
            lines=[line()],
            notes="Thanks\x00",
        )
    assert refused.value.code == "validation.control_characters"


def test_an_issue_date_that_leaves_no_room_for_the_due_date_is_refused(world: World) -> None:
    """9999-12-31 is a valid ISO date; Net 30 after it is not a date at all."""
    eng = an_engagement(world.app, world.org_id, world.client_id)
    with pytest.raises(ValidationError) as refused:
        invoicing.create_draft(
            world.ctx,
            organization_id=world.org_id,
            engagement_id=eng,
            lines=[line()],
            issue_date=date(9999, 12, 31),
        )
    assert refused.value.code == "invoice.invalid_issue_date"
    assert queries.list_invoices(world.ctx, organization_id=world.org_id) == []


def test_a_revision_below_what_was_already_credited_is_refused(world: World) -> None:
    """Credit notes never exceed their invoice: a revision may not shrink it under them
    (it would owe the client money, and could never be credited in full or voided)."""
    eng = an_engagement(world.app, world.org_id, world.client_id)
    ctx, org = world.ctx, world.org_id
    invoice = _draft(world, eng, line(price="1000.00"))
    invoicing.send_invoice(ctx, organization_id=org, invoice_id=invoice.id)
    settlement.issue_credit_note(
        ctx,
        organization_id=org,
        invoice_id=invoice.id,
        reason="Goodwill",
        lines=[line(price="900.00")],
    )
    recipient.request_change(
        ctx, organization_id=org, invoice_id=invoice.id, message="Less", by="AP"
    )
    with pytest.raises(RuleViolation) as refused:
        invoicing.revise_invoice(
            ctx, organization_id=org, invoice_id=invoice.id, lines=[line(price="500.00")]
        )
    assert refused.value.code == "invoice.revision_below_credit"
    after = queries.get_invoice(ctx, organization_id=org, invoice_id=invoice.id).invoice
    assert (after.state, after.version) == (InvoiceState.CHANGE_REQUESTED, 1)
    revised = invoicing.revise_invoice(
        ctx, organization_id=org, invoice_id=invoice.id, lines=[line(price="950.00")]
    )
    assert revised.version == 2 and revised.outstanding.amount == Decimal("60.50")


def test_a_po_number_added_twice_to_an_engagement_is_a_retryable_conflict(world: World) -> None:
    """Two recipients amending invoices of one engagement with the same new PO number at once
    both find no such PO and both add it: the second insert must be a ConcurrencyConflict
    (retried, it finds the PO and uses it), not a database error."""
    eng = an_engagement(world.app, world.org_id, world.client_id)
    a_po(world.app, world.org_id, eng, "PO-9")
    twin = PurchaseOrder(
        id="po_twin",
        organization_id=world.org_id,
        engagement_id=eng,
        number="PO-9",
        currency="EUR",
        created_at=world.clock.now(),
    )
    with world.ctx.uow() as uow, pytest.raises(ConcurrencyConflict) as refused:
        uow.purchase_orders.add(twin)
    assert refused.value.code == "po.concurrent_create"
