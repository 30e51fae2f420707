"""Invoice templates: an invoice's lines saved under a name, to start the next draft from.

The seed's month starts with "draft the first invoice, save it as a template". A template is
deliberately small: a name, the engagement the drafts will bill (one engagement, one invoice
stream) and the lines as they were, without what ties a line to one billed item
(``source_ref``), so a draft made from it never claims to bill a milestone or a work item a
second time. It is not a document and has no lifecycle; drafts made from it are ordinary
drafts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engagebill.domain.invoices import InvoiceLine


@dataclass(frozen=True, slots=True)
class InvoiceTemplate:
    id: str
    organization_id: str
    name: str
    engagement_id: str
    currency: str
    created_at: datetime
    lines: tuple[InvoiceLine, ...] = field(default_factory=tuple)
