"""What the MCP tools take and give back: pydantic models the SDK publishes as each tool's
``inputSchema`` and ``outputSchema``, and the presenters that turn domain objects into them.

The conventions are the REST API's: money is a decimal string with its currency (a JSON
number would invite floats), dates are ISO 8601, ids are the prefixed strings the services
return. Outputs are slimmer than the API's bodies, because an assistant reads every token:
an invoice carries its current version only, and reports carry what answers the question.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from engagebill.domain.billing import PlannedInvoice
from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.engagement_account import AdvanceFigures
from engagebill.domain.engagements import Engagement
from engagebill.domain.invoices import Invoice, InvoiceLine, PoRef, Totals
from engagebill.domain.parties import Client
from engagebill.entrypoints.api.schemas import Day, Decimalish
from engagebill.entrypoints.api.schemas import QuoteItems as QuoteItems

# Shared with every machine interface; re-exported for this interface's modules.
from engagebill.entrypoints.outputs import CreditBalance as CreditBalance
from engagebill.entrypoints.outputs import Credited as Credited
from engagebill.entrypoints.outputs import Drawn as Drawn
from engagebill.entrypoints.outputs import EngagementAccountOut as EngagementAccountOut
from engagebill.entrypoints.outputs import Gross as Gross
from engagebill.entrypoints.outputs import InvoicePositionOut as InvoicePositionOut
from engagebill.entrypoints.outputs import MilestoneOut as MilestoneOut
from engagebill.entrypoints.outputs import Model as Model
from engagebill.entrypoints.outputs import MoneyOut as MoneyOut
from engagebill.entrypoints.outputs import Outstanding as Outstanding
from engagebill.entrypoints.outputs import Paid as Paid
from engagebill.entrypoints.outputs import PaymentStatusText as PaymentStatusText
from engagebill.entrypoints.outputs import QuoteOut as QuoteOut
from engagebill.entrypoints.outputs import QuoteSummaryOut as QuoteSummaryOut
from engagebill.entrypoints.outputs import WarningOut as WarningOut
from engagebill.entrypoints.outputs import WorkItemOut as WorkItemOut
from engagebill.entrypoints.outputs import engagement_account_out as engagement_account_out
from engagebill.entrypoints.outputs import milestone_out as milestone_out
from engagebill.entrypoints.outputs import money as money
from engagebill.entrypoints.outputs import position_fields as position_fields
from engagebill.entrypoints.outputs import quote_out as quote_out
from engagebill.entrypoints.outputs import quote_summary_out as quote_summary_out
from engagebill.entrypoints.outputs import warnings_out as warnings_out
from engagebill.entrypoints.outputs import work_item_out as work_item_out
from engagebill.services.billing_run import PlanView, RunResult
from engagebill.services.lines import LineInput
from engagebill.services.links import IssuedLink
from engagebill.services.ports import InvoiceSummary
from engagebill.services.queries import PurchaseOrderUsage
from engagebill.services.reports import (
    ChaseItem,
    ClientLifecycle,
    InvoiceStanding,
    RevenueReport,
)


# --- inputs ----------------------------------------------------------------------------------
def _id(what: str, prefix: str) -> object:
    return Field(min_length=1, max_length=100, description=f"{what} id ({prefix}_...)")


ClientId = Annotated[str, _id("Client", "cli")]
EngagementId = Annotated[str, _id("Engagement", "eng")]
InvoiceId = Annotated[str, _id("Invoice", "inv")]
MilestoneId = Annotated[str, _id("Milestone", "ms")]
WorkItemId = Annotated[str, _id("Work item", "work")]
PurchaseOrderId = Annotated[str, _id("Purchase order", "po")]
QuoteId = Annotated[str, _id("Quote", "quo")]

IdempotencyKey = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=200,
        description="Optional. The same key with the same arguments replays the first result "
        "instead of doing the work again; the same key with other arguments is refused "
        "(idempotency.key_reused). Use a new key for every new write.",
    ),
]
AsOf = Annotated[Day, Field(description="The day the question is asked as of (YYYY-MM-DD)")]
OptionalAsOf = Annotated[
    Day | None, Field(description="The day ages are counted to (YYYY-MM-DD); default today")
]
UnopenedDays = Annotated[
    int, Field(ge=0, le=365, description="Sent this many days ago and never opened: stuck")
]
Limit = Annotated[int, Field(ge=1, le=500, description="At most this many rows")]
ShortText = Annotated[str, Field(max_length=200)]
Reason = Annotated[str, Field(max_length=2000)]


class LineIn(Model):
    """An invoice or credit-note line as typed: amounts and rates are decimal strings."""

    description: Annotated[str, Field(min_length=1, max_length=1000)]
    quantity: Annotated[Decimalish, Field(description="Decimal string", examples=["1", "7.5"])]
    unit_price: Annotated[
        Decimalish, Field(description="Decimal string in the engagement's currency")
    ]
    unit: Annotated[str, Field(min_length=1, max_length=20)] = "C62"
    vat_category: Annotated[str, Field(pattern=r"^(S|Z|E|AE|K|G|O)$")] = "S"
    vat_rate: Annotated[
        Decimalish, Field(description="Percent as a decimal string", examples=["21", "0"])
    ] = "21"
    service_date: Day | None = None
    person: Annotated[str, Field(max_length=200)] | None = None
    requester: Annotated[str, Field(max_length=200)] | None = None
    approval_ref: Annotated[str, Field(max_length=500)] | None = None

    def to_input(self) -> LineInput:
        return LineInput(
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            unit=self.unit,
            vat_category=self.vat_category,
            vat_rate=self.vat_rate,
            service_date=self.service_date,
            person=self.person,
            requester=self.requester,
            approval_ref=self.approval_ref,
        )


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=1000)]


# --- shared outputs --------------------------------------------------------------------------
class PoRefOut(Model):
    id: str
    number: str


def po_ref(ref: PoRef | None) -> PoRefOut | None:
    return PoRefOut(id=ref.id, number=ref.number) if ref is not None else None


class LineOut(Model):
    description: str
    quantity: str
    unit: str
    unit_price: MoneyOut
    net: MoneyOut
    vat_category: str
    vat_rate: str
    service_date: date | None
    person: str | None
    requester: str | None
    approval_ref: str | None


def line_out(line: InvoiceLine) -> LineOut:
    return LineOut(
        description=line.description,
        quantity=str(line.quantity),
        unit=line.unit,
        unit_price=money(line.unit_price),
        net=money(line.net),
        vat_category=line.vat_category.value,
        vat_rate=str(line.vat_rate),
        service_date=line.service_date,
        person=line.person,
        requester=line.requester,
        approval_ref=line.approval_ref,
    )


class TotalsOut(Model):
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut
    prepaid: MoneyOut = Field(description="Advance applied (EN 16931 BT-113)")
    due: MoneyOut


def totals_out(totals: Totals) -> TotalsOut:
    return TotalsOut(
        net=money(totals.net),
        vat=money(totals.vat),
        gross=money(totals.gross),
        prepaid=money(totals.prepaid),
        due=money(totals.due),
    )


# --- parties and agreements ------------------------------------------------------------------
class BillingEntityOut(Model):
    id: str
    legal_name: str
    country_code: str
    tax_id: str
    cost_centre: str


class ContactOut(Model):
    name: str
    email: str


class ClientOut(Model):
    id: str
    name: str
    billing_entities: list[BillingEntityOut]
    ap_contacts: list[ContactOut]


class ClientsOut(Model):
    clients: list[ClientOut]


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        id=client.id,
        name=client.name,
        billing_entities=[
            BillingEntityOut(
                id=e.id,
                legal_name=e.legal_name,
                country_code=e.address.country_code,
                tax_id=e.tax_id,
                cost_centre=e.cost_centre,
            )
            for e in client.billing_entities
        ],
        ap_contacts=[ContactOut(name=c.name, email=c.email) for c in client.contacts],
    )


class PurchaseOrderOut(Model):
    id: str
    number: str
    valid_from: date | None
    valid_to: date | None
    validity: str = Field(description="valid, expired or not_yet_valid, today")
    ceiling: MoneyOut | None
    consumed: MoneyOut = Field(description="Net of issued invoices, less credit notes")
    remaining: MoneyOut | None
    is_default: bool = Field(description="The PO the engagement's next invoice carries")


def purchase_order_out(usage: PurchaseOrderUsage, *, default_id: str | None) -> PurchaseOrderOut:
    po = usage.purchase_order
    remaining = usage.remaining
    return PurchaseOrderOut(
        id=po.id,
        number=po.number,
        valid_from=po.valid_from,
        valid_to=po.valid_to,
        validity=usage.validity,
        ceiling=money(po.ceiling) if po.ceiling is not None else None,
        consumed=money(usage.consumed),
        remaining=money(remaining) if remaining is not None else None,
        is_default=po.id == default_id,
    )


class EngagementOut(Model):
    id: str
    client_id: str
    client_name: str
    name: str
    kind: str = Field(description="retainer, fixed_price or time_and_material")
    retainer_mode: str | None = Field(description="fee or advance (retainers only)")
    currency: str
    net_days: int
    auto_send: bool
    purchase_orders: list[PurchaseOrderOut]


class EngagementsOut(Model):
    engagements: list[EngagementOut]


def engagement_out(
    engagement: Engagement, *, client_name: str, purchase_orders: Iterable[PurchaseOrderUsage]
) -> EngagementOut:
    return EngagementOut(
        id=engagement.id,
        client_id=engagement.client_id,
        client_name=client_name,
        name=engagement.name,
        kind=engagement.kind.value,
        retainer_mode=engagement.retainer_mode.value if engagement.retainer_mode else None,
        currency=engagement.currency,
        net_days=engagement.terms.net_days,
        auto_send=engagement.auto_send,
        purchase_orders=[
            purchase_order_out(u, default_id=engagement.default_purchase_order_id)
            for u in purchase_orders
        ],
    )


# --- the billing plan and run ----------------------------------------------------------------
class PlannedInvoiceOut(Model):
    number: str = Field(description="The number it gets if the plan's invoices are sent in order")
    purpose: str = Field(description="retainer, advance, milestone or change_order")
    kind: str
    client_id: str
    client_name: str
    engagement_id: str
    engagement_name: str
    purchase_order: PoRefOut | None
    issue_date: date
    due_date: date
    quote_reference: str
    lines: list[LineOut]
    totals: TotalsOut
    auto_send: bool
    warnings: list[WarningOut]
    billing_key: str = Field(description="Unique per engagement and period or source")


def planned_out(planned: PlannedInvoice, number: str) -> PlannedInvoiceOut:
    return PlannedInvoiceOut(
        number=number,
        purpose=planned.purpose.value,
        kind=planned.kind.value,
        client_id=planned.client_id,
        client_name=planned.client_name,
        engagement_id=planned.engagement_id,
        engagement_name=planned.engagement_name,
        purchase_order=po_ref(planned.purchase_order),
        issue_date=planned.issue_date,
        due_date=planned.due_date,
        quote_reference=planned.quote_reference,
        lines=[line_out(ln) for ln in planned.lines],
        totals=totals_out(planned.totals()),
        auto_send=planned.auto_send,
        warnings=warnings_out(planned.warnings),
        billing_key=planned.billing_key,
    )


class BillingPlanOut(Model):
    as_of: date
    invoice_count: int
    invoices: list[PlannedInvoiceOut]
    notices: list[WarningOut] = Field(description="What the plan left out, and why")


def billing_plan_out(view: PlanView) -> BillingPlanOut:
    return BillingPlanOut(
        as_of=view.plan.as_of,
        invoice_count=len(view.plan.invoices),
        invoices=[planned_out(p, n) for p, n in view.rows()],
        notices=warnings_out(view.plan.notices),
    )


class RunInvoiceOut(Model):
    id: str
    number: str | None = Field(description="None while the invoice is a draft")
    state: str
    client_id: str
    engagement_id: str
    purchase_order: PoRefOut | None
    issue_date: date
    gross: MoneyOut


def run_invoice_out(invoice: Invoice) -> RunInvoiceOut:
    return RunInvoiceOut(
        id=invoice.id,
        number=invoice.number,
        state=invoice.state.value,
        client_id=invoice.client_id,
        engagement_id=invoice.engagement_id,
        purchase_order=po_ref(invoice.effective_purchase_order()),
        issue_date=invoice.current.issue_date,
        gross=money(invoice.totals().gross),
    )


class HeldOut(Model):
    invoice_id: str
    reason: str


class BillingRunOut(Model):
    as_of: date
    planned: int
    created: list[RunInvoiceOut]
    sent: list[RunInvoiceOut] = Field(description="Sent at once: engagements that auto-send")
    skipped: list[str] = Field(description="Billing keys another run created first")
    held: list[HeldOut] = Field(description="Created but not sent automatically, and why")


def billing_run_out(result: RunResult) -> BillingRunOut:
    return BillingRunOut(
        as_of=result.as_of,
        planned=result.planned,
        created=[run_invoice_out(i) for i in result.created],
        sent=[run_invoice_out(i) for i in result.sent],
        skipped=list(result.skipped),
        held=[HeldOut(invoice_id=i, reason=r) for i, r in result.held],
    )


# --- invoices --------------------------------------------------------------------------------
class InvoiceOut(InvoicePositionOut):
    id: str
    number: str | None = Field(description="None while the invoice is a draft")
    version: int
    state: str
    kind: str
    client_id: str
    engagement_id: str
    purchase_order: PoRefOut | None
    issue_date: date
    due_date: date
    quote_reference: str
    notes: str
    lines: list[LineOut]
    totals: TotalsOut
    sent_at: datetime | None


def invoice_out(invoice: Invoice) -> InvoiceOut:
    current = invoice.current
    return InvoiceOut(
        id=invoice.id,
        number=invoice.number,
        version=invoice.version,
        state=invoice.state.value,
        kind=invoice.kind.value,
        client_id=invoice.client_id,
        engagement_id=invoice.engagement_id,
        purchase_order=po_ref(invoice.effective_purchase_order()),
        issue_date=current.issue_date,
        due_date=current.due_date,
        quote_reference=current.quote_reference,
        notes=current.notes,
        lines=[line_out(ln) for ln in current.lines],
        totals=totals_out(invoice.totals()),
        **position_fields(invoice.position),
        sent_at=invoice.sent_at,
    )


class DraftOut(Model):
    invoice: InvoiceOut
    warnings: list[WarningOut] = Field(description="PO problems to fix before sending")


class LinkRecipientOut(Model):
    link_id: str
    recipient_email: str
    expires_at: datetime


class SentOut(Model):
    invoice: InvoiceOut
    links: list[LinkRecipientOut] = Field(
        description="The private links issued to the client's AP contacts. Their tokens are "
        "not shown here: a capability belongs in the recipient's mail, not in a transcript."
    )


def link_recipient_out(issued: IssuedLink) -> LinkRecipientOut:
    return LinkRecipientOut(
        link_id=issued.link.id,
        recipient_email=issued.link.recipient_email,
        expires_at=issued.link.expires_at,
    )


def sent_out(invoice: Invoice, issued: Iterable[IssuedLink]) -> SentOut:
    return SentOut(invoice=invoice_out(invoice), links=[link_recipient_out(i) for i in issued])


class QuoteSentOut(Model):
    quote: QuoteOut
    links: list[LinkRecipientOut] = Field(
        description="The private links emailed to the client's AP contacts, to accept or "
        "decline; their tokens are not shown here."
    )


class QuotesOut(Model):
    quotes: list[QuoteSummaryOut]


class InvoiceSummaryOut(InvoicePositionOut):
    id: str
    number: str | None
    version: int
    state: str
    client_id: str
    client_name: str
    engagement_id: str
    engagement_name: str
    po_number: str | None
    issue_date: date
    due_date: date
    sent_at: datetime | None


class InvoicesOut(Model):
    invoices: list[InvoiceSummaryOut]


def summary_out(row: InvoiceSummary) -> InvoiceSummaryOut:
    return InvoiceSummaryOut(
        id=row.id,
        number=row.number,
        version=row.version,
        state=row.state.value,
        client_id=row.client_id,
        client_name=row.client_name,
        engagement_id=row.engagement_id,
        engagement_name=row.engagement_name,
        po_number=row.po_number,
        issue_date=row.issue_date,
        due_date=row.due_date,
        **position_fields(row.position),
        sent_at=row.sent_at,
    )


class CreditNoteOut(Model):
    id: str
    number: str
    invoice_id: str
    invoice_number: str
    issue_date: date
    reason: str
    lines: list[LineOut]
    totals: TotalsOut
    gross: MoneyOut = Field(description="What it takes off the invoice, VAT included")
    prepaid: MoneyOut = Field(description="What of it went back to the engagement's advance")
    payable: MoneyOut = Field(
        description="gross - prepaid: taken off what the client owes, or refundable where "
        "they had paid"
    )
    invoice_state: str = Field(description="The credited invoice's state now (void if in full)")


def credit_note_out(note: CreditNote, *, invoice_state: str) -> CreditNoteOut:
    totals = note.totals()
    return CreditNoteOut(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        invoice_number=note.invoice_number,
        issue_date=note.issue_date,
        reason=note.reason,
        lines=[line_out(ln) for ln in note.lines],
        totals=totals_out(totals),
        gross=money(totals.gross),
        prepaid=money(totals.prepaid),
        payable=money(totals.gross - totals.prepaid),
        invoice_state=invoice_state,
    )


# --- work and milestones ---------------------------------------------------------------------
class WorkItemsOut(Model):
    work_items: list[WorkItemOut]


class MilestonesOut(Model):
    milestones: list[MilestoneOut]


class SignOffOut(Model):
    milestone: MilestoneOut
    invoice: InvoiceOut = Field(description="The milestone's invoice, created in the sign-off")
    warnings: list[WarningOut]
    held_reason: str = Field(description="Why an auto-sending engagement kept it a draft")


# --- reports ---------------------------------------------------------------------------------
class StandingOut(Model):
    invoice_id: str
    number: str | None
    state: str
    engagement_id: str
    engagement_name: str
    po_number: str | None
    issue_date: date
    due_date: date
    gross: MoneyOut
    outstanding: MoneyOut
    viewed: bool
    approved: bool
    stuck: str | None = Field(
        description="unopened, change_requested or past_due_unapproved; None when moving"
    )
    last_sent_at: datetime | None
    last_viewed_at: datetime | None


def standing_out(standing: InvoiceStanding) -> StandingOut:
    invoice = standing.invoice
    return StandingOut(
        invoice_id=invoice.id,
        number=invoice.number,
        state=invoice.state.value,
        engagement_id=invoice.engagement_id,
        engagement_name=invoice.engagement_name,
        po_number=invoice.po_number,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        gross=money(invoice.gross),
        outstanding=money(standing.outstanding),
        viewed=standing.viewed,
        approved=standing.approved,
        stuck=standing.stuck.value if standing.stuck else None,
        last_sent_at=standing.last_sent_at,
        last_viewed_at=standing.last_viewed_at,
    )


class ClientLifecycleOut(Model):
    client_id: str
    client_name: str
    went_out: int = Field(description="Invoices sent (and beyond, void included)")
    viewed: int
    approved: int
    stuck: int
    invoices: list[StandingOut] = Field(description="Every invoice that went out, newest first")


class LifecycleOut(Model):
    as_of: date
    unopened_days: int
    clients: list[ClientLifecycleOut]


def client_lifecycle_out(entry: ClientLifecycle) -> ClientLifecycleOut:
    return ClientLifecycleOut(
        client_id=entry.client_id,
        client_name=entry.client_name,
        went_out=len(entry.went_out),
        viewed=len(entry.viewed),
        approved=len(entry.approved),
        stuck=len(entry.stuck),
        invoices=[standing_out(s) for s in entry.went_out],
    )


class ChaseItemOut(Model):
    reason: str = Field(description="unopened, change_requested or past_due_unapproved")
    since: date = Field(description="Last sent, change requested, or due date")
    days_waiting: int
    client_id: str
    client_name: str
    contacts: list[str] = Field(description="The client's AP contacts' email addresses")
    invoice: StandingOut


class ChaseListOut(Model):
    as_of: date
    unopened_days: int
    items: list[ChaseItemOut] = Field(description="In chase order: whom to write to first")


def chase_item_out(item: ChaseItem) -> ChaseItemOut:
    return ChaseItemOut(
        reason=item.reason.value,
        since=item.since,
        days_waiting=item.days_waiting,
        client_id=item.standing.invoice.client_id,
        client_name=item.standing.invoice.client_name,
        contacts=list(item.contacts),
        invoice=standing_out(item.standing),
    )


class RevenueRowOut(Model):
    month: str = Field(examples=["2025-03"])
    client_id: str
    client_name: str
    engagement_kind: str
    invoiced: MoneyOut
    credited: MoneyOut
    net: MoneyOut


class RevenueTotalOut(Model):
    invoiced: MoneyOut
    credited: MoneyOut
    net: MoneyOut


class RevenueOut(Model):
    date_from: date
    date_to: date
    rows: list[RevenueRowOut]
    totals: list[RevenueTotalOut] = Field(description="One per currency")


def revenue_out(report: RevenueReport) -> RevenueOut:
    return RevenueOut(
        date_from=report.date_from,
        date_to=report.date_to,
        rows=[
            RevenueRowOut(
                month=r.month,
                client_id=r.client_id,
                client_name=r.client_name,
                engagement_kind=r.engagement_kind.value,
                invoiced=money(r.invoiced),
                credited=money(r.credited),
                net=money(r.net),
            )
            for r in report.rows
        ],
        totals=[
            RevenueTotalOut(
                invoiced=money(t.invoiced), credited=money(t.credited), net=money(t.net)
            )
            for t in report.totals
        ],
    )


class AdvanceBalanceOut(Model):
    engagement_id: str
    as_of: date | None = Field(description="None: everything issued so far")
    invoiced: MoneyOut = Field(description="Net of the advance invoices issued")
    used: MoneyOut = Field(description="Net drawn by issued invoices or reserved by drafts")
    drawn: MoneyOut = Field(description="Net drawn by issued invoices")
    reserved: MoneyOut = Field(description="Net reserved by drafts of any date")
    refunded: MoneyOut = Field(description="Net refunded by credit notes")
    available: MoneyOut = Field(description="invoiced - drawn - reserved - refunded; never < 0")


def advance_balance_out(
    engagement_id: str, as_of: date | None, balance: AdvanceFigures
) -> AdvanceBalanceOut:
    return AdvanceBalanceOut(
        engagement_id=engagement_id,
        as_of=as_of,
        invoiced=money(balance.invoiced),
        used=money(balance.used),
        drawn=money(balance.drawn),
        reserved=money(balance.reserved),
        refunded=money(balance.refunded),
        available=money(balance.available),
    )
