"""PDFs per second: a one-page invoice and a 150-line change order, on one and on two cores.

Each PDF is what ``GET /invoices/{id}/pdf`` produces once the document is read: the EN 16931
CII rendered, then the PDF/A-3b with the CII embedded as Factur-X. Documents are built in
memory (no database: reading one is the same few queries for any PDF and is not what this
measures). Every renderer is warmed up first (fonts loaded, the XSD parsed), then timed:

- in one process, N renders in a loop;
- in as many worker processes as asked (default 2, the cores of the reference machine), each
  rendering its share after all of them are ready; the figure is all PDFs over the wall time.

The machine's load average is printed too: on a shared machine it says how far the figures
are from an idle one. So does ``..._workers_cpu_bound``: the PDFs over the CPU seconds of the
busiest worker, what the workers would do with a core each to themselves. Prints one JSON
object; ``python -m bench`` collects it.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from datetime import date
from decimal import Decimal
from typing import Any

from pypdf import PdfReader

from engagebill.adapters.documents.pdf import WeasyPrintRenderer
from engagebill.adapters.einvoice.cii import to_cii
from engagebill.domain.invoices import InvoiceLine, PartySnapshot, compute_totals
from engagebill.domain.money import Money
from engagebill.domain.parties import Address
from engagebill.domain.taxes import VatCategory
from engagebill.services.documents import Document, DocumentKind

TARGET_ONE_PAGE_PER_SECOND = 30

SELLER = PartySnapshot(
    name="Northwind Studio B.V.",
    address=Address("Keizersgracht 1", "Amsterdam", "1015 CJ", "NL"),
    tax_id="NL004495445B01",
    email="billing@northwind.example",
    iban="NL91ABNA0417164300",
)
BUYER = PartySnapshot(
    name="Acme Retail GmbH",
    address=Address("Friedrichstrasse 10", "Berlin", "10117", "DE"),
    tax_id="DE136695976",
    cost_centre="MKT-100",
)


def _eur(amount: str) -> Money:
    return Money(Decimal(amount), "EUR")


def one_page_invoice() -> Document:
    """A retainer month with a milestone and hosting: the common one-page invoice."""
    lines = [
        InvoiceLine(
            "Monthly retainer, March 2025",
            Decimal(1),
            "C62",
            _eur("10000.00"),
            VatCategory.STANDARD,
            Decimal(21),
        ),
        InvoiceLine(
            "Website rebuild, Milestone 2: design system sign-off",
            Decimal(1),
            "C62",
            _eur("20000.00"),
            VatCategory.STANDARD,
            Decimal(21),
        ),
        InvoiceLine(
            "Hosting and monitoring, March 2025",
            Decimal(1),
            "MON",
            _eur("49.90"),
            VatCategory.STANDARD,
            Decimal(21),
        ),
    ]
    return _document("INV-2025-0001", lines, "Brand retainer")


def change_order(count: int = 150) -> Document:
    """Approved out-of-scope work: date, person, hours, rate, requester, approval link."""
    people = ["Ana Lima", "Ben Okafor", "Chen Wu"]
    tasks = ["Landing page variant", "Checkout copy fixes", "Newsletter template", "A/B test"]
    lines = [
        InvoiceLine(
            f"{tasks[i % len(tasks)]} #{i + 1}",
            Decimal(1 + i % 8) / 2,
            "HUR",
            _eur("150.00"),
            VatCategory.STANDARD,
            Decimal(21),
            service_date=date(2025, 3, 1 + i % 28),
            person=people[i % len(people)],
            requester="Dana Scully (Acme)",
            approval_ref=f"https://mail.example/acme/{1000 + i}",
        )
        for i in range(count)
    ]
    return _document("INV-2025-0002", lines, "Out-of-scope work, March 2025")


def _document(number: str, lines: list[InvoiceLine], engagement: str) -> Document:
    return Document(
        kind=DocumentKind.INVOICE,
        id=f"inv_{number}",
        number=number,
        version=1,
        issue_date=date(2025, 3, 31),
        due_date=date(2025, 4, 30),
        currency="EUR",
        seller=SELLER,
        buyer=BUYER,
        lines=tuple(lines),
        totals=compute_totals(lines, "EUR"),
        purchase_order="PO-2025-117",
        buyer_reference="MKT-100",
        buyer_accounting_reference="MKT-100",
        quote_reference="Q-2025-0007",
        preceding_invoice="",
        preceding_invoice_date=None,
        payment_terms="Net 30 days, due 2025-04-30",
        iban=SELLER.iban,
        note="",
        engagement_name=engagement,
        chain_hash="9f" * 32,
        content_hash="3c" * 32,
    )


DOCUMENTS = {"one_page": one_page_invoice, "change_order": change_order}


def render(renderer: WeasyPrintRenderer, document: Document) -> bytes:
    return renderer.render(document, cii=to_cii(document))


def warm(renderer: WeasyPrintRenderer, document: Document) -> bytes:
    for _ in range(2):
        pdf = render(renderer, document)
    return pdf


def in_one_process(kind: str, count: int) -> tuple[float, float, bytes]:
    """Wall and CPU seconds for ``count`` PDFs in this process, and the last PDF."""
    renderer, document = WeasyPrintRenderer(), DOCUMENTS[kind]()
    pdf = warm(renderer, document)
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(count):
        render(renderer, document)
    return time.perf_counter() - started, time.process_time() - cpu_started, pdf


def _worker(kind: str, count: int, ready: Any, results: Any) -> None:
    renderer, document = WeasyPrintRenderer(), DOCUMENTS[kind]()
    warm(renderer, document)
    ready.wait()
    cpu_started = time.process_time()
    for _ in range(count):
        render(renderer, document)
    results.put((time.perf_counter(), time.process_time() - cpu_started))


def in_processes(kind: str, count: int, workers: int) -> tuple[float, float]:
    """Wall seconds for ``count`` PDFs shared by ``workers`` processes started cold, and the
    CPU seconds of the busiest worker."""
    context = mp.get_context("spawn")  # a clean interpreter each: no fontconfig state forked
    ready = context.Barrier(workers + 1)
    results = context.Queue()
    shares = [count // workers + (1 if i < count % workers else 0) for i in range(workers)]
    processes = [
        context.Process(target=_worker, args=(kind, share, ready, results)) for share in shares
    ]
    for process in processes:
        process.start()
    ready.wait()
    started = time.perf_counter()
    done = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
    return max(finished for finished, _ in done) - started, max(cpu for _, cpu in done)


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one-page", type=int, default=60, help="one-page PDFs per measure")
    parser.add_argument("--change-orders", type=int, default=6, help="150-line PDFs per measure")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    result: dict[str, Any] = {"benchmark": "pdf", "workers": args.workers, "cores": os.cpu_count()}
    for kind, count in (("one_page", args.one_page), ("change_order", args.change_orders)):
        seconds, cpu_seconds, pdf = in_one_process(kind, count)
        result[f"{kind}_pdfs_per_second"] = round(count / seconds, 1)
        result[f"{kind}_ms_per_pdf"] = round(seconds / count * 1000, 1)
        # CPU time per PDF: what one core would do if nothing else ran on it.
        result[f"{kind}_cpu_ms_per_pdf"] = round(cpu_seconds / count * 1000, 1)
        result[f"{kind}_pages"] = pages(pdf)
        result[f"{kind}_bytes"] = len(pdf)
        wall, busiest_cpu = in_processes(kind, count, args.workers)
        result[f"{kind}_pdfs_per_second_{args.workers}_workers"] = round(count / wall, 1)
        # What the workers would do with a core each to themselves: on a shared machine the
        # wall-clock figure above also counts the time other processes had the cores.
        result[f"{kind}_pdfs_per_second_{args.workers}_workers_cpu_bound"] = round(
            count / busiest_cpu, 1
        )
    result["target_one_page_pdfs_per_second"] = TARGET_ONE_PAGE_PER_SECOND
    result["meets_target"] = (
        result[f"one_page_pdfs_per_second_{args.workers}_workers"] >= TARGET_ONE_PAGE_PER_SECOND
    )
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["load_average_before"] = round(load_before, 2)
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    sys.exit(0)


if __name__ == "__main__":
    main()
