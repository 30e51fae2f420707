"""Any single edit, deletion or insertion in the events table is caught, and named.

A small ledger (two organizations; one with invoices sent, viewed, revised, amended, approved,
paid and credited) is built once per database. Then 200 seeded random tampers per database
(1,000 with ENGAGEBILL_PROOF_LONG=1) are made directly in SQL, with the append-only guard out
of the way: one field of one event changed (any column, to a nearby or an unrelated value,
including the sequence number and the organization), one event deleted, or one row inserted
(chained with a correct hash or not, at the end, past it, or before the start). Each tamper
starts from the untouched ledger, and ``verify_chains`` must name the first event that no
longer holds: its sequence number is asserted, not only that something is wrong.

SQLite: every tamper is made on a fresh copy of the database file, and every tenth copy is
also checked with ``engagebill verify``, which must exit 9 naming the same event.
PostgreSQL: a fresh copy (``CREATE DATABASE ... TEMPLATE``) costs about a second here, so
every tamper is made inside a transaction that is rolled back afterwards, and verified through
the same services on that transaction; one in 40 (one in 10 in the soak) is also made on a
real template copy, checked by ``verify_chains`` and ``engagebill verify``.
"""

from __future__ import annotations

import random
import re
import secrets
import string
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Connection, text
from typer.testing import CliRunner

from engagebill.adapters.db.unit_of_work import SqlUnitOfWork
from engagebill.bootstrap import App, build
from engagebill.config import Settings
from engagebill.domain.events import canonical_json, record_hash
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.services import invoicing, recipient, settlement
from engagebill.services.audit import ChainReport, verify_chains
from engagebill.services.ports import Context
from tests.proof.harness import database_copy, is_postgres, scale
from tests.support import FixedClock, a_client, an_engagement, an_organization, line, migrated_app

TAMPERS = scale(200, 1000)
CLI_EVERY = 10  # of the copies, so many are also checked through `engagebill verify`
PG_COPY_EVERY = scale(40, 10)  # on PostgreSQL, one tamper in so many also on a template copy
SEED = 8
PAID_ON = date(2025, 3, 10)
COLUMNS = {  # the events columns a tamper may change, with their width
    "kind": 60,
    "subject_type": 30,
    "subject_id": 40,
    "occurred_at": 40,
    "payload": 10_000,
    "prev_hash": 64,
    "hash": 64,
}
FIELDS = ("organization_id", "seq", *COLUMNS)


@dataclass(frozen=True)
class Ledger:
    url: str
    org: str  # the organization whose chain is tampered with
    other: str  # an organization with a chain of its own
    events: list[dict[str, Any]]  # the org's events, seq 1..head, as stored
    other_head: int

    @property
    def head(self) -> int:
        return len(self.events)


@dataclass(frozen=True)
class Tamper:
    """One statement against the events table, and the event verification must name."""

    kind: str  # edit, delete or insert
    description: str
    sql: str
    params: dict[str, Any]
    expected_seq: int
    moves_to_other: bool = False  # the row now sits in the other organization's chain


# -- the ledger ----------------------------------------------------------------------------


def build_ledger(url: str) -> Ledger:
    """Two organizations' chains, with every kind of invoice event in the first."""
    app = migrated_app(url, FixedClock())
    try:
        ctx = app.ctx
        org = an_organization(app)
        client = a_client(app, org)
        engagement = an_engagement(app, org, client)
        sent = []
        for month in range(1, 5):
            draft = invoicing.create_draft(
                ctx,
                organization_id=org,
                engagement_id=engagement,
                lines=[line(f"Retainer, month {month}"), line("Design sprint", "3", "850.00")],
            ).invoice
            sent.append(invoicing.send_invoice(ctx, organization_id=org, invoice_id=draft.id).id)
        first, second, third, fourth = sent
        recipient.record_view(ctx, organization_id=org, invoice_id=first, viewer="ap@acme")
        recipient.request_change(
            ctx, organization_id=org, invoice_id=first, message="Split the sprint", by="Alex"
        )
        invoicing.revise_invoice(
            ctx, organization_id=org, invoice_id=first, lines=[line("Retainer, month 1")]
        )
        recipient.amend_invoice(
            ctx, organization_id=org, invoice_id=second, by="Alex", purchase_order_number="PO-7"
        )
        recipient.approve_invoice(ctx, organization_id=org, invoice_id=second, name="Alex AP")
        settlement.record_payment(
            ctx, organization_id=org, invoice_id=third, amount="1000.00", received_on=PAID_ON
        )
        settlement.issue_credit_note(ctx, organization_id=org, invoice_id=fourth, reason="Dup")
        other = an_organization(app, name="Other Agency")
        other_engagement = an_engagement(app, other, a_client(app, other))
        draft = invoicing.create_draft(
            ctx, organization_id=other, engagement_id=other_engagement, lines=[line()]
        ).invoice
        invoicing.send_invoice(ctx, organization_id=other, invoice_id=draft.id)
        with app.engine.connect() as conn:
            events = [
                dict(r._mapping)
                for r in conn.execute(
                    text("SELECT * FROM events WHERE organization_id = :o ORDER BY seq"),
                    {"o": org},
                )
            ]
            other_head = conn.execute(
                text("SELECT max(seq) FROM events WHERE organization_id = :o"), {"o": other}
            ).scalar_one()
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert {r.organization_id: r.broken for r in verify_chains(ctx)} == {
            org: None,
            other: None,
        }
        return Ledger(url, org, other, events, int(other_head))
    finally:
        app.dispose()  # on SQLite this checkpoints the WAL: the file alone is the database


