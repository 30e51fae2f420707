"""The billing run: plan what goes out as of a date, and execute the plan.

Planning reads what could be billed and calls the pure ``plan_billing``; the plan also shows
the number each invoice will get if sent in plan order. Execution creates the invoices, one
transaction per engagement, marks their sources (milestone invoiced, work items billed, advance
invoiced) in that transaction, and sends those of engagements that send automatically.
Running twice, concurrently, or again after a crash never duplicates anything: every planned
invoice's billing key is unique in the database, and work items move from approved to billed
only if they still are approved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from engagebill.domain.billing import BillingInputs, Plan, PlannedInvoice, Purpose, plan_billing
from engagebill.domain.engagement_account import prepaid_for
from engagebill.domain.errors import ConcurrencyConflict, Conflict, RuleViolation, ValidationError
from engagebill.domain.invoices import Invoice, InvoiceVersion, compute_totals
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.numbering import SeriesKind
from engagebill.domain.quotes import MilestoneState
from engagebill.domain.work import WorkState
from engagebill.services.collector import collector_paused, survivors_frozen
from engagebill.services.engagement_account import settle_many
from engagebill.services.invoicing import create_draft, send_invoice
from engagebill.services.ports import (
    Calendars,
    Context,
    InvoiceFilter,
    InvoiceSummary,
    UnitOfWork,
)

# Warnings that make an automatic send wait for a person.
BLOCKING = frozenset({"po.expired", "po.not_yet_valid", "po.ceiling_exceeded"})


@dataclass(slots=True)
class PlanView:
    """A plan with the numbers its invoices will get when sent in this order."""

    plan: Plan
    numbers: list[str]

    def rows(self) -> list[tuple[PlannedInvoice, str]]:
        return list(zip(self.plan.invoices, self.numbers, strict=True))


@dataclass(slots=True)
class RunResult:
    as_of: date
    planned: int
    created: list[Invoice] = field(default_factory=list)
    sent: list[Invoice] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # billing keys another run got first
    held: list[tuple[str, str]] = field(default_factory=list)  # (invoice id, reason) not sent


def gather_inputs(
    uow: UnitOfWork,
    organization_id: str,
    as_of: date,
    calendars: Calendars,
    *,
    engagement_ids: Sequence[str] | None = None,
) -> BillingInputs:
    """Read everything ``plan_billing`` needs, for one organization (or some engagements)."""
    organization = uow.organizations.get(organization_id)
    wanted = set(engagement_ids) if engagement_ids is not None else None
    engagements = {
        e.id: e for e in uow.engagements.list(organization_id) if wanted is None or e.id in wanted
    }
    clients = uow.clients.names(organization_id)
    schedules = [
        s for s in uow.retainers.schedules(organization_id) if s.engagement_id in engagements
    ]
    advances = [
        a
        for a in uow.retainers.advances(organization_id, uninvoiced_only=True)
        if a.engagement_id in engagements
    ]
    milestones = [
        m
        for m in uow.quotes.milestones(organization_id, states=[MilestoneState.SIGNED_OFF])
        if m.engagement_id in engagements
    ]
    work = [
        w
        for w in uow.work.list(organization_id, states=[WorkState.APPROVED])
        if w.engagement_id in engagements
    ]
    unapproved = {
        eid: n
        for eid, n in uow.work.unapproved_counts(organization_id).items()
        if eid in engagements
    }
    purchase_orders = {po.id: po for po in uow.purchase_orders.list(organization_id)}
    consumed = uow.purchase_orders.consumed_all(organization_id)
    # Advance balances only matter where something could draw them down, on engagements that
    # have an advance at all.
    drawing = {m.engagement_id for m in milestones} | {w.engagement_id for w in work}
    drawing &= uow.retainers.engagements_with_advances(organization_id)
    # What is available now, not as of the run's date: drafts of any date reserve their
    # draws, so a run for an earlier month never spends what a later draft holds.
    accounts = uow.accounts.load_many(
        organization_id, {eid: engagements[eid].currency for eid in sorted(drawing)}
    )
    available = {eid: account.advance.available for eid, account in accounts.items()}
    first_business_day = calendars.first_business_day(organization.country_code)
    keys = [s.billing_key(p) for s in schedules for p in s.due_periods(as_of, first_business_day)]
    keys += [a.billing_key for a in advances] + [m.billing_key for m in milestones]
    return BillingInputs(
        as_of=as_of,
        engagements=engagements,
        client_names=clients,
        schedules=schedules,
        advances=advances,
        milestones=milestones,
        work_items=work,
        billed_keys=frozenset(uow.invoices.existing_billing_keys(organization_id, keys)),
        purchase_orders=purchase_orders,
        po_consumed=consumed,
        advance_available=available,
        first_business_day=first_business_day,
        unapproved_work=unapproved,
    )


def plan_run(ctx: Context, *, organization_id: str, as_of: date) -> PlanView:
    """What a run as of ``as_of`` would create, with the numbers in plan order."""
    # The plan is built from everything billable and is what the caller keeps: a collector
    # pass during or after it would walk the whole graph and free nothing.
    with ctx.uow() as uow, collector_paused(collect_after=False):
        plan = plan_billing(gather_inputs(uow, organization_id, as_of, ctx.calendars))
        numbers = uow.numbers.preview(
            organization_id, SeriesKind.INVOICE, [p.issue_date for p in plan.invoices]
        )
    return PlanView(plan, numbers)


def create_planned(
    ctx: Context, uow: UnitOfWork, organization_id: str, planned: PlannedInvoice
) -> Invoice:
    """Create one planned invoice and mark its sources, inside the caller's transaction."""
    result = create_draft(
        ctx,
        organization_id=organization_id,
        engagement_id=planned.engagement_id,
        parsed_lines=list(planned.lines),
        issue_date=planned.issue_date,
        purchase_order_id=planned.purchase_order.id if planned.purchase_order else None,
        quote_reference=planned.quote_reference,
        billing_key=planned.billing_key,
        kind=planned.kind,
        prepaid=planned.prepaid,
        advance_used=planned.advance_used,
        check_po=False,  # the plan has checked the PO, with the run's own consumption
        uow=uow,
    )
    invoice = result.invoice
    if planned.purpose is Purpose.MILESTONE:
        milestone = uow.quotes.get_milestone(
            organization_id, planned.source_ids[0], for_update=True
        )
        milestone.mark_invoiced(invoice.id)
        uow.quotes.save_milestone(milestone)
    elif planned.purpose is Purpose.CHANGE_ORDER:
        uow.work.mark_billed(organization_id, planned.source_ids, invoice.id)
    elif planned.purpose is Purpose.ADVANCE and not planned.billing_key.startswith("retainer:"):
        uow.retainers.mark_advance_invoiced(organization_id, planned.source_ids[0], invoice.id)
    return invoice


