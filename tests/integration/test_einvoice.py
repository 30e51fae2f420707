"""EN 16931 e-invoices for every kind of document, checked by the official CEN schematron.

Each story issues a real document through the use cases (a retainer run, a milestone sign-off,
approved change-order work, an advance drawn down, a credit note, mixed VAT, other
currencies), exports it as UBL and as CII, and requires: no XML-schema error, no fatal
schematron failure (the failures are printed when there is one), the same bytes on a second
export, and the business terms an accounts-payable team matches on (BT-10, BT-11, BT-13,
BT-19, BT-25, BT-113, BT-115) where they belong.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from facturx import get_level, xml_check_xsd
from fastapi.testclient import TestClient
from lxml import etree
from typer.testing import CliRunner

from engagebill.adapters.einvoice import schematron, to_ubl
from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.errors import RuleViolation, ValidationError
from engagebill.domain.invoices import Invoice
from engagebill.entrypoints.cli.main import app as cli_app
from engagebill.entrypoints.http import create_app
from engagebill.services import (
    advances,
    billing_run,
    einvoice,
    invoicing,
    parties,
    quotes,
    recipient,
    retainers,
    settlement,
    work,
)
from engagebill.services.access import create_api_key
from engagebill.services.documents import credit_note_document
from engagebill.services.quotes import QuoteItemInput
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

SYNTAXES = ("ubl", "cii")
NS = {
    "ubl": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
CII_SETTLEMENT = (
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
)
CII_AGREEMENT = (
    "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeAgreement"
)
CII_TOTALS = f"{CII_SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


# Checking ------------------------------------------------------------------------------------


class Exported:
    """One document exported in both syntaxes, each validated and rendered twice."""

    def __init__(self, kind: str, xml: dict[str, bytes]) -> None:
        self.kind = kind
        self.xml = xml
        self.trees = {s: etree.fromstring(x) for s, x in xml.items()}
        self.warnings: dict[str, list[str]] = {}
        for syntax, data in xml.items():
            failures = schematron.validate(data, syntax)  # type: ignore[arg-type]
            fatal = [f for f in failures if f.fatal]
            assert not fatal, (
                f"{kind} as {syntax}: {len(fatal)} fatal of {len(failures)} failures:\n"
                + "\n".join(str(f) for f in failures)
            )
            self.warnings[syntax] = [f.id for f in failures]
            print(f"{kind:<28} {syntax}: 0 fatal, warnings {self.warnings[syntax] or 'none'}")

    def ubl(self, path: str) -> list[str]:
        return _texts(self.trees["ubl"], path)

    def cii(self, path: str) -> list[str]:
        return _texts(self.trees["cii"], path)


def _texts(tree: Any, path: str) -> list[str]:
    return [n if isinstance(n, str) else (n.text or "") for n in tree.xpath(path, namespaces=NS)]


def export_invoice(world: World, invoice: Invoice, kind: str, **kw: Any) -> Exported:
    xml = {}
    for syntax in SYNTAXES:
        first = einvoice.export_invoice(
            world.ctx, organization_id=world.org_id, invoice_id=invoice.id, syntax=syntax, **kw
        )
        again = einvoice.export_invoice(
            world.ctx, organization_id=world.org_id, invoice_id=invoice.id, syntax=syntax, **kw
        )
        assert first == again, f"{kind} as {syntax} is not deterministic"
        xml[syntax] = first
    return Exported(kind, xml)


def export_credit_note(world: World, note: CreditNote, kind: str) -> Exported:
    xml = {}
    for syntax in SYNTAXES:
        first = einvoice.export_credit_note(
            world.ctx, organization_id=world.org_id, credit_note_id=note.id, syntax=syntax
        )
        again = einvoice.export_credit_note(
            world.ctx, organization_id=world.org_id, credit_note_id=note.id, syntax=syntax
        )
        assert first == again, f"{kind} as {syntax} is not deterministic"
        xml[syntax] = first
    return Exported(kind, xml)


# Building ------------------------------------------------------------------------------------


def send(world: World, invoice: Invoice) -> Invoice:
    return invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=invoice.id)


def draft(world: World, engagement_id: str, *lines: Any, **kw: Any) -> Invoice:
    return invoicing.create_draft(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        lines=list(lines),
        **kw,
    ).invoice


def run(world: World, day: date) -> list[Invoice]:
    world.clock.set(day)
    return billing_run.execute_run(world.ctx, organization_id=world.org_id, as_of=day).created


def approved_work(
    world: World, engagement_id: str, day: date, person: str, hours: str, description: str
) -> None:
    item = work.record_work_item(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=engagement_id,
        work_date=day,
        person=person,
        hours=hours,
        rate="150.00",
        description=description,
        requester="Dana Scully (Acme)",
    )
    work.approve_work_item(
        world.ctx,
        organization_id=world.org_id,
        work_item_id=item.id,
        approval_ref=f"https://mail.example/acme/{day.isoformat()}",
    )


def a_client_abroad(world: World, country: str, name: str, tax_id: str = "") -> str:
    return parties.create_client(
        world.ctx,
        organization_id=world.org_id,
        name=name,
        billing_entity=parties.EntityInput(
            legal_name=f"{name} Inc.",
            line1="1 Market Street",
            city="San Francisco" if country == "US" else "London",
            postal_code="94105" if country == "US" else "EC1A 1BB",
            country_code=country,
            tax_id=tax_id,
        ),
        contacts=[parties.ContactInput("AP", "ap@example.com")],
    ).id


# Every kind of document --------------------------------------------------------------------


def test_retainer_invoice(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id, name="Brand retainer")
    a_po(world.app, world.org_id, eng, "PO-RET-2025")
    retainers.create_schedule(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=eng,
        amount="5000.00",
        start_date=date(2025, 3, 1),
    )
    [invoice] = run(world, date(2025, 3, 3))
    invoice = send(world, invoice)

    doc = export_invoice(world, invoice, "retainer invoice")

    assert doc.ubl("/ubl:Invoice/cbc:CustomizationID") == [
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    ]
    assert doc.ubl("/ubl:Invoice/cbc:ProfileID") == ["urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"]
    assert doc.ubl("/ubl:Invoice/cbc:InvoiceTypeCode") == ["380"]
    assert doc.ubl("/ubl:Invoice/cbc:ID") == [invoice.number]
    assert doc.ubl("/ubl:Invoice/cac:OrderReference/cbc:ID") == ["PO-RET-2025"]  # BT-13
    assert doc.ubl("/ubl:Invoice/cbc:AccountingCost") == ["MKT-100"]  # BT-19
    assert doc.ubl("/ubl:Invoice/cbc:BuyerReference") == ["MKT-100"]  # BT-10
    assert doc.ubl("//cac:PayeeFinancialAccount/cbc:ID") == ["NL91ABNA0417164300"]  # BT-84
    assert doc.ubl("//cac:PaymentMeans/cbc:PaymentMeansCode") == ["58"]
    assert doc.ubl("//cac:PaymentTerms/cbc:Note") == ["Net 30 days, due 2025-04-02"]  # BT-20
    assert doc.ubl("//cac:AccountingSupplierParty//cbc:CompanyID") == ["NL004495445B01"]
    assert doc.ubl("//cac:AccountingCustomerParty//cbc:CompanyID") == ["DE136695976"]
    assert doc.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["6050.00"]
    assert doc.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID") == ["EUR"]
    assert doc.ubl("//cac:LegalMonetaryTotal/cbc:PrepaidAmount") == []

    assert doc.cii("//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID") == [
        "urn:cen.eu:en16931:2017"
    ]
    assert doc.cii(f"{CII_AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == [
        "PO-RET-2025"
    ]
    assert doc.cii(f"{CII_SETTLEMENT}/ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID") == [
        "MKT-100"
    ]
    assert doc.cii(f"{CII_TOTALS}/ram:DuePayableAmount") == ["6050.00"]
    assert doc.cii(f"{CII_SETTLEMENT}/ram:SpecifiedTradePaymentTerms//udt:DateTimeString") == [
        "20250402"
    ]
    # The Factur-X library that embeds the CII sees an EN 16931 document its schema accepts.
    assert get_level(doc.trees["cii"], "factur-x") == "en16931"
    assert xml_check_xsd(doc.xml["cii"], flavor="factur-x", level="en16931")


def test_milestone_invoice_carries_the_quote_and_the_po(world: World) -> None:
    eng = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Website rebuild",
        kind="fixed_price",
        currency="EUR",
    ).id
    a_po(world.app, world.org_id, eng, "PO-WEB-7")
    quote = quotes.create_quote(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=eng,
        title="Website rebuild",
        items=[
            QuoteItemInput("discovery and wireframes", "Workshops, sitemap", "20000.00"),
            QuoteItemInput("design system sign-off", "Tokens, components", "25000.00"),
        ],
    )
    quotes.send_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id)
    quotes.accept_quote(world.ctx, organization_id=world.org_id, quote_id=quote.id, name="Dana")
    first = quotes.list_milestones(world.ctx, organization_id=world.org_id, engagement_id=eng)[0]
    signed = quotes.sign_off_milestone(
        world.ctx, organization_id=world.org_id, milestone_id=first.id, by="Dana Scully"
    )
    invoice = send(world, signed.invoice)

    doc = export_invoice(world, invoice, "milestone invoice")

    assert doc.ubl("/ubl:Invoice/cac:ProjectReference/cbc:ID") == ["Q-2025-0001"]  # BT-11
    assert doc.ubl("/ubl:Invoice/cac:OrderReference/cbc:ID") == ["PO-WEB-7"]  # BT-13
    assert doc.ubl("//cac:InvoiceLine/cac:Item/cbc:Name") == [
        "Website rebuild, Milestone 1: discovery and wireframes"
    ]
    assert doc.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["24200.00"]
    assert doc.cii(f"{CII_AGREEMENT}/ram:SpecifiedProcuringProject/ram:ID") == ["Q-2025-0001"]
    assert doc.cii(f"{CII_AGREEMENT}/ram:SpecifiedProcuringProject/ram:Name") == ["Website rebuild"]
    assert doc.cii(f"{CII_AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID") == [
        "PO-WEB-7"
    ]


def test_change_order_invoice_shows_who_did_what_when_and_who_approved(world: World) -> None:
    eng = an_engagement(
        world.app, world.org_id, world.client_id, kind="time_and_material", name="Extra work"
    )
    approved_work(world, eng, date(2025, 3, 10), "Ana Lima", "7.5", "Landing page A")
    approved_work(world, eng, date(2025, 3, 14), "Ben Okafor", "2", "Landing page B fixes")
    [invoice] = run(world, date(2025, 3, 31))
    invoice = send(world, invoice)

    doc = export_invoice(world, invoice, "change-order invoice")

    lines = "/ubl:Invoice/cac:InvoiceLine"
    assert doc.ubl(f"{lines}/cbc:InvoicedQuantity") == ["7.5", "2"]
    assert doc.ubl(f"{lines}/cbc:InvoicedQuantity/@unitCode") == ["HUR", "HUR"]
    assert doc.ubl(f"{lines}/cbc:LineExtensionAmount") == ["1125.00", "300.00"]
    assert doc.ubl(f"{lines}[1]/cac:InvoicePeriod/cbc:StartDate") == ["2025-03-10"]  # BG-26
    assert doc.ubl(f"{lines}[1]/cac:Item/cac:AdditionalItemProperty/cbc:Name") == [
        "Performed by",
        "Requested by",
        "Approval reference",
    ]
    assert doc.ubl(f"{lines}[1]/cac:Item/cac:AdditionalItemProperty/cbc:Value") == [
        "Ana Lima",
        "Dana Scully (Acme)",
        "https://mail.example/acme/2025-03-10",
    ]
    assert doc.ubl(f"{lines}[2]/cbc:Note") == [
        "Service date 2025-03-14; Performed by Ben Okafor; Requested by Dana Scully (Acme); "
        "Approval reference https://mail.example/acme/2025-03-14"
    ]
    # Every line has a service date, so the invoice's period is first to last (BG-14).
    assert doc.ubl("/ubl:Invoice/cac:InvoicePeriod/cbc:StartDate") == ["2025-03-10"]
    assert doc.ubl("/ubl:Invoice/cac:InvoicePeriod/cbc:EndDate") == ["2025-03-14"]

    cii_lines = "//ram:IncludedSupplyChainTradeLineItem"
    assert doc.cii(f"{cii_lines}/ram:SpecifiedLineTradeDelivery/ram:BilledQuantity") == [
        "7.5",
        "2",
    ]
    assert doc.cii(f"{cii_lines}[2]//ram:ApplicableProductCharacteristic/ram:Value") == [
        "Ben Okafor",
        "Dana Scully (Acme)",
        "https://mail.example/acme/2025-03-14",
    ]
    assert doc.cii(
        f"{cii_lines}[1]/ram:SpecifiedLineTradeSettlement/ram:BillingSpecifiedPeriod"
        "/ram:StartDateTime/udt:DateTimeString"
    ) == ["20250310"]


def test_advance_drawn_down_shows_the_prepaid_amount(world: World) -> None:
    eng = parties.create_engagement(
        world.ctx,
        organization_id=world.org_id,
        client_id=world.client_id,
        name="Support retainer",
        kind="retainer",
        retainer_mode="advance",
        currency="EUR",
        net_days=14,
    ).id
    world.clock.set(date(2025, 9, 12))
    advance = retainers.create_advance(
        world.ctx,
        organization_id=world.org_id,
        engagement_id=eng,
        amount="3000.00",
        invoice_date=date(2025, 9, 12),
    )
    advance_invoice = send(
        world,
        advances.invoice_advance(world.ctx, organization_id=world.org_id, advance_id=advance.id),
    )
    approved_work(world, eng, date(2025, 9, 15), "Robin", "12", "Support: checkout incident")
    approved_work(world, eng, date(2025, 9, 19), "Robin", "18", "Support: release 4.2")
    [september] = run(world, date(2025, 9, 30))
    september = send(world, september)
    totals = september.totals()
    assert (totals.gross.amount, totals.prepaid.amount) == (5445, 3630)

    doc = export_invoice(world, september, "advance draw-down invoice")

    money = "//cac:LegalMonetaryTotal"
    assert doc.ubl(f"{money}/cbc:TaxInclusiveAmount") == ["5445.00"]
    assert doc.ubl(f"{money}/cbc:PrepaidAmount") == ["3630.00"]  # BT-113
    assert doc.ubl(f"{money}/cbc:PayableAmount") == ["1815.00"]  # BT-115
    assert doc.cii(f"{CII_TOTALS}/ram:TotalPrepaidAmount") == ["3630.00"]
    assert doc.cii(f"{CII_TOTALS}/ram:DuePayableAmount") == ["1815.00"]

    # The advance invoice itself is a prepayment invoice (UNTDID 1001: 386) of the advance's
    # amount; the invoice that draws it down is an ordinary one.
    topped_up = export_invoice(world, advance_invoice, "advance invoice")
    assert topped_up.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["3630.00"]
    assert topped_up.ubl("/ubl:Invoice/cbc:InvoiceTypeCode") == ["386"]
    assert topped_up.cii("//rsm:ExchangedDocument/ram:TypeCode") == ["386"]
    assert doc.ubl("/ubl:Invoice/cbc:InvoiceTypeCode") == ["380"]
    assert doc.cii("//rsm:ExchangedDocument/ram:TypeCode") == ["380"]


def test_credit_note_references_the_invoice_it_corrects(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    a_po(world.app, world.org_id, eng, "PO-77")
    world.clock.set(date(2025, 3, 3))
    invoice = send(
        world,
        draft(world, eng, line(price="1000.00"), line("Hosting", price="99.99", rate="9")),
    )
    world.clock.set(date(2025, 3, 20))
    note = settlement.issue_credit_note(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=invoice.id,
        reason="Discount agreed on the call of 19 March",
        lines=[line("Discount", price="100.00")],
    )

    doc = export_credit_note(world, note, "credit note")

    assert doc.ubl("/cn:CreditNote/cbc:CreditNoteTypeCode") == ["381"]
    assert doc.ubl("/cn:CreditNote/cbc:ID") == [note.number]
    reference = "/cn:CreditNote/cac:BillingReference/cac:InvoiceDocumentReference"
    assert doc.ubl(f"{reference}/cbc:ID") == [invoice.number]  # BT-25
    assert doc.ubl(f"{reference}/cbc:IssueDate") == ["2025-03-03"]  # BT-26
    assert doc.ubl("/cn:CreditNote/cbc:Note") == ["Discount agreed on the call of 19 March"]
    assert doc.ubl("/cn:CreditNote/cac:OrderReference/cbc:ID") == ["PO-77"]
    assert doc.ubl("//cac:CreditNoteLine/cbc:CreditedQuantity") == ["1"]
    assert doc.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["121.00"]
    # Money flows to the buyer: no payment instructions to the seller's account.
    assert doc.ubl("//cac:PaymentMeans") == []
    assert doc.cii("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode") == ["381"]
    assert doc.cii(f"{CII_SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == [
        invoice.number
    ]
    assert doc.cii(
        f"{CII_SETTLEMENT}/ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime"
        "/qdt:DateTimeString"
    ) == ["20250303"]

    # A credit note has no ProjectReference in UBL; a project reference goes where the
    # binding puts it (the snapshot of a credit note holds none today).
    document = replace(
        credit_note_document(world.ctx, organization_id=world.org_id, credit_note_id=note.id),
        quote_reference="Q-2025-0007",
    )
    with_project = to_ubl(document)
    assert schematron.fatal(schematron.validate(with_project, "ubl")) == []
    assert _texts(
        etree.fromstring(with_project),
        "/cn:CreditNote/cac:AdditionalDocumentReference[cbc:DocumentTypeCode='50']/cbc:ID",
    ) == ["Q-2025-0007"]

    # Crediting the rest in full (both rates) gives a valid credit note too.
    rest = settlement.issue_credit_note(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id, reason="Cancelled"
    )
    full = export_credit_note(world, rest, "credit note (in full)")
    assert full.ubl("//cac:TaxSubtotal/cac:TaxCategory/cbc:Percent") == ["9.00", "21.00"]


def test_several_vat_rates_exempt_and_reverse_charge(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    invoice = send(
        world,
        draft(
            world,
            eng,
            line("Design", quantity="12", price="125.00", rate="21", unit="HUR"),
            line("Printed brochures", quantity="3", price="33.33", rate="9"),
            line("Training (exempt)", price="400.00", rate="0", category="E"),
            line("Media buying, reverse charge", price="2500.00", rate="0", category="AE"),
        ),
    )

    doc = export_invoice(world, invoice, "mixed VAT invoice")

    subtotal = "//cac:TaxTotal/cac:TaxSubtotal"
    assert doc.ubl(f"{subtotal}/cac:TaxCategory/cbc:ID") == ["AE", "E", "S", "S"]
    assert doc.ubl(f"{subtotal}/cac:TaxCategory/cbc:Percent") == ["0.00", "0.00", "9.00", "21.00"]
    assert doc.ubl(f"{subtotal}/cbc:TaxableAmount") == ["2500.00", "400.00", "99.99", "1500.00"]
    assert doc.ubl(f"{subtotal}/cbc:TaxAmount") == ["0.00", "0.00", "9.00", "315.00"]
    assert doc.ubl(f"{subtotal}/cac:TaxCategory/cbc:TaxExemptionReason") == [
        "Reverse charge",
        "Exempt from VAT",
    ]
    assert doc.ubl(f"{subtotal}/cac:TaxCategory/cbc:TaxExemptionReasonCode") == ["VATEX-EU-AE"]
    assert doc.ubl("//cac:TaxTotal/cbc:TaxAmount") == ["324.00"]
    assert doc.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount") == ["4823.99"]
    assert doc.cii(f"{CII_SETTLEMENT}/ram:ApplicableTradeTax/ram:CategoryCode") == [
        "AE",
        "E",
        "S",
        "S",
    ]
    assert doc.cii(f"{CII_TOTALS}/ram:TaxTotalAmount/@currencyID") == ["EUR"]


def test_intra_community_supply_names_where_and_when(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    invoice = send(world, draft(world, eng, line("Campaign assets", rate="0", category="K")))

    doc = export_invoice(world, invoice, "intra-community invoice")

    assert doc.ubl("//cac:Delivery/cac:DeliveryLocation//cbc:IdentificationCode") == ["DE"]
    assert doc.ubl("//cac:Delivery/cbc:ActualDeliveryDate") == ["2025-03-03"]
    assert doc.ubl("//cac:TaxCategory/cbc:TaxExemptionReasonCode") == ["VATEX-EU-IC"]


@pytest.mark.parametrize(
    ("currency", "price", "payable"),
    [
        ("GBP", "1234.56", "1493.82"),
        ("USD", "980.00", "980.00"),  # a US client: not subject to EU VAT (O)
        ("JPY", "12345", "14937.00"),  # 2592.45 VAT rounds to 2592 yen
    ],
)
def test_other_currencies(world: World, currency: str, price: str, payable: str) -> None:
    client = world.client_id
    category, rate = "S", "21"
    if currency == "USD":
        client = a_client_abroad(world, "US", "Globex")
        category, rate = "O", "0"
    eng = an_engagement(world.app, world.org_id, client, currency=currency)
    invoice = send(world, draft(world, eng, line(price=price, rate=rate, category=category)))

    doc = export_invoice(world, invoice, f"{currency} invoice")

    assert doc.ubl("/ubl:Invoice/cbc:DocumentCurrencyCode") == [currency]
    assert doc.ubl("//cac:LegalMonetaryTotal/cbc:PayableAmount") == [payable]
    assert set(doc.ubl("//@currencyID")) == {currency}
    # SEPA credit transfer is for euro; other currencies are a plain credit transfer.
    assert doc.ubl("//cac:PaymentMeans/cbc:PaymentMeansCode") == ["30"]
    assert doc.cii(f"{CII_SETTLEMENT}/ram:InvoiceCurrencyCode") == [currency]
    assert doc.cii(f"{CII_TOTALS}/ram:DuePayableAmount") == [payable]
    if category == "O":  # BR-O-02: no VAT identifiers, and no rate (BR-O-05)
        assert doc.ubl("//cac:PartyTaxScheme") == []
        assert doc.ubl("//cbc:Percent") == []
        assert doc.cii("//ram:SpecifiedTaxRegistration") == []


# Versions, refusals, and the interfaces -----------------------------------------------------


def test_each_version_exports_as_it_was_sent(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    invoice = send(world, draft(world, eng, line(price="1000.00")))
    recipient.request_change(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id, message="Split", by="Dana"
    )
    invoicing.revise_invoice(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=invoice.id,
        lines=[line("Part one", price="600.00"), line("Part two", price="400.00")],
    )
    recipient.amend_invoice(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=invoice.id,
        by="Dana",
        purchase_order_number="4500012345",
        cost_centre="FIN-7",
    )

    v1 = export_invoice(world, invoice, "invoice version 1", version=1)
    v2 = export_invoice(world, invoice, "invoice version 2 (amended)")

    assert v1.ubl("/ubl:Invoice/cbc:ID") == v2.ubl("/ubl:Invoice/cbc:ID") == [invoice.number]
    assert len(v1.ubl("//cac:InvoiceLine")) == 1 and len(v2.ubl("//cac:InvoiceLine")) == 2
    assert v1.ubl("/ubl:Invoice/cac:OrderReference/cbc:ID") == []
    assert v2.ubl("/ubl:Invoice/cac:OrderReference/cbc:ID") == ["4500012345"]
    assert v2.ubl("/ubl:Invoice/cbc:AccountingCost") == ["FIN-7"]
    exported = einvoice.invoice_file(
        world.ctx, organization_id=world.org_id, invoice_id=invoice.id, syntax="CII"
    )
    assert exported.filename == f"{invoice.number}-v2.cii.xml"


def test_drafts_and_unknown_formats_are_refused(world: World) -> None:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    invoice = draft(world, eng, line())
    with pytest.raises(RuleViolation) as not_issued:
        einvoice.export_invoice(
            world.ctx, organization_id=world.org_id, invoice_id=invoice.id, syntax="ubl"
        )
    assert not_issued.value.code == "document.not_issued"
    with pytest.raises(ValidationError) as unknown:
        einvoice.export_invoice(
            world.ctx, organization_id=world.org_id, invoice_id=invoice.id, syntax="pdf"
        )
    assert unknown.value.code == "einvoice.unknown_format"


def test_validation_reports_broken_documents() -> None:
    """The checker itself: a wrong total is a fatal BR-CO-15, a misplaced element an XSD error."""
    xml = _minimal_ubl(payable="121.00", inclusive="121.00")
    assert schematron.fatal(schematron.validate(xml, "ubl")) == []
    broken = schematron.validate(_minimal_ubl(payable="121.00", inclusive="120.00"), "ubl")
    assert {f.id for f in schematron.fatal(broken)} >= {"BR-CO-15"}
    assert any(f.location.startswith("/Invoice[1]") for f in broken)
    swapped = _minimal_ubl(payable="121.00", inclusive="121.00").replace(
        b"<cbc:ProfileID>", b"<cbc:Note>x</cbc:Note><cbc:ProfileID>"
    )
    assert [f.id for f in schematron.check_schema(swapped, "ubl")] == ["XSD"]


def _minimal_ubl(*, payable: str, inclusive: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
<cbc:ID>1</cbc:ID><cbc:IssueDate>2025-03-03</cbc:IssueDate><cbc:DueDate>2025-04-02</cbc:DueDate>
<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode><cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
<cbc:BuyerReference>X</cbc:BuyerReference>
<cac:AccountingSupplierParty><cac:Party><cac:PostalAddress><cac:Country><cbc:IdentificationCode>NL</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
<cac:PartyTaxScheme><cbc:CompanyID>NL004495445B01</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
<cac:PartyLegalEntity><cbc:RegistrationName>S</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
<cac:AccountingCustomerParty><cac:Party><cac:PostalAddress><cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
<cac:PartyLegalEntity><cbc:RegistrationName>B</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty>
<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount><cac:TaxSubtotal>
<cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="EUR">21.00</cbc:TaxAmount>
<cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>
<cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
<cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount><cbc:TaxInclusiveAmount currencyID="EUR">{inclusive}</cbc:TaxInclusiveAmount>
<cbc:PayableAmount currencyID="EUR">{payable}</cbc:PayableAmount></cac:LegalMonetaryTotal>
<cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity unitCode="C62">1</cbc:InvoicedQuantity>
<cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount><cac:Item><cbc:Name>A</cbc:Name>
<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
<cac:Price><cbc:PriceAmount currencyID="EUR">100.00</cbc:PriceAmount></cac:Price></cac:InvoiceLine>
</Invoice>""".encode()  # noqa: E501


