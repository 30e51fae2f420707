"""Output shapes shared by every machine interface (REST API, MCP): money as a decimal string
with its currency, coded warnings, work items and milestones. One definition, so both speak
the same JSON."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from engagebill.domain.money import Money
from engagebill.domain.purchase_orders import Warning
from engagebill.domain.quotes import Milestone
from engagebill.domain.work import WorkItem


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
