"""The ``engagebill`` command: global options and the command groups."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engagebill.adapters.db.migrate import head_revision, upgrade
from engagebill.entrypoints.cli.common import console, err_console, handle_errors, state
from engagebill.entrypoints.cli.document_commands import credit_note_app
from engagebill.entrypoints.cli.invoice_commands import invoice_app
from engagebill.entrypoints.cli.mcp_commands import mcp
from engagebill.entrypoints.cli.pdf_commands import credit_note_pdf, invoice_pdf
from engagebill.entrypoints.cli.quote_commands import quote_app
from engagebill.entrypoints.cli.retainer_commands import retainer_app
from engagebill.entrypoints.cli.run_commands import run
from engagebill.entrypoints.cli.server_commands import demo, keys_app, serve, worker
from engagebill.entrypoints.cli.setup_commands import (
    client_app,
    engagement_app,
    org_app,
    po_app,
)
from engagebill.entrypoints.cli.user_commands import users_app
from engagebill.entrypoints.cli.webhook_commands import webhook_app
from engagebill.entrypoints.cli.work_commands import work_app
from engagebill.services.audit import verify_accounts, verify_chains

app = typer.Typer(
    name="engagebill",
    help="Billing engine for agencies: retainers, milestones and change orders, "
    "one engagement per invoice.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(client_app, name="client")
app.add_typer(engagement_app, name="engagement")
app.add_typer(po_app, name="po")
app.add_typer(invoice_app, name="invoice")
app.add_typer(credit_note_app, name="credit-note")
invoice_app.command("pdf")(invoice_pdf)
credit_note_app.command("pdf")(credit_note_pdf)
app.add_typer(quote_app, name="quote")
app.add_typer(work_app, name="work")
app.add_typer(retainer_app, name="retainer")
app.command("run")(handle_errors(run))
app.command("serve")(handle_errors(serve))
app.command("demo")(handle_errors(demo))
app.command("mcp")(handle_errors(mcp))
app.command("worker")(handle_errors(worker))
app.add_typer(keys_app, name="keys")
app.add_typer(webhook_app, name="webhook")
app.add_typer(users_app, name="users")


@app.callback()
def root(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="ENGAGEBILL_DATABASE_URL",
            help="Database URL or SQLite path (default: engagebill.db in the user data folder)",
        ),
    ] = None,
) -> None:
    state.database_url = db
    state._app = None


@db_app.command("upgrade")
@handle_errors
def db_upgrade() -> None:
    """Create or migrate the schema to the latest version."""
    application = state.app(check_schema=False)
    upgrade(application.engine)
    console.print(
        f"database at revision {head_revision()}: "
        f"{application.engine.url.render_as_string(hide_password=True)}",
        markup=False,
    )


@app.command("verify")
@handle_errors
def verify(org: Annotated[str | None, typer.Option(help="Only this organization")] = None) -> None:
    """Recompute every event chain and name the first broken event; recompute every
    engagement's account and name each stored figure that disagrees with the documents.

    Exits 9 when a chain is broken, else 10 when a stored figure disagrees."""
    ctx = state.app().ctx
    reports = verify_chains(ctx, organization_id=org)
    table = Table("organization", "events", "result")
    broken = False
    for report in reports:
        if report.broken is None:
            table.add_row(report.organization_id, str(report.events), "ok")
        else:
            broken = True
            table.add_row(
                report.organization_id,
                str(report.events),
                f"BROKEN at event {report.broken.seq}: {report.broken.reason}",
            )
    console.print(table)

    accounts = verify_accounts(ctx, organization_id=org)
    summary = Table("organization", "engagements", "invoices", "accounts")
    # One plain line per finding, whole ids and all: greppable, and never cut to a table cell.
    found: list[str] = []
    for account in accounts:
        problems = len(account.mismatches) + len(account.rule_breaks)
        summary.add_row(
            account.organization_id,
            str(account.engagements),
            str(account.invoices),
            "ok" if account.ok else f"{problems} DISAGREE",
        )
        for m in account.mismatches:
            stored = "no row" if m.stored is None else str(m.stored)
            found.append(
                f"{account.organization_id} {m.subject} {m.id}: {m.figure} stored {stored}, "
                f"recomputed {m.recomputed}"
            )
        for b in account.rule_breaks:
            found.append(
                f"{account.organization_id} engagement {b.engagement_id}: {b.message} [{b.code}]"
            )
    console.print(summary)
    for line in found:
        console.print(line, markup=False)
    disagree = [a for a in accounts if not a.ok]

    if broken:
        first = next(r for r in reports if r.broken is not None)
        assert first.broken is not None
        err_console.print(
            f"error: event chain of {first.organization_id} is broken at event "
            f"{first.broken.seq}: {first.broken.reason} [events.chain_broken]",
            markup=False,
        )
    if disagree:
        figures = sum(len(a.mismatches) for a in disagree)
        breaks = sum(len(a.rule_breaks) for a in disagree)
        err_console.print(
            f"error: accounts of {', '.join(a.organization_id for a in disagree)} do not "
            f"hold: {figures} stored figure(s) disagree with the issued documents, "
            f"{breaks} account(s) break their rules [accounts.mismatch]",
            markup=False,
        )
    if broken:
        raise typer.Exit(9)
    if disagree:
        raise typer.Exit(10)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
