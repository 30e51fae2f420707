"""The Invoice aggregate keeps its promises on plain objects, without a database.

Proves that sending freezes the version and fingerprints it; that a revision is version n+1
under the same number and leaves earlier versions untouched; that amendments change neither
number, version nor amounts; that payment status moves unpaid -> partially paid -> paid ->
overpaid; that a credit for the whole net voids the invoice; and that an invoice without lines
or billing the same item twice is refused with stable codes.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from engagebill.domain.engagement_account import CreditTerms
from engagebill.domain.errors import InvalidTransition, RuleViolation, ValidationError
from engagebill.domain.invoices import (
    Amendment,
    AmendmentField,
    Invoice,
    InvoiceLine,
    InvoiceVersion,
    PartySnapshot,
    Payment,
    PoRef,
)
from engagebill.domain.lifecycle import InvoiceState, PaymentStatus
from engagebill.domain.money import Money
from engagebill.domain.parties import Address
from engagebill.domain.taxes import VatCategory

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
NUMBER = "INV-2025-0001"

SELLER = PartySnapshot(
    name="Northwind Studio B.V.",
    address=Address("Keizersgracht 1", "Amsterdam", "1015 CJ", "NL"),
    tax_id="NL004495445B01",
    iban="NL91ABNA0417164300",
)
BUYER = PartySnapshot(
    name="Acme Retail GmbH",
    address=Address("Friedrichstrasse 10", "Berlin", "10117", "DE"),
    tax_id="DE136695976",
    cost_centre="MKT-100",
)


def eur(amount: str) -> Money:
    return Money.of(amount, "EUR")


def a_line(
    description: str = "Monthly retainer, March 2025",
    price: str = "1000.00",
    *,
    quantity: str = "1",
    rate: str = "21",
    source_ref: str | None = None,
) -> InvoiceLine:
    return InvoiceLine(
        description=description,
        quantity=Decimal(quantity),
        unit="month",
        unit_price=eur(price),
        vat_category=VatCategory.STANDARD,
        vat_rate=Decimal(rate),
        source_ref=source_ref,
    )


def a_version(*lines: InvoiceLine, version: int = 1) -> InvoiceVersion:
    return InvoiceVersion(
        version=version,
        lines=list(lines),
        issue_date=date(2025, 3, 3),
        due_date=date(2025, 4, 2),
        currency="EUR",
        purchase_order=PoRef("po_1", "PO-1"),
        created_at=T0,
    )


def a_draft(*lines: InvoiceLine) -> Invoice:
    return Invoice(
        id="inv_1",
        organization_id="org_1",
        client_id="cli_1",
        engagement_id="eng_1",
        currency="EUR",
        state=InvoiceState.DRAFT,
        versions=[a_version(*lines)],
        created_at=T0,
    )


def a_sent_invoice(*lines: InvoiceLine) -> Invoice:
    """1000.00 net + 21% VAT = 1210.00 unless told otherwise."""
    invoice = a_draft(*(lines or (a_line(),)))
    invoice.send(number=NUMBER, seller=SELLER, buyer=BUYER, at=T0 + timedelta(hours=1))
    return invoice


def a_change_requested_invoice() -> Invoice:
    invoice = a_sent_invoice()
    invoice.view(T0 + timedelta(hours=2), viewer="ap@acme.example")
    invoice.request_change(message="Split the retainer", by="Alex AP", at=T0 + timedelta(hours=3))
    return invoice


def a_payment(amount: str, n: int = 1) -> Payment:
    return Payment(
        id=f"pay_{n}",
        amount=eur(amount),
        received_on=date(2025, 3, 20),
        reference=f"bank-{n}",
        recorded_at=T0 + timedelta(days=17, minutes=n),
    )


def event_kinds(invoice: Invoice) -> list[str]:
    return [e.kind for e in invoice.pending_events]


# sending ------------------------------------------------------------------------------------


def test_sending_gives_the_number_and_freezes_the_version() -> None:
    invoice = a_draft(a_line())

    invoice.send(number=NUMBER, seller=SELLER, buyer=BUYER, at=T0)

    assert invoice.state is InvoiceState.SENT
    assert invoice.number == NUMBER
    assert invoice.sent_at == T0
    assert invoice.version == 1
    assert invoice.current.frozen
    assert invoice.current.seller == SELLER
    assert invoice.current.buyer == BUYER


def test_sending_fingerprints_the_frozen_content() -> None:
    invoice = a_sent_invoice()

    content_hash = invoice.current.content_hash

    assert len(content_hash) == 64
    assert content_hash == invoice.current.compute_hash()
    [sent] = [e for e in invoice.pending_events if e.kind == "invoice.sent"]
    assert sent.payload["content_hash"] == content_hash
    assert sent.payload["gross"] == "1210.00"
    assert sent.payload["number"] == NUMBER


def test_different_content_gets_a_different_fingerprint() -> None:
    cheap = a_sent_invoice(a_line(price="999.99"))

    assert cheap.current.content_hash != a_sent_invoice().current.content_hash


def test_an_invoice_without_lines_cannot_be_sent() -> None:
    invoice = a_draft()

    with pytest.raises(RuleViolation) as excinfo:
        invoice.send(number=NUMBER, seller=SELLER, buyer=BUYER, at=T0)

    assert excinfo.value.code == "invoice.no_lines"
    assert invoice.state is InvoiceState.DRAFT
    assert invoice.number is None
    assert not invoice.current.frozen


def test_billing_the_same_item_twice_is_refused_on_send() -> None:
    invoice = a_draft(
        a_line("Milestone 1", source_ref="milestone:ms_1"),
        a_line("Milestone 1 again", source_ref="milestone:ms_1"),
    )

    with pytest.raises(RuleViolation) as excinfo:
        invoice.send(number=NUMBER, seller=SELLER, buyer=BUYER, at=T0)

    assert excinfo.value.code == "invoice.duplicate_source"
    assert invoice.state is InvoiceState.DRAFT and invoice.number is None


def test_billing_the_same_item_twice_is_refused_when_editing_a_draft() -> None:
    invoice = a_draft(a_line())
    duplicated = a_version(
        a_line("Work item 7", source_ref="work_item:7"),
        a_line("Work item 7, again", source_ref="work_item:7"),
    )

    with pytest.raises(RuleViolation) as excinfo:
        invoice.edit_draft(duplicated, T0)

    assert excinfo.value.code == "invoice.duplicate_source"


def test_lines_without_a_source_may_repeat() -> None:
    invoice = a_draft(a_line("Expenses"), a_line("Expenses"))

    invoice.send(number=NUMBER, seller=SELLER, buyer=BUYER, at=T0)

    assert invoice.totals().gross == eur("2420.00")


def test_an_invoice_totalling_less_than_zero_cannot_be_sent() -> None:
    invoice = a_draft(a_line(price="100.00"), a_line("Discount", price="-150.00"))

    with pytest.raises(RuleViolation) as excinfo:
        invoice.send(number=NUMBER, seller=SELLER, buyer=BUYER, at=T0)

    assert excinfo.value.code == "invoice.negative_total"


def test_a_line_in_another_currency_is_refused() -> None:
    usd_line = InvoiceLine(
        description="Hosting",
        quantity=Decimal(1),
        unit="month",
        unit_price=Money.of("50.00", "USD"),
        vat_category=VatCategory.STANDARD,
        vat_rate=Decimal(21),
    )

    with pytest.raises(ValidationError) as excinfo:
        a_draft(usd_line).send(number=NUMBER, seller=SELLER, buyer=BUYER, at=T0)

    assert excinfo.value.code == "money.currency_mismatch"


def test_a_sent_invoice_cannot_be_sent_again_or_edited() -> None:
    invoice = a_sent_invoice()

    with pytest.raises(InvalidTransition) as sent_again:
        invoice.send(number="INV-2025-0002", seller=SELLER, buyer=BUYER, at=T0)
    with pytest.raises(InvalidTransition) as edited:
        invoice.edit_draft(a_version(a_line(price="1.00")), T0)

    assert sent_again.value.code == "invoice.not_sendable"
    assert edited.value.code == "invoice.not_editable"
    assert invoice.number == NUMBER
    assert invoice.totals().net == eur("1000.00")


# revising -----------------------------------------------------------------------------------


def test_a_revision_is_version_n_plus_one_with_the_same_number() -> None:
    invoice = a_change_requested_invoice()
    first = copy.deepcopy(invoice.current)

    invoice.revise(a_version(a_line(price="600.00"), a_line("Extra", "400.00")), at=T0)

    assert invoice.state is InvoiceState.SENT
    assert invoice.number == NUMBER
    assert invoice.version == 2
    assert [v.version for v in invoice.versions] == [1, 2]
    assert invoice.current.frozen
    assert invoice.current.content_hash == invoice.current.compute_hash()
    assert invoice.current.content_hash != first.content_hash
    assert invoice.change_request == ""
    assert "invoice.revised" in event_kinds(invoice)


def test_a_revision_leaves_the_frozen_version_as_it_was() -> None:
    invoice = a_change_requested_invoice()
    first = copy.deepcopy(invoice.versions[0])

    invoice.revise(a_version(a_line(price="500.00")), at=T0)

    assert invoice.versions[0] == first
    assert invoice.versions[0].compute_hash() == first.content_hash
    assert invoice.versions[0].totals().gross == eur("1210.00")
    assert invoice.totals().gross == eur("605.00")


def test_a_revision_keeps_the_seller_and_buyer_of_the_sent_version() -> None:
    invoice = a_change_requested_invoice()

    invoice.revise(a_version(a_line()), at=T0)

    assert invoice.current.seller == SELLER
    assert invoice.current.buyer == BUYER


def test_only_a_change_request_can_be_revised() -> None:
    invoice = a_sent_invoice()

    with pytest.raises(InvalidTransition) as excinfo:
        invoice.revise(a_version(a_line()), at=T0)

    assert excinfo.value.code == "invoice.not_revisable"
    assert invoice.version == 1


def test_a_revision_without_lines_is_refused() -> None:
    invoice = a_change_requested_invoice()

    with pytest.raises(RuleViolation) as excinfo:
        invoice.revise(a_version(), at=T0)

    assert excinfo.value.code == "invoice.no_lines"


def test_a_revision_totalling_less_than_zero_is_refused() -> None:
    invoice = a_change_requested_invoice()

    with pytest.raises(RuleViolation) as excinfo:
        invoice.revise(a_version(a_line(price="100.00"), a_line("Refund", "-500.00")), at=T0)

    assert excinfo.value.code == "invoice.negative_total"


def test_a_refused_revision_leaves_the_change_request_open() -> None:
    invoice = a_change_requested_invoice()
    duplicated = a_version(
        a_line("Milestone 1", source_ref="milestone:ms_1"),
        a_line("Milestone 1 again", source_ref="milestone:ms_1"),
    )

    with pytest.raises(RuleViolation):
        invoice.revise(duplicated, at=T0)

    assert invoice.state is InvoiceState.CHANGE_REQUESTED
    assert invoice.version == 1


# amending -----------------------------------------------------------------------------------


def an_amendment(field: AmendmentField, value: dict[str, str]) -> Amendment:
    return Amendment(
        version=1, field=field, value=value, by="Alex AP", recorded_at=T0 + timedelta(hours=4)
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (AmendmentField.PURCHASE_ORDER, {"id": "po_2", "number": "PO-2"}),
        (AmendmentField.COST_CENTRE, {"cost_centre": "FIN-200"}),
        (AmendmentField.BILLING_ENTITY, {"name": "Acme Holding GmbH", "tax_id": "DE811569869"}),
    ],
)
def test_an_amendment_changes_neither_number_version_nor_amounts(
    field: AmendmentField, value: dict[str, str]
) -> None:
    invoice = a_sent_invoice()
    before = (invoice.number, invoice.version, invoice.totals(), invoice.current.content_hash)
    frozen = copy.deepcopy(invoice.current)

    invoice.amend(an_amendment(field, value))

    assert (invoice.number, invoice.version, invoice.totals(), invoice.current.content_hash) == (
        before
    )
    assert invoice.current == frozen
    assert invoice.state is InvoiceState.SENT
    assert invoice.amendments[-1].field is field
    assert "invoice.amended" in event_kinds(invoice)


def test_a_po_amendment_changes_the_effective_po_only() -> None:
    invoice = a_sent_invoice()

    invoice.amend(an_amendment(AmendmentField.PURCHASE_ORDER, {"id": "po_2", "number": "PO-2"}))

    assert invoice.effective_purchase_order() == PoRef("po_2", "PO-2")
    assert invoice.current.purchase_order == PoRef("po_1", "PO-1")


def test_a_cost_centre_amendment_changes_the_effective_buyer_only() -> None:
    invoice = a_sent_invoice()

    invoice.amend(an_amendment(AmendmentField.COST_CENTRE, {"cost_centre": "FIN-200"}))

    buyer = invoice.effective_buyer()
    assert buyer is not None and buyer.cost_centre == "FIN-200"
    assert invoice.current.buyer == BUYER


def test_an_approved_invoice_cannot_be_amended() -> None:
    invoice = a_sent_invoice()
    invoice.approve(name="Alex AP", at=T0 + timedelta(hours=2))

    with pytest.raises(InvalidTransition) as excinfo:
        invoice.amend(an_amendment(AmendmentField.COST_CENTRE, {"cost_centre": "FIN-200"}))

    assert excinfo.value.code == "invoice.not_amendable"
    assert invoice.amendments == []


# payments -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payments", "status"),
    [
        pytest.param([], PaymentStatus.UNPAID, id="nothing-paid"),
        pytest.param(["0.01"], PaymentStatus.PARTIALLY_PAID, id="one-cent"),
        pytest.param(["500.00"], PaymentStatus.PARTIALLY_PAID, id="half"),
        pytest.param(["1210.00"], PaymentStatus.PAID, id="in-full"),
        pytest.param(["500.00", "710.00"], PaymentStatus.PAID, id="in-two-parts"),
        pytest.param(["1210.01"], PaymentStatus.OVERPAID, id="a-cent-too-much"),
        pytest.param(["1000.00", "1000.00"], PaymentStatus.OVERPAID, id="twice"),
    ],
)
def test_payment_status_follows_what_was_paid(payments: list[str], status: PaymentStatus) -> None:
    invoice = a_sent_invoice()

    for n, amount in enumerate(payments, start=1):
        invoice.record_payment(a_payment(amount, n))

    assert invoice.payment_status is status


def test_the_first_payment_locks_the_invoice_and_full_payment_marks_it_paid() -> None:
    invoice = a_sent_invoice()

    invoice.record_payment(a_payment("500.00", 1))
    assert invoice.state is InvoiceState.LOCKED
    assert invoice.outstanding == eur("710.00")
    assert "invoice.paid" not in event_kinds(invoice)

    invoice.record_payment(a_payment("710.00", 2))
    assert invoice.outstanding == eur("0.00")
    assert event_kinds(invoice).count("invoice.locked") == 1
    assert event_kinds(invoice)[-1] == "invoice.paid"


def test_a_draft_cannot_be_paid() -> None:
    invoice = a_draft(a_line())

    with pytest.raises(InvalidTransition) as excinfo:
        invoice.record_payment(a_payment("1210.00"))

    assert excinfo.value.code == "invoice.not_payable"
    assert invoice.payments == []


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Money.of("0", "EUR"), "payment.not_positive"),
        (Money.of("-5.00", "EUR"), "payment.not_positive"),
        (Money.of("1210.00", "USD"), "money.currency_mismatch"),
    ],
)
def test_a_payment_must_be_positive_and_in_the_invoice_currency(amount: Money, code: str) -> None:
    invoice = a_sent_invoice()
    payment = Payment("pay_1", amount, date(2025, 3, 20), "bank-1", T0)

    with pytest.raises(ValidationError) as excinfo:
        invoice.record_payment(payment)

    assert excinfo.value.code == code
    assert invoice.state is InvoiceState.SENT


# credits ------------------------------------------------------------------------------------


def test_a_credit_whose_terms_void_the_invoice_voids_it_and_owes_nothing() -> None:
    invoice = a_sent_invoice()
    groups = invoice.totals().breakdown
    terms = CreditTerms(groups, eur("0.00"), eur("0.00"), voids=True)

    invoice.apply_credit(terms, credit_note_id="cn_1", at=T0)

    assert invoice.state is InvoiceState.VOID
    assert invoice.credited_total == eur("1210.00")
    assert invoice.outstanding == eur("0.00")
    assert invoice.payment_status is PaymentStatus.VOID
    assert event_kinds(invoice)[-1] == "invoice.voided"
    with pytest.raises(InvalidTransition) as paid:
        invoice.record_payment(a_payment("1210.00"))
    assert paid.value.code == "invoice.not_payable"
