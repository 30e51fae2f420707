"""Use cases of an engagement's advance: invoice it, draw it down, discard, refund, read.

This module owns what happens to a prepaid balance after it is agreed (``services.retainers``
creates schedules and one-off advances; ``domain.advances`` holds the arithmetic):

* a one-off advance is invoiced only from its invoice date (``advance.not_ready`` before);
* its net becomes available once the advance invoice is issued;
* a draft that draws on it can have the draw-down discarded (billed normally) or re-applied,
  and an edited or revised version never draws more than its own net (``reapply_advance``);
* the unused balance is refunded by credit notes against the advance invoices, newest first;
* the ledger shows the engagement's actuals (invoiced, used, refunded, billed, unbilled) as of
  a date.

Every draw and refund is decided by the engagement account, under its lock
(``services.engagement_account``). Amounts drawn and refunded are net, so that a refund
credits exactly the VAT groups of the advance invoice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from engagebill.domain.advances import Advance
from engagebill.domain.billing import PlannedInvoice, plan_billing
from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.engagement_account import AdvanceFigures, EngagementAccount
from engagebill.domain.engagements import Engagement
from engagebill.domain.errors import Conflict, RuleViolation
from engagebill.domain.events import DomainEvent
from engagebill.domain.invoices import Invoice, InvoiceKind, InvoiceVersion
from engagebill.domain.lifecycle import ISSUED_STATES, InvoiceAction, InvoiceState, next_state
from engagebill.domain.money import Money
from engagebill.domain.parties import require_text
from engagebill.domain.quotes import MilestoneState
from engagebill.domain.work import WorkState
from engagebill.services import billing_run, settlement
from engagebill.services.engagement_account import locked, locked_for_invoice, settle
from engagebill.services.invoicing import store
from engagebill.services.lines import LineInput
from engagebill.services.ports import Context, InvoiceFilter, UnitOfWork

REFUND_REASON = "Refund of unused advance"
# Every invoice of one engagement: an engagement bills monthly at most, so this is decades.
MAX_ENGAGEMENT_INVOICES = 100_000


# --- invoicing a one-off advance ----------------------------------------------------------------
def invoice_advance(
    ctx: Context, *, organization_id: str, advance_id: str, as_of: date | None = None
) -> Invoice:
    """Invoice a one-off advance now: a draft advance invoice dated on its invoice date.

    Refused before that date (``advance.not_ready``) and once it has an invoice
    (``advance.already_invoiced``). The draft is made exactly as a billing run would make it.
    """
    day = as_of or ctx.clock.today()
    with ctx.uow() as uow:
        advance = uow.retainers.get_advance(organization_id, advance_id)
        if advance.invoice_id is not None:
            raise _already_invoiced(advance)
        advance.check_ready(day)
        planned = _planned_for(ctx, uow, advance, day)
        invoice = billing_run.create_planned(ctx, uow, organization_id, planned)
        uow.commit()
    return invoice


def _already_invoiced(advance: Advance) -> Conflict:
    return Conflict(
        "this advance has already been invoiced",
        code="advance.already_invoiced",
        details={"id": advance.id, "invoice_id": advance.invoice_id},
    )


def _planned_for(ctx: Context, uow: UnitOfWork, advance: Advance, as_of: date) -> PlannedInvoice:
    """The advance's invoice from the engagement's billing plan (same PO, warnings, lines)."""
    inputs = billing_run.gather_inputs(
        uow, advance.organization_id, as_of, ctx.calendars, engagement_ids=[advance.engagement_id]
    )
    for planned in plan_billing(inputs).invoices:
        if planned.billing_key == advance.billing_key:
            return planned
    # The plan leaves out a billing key that is taken: a run invoiced it meanwhile.
    raise _already_invoiced(advance)


# --- drawing down on a draft ---------------------------------------------------------------------
def discard_advance(ctx: Context, *, organization_id: str, invoice_id: str) -> Invoice:
    """Bill a draft normally: its draw-down is set to none (used 0.00, due = gross)."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        account = locked_for_invoice(uow, organization_id, invoice_id)
        invoice = _open_draft(uow, organization_id, invoice_id)
        current = invoice.current
        if current.advance_used is None:
            raise RuleViolation(
                "this invoice does not draw on an advance", code="advance.not_applied"
            )
        invoice.edit_draft(replace(current, prepaid=None, advance_used=None), now)
        invoice.pending_events.append(
            _advance_event(invoice, "invoice.advance_discarded", now, current)
        )
        store(uow, invoice)
        settle(uow, organization_id, account)
        uow.commit()
    return invoice


