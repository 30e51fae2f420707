"""Use cases that settle an issued invoice: lock, record a payment, issue a credit note.

A credit note is the only way to reduce or cancel an issued invoice. Without lines it credits
everything not yet credited, group by VAT group, and voids the invoice. Payments and credit
notes are money decisions: they lock the engagement account first and are decided by it
(``domain.engagement_account``: which VAT groups a note may use, its tax per group, and what
of it goes back to the advance).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.engagement_account import EngagementAccount
from engagebill.domain.errors import RuleViolation
from engagebill.domain.invoices import (
    Invoice,
    InvoiceLine,
    Payment,
    compute_totals,
    line_to_dict,
)
from engagebill.domain.lifecycle import InvoiceAction, next_state
from engagebill.domain.money import Money
from engagebill.domain.numbering import SeriesKind
from engagebill.domain.parties import require_text
from engagebill.services.engagement_account import locked_for_invoice, settle
from engagebill.services.invoicing import store
from engagebill.services.lines import LineInput, parse_lines
from engagebill.services.ports import Context, UnitOfWork
from engagebill.services.validation import clean_text


def lock_invoice(ctx: Context, *, organization_id: str, invoice_id: str) -> Invoice:
    with ctx.uow() as uow:
        invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
        invoice.lock(ctx.clock.now())
        store(uow, invoice)
        uow.commit()
    return invoice


def record_payment(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    amount: str,
    received_on: date | None = None,
    reference: str = "",
) -> Invoice:
    """Record money received; partial payments are fine, and the first one locks."""
    with ctx.uow() as uow:
        account = locked_for_invoice(uow, organization_id, invoice_id)
        invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
        payment = Payment(
            id=ctx.ids("pay"),
            amount=Money.of(amount, invoice.currency),
            received_on=received_on or ctx.clock.today(),
            reference=clean_text(reference, "payment reference", max_length=200),
            recorded_at=ctx.clock.now(),
        )
        if not payment.amount.is_whole_minor():
            raise RuleViolation(
                f"{amount} has more decimals than {invoice.currency} allows",
                code="money.too_precise",
            )
        invoice.record_payment(payment)
        store(uow, invoice)
        settle(uow, organization_id, account)
        uow.commit()
    return invoice


def _remaining_lines(account: EngagementAccount, invoice: Invoice) -> list[InvoiceLine]:
    """Lines that credit what is left of the invoice: all of its lines when nothing was
    credited yet, otherwise one line per VAT group for the net not yet credited."""
    if not account.credits_of(invoice.id):
        return list(invoice.current.lines)
    return [
        InvoiceLine(
            description=f"Remaining balance of invoice {invoice.number}",
            quantity=Decimal(1),
            unit="C62",
            unit_price=left,
            vat_category=category,
            vat_rate=rate,
        )
        for (category, rate), left in account.remaining_groups(
            invoice.id, invoice.totals().breakdown
        )
    ]


def issue_credit_note(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    reason: str,
    lines: Sequence[LineInput] | None = None,
    issue_date: date | None = None,
    uow: UnitOfWork | None = None,
) -> CreditNote:
    """Issue a credit note against an issued invoice; without lines, credit it in full.

    ``uow`` lets a larger use case (an advance refund) issue it inside that use case's
    transaction.
    """
    if uow is None:
        with ctx.uow() as own:
            note = issue_credit_note(
                ctx,
                organization_id=organization_id,
                invoice_id=invoice_id,
                reason=reason,
                lines=lines,
                issue_date=issue_date,
                uow=own,
            )
            own.commit()
        return note
    why = require_text(reason, "credit note reason", max_length=2000, multiline=True)
    now = ctx.clock.now()
    account = locked_for_invoice(uow, organization_id, invoice_id)
    invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
    next_state(invoice.state, InvoiceAction.CREDIT_PART)
    content = (
        parse_lines(lines, invoice.currency)
        if lines is not None
        else _remaining_lines(account, invoice)
    )
    if not content:
        raise RuleViolation("a credit note needs at least one line", code="credit_note.no_lines")
    if any(line.net.amount <= 0 for line in content):
        raise RuleViolation(
            "credit note lines are positive amounts taken off the invoice",
            code="credit_note.negative_line",
        )
    wanted = {
        (g.category, g.rate): g.taxable for g in compute_totals(content, invoice.currency).breakdown
    }
    terms = account.credit(invoice.id, invoice.totals().breakdown, wanted)
    buyer, seller = invoice.effective_buyer(), invoice.current.seller
    assert buyer is not None and seller is not None
    day = issue_date or ctx.clock.today()
    po = invoice.effective_purchase_order()
    note = CreditNote(
        id=ctx.ids("cn"),
        organization_id=organization_id,
        invoice_id=invoice.id,
        invoice_number=invoice.number or "",
        client_id=invoice.client_id,
        engagement_id=invoice.engagement_id,
        currency=invoice.currency,
        number="",
        issue_date=day,
        lines=content,
        reason=why,
        seller=seller,
        buyer=buyer,
        created_at=now,
        purchase_order_number=po.number if po else "",
        taxes=terms.tax_for(),
        prepaid=terms.prepaid,
        advance_returned=terms.advance_returned,
    )
    invoice.apply_credit(terms, credit_note_id=note.id, at=now)
    note.number = uow.numbers.take(organization_id, SeriesKind.CREDIT_NOTE, day)
    note.content_hash = hashlib.sha256(
        json.dumps(
            {
                "number": note.number,
                "invoice_number": note.invoice_number,
                "issue_date": day.isoformat(),
                "reason": why,
                "currency": note.currency,
                "seller": seller.to_dict(),
                "buyer": buyer.to_dict(),
                "lines": [line_to_dict(line) for line in content],
                "vat": [
                    [g.category.value, str(g.rate), str(g.taxable.amount), str(g.tax.amount)]
                    for g in terms.groups
                ],
                "prepaid": str(terms.prepaid.amount),
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    uow.credit_notes.add(note)
    uow.events.append(organization_id, [note.issued_event()])
    store(uow, invoice)
    settle(uow, organization_id, account)
    return note