def send_if_automatic(
    ctx: Context, uow: UnitOfWork, organization_id: str, planned: PlannedInvoice, invoice: Invoice
) -> tuple[Invoice | None, str]:
    """Send when the engagement sends automatically and nothing needs a person's look."""
    if not planned.auto_send:
        return None, ""
    blocking = [w for w in planned.warnings if w.code in BLOCKING]
    if blocking:
        return None, blocking[0].message
    try:
        return send_invoice(
            ctx, organization_id=organization_id, invoice_id=invoice.id, uow=uow
        ), ""
    except RuleViolation as exc:  # raised before anything is written for the send
        return None, exc.message


def draft_from_plan(ctx: Context, organization_id: str, planned: PlannedInvoice) -> Invoice:
    """The draft a planned invoice becomes, with its ``invoice.created`` event queued."""
    now = ctx.clock.now()
    version = InvoiceVersion(
        version=1,
        lines=list(planned.lines),
        issue_date=planned.issue_date,
        due_date=planned.due_date,
        currency=planned.currency,
        purchase_order=planned.purchase_order,
        quote_reference=planned.quote_reference,
        prepaid=planned.prepaid,
        advance_used=planned.advance_used,
        created_at=now,
    )
    invoice = Invoice(
        id=ctx.ids("inv"),
        organization_id=organization_id,
        client_id=planned.client_id,
        engagement_id=planned.engagement_id,
        currency=planned.currency,
        state=InvoiceState.DRAFT,
        versions=[version],
        created_at=now,
        billing_key=planned.billing_key,
        kind=planned.kind,
    )
    invoice._event(
        "invoice.created",
        now,
        engagement_id=planned.engagement_id,
        lines=len(planned.lines),
        billing_key=planned.billing_key,
    )
    return invoice


def _draw_under_lock(
    uow: UnitOfWork, organization_id: str, batch: Sequence[PlannedInvoice]
) -> tuple[list[PlannedInvoice], dict[str, str]]:
    """The batch with each draw on an advance decided again under the engagement's account
    lock, in plan order: the plan read the balances before any lock, and another process may
    have drawn or refunded since. A draft draws at most what the plan said, and never more
    than is left. Returns the batch and the engagements whose accounts it locked."""
    currencies = {p.engagement_id: p.currency for p in batch if p.advance_used is not None}
    if not currencies:
        return list(batch), {}
    uow.accounts.lock_many(organization_id, currencies)
    accounts = uow.accounts.load_many(organization_id, currencies)
    left = {eid: account.advance.available for eid, account in accounts.items()}
    drawn: list[PlannedInvoice] = []
    for planned in batch:
        if planned.advance_used is None:
            drawn.append(planned)
            continue
        totals = compute_totals(list(planned.lines), planned.currency)
        cap = min(left[planned.engagement_id], planned.advance_used)
        used, prepaid = prepaid_for(totals.net, totals.gross, cap)
        left[planned.engagement_id] -= used
        drawn.append(
            replace(
                planned,
                advance_used=None if used.is_zero() else used,
                prepaid=None if used.is_zero() else prepaid,
            )
        )
    return drawn, currencies


