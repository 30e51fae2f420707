"""Use cases of the agency's side of an invoice: draft, edit, send and revise.

Sending takes the number inside the sending transaction, freezes version 1 with a snapshot of
seller, buyer and PO, and refuses an expired PO or an exceeded ceiling unless the sender gives
a reason, which is recorded in the ``invoice.sent`` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from engagebill.domain.access import DocumentType
from engagebill.domain.engagement_account import EngagementAccount, prepaid_for
from engagebill.domain.engagements import Engagement
from engagebill.domain.errors import RuleViolation
from engagebill.domain.invoices import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceVersion,
    PartySnapshot,
    PoRef,
    check_lines,
    compute_totals,
)
from engagebill.domain.lifecycle import InvoiceAction, InvoiceState, next_state
from engagebill.domain.money import Money
from engagebill.domain.numbering import SeriesKind
from engagebill.domain.parties import BillingEntity, Organization
from engagebill.domain.purchase_orders import Warning
from engagebill.services.delivery import enqueue_link_emails, invoice_email_text
from engagebill.services.engagement_account import (
    locked,
    locked_for_invoice,
    locked_if_it_draws,
    settle,
)
from engagebill.services.lines import LineInput, parse_lines
from engagebill.services.links import IssuedLink, issue_links_to_contacts
from engagebill.services.ports import Context, UnitOfWork
from engagebill.services.validation import clean_text

UNSET: object = object()
MAX_NOTES = 5000


def _notes(notes: str) -> str:
    return clean_text(notes, "notes", max_length=MAX_NOTES, multiline=True)


@dataclass(slots=True)
class DraftResult:
    invoice: Invoice
    warnings: list[Warning] = field(default_factory=list)


def store(uow: UnitOfWork, invoice: Invoice, *, new: bool = False) -> None:
    """Write the aggregate and append its queued events, in the caller's transaction."""
    if new:
        uow.invoices.add(invoice)
    else:
        uow.invoices.save(invoice)
    uow.events.append(invoice.organization_id, invoice.pending_events)
    invoice.pending_events.clear()


def seller_snapshot(organization: Organization) -> PartySnapshot:
    return PartySnapshot(
        name=organization.legal_name,
        address=organization.address,
        tax_id=organization.tax_id,
        email=organization.email,
        iban=organization.iban,
        entity_id=organization.id,
    )


def buyer_snapshot(entity: BillingEntity) -> PartySnapshot:
    return PartySnapshot(
        name=entity.legal_name,
        address=entity.address,
        tax_id=entity.tax_id,
        cost_centre=entity.cost_centre,
        entity_id=entity.id,
    )


def _po_ref(uow: UnitOfWork, engagement: Engagement, purchase_order_id: str | None) -> PoRef | None:
    if not purchase_order_id:
        return None
    po = uow.purchase_orders.get(engagement.organization_id, purchase_order_id)
    if po.engagement_id != engagement.id:
        raise RuleViolation(
            f"PO {po.number} belongs to another engagement; an invoice carries only its own "
            "engagement's PO",
            code="invoice.po_wrong_engagement",
            details={"purchase_order_id": po.id, "engagement_id": engagement.id},
        )
    return PoRef(po.id, po.number)


def po_warnings(uow: UnitOfWork, invoice: Invoice) -> list[Warning]:
    """What is wrong with the invoice's PO on its issue date for its net amount."""
    ref = invoice.effective_purchase_order()
    if ref is None:
        return []
    po = uow.purchase_orders.get(invoice.organization_id, ref.id)
    consumed = uow.purchase_orders.consumed(
        invoice.organization_id, po.id, excluding_invoice_id=invoice.id
    )
    return po.warnings_for(
        issue_date=invoice.current.issue_date, consumed=consumed, amount=invoice.totals().net
    )


def _reapply_advance(
    account: EngagementAccount, invoice: Invoice, version: InvoiceVersion
) -> InvoiceVersion:
    """New lines draw on the advance anew, never more than their net (services.advances)."""
    # Imported here: services.advances builds on this module.
    from engagebill.services.advances import reapply_advance

    return reapply_advance(account, invoice, version)


