"""Sixteen processes spending one advance at once never overdraw it nor credit beyond an invoice.

One organization, one advance-mode retainer with a few issued advance invoices (two VAT
rates), on a fresh SQLite file and a fresh PostgreSQL database. Sixteen spawned worker
processes (tests/proof/advance_worker.py), each with its own engine, spend 8 seconds (60 with
ENGAGEBILL_PROOF_LONG=1) on that one engagement: drafting invoices that draw on the advance,
applying and discarding draws, sending, revising, crediting (a part of a VAT group, a line,
or everything left; work invoices and advance invoices), recording payments, refunding the
unused advance, invoicing new advances and billing approved work by billing runs. Every one
of those decisions takes the engagement's account row first, so they all queue on one lock.
A worker retries a lost optimistic check, a lock it could not get or a deadlock; a refusal
by a business rule is fine; any other error fails the proof. Afterwards, read with the app:

* the advance is never below zero, and invoiced = available + drawn + reserved + refunded;
* per invoice: credited <= gross, drawn >= 0, and per VAT group credited <= invoiced (no
  credit in a group the invoice did not charge);
* the figures cached on the account's row and on every invoice's header are what the
  documents make them (and ``verify_accounts`` finds nothing);

and, summed independently from the raw rows, advance invoiced - refunded - drawn - reserved
equals the account's available; every reported payment and credit note is there once and
nothing else is; numbers are 1..N per series; the event chain verifies.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import text

from engagebill.adapters.db.accounts import figures
from engagebill.bootstrap import App
from engagebill.domain.money import Money
from engagebill.services import advances, invoicing, parties, retainers
from engagebill.services.audit import credit_figures, verify_accounts, verify_chains
from engagebill.services.engagement_account import engagement_account
from tests.proof.advance_worker import Report, run_worker
from tests.proof.harness import LONG, run_workers, scale, series_report
from tests.support import a_client, an_organization, migrated_app

WORKERS = 16
SECONDS = scale(8, 60)
SEED = 23
ADVANCES = (("6000.00", "21"), ("2500.00", "9"), ("4000.00", "21"))
# Refusals a worker may meet because another worker changed the invoice or spent the advance
# first.
EXPECTED_REFUSALS = {
    "invoice.not_sendable",
    "invoice.not_editable",
    "invoice.change_not_requestable",
    "invoice.not_revisable",
    "invoice.not_payable",
    "invoice.not_creditable",
    "invoice.revision_below_credit",
    "credit_note.exceeds_invoice",
    # A worker credits a VAT group, or a line, of the version it read; another worker's
    # revision may have left that group or line out since.
    "credit_note.vat_not_invoiced",
    "credit_note.unknown_line",
    "advance.credit_exceeds_available",
    "advance.overdrawn",
    "advance.nothing_to_refund",
    "advance.none_available",
    "advance.not_applied",
    "advance.revision_below_used",
    # A billing run invoiced a new advance first (its billing key is taken).
    "advance.already_invoiced",
    "invoice.already_billed",
}


def _rows(app: App, sql: str, org: str) -> list[Any]:
    with app.engine.connect() as conn:
        return list(conn.execute(text(sql), {"o": org}))


def _one(app: App, sql: str, org: str) -> int:
    [(value,)] = _rows(app, sql, org)
    return int(value or 0)


def _engagement(app: App) -> tuple[str, str]:
    org = an_organization(app)
    client = a_client(app, org)
    engagement = parties.create_engagement(
        app.ctx,
        organization_id=org,
        client_id=client,
        name="Support retainer",
        kind="retainer",
        retainer_mode="advance",
        currency="EUR",
    ).id
    day = app.ctx.clock.today()
    for amount, rate in ADVANCES:
        advance = retainers.create_advance(
            app.ctx,
            organization_id=org,
            engagement_id=engagement,
            amount=amount,
            invoice_date=day,
            vat_rate=rate,
        )
        draft = advances.invoice_advance(app.ctx, organization_id=org, advance_id=advance.id)
        invoicing.send_invoice(app.ctx, organization_id=org, invoice_id=draft.id)
    return org, engagement


# -- reading the books back ----------------------------------------------------------------


def assert_the_account_holds(app: App, org: str, engagement: str) -> Money:
    """The account's rules, read with the app; returns the available advance."""
    account = engagement_account(app.ctx, organization_id=org, engagement_id=engagement)
    advance = account.advance
    assert not advance.available.is_negative(), advance
    assert advance.invoiced == advance.available + advance.drawn + advance.reserved + (
        advance.refunded
    ), advance
    assert not advance.drawn.is_negative() and not advance.reserved.is_negative(), advance
    with app.ctx.read() as uow:
        for invoice_id, entry in account.invoices.items():
            invoice = uow.invoices.get(org, invoice_id)
            position = account.position(invoice_id)
            assert position.credited <= position.gross, (invoice_id, position)
            assert not position.drawn.is_negative(), (invoice_id, position)
            assert position.drawn <= entry.prepaid, (invoice_id, position)
            # The invoice as the app reads it agrees with the account.
            assert invoice.position == position, (invoice_id, invoice.position, position)
            assert not invoice.outstanding.is_negative(), invoice_id
            invoiced = {(g.category, g.rate): g for g in invoice.totals().breakdown}
            for key, (taxable, tax) in account.credited_groups(invoice_id).items():
                assert key in invoiced, (invoice_id, key, "credited a VAT group not invoiced")
                assert taxable <= invoiced[key].taxable, (invoice_id, key, taxable)
                assert tax <= invoiced[key].tax, (invoice_id, key, tax)
        # The caches: the account's row and every invoice's credit figures.
        assert uow.accounts.stored(org)[engagement] == figures(account)
        stored_credits = uow.accounts.stored_credits(org)
        for invoice_id in account.invoices:
            assert stored_credits[invoice_id] == credit_figures(account, invoice_id), invoice_id
    return advance.available


