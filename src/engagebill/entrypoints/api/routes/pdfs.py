"""GET the PDF of a sent invoice version or an issued credit note (PDF/A-3b with Factur-X)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from engagebill.entrypoints.api.deps import Ctx, Reader
from engagebill.services import pdfs
from engagebill.services.pdfs import PdfFile

router = APIRouter(tags=["documents"])

PDF_MEDIA_TYPE = "application/pdf"
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The PDF/A-3b, with the EN 16931 CII embedded as factur-x.xml",
        "content": {PDF_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _attachment(pdf: PdfFile) -> Response:
    return Response(
        pdf.content,
        media_type=PDF_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{pdf.filename}"'},
    )


@router.get("/invoices/{invoice_id}/pdf", response_class=Response, responses=PDF_RESPONSE)
def get_invoice_pdf(
    invoice_id: str,
    ctx: Ctx,
    key: Reader,
    version: Annotated[int | None, Query(ge=1, description="Default: the current")] = None,
) -> Response:
    """A sent invoice's version as PDF; a draft has none (422 `document.not_issued`)."""
    return _attachment(
        pdfs.invoice_pdf_file(
            ctx, organization_id=key.organization_id, invoice_id=invoice_id, version=version
        )
    )


@router.get("/credit-notes/{credit_note_id}/pdf", response_class=Response, responses=PDF_RESPONSE)
def get_credit_note_pdf(credit_note_id: str, ctx: Ctx, key: Reader) -> Response:
    """An issued credit note as PDF, naming the invoice it corrects."""
    return _attachment(
        pdfs.credit_note_pdf_file(
            ctx, organization_id=key.organization_id, credit_note_id=credit_note_id
        )
    )