def create_draft(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str,
    lines: Sequence[LineInput] = (),
    parsed_lines: Sequence[InvoiceLine] | None = None,
    issue_date: date | None = None,
    purchase_order_id: str | object | None = UNSET,
    notes: str = "",
    quote_reference: str = "",
    billing_key: str | None = None,
    kind: InvoiceKind = InvoiceKind.STANDARD,
    prepaid: Money | None = None,
    advance_used: Money | None = None,
    check_po: bool = True,
    uow: UnitOfWork | None = None,
) -> DraftResult:
    """Create a draft (version 1, no number) on one engagement, with that engagement's PO.

    With ``advance_used`` the draft draws on the engagement's advance, at most that net (and
    never more than its own net or than is available, decided under the account's lock).
    ``uow`` lets a larger use case (a billing run) create the draft in its own transaction.
    """
    if uow is None:
        with ctx.uow() as own:
            result = create_draft(
                ctx,
                organization_id=organization_id,
                engagement_id=engagement_id,
                lines=lines,
                parsed_lines=parsed_lines,
                issue_date=issue_date,
                purchase_order_id=purchase_order_id,
                notes=notes,
                quote_reference=quote_reference,
                billing_key=billing_key,
                kind=kind,
                prepaid=prepaid,
                advance_used=advance_used,
                check_po=check_po,
                uow=own,
            )
            own.commit()
        return result
    engagement = uow.engagements.get(organization_id, engagement_id)
    content = (
        list(parsed_lines) if parsed_lines is not None else parse_lines(lines, engagement.currency)
    )
    check_lines(content, engagement.currency)
    account = None
    if advance_used is not None:
        # The draw a plan proposed (at most ``advance_used``) is decided again under the
        # account's lock: a draft asking for more than is left draws what is left and bills
        # the rest.
        account = locked(uow, organization_id, engagement.id, engagement.currency)
        totals = compute_totals(content, engagement.currency)
        used, paid = prepaid_for(
            totals.net, totals.gross, min(advance_used, account.advance.available)
        )
        advance_used, prepaid = (used, paid) if not used.is_zero() else (None, None)
    day = issue_date or ctx.clock.today()
    po_id = (
        engagement.default_purchase_order_id if purchase_order_id is UNSET else purchase_order_id
    )
    assert po_id is None or isinstance(po_id, str)
    now = ctx.clock.now()
    version = InvoiceVersion(
        version=1,
        lines=content,
        issue_date=day,
        due_date=engagement.terms.due_date(day),
        currency=engagement.currency,
        purchase_order=_po_ref(uow, engagement, po_id),
        notes=_notes(notes),
        quote_reference=clean_text(quote_reference, "quote reference", max_length=100),
        prepaid=prepaid,
        advance_used=advance_used,
        created_at=now,
    )
    invoice = Invoice(
        id=ctx.ids("inv"),
        organization_id=organization_id,
        client_id=engagement.client_id,
        engagement_id=engagement.id,
        currency=engagement.currency,
        state=InvoiceState.DRAFT,
        versions=[version],
        created_at=now,
        billing_key=billing_key,
        kind=kind,
    )
    invoice._event(
        "invoice.created",
        now,
        engagement_id=engagement.id,
        lines=len(content),
        billing_key=billing_key,
    )
    warnings = po_warnings(uow, invoice) if check_po else []
    store(uow, invoice, new=True)
    if account is not None:
        settle(uow, organization_id, account)
    return DraftResult(invoice, warnings)


def edit_draft(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    lines: Sequence[LineInput] | None = None,
    issue_date: date | None = None,
    purchase_order_id: str | object | None = UNSET,
    notes: str | None = None,
) -> DraftResult:
    """Replace what is given of a draft: its lines, issue date, PO or notes."""
    with ctx.uow() as uow:
        account = locked_for_invoice(uow, organization_id, invoice_id)
        invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
        engagement = uow.engagements.get(organization_id, invoice.engagement_id)
        current = invoice.current
        day = issue_date or current.issue_date
        draft = InvoiceVersion(
            version=current.version,
            lines=parse_lines(lines, invoice.currency) if lines is not None else current.lines,
            issue_date=day,
            due_date=engagement.terms.due_date(day),
            currency=invoice.currency,
            purchase_order=(
                current.purchase_order
                if purchase_order_id is UNSET
                else _po_ref(uow, engagement, purchase_order_id)  # type: ignore[arg-type]
            ),
            notes=current.notes if notes is None else _notes(notes),
            quote_reference=current.quote_reference,
            prepaid=current.prepaid,
            advance_used=current.advance_used,
            created_at=current.created_at,
        )
        invoice.edit_draft(_reapply_advance(account, invoice, draft), ctx.clock.now())
        warnings = po_warnings(uow, invoice)
        store(uow, invoice)
        settle(uow, organization_id, account)
        uow.commit()
    return DraftResult(invoice, warnings)