def apply_advance(ctx: Context, *, organization_id: str, invoice_id: str) -> Invoice:
    """Draw a draft down on the available advance, up to its net (undoes a discard)."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        account = locked_for_invoice(uow, organization_id, invoice_id)
        invoice = _open_draft(uow, organization_id, invoice_id)
        if invoice.kind is InvoiceKind.ADVANCE:
            raise RuleViolation(
                "an advance invoice tops the balance up; it cannot draw on it",
                code="advance.not_applicable",
            )
        drawn = _draw(account, invoice, invoice.current)
        if drawn.advance_used is None:
            raise RuleViolation(
                "no advance is available on this engagement", code="advance.none_available"
            )
        invoice.edit_draft(drawn, now)
        invoice.pending_events.append(
            _advance_event(invoice, "invoice.advance_applied", now, drawn)
        )
        store(uow, invoice)
        settle(uow, organization_id, account)
        uow.commit()
    return invoice


def reapply_advance(
    account: EngagementAccount, invoice: Invoice, version: InvoiceVersion
) -> InvoiceVersion:
    """``version`` with its draw-down recomputed for its own lines, by the locked account.

    Called when a draft is edited or an invoice revised: a version that draws on the advance
    draws as much of its net as is available to it (never more than its net, so a shorter
    invoice gives the rest back); a version that does not (none applied, or discarded) stays
    so.
    """
    if version.advance_used is None:
        return version
    return _draw(account, invoice, version)


def _draw(account: EngagementAccount, invoice: Invoice, version: InvoiceVersion) -> InvoiceVersion:
    totals = version.totals()
    used, prepaid = account.draw(totals.net, totals.gross, invoice_id=invoice.id)
    if used.is_zero():
        return replace(version, advance_used=None, prepaid=None)
    return replace(version, advance_used=used, prepaid=prepaid)


def _open_draft(uow: UnitOfWork, organization_id: str, invoice_id: str) -> Invoice:
    invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
    # A sent invoice's draw-down is frozen with it; it changes by revision or credit note.
    next_state(invoice.state, InvoiceAction.EDIT_DRAFT)
    return invoice


def _advance_event(
    invoice: Invoice, kind: str, at: datetime, version: InvoiceVersion
) -> DomainEvent:
    zero = Money.zero(invoice.currency)
    return DomainEvent(
        kind,
        "invoice",
        invoice.id,
        at,
        {
            "number": invoice.number,
            "version": invoice.version,
            "engagement_id": invoice.engagement_id,
            "advance_used": (version.advance_used or zero).decimal_string(),
            "prepaid": (version.prepaid or zero).decimal_string(),
        },
    )


# --- refunding what is left ----------------------------------------------------------------------
def refund_advance(
    ctx: Context, *, organization_id: str, engagement_id: str, reason: str = REFUND_REASON
) -> list[CreditNote]:
    """Refund the unused advance: credit notes against the advance invoices, newest first,
    each for at most what is not yet credited on it, in its VAT groups, and never more than
    the account has available. All or nothing."""
    why = require_text(reason, "refund reason", max_length=2000, multiline=True)
    with ctx.uow() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        account = locked(uow, organization_id, engagement.id, engagement.currency)
        left = account.advance.available
        if left.amount <= 0:
            raise RuleViolation(
                f"nothing to refund: the available advance is {left.format()}",
                code="advance.nothing_to_refund",
                details={"available": left.decimal_string()},
            )
        invoices = {
            inv.id: inv
            for inv in _invoices(uow, organization_id, engagement_id)
            if inv.kind is InvoiceKind.ADVANCE and inv.state in ISSUED_STATES
        }
        newest_first = sorted(
            invoices.values(),
            key=lambda i: (i.current.issue_date, i.sent_at or i.created_at),
            reverse=True,
        )
        split = account.refund_split([(i.id, i.totals().breakdown) for i in newest_first])
        notes = [
            settlement.issue_credit_note(
                ctx,
                organization_id=organization_id,
                invoice_id=invoice_id,
                reason=why,
                lines=[
                    LineInput(
                        description=f"Unused advance, invoice {invoices[invoice_id].number}",
                        quantity="1",
                        unit_price=amount.amount,
                        vat_category=category.value,
                        vat_rate=rate,
                    )
                    for (category, rate), amount in groups
                ],
                uow=uow,
            )
            for invoice_id, groups in split
        ]
        uow.commit()
    return notes


def _invoices(uow: UnitOfWork, organization_id: str, engagement_id: str) -> list[Invoice]:
    rows = uow.invoices.list(
        organization_id, InvoiceFilter(engagement_id=engagement_id, limit=MAX_ENGAGEMENT_INVOICES)
    )
    return [uow.invoices.get(organization_id, row.id) for row in rows]


# --- the ledger ----------------------------------------------------------------------------------
class Actual(StrEnum):
    """What an entry of the ledger records (the seed's actuals)."""

    INVOICED = "invoiced"  # an advance invoice: the balance grows
    USED = "used"  # an invoice drew on the balance
    REFUNDED = "refunded"  # a credit note gave unused balance back
    BILLED = "billed"  # work or a milestone on an invoice
    UNBILLED = "unbilled"  # approved work or a signed-off milestone not on an invoice yet


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    actual: Actual
    on: date
    reference: str  # invoice or credit note number ("draft" before sending), or the source
    description: str
    amount: Money  # net
    document_id: str  # the invoice, credit note, work item or milestone


@dataclass(frozen=True, slots=True)
class AdvanceLedger:
    """An engagement's advance and billing actuals as of a date."""

    engagement_id: str
    as_of: date
    balance: AdvanceFigures
    entries: tuple[LedgerEntry, ...]

    def total(self, actual: Actual) -> Money:
        return Money.sum(
            (e.amount for e in self.entries if e.actual is actual), self.balance.currency
        )


def advance_ledger(
    ctx: Context, *, organization_id: str, engagement_id: str, as_of: date
) -> AdvanceLedger:
    """The engagement's actuals as of ``as_of``, dated by their documents' issue dates."""
    with ctx.uow() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        invoices = {inv.id: inv for inv in _invoices(uow, organization_id, engagement_id)}
        account = uow.accounts.load(organization_id, engagement.id, engagement.currency)
        entries = [
            *_invoice_entries(account, invoices.values(), as_of),
            *_refund_entries(uow, invoices.values(), as_of),
            *_work_entries(uow, engagement, invoices, as_of),
            *_milestone_entries(uow, engagement, invoices, as_of),
        ]
        balance = account.as_of(as_of).advance
    order = list(Actual)
    entries.sort(key=lambda e: (e.on, order.index(e.actual), e.reference, e.document_id))
    return AdvanceLedger(engagement_id, as_of, balance, tuple(entries))


def _reference(invoice: Invoice) -> str:
    return invoice.number or "draft"


def _invoice_entries(
    account: EngagementAccount, invoices: Iterable[Invoice], as_of: date
) -> Iterator[LedgerEntry]:
    for inv in invoices:
        day = inv.current.issue_date
        if day > as_of:
            continue
        if inv.kind is InvoiceKind.ADVANCE and inv.state is not InvoiceState.DRAFT:
            yield LedgerEntry(
                Actual.INVOICED, day, _reference(inv), "Advance invoiced", inv.totals().net, inv.id
            )
        # Counted as the account counts it: drafts reserve what they draw, credit notes give
        # back what they returned, void gives it all back.
        used = account.drawn_net(inv.id)
        if not used.is_zero():
            yield LedgerEntry(Actual.USED, day, _reference(inv), "Advance used", used, inv.id)


def _refund_entries(
    uow: UnitOfWork, invoices: Iterable[Invoice], as_of: date
) -> Iterator[LedgerEntry]:
    for inv in invoices:
        if inv.kind is not InvoiceKind.ADVANCE or inv.state is InvoiceState.DRAFT:
            continue
        for note in uow.credit_notes.for_invoice(inv.organization_id, inv.id):
            if note.issue_date <= as_of:
                yield LedgerEntry(
                    Actual.REFUNDED,
                    note.issue_date,
                    note.number,
                    note.reason,
                    note.totals().net,
                    note.id,
                )


def _billed_by(
    invoices: Mapping[str, Invoice], invoice_id: str | None, as_of: date
) -> Invoice | None:
    """The invoice a source is on, if it was issued by ``as_of``; else nothing."""
    invoice = invoices.get(invoice_id or "")
    return invoice if invoice is not None and invoice.current.issue_date <= as_of else None


def _work_entries(
    uow: UnitOfWork, engagement: Engagement, invoices: Mapping[str, Invoice], as_of: date
) -> Iterator[LedgerEntry]:
    items = uow.work.list(
        engagement.organization_id, engagement.id, [WorkState.APPROVED, WorkState.BILLED]
    )
    for item in items:
        invoice = _billed_by(invoices, item.invoice_id, as_of)
        if invoice is not None:
            yield LedgerEntry(
                Actual.BILLED,
                invoice.current.issue_date,
                _reference(invoice),
                item.description,
                item.amount,
                item.id,
            )
        elif item.work_date <= as_of:
            yield LedgerEntry(
                Actual.UNBILLED, item.work_date, "", item.description, item.amount, item.id
            )


def _milestone_entries(
    uow: UnitOfWork, engagement: Engagement, invoices: Mapping[str, Invoice], as_of: date
) -> Iterator[LedgerEntry]:
    milestones = uow.quotes.milestones(
        engagement.organization_id,
        engagement.id,
        [MilestoneState.SIGNED_OFF, MilestoneState.INVOICED],
    )
    for milestone in milestones:
        text = milestone.line_text(engagement.name)
        invoice = _billed_by(invoices, milestone.invoice_id, as_of)
        signed = milestone.signed_off_at.date() if milestone.signed_off_at else None
        if invoice is not None:
            yield LedgerEntry(
                Actual.BILLED,
                invoice.current.issue_date,
                _reference(invoice),
                text,
                milestone.amount,
                milestone.id,
            )
        elif signed is not None and signed <= as_of:
            yield LedgerEntry(Actual.UNBILLED, signed, "", text, milestone.amount, milestone.id)