@pytest.fixture
def ledger(fresh_url: str) -> Ledger:
    return build_ledger(fresh_url)


# -- tampers -------------------------------------------------------------------------------


def _text(rng: random.Random, size: int) -> str:
    alphabet = string.ascii_letters + string.digits + ' .:_-{}",é€'
    return "".join(rng.choice(alphabet) for _ in range(size))


def _changed(rng: random.Random, old: str, width: int, others: list[str]) -> str:
    """A new value for a text field: nearby (one character off, a case change, an extra
    space) or unrelated (another event's value, random text), never the old one."""
    for _ in range(100):
        how = rng.choice(["flip", "append", "truncate", "case", "space", "other", "random"])
        if how == "flip" and old:
            i = rng.randrange(len(old))
            new = old[:i] + rng.choice(string.hexdigits.lower() + "x") + old[i + 1 :]
        elif how == "append":
            new = old + rng.choice(string.ascii_letters + " ")
        elif how == "truncate" and old:
            new = old[: rng.randrange(len(old))]
        elif how == "case":
            new = old.swapcase()
        elif how == "space" and old:
            i = rng.randrange(len(old) + 1)
            new = old[:i] + " " + old[i:]
        elif how == "other":
            new = rng.choice(others)
        else:
            new = _text(rng, rng.randint(1, min(width, 64)))
        if new != old and len(new) <= width:
            return new
    raise AssertionError(f"no new value for {old!r}")  # pragma: no cover


def _where(book: Ledger, seq: int) -> dict[str, Any]:
    return {"o": book.org, "s": seq}


def an_edit(rng: random.Random, book: Ledger) -> Tamper:
    target = rng.randint(1, book.head)
    field = rng.choice(FIELDS)
    where = "WHERE organization_id = :o AND seq = :s"
    if field == "seq":
        if rng.random() < 0.5:
            value = book.head + rng.randint(1, 5)  # moved past the end: a gap where it was
            expected = target
        else:
            value = -rng.randint(0, 3)  # moved before the start: the first row is foreign
            expected = value
        return Tamper(
            "edit",
            f"seq {target} -> {value}",
            f"UPDATE events SET seq = :v {where}",
            {**_where(book, target), "v": value},
            expected,
        )
    if field == "organization_id":
        into_other = target > book.other_head and rng.random() < 0.5
        value = book.other if into_other else f"org_{secrets.token_hex(16)}"
        return Tamper(
            "edit",
            f"event {target} moved to {'the other' if into_other else 'an unknown'} org",
            f"UPDATE events SET organization_id = :v {where}",
            {**_where(book, target), "v": value},
            target,
            moves_to_other=into_other,
        )
    old = str(book.events[target - 1][field])
    others = [str(e[field]) for e in book.events]
    value = _changed(rng, old, COLUMNS[field], others)
    return Tamper(
        "edit",
        f"{field} of {target}: {old[:30]!r} -> {value[:30]!r}",
        f"UPDATE events SET {field} = :v {where}",
        {**_where(book, target), "v": value},
        target,
    )


def a_deletion(rng: random.Random, book: Ledger) -> Tamper:
    target = rng.randint(1, book.head)
    return Tamper(
        "delete",
        f"delete {target}",
        "DELETE FROM events WHERE organization_id = :o AND seq = :s",
        _where(book, target),
        target,
    )