def send_invoice(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    override_reason: str = "",
    uow: UnitOfWork | None = None,
    issued: list[IssuedLink] | None = None,
) -> Invoice:
    """Send a draft: take its number, freeze version 1, record ``invoice.sent``, and issue a
    private link to each AP contact. The links just issued, with their one-time tokens, are
    appended to ``issued`` when the caller wants to show them."""
    if uow is None:
        with ctx.uow() as own:
            invoice = send_invoice(
                ctx,
                organization_id=organization_id,
                invoice_id=invoice_id,
                override_reason=override_reason,
                uow=own,
                issued=issued,
            )
            own.commit()
        return invoice
    # The account first, as in every money decision (one lock order, no deadlock).
    account = locked_if_it_draws(uow, organization_id, invoice_id)
    invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
    engagement = uow.engagements.get(organization_id, invoice.engagement_id)
    next_state(invoice.state, InvoiceAction.SEND)  # refuse early, before taking a number
    if account is not None:
        account.check_draw(invoice.id)
    reason = override_reason.strip()
    warnings = po_warnings(uow, invoice)
    if warnings and not reason:
        first = warnings[0]
        raise RuleViolation(
            f"{first.message}; send with an override reason to send it anyway",
            code=first.code,
            details={"warnings": [{"code": w.code, "message": w.message} for w in warnings]},
        )
    organization = uow.organizations.get(organization_id)
    entity = uow.clients.get_billing_entity(organization_id, engagement.billing_entity_id)
    number = uow.numbers.take(organization_id, SeriesKind.INVOICE, invoice.current.issue_date)
    invoice.send(
        number=number,
        seller=seller_snapshot(organization),
        buyer=buyer_snapshot(entity),
        at=ctx.clock.now(),
        override_reason=reason if warnings else "",
        warnings=[w.code for w in warnings],
    )
    store(uow, invoice)
    if account is not None:
        settle(uow, organization_id, account)
    links = issue_links_to_contacts(
        ctx,
        uow,
        organization_id=organization_id,
        document_type=DocumentType.INVOICE,
        document_id=invoice.id,
        client_id=invoice.client_id,
    )
    subject, intro = invoice_email_text(
        number, organization.name, invoice.totals().due.format(), invoice.current.due_date
    )
    enqueue_link_emails(
        ctx,
        uow,
        organization_id=organization_id,
        document_type=DocumentType.INVOICE,
        document_id=invoice.id,
        subject=subject,
        intro=intro,
        issued=links,
        organization=organization,
    )
    if issued is not None:
        issued.extend(links)
    return invoice


def revise_invoice(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    lines: Sequence[LineInput] | None = None,
    notes: str | None = None,
) -> Invoice:
    """Answer a change request: version n+1 with the same number, sent at once."""
    with ctx.uow() as uow:
        account = locked_for_invoice(uow, organization_id, invoice_id)
        invoice = uow.invoices.get(organization_id, invoice_id, for_update=True)
        current = invoice.current
        revision = InvoiceVersion(
            version=current.version + 1,
            lines=parse_lines(lines, invoice.currency) if lines is not None else current.lines,
            issue_date=current.issue_date,
            due_date=current.due_date,
            currency=invoice.currency,
            purchase_order=invoice.effective_purchase_order(),
            notes=current.notes if notes is None else _notes(notes),
            quote_reference=current.quote_reference,
            prepaid=current.prepaid,
            advance_used=current.advance_used,
            created_at=ctx.clock.now(),
        )
        revised = _reapply_advance(account, invoice, revision)
        totals = revised.totals()
        account.check_revision(
            invoice.id,
            groups=totals.breakdown,
            net=totals.net,
            gross=totals.gross,
            prepaid=totals.prepaid,
        )
        invoice.revise(revised, at=ctx.clock.now())
        store(uow, invoice)
        settle(uow, organization_id, account)
        uow.commit()
    return invoice
