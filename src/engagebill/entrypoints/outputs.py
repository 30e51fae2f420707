"""Output shapes shared by every machine interface (REST API, MCP, the CLI's ``--json``): money
as a decimal string with its currency, coded warnings, work items, milestones, quotes, an
invoice's position and the engagement account. One definition, so all speak the same JSON."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from engagebill.domain.engagement_account import (
    AccountTotals,
    AdvanceFigures,
    EngagementAccount,
    InvoicePosition,
)
from engagebill.domain.invoices import InvoiceKind
from engagebill.domain.money import Money
from engagebill.domain.purchase_orders import Warning
from engagebill.domain.quotes import Milestone, Quote, QuoteItem, QuoteVersion
from engagebill.domain.work import WorkItem
from engagebill.services.quotes import QuoteDetail


class Model(BaseModel):
    # Unknown fields are refused rather than dropped: a misspelt field must not go unnoticed.
    model_config = ConfigDict(extra="forbid")


class MoneyOut(Model):
    amount: str = Field(
        description="Decimal string fixed to the currency's minor units", examples=["12100.00"]
    )
    currency: str = Field(description="ISO 4217 code", examples=["EUR"])


def money(value: Money) -> MoneyOut:
    return MoneyOut(amount=value.decimal_string(), currency=value.currency)


class WarningOut(Model):
    code: str
    message: str


def warnings_out(items: Iterable[Warning]) -> list[WarningOut]:
    return [WarningOut(code=w.code, message=w.message) for w in items]


class WorkItemOut(Model):
    id: str
    engagement_id: str
    work_date: date
    person: str
    hours: str
    rate: MoneyOut
    amount: MoneyOut
    description: str
    requester: str
    approval_ref: str
    state: str = Field(description="unapproved, approved or billed")
    override_reason: str
    quote_id: str | None
    invoice_id: str | None


def work_item_out(item: WorkItem) -> WorkItemOut:
    return WorkItemOut(
        id=item.id,
        engagement_id=item.engagement_id,
        work_date=item.work_date,
        person=item.person,
        hours=str(item.hours),
        rate=money(item.rate),
        amount=money(item.amount),
        description=item.description,
        requester=item.requester,
        approval_ref=item.approval_ref,
        state=item.state.value,
        override_reason=item.override_reason,
        quote_id=item.quote_id,
        invoice_id=item.invoice_id,
    )


class MilestoneOut(Model):
    id: str
    engagement_id: str
    quote_id: str
    quote_number: str
    position: int
    name: str
    description: str
    amount: MoneyOut
    state: str = Field(description="planned, signed_off or invoiced")
    signed_off_by: str
    signed_off_at: datetime | None
    invoice_id: str | None


def milestone_out(milestone: Milestone) -> MilestoneOut:
    return MilestoneOut(
        id=milestone.id,
        engagement_id=milestone.engagement_id,
        quote_id=milestone.quote_id,
        quote_number=milestone.quote_number,
        position=milestone.position,
        name=milestone.name,
        description=milestone.description,
        amount=money(milestone.amount),
        state=milestone.state.value,
        signed_off_by=milestone.signed_off_by,
        signed_off_at=milestone.signed_off_at,
        invoice_id=milestone.invoice_id,
    )


class QuoteItemOut(Model):
    name: str
    description: str
    amount: MoneyOut


class QuoteVersionOut(Model):
    version: int
    title: str
    items: list[QuoteItemOut]
    total: MoneyOut
    content_hash: str = Field(description="SHA-256 of the version as sent; empty on drafts")
    created_at: datetime


class QuoteSummaryOut(Model):
    id: str
    number: str | None = Field(description="Taken when the quote is sent")
    state: str = Field(description="draft, sent, accepted or declined")
    engagement_id: str
    client_id: str
    version: int
    title: str
    total: MoneyOut
    created_at: datetime


class QuoteOut(QuoteSummaryOut):
    versions: list[QuoteVersionOut]
    accepted_version: int | None
    accepted_by: str
    accepted_at: datetime | None
    accepted_hash: str
    declined_reason: str
    milestones: list[MilestoneOut] = Field(
        description="Planned when a fixed-price quote is accepted"
    )
    work_items: list[WorkItemOut] = Field(description="Work this mini-quote approves")


def _item_out(item: QuoteItem) -> QuoteItemOut:
    return QuoteItemOut(name=item.name, description=item.description, amount=money(item.amount))


def _version_out(version: QuoteVersion) -> QuoteVersionOut:
    return QuoteVersionOut(
        version=version.version,
        title=version.title,
        items=[_item_out(i) for i in version.items],
        total=money(version.total),
        content_hash=version.content_hash,
        created_at=version.created_at,
    )


def quote_summary_out(quote: Quote) -> QuoteSummaryOut:
    current = quote.current
    return QuoteSummaryOut(
        id=quote.id,
        number=quote.number,
        state=quote.state.value,
        engagement_id=quote.engagement_id,
        client_id=quote.client_id,
        version=current.version,
        title=current.title,
        total=money(current.total),
        created_at=quote.created_at,
    )


def quote_out(detail: QuoteDetail) -> QuoteOut:
    quote = detail.quote
    return QuoteOut(
        **quote_summary_out(quote).model_dump(),
        versions=[_version_out(v) for v in quote.versions],
        accepted_version=quote.accepted_version,
        accepted_by=quote.accepted_by,
        accepted_at=quote.accepted_at,
        accepted_hash=quote.accepted_hash,
        declined_reason=quote.declined_reason,
        milestones=[milestone_out(m) for m in detail.milestones],
        work_items=[work_item_out(w) for w in detail.work_items],
    )


# --- the engagement account ------------------------------------------------------------------
# An invoice's position (``domain.engagement_account.InvoicePosition``), as every invoice
# output carries it: the same names and meanings on every surface.
PAYMENT_STATUS = "unpaid, partially_paid, paid, overpaid, or void (a void invoice asks nothing)"
Gross = Annotated[MoneyOut, Field(description="What the invoice is worth, VAT included")]
Drawn = Annotated[
    MoneyOut,
    Field(
        description="Gross still settled by the advance: its prepaid amount (BT-113) less what "
        "its credit notes gave back to the advance"
    ),
]
Credited = Annotated[MoneyOut, Field(description="Gross of its credit notes")]
Paid = Annotated[MoneyOut, Field(description="Payments received")]
Outstanding = Annotated[
    MoneyOut,
    Field(description="What the client still owes: gross - drawn - credited - paid, never < 0"),
]
CreditBalance = Annotated[
    MoneyOut, Field(description="What the client paid beyond what the invoice asks: refundable")
]
PaymentStatusText = Annotated[str, Field(description=PAYMENT_STATUS)]


class InvoicePositionOut(Model):
    """The position fields every invoice output carries (``position_fields`` fills them)."""

    gross: Gross
    drawn: Drawn
    credited: Credited
    paid: Paid
    outstanding: Outstanding
    credit_balance: CreditBalance
    payment_status: PaymentStatusText


def position_fields(position: InvoicePosition) -> dict[str, Any]:
    """The position as keyword arguments of an invoice output: gross, drawn, credited, paid,
    outstanding, credit_balance and payment_status."""
    return {
        "gross": money(position.gross),
        "drawn": money(position.drawn),
        "credited": money(position.credited),
        "paid": money(position.paid),
        "outstanding": money(position.outstanding),
        "credit_balance": money(position.credit_balance),
        "payment_status": position.status.value,
    }


class AdvanceFiguresOut(Model):
    """The engagement's advance, in net amounts."""

    invoiced: MoneyOut = Field(description="Net of the advance invoices issued")
    drawn: MoneyOut = Field(
        description="Net drawn by issued invoices, less what their credit notes gave back"
    )
    reserved: MoneyOut = Field(description="Net reserved by drafts of any date")
    used: MoneyOut = Field(description="drawn + reserved")
    refunded: MoneyOut = Field(description="Net of credit notes against advance invoices")
    available: MoneyOut = Field(description="invoiced - drawn - reserved - refunded; never < 0")


