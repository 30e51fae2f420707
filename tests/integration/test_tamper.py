"""Tampering with the event log in SQL is refused by the guard, and detected without it.

Each test gets a database of its own, sends a few invoices, then changes the ``events`` table
behind the application's back. ``verify_chains`` must name the first event that does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from engagebill.bootstrap import App
from engagebill.domain.events import DomainEvent, canonical_json, record_hash
from engagebill.services import invoicing
from engagebill.services.audit import verify_chains
from tests.support import (
    FixedClock,
    a_client,
    an_engagement,
    an_organization,
    line,
    migrated_app,
    postgres_database,
)

INVOICES = 3


@dataclass
class Ledger:
    app: App
    url: str
    org_id: str
    head: int  # seq of the newest event
    sent_seqs: list[int]  # seq of each invoice.sent event, oldest first

    def event(self, seq: int) -> dict[str, object]:
        with self.app.engine.connect() as conn:
            row = conn.execute(
                text("SELECT * FROM events WHERE organization_id = :o AND seq = :s"),
                {"o": self.org_id, "s": seq},
            ).one()
        return dict(row._mapping)

    def broken(self) -> tuple[int, str] | None:
        reports = verify_chains(self.app.ctx, organization_id=self.org_id)
        assert len(reports) == 1
        brk = reports[0].broken
        return None if brk is None else (brk.seq, brk.reason)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tamper.db'}"
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def ledger(fresh_url: str) -> Iterator[Ledger]:
    app = migrated_app(fresh_url, FixedClock())
    org = an_organization(app)
    client = a_client(app, org)
    engagement = an_engagement(app, org, client)
    for i in range(INVOICES):
        draft = invoicing.create_draft(
            app.ctx,
            organization_id=org,
            engagement_id=engagement,
            lines=[line(f"Retainer, month {i + 1}")],
        ).invoice
        invoicing.send_invoice(app.ctx, organization_id=org, invoice_id=draft.id)
    with app.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT seq, kind FROM events WHERE organization_id = :o ORDER BY seq"), {"o": org}
        ).all()
    sent = [int(seq) for seq, kind in rows if kind == "invoice.sent"]
    assert len(sent) == INVOICES
    book = Ledger(app, fresh_url, org, head=int(rows[-1][0]), sent_seqs=sent)
    assert book.broken() is None
    # The middle invoice.sent must be a middle event for the cases below to mean anything.
    assert 1 < sent[1] < book.head
    yield book
    app.dispose()


def _disable_guard(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER guard_events"))
    else:
        conn.execute(text("DROP TRIGGER guard_events_update"))
        conn.execute(text("DROP TRIGGER guard_events_delete"))


def _tamper(book: Ledger, statement: str, **params: object) -> None:
    with book.app.engine.begin() as conn:
        _disable_guard(conn)
        result = conn.execute(text(statement), {"o": book.org_id, **params})
        assert result.rowcount == 1


# -- the guard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET payload = '{}' WHERE organization_id = :o AND seq = :s",
        "UPDATE events SET kind = 'invoice.forged' WHERE organization_id = :o AND seq = :s",
        "DELETE FROM events WHERE organization_id = :o AND seq = :s",
        "DELETE FROM events WHERE organization_id = :o",
    ],
)
def test_the_guard_refuses_to_change_or_delete_events(ledger: Ledger, statement: str) -> None:
    before = ledger.event(ledger.sent_seqs[1])
    with pytest.raises(Exception, match="append-only"), ledger.app.engine.begin() as conn:
        conn.execute(text(statement), {"o": ledger.org_id, "s": ledger.sent_seqs[1]})
    assert ledger.event(ledger.sent_seqs[1]) == before
    assert ledger.broken() is None


def test_reading_the_whole_chain_leaves_its_transaction_usable(ledger: Ledger) -> None:
    """The chain is streamed in pages; the paging must not carry over to the statements after
    it (on PostgreSQL they became server-side cursors, which an INSERT cannot be)."""
    with ledger.app.ctx.uow() as uow:
        assert len(list(uow.events.records(ledger.org_id))) == ledger.head
        note = DomainEvent("note.added", "note", "note_1", datetime(2025, 3, 4, tzinfo=UTC))
        uow.events.append(ledger.org_id, [note])
        uow.commit()
    assert ledger.broken() is None


# -- tampering with the guard out of the way ------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", '{"number":"INV-2025-0099"}'),
        ("kind", "invoice.viewed"),
        ("occurred_at", "2025-01-01T00:00:00.000000+00:00"),
        ("subject_id", "inv_forged"),
        ("subject_type", "credit_note"),
        ("prev_hash", "f" * 64),
        ("hash", "e" * 64),
    ],
)
def test_a_changed_field_names_that_event(ledger: Ledger, column: str, value: str) -> None:
    target = ledger.sent_seqs[1]
    _tamper(
        ledger,
        f"UPDATE events SET {column} = :v WHERE organization_id = :o AND seq = :s",
        v=value,
        s=target,
    )
    broken = ledger.broken()
    assert broken is not None and broken[0] == target, broken


def test_a_changed_payload_that_keeps_its_json_meaning_is_still_caught(ledger: Ledger) -> None:
    """Reformatting the JSON changes no value, but the hash covers the stored text."""
    target = ledger.sent_seqs[1]
    payload = str(ledger.event(target)["payload"])
    spaced = payload.replace(",", ", ")
    assert spaced != payload
    _tamper(
        ledger,
        "UPDATE events SET payload = :v WHERE organization_id = :o AND seq = :s",
        v=spaced,
        s=target,
    )
    broken = ledger.broken()
    assert broken is not None and broken[0] == target, broken


def test_a_rehashed_event_breaks_the_link_of_the_next_one(ledger: Ledger) -> None:
    """Changing an event and recomputing its own hash makes it verify on its own; the next
    event no longer links to it, so that is the first event that does not hold."""
    target = ledger.sent_seqs[1]
    row = ledger.event(target)
    payload = canonical_json({"number": "INV-2025-0099"})
    digest = record_hash(
        organization_id=ledger.org_id,
        seq=target,
        kind=str(row["kind"]),
        subject_type=str(row["subject_type"]),
        subject_id=str(row["subject_id"]),
        occurred_at=str(row["occurred_at"]),
        payload=payload,
        prev_hash=str(row["prev_hash"]),
    )
    _tamper(
        ledger,
        "UPDATE events SET payload = :p, hash = :h WHERE organization_id = :o AND seq = :s",
        p=payload,
        h=digest,
        s=target,
    )
    broken = ledger.broken()
    assert broken is not None and broken[0] == target + 1, broken
    assert "link" in broken[1]


def test_a_deleted_middle_event_is_named_missing(ledger: Ledger) -> None:
    target = ledger.sent_seqs[1]
    _tamper(ledger, "DELETE FROM events WHERE organization_id = :o AND seq = :s", s=target)
    broken = ledger.broken()
    assert broken is not None and broken[0] == target, broken
    assert "missing" in broken[1]


def test_a_deleted_last_event_is_caught_by_the_head(ledger: Ledger) -> None:
    _tamper(ledger, "DELETE FROM events WHERE organization_id = :o AND seq = :s", s=ledger.head)
    broken = ledger.broken()
    assert broken is not None and broken[0] == ledger.head, broken
    assert "missing" in broken[1]


def _forge(book: Ledger, *, valid_hash: bool) -> int:
    last = book.event(book.head)
    seq = book.head + 1
    fields = {
        "organization_id": book.org_id,
        "seq": seq,
        "kind": "invoice.paid",
        "subject_type": "invoice",
        "subject_id": str(last["subject_id"]),
        "occurred_at": "2025-03-04T09:00:00.000000+00:00",
        "payload": canonical_json({"amount": "12100.00"}),
        "prev_hash": str(last["hash"]),
    }
    digest = record_hash(**fields) if valid_hash else "d" * 64  # type: ignore[arg-type]
    with book.app.engine.begin() as conn:  # no guard against INSERT: none needs lifting
        conn.execute(
            text(
                "INSERT INTO events (organization_id, seq, kind, subject_type, subject_id, "
                "occurred_at, payload, prev_hash, hash) VALUES (:organization_id, :seq, :kind, "
                ":subject_type, :subject_id, :occurred_at, :payload, :prev_hash, :hash)"
            ),
            {**fields, "hash": digest},
        )
    return seq


@pytest.mark.parametrize("valid_hash", [True, False], ids=["chained", "bad-hash"])
def test_a_forged_event_is_named(ledger: Ledger, valid_hash: bool) -> None:
    forged = _forge(ledger, valid_hash=valid_hash)
    broken = ledger.broken()
    assert broken is not None and broken[0] == forged, broken


def test_tampering_in_one_organization_leaves_the_others_whole(ledger: Ledger) -> None:
    other = an_organization(ledger.app, name="Other Agency")
    _tamper(
        ledger, "DELETE FROM events WHERE organization_id = :o AND seq = :s", s=ledger.sent_seqs[0]
    )
    reports = {r.organization_id: r.broken for r in verify_chains(ledger.app.ctx)}
    assert reports[other] is None
    assert reports[ledger.org_id] is not None
    assert reports[ledger.org_id].seq == ledger.sent_seqs[0]


# -- the CLI --------------------------------------------------------------------------------


def test_cli_verify_names_the_broken_event(ledger: Ledger) -> None:
    cli_main = pytest.importorskip(
        "engagebill.entrypoints.cli.main",
        reason="the `engagebill verify` command is not written yet",
    )
    from typer.testing import CliRunner

    runner = CliRunner()
    whole = runner.invoke(cli_main.app, ["--db", ledger.url, "verify"])
    assert whole.exit_code == 0, whole.output

    target = ledger.sent_seqs[1]
    _tamper(ledger, "DELETE FROM events WHERE organization_id = :o AND seq = :s", s=target)
    result = runner.invoke(cli_main.app, ["--db", ledger.url, "verify"])
    assert result.exit_code != 0, result.output
    assert re.search(rf"(?<!\d){target}(?!\d)", result.output), result.output
