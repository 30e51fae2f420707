"""``verify`` recomputes every engagement's account and names each stored figure that is not
what the issued documents make it, on SQLite and on PostgreSQL.

The figures on an ``engagement_accounts`` row and the credit caches on an invoice's header
are caches: the tests change them behind the application's back, with raw SQL, and
``verify_accounts`` (and ``engagebill verify``, exit code 10) must name the engagement or
invoice, the figure, what is stored and what the documents make it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from engagebill.domain.money import Money
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.services import advances, invoicing, parties, retainers, settlement
from engagebill.services.audit import Mismatch, RuleBreak, account_figures, verify_accounts
from engagebill.services.engagement_account import engagement_account
from engagebill.services.lines import LineInput
from tests.support import World, a_client, an_organization


@dataclass
class Books:
    """An advance engagement with what touches every figure: an advance invoice (part of it
    refunded), an invoice drawing on it (a line credited, giving its draw back, and paid),
    and a draft reserving some of it."""

    world: World
    engagement_id: str
    advance_invoice_id: str
    drawing_invoice_id: str
    draft_id: str

    @property
    def org(self) -> str:
        return self.world.org_id

    def sql(self, statement: str, **params: object) -> None:
        with self.world.app.engine.begin() as conn:
            conn.execute(text(statement), {"o": self.org, **params})

    def value(self, statement: str, **params: object) -> int:
        with self.world.app.engine.connect() as conn:
            return int(conn.execute(text(statement), {"o": self.org, **params}).scalar_one())

    def report(self) -> tuple[list[Mismatch], list[RuleBreak]]:
        [report] = verify_accounts(self.world.ctx, organization_id=self.org)
        assert report.organization_id == self.org
        return list(report.mismatches), list(report.rule_breaks)


def books_of(world: World, client_id: str | None = None) -> Books:
    ctx, org = world.ctx, world.org_id
    engagement = parties.create_engagement(
        ctx,
        organization_id=org,
        client_id=client_id or world.client_id,
        name="Support retainer",
        kind="retainer",
        retainer_mode="advance",
        currency="EUR",
    ).id
    advance = retainers.create_advance(
        ctx,
        organization_id=org,
        engagement_id=engagement,
        amount="5000.00",
        invoice_date=world.clock.today(),
    )
    advance_invoice = advances.invoice_advance(ctx, organization_id=org, advance_id=advance.id)
    invoicing.send_invoice(ctx, organization_id=org, invoice_id=advance_invoice.id)
    work = [
        LineInput("Design", "10", "150.00"),
        LineInput("Printing", "1", "400.00", vat_rate="9"),
    ]
    drawing = invoicing.create_draft(
        ctx,
        organization_id=org,
        engagement_id=engagement,
        lines=work,
        advance_used=Money.of("1900.00", "EUR"),  # all of its net: the advance settles it
    ).invoice
    invoicing.send_invoice(ctx, organization_id=org, invoice_id=drawing.id)
    settlement.issue_credit_note(
        ctx,
        organization_id=org,
        invoice_id=drawing.id,
        reason="Printing cancelled",
        lines=[LineInput("Printing", "1", "400.00", vat_rate="9")],
    )
    settlement.record_payment(ctx, organization_id=org, invoice_id=drawing.id, amount="10.00")
    settlement.issue_credit_note(
        ctx,
        organization_id=org,
        invoice_id=advance_invoice.id,
        reason="Part of the advance refunded",
        lines=[LineInput("Unused advance", "1", "500.00")],
    )
    draft = invoicing.create_draft(
        ctx,
        organization_id=org,
        engagement_id=engagement,
        lines=[LineInput("Support", "4", "150.00")],
        advance_used=Money.of("600.00", "EUR"),
    ).invoice
    return Books(world, engagement, advance_invoice.id, drawing.id, draft.id)


@pytest.fixture
def books(world: World) -> Books:
    return books_of(world)


def test_an_untouched_ledger_verifies(books: Books) -> None:
    # Every figure is something: the check is not comparing zeros.
    with books.world.ctx.read() as uow:
        row = uow.accounts.stored(books.org)[books.engagement_id]
        credits = uow.accounts.stored_credits(books.org)[books.drawing_invoice_id]
    assert len(row) == 5 and all(value > 0 for value in row.values()), row
    assert all(value > 0 for value in credits), credits
    [report] = verify_accounts(books.world.ctx, organization_id=books.org)
    assert report.ok, report
    assert (report.engagements, report.invoices) == (1, 3)


def test_a_tampered_account_row_is_named_with_both_figures(books: Books) -> None:
    available = books.value(
        "SELECT advance_available_minor FROM engagement_accounts WHERE engagement_id = :e",
        e=books.engagement_id,
    )
    books.sql(
        "UPDATE engagement_accounts SET advance_available_minor = advance_available_minor + 1234 "
        "WHERE organization_id = :o AND engagement_id = :e",
        e=books.engagement_id,
    )
    assert books.report() == (
        [
            Mismatch(
                "engagement",
                books.engagement_id,
                "advance_available_minor",
                available + 1234,
                available,
            )
        ],
        [],
    )


def test_every_figure_of_the_row_is_compared(books: Books) -> None:
    figures = [
        "advance_invoiced_minor",
        "advance_drawn_minor",
        "advance_reserved_minor",
        "advance_refunded_minor",
        "advance_available_minor",
    ]
    books.sql(
        "UPDATE engagement_accounts SET "
        + ", ".join(f"{f} = {f} - 1" for f in figures)
        + " WHERE organization_id = :o AND engagement_id = :e",
        e=books.engagement_id,
    )
    mismatches, breaks = books.report()
    assert [(m.subject, m.id, m.figure, m.recomputed - m.stored) for m in mismatches] == [  # type: ignore[operator]
        ("engagement", books.engagement_id, f, 1) for f in figures
    ]
    assert breaks == []


def test_a_tampered_credit_cache_is_named(books: Books) -> None:
    credited = books.value(
        "SELECT credited_minor FROM invoices WHERE id = :i", i=books.drawing_invoice_id
    )
    assert credited > 0
    books.sql(
        "UPDATE invoices SET credited_minor = 0, credited_prepaid_minor = 99 WHERE id = :i",
        i=books.drawing_invoice_id,
    )
    mismatches, breaks = books.report()
    prepaid = next(m for m in mismatches if m.figure == "credited_prepaid_minor")
    assert mismatches == [
        Mismatch("invoice", books.drawing_invoice_id, "credited_minor", 0, credited),
        Mismatch(
            "invoice", books.drawing_invoice_id, "credited_prepaid_minor", 99, prepaid.recomputed
        ),
    ]
    assert prepaid.recomputed != 99
    assert breaks == []


def test_a_credit_cache_on_an_invoice_without_credit_notes_is_named(books: Books) -> None:
    books.sql("UPDATE invoices SET credited_net_minor = 5 WHERE id = :i", i=books.draft_id)
    assert books.report() == (
        [Mismatch("invoice", books.draft_id, "credited_net_minor", 5, 0)],
        [],
    )


def test_a_missing_row_is_named_when_the_documents_count_something(books: Books) -> None:
    books.sql(
        "DELETE FROM engagement_accounts WHERE organization_id = :o AND engagement_id = :e",
        e=books.engagement_id,
    )
    account = engagement_account(
        books.world.ctx, organization_id=books.org, engagement_id=books.engagement_id
    )
    counted = account_figures(account)
    assert books.report() == (
        [Mismatch("engagement", books.engagement_id, f, None, v) for f, v in counted.items()],
        [],
    )
    # Verifying wrote nothing: the row is still missing.
    assert (
        books.value(
            "SELECT COUNT(*) FROM engagement_accounts WHERE engagement_id = :e",
            e=books.engagement_id,
        )
        == 0
    )


def test_an_engagement_without_money_needs_no_row(world: World) -> None:
    parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Nothing yet",
        kind="time_and_material",
        currency="EUR",
    )
    [report] = verify_accounts(world.ctx, organization_id=world.org_id)
    assert report.ok and report.engagements == 1


def test_documents_that_overdraw_the_advance_break_its_rule(books: Books) -> None:
    # A draft's reservation raised behind the account's back: the documents themselves no
    # longer add up, whatever the row says.
    books.sql(
        "UPDATE invoice_versions SET advance_used_minor = advance_used_minor + 1000000 "
        "WHERE invoice_id = :i",
        i=books.draft_id,
    )
    mismatches, breaks = books.report()
    assert [(b.engagement_id, b.code) for b in breaks] == [
        (books.engagement_id, "advance.overdrawn")
    ]
    assert {m.figure for m in mismatches} == {"advance_reserved_minor", "advance_available_minor"}


def test_other_organizations_are_not_blamed(isolated_world: World) -> None:
    books = books_of(isolated_world)
    other = an_organization(isolated_world.app, name="Other Agency", prefix="OTH")
    other_world = World(
        isolated_world.app, isolated_world.clock, other, a_client(isolated_world.app, other)
    )
    other_books = books_of(other_world)
    books.sql(
        "UPDATE engagement_accounts SET advance_drawn_minor = 7 WHERE engagement_id = :e",
        e=books.engagement_id,
    )
    reports = {r.organization_id: r for r in verify_accounts(isolated_world.ctx)}
    assert reports[other_books.org].ok
    assert [m.figure for m in reports[books.org].mismatches] == ["advance_drawn_minor"]


# -- the CLI --------------------------------------------------------------------------------


def _url(world: World) -> str:
    return world.app.engine.url.render_as_string(hide_password=False)


def test_cli_verify_names_each_disagreeing_figure_and_exits_10(isolated_world: World) -> None:
    books = books_of(isolated_world)
    runner = CliRunner()
    whole = runner.invoke(cli_app, ["--db", _url(isolated_world), "verify"])
    assert whole.exit_code == 0, whole.output

    recomputed = books.value(
        "SELECT advance_available_minor FROM engagement_accounts WHERE engagement_id = :e",
        e=books.engagement_id,
    )
    books.sql(
        "UPDATE engagement_accounts SET advance_available_minor = 424242 WHERE engagement_id = :e",
        e=books.engagement_id,
    )
    books.sql(
        "UPDATE invoices SET credited_minor = credited_minor + 17 WHERE id = :i",
        i=books.drawing_invoice_id,
    )
    result = runner.invoke(cli_app, ["--db", _url(isolated_world), "verify"])
    assert result.exit_code == 10, result.output
    lines = result.output.splitlines()
    engagement_line = next(line for line in lines if books.engagement_id in line)
    assert "advance_available_minor" in engagement_line
    assert "424242" in engagement_line and str(recomputed) in engagement_line
    invoice_line = next(line for line in lines if books.drawing_invoice_id in line)
    assert "credited_minor" in invoice_line
    assert "[accounts.mismatch]" in result.output

    # The same with only this organization.
    only = runner.invoke(cli_app, ["--db", _url(isolated_world), "verify", "--org", books.org])
    assert only.exit_code == 10, only.output


def test_cli_verify_exits_9_when_the_chain_is_broken_too(isolated_world: World) -> None:
    books = books_of(isolated_world)
    books.sql(
        "UPDATE engagement_accounts SET advance_available_minor = 1 WHERE engagement_id = :e",
        e=books.engagement_id,
    )
    with isolated_world.app.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER guard_events"))
        else:
            conn.execute(text("DROP TRIGGER guard_events_update"))
        conn.execute(
            text("UPDATE events SET payload = '{}' WHERE organization_id = :o AND seq = 2"),
            {"o": books.org},
        )
    result = CliRunner().invoke(cli_app, ["--db", _url(isolated_world), "verify"])
    assert result.exit_code == 9, result.output
    assert "[events.chain_broken]" in result.output
    assert "[accounts.mismatch]" in result.output
