"""The engagement account: every amount of one engagement, derived from what was issued.

An engagement's money is never kept as a running total. The account is a value computed from
the engagement's invoices (each with what it draws on the advance), its credit notes (each
with what it gave back to the advance) and its payments, and every money decision is asked
of it: a draft's draw, a send, a credit note, a refund, a payment, a billing run. The same
documents always give the same account (Kill Bill's invoice generator: the result is a
function of what was issued, never of what was done to a balance on the side).

Per invoice (amounts gross, as the client reads them)::

    balance      = gross - drawn - credited - paid
    outstanding  = max(balance, 0)        what the client still owes (0 for a void invoice)
    credit       = max(-balance, 0)       what the client has paid beyond it (refundable)

``drawn`` is the invoice's prepaid amount (EN 16931 BT-113) less what its credit notes gave
back to the advance. A credit note settles, in this order, what is still owed, then what the
advance paid (given back to the advance, and stated as the credit note's prepaid amount),
then what was paid in cash (which becomes refundable). One rule for a full credit, a partial
credit and a credit of one line.

The advance (amounts net, so that a refund credits the advance invoice's own VAT groups)::

    available = invoiced - drawn - reserved - refunded        never below zero

``invoiced`` counts issued advance invoices, ``drawn`` what issued invoices draw (less what
credit notes gave back), ``reserved`` what live drafts of any date draw, and ``refunded`` the
credit notes against advance invoices. A void advance invoice counts in both ``invoiced`` and
``refunded`` (its credit notes voided it), which nets it out.

Credit notes use only the VAT groups, (category, rate), of the invoice they credit; per group
what is credited never exceeds what remains, and the tax of each note is the group's tax on
the cumulative credited net less the tax already credited, so the note that completes a group
takes exactly its remaining tax and line-by-line credits add up to the invoice to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engagebill.domain.errors import RuleViolation
from engagebill.domain.lifecycle import ISSUED_STATES, InvoiceState, PaymentStatus
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory, VatGroup

VatKey = tuple[VatCategory, Decimal]
_HUNDRED = Decimal(100)


def percent(rate: Decimal) -> str:
    """``21`` for 21.00, ``5.5`` for 5.50: a rate as people write it."""
    return f"{rate.normalize():f}"


def group_label(key: VatKey) -> str:
    category, rate = key
    return f"{category.value} {percent(rate)} %"


@dataclass(frozen=True, slots=True)
class AccountInvoice:
    """What the account reads of one invoice: its current version's figures and payments."""

    id: str
    number: str | None
    advance: bool  # an advance invoice tops the balance up; it never draws on it
    state: InvoiceState
    issue_date: date
    net: Money
    gross: Money
    advance_used: Money  # net drawn from the advance (reserved while a draft)
    prepaid: Money  # its gross equivalent, shown as prepaid (BT-113)
    paid: Money

    @property
    def issued(self) -> bool:
        return self.state in ISSUED_STATES or self.state is InvoiceState.VOID


@dataclass(frozen=True, slots=True)
class AccountCredit:
    """What one credit note took off its invoice, group by group, and gave back to the
    advance."""

    id: str
    number: str
    invoice_id: str
    issue_date: date
    groups: tuple[VatGroup, ...]
    prepaid: Money  # gross given back to the advance: the note's prepaid amount
    advance_returned: Money  # its net equivalent

    @property
    def net(self) -> Money:
        return Money.sum((g.taxable for g in self.groups), self.prepaid.currency)

    @property
    def gross(self) -> Money:
        return Money.sum((g.taxable + g.tax for g in self.groups), self.prepaid.currency)


