"""Document numbers are gapless and unique under concurrency, on SQLite and PostgreSQL.

Sixteen worker processes (spawned, each with its own engine) send invoices and issue credit
notes against invoices they have just sent, so both number series are taken at the same time
from many connections. Afterwards each series must be exactly 1..N, and the event chain must
still verify. A send or a credit note that fails after taking its number inside the
transaction must give the number back.
"""

from __future__ import annotations

import multiprocessing
import queue
import re
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engagebill.bootstrap import build
from engagebill.config import Settings
from engagebill.domain.errors import ConcurrencyConflict
from engagebill.domain.lifecycle import InvoiceState
from engagebill.services import invoicing, queries, settlement
from engagebill.services.audit import verify_chains
from engagebill.services.ports import Context, UnitOfWork
from tests.support import (
    FixedClock,
    World,
    a_client,
    an_engagement,
    an_organization,
    line,
    migrated_app,
    postgres_database,
)

WORKERS = 16
INVOICES = 1_500  # drafts sent concurrently: the invoice series
CREDIT_EVERY = 3  # every third of them is then credited in full: the credit-note series
CREDIT_NOTES = len(range(0, INVOICES, CREDIT_EVERY))  # 500: 2,000 numbered documents in all
MAX_ATTEMPTS = 25
ISSUE_DAY = date(2025, 3, 3)  # FixedClock's day; credit notes are dated the same, one period
INVOICE_NUMBER = re.compile(r"INV-2025-(\d{4,})")
CREDIT_NOTE_NUMBER = re.compile(r"CN-2025-(\d{4,})")

Task = tuple[str, str]  # ("send" | "credit", invoice id)


# -- the worker: runs in a spawned process, so it must stay importable at module level ------


def _retryable(exc: BaseException) -> bool:
    """What a real client retries: a lost optimistic check, or a lock it could not get
    (SQLite "database is locked", PostgreSQL deadlock / serialization failure)."""
    return isinstance(exc, ConcurrencyConflict | OperationalError)


def _with_retries(action: Callable[[], str]) -> tuple[str, int]:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return action(), attempt - 1
        except Exception as exc:
            if not _retryable(exc) or attempt == MAX_ATTEMPTS:
                raise
            time.sleep(min(0.005 * 2**attempt, 0.25))
    raise AssertionError("unreachable")  # pragma: no cover


def _worker(url: str, organization_id: str, tasks: list[Task], barrier: Any, results: Any) -> None:
    try:
        app = build(Settings(database_url=url))
        ctx = app.ctx
        done: list[tuple[str, str, str]] = []
        retries = 0
        try:
            barrier.wait(timeout=120)
            started = time.perf_counter()
            for action, invoice_id in tasks:
                if action == "send":
                    number, retried = _with_retries(
                        lambda i=invoice_id: str(
                            invoicing.send_invoice(
                                ctx, organization_id=organization_id, invoice_id=i
                            ).number
                        )
                    )
                else:
                    number, retried = _with_retries(
                        lambda i=invoice_id: (
                            settlement.issue_credit_note(
                                ctx,
                                organization_id=organization_id,
                                invoice_id=i,
                                reason="Cancelled",
                                issue_date=ISSUE_DAY,
                            ).number
                        )
                    )
                done.append((action, invoice_id, number))
                retries += retried
            elapsed = time.perf_counter() - started
        finally:
            app.dispose()
        results.put(("ok", done, retries, elapsed))
    except BaseException:
        results.put(("error", traceback.format_exc(), 0, 0.0))


def _schedules(draft_ids: list[str]) -> list[list[Task]]:
    """Deal the drafts round-robin; each worker credits every third invoice it sends, one
    send later, so both series are taken concurrently all along."""
    schedules: list[list[Task]] = [[] for _ in range(WORKERS)]
    pending: list[str | None] = [None] * WORKERS
    for index, invoice_id in enumerate(draft_ids):
        w = index % WORKERS
        schedules[w].append(("send", invoice_id))
        if pending[w] is not None:
            schedules[w].append(("credit", pending[w]))  # type: ignore[arg-type]
            pending[w] = None
        if index % CREDIT_EVERY == 0:
            pending[w] = invoice_id
    for w, invoice_id in enumerate(pending):
        if invoice_id is not None:
            schedules[w].append(("credit", invoice_id))
    return schedules


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'numbers.db'}"
        return
    with postgres_database() as url:
        yield url