def an_insertion(rng: random.Random, book: Ledger) -> Tamper:
    """A forged row: a copy of some event, renumbered, its hash recomputed (a forger who knows
    the scheme) or not. Inserted rows can only go where no event is: past the end (the first
    missing event is named), or before the start (the forged row itself is named)."""
    model = rng.choice(book.events)
    where = rng.choice(["next", "past", "before"])
    seq = {
        "next": book.head + 1,
        "past": book.head + rng.randint(2, 4),
        "before": -rng.randint(0, 2),
    }[where]
    row = {k: model[k] for k in ("kind", "subject_type", "subject_id", "occurred_at", "payload")}
    row.update(organization_id=book.org, seq=seq, prev_hash=book.events[-1]["hash"])
    if rng.random() < 0.5:
        row["payload"] = canonical_json({"amount": f"{rng.randint(1, 99999)}.00"})
    chained = rng.random() < 0.5
    row["hash"] = record_hash(**row) if chained else secrets.token_hex(32)
    return Tamper(
        "insert",
        f"insert {where} at {seq} ({'chained' if chained else 'bad hash'})",
        "INSERT INTO events (organization_id, seq, kind, subject_type, subject_id, occurred_at, "
        "payload, prev_hash, hash) VALUES (:organization_id, :seq, :kind, :subject_type, "
        ":subject_id, :occurred_at, :payload, :prev_hash, :hash)",
        row,
        seq if where == "before" else book.head + 1,
    )


def tampers(book: Ledger, count: int, seed: int) -> Iterator[Tamper]:
    rng = random.Random(seed)
    makers: list[Callable[[random.Random, Ledger], Tamper]] = [an_edit] * 6 + [a_deletion] * 2
    makers += [an_insertion] * 2
    for _ in range(count):
        yield rng.choice(makers)(rng, book)


# -- applying one --------------------------------------------------------------------------


def _apply(conn: Connection, tamper: Tamper) -> None:
    """The tamper, with the append-only guard out of the way (as test_tamper.py does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER guard_events"))
    else:
        conn.execute(text("DROP TRIGGER guard_events_update"))
        conn.execute(text("DROP TRIGGER guard_events_delete"))
    assert conn.execute(text(tamper.sql), tamper.params).rowcount == 1, tamper.description


class _Joined:
    """A stand-in engine whose connection is one the caller has a transaction open on: a unit
    of work on it begins a savepoint and leaves the connection open. Verification then reads
    the tampered rows through the real repositories, and the caller rolls everything back."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def connect(self) -> _Joined:
        return self

    def begin(self) -> Any:
        return self.conn.begin_nested()

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def verified_in_rollback(app: App, tamper: Tamper) -> list[ChainReport]:
    with app.engine.connect() as conn:
        transaction = conn.begin()
        try:
            _apply(conn, tamper)
            joined = _Joined(conn)
            ctx: Context = replace(app.ctx, uow=lambda: SqlUnitOfWork(joined))  # type: ignore[arg-type]
            return verify_chains(ctx)
        finally:
            transaction.rollback()


@contextmanager
def tampered_copy(book: Ledger, tamper: Tamper) -> Iterator[App]:
    with database_copy(book.url, "tamper") as url:
        app = build(Settings(database_url=url))
        try:
            with app.engine.begin() as conn:
                _apply(conn, tamper)
            yield app
        finally:
            app.dispose()


def cli_named_seq(url: str, org: str) -> int:
    result = CliRunner().invoke(cli_app, ["--db", url, "verify", "--org", org])
    assert result.exit_code == 9, result.output
    match = re.search(r"broken at event (-?\d+)", result.output)
    assert match, result.output
    return int(match.group(1))


def check(book: Ledger, tamper: Tamper, reports: list[ChainReport]) -> None:
    found = {r.organization_id: r.broken for r in reports}
    broken = found[book.org]
    assert broken is not None, f"not detected: {tamper.description}"
    assert broken.seq == tamper.expected_seq, (tamper.description, broken)
    assert (found[book.other] is not None) == tamper.moves_to_other, (tamper, found[book.other])


# -- the proof ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_every_random_tamper_with_the_events_is_detected_at_its_first_broken_event(
    ledger: Ledger,
) -> None:
    postgres = is_postgres(ledger.url)
    kinds: Counter[str] = Counter()
    app = build(Settings(database_url=ledger.url)) if postgres else None
    try:
        for index, tamper in enumerate(tampers(ledger, TAMPERS, SEED)):
            kinds[tamper.kind] += 1
            if app is not None:
                check(ledger, tamper, verified_in_rollback(app, tamper))
                if index % PG_COPY_EVERY:
                    continue
                app.dispose()  # a template must have no connections
            with tampered_copy(ledger, tamper) as copy:
                check(ledger, tamper, verify_chains(copy.ctx))
                if postgres or index % CLI_EVERY == 0:
                    url = copy.engine.url.render_as_string(hide_password=False)
                    assert cli_named_seq(url, ledger.org) == tamper.expected_seq, tamper
        if app is not None:
            # The ledger itself was never touched.
            assert {r.broken for r in verify_chains(app.ctx)} == {None}
    finally:
        if app is not None:
            app.dispose()
    print(f"\n{TAMPERS} tampers by kind: {dict(sorted(kinds.items()))}")
