"""Printed documents: the PDF of a sent invoice version or an issued credit note.

Each PDF is issued through the use cases and printed through the wired renderer, then read
back as a PDF reader would: it opens, it identifies itself as PDF/A-3b and as Factur-X
EN 16931 in its XMP, it carries ``factur-x.xml`` with exactly the CII of the same document,
its text layer says what the accounts-payable team looks for (number, PO, amounts), and the
same document always gives the same bytes, in this process or another. An invoice (PDF, and
its page as PNG) and the 150-line change order (PDF) are saved to ``test-artifacts/`` for
people to look at.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import segno
import segno.helpers
from facturx import get_facturx_xml_from_pdf
from fastapi.testclient import TestClient
from lxml import etree
from PIL import Image
from pypdf import PdfReader
from typer.testing import CliRunner
from weasyprint import CSS, HTML, URLFetcher

from engagebill.adapters.documents import pdf as printing
from engagebill.adapters.einvoice.cii import to_cii
from engagebill.domain.errors import NotFound, RuleViolation
from engagebill.domain.invoices import Invoice, compute_totals
from engagebill.domain.money import Money
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.entrypoints.http import create_app
from engagebill.services import invoicing, pdfs, recipient, settlement
from engagebill.services.access import create_api_key
from engagebill.services.documents import Document, credit_note_document, invoice_document
from engagebill.services.lines import LineInput
from tests.support import (
    FixedClock,
    World,
    a_client,
    a_po,
    an_engagement,
    an_organization,
    line,
    migrated_app,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "fx": "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


# Reading a PDF back --------------------------------------------------------------------------


class Printed:
    """A PDF as a reader sees it: pages, text, XMP, embedded files."""

    def __init__(self, data: bytes) -> None:
        assert data.startswith(b"%PDF-"), data[:20]
        self.data = data
        self.reader = PdfReader(io.BytesIO(data))
        self.pages = len(self.reader.pages)
        self.text = "\n".join(page.extract_text() for page in self.reader.pages)
        self.flat = " ".join(self.text.split())  # text wrapped in a cell reads as one line
        catalog = self.reader.trailer["/Root"]
        self.xmp = etree.fromstring(catalog["/Metadata"].get_object().get_data())
        self.attachments = {name: data[0] for name, data in self.reader.attachments.items()}

    def xmp_values(self, prefix: str, name: str) -> list[str]:
        # RDF allows a simple property as an element or as an attribute of its description.
        elements = self.xmp.xpath(f"//{prefix}:{name}/text()", namespaces=NS)
        attributes = self.xmp.xpath(f"//rdf:Description/@{prefix}:{name}", namespaces=NS)
        return [str(v) for v in [*elements, *attributes]]

    def page_text(self, index: int) -> str:
        return str(self.reader.pages[index].extract_text())


def assert_factur_x(printed: Printed, document: Document) -> None:
    """PDF/A-3b, Factur-X EN 16931 in the XMP, and the document's own CII embedded."""
    assert printed.xmp_values("pdfaid", "part") == ["3"]
    assert printed.xmp_values("pdfaid", "conformance") == ["B"]
    assert printed.xmp_values("fx", "ConformanceLevel") == ["EN 16931"]
    assert printed.xmp_values("fx", "DocumentFileName") == ["factur-x.xml"]
    assert printed.xmp_values("fx", "DocumentType") == ["INVOICE"]
    assert list(printed.attachments) == ["factur-x.xml"]
    assert printed.attachments["factur-x.xml"] == to_cii(document)
    # The factur-x library finds the same XML, and its XSD accepts it.
    name, xml = get_facturx_xml_from_pdf(printed.data, check_xsd=True)
    assert (name, xml) == ("factur-x.xml", to_cii(document))
    # The file is associated with the document as its data (PDF/A-3 /AF, /AFRelationship).
    catalog = printed.reader.trailer["/Root"]
    [spec] = [ref.get_object() for ref in catalog["/AF"]]
    assert spec["/AFRelationship"] == "/Data"
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/text/xml"


