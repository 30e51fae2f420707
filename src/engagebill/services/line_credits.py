"""Crediting one line of an issued invoice, as the agency's app offers it.

A credit note is the only way to reduce an issued invoice (``services.settlement``). Taking a
whole line off is the common case ("the second landing page was not delivered"): the credit
note then carries that line exactly as it was invoiced (description, quantity, unit price,
VAT), so the recipient's AP can match it line for line.
"""

from __future__ import annotations

from datetime import date

from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import InvoiceLine
from engagebill.services import settlement
from engagebill.services.lines import LineInput
from engagebill.services.ports import Context


def as_input(line: InvoiceLine) -> LineInput:
    return LineInput(
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price.amount,
        unit=line.unit,
        vat_category=line.vat_category.value,
        vat_rate=line.vat_rate,
        service_date=line.service_date,
        person=line.person,
        requester=line.requester,
        approval_ref=line.approval_ref,
    )


def credit_line(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    position: int,
    reason: str,
    issue_date: date | None = None,
) -> CreditNote:
    """A credit note for line ``position`` (1-based) of the invoice's current version."""
    with ctx.uow() as uow:
        # The account's lock first, as every money decision takes it (one lock order); the
        # credit note loads the account itself.
        uow.accounts.lock_for_invoice(organization_id, invoice_id)
        invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
        lines = invoice.current.lines
        if not 1 <= position <= len(lines):
            raise ValidationError(
                f"the invoice has lines 1 to {len(lines)}; there is no line {position}",
                code="credit_note.unknown_line",
            )
        note = settlement.issue_credit_note(
            ctx,
            organization_id=organization_id,
            invoice_id=invoice_id,
            reason=reason,
            lines=[as_input(lines[position - 1])],
            issue_date=issue_date,
            uow=uow,
        )
        uow.commit()
    return note
