"""The billing plan: what goes out as of a date, as one pure function.

``plan_billing`` takes everything that could be billed (retainer schedules, one-off advances,
signed-off milestones, approved work items), what was already billed (billing keys), the POs
and the advance balances, and returns the invoices to create: one engagement, one invoice, one
PO. Retainer periods are billed on their invoice day; advances only once their invoice date has
come; milestones when signed off, never by calendar; approved out-of-scope work as one
change-order invoice per engagement. Running it again after execution returns nothing,
because every planned invoice has a billing key that the database keeps unique.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from engagebill.domain.advances import Advance
from engagebill.domain.engagement_account import prepaid_for
from engagebill.domain.engagements import Engagement, RetainerMode
from engagebill.domain.invoices import (
    MAX_LINES,
    InvoiceKind,
    InvoiceLine,
    PoRef,
    Totals,
    compute_totals,
)
from engagebill.domain.money import Money
from engagebill.domain.purchase_orders import PurchaseOrder, Warning
from engagebill.domain.quotes import Milestone, MilestoneState
from engagebill.domain.schedules import FirstBusinessDay, RetainerSchedule
from engagebill.domain.taxes import VatCategory
from engagebill.domain.work import WorkItem, WorkState


class Purpose(StrEnum):
    RETAINER = "retainer"
    ADVANCE = "advance"
    MILESTONE = "milestone"
    CHANGE_ORDER = "change_order"


@dataclass(frozen=True, slots=True)
class BillingInputs:
    as_of: date
    engagements: Mapping[str, Engagement]
    client_names: Mapping[str, str]
    schedules: Sequence[RetainerSchedule]
    advances: Sequence[Advance]
    milestones: Sequence[Milestone]
    work_items: Sequence[WorkItem]
    billed_keys: frozenset[str]
    purchase_orders: Mapping[str, PurchaseOrder]
    po_consumed: Mapping[str, Money]
    advance_available: Mapping[str, Money]
    first_business_day: FirstBusinessDay
    unapproved_work: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedInvoice:
    """One invoice the run will create, with everything needed to create it."""

    billing_key: str
    purpose: Purpose
    kind: InvoiceKind
    client_id: str
    client_name: str
    engagement_id: str
    engagement_name: str
    currency: str
    issue_date: date
    due_date: date
    lines: tuple[InvoiceLine, ...]
    purchase_order: PoRef | None
    quote_reference: str = ""
    warnings: tuple[Warning, ...] = ()
    source_ids: tuple[str, ...] = ()
    advance_used: Money | None = None
    prepaid: Money | None = None
    auto_send: bool = False

    def totals(self) -> Totals:
        return compute_totals(list(self.lines), self.currency, self.prepaid)


@dataclass(slots=True)
class Plan:
    as_of: date
    invoices: list[PlannedInvoice]
    notices: list[Warning] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.invoices


def work_billing_key(engagement_id: str, items: Iterable[WorkItem]) -> str:
    """Deterministic for a set of items: two runs planning the same work collide in the
    database instead of billing it twice."""
    digest = hashlib.sha256(",".join(sorted(i.id for i in items)).encode()).hexdigest()[:24]
    return f"work:{engagement_id}:{digest}"


class _PoTracker:
    """Running PO consumption inside one plan, so the third retainer of a capped PO warns."""

    def __init__(self, inputs: BillingInputs) -> None:
        self.inputs = inputs
        self.consumed = dict(inputs.po_consumed)

    def ref(self, engagement: Engagement) -> PoRef | None:
        po = self.inputs.purchase_orders.get(engagement.default_purchase_order_id or "")
        return PoRef(po.id, po.number) if po else None

    def warnings(
        self, engagement: Engagement, issue_date: date, net: Money, period_end: date | None
    ) -> tuple[Warning, ...]:
        po = self.inputs.purchase_orders.get(engagement.default_purchase_order_id or "")
        if po is None:
            return ()
        consumed = self.consumed.get(po.id, Money.zero(po.currency))
        found = po.warnings_for(issue_date=issue_date, consumed=consumed, amount=net)
        if (
            period_end is not None
            and po.valid_to is not None
            and issue_date <= po.valid_to < period_end
        ):
            found.append(
                Warning(
                    "po.expires_in_period",
                    f"PO {po.number} expires on {po.valid_to.isoformat()}, before the period "
                    f"ends on {period_end.isoformat()}",
                )
            )
        self.consumed[po.id] = consumed + net
        return tuple(found)


def _line(
    engagement: Engagement,
    description: str,
    quantity: Decimal,
    unit: str,
    price: Money,
    *,
    vat: tuple[VatCategory, Decimal] | None = None,
    **kw: object,
) -> InvoiceLine:
    """A line taxed as ``vat`` says, or by the engagement's VAT treatment."""
    category, rate = vat or (engagement.vat_category, engagement.vat_rate)
    return InvoiceLine(
        description=description,
        quantity=quantity,
        unit=unit,
        unit_price=price,
        vat_category=category,
        vat_rate=rate,
        **kw,  # type: ignore[arg-type]
    )