def advance_figures_out(advance: AdvanceFigures) -> AdvanceFiguresOut:
    return AdvanceFiguresOut(
        invoiced=money(advance.invoiced),
        drawn=money(advance.drawn),
        reserved=money(advance.reserved),
        used=money(advance.used),
        refunded=money(advance.refunded),
        available=money(advance.available),
    )


class AccountTotalsOut(Model):
    """The engagement's issued invoices summed (gross, as the client reads them)."""

    invoiced: MoneyOut
    drawn: MoneyOut
    credited: MoneyOut
    paid: MoneyOut
    outstanding: MoneyOut
    credit_balance: MoneyOut


def account_totals_out(totals: AccountTotals) -> AccountTotalsOut:
    return AccountTotalsOut(
        invoiced=money(totals.invoiced),
        drawn=money(totals.drawn),
        credited=money(totals.credited),
        paid=money(totals.paid),
        outstanding=money(totals.outstanding),
        credit_balance=money(totals.credit_balance),
    )


class AccountInvoiceOut(InvoicePositionOut):
    id: str
    number: str | None
    kind: str = Field(description="standard, or advance (tops the advance up)")
    state: str
    issue_date: date


class EngagementAccountOut(Model):
    engagement_id: str
    currency: str
    advance: AdvanceFiguresOut
    totals: AccountTotalsOut = Field(description="Over the issued invoices (void included)")
    invoices: list[AccountInvoiceOut] = Field(
        description="Every issued invoice (void included), oldest first"
    )


def account_invoice_out(account: EngagementAccount, invoice_id: str) -> AccountInvoiceOut:
    invoice = account.invoices[invoice_id]
    position = account.position(invoice_id)
    return AccountInvoiceOut(
        id=invoice.id,
        number=invoice.number,
        kind=(InvoiceKind.ADVANCE if invoice.advance else InvoiceKind.STANDARD).value,
        state=invoice.state.value,
        issue_date=invoice.issue_date,
        **position_fields(position),
    )


def issued_invoices(account: EngagementAccount) -> list[str]:
    """The ids of the account's issued invoices (void included), oldest first."""
    issued = [i for i in account.invoices.values() if i.issued]
    issued.sort(key=lambda i: (i.issue_date, i.number or "", i.id))
    return [i.id for i in issued]


def engagement_account_out(account: EngagementAccount) -> EngagementAccountOut:
    return EngagementAccountOut(
        engagement_id=account.engagement_id,
        currency=account.currency,
        advance=advance_figures_out(account.advance),
        totals=account_totals_out(account.totals),
        invoices=[account_invoice_out(account, i) for i in issued_invoices(account)],
    )