def first_page_png(pdf: Path, png: Path) -> bool:
    """Rasterise the first page for people to look at: poppler when installed, else the
    PDF viewer of the machine's Chromium (PDFium). False when neither is available."""
    if shutil.which("pdftoppm"):
        stem = png.with_suffix("")
        subprocess.run(
            ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", pdf, stem],
            check=True,
            timeout=60,
        )
        return True
    chromium = shutil.which("chromium")
    if chromium is None:
        return False
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return False
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1414})
            page.goto(f"{pdf.resolve().as_uri()}#toolbar=0&navpanes=0&view=Fit&page=1")
            time.sleep(4)  # the viewer draws asynchronously and says nothing when it is done
            page.screenshot(path=str(png))
        finally:
            browser.close()
    # Keep the page (white), not the viewer's grey surroundings.
    shot = Image.open(png).convert("RGB")
    page_box = shot.convert("L").point(lambda v: 255 if v > 200 else 0).getbbox()
    if page_box:
        shot.crop(page_box).save(png)
    return True


# The documents ------------------------------------------------------------------------------


@dataclass
class Issued:
    world: World
    url: str
    invoice: Invoice  # version 2 of INV-2025-0001, with a PO and a quote reference
    draft: Invoice
    credit_note_id: str
    change_order: Invoice  # 150 lines of approved out-of-scope work


def change_order_lines(count: int) -> list[LineInput]:
    people = ["Ana Lima", "Ben Okafor", "Chen Wu"]
    tasks = ["Landing page variant", "Checkout copy fixes", "Newsletter template", "A/B test"]
    return [
        LineInput(
            description=f"{tasks[i % len(tasks)]} #{i + 1}",
            quantity=str(Decimal(1 + i % 8) / 2),
            unit_price="150.00",
            unit="HUR",
            vat_rate="21",
            service_date=date(2025, 3, 1 + i % 28),
            person=people[i % len(people)],
            requester="Dana Scully (Acme)",
            approval_ref=f"https://mail.example/acme/{1000 + i}",
        )
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Issued]:
    """One organization on SQLite with an invoice in its second version, a credit note, an
    unsent draft and a 150-line change order (printing is what is tested here, and it reads
    the same ``Document`` on either database; the database test below runs on both)."""
    clock = FixedClock()
    url = f"sqlite:///{tmp_path_factory.mktemp('pdf') / 'engagebill.db'}"
    app = migrated_app(url, clock)
    org = an_organization(app)
    world = World(app=app, clock=clock, org_id=org, client_id=a_client(app, org))
    ctx = world.ctx
    retainer = an_engagement(app, org, world.client_id, name="Brand retainer")
    a_po(app, org, retainer, "PO-2025-117")
    invoice = invoicing.create_draft(
        ctx,
        organization_id=org,
        engagement_id=retainer,
        lines=[line("Monthly retainer, March 2025", price="10000.00")],
        quote_reference="Q-2025-0007",
        notes="Thank you for your business.",
    ).invoice
    invoicing.send_invoice(ctx, organization_id=org, invoice_id=invoice.id)
    recipient.record_view(ctx, organization_id=org, invoice_id=invoice.id)
    recipient.request_change(
        ctx, organization_id=org, invoice_id=invoice.id, message="Split it, please", by="Dana"
    )
    invoice = invoicing.revise_invoice(
        ctx,
        organization_id=org,
        invoice_id=invoice.id,
        lines=[
            line("Monthly retainer, March 2025: design", price="6000.00"),
            line("Monthly retainer, March 2025: content", price="4000.00"),
        ],
    )
    note = settlement.issue_credit_note(
        ctx,
        organization_id=org,
        invoice_id=invoice.id,
        reason="Goodwill: late delivery of the March report",
        lines=[line("Goodwill discount", price="500.00")],
    )
    draft = invoicing.create_draft(
        ctx, organization_id=org, engagement_id=retainer, lines=[line("April")]
    ).invoice
    extra = an_engagement(app, org, world.client_id, kind="time_and_material", name="Extra work")
    change_order = invoicing.create_draft(
        ctx, organization_id=org, engagement_id=extra, lines=change_order_lines(150)
    ).invoice
    change_order = invoicing.send_invoice(ctx, organization_id=org, invoice_id=change_order.id)
    yield Issued(world, url, invoice, draft, note.id, change_order)
    app.dispose()


