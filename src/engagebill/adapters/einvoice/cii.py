"""UN/CEFACT Cross Industry Invoice (D16B) with the EN 16931 guideline, ready for Factur-X.

``to_cii`` writes one ``Document`` as a ``rsm:CrossIndustryInvoice`` whose guideline is
``urn:cen.eu:en16931:2017``: the Factur-X/ZUGFeRD "EN 16931" (comfort) profile, so the XML can
be embedded as ``factur-x.xml`` in a PDF/A-3 by the ``factur-x`` package. It carries the same
content as the UBL rendering (see ``ubl.py`` for the choices made where EN 16931 leaves one),
element by element in the order of the Factur-X EN 16931 schema; the same document always
gives the same bytes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lxml import etree

from engagebill.adapters.einvoice import fields
from engagebill.domain.invoices import InvoiceLine, PartySnapshot
from engagebill.domain.money import Money
from engagebill.domain.taxes import EXEMPTION_REASONS
from engagebill.services.documents import Document

GUIDELINE_ID = "urn:cen.eu:en16931:2017"

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"

DATE_FORMAT = "102"  # UNTDID 2379: CCYYMMDD
VAT_SCHEME = "VA"  # tax registration scheme of a VAT identifier (BT-31, BT-48)

Element = Any  # lxml ships no type information


def _ram(parent: Element, name: str, text: str | None = None, **attributes: str) -> Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _date(parent: Element, name: str, day: date) -> Element:
    """A ``udt`` date, as CII writes issue, due, delivery and period dates."""
    element = _ram(parent, name)
    value = etree.SubElement(element, f"{{{UDT}}}DateTimeString", format=DATE_FORMAT)
    value.text = fields.cii_date(day)
    return element


def _amount(parent: Element, name: str, money: Money, *, with_currency: bool = False) -> Element:
    # CII states the currency once (BT-5); only the VAT total repeats it (BR-CO-14 binding).
    attributes = {"currencyID": money.currency} if with_currency else {}
    return _ram(parent, name, fields.amount(money), **attributes)


def to_cii(document: Document) -> bytes:
    """The document as CII XML (UTF-8, with declaration)."""
    root = etree.Element(
        f"{{{RSM}}}CrossIndustryInvoice",
        nsmap={"rsm": RSM, "ram": RAM, "qdt": QDT, "udt": UDT},
    )
    context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", GUIDELINE_ID)

    header = etree.SubElement(root, f"{{{RSM}}}ExchangedDocument")
    _ram(header, "ID", document.number)  # BT-1
    _ram(header, "TypeCode", document.type_code)  # BT-3
    _date(header, "IssueDateTime", document.issue_date)  # BT-2
    if document.note:
        _ram(_ram(header, "IncludedNote"), "Content", document.note)  # BT-22

    transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for position, line in enumerate(document.lines, start=1):
        _line(transaction, position, line)
    _agreement(transaction, document)
    _delivery(transaction, document)
    _settlement(transaction, document)
    return fields.serialise(root)


def _line(transaction: Element, position: int, line: InvoiceLine) -> None:
    item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
    line_document = _ram(item, "AssociatedDocumentLineDocument")
    _ram(line_document, "LineID", str(position))  # BT-126
    note = fields.line_note(line)
    if note:
        _ram(_ram(line_document, "IncludedNote"), "Content", note)  # BT-127
    product = _ram(item, "SpecifiedTradeProduct")
    _ram(product, "Name", line.description)  # BT-153
    for detail in fields.line_details(line):  # BG-32
        characteristic = _ram(product, "ApplicableProductCharacteristic")
        _ram(characteristic, "Description", detail.name)
        _ram(characteristic, "Value", detail.value)
    agreement = _ram(item, "SpecifiedLineTradeAgreement")
    _ram(
        _ram(agreement, "NetPriceProductTradePrice"),
        "ChargeAmount",
        fields.price(line.unit_price),
    )  # BT-146
    delivery = _ram(item, "SpecifiedLineTradeDelivery")
    _ram(delivery, "BilledQuantity", fields.quantity(line.quantity), unitCode=line.unit)
    settlement = _ram(item, "SpecifiedLineTradeSettlement")
    tax = _ram(settlement, "ApplicableTradeTax")
    _ram(tax, "TypeCode", "VAT")
    _ram(tax, "CategoryCode", line.vat_category.value)  # BT-151
    if fields.has_rate(line.vat_category):
        _ram(tax, "RateApplicablePercent", fields.percent(line.vat_rate))  # BT-152
    if line.service_date is not None:
        _period(settlement, line.service_date, line.service_date)  # BG-26
    summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _amount(summation, "LineTotalAmount", line.net)  # BT-131


def _period(parent: Element, start: date, end: date) -> None:
    period = _ram(parent, "BillingSpecifiedPeriod")
    _date(period, "StartDateTime", start)
    _date(period, "EndDateTime", end)


def _agreement(transaction: Element, document: Document) -> None:
    agreement = _ram(transaction, "ApplicableHeaderTradeAgreement")
    _ram(agreement, "BuyerReference", document.buyer_reference)  # BT-10
    _party(agreement, "SellerTradeParty", document.seller, document, seller=True)
    _party(agreement, "BuyerTradeParty", document.buyer, document, seller=False)
    if document.purchase_order:
        order = _ram(agreement, "BuyerOrderReferencedDocument")
        _ram(order, "IssuerAssignedID", document.purchase_order)  # BT-13
    if document.quote_reference:
        project = _ram(agreement, "SpecifiedProcuringProject")
        _ram(project, "ID", document.quote_reference)  # BT-11
        _ram(project, "Name", document.engagement_name or document.quote_reference)


def _party(
    parent: Element, name: str, party: PartySnapshot, document: Document, *, seller: bool
) -> None:
    element = _ram(parent, name)
    identifier = fields.seller_identifier(document) if seller else ""
    if identifier:
        _ram(element, "ID", identifier)  # BT-29
    _ram(element, "Name", party.name)  # BT-27 / BT-44
    if seller and party.email:
        contact = _ram(element, "DefinedTradeContact")
        _ram(_ram(contact, "EmailURIUniversalCommunication"), "URIID", party.email)  # BT-43
    address = _ram(element, "PostalTradeAddress")
    if party.address.postal_code:
        _ram(address, "PostcodeCode", party.address.postal_code)
    if party.address.line1:
        _ram(address, "LineOne", party.address.line1)
    if party.address.line2:
        _ram(address, "LineTwo", party.address.line2)
    if party.address.city:
        _ram(address, "CityName", party.address.city)
    _ram(address, "CountryID", party.address.country_code)
    if party.email:
        uri = _ram(element, "URIUniversalCommunication")
        _ram(uri, "URIID", party.email, schemeID="EM")  # BT-34 / BT-49
    vat_id = fields.vat_identifier(party) if fields.carries_vat_identifiers(document) else ""
    if vat_id:
        _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", vat_id, schemeID=VAT_SCHEME)


def _delivery(transaction: Element, document: Document) -> None:
    """Required by the syntax; filled only for intra-community supplies (BR-IC-11, BR-IC-12),
    with the same reasoning as the UBL rendering."""
    delivery = _ram(transaction, "ApplicableHeaderTradeDelivery")
    if not fields.needs_delivery_information(document):
        return
    ship_to = _ram(delivery, "ShipToTradeParty")
    address = _ram(ship_to, "PostalTradeAddress")
    _ram(address, "CountryID", document.buyer.address.country_code)  # BT-80
    if fields.invoicing_period(document) is None:
        event = _ram(delivery, "ActualDeliverySupplyChainEvent")
        _date(event, "OccurrenceDateTime", document.issue_date)  # BT-72


def _settlement(transaction: Element, document: Document) -> None:
    totals = document.totals
    settlement = _ram(transaction, "ApplicableHeaderTradeSettlement")
    transfer = fields.pays_by_transfer(document)
    if transfer:
        _ram(settlement, "PaymentReference", fields.remittance_information(document))  # BT-83
    _ram(settlement, "InvoiceCurrencyCode", document.currency)  # BT-5
    if transfer:
        means = _ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _ram(means, "TypeCode", fields.payment_means_code(document))  # BT-81
        account = _ram(means, "PayeePartyCreditorFinancialAccount")
        _ram(account, "IBANID", document.iban)  # BT-84
        _ram(account, "AccountName", document.seller.name)  # BT-85
    for group in totals.breakdown:  # BG-23
        tax = _ram(settlement, "ApplicableTradeTax")
        _amount(tax, "CalculatedAmount", group.tax)  # BT-117
        _ram(tax, "TypeCode", "VAT")
        if group.category in EXEMPTION_REASONS:
            _ram(tax, "ExemptionReason", group.exemption_reason)  # BT-120
        _amount(tax, "BasisAmount", group.taxable)  # BT-116
        _ram(tax, "CategoryCode", group.category.value)  # BT-118
        if fields.exemption_code(group):
            _ram(tax, "ExemptionReasonCode", fields.exemption_code(group))  # BT-121
        if fields.has_rate(group.category):
            _ram(tax, "RateApplicablePercent", fields.percent(group.rate))  # BT-119
    period = fields.invoicing_period(document)
    if period is not None:
        _period(settlement, *period)  # BG-14
    if document.payment_terms or document.due_date is not None:
        terms = _ram(settlement, "SpecifiedTradePaymentTerms")
        if document.payment_terms:
            _ram(terms, "Description", document.payment_terms)  # BT-20
        if document.due_date is not None:
            _date(terms, "DueDateDateTime", document.due_date)  # BT-9
    summation = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _amount(summation, "LineTotalAmount", totals.net)  # BT-106
    _amount(summation, "TaxBasisTotalAmount", totals.net)  # BT-109
    _amount(summation, "TaxTotalAmount", totals.vat, with_currency=True)  # BT-110
    _amount(summation, "GrandTotalAmount", totals.gross)  # BT-112
    if not totals.prepaid.is_zero():
        _amount(summation, "TotalPrepaidAmount", totals.prepaid)  # BT-113
    _amount(summation, "DuePayableAmount", totals.due)  # BT-115
    if document.preceding_invoice:
        reference = _ram(settlement, "InvoiceReferencedDocument")
        _ram(reference, "IssuerAssignedID", document.preceding_invoice)  # BT-25
        if document.preceding_invoice_date is not None:
            issued = _ram(reference, "FormattedIssueDateTime")
            value = etree.SubElement(issued, f"{{{QDT}}}DateTimeString", format=DATE_FORMAT)
            value.text = fields.cii_date(document.preceding_invoice_date)  # BT-26
    if document.buyer_accounting_reference:
        account = _ram(settlement, "ReceivableSpecifiedTradeAccountingAccount")
        _ram(account, "ID", document.buyer_accounting_reference)  # BT-19
