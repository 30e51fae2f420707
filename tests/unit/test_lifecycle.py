"""The invoice lifecycle table is the whole truth: what it lists happens, nothing else does.

Proves that every (state, action) in ``TRANSITIONS`` leads to its target, that every other
pair of the full state x action product is refused by ``next_state`` with ``InvalidTransition``
carrying the action's stable ``REFUSAL_CODES`` code, and spells out the rules people ask about
(a draft cannot be approved, a locked invoice cannot be amended, a void one cannot be paid,
a change request is answered by a revision that is sent again).
"""

from __future__ import annotations

import itertools

import pytest

from engagebill.domain.errors import InvalidTransition
from engagebill.domain.lifecycle import (
    ISSUED_STATES,
    REFUSAL_CODES,
    TRANSITIONS,
    InvoiceAction,
    InvoiceState,
    allowed,
    next_state,
)

S = InvoiceState
A = InvoiceAction

ALLOWED = sorted(TRANSITIONS.items())
REFUSED = [
    (state, action)
    for state, action in itertools.product(InvoiceState, InvoiceAction)
    if (state, action) not in TRANSITIONS
]


def _id(pair: tuple[InvoiceState, InvoiceAction]) -> str:
    state, action = pair
    return f"{state.value}-{action.value}"


@pytest.mark.parametrize(("step", "target"), ALLOWED, ids=[_id(step) for step, _ in ALLOWED])
def test_an_allowed_step_leads_to_its_target(
    step: tuple[InvoiceState, InvoiceAction], target: InvoiceState
) -> None:
    state, action = step

    assert allowed(state, action)
    assert next_state(state, action) is target


@pytest.mark.parametrize(("state", "action"), REFUSED, ids=[_id(pair) for pair in REFUSED])
def test_a_step_missing_from_the_table_is_refused_with_the_actions_code(
    state: InvoiceState, action: InvoiceAction
) -> None:
    assert not allowed(state, action)
    with pytest.raises(InvalidTransition) as excinfo:
        next_state(state, action)
    assert excinfo.value.code == REFUSAL_CODES[action]
    assert excinfo.value.details == {"state": state.value, "action": action.value}


def test_every_action_has_a_refusal_code() -> None:
    assert set(REFUSAL_CODES) == set(InvoiceAction)
    assert all(code.startswith("invoice.") for code in REFUSAL_CODES.values())


def test_the_table_and_its_complement_cover_every_pair_once() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(InvoiceState) * len(InvoiceAction)
    assert REFUSED, "some steps must be refused"


# the rules people ask about -----------------------------------------------------------------


def test_a_draft_cannot_be_approved() -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        next_state(S.DRAFT, A.APPROVE)
    assert excinfo.value.code == "invoice.not_approvable"
    assert "draft" in excinfo.value.message


def test_a_locked_invoice_cannot_be_amended() -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        next_state(S.LOCKED, A.AMEND)
    assert excinfo.value.code == "invoice.not_amendable"


def test_an_approved_invoice_cannot_be_amended() -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        next_state(S.APPROVED, A.AMEND)
    assert excinfo.value.code == "invoice.not_amendable"


def test_a_void_invoice_cannot_be_paid() -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        next_state(S.VOID, A.RECORD_PAYMENT)
    assert excinfo.value.code == "invoice.not_payable"


def test_a_change_request_is_answered_by_a_revision_that_is_sent_again() -> None:
    state = next_state(S.DRAFT, A.SEND)
    state = next_state(state, A.VIEW)
    state = next_state(state, A.REQUEST_CHANGE)
    assert state is S.CHANGE_REQUESTED

    assert next_state(state, A.REVISE) is S.SENT


def test_only_a_change_request_can_be_revised() -> None:
    for state in set(InvoiceState) - {S.CHANGE_REQUESTED}:
        with pytest.raises(InvalidTransition) as excinfo:
            next_state(state, A.REVISE)
        assert excinfo.value.code == "invoice.not_revisable"


def test_a_sent_invoice_cannot_be_sent_again_or_edited_as_a_draft() -> None:
    with pytest.raises(InvalidTransition) as sent_again:
        next_state(S.SENT, A.SEND)
    with pytest.raises(InvalidTransition) as edited:
        next_state(S.SENT, A.EDIT_DRAFT)

    assert sent_again.value.code == "invoice.not_sendable"
    assert edited.value.code == "invoice.not_editable"


def test_a_later_view_does_not_move_the_invoice_back() -> None:
    for state in (S.VIEWED, S.CHANGE_REQUESTED, S.APPROVED, S.LOCKED, S.VOID):
        assert next_state(state, A.VIEW) is state


def test_the_first_payment_locks_every_issued_state() -> None:
    for state in ISSUED_STATES:
        assert next_state(state, A.RECORD_PAYMENT) is S.LOCKED


def test_a_full_credit_voids_any_issued_invoice_and_a_part_credit_keeps_its_state() -> None:
    for state in ISSUED_STATES:
        assert next_state(state, A.CREDIT_IN_FULL) is S.VOID
        assert next_state(state, A.CREDIT_PART) is state


def test_neither_a_draft_nor_a_void_invoice_can_be_credited() -> None:
    for state, action in itertools.product((S.DRAFT, S.VOID), (A.CREDIT_IN_FULL, A.CREDIT_PART)):
        with pytest.raises(InvalidTransition) as excinfo:
            next_state(state, action)
        assert excinfo.value.code == "invoice.not_creditable"


def test_void_is_final_apart_from_recording_views() -> None:
    for action in set(InvoiceAction) - {A.VIEW}:
        assert not allowed(S.VOID, action)
