"""Output shapes shared by every machine interface (REST API, MCP): money as a decimal string
with its currency, coded warnings, work items, milestones and quotes. One definition, so both
speak the same JSON."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

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
