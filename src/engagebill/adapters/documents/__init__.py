"""Printed documents: the PDF of an issued invoice version or credit note.

``pdf`` holds the renderer (WeasyPrint, factur-x). Importing those libraries takes seconds, and
most processes (a CLI command, a test, a billing run) never print anything, so the composition
root wires ``DeferredPdfRenderer``, which imports ``pdf`` when the first PDF is asked for.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engagebill.adapters.documents.pdf import WeasyPrintRenderer
    from engagebill.services.documents import Document


class DeferredPdfRenderer:
    """A ``PdfRenderer`` that builds the WeasyPrint renderer on first use, then reuses it."""

    def __init__(self) -> None:
        self._renderer: WeasyPrintRenderer | None = None
        self._lock = threading.Lock()

    def render(self, document: Document, *, cii: bytes | None) -> bytes:
        with self._lock:
            if self._renderer is None:
                from engagebill.adapters.documents.pdf import WeasyPrintRenderer

                self._renderer = WeasyPrintRenderer()
            renderer = self._renderer
        return renderer.render(document, cii=cii)
