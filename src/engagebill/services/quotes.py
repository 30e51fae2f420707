"""Use cases of quotes and milestones: offer, revise, send, accept by typed name, decline, link
out-of-scope work to a mini-quote, and sign off a milestone.

This module owns the rules between aggregates. Which engagements take quotes: a fixed-price
project gets a milestone quote, a time-and-material engagement gets mini-quotes (change
orders), a retainer gets none. What an acceptance does: the accepted version's items become the
engagement's milestones, or the work items linked to the mini-quote are approved in writing.
And that signing off a milestone invoices it in the same transaction, through the billing plan
and under the milestone's unique billing key, so it is billed when signed off, exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from engagebill.domain.access import DocumentType
from engagebill.domain.billing import plan_billing
from engagebill.domain.engagements import Engagement, EngagementKind
from engagebill.domain.errors import Conflict, RuleViolation, ValidationError
from engagebill.domain.events import DomainEvent, EventRecord
from engagebill.domain.invoices import Invoice
from engagebill.domain.money import Money, parse_decimal
from engagebill.domain.numbering import SeriesKind
from engagebill.domain.parties import require_text
from engagebill.domain.purchase_orders import Warning
from engagebill.domain.quotes import (
    Milestone,
    MilestoneState,
    Quote,
    QuoteItem,
    QuoteState,
    QuoteVersion,
)
from engagebill.domain.work import WorkItem, WorkState
from engagebill.services.billing_run import create_planned, gather_inputs, send_if_automatic
from engagebill.services.delivery import (
    QUOTE_INVITATION,
    SIGN_OFF_INVITATION,
    enqueue_link_emails,
)
from engagebill.services.links import IssuedLink, issue_link, issue_links_to_contacts
from engagebill.services.ports import Context, UnitOfWork


@dataclass(frozen=True, slots=True)
class QuoteItemInput:
    """A milestone or mini-quote item as typed by a user; the amount is a decimal string."""

    name: str
    description: str
    amount: str | Decimal


@dataclass(slots=True)
class QuoteDetail:
    """One quote with what came of it: its milestones, its linked work, and its events."""

    quote: Quote
    milestones: list[Milestone]
    work_items: list[WorkItem]
    events: list[EventRecord]


@dataclass(slots=True)
class SignOff:
    """A signed-off milestone and the invoice created for it in the same transaction.

    ``held_reason`` says why an engagement that sends automatically kept the invoice a draft.
    """

    milestone: Milestone
    invoice: Invoice
    warnings: list[Warning] = field(default_factory=list)
    held_reason: str = ""


# Writing ----------------------------------------------------------------------------------


def parse_item(text: str) -> QuoteItemInput:
    """An item typed as ``NAME|DESCRIPTION|AMOUNT`` (the CLI's ``--item``, a line of the app's
    form); the description may itself hold ``|``."""
    name, _, rest = text.partition("|")
    description, separator, amount = rest.rpartition("|")
    if not separator:
        raise ValidationError(
            f"item {text.strip()!r} must be NAME|DESCRIPTION|AMOUNT",
            code="quote.invalid_item_format",
        )
    return QuoteItemInput(name=name.strip(), description=description.strip(), amount=amount)


def _store(uow: UnitOfWork, quote: Quote, *, new: bool = False) -> None:
    """Write the quote and append its queued events, in the caller's transaction."""
    if new:
        uow.quotes.add(quote)
    else:
        uow.quotes.save(quote)
    uow.events.append(quote.organization_id, quote.pending_events)
    quote.pending_events.clear()


def _require_quotable(engagement: Engagement) -> None:
    # A retainer bills a fixed scope on a calendar; an offer on it would have nothing to bill.
    if engagement.kind is EngagementKind.RETAINER:
        raise RuleViolation(
            f"{engagement.name} is a retainer engagement; quotes belong to fixed-price projects "
            "(milestones) and time-and-material engagements (mini-quotes)",
            code="quote.retainer_engagement",
            details={"engagement_id": engagement.id},
        )


