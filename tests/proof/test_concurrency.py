"""Sixteen processes working one organization at once lose nothing and change nothing sent.

Sixteen spawned worker processes (tests/proof/concurrency_worker.py), each with its own
engine, spend 10 seconds (60 with ENGAGEBILL_PROOF_LONG=1) on one organization of four
clients, on a fresh SQLite file and a fresh PostgreSQL database: drafting, sending, requesting
a change and revising, amending (PO numbers drawn from a small set, so that two workers often
name the same new PO at once, and cost centres), approving, recording payments and issuing
credit notes, partial and full, on invoices picked at random. A worker retries a lost
optimistic check or a lock it could not get (at most 25 times) and reports every operation
that succeeded, and the content hash of every sent version it saw. A refusal by a business
rule (another worker got there first) is fine; any other error fails the proof. Afterwards:

* per client, invoiced (gross less what the advance settles) minus credited minus paid,
  summed from the rows, equals the signed balance the application computes (what is still
  owed less what was paid beyond it); per invoice, the credit on its header equals its credit
  notes (no lost update of the running total);
* no sent version changed: every hash a worker saw is the stored one, and every frozen
  version's hash recomputed from its stored content matches;
* invoice and credit-note numbers are 1..N per series, without a gap or a duplicate;
* every operation a worker reported is there exactly once, in the final state and as its
  event, and nothing is there that no worker reported;
* the event chain verifies, and so do the figures cached on the engagements' accounts and
  the invoices' headers.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from engagebill.bootstrap import App
from engagebill.domain.money import Money
from engagebill.services import invoicing
from engagebill.services.audit import verify_accounts, verify_chains
from engagebill.services.parties import ContactInput, create_client
from tests.proof.concurrency_worker import OPERATIONS, Report, lines, run_worker
from tests.proof.harness import LONG, run_workers, scale, series_report
from tests.support import BUYER, an_engagement, an_organization, migrated_app

WORKERS = 16
SECONDS = scale(10, 60)
CLIENTS = 4
DRAFTS_PER_ENGAGEMENT = 6
SEED = 16
# Refusals a worker may meet because another worker changed the invoice first.
EXPECTED_REFUSALS = {
    "invoice.not_sendable",
    "invoice.change_not_requestable",
    "invoice.not_revisable",
    "invoice.not_amendable",
    "invoice.not_approvable",
    "invoice.not_payable",
    "invoice.not_creditable",
    "credit_note.exceeds_invoice",
    "invoice.revision_below_credit",
    # The engagement account's refusals: none of these engagements has an advance, but a
    # refusal of the account is a business rule, never an error.
    "advance.credit_exceeds_available",
    "advance.overdrawn",
    "advance.nothing_to_refund",
}


# -- reading the books back ----------------------------------------------------------------


def _rows(app: App, sql: str, org: str) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(text(sql), {"o": org}))


def assert_balances_add_up(app: App, org: str) -> None:
    """Per client: invoiced - credited - paid (summed from rows) == balance (the app's).

    Invoiced is what the client is asked for: gross less what the advance settles, which is
    the prepaid amount less what credit notes gave back to the advance. The balance is
    signed (``invoice.position.balance``): outstanding is never below zero, and what was
    paid beyond an invoice is its credit balance."""
    invoiced = dict(
        _rows(
            app,
            "SELECT i.client_id, SUM(v.gross_minor - v.prepaid_minor) FROM invoices i "
            "JOIN invoice_versions v ON v.invoice_id = i.id AND v.version = i.current_version "
            "WHERE i.organization_id = :o AND i.state <> 'draft' GROUP BY i.client_id",
            org,
        )
    )
    given_back = dict(
        _rows(
            app,
            "SELECT client_id, SUM(prepaid_minor) FROM credit_notes WHERE organization_id = :o "
            "GROUP BY client_id",
            org,
        )
    )
    credited = dict(
        _rows(
            app,
            "SELECT client_id, SUM(gross_minor) FROM credit_notes WHERE organization_id = :o "
            "GROUP BY client_id",
            org,
        )
    )
    paid = dict(
        _rows(
            app,
            "SELECT i.client_id, SUM(p.amount_minor) FROM payments p "
            "JOIN invoices i ON i.id = p.invoice_id WHERE p.organization_id = :o "
            "GROUP BY i.client_id",
            org,
        )
    )
    balance: Counter[str] = Counter()
    ids = _rows(app, "SELECT id FROM invoices WHERE organization_id = :o", org)
    with app.ctx.uow() as uow:
        for (invoice_id,) in ids:
            invoice = uow.invoices.get(org, invoice_id)
            position = invoice.position
            balance[invoice.client_id] += position.balance.to_minor()
            assert invoice.outstanding == position.outstanding, invoice_id
            assert not invoice.outstanding.is_negative(), invoice_id
            credit_notes = uow.credit_notes.for_invoice(org, invoice_id)
            # The running totals on the header are what its credit notes add up to.
            zero = Money.zero(invoice.currency)
            noted = sum((n.totals().gross for n in credit_notes), zero)
            assert invoice.credited_total == noted, invoice_id
            returned = sum((n.prepaid or zero for n in credit_notes), zero)
            assert (invoice.credited_prepaid or zero) == returned, invoice_id
            # ... and never more than the invoice (credit notes, revisions).
            assert (invoice.credited_net or zero) <= invoice.totals().net, invoice_id
            # Every frozen version still hashes to what was recorded when it was sent.
            for version in invoice.versions:
                if version.frozen:
                    assert version.compute_hash() == version.content_hash, (invoice_id, version)
    for client in set(invoiced) | set(balance):
        books = int(invoiced.get(client, 0)) + int(given_back.get(client, 0))
        books -= int(credited.get(client, 0)) + int(paid.get(client, 0))
        assert books == balance[client], (client, books, balance[client])


def assert_reports_match_the_books(app: App, org: str, reports: list[Report], drafts: int) -> None:
    done = [item for r in reports for item in r.done]
    by_op: dict[str, list[dict[str, Any]]] = {}
    for item in done:
        by_op.setdefault(item["op"], []).append(item)
    events = Counter(
        kind for (kind,) in _rows(app, "SELECT kind FROM events WHERE organization_id = :o", org)
    )
    # Each success is one event of its kind, and each event of those kinds a success.
    kinds = {
        "draft": "invoice.created",
        "send": "invoice.sent",
        "request_change": "invoice.change_requested",
        "revise": "invoice.revised",
        "amend": "invoice.amended",
        "approve": "invoice.approved",
        "pay": "invoice.payment_recorded",
        "credit": "credit_note.issued",
    }
    reported = {kind: len(by_op.get(op, [])) for op, kind in kinds.items()}
    reported["invoice.created"] += drafts
    assert {kind: events[kind] for kind in kinds.values()} == reported

    numbers = dict(
        _rows(app, "SELECT id, number FROM invoices WHERE organization_id = :o", org)  # type: ignore[arg-type]
    )
    assert len(numbers) == drafts + len(by_op.get("draft", []))
    sent = {item["invoice"]: item["number"] for item in by_op.get("send", [])}
    assert len(sent) == len(by_op.get("send", [])), "an invoice was sent twice"
    assert sent == {i: n for i, n in numbers.items() if n is not None}

    versions = {
        (i, v): h
        for i, v, h, frozen in _rows(
            app,
            "SELECT invoice_id, version, content_hash, frozen FROM invoice_versions "
            "WHERE organization_id = :o",
            org,
        )
        if frozen
    }
    for item in by_op.get("revise", []):
        assert versions[(item["invoice"], item["version"])] == item["hash"], item
    amendments = Counter(
        (i, v, f, j)
        for i, v, f, j in _rows(
            app,
            "SELECT invoice_id, version, field, value_json FROM invoice_amendments "
            "WHERE organization_id = :o",
            org,
        )
    )
    wanted = Counter(
        (a["invoice"], a["version"], a["field"], json.dumps(a["value"], sort_keys=True))
        for a in by_op.get("amend", [])
    )
    assert amendments == wanted

    payments = {
        p: (i, str(Decimal(m) / 100))
        for p, i, m in _rows(
            app, "SELECT id, invoice_id, amount_minor FROM payments WHERE organization_id = :o", org
        )
    }
    paid = [item["payment"] for item in by_op.get("pay", [])]
    assert len(paid) == len(set(paid))
    assert payments == {
        item["payment"]: (item["invoice"], str(Decimal(item["amount"])))
        for item in by_op.get("pay", [])
    }

    notes = {
        c: (i, n)
        for c, i, n in _rows(
            app, "SELECT id, invoice_id, number FROM credit_notes WHERE organization_id = :o", org
        )
    }
    assert notes == {
        item["credit_note"]: (item["invoice"], item["number"]) for item in by_op.get("credit", [])
    }
    for series, report in series_report(
        [n for n in numbers.values() if n is not None] + [n for _, n in notes.values()]
    ).items():
        assert (report["gaps"], report["duplicates"]) == ([], []), (series, report)

    # What any worker saw of a sent version is what is stored, and they all saw the same.
    seen: dict[tuple[str, int], str] = {}
    for report in reports:
        for key, digest in report.hashes.items():
            assert seen.setdefault(key, digest) == digest, key
            assert versions[key] == digest, key


# -- the proof ----------------------------------------------------------------------------


def _organization(app: App) -> tuple[str, list[str], int]:
    org = an_organization(app)
    engagements = []
    for n in range(CLIENTS):
        client = create_client(
            app.ctx,
            organization_id=org,
            name=f"Client {n}",
            billing_entity=BUYER,
            contacts=[ContactInput(f"AP {n}", f"ap{n}@client.example")],
        ).id
        engagements.append(an_engagement(app, org, client, kind="time_and_material"))
    rng = random.Random(SEED)
    drafts = 0
    for engagement in engagements:
        for _ in range(DRAFTS_PER_ENGAGEMENT):
            invoicing.create_draft(
                app.ctx, organization_id=org, engagement_id=engagement, lines=lines(rng)
            )
            drafts += 1
    return org, engagements, drafts


@pytest.mark.slow
@pytest.mark.timeout(1200 if LONG else 400)
def test_sixteen_processes_mixing_every_operation_lose_no_update_and_change_nothing_sent(
    fresh_url: str,
) -> None:
    app = migrated_app(fresh_url)
    try:
        org, engagements, drafts = _organization(app)
        reports: list[Report]
        reports, _ = run_workers(
            run_worker,
            lambda w, barrier, out: (
                fresh_url,
                org,
                engagements,
                SEED * 100 + w,
                SECONDS,
                barrier,
                out,
            ),
            workers=WORKERS,
            timeout=SECONDS + 300,
        )
        ops = Counter(item["op"] for r in reports for item in r.done)
        refusals = sum((r.refusals for r in reports), Counter())
        print(
            f"\n[{app.engine.dialect.name}] {WORKERS} workers x {SECONDS} s: {dict(ops)}; "
            f"refused {dict(refusals)}; retried {sum(r.retries for r in reports)}, "
            f"gave up {sum(r.gave_up for r in reports)}"
        )
        assert set(refusals) <= EXPECTED_REFUSALS, refusals
        assert all(ops[op] > 0 for op in OPERATIONS), ops

        assert_balances_add_up(app, org)
        assert_reports_match_the_books(app, org, reports, drafts)
        assert [r.broken for r in verify_chains(app.ctx, organization_id=org)] == [None]
        assert [r.ok for r in verify_accounts(app.ctx, organization_id=org)] == [True]
    finally:
        app.dispose()
