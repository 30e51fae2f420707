"""UBL 2.1 invoices and credit notes in the Peppol BIS Billing 3.0 style (EN 16931).

``to_ubl`` writes one ``Document`` (the frozen snapshot of a sent invoice version, or an issued
credit note) as a UBL ``Invoice`` (type 380, or 386 for an advance invoice) or ``CreditNote``
(type 381), element by element
in the order the UBL 2.1 schemas require. It reads nothing but the document, so the same
document always gives the same bytes.

Where the model leaves a choice, the choice is made for the buyer's accounts-payable team:
the quote number is the project reference (BT-11), the buyer's cost centre is the accounting
cost (BT-19), and a change-order line carries its service date as the line period (BG-26),
the person, requester and approval reference as item attributes (BG-32) and all of them again
as a line note (BT-127), which most invoice viewers show.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from lxml import etree

from engagebill.adapters.einvoice import fields
from engagebill.domain.invoices import InvoiceLine, PartySnapshot
from engagebill.domain.money import Money
from engagebill.domain.taxes import EXEMPTION_REASONS
from engagebill.services.documents import Document, DocumentKind

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

# BT-11 on a credit note: UBL's CreditNote has no ProjectReference, so the EN 16931 binding
# carries it as an additional document reference with document type code 50 (the CEN
# schematron accepts that code on credit notes only).
PROJECT_DOCUMENT_TYPE = "50"

Element = Any  # lxml ships no type information


def _cbc(parent: Element, name: str, text: str, **attributes: str) -> Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    element.text = text
    return element


def _cac(parent: Element, name: str) -> Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _amount(parent: Element, name: str, money: Money) -> Element:
    return _cbc(parent, name, fields.amount(money), currencyID=money.currency)


def to_ubl(document: Document) -> bytes:
    """The document as UBL 2.1 XML (UTF-8, with declaration)."""
    invoice = document.kind is DocumentKind.INVOICE
    root_ns = INVOICE_NS if invoice else CREDIT_NOTE_NS
    root = etree.Element(
        f"{{{root_ns}}}{'Invoice' if invoice else 'CreditNote'}",
        nsmap={None: root_ns, "cac": CAC, "cbc": CBC},
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", document.number)
    _cbc(root, "IssueDate", fields.iso_date(document.issue_date))
    if invoice and document.due_date is not None:
        _cbc(root, "DueDate", fields.iso_date(document.due_date))  # BT-9
    _cbc(root, "InvoiceTypeCode" if invoice else "CreditNoteTypeCode", document.type_code)
    if document.note:
        _cbc(root, "Note", document.note)  # BT-22
    _cbc(root, "DocumentCurrencyCode", document.currency)
    if document.buyer_accounting_reference:
        _cbc(root, "AccountingCost", document.buyer_accounting_reference)  # BT-19
    _cbc(root, "BuyerReference", document.buyer_reference)  # BT-10
    _period(root, fields.invoicing_period(document))
    if document.purchase_order:
        _cbc(_cac(root, "OrderReference"), "ID", document.purchase_order)  # BT-13
    if document.preceding_invoice:
        _billing_reference(root, document)
    if document.quote_reference and invoice:
        _cbc(_cac(root, "ProjectReference"), "ID", document.quote_reference)  # BT-11
    elif document.quote_reference:
        reference = _cac(root, "AdditionalDocumentReference")
        _cbc(reference, "ID", document.quote_reference)
        _cbc(reference, "DocumentTypeCode", PROJECT_DOCUMENT_TYPE)
    _party(_cac(root, "AccountingSupplierParty"), document.seller, document, seller=True)
    _party(_cac(root, "AccountingCustomerParty"), document.buyer, document, seller=False)
    if fields.needs_delivery_information(document):
        _delivery(root, document)
    if fields.pays_by_transfer(document):
        _payment_means(root, document)
    if document.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", document.payment_terms)  # BT-20
    _tax_total(root, document)
    _monetary_total(root, document)
    for position, line in enumerate(document.lines, start=1):
        _line(root, position, line, invoice=invoice)
    return fields.serialise(root)


def _period(parent: Element, period: tuple[date, date] | None) -> None:
    if period is None:
        return
    element = _cac(parent, "InvoicePeriod")
    _cbc(element, "StartDate", fields.iso_date(period[0]))
    _cbc(element, "EndDate", fields.iso_date(period[1]))


def _billing_reference(root: Element, document: Document) -> None:
    """BG-3: the invoice this credit note corrects (BT-25) and its issue date (BT-26)."""
    reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
    _cbc(reference, "ID", document.preceding_invoice)
    if document.preceding_invoice_date is not None:
        _cbc(reference, "IssueDate", fields.iso_date(document.preceding_invoice_date))


def _party(parent: Element, party: PartySnapshot, document: Document, *, seller: bool) -> None:
    element = _cac(parent, "Party")
    if party.email:
        _cbc(element, "EndpointID", party.email, schemeID="EM")  # BT-34 / BT-49
    identifier = fields.seller_identifier(document) if seller else ""
    if identifier:
        _cbc(_cac(element, "PartyIdentification"), "ID", identifier)  # BT-29
    address = _cac(element, "PostalAddress")
    if party.address.line1:
        _cbc(address, "StreetName", party.address.line1)
    if party.address.line2:
        _cbc(address, "AdditionalStreetName", party.address.line2)
    if party.address.city:
        _cbc(address, "CityName", party.address.city)
    if party.address.postal_code:
        _cbc(address, "PostalZone", party.address.postal_code)
    _cbc(_cac(address, "Country"), "IdentificationCode", party.address.country_code)
    vat_id = fields.vat_identifier(party) if fields.carries_vat_identifiers(document) else ""
    if vat_id:
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", vat_id)  # BT-31 / BT-48
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    _cbc(_cac(element, "PartyLegalEntity"), "RegistrationName", party.name)  # BT-27 / BT-44
    if seller and party.email:
        _cbc(_cac(element, "Contact"), "ElectronicMail", party.email)  # BT-43


def _delivery(root: Element, document: Document) -> None:
    """Where and when an intra-community supply took place (BR-IC-11, BR-IC-12).

    Services are supplied where the buyer is established; without an invoicing period, the
    supply date is taken to be the issue date (services invoiced on completion).
    """
    delivery = _cac(root, "Delivery")
    if fields.invoicing_period(document) is None:
        _cbc(delivery, "ActualDeliveryDate", fields.iso_date(document.issue_date))
    address = _cac(_cac(delivery, "DeliveryLocation"), "Address")
    _cbc(_cac(address, "Country"), "IdentificationCode", document.buyer.address.country_code)


def _payment_means(root: Element, document: Document) -> None:
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", fields.payment_means_code(document))
    _cbc(means, "PaymentID", fields.remittance_information(document))  # BT-83
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", document.iban)  # BT-84
    _cbc(account, "Name", document.seller.name)  # BT-85


def _tax_total(root: Element, document: Document) -> None:
    totals = document.totals
    total = _cac(root, "TaxTotal")
    _amount(total, "TaxAmount", totals.vat)  # BT-110
    for group in totals.breakdown:  # BG-23, one per (category, rate)
        subtotal = _cac(total, "TaxSubtotal")
        _amount(subtotal, "TaxableAmount", group.taxable)  # BT-116
        _amount(subtotal, "TaxAmount", group.tax)  # BT-117
        category = _cac(subtotal, "TaxCategory")
        _cbc(category, "ID", group.category.value)  # BT-118
        if fields.has_rate(group.category):
            _cbc(category, "Percent", fields.percent(group.rate))  # BT-119
        if group.category in EXEMPTION_REASONS:
            if fields.exemption_code(group):
                _cbc(category, "TaxExemptionReasonCode", fields.exemption_code(group))  # BT-121
            _cbc(category, "TaxExemptionReason", group.exemption_reason)  # BT-120
        _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _monetary_total(root: Element, document: Document) -> None:
    totals = document.totals
    total = _cac(root, "LegalMonetaryTotal")
    _amount(total, "LineExtensionAmount", totals.net)  # BT-106
    _amount(total, "TaxExclusiveAmount", totals.net)  # BT-109: no document allowances
    _amount(total, "TaxInclusiveAmount", totals.gross)  # BT-112
    if not totals.prepaid.is_zero():
        _amount(total, "PrepaidAmount", totals.prepaid)  # BT-113: the applied advance
    _amount(total, "PayableAmount", totals.due)  # BT-115


def _line(root: Element, position: int, line: InvoiceLine, *, invoice: bool) -> None:
    element = _cac(root, "InvoiceLine" if invoice else "CreditNoteLine")
    _cbc(element, "ID", str(position))  # BT-126
    note = fields.line_note(line)
    if note:
        _cbc(element, "Note", note)  # BT-127
    _cbc(
        element,
        "InvoicedQuantity" if invoice else "CreditedQuantity",
        fields.quantity(line.quantity),
        unitCode=line.unit,
    )  # BT-129, BT-130
    _amount(element, "LineExtensionAmount", line.net)  # BT-131
    if line.service_date is not None:
        _period(element, (line.service_date, line.service_date))  # BG-26
    item = _cac(element, "Item")
    _cbc(item, "Name", line.description)  # BT-153
    category = _cac(item, "ClassifiedTaxCategory")
    _cbc(category, "ID", line.vat_category.value)  # BT-151
    if fields.has_rate(line.vat_category):
        _cbc(category, "Percent", fields.percent(line.vat_rate))  # BT-152
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")
    for detail in fields.line_details(line):  # BG-32
        attribute = _cac(item, "AdditionalItemProperty")
        _cbc(attribute, "Name", detail.name)
        _cbc(attribute, "Value", detail.value)
    price = _cac(element, "Price")
    _cbc(price, "PriceAmount", fields.price(line.unit_price), currencyID=line.unit_price.currency)