def _sequence_report(numbers: list[str], pattern: re.Pattern[str]) -> tuple[list[int], dict]:
    seqs = []
    for number in numbers:
        match = pattern.fullmatch(number)
        assert match, f"{number!r} does not look like {pattern.pattern}"
        seqs.append(int(match.group(1)))
    counts = Counter(seqs)
    top = max(seqs, default=0)
    return sorted(seqs), {
        "count": len(seqs),
        "gaps": sorted(set(range(1, top + 1)) - set(seqs)),
        "duplicates": sorted(s for s, c in counts.items() if c > 1),
    }


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_numbers_are_gapless_and_unique_under_concurrent_writers(fresh_url: str) -> None:
    clock = FixedClock()
    app = migrated_app(fresh_url, clock)
    try:
        org = an_organization(app)
        client = a_client(app, org)
        engagement = an_engagement(app, org, client)
        with app.ctx.uow() as uow:
            draft_ids = [
                invoicing.create_draft(
                    app.ctx,
                    organization_id=org,
                    engagement_id=engagement,
                    lines=[line(f"Retainer, part {i}", price="100.00")],
                    uow=uow,
                ).invoice.id
                for i in range(INVOICES)
            ]
            uow.commit()
        schedules = _schedules(draft_ids)
        assert sum(a == "send" for s in schedules for a, _ in s) == INVOICES
        assert sum(a == "credit" for s in schedules for a, _ in s) == CREDIT_NOTES

        spawn = multiprocessing.get_context("spawn")
        barrier = spawn.Barrier(WORKERS)
        results = spawn.Queue()
        processes = [
            spawn.Process(
                target=_worker, args=(fresh_url, org, tasks, barrier, results), daemon=True
            )
            for tasks in schedules
        ]
        started = time.perf_counter()
        for process in processes:
            process.start()
        outcomes = []
        try:
            for _ in processes:
                outcomes.append(results.get(timeout=300))
        except queue.Empty:
            pytest.fail(f"only {len(outcomes)} of {WORKERS} workers reported within 300 s")
        finally:
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
        wall = time.perf_counter() - started

        errors = [o[1] for o in outcomes if o[0] == "error"]
        assert not errors, "workers failed:\n" + "\n".join(errors)
        done = [item for o in outcomes for item in o[1]]
        retries = sum(o[2] for o in outcomes)
        busiest = max(o[3] for o in outcomes)
        print(
            f"\n[{app.engine.dialect.name}] {WORKERS} workers, {INVOICES} invoices + "
            f"{CREDIT_NOTES} credit notes: wall {wall:.1f} s (incl. spawn), slowest worker "
            f"{busiest:.1f} s, {retries} retried conflicts"
        )

        with app.engine.connect() as conn:
            invoice_numbers = dict(
                conn.execute(
                    text(
                        "SELECT id, number FROM invoices WHERE organization_id = :o "
                        "AND number IS NOT NULL"
                    ),
                    {"o": org},
                ).all()
            )
            credit_numbers = dict(
                conn.execute(
                    text("SELECT id, number FROM credit_notes WHERE organization_id = :o"),
                    {"o": org},
                ).all()
            )
            states = Counter(
                s
                for (s,) in conn.execute(
                    text("SELECT state FROM invoices WHERE organization_id = :o"), {"o": org}
                )
            )
            counters = dict(
                conn.execute(
                    text("SELECT kind, last_seq FROM number_counters WHERE organization_id = :o"),
                    {"o": org},
                ).all()
            )
            events = Counter(
                k
                for (k,) in conn.execute(
                    text("SELECT kind FROM events WHERE organization_id = :o"), {"o": org}
                )
            )

        seqs, report = _sequence_report(list(invoice_numbers.values()), INVOICE_NUMBER)
        assert (report["gaps"], report["duplicates"]) == ([], []), report
        assert seqs == list(range(1, INVOICES + 1))
        seqs, report = _sequence_report(list(credit_numbers.values()), CREDIT_NOTE_NUMBER)
        assert (report["gaps"], report["duplicates"]) == ([], []), report
        assert seqs == list(range(1, CREDIT_NOTES + 1))
        assert counters == {"invoice": INVOICES, "credit_note": CREDIT_NOTES}

        # What the workers were told is what was stored, once per document.
        sent = {i: n for a, i, n in done if a == "send"}
        assert sent == invoice_numbers
        issued = sorted(n for a, _, n in done if a == "credit")
        assert issued == sorted(credit_numbers.values())
        assert states == {
            InvoiceState.SENT.value: INVOICES - CREDIT_NOTES,
            InvoiceState.VOID.value: CREDIT_NOTES,
        }
        assert events["invoice.sent"] == INVOICES
        assert events["credit_note.issued"] == CREDIT_NOTES

        reports = verify_chains(app.ctx)
        assert [(r.organization_id, r.broken) for r in reports] == [(org, None)]
        assert reports[0].events == sum(events.values())
    finally:
        app.dispose()


