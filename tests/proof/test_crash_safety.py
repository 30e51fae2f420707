"""A billing run killed with SIGKILL at seeded points resumes to exactly the expected invoices.

The month-end scenario of bench/scenario.py (1,000 clients in the soak, 80 by default) is
seeded with one AP contact per client, and every second client's engagements send their
invoices during the run. ``engagebill run --execute`` then runs in a child process that kills
itself with SIGKILL at a seeded point: right after the Nth SQL statement, or just before or
just after the Nth COMMIT (tests/proof/crash_child.py; production code has no crash switch).
Each point lies within the next two transactions of what is left, sized by an uninterrupted
reference run on a copy of the database; the batch size is lowered (100 invoices in the soak,
30 by default, against 250 in production) so that the run spans more transactions than there
are kill points. After every kill the database must be consistent as it stands; after the
last, the CLI runs to completion and a further run creates nothing, and then:

* the invoices are exactly the expected set, counted and keyed from the seeded rows (never
  from the plan): no duplicate, none missing, every source marked with its invoice;
* every invoice has one ``invoice.created`` event, every sent one one ``invoice.sent``;
* once the drafts are sent as well, the numbers are 1..N without a gap;
* the event chain verifies (``verify_chains`` and ``engagebill verify``);
* each outbox email is delivered exactly once: the delivery worker writes every delivery to
  its own file, and there is one file per dedupe key, one per sent invoice and contact.
"""

from __future__ import annotations

import json
import math
import random
import signal
import subprocess
import sys
import uuid
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from bench.scenario import AS_OF, Scenario, seed_scenario
from sqlalchemy import event, text
from typer.testing import CliRunner

from engagebill.adapters.webhooks import UrllibSender
from engagebill.bootstrap import App, build
from engagebill.config import Settings
from engagebill.domain.delivery import Channel
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.services import billing_run, delivery, invoicing
from engagebill.services.audit import verify_chains
from tests.proof.harness import (
    LONG,
    ROOT,
    analyze,
    database_copy,
    scale,
    series_report,
)
from tests.support import migrated_app

CLIENTS = scale(80, 1000)
KILLS = scale(4, 20)
BATCH_SIZE = scale(30, 100)  # invoices per transaction; production's default is 250
SEED = 20250328
CHILD_TIMEOUT = 900 if LONG else 180


# -- the child process --------------------------------------------------------------------


def run_cli(url: str, org: str, kill: str = "none") -> subprocess.CompletedProcess[str]:
    """``engagebill run --as-of AS_OF --execute`` in a child that dies as ``kill`` says."""
    command = [sys.executable, "-m", "tests.proof.crash_child", kill]
    command += ["--batch-size", str(BATCH_SIZE)]
    command += ["--", "--db", url, "run", "--as-of", AS_OF.isoformat(), "--execute"]
    command += ["--json", "--org", org]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=CHILD_TIMEOUT)


@dataclass(frozen=True)
class RunSize:
    """What an uninterrupted run from the seeded state took: statements before its first write
    (reading and planning), statements in all, and commits (one per batch)."""

    planning: int
    statements: int
    commits: int

    def kill_point(self, rng: random.Random) -> str:
        """A kill point within the next two transactions of a run: after a statement (while
        planning, writing or sending), or just before or after one of the next two commits.
        Each run then gets at most two batches further, so the kill points spread over the
        whole run instead of the first one outrunning the rest."""
        kind = rng.choice(["statement", "statement", "statement", "before_commit", "after_commit"])
        if kind == "statement":
            per_batch = (self.statements - self.planning) // self.commits
            return f"statement:{rng.randint(1, self.planning + 2 * per_batch)}"
        return f"{kind}:{rng.randint(1, 2)}"


