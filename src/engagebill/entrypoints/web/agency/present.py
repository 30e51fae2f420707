"""Presenting the agency's app: states, reasons and events in words, and the page filters.

Words only; what an invoice's state *is* comes from the services (``invoice_views``,
``reports``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from jinja2 import Environment

from engagebill.domain.lifecycle import PaymentStatus
from engagebill.domain.taxes import VatCategory
from engagebill.domain.version_diff import Change
from engagebill.entrypoints.web import make_templates
from engagebill.services.invoice_views import ShownState, TimelineEntry
from engagebill.services.reports import StuckReason

STATE_LABELS: dict[ShownState, str] = {
    ShownState.DRAFT: "Draft",
    ShownState.SENT: "Sent",
    ShownState.VIEWED: "Viewed",
    ShownState.CHANGE_REQUESTED: "Change Requested",
    ShownState.APPROVED: "Approved",
    ShownState.LOCKED: "Locked",
    ShownState.PAID: "Paid",
    ShownState.VOID: "Void",
}

# States in which the days since sending no longer matter to anyone (shown muted).
SETTLED_STATES = frozenset({ShownState.PAID, ShownState.VOID, ShownState.LOCKED})

# The lifecycle states a list can be filtered by (Paid is derived, not a stored state).
FILTER_STATES = [s for s in ShownState if s is not ShownState.PAID]

PAYMENT_LABELS: dict[PaymentStatus, str] = {
    PaymentStatus.UNPAID: "Unpaid",
    PaymentStatus.PARTIALLY_PAID: "Partially paid",
    PaymentStatus.PAID: "Paid",
    PaymentStatus.OVERPAID: "Overpaid",
    PaymentStatus.VOID: "Void (nothing to pay)",
}

STUCK_LABELS: dict[StuckReason, str] = {
    StuckReason.UNOPENED: "Sent, never opened",
    StuckReason.CHANGE_REQUESTED: "Change requested",
    StuckReason.PAST_DUE_UNAPPROVED: "Opened, not approved, past due",
}

STUCK_ADVICE: dict[StuckReason, str] = {
    StuckReason.UNOPENED: "Nobody has opened these since they were sent. Check the address "
    "with the client and re-send the link.",
    StuckReason.CHANGE_REQUESTED: "The client asked for a change. Revise the invoice: the new "
    "version keeps the number and goes to the same link.",
    StuckReason.PAST_DUE_UNAPPROVED: "Opened, but neither approved nor questioned, and now past "
    "their due date. Ask who approves them.",
}

# What the chase list's "since" date is, for each reason.
SINCE_LABELS: dict[StuckReason, str] = {
    StuckReason.UNOPENED: "Last sent",
    StuckReason.CHANGE_REQUESTED: "Asked on",
    StuckReason.PAST_DUE_UNAPPROVED: "Was due",
}

CHANGE_LABELS: dict[Change, str] = {
    Change.SAME: "Unchanged",
    Change.CHANGED: "Changed",
    Change.ADDED: "Added",
    Change.REMOVED: "Removed",
}

VAT_CATEGORY_LABELS: dict[str, str] = {
    VatCategory.STANDARD.value: "S: standard",
    VatCategory.ZERO.value: "Z: zero rated",
    VatCategory.EXEMPT.value: "E: exempt",
    VatCategory.REVERSE_CHARGE.value: "AE: reverse charge",
    VatCategory.INTRA_COMMUNITY.value: "K: intra-EU",
    VatCategory.EXPORT.value: "G: export",
    VatCategory.OUTSIDE_SCOPE.value: "O: outside scope",
}


def state_label(state: ShownState | str) -> str:
    return STATE_LABELS[ShownState(state)]


def short_day(value: date | datetime | None) -> str:
    """``3 Mar 2025``: dates in tables."""
    if value is None:
        return ""
    return f"{value.day} {value:%b %Y}"


def days_words(days: int | None) -> str:
    if days is None:
        return ""
    if days == 0:
        return "today"
    return "1 day" if days == 1 else f"{days} days"


def days_ago(days: int | None) -> str:
    """``today``, ``1 day ago``, ``5 days ago``: how long ago something happened."""
    if days is None:
        return ""
    return "today" if days == 0 else f"{days_words(days)} ago"


def _field_words(field: str) -> str:
    return field.replace("_", " ")


def event_words(entry: TimelineEntry) -> str:
    """One timeline entry as a sentence; unknown kinds fall back to their code."""
    d: dict[str, Any] = entry.data
    kind = entry.kind
    who = d.get("by") or d.get("viewer") or ""
    texts = {
        "invoice.created": "Draft created",
        "invoice.draft_edited": "Draft edited",
        "invoice.sent": f"Sent as {d.get('number')}"
        + (f" despite a PO warning: “{d['override_reason']}”" if d.get("override_reason") else ""),
        "invoice.viewed": f"Opened by {who}" if who else "Opened",
        "invoice.change_requested": f"Change requested by {who or 'the recipient'}: "
        f"“{d.get('message', '')}”",
        "invoice.revised": f"Revised: version {d.get('version')} sent under the same number",
        "invoice.amended": f"{_field_words(str(d.get('field', 'details'))).capitalize()} "
        f"amended by {who or 'the recipient'}",
        "invoice.approved": f"Approved for payment by {who}",
        "invoice.locked": "Locked" + (f" ({d['reason']})" if d.get("reason") else ""),
        "invoice.payment_recorded": f"Payment of {d.get('amount')} recorded"
        + (f", received {d['received_on']}" if d.get("received_on") else ""),
        "invoice.paid": "Paid in full",
        "invoice.voided": "Voided by a credit note",
        "invoice.links_resent": f"Link re-sent to {d.get('recipients', 0)} recipient(s)",
        "invoice.reminded": "Reminder sent",
        "invoice.advance_applied": "Advance applied",
        "invoice.advance_discarded": "Advance not applied",
        "link.issued": f"Private link issued to {d.get('recipient', '')}",
        "link.revoked": "Private link revoked",
    }
    return texts.get(kind, kind)


def make_agency_templates() -> Environment:
    """The recipient pages' environment (autoescape, strict undefined, money filters) plus
    the app's words."""
    environment = make_templates()
    environment.filters.update(
        short_day=short_day, days_words=days_words, days_ago=days_ago, state_label=state_label
    )
    environment.globals.update(
        STATE_LABELS=STATE_LABELS,
        PAYMENT_LABELS=PAYMENT_LABELS,
        STUCK_LABELS=STUCK_LABELS,
        STUCK_ADVICE=STUCK_ADVICE,
        SINCE_LABELS=SINCE_LABELS,
        SETTLED_STATES=SETTLED_STATES,
        CHANGE_LABELS=CHANGE_LABELS,
        VAT_CATEGORY_LABELS=VAT_CATEGORY_LABELS,
        FILTER_STATES=FILTER_STATES,
        event_words=event_words,
    )
    return environment