def _amount(value: str | Decimal, currency: str) -> Money:
    money = Money.of(parse_decimal(value, field="amount", code="quote.invalid_amount"), currency)
    if not money.is_whole_minor():
        raise ValidationError(
            f"amount {value} has more decimals than {currency} allows",
            code="quote.invalid_amount",
        )
    return money


def _parse_items(items: Sequence[QuoteItemInput], currency: str) -> list[QuoteItem]:
    parsed: list[QuoteItem] = []
    for position, item in enumerate(items, start=1):
        try:
            parsed.append(
                QuoteItem(
                    name=require_text(item.name, "name", max_length=300),
                    description=(item.description or "").strip(),
                    amount=_amount(item.amount, currency),
                )
            )
        except ValidationError as exc:
            raise ValidationError(
                f"item {position}: {exc.message}",
                code=exc.code,
                details={**exc.details, "item": position},
            ) from None
    return parsed


def _version(
    *,
    title: str,
    items: list[QuoteItem],
    total: str | Decimal | None,
    currency: str,
    at: datetime,
) -> QuoteVersion:
    """A version whose total is the sum of its items, or the given total when it matches
    (the domain refuses one that does not)."""
    quoted = (
        _amount(total, currency)
        if total is not None and str(total).strip()
        else Money.sum((i.amount for i in items), currency)
    )
    return QuoteVersion(
        version=1,
        title=require_text(title, "title", max_length=300),
        items=items,
        total=quoted,
        created_at=at,
    )


def create_quote(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str,
    title: str,
    items: Sequence[QuoteItemInput],
    total: str | Decimal | None = None,
) -> Quote:
    """A draft quote (version 1, no number): milestones on a fixed-price engagement, a
    mini-quote on a time-and-material one."""
    with ctx.uow() as uow:
        engagement = uow.engagements.get(organization_id, engagement_id)
        _require_quotable(engagement)
        now = ctx.clock.now()
        version = _version(
            title=title,
            items=_parse_items(items, engagement.currency),
            total=total,
            currency=engagement.currency,
            at=now,
        )
        quote = Quote(
            id=ctx.ids("quo"),
            organization_id=organization_id,
            engagement_id=engagement.id,
            client_id=engagement.client_id,
            currency=engagement.currency,
            state=QuoteState.DRAFT,
            versions=[version],
            created_at=now,
        )
        quote._event(
            "quote.created",
            now,
            engagement_id=engagement.id,
            engagement_kind=engagement.kind.value,
            total=str(version.total.amount),
        )
        _store(uow, quote, new=True)
        uow.commit()
    return quote


def revise_quote(
    ctx: Context,
    *,
    organization_id: str,
    quote_id: str,
    title: str | None = None,
    items: Sequence[QuoteItemInput] | None = None,
    total: str | Decimal | None = None,
) -> Quote:
    """A new version of a draft or sent quote; what is not given is kept from the current
    version. A sent quote's new version is hashed at once, so it can be accepted."""
    if title is None and items is None and total is None:
        raise ValidationError(
            "a revision needs a new title, new items or a new total", code="quote.no_changes"
        )
    with ctx.uow() as uow:
        quote = uow.quotes.get(organization_id, quote_id, for_update=True)
        current = quote.current
        now = ctx.clock.now()
        revision = _version(
            title=current.title if title is None else title,
            items=list(current.items) if items is None else _parse_items(items, quote.currency),
            total=total,
            currency=quote.currency,
            at=now,
        )
        quote.revise(revision, now)
        _store(uow, quote)
        uow.commit()
    return quote


