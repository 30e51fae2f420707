"""Purchase orders: the client's authorisation to invoice an engagement.

A PO belongs to one engagement; an invoice carries at most one PO and it must be its
engagement's. A PO may have a validity window and an amount ceiling (on net amounts). An
expired PO or an exceeded ceiling is a warning on a draft and a refusal on send, unless the
sender overrides it with a reason, which is recorded on the invoice's events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from engagebill.domain.money import Money


@dataclass(frozen=True, slots=True)
class Warning:
    """A problem worth a look that does not by itself block a draft."""

    code: str
    message: str


@dataclass(slots=True)
class PurchaseOrder:
    id: str
    organization_id: str
    engagement_id: str
    number: str
    currency: str
    created_at: datetime
    valid_from: date | None = None
    valid_to: date | None = None
    ceiling: Money | None = None

    def is_valid_on(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_to is not None and day > self.valid_to)

    def warnings_for(self, *, issue_date: date, consumed: Money, amount: Money) -> list[Warning]:
        """What is wrong with billing ``amount`` (net) on ``issue_date`` against this PO,
        given the net amount ``consumed`` by other invoices already."""
        found: list[Warning] = []
        if self.valid_to is not None and issue_date > self.valid_to:
            found.append(
                Warning(
                    "po.expired",
                    f"PO {self.number} expired on {self.valid_to.isoformat()}",
                )
            )
        if self.valid_from is not None and issue_date < self.valid_from:
            found.append(
                Warning(
                    "po.not_yet_valid",
                    f"PO {self.number} is valid only from {self.valid_from.isoformat()}",
                )
            )
        if self.ceiling is not None and consumed + amount > self.ceiling:
            remaining = self.ceiling - consumed
            found.append(
                Warning(
                    "po.ceiling_exceeded",
                    f"PO {self.number} has {remaining.format()} left of its "
                    f"{self.ceiling.format()} ceiling; this invoice needs {amount.format()}",
                )
            )
        return found