@pytest.fixture
def sqlite_world(tmp_path: Path) -> Any:
    """One organization on a SQLite file, for the HTTP and CLI interfaces."""
    clock = FixedClock()
    url = f"sqlite:///{tmp_path / 'engagebill.db'}"
    application = migrated_app(url, clock)
    org = an_organization(application)
    world = World(app=application, clock=clock, org_id=org, client_id=a_client(application, org))
    yield world, url
    application.dispose()


def _issued(world: World) -> tuple[Invoice, Invoice, CreditNote]:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    sent = send(world, draft(world, eng, line()))
    unsent = draft(world, eng, line("Next month"))
    note = settlement.issue_credit_note(
        world.ctx,
        organization_id=world.org_id,
        invoice_id=sent.id,
        reason="Goodwill",
        lines=[line("Goodwill", price="10.00")],
    )
    return sent, unsent, note


def test_api_serves_xml_attachments_and_problems(sqlite_world: Any) -> None:
    world, _ = sqlite_world
    sent, unsent, note = _issued(world)
    key = create_api_key(world.ctx, organization_id=world.org_id, name="ap").secret
    client = TestClient(create_app(world.ctx), headers={"Authorization": f"Bearer {key}"})

    ubl = client.get(f"/api/v1/invoices/{sent.id}/einvoice", params={"format": "ubl"})
    assert ubl.status_code == 200, ubl.text
    assert ubl.headers["content-type"].startswith("application/xml")
    assert ubl.headers["content-disposition"] == f'attachment; filename="{sent.number}.ubl.xml"'
    assert ubl.content == einvoice.export_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=sent.id, syntax="ubl"
    )
    v1 = client.get(f"/api/v1/invoices/{sent.id}/einvoice?format=cii&version=1")
    assert v1.status_code == 200 and v1.content.startswith(b'<?xml version="1.0"')
    cn = client.get(f"/api/v1/credit-notes/{note.id}/einvoice", params={"format": "cii"})
    assert cn.status_code == 200
    assert cn.headers["content-disposition"] == f'attachment; filename="{note.number}.cii.xml"'

    unknown = client.get(f"/api/v1/invoices/{sent.id}/einvoice", params={"format": "pdf"})
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "einvoice.unknown_format"
    not_issued = client.get(f"/api/v1/invoices/{unsent.id}/einvoice", params={"format": "ubl"})
    assert (not_issued.status_code, not_issued.json()["code"]) == (422, "document.not_issued")
    missing = client.get("/api/v1/credit-notes/cn_nope/einvoice", params={"format": "ubl"})
    assert missing.status_code == 404