def print_invoice(issued: Issued, invoice: Invoice, version: int | None = None) -> Printed:
    world = issued.world
    return Printed(
        pdfs.invoice_pdf(
            world.ctx, organization_id=world.org_id, invoice_id=invoice.id, version=version
        )
    )


def document_of(issued: Issued, invoice: Invoice, version: int | None = None) -> Document:
    world = issued.world
    return invoice_document(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id, version=version
    )


# The tests ----------------------------------------------------------------------------------


def test_pdf_of_a_sent_invoice_is_a_factur_x_invoice(world: World) -> None:
    """On SQLite and on PostgreSQL: print a sent invoice straight from the database."""
    engagement = an_engagement(world.app, world.org_id, world.client_id)
    a_po(world.app, world.org_id, engagement, "PO-7781")
    draft = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=engagement, lines=[line()]
    ).invoice
    sent = invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id)

    printed = Printed(pdfs.invoice_pdf(world.ctx, organization_id=world.org_id, invoice_id=sent.id))

    document = invoice_document(world.ctx, organization_id=world.org_id, invoice_id=sent.id)
    assert_factur_x(printed, document)
    assert printed.pages == 1
    for expected in ("INV-2025-0001", "PO-7781", "10,000.00", "2,100.00", "12,100.00"):
        assert expected in printed.flat


def test_invoice_shows_what_accounts_payable_matches_on(issued: Issued) -> None:
    printed = print_invoice(issued, issued.invoice)

    assert_factur_x(printed, document_of(issued, issued.invoice))
    text = printed.flat
    # Seller with VAT id, buyer's billing entity with its cost centre, the references.
    for expected in (
        "Northwind Studio B.V.",
        "VAT ID NL004495445B01",
        "Acme Retail GmbH",
        "VAT ID DE136695976",
        "Cost centre MKT-100",
        "Purchase order PO-2025-117",
        "Quote Q-2025-0007",
        "Engagement Brand retainer",
        "Number INV-2025-0001",
        "Version 2",
        "Issue date 2025-03-03",
        "Due date 2025-04-02",
    ):
        assert expected in text, expected
    # Lines, the VAT breakdown and the totals.
    assert "Monthly retainer, March 2025: design" in text
    assert "6,000.00" in text and "4,000.00" in text
    assert "S · Standard rate 21% 10,000.00 2,100.00" in text
    assert "Net total EUR 10,000.00" in text
    assert "Total EUR 12,100.00" in text
    assert "Amount due EUR 12,100.00" in text
    # Payment: the IBAN as schwifty formats it, the BIC it derives, the terms.
    assert "IBAN NL91 ABNA 0417 1643 00" in text
    assert "BIC ABNANL2A" in text
    assert "Terms Net 30 days, due 2025-04-02" in text
    # The footer: what the document's content and its event chain hash to.
    document = document_of(issued, issued.invoice)
    assert document.content_hash in text and document.chain_hash in text


def test_same_document_same_bytes(issued: Issued) -> None:
    first = print_invoice(issued, issued.invoice)
    again = print_invoice(issued, issued.invoice)

    assert first.data == again.data
    document = document_of(issued, issued.invoice)
    # Dated by the issue date, never by the clock; identified by the content hash.
    info = first.reader.metadata
    assert info is not None
    assert info["/CreationDate"] == info["/ModDate"] == "D:20250303000000Z"
    dates = first.xmp.xpath(
        "//*[local-name()='CreateDate' or local-name()='ModifyDate']/text()", namespaces=NS
    )
    assert dates == ["2025-03-03T00:00:00Z", "2025-03-03T00:00:00Z"]
    file_id = first.reader.trailer["/ID"][0]
    assert bytes(file_id.original_bytes) == printing.file_identifier(document)


def test_same_bytes_from_another_process(issued: Issued) -> None:
    """Another interpreter, with another hash seed (so another set and dict order where
    that could leak), prints the very same file through the CLI."""
    command = Path(sys.executable).with_name("engagebill")
    done = subprocess.run(
        [command, "--db", issued.url, "invoice", "pdf", issued.invoice.id, "-o", "-"],
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "4242"},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == print_invoice(issued, issued.invoice).data


