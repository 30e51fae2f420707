"""Exporting an issued invoice version or credit note as an EN 16931 e-invoice (UBL or CII).

The use case builds the ``Document`` from the frozen snapshot (services/documents.py), so an
export always says what was sent, and hands it to the ``EInvoiceRenderer`` port; the XML itself
is the adapters' business. A draft has no document yet (``document.not_issued``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from engagebill.domain.errors import DomainError, ValidationError
from engagebill.services.documents import Document, credit_note_document, invoice_document
from engagebill.services.ports import Context, EInvoiceSyntax

SYNTAXES: tuple[str, ...] = get_args(EInvoiceSyntax)
MEDIA_TYPE = "application/xml"


@dataclass(frozen=True, slots=True)
class EInvoiceFile:
    """An exported e-invoice and the file name to give it (``INV-2025-0001-v2.ubl.xml``)."""

    filename: str
    content: bytes
    media_type: str = MEDIA_TYPE


def parse_syntax(value: str) -> EInvoiceSyntax:
    """``"ubl"`` or ``"cii"`` (any case); anything else is refused with the choices."""
    syntax = value.strip().lower()
    if syntax == "ubl":
        return "ubl"
    if syntax == "cii":
        return "cii"
    raise ValidationError(
        f"e-invoice format {value!r} is not one of {', '.join(SYNTAXES)}",
        code="einvoice.unknown_format",
        details={"format": value, "formats": list(SYNTAXES)},
    )


def _render(ctx: Context, document: Document, syntax: str) -> EInvoiceFile:
    chosen = parse_syntax(syntax)
    if ctx.einvoice_renderer is None:
        raise DomainError(
            "e-invoices are not available: no renderer is configured",
            code="einvoice.unavailable",
        )
    # A version suffix only where versions exist, so that v2 never overwrites v1's file.
    version = f"-v{document.version}" if document.version > 1 else ""
    return EInvoiceFile(
        filename=f"{document.number}{version}.{chosen}.xml",
        content=ctx.einvoice_renderer.render(document, chosen),
    )


def invoice_file(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    syntax: str,
    version: int | None = None,
) -> EInvoiceFile:
    """A sent invoice's version (default: the current one) as an e-invoice file."""
    parse_syntax(syntax)  # refuse a bad format before reading anything
    document = invoice_document(
        ctx, organization_id=organization_id, invoice_id=invoice_id, version=version
    )
    return _render(ctx, document, syntax)


def credit_note_file(
    ctx: Context, *, organization_id: str, credit_note_id: str, syntax: str
) -> EInvoiceFile:
    """An issued credit note as an e-invoice file (type 381, referencing its invoice)."""
    parse_syntax(syntax)
    document = credit_note_document(
        ctx, organization_id=organization_id, credit_note_id=credit_note_id
    )
    return _render(ctx, document, syntax)


def export_invoice(
    ctx: Context,
    *,
    organization_id: str,
    invoice_id: str,
    syntax: str,
    version: int | None = None,
) -> bytes:
    """The XML of a sent invoice's version (default: the current one)."""
    return invoice_file(
        ctx, organization_id=organization_id, invoice_id=invoice_id, syntax=syntax, version=version
    ).content


def export_credit_note(
    ctx: Context, *, organization_id: str, credit_note_id: str, syntax: str
) -> bytes:
    """The XML of an issued credit note."""
    return credit_note_file(
        ctx, organization_id=organization_id, credit_note_id=credit_note_id, syntax=syntax
    ).content
