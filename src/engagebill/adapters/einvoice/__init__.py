"""EN 16931 e-invoices: UBL 2.1 (Peppol BIS Billing 3.0 style) and CII (Factur-X EN 16931).

``ubl`` and ``cii`` render a ``Document`` (services/documents.py) to XML with lxml; ``fields``
holds what both syntaxes derive the same way; ``schematron`` validates the result against the
official EN 16931 rules. ``XmlEInvoiceRenderer`` is the adapter behind the services'
``EInvoiceRenderer`` port, wired in by ``bootstrap``.
"""

from __future__ import annotations

from engagebill.adapters.einvoice.cii import to_cii
from engagebill.adapters.einvoice.ubl import to_ubl
from engagebill.services.documents import Document
from engagebill.services.ports import EInvoiceSyntax

__all__ = ["XmlEInvoiceRenderer", "to_cii", "to_ubl"]


class XmlEInvoiceRenderer:
    """Renders a document in the syntax asked for; pure, so safe to share between threads."""

    def render(self, document: Document, syntax: EInvoiceSyntax) -> bytes:
        if syntax == "ubl":
            return to_ubl(document)
        return to_cii(document)
