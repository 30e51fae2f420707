"""Work items: delivered out-of-scope work, billed on change-order invoices.

A work item records the date, the person, hours, rate, description, the client's requester
and the reference to the written approval (a link to the approving email or message, or an
accepted mini-quote). ``unapproved -> approved -> billed``. An item without a written approval
is flagged and not billed unless someone overrides it with a reason, which is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from engagebill.domain.errors import InvalidTransition, RuleViolation
from engagebill.domain.money import Money


class WorkState(StrEnum):
    UNAPPROVED = "unapproved"
    APPROVED = "approved"
    BILLED = "billed"


@dataclass(slots=True)
class WorkItem:
    id: str
    organization_id: str
    engagement_id: str
    work_date: date
    person: str
    hours: Decimal
    rate: Money
    description: str
    requester: str
    approval_ref: str
    state: WorkState
    created_at: datetime
    override_reason: str = ""
    quote_id: str | None = None
    invoice_id: str | None = None

    @property
    def amount(self) -> Money:
        return Money(self.hours * self.rate.amount, self.rate.currency).rounded()

    @property
    def has_written_approval(self) -> bool:
        return bool(self.approval_ref.strip())

    @property
    def source_ref(self) -> str:
        return f"work_item:{self.id}"

    def approve(self, *, approval_ref: str = "", override_reason: str = "") -> None:
        if self.state is not WorkState.UNAPPROVED:
            raise InvalidTransition(
                f"work item is already {self.state.value}", code="work_item.not_approvable"
            )
        if approval_ref.strip():
            self.approval_ref = approval_ref.strip()
        if not self.has_written_approval and not override_reason.strip():
            raise RuleViolation(
                "this work has no written approval: give the approval reference (a link to "
                "the approving email or message), or override with a reason",
                code="work_item.no_written_approval",
            )
        self.override_reason = override_reason.strip()
        self.state = WorkState.APPROVED