@dataclass(frozen=True, slots=True)
class InvoicePosition:
    """One invoice's place in the account: what it is worth, and who owes what on it."""

    gross: Money
    drawn: Money  # gross still settled by the advance
    credited: Money
    paid: Money
    state: InvoiceState

    @property
    def balance(self) -> Money:
        """Signed: what the client owes on the invoice, or (negative) what it owes them."""
        if self.state is InvoiceState.DRAFT:
            return Money.zero(self.gross.currency)
        return self.gross - self.drawn - self.credited - self.paid

    @property
    def outstanding(self) -> Money:
        balance = self.balance
        return balance if balance.amount > 0 else Money.zero(balance.currency)

    @property
    def credit_balance(self) -> Money:
        """What the client paid beyond what the invoice now asks: refundable to them."""
        balance = self.balance
        return -balance if balance.amount < 0 else Money.zero(balance.currency)

    @property
    def status(self) -> PaymentStatus:
        if self.state is InvoiceState.VOID:
            return PaymentStatus.VOID
        owed = self.gross - self.drawn - self.credited
        paid = self.paid
        if paid.is_zero():
            return PaymentStatus.UNPAID if owed.amount > 0 else PaymentStatus.PAID
        if paid < owed:
            return PaymentStatus.PARTIALLY_PAID
        if paid == owed:
            return PaymentStatus.PAID
        return PaymentStatus.OVERPAID


def invoice_position(
    *,
    gross: Money,
    prepaid: Money | None,
    credited: Money | None,
    credited_prepaid: Money | None,
    paid: Money,
    state: InvoiceState,
) -> InvoicePosition:
    """The position of an invoice from its own figures (the aggregate and list rows)."""
    zero = Money.zero(gross.currency)
    drawn = (prepaid or zero) - (credited_prepaid or zero)
    return InvoicePosition(gross, drawn, credited or zero, paid, state)


@dataclass(frozen=True, slots=True)
class AdvanceFigures:
    """The engagement's advance, in net amounts."""

    currency: str
    invoiced: Money
    drawn: Money
    reserved: Money
    refunded: Money

    @property
    def used(self) -> Money:
        """Drawn or reserved: the seed's "used amount"."""
        return self.drawn + self.reserved

    @property
    def available(self) -> Money:
        return self.invoiced - self.drawn - self.reserved - self.refunded


@dataclass(frozen=True, slots=True)
class AccountTotals:
    """The engagement's issued invoices summed (gross, as the client reads them)."""

    invoiced: Money
    drawn: Money
    credited: Money
    paid: Money
    outstanding: Money
    credit_balance: Money


@dataclass(frozen=True, slots=True)
class CreditTerms:
    """What a credit note takes off its invoice, worked out before it is issued."""

    groups: tuple[VatGroup, ...]
    prepaid: Money  # gross given back to the advance (the note's BT-113)
    advance_returned: Money  # net given back to the advance
    voids: bool  # it credits everything that was left: the invoice becomes void

    @property
    def net(self) -> Money:
        return Money.sum((g.taxable for g in self.groups), self.prepaid.currency)

    @property
    def vat(self) -> Money:
        return Money.sum((g.tax for g in self.groups), self.prepaid.currency)

    @property
    def gross(self) -> Money:
        return self.net + self.vat

    def tax_for(self) -> dict[VatKey, Money]:
        return {(g.category, g.rate): g.tax for g in self.groups}


def prepaid_for(net: Money, gross: Money, available: Money) -> tuple[Money, Money]:
    """How much of ``available`` an invoice of ``net``/``gross`` draws.

    Returns ``(used_net, prepaid_gross)``: the net drawn from the balance, and the amount shown
    as prepaid on the invoice (its tax-inclusive equivalent, so a fully covered invoice is due
    0.00 exactly). A draft asking for more than is available draws what is left.
    """
    zero = Money.zero(net.currency)
    if available.amount <= 0 or net.amount <= 0:
        return zero, zero
    if available >= net:
        return net, gross
    prepaid = Money(available.amount * gross.amount / net.amount, net.currency).rounded()
    return available, prepaid


def _tax(amount: Money, rate: Decimal) -> Money:
    return Money(amount.amount * rate / _HUNDRED, amount.currency).rounded()


