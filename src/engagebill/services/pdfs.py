"""PDFs of issued documents: the use cases behind ``GET .../pdf`` and ``engagebill ... pdf``.

A PDF is printed from the ``Document`` of a sent invoice version or an issued credit note
(services.documents), never from live rows, so it says what was sent. The document's CII
(EN 16931) is rendered first and embedded in the PDF as Factur-X. Both renderers are ports on
the ``Context``; rendering happens after the read transaction has closed, so a slow PDF never
holds a database connection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engagebill.domain.errors import DomainError
from engagebill.services.documents import (
    Document,
    DocumentKind,
    credit_note_document,
    invoice_document,
)
from engagebill.services.ports import Context


@dataclass(frozen=True, slots=True)
class PdfFile:
    """A rendered PDF and the file name to offer it under (``INV-2025-0001-v2.pdf``)."""

    filename: str
    content: bytes


def pdf_filename(document: Document) -> str:
    # Document numbers come from an organization's own prefix: keep what is safe in a file
    # name and in a Content-Disposition header, replace the rest.
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", document.number).strip("._") or document.id
    if document.kind is DocumentKind.INVOICE:
        stem += f"-v{document.version}"
    return f"{stem}.pdf"


def render(ctx: Context, document: Document) -> PdfFile:
    """The document's PDF, with its CII embedded when a CII renderer is wired in."""
    if ctx.pdf_renderer is None:
        raise DomainError(
            "this engagebill has no PDF renderer configured", code="pdf.not_configured"
        )
    cii = ctx.cii_renderer(document) if ctx.cii_renderer is not None else None
    return PdfFile(pdf_filename(document), ctx.pdf_renderer.render(document, cii=cii))


def invoice_pdf_file(
    ctx: Context, *, organization_id: str, invoice_id: str, version: int | None = None
) -> PdfFile:
    """A sent invoice's PDF, of its current version or of ``version``."""
    document = invoice_document(
        ctx, organization_id=organization_id, invoice_id=invoice_id, version=version
    )
    return render(ctx, document)


def credit_note_pdf_file(ctx: Context, *, organization_id: str, credit_note_id: str) -> PdfFile:
    document = credit_note_document(
        ctx, organization_id=organization_id, credit_note_id=credit_note_id
    )
    return render(ctx, document)


def invoice_pdf(
    ctx: Context, *, organization_id: str, invoice_id: str, version: int | None = None
) -> bytes:
    """The PDF bytes of a sent invoice's version (default: the current one)."""
    return invoice_pdf_file(
        ctx, organization_id=organization_id, invoice_id=invoice_id, version=version
    ).content


def credit_note_pdf(ctx: Context, *, organization_id: str, credit_note_id: str) -> bytes:
    """The PDF bytes of an issued credit note."""
    return credit_note_pdf_file(
        ctx, organization_id=organization_id, credit_note_id=credit_note_id
    ).content