def plan_billing(inputs: BillingInputs) -> Plan:
    """Everything due as of ``inputs.as_of`` that is not billed yet, one invoice per source
    group, in a stable order (client, engagement, issue date, purpose)."""
    planned: list[PlannedInvoice] = []
    notices: list[Warning] = []
    pos = _PoTracker(inputs)
    available = dict(inputs.advance_available)
    billed = inputs.billed_keys

    def engagement_of(engagement_id: str) -> Engagement | None:
        return inputs.engagements.get(engagement_id)

    def make(
        engagement: Engagement,
        *,
        key: str,
        purpose: Purpose,
        kind: InvoiceKind,
        issue_date: date,
        lines: list[InvoiceLine],
        sources: tuple[str, ...],
        quote_reference: str = "",
        period_end: date | None = None,
        apply_advance: bool = False,
    ) -> PlannedInvoice:
        totals = compute_totals(lines, engagement.currency)
        used = prepaid = None
        if apply_advance:
            left = available.get(engagement.id, Money.zero(engagement.currency))
            used_net, paid = prepaid_for(totals.net, totals.gross, left)
            if not used_net.is_zero():
                used, prepaid = used_net, paid
                available[engagement.id] = left - used_net
        return PlannedInvoice(
            billing_key=key,
            purpose=purpose,
            kind=kind,
            client_id=engagement.client_id,
            client_name=inputs.client_names.get(engagement.client_id, ""),
            engagement_id=engagement.id,
            engagement_name=engagement.name,
            currency=engagement.currency,
            issue_date=issue_date,
            due_date=engagement.terms.due_date(issue_date),
            lines=tuple(lines),
            purchase_order=pos.ref(engagement),
            quote_reference=quote_reference,
            warnings=pos.warnings(engagement, issue_date, totals.net, period_end),
            source_ids=sources,
            advance_used=used,
            prepaid=prepaid,
            auto_send=engagement.auto_send,
        )

    # Retainer periods (fee or advance mode), on their invoice day.
    for schedule in inputs.schedules:
        engagement = engagement_of(schedule.engagement_id)
        if engagement is None or not schedule.active:
            continue
        for period in schedule.due_periods(inputs.as_of, inputs.first_business_day):
            key = schedule.billing_key(period)
            if key in billed:
                continue
            advance = schedule.mode is RetainerMode.ADVANCE
            lines = [
                _line(
                    engagement,
                    period.describe(schedule.line_template),
                    Decimal(1),
                    "C62",
                    schedule.amount,
                    vat=(schedule.vat_category, schedule.vat_rate),
                    source_ref=key,
                )
            ]
            planned.append(
                make(
                    engagement,
                    key=key,
                    purpose=Purpose.ADVANCE if advance else Purpose.RETAINER,
                    kind=InvoiceKind.ADVANCE if advance else InvoiceKind.STANDARD,
                    issue_date=period.invoice_date,
                    lines=lines,
                    sources=(schedule.id, period.key),
                    period_end=period.end,
                )
            )

    # One-off advances, from their invoice date on.
    for advance_item in inputs.advances:
        engagement = engagement_of(advance_item.engagement_id)
        if (
            engagement is None
            or advance_item.invoice_id
            or advance_item.invoice_date > inputs.as_of
        ):
            continue
        if advance_item.billing_key in billed:
            continue
        line = _line(
            engagement,
            advance_item.description,
            Decimal(1),
            "C62",
            advance_item.amount,
            vat=(advance_item.vat_category, advance_item.vat_rate),
            source_ref=advance_item.billing_key,
        )
        planned.append(
            make(
                engagement,
                key=advance_item.billing_key,
                purpose=Purpose.ADVANCE,
                kind=InvoiceKind.ADVANCE,
                issue_date=advance_item.invoice_date,
                lines=[line],
                sources=(advance_item.id,),
            )
        )

    # Signed-off milestones not yet invoiced: each on its own invoice, for the quoted amount.
    for milestone in inputs.milestones:
        engagement = engagement_of(milestone.engagement_id)
        if engagement is None or milestone.state is not MilestoneState.SIGNED_OFF:
            continue
        if milestone.billing_key in billed:
            continue
        line = _line(
            engagement,
            milestone.line_text(engagement.name),
            Decimal(1),
            "C62",
            milestone.amount,
            source_ref=milestone.billing_key,
        )
        signed = milestone.signed_off_at.date() if milestone.signed_off_at else inputs.as_of
        if signed > inputs.as_of:
            continue  # not signed off yet as of that date
        planned.append(
            make(
                engagement,
                key=milestone.billing_key,
                purpose=Purpose.MILESTONE,
                kind=InvoiceKind.STANDARD,
                issue_date=inputs.as_of,
                lines=[line],
                sources=(milestone.id,),
                quote_reference=milestone.quote_number,
                apply_advance=True,
            )
        )

    # Approved out-of-scope work: one change-order invoice per engagement, a line per item.
    by_engagement: dict[str, list[WorkItem]] = defaultdict(list)
    for item in inputs.work_items:
        if item.state is WorkState.APPROVED and item.work_date <= inputs.as_of:
            by_engagement[item.engagement_id].append(item)
    for engagement_id, all_items in by_engagement.items():
        engagement = engagement_of(engagement_id)
        if engagement is None:
            continue
        all_items.sort(key=lambda i: (i.work_date, i.created_at, i.id))
        # An invoice holds at most MAX_LINES lines: a bigger month becomes several invoices.
        for start in range(0, len(all_items), MAX_LINES):
            items = all_items[start : start + MAX_LINES]
            key = work_billing_key(engagement_id, items)
            if key in billed:
                continue
            lines = [
                _line(
                    engagement,
                    item.description,
                    item.hours,
                    "HUR",
                    item.rate,
                    source_ref=item.source_ref,
                    service_date=item.work_date,
                    person=item.person,
                    requester=item.requester or None,
                    approval_ref=item.approval_ref
                    or (f"override: {item.override_reason}" if item.override_reason else None),
                )
                for item in items
            ]
            planned.append(
                make(
                    engagement,
                    key=key,
                    purpose=Purpose.CHANGE_ORDER,
                    kind=InvoiceKind.STANDARD,
                    issue_date=inputs.as_of,
                    lines=lines,
                    sources=tuple(i.id for i in items),
                    apply_advance=True,
                )
            )

    for engagement_id, count in sorted(inputs.unapproved_work.items()):
        engagement = engagement_of(engagement_id)
        if engagement is not None and count:
            notices.append(
                Warning(
                    "work_item.no_written_approval",
                    f"{count} work item(s) on {engagement.name} have no written approval and "
                    "are not billed",
                )
            )

    order = list(Purpose)
    planned.sort(
        key=lambda p: (
            p.client_name.lower(),
            p.client_id,
            p.engagement_name.lower(),
            p.engagement_id,
            p.issue_date,
            order.index(p.purpose),
            p.billing_key,
        )
    )
    return Plan(as_of=inputs.as_of, invoices=planned, notices=notices)