def send_quote(
    ctx: Context,
    *,
    organization_id: str,
    quote_id: str,
    issued: list[IssuedLink] | None = None,
) -> Quote:
    """Send a draft: it takes the next number of the organization's quote series, and every
    version is hashed with it. Each AP contact gets a private link by email (the outbox, in
    this transaction), as for an invoice; the links just issued, with their one-time tokens,
    are appended to ``issued`` when given."""
    with ctx.uow() as uow:
        quote = uow.quotes.get(organization_id, quote_id, for_update=True)
        # A quote keeps its number for life; a refused send rolls the counter back with it.
        number = quote.number or uow.numbers.take(
            organization_id, SeriesKind.QUOTE, ctx.clock.today()
        )
        quote.send(number, ctx.clock.now())
        _store(uow, quote)
        links = issue_links_to_contacts(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.QUOTE,
            document_id=quote.id,
            client_id=quote.client_id,
        )
        organization = uow.organizations.get(organization_id)
        current = quote.current
        enqueue_link_emails(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.QUOTE,
            document_id=quote.id,
            subject=f"Quote {quote.number} from {organization.name}: {current.title}",
            intro=f"{organization.name} sends you quote {quote.number}, {current.title}, "
            f"for {current.total.format()}.",
            issued=links,
            organization=organization,
            invitation=QUOTE_INVITATION,
        )
        uow.commit()
    if issued is not None:
        issued.extend(links)
    return quote


def accept_quote(
    ctx: Context,
    *,
    organization_id: str,
    quote_id: str,
    name: str,
    shown_hash: str | None = None,
) -> Quote:
    """The recipient accepts the current version by typing their name.

    ``shown_hash`` is the hash of the version the recipient saw; a revision since then is
    refused. On a fixed-price engagement the accepted items become the engagement's milestones;
    on a time-and-material engagement the acceptance approves the work linked to the quote.
    """
    typed_name = require_text(name, "typed name", max_length=200)
    with ctx.uow() as uow:
        quote = uow.quotes.get(organization_id, quote_id, for_update=True)
        engagement = uow.engagements.get(organization_id, quote.engagement_id)
        now = ctx.clock.now()
        quote.accept(name=typed_name, at=now, shown_hash=(shown_hash or "").strip() or None)
        _store(uow, quote)
        if engagement.kind is EngagementKind.FIXED_PRICE:
            _plan_milestones(ctx, uow, quote, now)
        elif engagement.kind is EngagementKind.TIME_AND_MATERIAL:
            _approve_work(uow, quote, uow.work.list(organization_id, quote_id=quote.id), now)
        uow.commit()
    return quote


def _plan_milestones(ctx: Context, uow: UnitOfWork, quote: Quote, at: datetime) -> None:
    """The accepted version's items, as planned milestones of the engagement."""
    # Positions continue after the engagement's earlier milestones, so that "Milestone 2" on an
    # invoice names one instalment of the project even when a second quote adds more.
    earlier = uow.quotes.milestones(quote.organization_id, quote.engagement_id)
    start = max((m.position for m in earlier), default=0)
    assert quote.number is not None  # only a sent quote can be accepted
    milestones = [
        Milestone(
            id=ctx.ids("ms"),
            organization_id=quote.organization_id,
            engagement_id=quote.engagement_id,
            quote_id=quote.id,
            quote_number=quote.number,
            position=start + n,
            name=item.name,
            description=item.description,
            amount=item.amount,
            state=MilestoneState.PLANNED,
            created_at=at,
        )
        for n, item in enumerate(quote.current.items, start=1)
    ]
    uow.quotes.add_milestones(milestones)
    uow.events.append(
        quote.organization_id,
        [
            DomainEvent(
                "milestone.planned",
                "milestone",
                m.id,
                at,
                {
                    "engagement_id": m.engagement_id,
                    "quote_number": m.quote_number,
                    "position": m.position,
                    "name": m.name,
                    "amount": str(m.amount.amount),
                },
            )
            for m in milestones
        ],
    )