def measure_run(url: str, org: str) -> RunSize:
    """Run the whole run once, uninterrupted and in this process, on a copy of the database,
    counting its statements and commits."""
    counts: Counter[str] = Counter()

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        counts["statements"] += 1
        if "planning" not in counts and sql.startswith("INSERT INTO invoices"):
            counts["planning"] = counts["statements"] - 1

    with database_copy(url, "reference") as copy:
        app = build(Settings(database_url=copy))
        event.listen(app.engine, "after_cursor_execute", statement)
        event.listen(app.engine, "commit", lambda *_: counts.update(["commits"]))
        try:
            result = billing_run.execute_run(
                app.ctx, organization_id=org, as_of=AS_OF, batch_size=BATCH_SIZE
            )
        finally:
            app.dispose()
    assert result.created
    assert counts["commits"] > KILLS // 2, f"too few transactions to kill between: {counts}"
    return RunSize(counts["planning"], counts["statements"], counts["commits"])


# -- reading the database back ------------------------------------------------------------


@dataclass
class Books:
    """The rows a crash could have left half-written, read with plain SQL."""

    invoices: list[Any]  # id, billing_key, number, state, client_id
    milestones: dict[str, tuple[str, str | None]]  # id -> (state, invoice id)
    work_items: dict[str, tuple[str, str | None]]
    events: Counter[tuple[str, str]]  # (kind, subject id) -> count
    emails: Counter[str]  # invoice id -> outbox emails about it
    dedupe_keys: list[str]

    @property
    def by_key(self) -> dict[str, Any]:
        return {row.billing_key: row for row in self.invoices}


def read_books(app: App, org: str) -> Books:
    with app.engine.connect() as conn:

        def rows(sql: str) -> list[Any]:
            return list(conn.execute(text(sql), {"o": org}))

        invoices = rows(
            "SELECT id, billing_key, number, state, client_id FROM invoices "
            "WHERE organization_id = :o"
        )
        milestones = {
            r.id: (r.state, r.invoice_id)
            for r in rows("SELECT id, state, invoice_id FROM milestones WHERE organization_id = :o")
        }
        work = {
            r.id: (r.state, r.invoice_id)
            for r in rows("SELECT id, state, invoice_id FROM work_items WHERE organization_id = :o")
        }
        events = Counter(
            (r.kind, r.subject_id)
            for r in rows("SELECT kind, subject_id FROM events WHERE organization_id = :o")
        )
        outbox = rows(
            "SELECT dedupe_key, payload FROM outbox WHERE organization_id = :o "
            f"AND channel = '{Channel.EMAIL.value}'"
        )
    return Books(
        invoices=invoices,
        milestones=milestones,
        work_items=work,
        events=events,
        emails=Counter(json.loads(r.payload)["document_id"] for r in outbox),
        dedupe_keys=[r.dedupe_key for r in outbox],
    )


def assert_consistent(app: App, scenario: Scenario, books: Books) -> None:
    """What must hold whenever the run stopped, even half-way: every invoice is whole, with
    its sources marked, its events, its number and its emails, or it is not there at all."""
    org = scenario.organization_id
    keys = [row.billing_key for row in books.invoices]
    assert len(keys) == len(set(keys)), "an invoice was created twice"
    assert set(keys) <= set(scenario.expected), set(keys) - set(scenario.expected)
    by_key = books.by_key
    for milestone_id, key in scenario.milestones.items():
        state, invoice_id = books.milestones[milestone_id]
        want = ("invoiced", by_key[key].id) if key in by_key else ("signed_off", None)
        assert (state, invoice_id) == want, (milestone_id, key)
    for item_id, key in scenario.work_items.items():
        state, invoice_id = books.work_items[item_id]
        want = ("billed", by_key[key].id) if key in by_key else ("approved", None)
        assert (state, invoice_id) == want, (item_id, key)
    for row in books.invoices:
        sent = row.billing_key in scenario.auto_send
        assert (row.number is not None) == sent, (row.billing_key, row.number)
        assert books.events[("invoice.created", row.id)] == 1, row.billing_key
        assert books.events[("invoice.sent", row.id)] == int(sent), row.billing_key
        contacts = scenario.contacts[row.client_id]
        assert books.emails[row.id] == (contacts if sent else 0), row.billing_key
    created = sum(n for (kind, _), n in books.events.items() if kind == "invoice.created")
    assert created == len(books.invoices), "an invoice.created event outlived its invoice"
    assert sum(books.emails.values()) == len(books.dedupe_keys)
    numbers = [row.number for row in books.invoices if row.number is not None]
    for series, report in series_report(numbers).items():
        assert (report["gaps"], report["duplicates"]) == ([], []), (series, report)
    assert [r.broken for r in verify_chains(app.ctx, organization_id=org)] == [None]