def test_an_earlier_version_prints_as_it_was_sent(issued: Issued) -> None:
    world = issued.world
    v1 = pdfs.invoice_pdf_file(
        world.ctx, organization_id=world.org_id, invoice_id=issued.invoice.id, version=1
    )
    printed = Printed(v1.content)

    assert v1.filename == "INV-2025-0001-v1.pdf"
    assert "Version 1" in printed.flat
    assert "Monthly retainer, March 2025" in printed.text and "12,100.00" in printed.flat
    assert "design" not in printed.flat
    assert_factur_x(printed, document_of(issued, issued.invoice, version=1))
    with pytest.raises(RuleViolation) as unknown:
        pdfs.invoice_pdf(
            world.ctx, organization_id=world.org_id, invoice_id=issued.invoice.id, version=9
        )
    assert unknown.value.code == "document.unknown_version"


def test_credit_note_names_the_invoice_it_corrects(issued: Issued) -> None:
    world = issued.world
    printed = Printed(
        pdfs.credit_note_pdf(
            world.ctx, organization_id=world.org_id, credit_note_id=issued.credit_note_id
        )
    )

    document = credit_note_document(
        world.ctx, organization_id=world.org_id, credit_note_id=issued.credit_note_id
    )
    assert_factur_x(printed, document)
    cii = etree.fromstring(printed.attachments["factur-x.xml"])
    assert cii.xpath("//rsm:ExchangedDocument/ram:TypeCode/text()", namespaces=NS) == ["381"]
    text = printed.flat
    for expected in (
        "Credit note",
        "Number CN-2025-0001",
        "Corrects invoice INV-2025-0001 of 2025-03-03",
        "Purchase order PO-2025-117",
        "Goodwill discount",
        "Net credited EUR 500.00",
        "Total credited EUR 605.00",
        "Goodwill: late delivery of the March report",
    ):
        assert expected in text, expected
    assert "Amount due" not in text and "IBAN" not in text  # nothing is to be paid on it


def test_a_150_line_change_order_runs_over_pages(issued: Issued) -> None:
    started = time.perf_counter()
    printed = print_invoice(issued, issued.change_order)
    seconds = time.perf_counter() - started

    assert printed.pages >= 3
    assert_factur_x(printed, document_of(issued, issued.change_order))
    first, last = printed.page_text(0), printed.page_text(printed.pages - 1)
    assert f"Page 1 of {printed.pages}" in first
    # Date, who did it, who asked for it and where it was approved, on every line.
    first_flat = " ".join(first.split())
    assert "2025-03-01 Landing page variant #1" in first_flat
    assert "Ana Lima · requested by Dana Scully (Acme) · approval:" in first_flat
    # A long reference wraps in its cell (after a slash): compare it without the breaks.
    assert "https://mail.example/acme/1000" in "".join(first.split())
    assert "https://mail.example/acme/1149" in "".join(printed.text.split())
    # The header row repeats on every page, and later pages name the document at the top.
    for index in range(1, printed.pages):
        page = printed.page_text(index)
        assert "Hours" in page and "Rate" in page, index
        assert "Invoice INV-2025-0002 · version 1" in " ".join(page.split()), index
    assert "Amount due" in last
    print(f"150-line change order: {printed.pages} pages, {seconds:.2f} s")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "change-order-150-lines.pdf").write_bytes(printed.data)


def test_a_draft_has_no_pdf(issued: Issued) -> None:
    world = issued.world
    with pytest.raises(RuleViolation) as refused:
        pdfs.invoice_pdf(world.ctx, organization_id=world.org_id, invoice_id=issued.draft.id)
    assert refused.value.code == "document.not_issued"
    with pytest.raises(NotFound):
        pdfs.credit_note_pdf(world.ctx, organization_id=world.org_id, credit_note_id="cn_nope")