def _approve_work(uow: UnitOfWork, quote: Quote, items: Sequence[WorkItem], at: datetime) -> None:
    """The accepted mini-quote is the written approval of its unapproved linked work."""
    assert quote.accepted_at is not None
    reference = (
        f"Quote {quote.number} accepted by {quote.accepted_by} on "
        f"{quote.accepted_at.date().isoformat()}"
    )
    events: list[DomainEvent] = []
    for item in items:
        if item.state is not WorkState.UNAPPROVED:
            continue
        item.approve(approval_ref=reference)
        uow.work.save(item)
        events.append(
            DomainEvent(
                "work_item.approved",
                "work_item",
                item.id,
                at,
                {
                    "engagement_id": item.engagement_id,
                    "quote_id": quote.id,
                    "approval_ref": reference,
                },
            )
        )
    uow.events.append(quote.organization_id, events)


def decline_quote(ctx: Context, *, organization_id: str, quote_id: str, reason: str) -> Quote:
    """The recipient declines a sent quote, for a recorded reason."""
    text = require_text(reason, "reason", max_length=2000, multiline=True)
    with ctx.uow() as uow:
        quote = uow.quotes.get(organization_id, quote_id, for_update=True)
        quote.decline(reason=text, at=ctx.clock.now())
        _store(uow, quote)
        uow.commit()
    return quote


def link_work_to_quote(
    ctx: Context, *, organization_id: str, quote_id: str, work_item_ids: Sequence[str]
) -> list[WorkItem]:
    """Put unapproved work items under a mini-quote, so that its acceptance approves them.

    Work linked to a mini-quote that is already accepted is approved at once by it.
    """
    with ctx.uow() as uow:
        # Locked, so that a concurrent acceptance sees either all of these links or none.
        quote = uow.quotes.get(organization_id, quote_id, for_update=True)
        engagement = uow.engagements.get(organization_id, quote.engagement_id)
        if engagement.kind is not EngagementKind.TIME_AND_MATERIAL:
            raise RuleViolation(
                "only a mini-quote on a time-and-material engagement approves work items",
                code="quote.not_a_mini_quote",
            )
        if quote.state is QuoteState.DECLINED:
            raise RuleViolation(
                "this quote was declined; it approves no work", code="quote.declined"
            )
        items = [uow.work.get(organization_id, i, for_update=True) for i in work_item_ids]
        now = ctx.clock.now()
        for item in items:
            _link(item, quote)
            uow.work.save(item)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "work_item.linked_to_quote",
                    "work_item",
                    item.id,
                    now,
                    {"quote_id": quote.id, "quote_number": quote.number},
                )
                for item in items
            ],
        )
        if quote.state is QuoteState.ACCEPTED:
            _approve_work(uow, quote, items, now)
        uow.commit()
    return items


def _link(item: WorkItem, quote: Quote) -> None:
    if item.engagement_id != quote.engagement_id:
        raise RuleViolation(
            "a work item can only be linked to a quote of its own engagement",
            code="work_item.wrong_engagement",
            details={"work_item_id": item.id},
        )
    if item.state is not WorkState.UNAPPROVED:
        raise RuleViolation(
            f"work item {item.id} is already {item.state.value}; only unapproved work is "
            "approved by a mini-quote",
            code="work_item.not_linkable",
            details={"work_item_id": item.id, "state": item.state.value},
        )
    item.quote_id = quote.id


def sign_off_milestone(
    ctx: Context, *, organization_id: str, milestone_id: str, by: str
) -> SignOff:
    """Record who signed the milestone off and when, and invoice it at once.

    One transaction: the sign-off, its event, the milestone invoice (planned by
    ``plan_billing`` like any run would, so the line, PO, quote reference and advance are the
    same), the milestone marked invoiced, and the send when the engagement sends automatically.
    The invoice's unique billing key and ``Milestone.mark_invoiced`` make a second invoice
    impossible.
    """
    signer = require_text(by, "signed off by", max_length=200)
    with ctx.uow() as uow:
        milestone = uow.quotes.get_milestone(organization_id, milestone_id, for_update=True)
        uow.events.append(organization_id, [milestone.sign_off(by=signer, at=ctx.clock.now())])
        uow.quotes.save_milestone(milestone)
        inputs = gather_inputs(
            uow,
            organization_id,
            ctx.clock.today(),
            ctx.calendars,
            engagement_ids=[milestone.engagement_id],
        )
        planned = next(
            (p for p in plan_billing(inputs).invoices if p.billing_key == milestone.billing_key),
            None,
        )
        if planned is None:  # an invoice already holds the key
            raise Conflict(
                f"milestone {milestone.position} ({milestone.name}) has already been invoiced",
                code="milestone.already_invoiced",
                details={"billing_key": milestone.billing_key},
            )
        invoice = create_planned(ctx, uow, organization_id, planned)
        sent, held_reason = send_if_automatic(ctx, uow, organization_id, planned, invoice)
        invoiced = uow.quotes.get_milestone(organization_id, milestone_id)
        uow.commit()
    return SignOff(
        milestone=invoiced,
        invoice=sent or invoice,
        warnings=list(planned.warnings),
        held_reason=held_reason,
    )


