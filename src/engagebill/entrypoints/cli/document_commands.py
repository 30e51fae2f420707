"""CLI commands that export issued documents: ``invoice export`` and ``credit-note export``.

Both write the EN 16931 e-invoice (UBL or CII) of an issued document to ``--output`` or, so
that it can be piped, to standard output. ``invoice export`` joins the ``invoice`` group;
``credit-note`` is a group of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from engagebill.entrypoints.cli.common import err_console, handle_errors, state
from engagebill.entrypoints.cli.invoice_commands import invoice_app
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import einvoice
from engagebill.services.einvoice import EInvoiceFile

credit_note_app = typer.Typer(help="Credit notes: export them.", no_args_is_help=True)

Format = Annotated[
    str,
    typer.Option("--format", "-f", help=f"E-invoice syntax: {' or '.join(einvoice.SYNTAXES)}"),
]
Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="File to write (default: standard output)"),
]


def _write(exported: EInvoiceFile, output: Path | None) -> None:
    if output is None or str(output) == "-":
        sys.stdout.buffer.write(exported.content)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(exported.content)
    # On stderr, so that a script reading stdout sees nothing but documents.
    err_console.print(f"wrote {output} ({len(exported.content)} bytes)", markup=False)


@invoice_app.command("export")
@handle_errors
def invoice_export(
    invoice_id: Annotated[str, typer.Argument(help="Invoice id")],
    syntax: Format,
    version: Annotated[
        int | None, typer.Option(help="Version to export (default: the current one)")
    ] = None,
    output: Output = None,
    org: Org = None,
) -> None:
    """Export a sent invoice as an EN 16931 e-invoice (UBL 2.1 or CII)."""
    exported = einvoice.invoice_file(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        syntax=syntax,
        version=version,
    )
    _write(exported, output)


@credit_note_app.command("export")
@handle_errors
def credit_note_export(
    credit_note_id: Annotated[str, typer.Argument(help="Credit note id")],
    syntax: Format,
    output: Output = None,
    org: Org = None,
) -> None:
    """Export an issued credit note as an EN 16931 e-invoice (UBL 2.1 or CII)."""
    exported = einvoice.credit_note_file(
        state.app().ctx,
        organization_id=state.organization_id(org),
        credit_note_id=credit_note_id,
        syntax=syntax,
    )
    _write(exported, output)
