"""CLI commands that print issued documents: ``invoice pdf`` and ``credit-note pdf``.

Both write the document's PDF/A-3b, with its EN 16931 CII embedded as Factur-X, to
``--output`` (``-`` for standard output). They are registered in ``main`` on the ``invoice``
and ``credit-note`` groups.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from engagebill.entrypoints.cli.common import err_console, handle_errors, state
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import pdfs
from engagebill.services.pdfs import PdfFile

Output = Annotated[
    Path,
    typer.Option("--output", "-o", help="File to write, or - for standard output"),
]


def _write(pdf: PdfFile, output: Path) -> None:
    if str(output) == "-":
        sys.stdout.buffer.write(pdf.content)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(pdf.content)
    # On stderr, so that a script reading stdout sees nothing but documents.
    err_console.print(f"wrote {output} ({len(pdf.content)} bytes)", markup=False)


@handle_errors
def invoice_pdf(
    invoice_id: Annotated[str, typer.Argument(help="Invoice id")],
    output: Output,
    version: Annotated[
        int | None, typer.Option(help="Version to print (default: the current one)", min=1)
    ] = None,
    org: Org = None,
) -> None:
    """Print a sent invoice as PDF/A-3b with its Factur-X (EN 16931) XML embedded."""
    pdf = pdfs.invoice_pdf_file(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        version=version,
    )
    _write(pdf, output)


@handle_errors
def credit_note_pdf(
    credit_note_id: Annotated[str, typer.Argument(help="Credit note id")],
    output: Output,
    org: Org = None,
) -> None:
    """Print an issued credit note as PDF/A-3b with its Factur-X (EN 16931) XML embedded."""
    pdf = pdfs.credit_note_pdf_file(
        state.app().ctx,
        organization_id=state.organization_id(org),
        credit_note_id=credit_note_id,
    )
    _write(pdf, output)