def assert_the_rows_add_up(app: App, org: str, available: Money) -> None:
    """The advance summed from the raw rows, without the account: invoiced - refunded -
    drawn - reserved == the account's available."""
    current = (
        "FROM invoices i JOIN invoice_versions v ON v.invoice_id = i.id "
        "AND v.version = i.current_version WHERE i.organization_id = :o "
    )
    invoiced = _one(
        app, f"SELECT SUM(v.net_minor) {current} AND i.kind = 'advance' AND i.state <> 'draft'", org
    )
    refunded = _one(
        app,
        "SELECT SUM(c.net_minor) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id "
        "WHERE c.organization_id = :o AND i.kind = 'advance'",
        org,
    )
    used = _one(
        app,
        f"SELECT SUM(v.advance_used_minor) {current} "
        "AND i.kind <> 'advance' AND i.state NOT IN ('draft', 'void')",
        org,
    )
    returned = _one(
        app,
        "SELECT SUM(c.advance_returned_minor) FROM credit_notes c "
        "JOIN invoices i ON i.id = c.invoice_id WHERE c.organization_id = :o "
        "AND i.kind <> 'advance' AND i.state NOT IN ('draft', 'void')",
        org,
    )
    reserved = _one(app, f"SELECT SUM(v.advance_used_minor) {current} AND i.state = 'draft'", org)
    books = invoiced - refunded - (used - returned) - reserved
    assert books == available.to_minor(), {
        "invoiced": invoiced,
        "refunded": refunded,
        "drawn": used - returned,
        "reserved": reserved,
        "available": available.to_minor(),
    }
    # Each credit note's totals are its VAT groups summed.
    for note_id, net, gross, groups_net, groups_gross in _rows(
        app,
        "SELECT c.id, c.net_minor, c.gross_minor, SUM(g.taxable_minor), "
        "SUM(g.taxable_minor + g.tax_minor) FROM credit_notes c "
        "JOIN credit_note_vat_groups g ON g.credit_note_id = c.id "
        "WHERE c.organization_id = :o GROUP BY c.id, c.net_minor, c.gross_minor",
        org,
    ):
        assert (net, gross) == (groups_net, groups_gross), note_id