# -- delivery -----------------------------------------------------------------------------


class EveryDeliveryMailer:
    """A folder mailer that keeps every delivery in a file of its own, so that a message
    delivered twice shows up as two files (the adapter's FolderMailer would overwrite)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        message_id = str(message["Message-ID"]).strip("<>")
        (self.folder / f"{message_id}.{uuid.uuid4().hex}.eml").write_bytes(message.as_bytes())

    def deliveries(self) -> Counter[str]:
        """How many files each dedupe key got (the Message-ID is made from it)."""
        return Counter(
            path.name.split("@engagebill")[0].replace(".", ":")
            for path in self.folder.glob("*.eml")
        )


# -- the proof ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(3600 if LONG else 600)
def test_a_billing_run_killed_at_seeded_points_resumes_to_exactly_the_expected_invoices(
    fresh_url: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    seeding = migrated_app(fresh_url)
    scenario = seed_scenario(
        seeding, CLIENTS, random.Random(SEED), contacts_per_client=1, auto_send_every=2
    )
    seeding.dispose()
    analyze(fresh_url)
    org = scenario.organization_id
    expected = set(scenario.expected)
    assert 0 < len(scenario.auto_send) < len(expected)

    size = measure_run(fresh_url, org)
    app = build(Settings(database_url=fresh_url))  # the system clock, as the CLI has
    try:
        outcomes = []
        for _ in range(KILLS):
            unfinished = len(read_books(app, org).invoices) < len(expected)
            kill = size.kill_point(rng)
            done = run_cli(fresh_url, org, kill)
            assert done.returncode in (-signal.SIGKILL, 0), (kill, done.stderr)
            outcomes.append((kill, unfinished, done.returncode == -signal.SIGKILL))
            assert_consistent(app, scenario, read_books(app, org))
        print(f"\n[{app.engine.dialect.name}] {size}, kills: {outcomes}")
        in_work = sum(unfinished and died for _, unfinished, died in outcomes)
        assert in_work >= math.ceil(KILLS * 3 / 4), f"the run outran its kill points: {outcomes}"

        final = run_cli(fresh_url, org)
        assert final.returncode == 0, final.stderr
        again = billing_run.execute_run(app.ctx, organization_id=org, as_of=AS_OF)
        assert (again.planned, again.created) == (0, [])

        books = read_books(app, org)
        assert_consistent(app, scenario, books)
        assert sorted(books.by_key) == sorted(expected)
        assert len(books.invoices) == len(expected)
        assert Counter(scenario.expected[row.billing_key] for row in books.invoices) == Counter(
            scenario.expected.values()
        )

        # The drafts go out too: every invoice is numbered, 1..N without a gap.
        for row in books.invoices:
            if row.number is None:
                invoicing.send_invoice(app.ctx, organization_id=org, invoice_id=row.id)
        books = read_books(app, org)
        numbers = [row.number for row in books.invoices]
        report = series_report(numbers)
        assert [(r["count"], r["gaps"], r["duplicates"]) for r in report.values()] == [
            (len(expected), [], [])
        ], report
        assert [r.broken for r in verify_chains(app.ctx, organization_id=org)] == [None]
        verified = CliRunner().invoke(cli_app, ["--db", fresh_url, "verify"])
        assert verified.exit_code == 0, verified.output

        # Every email in the outbox is delivered once, and a second worker turn sends none.
        mailer = EveryDeliveryMailer(tmp_path / "mail")
        first = delivery.run_cycle(app.ctx, mailer=mailer, sender=UrllibSender(), as_of=AS_OF)
        second = delivery.run_cycle(app.ctx, mailer=mailer, sender=UrllibSender(), as_of=AS_OF)
        want = sum(scenario.contacts[scenario.client_of[key]] for key in expected)
        assert (first.delivered, first.failed, second.delivered) == (want, 0, 0)
        deliveries = mailer.deliveries()
        assert sorted(deliveries) == sorted(books.dedupe_keys)
        assert set(deliveries.values()) == {1}, deliveries.most_common(3)
    finally:
        app.dispose()