def request_sign_off(
    ctx: Context,
    *,
    organization_id: str,
    milestone_id: str,
    recipient_email: str,
    recipient_name: str = "",
) -> IssuedLink:
    """Ask someone at the client (the project lead who accepts the deliverable) to sign a
    planned milestone off through a private link of their own. The link is emailed to them
    (the outbox, in this transaction) and returned with its one-time token."""
    with ctx.uow() as uow:
        milestone = uow.quotes.get_milestone(organization_id, milestone_id)
        milestone.require_signable()
        issued = issue_link(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.MILESTONE,
            document_id=milestone.id,
            recipient_email=recipient_email,
            recipient_name=recipient_name,
        )
        organization = uow.organizations.get(organization_id)
        what = (
            f"milestone {milestone.position}, {milestone.name}, of quote {milestone.quote_number}"
        )
        enqueue_link_emails(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.MILESTONE,
            document_id=milestone.id,
            subject=f"Please sign off {what}",
            intro=f"{organization.name} asks you to sign off {what} "
            f"({milestone.amount.format()}): once you do, it is invoiced as quoted.",
            issued=[issued],
            reason="sign_off",
            organization=organization,
            invitation=SIGN_OFF_INVITATION,
        )
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "milestone.sign_off_requested",
                    "milestone",
                    milestone.id,
                    ctx.clock.now(),
                    {"recipient_email": issued.link.recipient_email, "link_id": issued.link.id},
                )
            ],
        )
        uow.commit()
    return issued


# Reading ----------------------------------------------------------------------------------


def list_quotes(
    ctx: Context, *, organization_id: str, engagement_id: str | None = None
) -> list[Quote]:
    with ctx.read() as uow:
        if engagement_id is not None:
            uow.engagements.get(organization_id, engagement_id)  # NotFound if not ours
        return uow.quotes.list_quotes(organization_id, engagement_id)


def get_quote(ctx: Context, *, organization_id: str, quote_id: str) -> QuoteDetail:
    with ctx.read() as uow:
        quote = uow.quotes.get(organization_id, quote_id)
        return QuoteDetail(
            quote=quote,
            milestones=[
                m
                for m in uow.quotes.milestones(organization_id, quote.engagement_id)
                if m.quote_id == quote.id
            ],
            work_items=uow.work.list(organization_id, quote_id=quote.id),
            events=uow.events.for_subject(organization_id, quote.id),
        )


def get_milestone(ctx: Context, *, organization_id: str, milestone_id: str) -> Milestone:
    with ctx.read() as uow:
        return uow.quotes.get_milestone(organization_id, milestone_id)


def list_milestones(
    ctx: Context,
    *,
    organization_id: str,
    engagement_id: str | None = None,
    states: Sequence[MilestoneState] = (),
) -> list[Milestone]:
    with ctx.read() as uow:
        if engagement_id is not None:
            uow.engagements.get(organization_id, engagement_id)  # NotFound if not ours
        found = uow.quotes.milestones(organization_id, engagement_id, states)
    # In the order they are billed in: by engagement, then by position across its quotes.
    return sorted(found, key=lambda m: (m.engagement_id, m.position, m.created_at))