def test_api_serves_pdf_attachments(issued: Issued) -> None:
    world = issued.world
    key = create_api_key(world.ctx, organization_id=world.org_id, name="ap").secret
    client = TestClient(create_app(world.ctx), headers={"Authorization": f"Bearer {key}"})

    current = client.get(f"/api/v1/invoices/{issued.invoice.id}/pdf")
    assert current.status_code == 200, current.text
    assert current.headers["content-type"] == "application/pdf"
    assert current.headers["content-disposition"] == 'attachment; filename="INV-2025-0001-v2.pdf"'
    assert current.content == print_invoice(issued, issued.invoice).data
    v1 = client.get(f"/api/v1/invoices/{issued.invoice.id}/pdf", params={"version": 1})
    assert v1.status_code == 200 and "Version 1" in Printed(v1.content).text
    note = client.get(f"/api/v1/credit-notes/{issued.credit_note_id}/pdf")
    assert note.status_code == 200
    assert note.headers["content-disposition"] == 'attachment; filename="CN-2025-0001.pdf"'

    draft = client.get(f"/api/v1/invoices/{issued.draft.id}/pdf")
    assert (draft.status_code, draft.json()["code"]) == (422, "document.not_issued")
    assert draft.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/credit-notes/cn_nope/pdf").status_code == 404
    assert client.get(f"/api/v1/invoices/{issued.invoice.id}/pdf?version=0").status_code == 422


def test_cli_writes_the_pdf_to_a_file_or_stdout(issued: Issued, tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "invoice.pdf"

    to_file = runner.invoke(
        cli_app,
        ["--db", issued.url, "invoice", "pdf", issued.invoice.id, "--version", "1",
         "--output", str(target)],
    )  # fmt: skip
    assert to_file.exit_code == 0, to_file.output
    assert target.read_bytes() == print_invoice(issued, issued.invoice, version=1).data
    to_stdout = runner.invoke(
        cli_app, ["--db", issued.url, "credit-note", "pdf", issued.credit_note_id, "-o", "-"]
    )
    assert to_stdout.exit_code == 0, to_stdout.output
    assert Printed(to_stdout.stdout_bytes).text.count("CN-2025-0001") >= 1
    refused = runner.invoke(
        cli_app, ["--db", issued.url, "invoice", "pdf", issued.draft.id, "-o", str(target)]
    )
    assert refused.exit_code == 7 and "document.not_issued" in refused.stderr


def test_prepaid_advance_and_payment_details(issued: Issued) -> None:
    """What the page says when an advance covers part of it, in another currency, or when
    the IBAN on file is not one (printing straight from a ``Document``)."""
    document = document_of(issued, issued.invoice)
    totals = compute_totals(list(document.lines), "EUR", prepaid=Money(Decimal("2000.00"), "EUR"))
    advanced = replace(document, totals=totals)
    printed = Printed(printing.render_pdf(advanced, cii=None))
    assert "Prepaid advance −EUR 2,000.00" in printed.flat
    assert "Amount due EUR 10,100.00" in printed.flat
    assert printed.attachments == {}  # no XML given, none embedded
    assert printed.xmp_values("pdfaid", "part") == ["3"]

    # An EPC QR code: one pixel per module, square, with its quiet zone.
    qr = printing.epc_qr_code(advanced, printing.bank_account(advanced.iban))
    assert qr.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(qr.split(",", 1)[1])))
    assert image.width == image.height and (image.width - 8 - 17) % 4 == 0
    in_dollars = replace(advanced, currency="USD")
    assert printing.epc_qr_code(in_dollars, printing.bank_account(in_dollars.iban)) == ""
    wrong = printing.bank_account("NL91 ABNA 0417 1643 01")  # checksum off by one
    assert wrong is not None and (wrong.valid, wrong.iban, wrong.bic) == (
        False,
        "NL91 ABNA 0417 1643 01",
        "",
    )
    assert printing.epc_qr_code(advanced, wrong) == ""
    with pytest.raises(ValueError, match="not a UN/CEFACT CII invoice"):
        printing.render_pdf(advanced, cii=b"<Invoice/>")


class StockHTML(HTML):  # type: ignore[misc]
    """WeasyPrint's own way in: tinyhtml5's HTML parser and WeasyPrint's HTML5 stylesheet."""

    def __init__(self, *, string: str, url_fetcher: URLFetcher, user_agent: CSS) -> None:
        super().__init__(
            string=string, base_url=printing.TEMPLATES.as_uri(), url_fetcher=url_fetcher
        )


