"""The invoice lifecycle as data: one transition table and one ``next_state``.

::

    draft --send--> sent --view--> viewed --request_change--> change_requested
    change_requested --revise (version n+1, same number)--> sent
    sent|viewed --approve (typed name)--> approved --lock--> locked
    sent|viewed|change_requested|approved --first payment--> locked
    any issued state --credit in full--> void

Payment status (unpaid, partially paid, paid, overpaid; void for a void invoice) is derived
from the engagement account (``domain.engagement_account``) and is not a lifecycle state. A
refused step raises ``InvalidTransition`` with a stable code such as
``invoice.not_approvable``.
"""

from __future__ import annotations

from enum import StrEnum

from engagebill.domain.errors import InvalidTransition


class InvoiceState(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    VIEWED = "viewed"
    CHANGE_REQUESTED = "change_requested"
    APPROVED = "approved"
    LOCKED = "locked"
    VOID = "void"


class InvoiceAction(StrEnum):
    SEND = "send"
    VIEW = "view"
    REQUEST_CHANGE = "request_change"
    REVISE = "revise"
    APPROVE = "approve"
    LOCK = "lock"
    RECORD_PAYMENT = "record_payment"
    CREDIT_IN_FULL = "credit_in_full"
    # Steps that keep the state but are only allowed in some states.
    EDIT_DRAFT = "edit_draft"
    AMEND = "amend"
    CREDIT_PART = "credit_part"


S = InvoiceState
A = InvoiceAction

ISSUED_STATES: frozenset[InvoiceState] = frozenset(
    {S.SENT, S.VIEWED, S.CHANGE_REQUESTED, S.APPROVED, S.LOCKED}
)

# (state, action) -> next state. Anything absent is refused.
TRANSITIONS: dict[tuple[InvoiceState, InvoiceAction], InvoiceState] = {
    (S.DRAFT, A.SEND): S.SENT,
    (S.DRAFT, A.EDIT_DRAFT): S.DRAFT,
    (S.SENT, A.VIEW): S.VIEWED,
    # Later views are recorded but do not move the invoice back.
    (S.VIEWED, A.VIEW): S.VIEWED,
    (S.CHANGE_REQUESTED, A.VIEW): S.CHANGE_REQUESTED,
    (S.APPROVED, A.VIEW): S.APPROVED,
    (S.LOCKED, A.VIEW): S.LOCKED,
    (S.VOID, A.VIEW): S.VOID,
    (S.SENT, A.REQUEST_CHANGE): S.CHANGE_REQUESTED,
    (S.VIEWED, A.REQUEST_CHANGE): S.CHANGE_REQUESTED,
    (S.CHANGE_REQUESTED, A.REVISE): S.SENT,
    (S.SENT, A.APPROVE): S.APPROVED,
    (S.VIEWED, A.APPROVE): S.APPROVED,
    (S.APPROVED, A.LOCK): S.LOCKED,
    # Money received against a number settles its content: the invoice locks.
    (S.SENT, A.RECORD_PAYMENT): S.LOCKED,
    (S.VIEWED, A.RECORD_PAYMENT): S.LOCKED,
    (S.CHANGE_REQUESTED, A.RECORD_PAYMENT): S.LOCKED,
    (S.APPROVED, A.RECORD_PAYMENT): S.LOCKED,
    (S.LOCKED, A.RECORD_PAYMENT): S.LOCKED,
    # Amendments (PO, billing entity, cost centre) while the recipient is still reviewing.
    (S.SENT, A.AMEND): S.SENT,
    (S.VIEWED, A.AMEND): S.VIEWED,
    (S.CHANGE_REQUESTED, A.AMEND): S.CHANGE_REQUESTED,
}
for _state in ISSUED_STATES:
    TRANSITIONS[(_state, A.CREDIT_IN_FULL)] = S.VOID
    TRANSITIONS[(_state, A.CREDIT_PART)] = _state

# The stable error code for each refused action.
REFUSAL_CODES: dict[InvoiceAction, str] = {
    A.SEND: "invoice.not_sendable",
    A.VIEW: "invoice.not_viewable",
    A.REQUEST_CHANGE: "invoice.change_not_requestable",
    A.REVISE: "invoice.not_revisable",
    A.APPROVE: "invoice.not_approvable",
    A.LOCK: "invoice.not_lockable",
    A.RECORD_PAYMENT: "invoice.not_payable",
    A.CREDIT_IN_FULL: "invoice.not_creditable",
    A.CREDIT_PART: "invoice.not_creditable",
    A.EDIT_DRAFT: "invoice.not_editable",
    A.AMEND: "invoice.not_amendable",
}

_REFUSAL_REASONS: dict[InvoiceAction, str] = {
    A.SEND: "only a draft can be sent",
    A.VIEW: "a draft has no recipient yet",
    A.REQUEST_CHANGE: "a change can be requested only on a sent or viewed invoice",
    A.REVISE: "only an invoice with a change request can be revised",
    A.APPROVE: "only a sent or viewed invoice can be approved",
    A.LOCK: "only an approved invoice can be locked",
    A.RECORD_PAYMENT: "payments are recorded only against an issued invoice",
    A.CREDIT_IN_FULL: "only an issued invoice can be credited",
    A.CREDIT_PART: "only an issued invoice can be credited",
    A.EDIT_DRAFT: "only a draft can be edited; a sent invoice changes by revision or credit note",
    A.AMEND: "amendments are accepted until the invoice is approved",
}


def allowed(state: InvoiceState, action: InvoiceAction) -> bool:
    return (state, action) in TRANSITIONS


def next_state(state: InvoiceState, action: InvoiceAction) -> InvoiceState:
    """The state after ``action``, or ``InvalidTransition`` with the action's stable code."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        raise InvalidTransition(
            f"cannot {action.value.replace('_', ' ')} an invoice that is {state.value}: "
            f"{_REFUSAL_REASONS[action]}",
            code=REFUSAL_CODES[action],
            details={"state": state.value, "action": action.value},
        ) from None


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    VOID = "void"  # a void invoice asks for nothing and has no payment status
