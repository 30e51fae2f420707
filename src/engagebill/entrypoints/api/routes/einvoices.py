"""GET the EN 16931 e-invoice (UBL 2.1 or CII) of a sent invoice version or a credit note."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.responses import Response

from engagebill.entrypoints.api.deps import Ctx, Reader
from engagebill.services import einvoice
from engagebill.services.einvoice import EInvoiceFile

router = APIRouter(tags=["e-invoices"])

FORMAT_HELP = (
    "`ubl` (UBL 2.1, Peppol BIS Billing 3.0) or `cii` (UN/CEFACT CII, Factur-X EN 16931); "
    "anything else is a 422 `einvoice.unknown_format`"
)
Format = Annotated[str, Query(alias="format", description=FORMAT_HELP)]

XML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The e-invoice, as an XML attachment",
        "content": {einvoice.MEDIA_TYPE: {"schema": {"type": "string"}}},
    }
}


def _attachment(exported: EInvoiceFile) -> Response:
    return Response(
        exported.content,
        media_type=exported.media_type,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )


@router.get("/invoices/{invoice_id}/einvoice", response_class=Response, responses=XML_RESPONSE)
def get_invoice_einvoice(
    invoice_id: str,
    ctx: Ctx,
    key: Reader,
    syntax: Format,
    version: Annotated[int | None, Query(ge=1, description="Default: the current")] = None,
) -> Response:
    """A sent invoice's version as an e-invoice; a draft has none (422 `document.not_issued`)."""
    return _attachment(
        einvoice.invoice_file(
            ctx,
            organization_id=key.organization_id,
            invoice_id=invoice_id,
            syntax=syntax,
            version=version,
        )
    )


@router.get(
    "/credit-notes/{credit_note_id}/einvoice", response_class=Response, responses=XML_RESPONSE
)
def get_credit_note_einvoice(
    credit_note_id: str, ctx: Ctx, key: Reader, syntax: Format
) -> Response:
    """An issued credit note as an e-invoice (type 381, referencing its invoice)."""
    return _attachment(
        einvoice.credit_note_file(
            ctx, organization_id=key.organization_id, credit_note_id=credit_note_id, syntax=syntax
        )
    )