def test_cli_exports_to_a_file_or_stdout(sqlite_world: Any, tmp_path: Path) -> None:
    world, url = sqlite_world
    sent, unsent, note = _issued(world)
    runner = CliRunner()
    target = tmp_path / "out.xml"

    to_file = runner.invoke(
        cli_app, ["--db", url, "invoice", "export", sent.id, "--format", "ubl", "-o", str(target)]
    )
    assert to_file.exit_code == 0, to_file.output
    assert target.read_bytes() == einvoice.export_invoice(
        world.ctx, organization_id=world.org_id, invoice_id=sent.id, syntax="ubl"
    )
    to_stdout = runner.invoke(
        cli_app, ["--db", url, "credit-note", "export", note.id, "--format", "cii"]
    )
    assert to_stdout.exit_code == 0, to_stdout.output
    assert to_stdout.stdout_bytes == einvoice.export_credit_note(
        world.ctx, organization_id=world.org_id, credit_note_id=note.id, syntax="cii"
    )
    unknown = runner.invoke(cli_app, ["--db", url, "invoice", "export", sent.id, "-f", "pdf"])
    assert unknown.exit_code == 4 and "einvoice.unknown_format" in unknown.stderr
    draft_refused = runner.invoke(
        cli_app, ["--db", url, "invoice", "export", unsent.id, "--format", "ubl"]
    )
    assert draft_refused.exit_code == 7 and "document.not_issued" in draft_refused.stderr