def test_the_page_prints_as_weasyprint_would_print_it_unaided(
    issued: Issued, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renderer parses the template's markup as XML and brings its own user-agent
    stylesheet (docs/adr/0007): the files are byte for byte those of WeasyPrint's HTML parser
    and stylesheet, for an invoice, a credit note and a page-breaking change order."""
    world = issued.world
    documents = [
        document_of(issued, issued.invoice),
        credit_note_document(
            world.ctx, organization_id=world.org_id, credit_note_id=issued.credit_note_id
        ),
        document_of(issued, issued.change_order),
    ]
    ours = printing.WeasyPrintRenderer()
    printed = [ours.render(document, cii=to_cii(document)) for document in documents]

    monkeypatch.setattr(printing, "InvoiceHTML", StockHTML)
    stock = printing.WeasyPrintRenderer()
    for document, pdf in zip(documents, printed, strict=True):
        assert stock.render(document, cii=to_cii(document)) == pdf, document.number


def test_epc_qr_code_carries_what_segno_would_encode() -> None:
    """The payload is the one segno's EPC helper builds (so banking apps read the same
    transfer); only the mask is fixed instead of chosen by scoring all eight."""
    for name, amount, bic in [
        ("Northwind Studio B.V.", "36360.38", "ABNANL2A"),
        ("Zoë Café SARL", "100.00", ""),
        ("Ærø ApS", "0.10", "ABNANL2AXXX"),
    ]:
        data = printing.epc_payload(
            name=name, iban="NL91ABNA0417164300", bic=bic, amount=Decimal(amount), text="INV-1"
        )
        ours = segno.make_qr(data, error="m", boost_error=False)
        theirs = segno.helpers.make_epc_qr(
            name=name, iban="NL91ABNA0417164300", amount=Decimal(amount), text="INV-1",
            bic=bic or None,
        )  # fmt: skip
        assert ours.matrix == theirs.matrix, name
    # Beyond ISO 8859-1 the text goes as UTF-8 (character set 1), which every reader accepts.
    data = printing.epc_payload(
        name="Ελληνικά ΑΕ", iban="GR1601101250000000012300695", bic="", amount=Decimal(5), text="X"
    )
    assert data.split(b"\n")[2] == b"1" and "Ελληνικά ΑΕ".encode() in data
    assert data.split(b"\n")[7] == b"EUR5"
    with pytest.raises(ValueError, match="more than 331"):
        printing.epc_payload(
            name="N" * 70, iban="NL91ABNA0417164300", bic="", amount=Decimal(1), text="€" * 140
        )


def test_a_stray_control_character_prints_as_nothing(issued: Issued) -> None:
    """The page is parsed as XML, which has no form-feed or NUL: such characters pasted into
    a description or a note are left out rather than failing the PDF."""
    document = document_of(issued, issued.invoice)
    pasted = replace(document.lines[0], description="Design\x0c review\x00 (week 12)")
    printed = Printed(
        printing.render_pdf(replace(document, lines=(pasted, *document.lines[1:])), cii=None)
    )
    assert "Design review (week 12)" in printed.flat


def test_artifacts_for_review(issued: Issued) -> None:
    """Save an invoice and the first page of it as PNG in test-artifacts/ (not an assertion
    about looks: people look at these)."""
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "invoice.pdf"
    pdf.write_bytes(print_invoice(issued, issued.invoice).data)
    if not first_page_png(pdf, ARTIFACTS / "invoice.png"):
        pytest.skip("neither pdftoppm nor Chromium is installed to draw the PNG")
    assert (ARTIFACTS / "invoice.png").stat().st_size > 10_000


def test_an_advance_is_billed_on_an_advance_invoice(issued: Issued) -> None:
    """The prepayment invoice (type 386) says so on the page and in the metadata."""
    document = replace(document_of(issued, issued.invoice), prepayment=True)
    printed = Printed(printing.render_pdf(document, cii=None))
    assert "Advance invoice" in printed.flat
    plain = Printed(printing.render_pdf(document_of(issued, issued.invoice), cii=None))
    assert "Advance invoice" not in plain.flat
