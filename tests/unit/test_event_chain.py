"""The event chain is tamper-evident and names the first event that no longer holds.

Proves that ``chain()`` followed by ``verify_chain()`` holds (also when a chain is continued
from its head), and that altering any single field of any record, deleting the first, a middle
or the last record (the last caught through the chain head), inserting a forged record, or
reordering records is detected, with ``ChainBreak.seq`` naming the first broken event.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engagebill.domain.events import (
    GENESIS_HASH,
    DomainEvent,
    EventRecord,
    chain,
    record_hash,
    verify_chain,
)

ORG = "org_1"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LENGTH = 5
POSITIONS = range(LENGTH)


def an_event(i: int) -> DomainEvent:
    return DomainEvent(
        kind=["invoice.created", "invoice.sent", "invoice.viewed", "invoice.paid"][i % 4],
        subject_type="invoice",
        subject_id=f"inv_{i % 2}",
        occurred_at=T0 + timedelta(minutes=i),
        payload={"number": "INV-2025-0001", "step": i, "amount": "1210.00"},
    )


def a_chain(length: int = LENGTH) -> list[EventRecord]:
    return chain(ORG, [an_event(i) for i in range(length)], last_seq=0, last_hash=GENESIS_HASH)


def verify(records: list[EventRecord], head: EventRecord | None = None):  # type: ignore[no-untyped-def]
    """Verify against the head as stored separately: by default, the untouched last record."""
    head = head or a_chain()[-1]
    return verify_chain(ORG, records, head_seq=head.seq, head_hash=head.hash)


def forged_after(previous: EventRecord | None, seq: int) -> EventRecord:
    """A well-formed record that links to ``previous``, as a forger without a secret could."""
    prev_hash = previous.hash if previous else GENESIS_HASH
    fields = dict(
        organization_id=ORG,
        seq=seq,
        kind="invoice.paid",
        subject_type="invoice",
        subject_id="inv_0",
        occurred_at="2025-03-03T09:30:00.000000+00:00",
        payload='{"amount":"1210.00"}',
        prev_hash=prev_hash,
    )
    return EventRecord(**fields, hash=record_hash(**fields))  # type: ignore[arg-type]


# a chain that holds ---------------------------------------------------------------------------


def test_a_fresh_chain_verifies() -> None:
    records = a_chain()

    assert [r.seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    assert verify(records) is None


def test_an_empty_chain_verifies_against_the_genesis_head() -> None:
    assert verify_chain(ORG, [], head_seq=0, head_hash=GENESIS_HASH) is None


def test_a_chain_continued_from_its_head_verifies() -> None:
    first = a_chain(3)
    more = chain(ORG, [an_event(i) for i in range(3, 6)], last_seq=3, last_hash=first[-1].hash)

    records = first + more

    assert [r.seq for r in more] == [4, 5, 6]
    assert verify_chain(ORG, records, head_seq=6, head_hash=more[-1].hash) is None


def test_records_keep_the_exact_hashed_text() -> None:
    [record] = a_chain(1)

    assert record.occurred_at == "2025-03-03T09:00:00.000000+00:00"
    assert record.data == {"number": "INV-2025-0001", "step": 0, "amount": "1210.00"}


def test_event_times_must_be_timezone_aware() -> None:
    naive = dataclasses.replace(an_event(0), occurred_at=datetime(2025, 3, 3, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        chain(ORG, [naive], last_seq=0, last_hash=GENESIS_HASH)


@given(
    payloads=st.lists(
        st.dictionaries(st.text(max_size=5), st.text(max_size=10) | st.integers()),
        min_size=1,
        max_size=8,
    ),
    minutes=st.integers(min_value=0, max_value=10**6),
)
def test_any_chain_verifies_against_its_own_head(
    payloads: list[dict[str, object]], minutes: int
) -> None:
    events = [
        DomainEvent("invoice.sent", "invoice", f"inv_{i}", T0 + timedelta(minutes=minutes), p)
        for i, p in enumerate(payloads)
    ]
    records = chain(ORG, events, last_seq=0, last_hash=GENESIS_HASH)

    assert verify_chain(ORG, records, head_seq=len(records), head_hash=records[-1].hash) is None


def test_a_chain_does_not_verify_for_another_organization() -> None:
    records = a_chain()

    brk = verify_chain("org_2", records, head_seq=LENGTH, head_hash=records[-1].hash)

    assert brk is not None and brk.seq == 1 and brk.organization_id == "org_2"


# altering one field ---------------------------------------------------------------------------

TAMPERS: dict[str, Callable[[EventRecord], dict[str, object]]] = {
    "kind": lambda r: {"kind": "invoice.voided"},
    "subject_type": lambda r: {"subject_type": "credit_note"},
    "subject_id": lambda r: {"subject_id": "inv_forged"},
    "occurred_at": lambda r: {"occurred_at": "2020-01-01T00:00:00.000000+00:00"},
    "payload": lambda r: {"payload": r.payload.replace("1210.00", "12.10")},
    "prev_hash": lambda r: {"prev_hash": "f" * 64},
    "hash": lambda r: {"hash": "e" * 64},
    "seq": lambda r: {"seq": r.seq + 1},
    "organization_id": lambda r: {"organization_id": "org_2"},
}


@pytest.mark.parametrize("position", POSITIONS)
@pytest.mark.parametrize("field", sorted(TAMPERS))
def test_altering_any_field_of_any_record_is_caught_at_that_record(
    field: str, position: int
) -> None:
    records = a_chain()
    original = records[position]
    records[position] = dataclasses.replace(original, **TAMPERS[field](original))  # type: ignore[arg-type]
    assert records[position] != original

    brk = verify(records)

    assert brk is not None
    assert brk.seq == position + 1
    assert brk.organization_id == ORG


@pytest.mark.parametrize("position", POSITIONS)
def test_a_record_altered_and_rehashed_is_caught_at_the_next_link_or_the_head(
    position: int,
) -> None:
    records = a_chain()
    original = records[position]
    fields = {f.name: getattr(original, f.name) for f in dataclasses.fields(original)}
    fields.pop("hash")
    fields["payload"] = '{"amount":"0.01"}'
    records[position] = EventRecord(**fields, hash=record_hash(**fields))

    brk = verify(records)

    assert brk is not None
    assert brk.seq == min(position + 2, LENGTH)


@pytest.mark.parametrize("position", POSITIONS)
def test_lowering_a_records_seq_is_caught_at_that_record(position: int) -> None:
    records = a_chain()
    records[position] = dataclasses.replace(records[position], seq=records[position].seq - 1)

    brk = verify(records)

    assert brk is not None
    # The first record lowered to 0 lies before the chain's start: it is named by that number.
    assert brk.seq == (position + 1 if position else 0)


@pytest.mark.parametrize("seq", [0, -3])
def test_a_record_renumbered_before_the_start_is_named_by_its_own_number(seq: int) -> None:
    """Such a row comes first in the database's order; naming it "event 1" would send the
    auditor to the genuine event 1, which holds."""
    records = a_chain()
    moved = dataclasses.replace(records[2], seq=seq)
    stored = sorted([moved, *records[:2], *records[3:]], key=lambda r: r.seq)

    brk = verify(stored)

    assert brk is not None
    assert brk.seq == seq
    assert "altered" in brk.reason


# deleting, inserting, reordering -------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "expected_seq"),
    [pytest.param(0, 1, id="first"), pytest.param(2, 3, id="middle")],
)
def test_deleting_a_record_is_caught_where_it_went_missing(
    position: int, expected_seq: int
) -> None:
    records = a_chain()
    del records[position]

    brk = verify(records)

    assert brk is not None
    assert brk.seq == expected_seq
    assert "missing" in brk.reason


def test_deleting_the_last_record_is_caught_through_the_head() -> None:
    records = a_chain()
    del records[-1]

    brk = verify(records)

    assert brk is not None
    assert brk.seq == LENGTH
    assert "head" in brk.reason


def test_deleting_every_record_is_caught_through_the_head() -> None:
    brk = verify([])

    assert brk is not None and brk.seq == 1


@pytest.mark.parametrize("position", POSITIONS)
def test_a_forged_record_inserted_before_any_record_is_caught_at_the_forgery(
    position: int,
) -> None:
    records = a_chain()
    previous = records[position - 1] if position else None
    records.insert(position, forged_after(previous, seq=position + 1))

    brk = verify(records)

    assert brk is not None
    assert brk.seq == position + 1


def test_a_forged_record_appended_after_the_last_is_caught_through_the_head() -> None:
    records = a_chain()
    records.append(forged_after(records[-1], seq=LENGTH + 1))

    brk = verify(records)

    assert brk is not None
    assert brk.seq == LENGTH + 1


def test_a_naive_forgery_is_caught_as_altered() -> None:
    records = a_chain()
    forged = dataclasses.replace(records[2], kind="invoice.paid")
    records[2] = forged

    brk = verify(records)

    assert brk is not None and brk.seq == 3 and "altered" in brk.reason


@pytest.mark.parametrize("position", range(LENGTH - 1))
def test_swapping_two_neighbours_is_caught_at_the_first_of_them(position: int) -> None:
    records = a_chain()
    records[position], records[position + 1] = records[position + 1], records[position]

    brk = verify(records)

    assert brk is not None
    assert brk.seq == position + 1


@given(order=st.permutations(range(LENGTH)))
def test_any_reordering_is_caught_at_the_first_displaced_record(order: list[int]) -> None:
    records = a_chain()
    shuffled = [records[i] for i in order]
    first_moved = next((i for i, j in enumerate(order) if i != j), None)

    brk = verify(shuffled)

    if first_moved is None:
        assert brk is None
    else:
        assert brk is not None
        assert brk.seq == first_moved + 1


def test_a_head_that_does_not_match_the_last_hash_is_caught() -> None:
    records = a_chain()

    brk = verify_chain(ORG, records, head_seq=LENGTH, head_hash="0" * 63 + "1")

    assert brk is not None and brk.seq == LENGTH