def _send_then_crash(ctx: Context, org: str, invoice_id: str, numbers: list[str]) -> None:
    with ctx.uow() as uow:
        taken = invoicing.send_invoice(ctx, organization_id=org, invoice_id=invoice_id, uow=uow)
        numbers.append(str(taken.number))
        raise RuntimeError(f"crashed after taking {taken.number}")


def test_a_send_that_is_not_committed_leaves_no_gap(world: World) -> None:
    ctx, org = world.ctx, world.org_id
    engagement = an_engagement(world.app, org, world.client_id)
    first, failed, other = (
        invoicing.create_draft(
            ctx, organization_id=org, engagement_id=engagement, lines=[line(f"Retainer {i}")]
        ).invoice
        for i in range(3)
    )
    assert (
        invoicing.send_invoice(ctx, organization_id=org, invoice_id=first.id).number
        == "INV-2025-0001"
    )

    # Taken inside the transaction, then the transaction is left without a commit.
    with ctx.uow() as uow:
        taken = invoicing.send_invoice(ctx, organization_id=org, invoice_id=failed.id, uow=uow)
        assert taken.number == "INV-2025-0002"
    # And once more, failing with an exception after the number was taken.
    numbers: list[str] = []
    with pytest.raises(RuntimeError, match="crashed"):
        _send_then_crash(ctx, org, failed.id, numbers)
    assert numbers == ["INV-2025-0002"]

    still = queries.get_invoice(ctx, organization_id=org, invoice_id=failed.id).invoice
    assert (still.state, still.number) == (InvoiceState.DRAFT, None)
    assert (
        invoicing.send_invoice(ctx, organization_id=org, invoice_id=other.id).number
        == "INV-2025-0002"
    )
    assert (
        invoicing.send_invoice(ctx, organization_id=org, invoice_id=failed.id).number
        == "INV-2025-0003"
    )
    assert [r.broken for r in verify_chains(ctx, organization_id=org)] == [None]


class _CrashAfterNumber:
    """A unit of work whose number series fails right after the number was taken."""

    def __init__(self, inner: UnitOfWork, taken: list[str]) -> None:
        self.inner, self.taken = inner, taken

    def __enter__(self) -> UnitOfWork:
        uow = self.inner.__enter__()
        take = uow.numbers.take

        def take_then_crash(*args: Any, **kwargs: Any) -> str:
            number = take(*args, **kwargs)
            self.taken.append(number)
            raise RuntimeError(f"crashed after taking {number}")

        uow.numbers.take = take_then_crash  # type: ignore[method-assign]
        return uow

    def __exit__(self, *exc: Any) -> None:
        self.inner.__exit__(*exc)


def _crashing(ctx: Context, taken: list[str]) -> Context:
    return replace(ctx, uow=lambda: _CrashAfterNumber(ctx.uow(), taken))


@pytest.mark.parametrize("series", ["invoice", "credit_note"])
def test_a_failure_after_taking_the_number_gives_it_back(world: World, series: str) -> None:
    ctx, org = world.ctx, world.org_id
    engagement = an_engagement(world.app, org, world.client_id)
    drafts = [
        invoicing.create_draft(
            ctx, organization_id=org, engagement_id=engagement, lines=[line(f"Retainer {i}")]
        ).invoice
        for i in range(3)
    ]
    taken: list[str] = []
    crashing = _crashing(ctx, taken)
    if series == "invoice":
        invoicing.send_invoice(ctx, organization_id=org, invoice_id=drafts[0].id)
        with pytest.raises(RuntimeError, match="crashed"):
            invoicing.send_invoice(crashing, organization_id=org, invoice_id=drafts[1].id)
        assert taken == ["INV-2025-0002"]
        after = invoicing.send_invoice(ctx, organization_id=org, invoice_id=drafts[2].id)
        assert after.number == "INV-2025-0002"
    else:
        for draft in drafts:
            invoicing.send_invoice(ctx, organization_id=org, invoice_id=draft.id)
        settlement.issue_credit_note(
            ctx, organization_id=org, invoice_id=drafts[0].id, reason="Cancelled"
        )
        with pytest.raises(RuntimeError, match="crashed"):
            settlement.issue_credit_note(
                crashing, organization_id=org, invoice_id=drafts[1].id, reason="Cancelled"
            )
        assert taken == ["CN-2025-0002"]
        assert (
            queries.get_invoice(ctx, organization_id=org, invoice_id=drafts[1].id).invoice.state
            is InvoiceState.SENT
        )
        after_note = settlement.issue_credit_note(
            ctx, organization_id=org, invoice_id=drafts[2].id, reason="Cancelled"
        )
        assert after_note.number == "CN-2025-0002"
    assert [r.broken for r in verify_chains(ctx, organization_id=org)] == [None]