def _create_batch(
    ctx: Context,
    uow: UnitOfWork,
    organization_id: str,
    batch: Sequence[PlannedInvoice],
    result: RunResult,
) -> None:
    """Create a batch of planned invoices with a handful of statements, marking their sources
    in the same transaction. Every engagement's invoices are in one batch, so each engagement
    is still all or nothing."""
    batch, drawing = _draw_under_lock(uow, organization_id, batch)
    drafts = [draft_from_plan(ctx, organization_id, planned) for planned in batch]
    uow.invoices.add_many(drafts)
    if drawing:
        settle_many(uow, organization_id, drawing)
    milestones: dict[str, str] = {}
    work: dict[str, str] = {}
    for planned, invoice in zip(batch, drafts, strict=True):
        if planned.purpose is Purpose.MILESTONE:
            milestones[planned.source_ids[0]] = invoice.id
        elif planned.purpose is Purpose.CHANGE_ORDER:
            work.update(dict.fromkeys(planned.source_ids, invoice.id))
        elif planned.purpose is Purpose.ADVANCE and not planned.billing_key.startswith("retainer:"):
            uow.retainers.mark_advance_invoiced(organization_id, planned.source_ids[0], invoice.id)
    uow.quotes.mark_milestones_invoiced(organization_id, milestones)
    uow.work.mark_billed_many(organization_id, work)
    uow.events.append(organization_id, [e for d in drafts for e in d.pending_events])
    for d in drafts:
        d.pending_events.clear()
    created, sent, held = list(drafts), [], []
    for planned, invoice in zip(batch, drafts, strict=True):
        sent_invoice, reason = send_if_automatic(ctx, uow, organization_id, planned, invoice)
        if sent_invoice is not None:
            sent.append(sent_invoice)
        elif reason:
            held.append((invoice.id, reason))
    uow.commit()
    result.created += created
    result.sent += sent
    result.held += held


def _create_group(
    ctx: Context, organization_id: str, group: Sequence[PlannedInvoice], result: RunResult
) -> bool:
    """One engagement in its own transaction; False when another run got there first."""
    try:
        with ctx.uow() as uow:
            _create_batch(ctx, uow, organization_id, group, result)
        return True
    except (Conflict, ConcurrencyConflict):
        result.skipped += [p.billing_key for p in group]
        return False


def execute_run(
    ctx: Context,
    *,
    organization_id: str,
    as_of: date,
    progress: Callable[[int, int], None] | None = None,
    max_passes: int = 3,
    batch_size: int = 250,
) -> RunResult:
    """Create what the plan says.

    Engagements are written in batches of about ``batch_size`` invoices, one transaction
    each, never splitting an engagement: an engagement's invoices and the marking of their
    sources commit together or not at all. A batch that meets another run's work (a billing
    key taken, a work item billed meanwhile) is rolled back and redone one engagement per
    transaction, so only the engagements really taken are skipped; a further pass re-plans
    until nothing is left.
    """
    result = RunResult(as_of=as_of, planned=0)
    for attempt in range(max_passes):
        view = plan_run(ctx, organization_id=organization_id, as_of=as_of)
        if attempt == 0:
            result.planned = len(view.plan.invoices)
        if view.plan.is_empty():
            break
        with survivors_frozen():  # the plan lives to the end; the batches do not
            groups: dict[str, list[PlannedInvoice]] = {}
            for planned in view.plan.invoices:
                groups.setdefault(planned.engagement_id, []).append(planned)
            batches: list[list[list[PlannedInvoice]]] = [[]]
            in_batch = 0
            for group in groups.values():
                if in_batch + len(group) > batch_size and batches[-1]:
                    batches.append([])
                    in_batch = 0
                batches[-1].append(group)
                in_batch += len(group)
            done, lost = 0, 0
            for batch in batches:
                try:
                    with ctx.uow() as uow:
                        _create_batch(
                            ctx, uow, organization_id, [p for g in batch for p in g], result
                        )
                except (Conflict, ConcurrencyConflict):
                    lost += sum(not _create_group(ctx, organization_id, g, result) for g in batch)
                done += sum(len(g) for g in batch)
                if progress is not None:
                    progress(done, len(view.plan.invoices))
        if not lost:
            break
    return result


@dataclass(slots=True)
class MonthView:
    """A month for each client: invoices already created (sent or draft), and what is still
    due."""

    month: str
    issued: list[InvoiceSummary]
    due: PlanView


def parse_month(month: str) -> tuple[date, date]:
    try:
        year, number = (int(x) for x in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise ValidationError(
            f"month {month!r} must look like 2025-03", code="validation.invalid_month"
        ) from None
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first, last


def month_overview(ctx: Context, *, organization_id: str, month: str) -> MonthView:
    """Per client: what was issued in the month (with numbers and POs) and what is still due
    by its last day."""
    first, last = parse_month(month)
    with ctx.uow() as uow:
        # Drafts dated in the month are shown too: they are this month's, waiting to be sent.
        issued = uow.invoices.list(
            organization_id, InvoiceFilter(issued_from=first, issued_to=last, limit=100_000)
        )
    issued.sort(key=lambda r: (r.client_name.lower(), r.issue_date, r.number or ""))
    return MonthView(month, issued, plan_run(ctx, organization_id=organization_id, as_of=last))