def assert_reports_match_the_books(app: App, org: str, reports: list[Report]) -> None:
    done = [item for r in reports for item in r.done]
    notes = {
        c: (i, n)
        for c, i, n in _rows(
            app, "SELECT id, invoice_id, number FROM credit_notes WHERE organization_id = :o", org
        )
    }
    assert notes == {
        item["credit_note"]: (item["invoice"], item["number"])
        for item in done
        if item["op"] == "credit"
    }
    payments = {
        p: i
        for p, i in _rows(
            app, "SELECT id, invoice_id FROM payments WHERE organization_id = :o", org
        )
    }
    assert payments == {item["payment"]: item["invoice"] for item in done if item["op"] == "pay"}
    numbers = [
        n
        for (n,) in _rows(
            app,
            "SELECT number FROM invoices WHERE organization_id = :o AND number IS NOT NULL",
            org,
        )
    ]
    sent = [item["number"] for item in done if item["op"] == "send"]
    assert len(numbers) == len(sent) + len(ADVANCES)
    for series, report in series_report(numbers + [n for _, n in notes.values()]).items():
        assert (report["gaps"], report["duplicates"]) == ([], []), (series, report)


# -- the proof ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(1200 if LONG else 300)
def test_sixteen_processes_spending_one_advance_never_overdraw_it_nor_overcredit(
    fresh_url: str,
) -> None:
    started = time.monotonic()
    app = migrated_app(fresh_url)
    try:
        org, engagement = _engagement(app)
        reports: list[Report]
        reports, spawned = run_workers(
            run_worker,
            lambda w, barrier, out: (
                fresh_url,
                org,
                engagement,
                SEED * 100 + w,
                SECONDS,
                barrier,
                out,
            ),
            workers=WORKERS,
            timeout=SECONDS + 240,
        )
        ops = Counter(item["op"] for r in reports for item in r.done)
        refusals = sum((r.refusals for r in reports), Counter())
        available = assert_the_account_holds(app, org, engagement)
        print(
            f"\n[{app.engine.dialect.name}] {WORKERS} workers x {SECONDS} s: {dict(ops)}; "
            f"refused {dict(refusals)}; retried {sum(r.retries for r in reports)} "
            f"{dict(sum((r.retried_for for r in reports), Counter()))}, "
            f"gave up {sum(r.gave_up for r in reports)}; available at the end "
            f"{available.format()}; {time.monotonic() - started:.1f} s in all, workers ready "
            f"{min(r.began_at for r in reports) - spawned:.1f} s after spawning"
        )
        assert set(refusals) <= EXPECTED_REFUSALS, refusals
        # The decisions that always find something to do happened (the others, such as
        # applying a draw when the advance is spent, depend on the draw of the dice).
        assert {"draft", "send", "credit", "pay"} <= set(ops), ops

        assert_the_rows_add_up(app, org, available)
        assert_reports_match_the_books(app, org, reports)
        assert [r.ok for r in verify_accounts(app.ctx, organization_id=org)] == [True]
        assert [r.broken for r in verify_chains(app.ctx, organization_id=org)] == [None]
    finally:
        app.dispose()


def test_the_setup_issues_the_advance(fresh_url: str) -> None:
    """The proof's starting point, quickly: the advance invoices are issued and available."""
    app = migrated_app(fresh_url)
    try:
        org, engagement = _engagement(app)
        available = assert_the_account_holds(app, org, engagement)
        assert available == Money.of("12500.00", "EUR")
        assert_the_rows_add_up(app, org, available)
    finally:
        app.dispose()
