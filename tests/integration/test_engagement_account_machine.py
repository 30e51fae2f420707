"""The engagement account adds up after any sequence of money decisions, on both databases.

A Hypothesis state machine drives the use cases on one advance engagement, as an agency would:
advances invoiced and sent, drafts that draw on the advance (or whose draw is discarded and
applied again), billing runs over approved work, sends, payments, credit notes (in full, one
line, part of a VAT group), refunds of the advance. After every step it re-derives the figures
from the documents themselves (invoices, their credit notes and payments, not the account)
and checks, per engagement:

* the advance: available >= 0, and invoiced = available + drawn + reserved + refunded, with
  each term summed from the documents;
* per invoice and VAT group, what credit notes took (net and tax) <= what was invoiced;
* per invoice, outstanding = max(gross - drawn - credited - paid, 0), a void invoice owes
  nothing and says "void";
* conservation: invoiced - credited = paid - refundable + outstanding, over issued invoices
  (invoiced as the client is asked for it: gross less what the advance settles);
* what the client can claim back never exceeds what it paid.

It runs derandomized with a few hundred steps in ``make test``; ``make soak`` explores longer
with fresh random examples.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from engagebill.bootstrap import App
from engagebill.domain.errors import DomainError
from engagebill.domain.invoices import InvoiceKind
from engagebill.domain.lifecycle import ISSUED_STATES, InvoiceState, PaymentStatus
from engagebill.domain.money import Money
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
from engagebill.services.engagement_account import engagement_account
from engagebill.services.lines import LineInput
from tests.proof.harness import LONG
from tests.support import FixedClock, a_client, an_organization

START = date(2025, 1, 6)
# Refusals a random sequence meets: the rules saying no, with nothing written.
EXPECTED = {
    "advance.none_available",
    "advance.nothing_to_refund",
    "advance.not_applied",
    "advance.credit_exceeds_available",
    "credit_note.exceeds_invoice",
    "credit_note.unknown_line",
    "invoice.not_creditable",
    "invoice.not_payable",
    "invoice.not_sendable",
    "invoice.not_editable",
}
amounts = st.integers(min_value=1, max_value=400_000).map(lambda c: Decimal(c).scaleb(-2))


def eur(amount: Decimal | str) -> Money:
    return Money.of(amount, "EUR")


def _lines(first: Decimal, second: Decimal, mixed: bool) -> list[LineInput]:
    return [
        LineInput(description="Design work", quantity="1", unit_price=first, vat_rate="21"),
        LineInput(
            description="Hosting",
            quantity="2",
            unit_price=second,
            vat_rate="9" if mixed else "21",
        ),
    ]


class AccountMachine(RuleBasedStateMachine):
    """One advance engagement in an organization of its own."""

    app: App
    clock: FixedClock

    drafts = Bundle("drafts")
    issued = Bundle("issued")

    def __init__(self) -> None:
        super().__init__()
        self.ctx = self.app.ctx
        self.org = an_organization(self.app)
        client = a_client(self.app, self.org)
        self.engagement = parties.create_engagement(
            self.ctx,
            organization_id=self.org,
            client_id=client,
            name="Support retainer",
            kind="retainer",
            retainer_mode="advance",
            currency="EUR",
            net_days=14,
        ).id
        self.day = START
        self.clock.set(self.day)
        self.paid = eur("0")
        self.steps_since_refund = 0

    def _next_day(self) -> date:
        self.steps_since_refund += 1
        self.day += timedelta(days=1)
        self.clock.set(self.day)
        return self.day

    def _attempt(self, action):  # type: ignore[no-untyped-def]
        try:
            return action()
        except DomainError as refused:
            if refused.code not in EXPECTED:
                raise AssertionError(f"unexpected refusal {refused.code}: {refused}") from refused
            return None

    # --- the advance ------------------------------------------------------------------------
    @initialize(target=issued)
    def first_advance(self) -> str:
        return self.issue_advance(Decimal("5000.00"))

    @rule(target=issued, amount=amounts)
    def issue_advance(self, amount: Decimal) -> str:
        day = self._next_day()
        advance = retainers.create_advance(
            self.ctx,
            organization_id=self.org,
            engagement_id=self.engagement,
            amount=str(amount),
            invoice_date=day,
        )
        draft = advances.invoice_advance(self.ctx, organization_id=self.org, advance_id=advance.id)
        return invoicing.send_invoice(self.ctx, organization_id=self.org, invoice_id=draft.id).id

    @precondition(lambda self: self.steps_since_refund > 8)
    @rule()
    def refund(self) -> None:
        self._next_day()
        self.steps_since_refund = 0
        self._attempt(
            lambda: advances.refund_advance(
                self.ctx, organization_id=self.org, engagement_id=self.engagement
            )
        )

    # --- drafts -----------------------------------------------------------------------------
    @rule(target=drafts, first=amounts, second=amounts, mixed=st.booleans(), draw=st.booleans())
    def draft(self, first: Decimal, second: Decimal, mixed: bool, draw: bool) -> str:
        # Drafts may be dated later than the days that follow: a later run must not spend
        # what they reserve.
        # A draft asking to draw more than is available draws what is left.
        day = self.day + timedelta(days=30)
        return invoicing.create_draft(
            self.ctx,
            organization_id=self.org,
            engagement_id=self.engagement,
            lines=_lines(first, second, mixed),
            issue_date=day,
            advance_used=eur("1000000") if draw else None,
        ).invoice.id

    @rule(target=drafts, hours=st.integers(min_value=1, max_value=60))
    def billing_run(self, hours: int) -> str:
        day = self._next_day()
        item = work.record_work_item(
            self.ctx,
            organization_id=self.org,
            engagement_id=self.engagement,
            work_date=day,
            person="Robin",
            hours=str(hours),
            rate="95",
            description=f"Support, {day.isoformat()}",
            requester="Dana",
        )
        work.approve_work_items(
            self.ctx,
            organization_id=self.org,
            work_item_ids=[item.id],
            approval_ref="https://mail.example/ok",
        )
        result = billing_run.execute_run(self.ctx, organization_id=self.org, as_of=day)
        return result.created[0].id if result.created else item.id

    @rule(invoice_id=drafts)
    def discard(self, invoice_id: str) -> None:
        self._attempt(
            lambda: advances.discard_advance(
                self.ctx, organization_id=self.org, invoice_id=invoice_id
            )
        )

    @rule(invoice_id=drafts)
    def reapply(self, invoice_id: str) -> None:
        self._attempt(
            lambda: advances.apply_advance(
                self.ctx, organization_id=self.org, invoice_id=invoice_id
            )
        )

    @rule(target=issued, invoice_id=drafts)
    def send(self, invoice_id: str) -> str:
        if not invoice_id.startswith("inv_"):
            return invoice_id  # a run that billed nothing left its work item's id
        self._attempt(
            lambda: invoicing.send_invoice(
                self.ctx, organization_id=self.org, invoice_id=invoice_id
            )
        )
        return invoice_id

    # --- settling ---------------------------------------------------------------------------
    @rule(invoice_id=issued, share=st.sampled_from(["all", "half", "cent", "more"]))
    def pay(self, invoice_id: str, share: str) -> None:
        if not invoice_id.startswith("inv_"):
            return
        invoice = queries.get_invoice(
            self.ctx, organization_id=self.org, invoice_id=invoice_id
        ).invoice
        owed = invoice.outstanding
        amount = {
            "all": owed,
            "half": Money(owed.amount / 2, "EUR").rounded(),
            "cent": eur("0.01"),
            "more": owed + eur("10.00"),
        }[share]
        if amount.amount <= 0:
            return
        if self._attempt(
            lambda: settlement.record_payment(
                self.ctx,
                organization_id=self.org,
                invoice_id=invoice_id,
                amount=amount.decimal_string(),
            )
        ):
            self.paid += amount

    @rule(invoice_id=issued)
    def credit_in_full(self, invoice_id: str) -> None:
        self._attempt(
            lambda: settlement.issue_credit_note(
                self.ctx, organization_id=self.org, invoice_id=invoice_id, reason="Cancelled"
            )
        )

    @rule(invoice_id=issued, position=st.integers(min_value=1, max_value=2))
    def credit_one_line(self, invoice_id: str, position: int) -> None:
        self._attempt(
            lambda: line_credits.credit_line(
                self.ctx,
                organization_id=self.org,
                invoice_id=invoice_id,
                position=position,
                reason="Not delivered",
            )
        )

    @rule(invoice_id=issued, amount=amounts, rate=st.sampled_from(["21", "9"]))
    def credit_part(self, invoice_id: str, amount: Decimal, rate: str) -> None:
        def credit() -> object:
            try:
                return settlement.issue_credit_note(
                    self.ctx,
                    organization_id=self.org,
                    invoice_id=invoice_id,
                    reason="Goodwill",
                    lines=[
                        LineInput(
                            description="Goodwill", quantity="1", unit_price=amount, vat_rate=rate
                        )
                    ],
                )
            except DomainError as refused:
                if refused.code == "credit_note.vat_not_invoiced":
                    return None  # a rate the invoice never charged: refused, as it must be
                raise

        self._attempt(credit)

    # --- what must always hold --------------------------------------------------------------
    @invariant()
    def the_account_adds_up(self) -> None:
        account = engagement_account(
            self.ctx, organization_id=self.org, engagement_id=self.engagement
        )
        zero = eur("0")
        invoiced_adv = drawn = reserved = refunded = zero
        client_invoiced = credited_all = paid_all = outstanding_all = refundable = zero
        for invoice_id in account.invoices:
            detail = queries.get_invoice(self.ctx, organization_id=self.org, invoice_id=invoice_id)
            invoice, notes = detail.invoice, detail.credit_notes
            totals = invoice.totals()
            prepaid = invoice.current.prepaid or zero
            used = invoice.current.advance_used or zero
            note_gross = Money.sum((n.totals().gross for n in notes), "EUR")
            note_net = Money.sum((n.totals().net for n in notes), "EUR")
            note_prepaid = Money.sum((n.prepaid or zero for n in notes), "EUR")
            note_returned = Money.sum((n.advance_returned or zero for n in notes), "EUR")
            # Per VAT group, the credit notes never take more than was invoiced.
            for group in totals.breakdown:
                key = (group.category, group.rate)
                taken = [
                    g for n in notes for g in n.totals().breakdown if (g.category, g.rate) == key
                ]
                assert Money.sum((g.taxable for g in taken), "EUR") <= group.taxable
                assert Money.sum((g.tax for g in taken), "EUR") <= group.tax
            for n in notes:
                for g in n.totals().breakdown:
                    assert (g.category, g.rate) in {
                        (x.category, x.rate) for x in totals.breakdown
                    }, "a credit note used a VAT group the invoice never charged"
            if invoice.state is InvoiceState.DRAFT:
                if invoice.kind is InvoiceKind.STANDARD:
                    reserved += used
                continue
            if invoice.kind is InvoiceKind.ADVANCE:
                invoiced_adv += totals.net
                refunded += note_net
            elif invoice.state is not InvoiceState.VOID:
                drawn += used - note_returned
            still_drawn = prepaid - note_prepaid
            assert not still_drawn.is_negative()
            balance = totals.gross - still_drawn - note_gross - invoice.paid_total
            outstanding = balance if balance.amount > 0 else zero
            assert invoice.outstanding == outstanding, invoice.number
            assert account.position(invoice_id).outstanding == outstanding
            if invoice.state is InvoiceState.VOID:
                assert invoice.payment_status is PaymentStatus.VOID
                assert outstanding.is_zero() and still_drawn.is_zero()
            else:
                assert invoice.state in ISSUED_STATES
            client_invoiced += totals.gross - still_drawn
            credited_all += note_gross
            paid_all += invoice.paid_total
            outstanding_all += outstanding
            refundable += -balance if balance.amount < 0 else zero
        advance = account.advance
        assert not advance.available.is_negative(), advance
        assert (advance.invoiced, advance.drawn, advance.reserved, advance.refunded) == (
            invoiced_adv,
            drawn,
            reserved,
            refunded,
        )
        assert advance.invoiced == advance.available + drawn + reserved + refunded
        # Conservation: what the client was asked for, less credits, is what it paid (less
        # what it can claim back) plus what it still owes.
        assert client_invoiced - credited_all == paid_all - refundable + outstanding_all
        assert refundable <= paid_all
        assert paid_all == self.paid

    def teardown(self) -> None:
        # Nothing with nothing due is chased.
        for item in reports.chase_list(self.ctx, organization_id=self.org, as_of=self.day):
            assert item.standing.outstanding.amount > 0


@pytest.mark.parametrize("steps", [200 if LONG else 40])
def test_the_engagement_account_adds_up_after_any_sequence(
    app: App, clock: FixedClock, steps: int
) -> None:
    AccountMachine.app = app
    AccountMachine.clock = clock
    run_state_machine_as_test(
        AccountMachine,
        settings=settings(
            max_examples=60 if LONG else 10,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