class EngagementAccount:
    """Every amount of one engagement, from its invoices and credit notes."""

    def __init__(
        self,
        engagement_id: str,
        currency: str,
        invoices: Iterable[AccountInvoice],
        credits: Iterable[AccountCredit],
    ) -> None:
        self.engagement_id = engagement_id
        self.currency = currency
        self.invoices: dict[str, AccountInvoice] = {i.id: i for i in invoices}
        self.credits: tuple[AccountCredit, ...] = tuple(credits)
        self._credits_of: dict[str, list[AccountCredit]] = {}
        for credit in self.credits:
            self._credits_of.setdefault(credit.invoice_id, []).append(credit)

    @property
    def _zero(self) -> Money:
        return Money.zero(self.currency)

    # per invoice ---------------------------------------------------------------------------
    def credits_of(self, invoice_id: str) -> list[AccountCredit]:
        return list(self._credits_of.get(invoice_id, ()))

    def credited_groups(self, invoice_id: str) -> dict[VatKey, tuple[Money, Money]]:
        """(taxable, tax) already credited on the invoice, per VAT group."""
        done: dict[VatKey, tuple[Money, Money]] = {}
        for credit in self._credits_of.get(invoice_id, ()):
            for group in credit.groups:
                key = (group.category, group.rate)
                taxable, tax = done.get(key, (self._zero, self._zero))
                done[key] = (taxable + group.taxable, tax + group.tax)
        return done

    def position(self, invoice_id: str) -> InvoicePosition:
        invoice = self.invoices[invoice_id]
        credits = self._credits_of.get(invoice_id, ())
        return InvoicePosition(
            gross=invoice.gross,
            drawn=invoice.prepaid - Money.sum((c.prepaid for c in credits), self.currency),
            credited=Money.sum((c.gross for c in credits), self.currency),
            paid=invoice.paid,
            state=invoice.state,
        )

    def drawn_net(self, invoice_id: str) -> Money:
        """The net the invoice takes from the advance now: reserved while a draft, drawn
        once issued (less what its credit notes gave back), nothing once void."""
        invoice = self.invoices[invoice_id]
        if invoice.advance or invoice.state is InvoiceState.VOID:
            return self._zero
        returned = Money.sum(
            (c.advance_returned for c in self._credits_of.get(invoice_id, ())), self.currency
        )
        return invoice.advance_used - returned

    # the advance ---------------------------------------------------------------------------
    @property
    def advance(self) -> AdvanceFigures:
        invoiced = drawn = reserved = refunded = self._zero
        for invoice in self.invoices.values():
            if invoice.advance:
                if invoice.issued:
                    invoiced += invoice.net
                    refunded += Money.sum(
                        (c.net for c in self._credits_of.get(invoice.id, ())), self.currency
                    )
            elif invoice.state is InvoiceState.DRAFT:
                reserved += invoice.advance_used
            else:
                drawn += self.drawn_net(invoice.id)
        return AdvanceFigures(self.currency, invoiced, drawn, reserved, refunded)

    def available_to(self, invoice_id: str | None = None) -> Money:
        """What ``invoice_id`` may draw: the available advance plus what it draws itself."""
        available = self.advance.available
        if invoice_id is not None and invoice_id in self.invoices:
            available += self.drawn_net(invoice_id)
        return available

    def draw(
        self, net: Money, gross: Money, *, invoice_id: str | None = None
    ) -> tuple[Money, Money]:
        """``(used_net, prepaid_gross)`` for an invoice of ``net``/``gross``: as much as is
        available to it, never more than its net."""
        return prepaid_for(net, gross, self.available_to(invoice_id))

    # totals ----------------------------------------------------------------------------------
    @property
    def totals(self) -> AccountTotals:
        invoiced = drawn = credited = paid = outstanding = credit = self._zero
        for invoice in self.invoices.values():
            if not invoice.issued:
                continue
            position = self.position(invoice.id)
            invoiced += position.gross
            drawn += position.drawn
            credited += position.credited
            paid += position.paid
            outstanding += position.outstanding
            credit += position.credit_balance
        return AccountTotals(invoiced, drawn, credited, paid, outstanding, credit)

    def as_of(self, day: date) -> EngagementAccount:
        """The account as its documents dated up to ``day`` make it (for the ledger)."""
        return EngagementAccount(
            self.engagement_id,
            self.currency,
            (i for i in self.invoices.values() if i.issue_date <= day),
            (c for c in self.credits if c.issue_date <= day),
        )

    # decisions -------------------------------------------------------------------------------
    def check_draw(self, invoice_id: str) -> None:
        """Refuse to issue an invoice whose draw is more than it may take (an advance
        refunded or drawn by others since it was drafted)."""
        invoice = self.invoices[invoice_id]
        if invoice.advance or invoice.advance_used.is_zero():
            return
        others = self.available_to(invoice_id)
        if invoice.advance_used > others:
            raise RuleViolation(
                f"this invoice draws {invoice.advance_used.format()} on the advance, but only "
                f"{others.format()} is available to it; apply the advance again",
                code="advance.overdrawn",
                details={
                    "advance_used": invoice.advance_used.decimal_string(),
                    "available": others.decimal_string(),
                },
            )

    def check_revision(
        self,
        invoice_id: str,
        *,
        groups: Sequence[VatGroup],
        net: Money,
        gross: Money,
        prepaid: Money,
    ) -> None:
        """Refuse a revision that would leave less than was credited in a VAT group, or than
        its credit notes gave back to the advance; or, for an advance invoice, take back more
        than the advance has available."""
        new = {(g.category, g.rate): g for g in groups}
        for key, (taxable, tax) in self.credited_groups(invoice_id).items():
            group = new.get(key)
            if group is None or group.taxable < taxable or group.tax < tax:
                raise RuleViolation(
                    f"the revision leaves less at {group_label(key)} than the "
                    f"{taxable.format()} (net) already credited there",
                    code="invoice.revision_below_credit",
                    details={"vat_category": key[0].value, "vat_rate": percent(key[1])},
                )
        position = self.position(invoice_id)
        returned = self.invoices[invoice_id].prepaid - position.drawn
        if prepaid < returned or position.credited + (prepaid - returned) > gross:
            raise RuleViolation(
                "the revision is less than what its credit notes and the advance already "
                "settle of it",
                code="invoice.revision_below_credit",
            )
        invoice = self.invoices[invoice_id]
        if invoice.advance and invoice.issued:
            shrink = invoice.net - net
            available = self.advance.available
            if shrink > available:
                raise RuleViolation(
                    f"the revision takes {shrink.format()} off the advance, but only "
                    f"{available.format()} of it is not drawn, reserved or refunded",
                    code="advance.revision_below_used",
                    details={"available": available.decimal_string()},
                )

    def credit(
        self,
        invoice_id: str,
        invoice_groups: Sequence[VatGroup],
        wanted: Mapping[VatKey, Money],
    ) -> CreditTerms:
        """The terms of a credit note taking ``wanted`` (net per VAT group) off the invoice.

        Refused when a group is not the invoice's (``credit_note.vat_not_invoiced``), when a
        group's net exceeds what remains of it (``credit_note.exceeds_invoice``), and, on an
        advance invoice, when it would credit more than the advance has available
        (``advance.credit_exceeds_available``).
        """
        invoiced = {(g.category, g.rate): g for g in invoice_groups}
        done = self.credited_groups(invoice_id)
        for key in wanted:
            if key not in invoiced:
                charged = ", ".join(group_label(k) for k in invoiced) or "none"
                raise RuleViolation(
                    f"the invoice charged no VAT at {group_label(key)}; a credit note may only "
                    f"use the invoice's VAT groups ({charged})",
                    code="credit_note.vat_not_invoiced",
                    details={
                        "vat_category": key[0].value,
                        "vat_rate": percent(key[1]),
                        "invoiced": [
                            {"vat_category": k[0].value, "vat_rate": percent(k[1])}
                            for k in invoiced
                        ],
                    },
                )
        groups: list[VatGroup] = []
        complete = True
        for key, group in invoiced.items():
            credited_taxable, credited_tax = done.get(key, (self._zero, self._zero))
            remaining_taxable = group.taxable - credited_taxable
            remaining_tax = group.tax - credited_tax
            amount = wanted.get(key, self._zero)
            if amount > remaining_taxable:
                raise RuleViolation(
                    f"the credit of {amount.format()} (net) at {group_label(key)} exceeds the "
                    f"{remaining_taxable.format()} not yet credited in that VAT group",
                    code="credit_note.exceeds_invoice",
                    details={
                        "vat_category": key[0].value,
                        "vat_rate": percent(key[1]),
                        "remaining": remaining_taxable.decimal_string(),
                    },
                )
            if amount < remaining_taxable:
                complete = False
            if amount.is_zero() and key not in wanted:
                continue
            if amount == remaining_taxable:
                tax = remaining_tax
            else:
                tax = _tax(credited_taxable + amount, key[1]) - credited_tax
                tax = min(tax, remaining_tax)
            if tax.is_negative():
                tax = self._zero
            groups.append(VatGroup(key[0], key[1], amount, tax))
        net = Money.sum((g.taxable for g in groups), self.currency)
        gross = net + Money.sum((g.tax for g in groups), self.currency)
        invoice = self.invoices[invoice_id]
        if invoice.advance:
            available = self.advance.available
            if net > available:
                raise RuleViolation(
                    f"the advance has {available.format()} available; a credit of "
                    f"{net.format()} (net) would take back what invoices have drawn or reserved",
                    code="advance.credit_exceeds_available",
                    details={"available": available.decimal_string(), "net": net.decimal_string()},
                )
            return CreditTerms(tuple(groups), self._zero, self._zero, complete)
        returned, returned_net = self._returned(invoice_id, gross, complete)
        return CreditTerms(tuple(groups), returned, returned_net, complete)

    def _returned(self, invoice_id: str, gross: Money, complete: bool) -> tuple[Money, Money]:
        """What of a credit of ``gross`` goes back to the advance: what is left after it
        settles what is still owed, up to what the invoice draws (all of it when it voids)."""
        position = self.position(invoice_id)
        drawn, drawn_net = position.drawn, self.drawn_net(invoice_id)
        if drawn.amount <= 0:
            return self._zero, self._zero
        owed = position.outstanding
        if complete:
            return drawn, drawn_net
        beyond = gross - owed
        returned = min(beyond, drawn) if beyond.amount > 0 else self._zero
        if returned == drawn:
            return drawn, drawn_net
        share = Money(returned.amount * drawn_net.amount / drawn.amount, self.currency).rounded()
        return returned, min(share, drawn_net)

    def remaining_groups(
        self, invoice_id: str, invoice_groups: Sequence[VatGroup]
    ) -> list[tuple[VatKey, Money]]:
        """Per VAT group of the invoice, the net not yet credited (only groups with some)."""
        done = self.credited_groups(invoice_id)
        remaining = []
        for group in invoice_groups:
            key = (group.category, group.rate)
            left = group.taxable - done.get(key, (self._zero, self._zero))[0]
            if left.amount > 0:
                remaining.append((key, left))
        return remaining

    def refund_split(
        self, advance_invoices: Sequence[tuple[str, Sequence[VatGroup]]]
    ) -> list[tuple[str, list[tuple[VatKey, Money]]]]:
        """How the available advance is refunded: against ``advance_invoices`` in the order
        given (newest first), each for at most what is not yet credited on it, per VAT
        group. Never more than is available."""
        wanted = self.advance.available
        split: list[tuple[str, list[tuple[VatKey, Money]]]] = []
        for invoice_id, groups in advance_invoices:
            if wanted.amount <= 0:
                break
            taken: list[tuple[VatKey, Money]] = []
            for key, left in self.remaining_groups(invoice_id, groups):
                take = min(left, wanted)
                if take.amount <= 0:
                    break
                taken.append((key, take))
                wanted -= take
            if taken:
                split.append((invoice_id, taken))
        return split
