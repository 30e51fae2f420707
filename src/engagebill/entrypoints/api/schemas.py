"""Request and response bodies of the REST API (pydantic). Money travels as decimal strings
with a currency, dates as ISO 8601; floats are refused where money or quantities go."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from annotated_types import Ge, Le
from pydantic import Field, StrictStr

from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.invoices import Invoice, InvoiceLine, PartySnapshot, Totals

# Shared with every machine interface; re-exported for this interface's modules.
from engagebill.entrypoints.outputs import CreditBalance as CreditBalance
from engagebill.entrypoints.outputs import Credited as Credited
from engagebill.entrypoints.outputs import Drawn as Drawn
from engagebill.entrypoints.outputs import Gross as Gross
from engagebill.entrypoints.outputs import InvoicePositionOut as InvoicePositionOut
from engagebill.entrypoints.outputs import Model as Model
from engagebill.entrypoints.outputs import MoneyOut as MoneyOut
from engagebill.entrypoints.outputs import Outstanding as Outstanding
from engagebill.entrypoints.outputs import Paid as Paid
from engagebill.entrypoints.outputs import PaymentStatusText as PaymentStatusText
from engagebill.entrypoints.outputs import WarningOut as WarningOut
from engagebill.entrypoints.outputs import money as money
from engagebill.entrypoints.outputs import position_fields as position_fields
from engagebill.entrypoints.outputs import warnings_out as warnings_out
from engagebill.services.lines import LineInput
from engagebill.services.quotes import QuoteItemInput

Decimalish = Annotated[StrictStr, Field(pattern=r"^-?\d{1,15}(\.\d{1,8})?$", examples=["1250.00"])]

# A business date: wide enough for any agreement, narrow enough that date arithmetic (due
# dates, schedule periods, month ends) never leaves the calendar Python can represent.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
Day = Annotated[date, Ge(FIRST_DAY), Le(LAST_DAY)]


class QuoteItemIn(Model):
    """A milestone of a fixed-price quote, or a priced item of a mini-quote (REST and MCP)."""

    name: Annotated[str, Field(min_length=1, max_length=200, examples=["Design system sign-off"])]
    description: Annotated[str, Field(max_length=2000)] = ""
    amount: Annotated[Decimalish, Field(description="Decimal string in the engagement's currency")]

    def to_input(self) -> QuoteItemInput:
        return QuoteItemInput(self.name, self.description, self.amount)


QuoteItems = Annotated[list[QuoteItemIn], Field(min_length=1, max_length=100)]


class LineIn(Model):
    description: Annotated[str, Field(min_length=1, max_length=1000)]
    quantity: Decimalish
    unit_price: Decimalish
    unit: Annotated[str, Field(min_length=1, max_length=20)] = "C62"
    vat_category: Annotated[str, Field(pattern=r"^(S|Z|E|AE|K|G|O)$")] = "S"
    vat_rate: Decimalish = "21"
    service_date: Day | None = None
    person: Annotated[str, Field(max_length=200)] | None = None
    requester: Annotated[str, Field(max_length=200)] | None = None
    approval_ref: Annotated[str, Field(max_length=500)] | None = None

    def to_input(self) -> LineInput:
        return LineInput(
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            unit=self.unit,
            vat_category=self.vat_category,
            vat_rate=self.vat_rate,
            service_date=self.service_date,
            person=self.person,
            requester=self.requester,
            approval_ref=self.approval_ref,
        )


class LineOut(Model):
    description: str
    quantity: str
    unit: str
    unit_price: MoneyOut
    net: MoneyOut
    vat_category: str
    vat_rate: str
    source_ref: str | None
    service_date: date | None
    person: str | None
    requester: str | None
    approval_ref: str | None


def line_out(line: InvoiceLine) -> LineOut:
    return LineOut(
        description=line.description,
        quantity=str(line.quantity),
        unit=line.unit,
        unit_price=money(line.unit_price),
        net=money(line.net),
        vat_category=line.vat_category.value,
        vat_rate=str(line.vat_rate),
        source_ref=line.source_ref,
        service_date=line.service_date,
        person=line.person,
        requester=line.requester,
        approval_ref=line.approval_ref,
    )


class VatGroupOut(Model):
    category: str
    rate: str
    taxable: MoneyOut
    tax: MoneyOut
    exemption_reason: str


class TotalsOut(Model):
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut
    prepaid: MoneyOut
    due: MoneyOut
    vat_breakdown: list[VatGroupOut]


def totals_out(totals: Totals) -> TotalsOut:
    return TotalsOut(
        net=money(totals.net),
        vat=money(totals.vat),
        gross=money(totals.gross),
        prepaid=money(totals.prepaid),
        due=money(totals.due),
        vat_breakdown=[
            VatGroupOut(
                category=g.category.value,
                rate=str(g.rate),
                taxable=money(g.taxable),
                tax=money(g.tax),
                exemption_reason=g.exemption_reason,
            )
            for g in totals.breakdown
        ],
    )


class AddressOut(Model):
    line1: str
    line2: str
    city: str
    postal_code: str
    country_code: str


class PartyOut(Model):
    name: str
    address: AddressOut
    tax_id: str
    cost_centre: str


def party_out(party: PartySnapshot | None) -> PartyOut | None:
    if party is None:
        return None
    a = party.address
    return PartyOut(
        name=party.name,
        tax_id=party.tax_id,
        cost_centre=party.cost_centre,
        address=AddressOut(
            line1=a.line1,
            line2=a.line2,
            city=a.city,
            postal_code=a.postal_code,
            country_code=a.country_code,
        ),
    )


class PoOut(Model):
    id: str
    number: str


class VersionOut(Model):
    version: int
    issue_date: date
    due_date: date
    frozen: bool
    content_hash: str
    purchase_order: PoOut | None
    lines: list[LineOut]
    totals: TotalsOut
    created_at: datetime | None


class AmendmentOut(Model):
    version: int
    field: str
    value: dict[str, Any]
    by: str
    recorded_at: datetime


class PaymentOut(Model):
    id: str
    amount: MoneyOut
    received_on: date
    reference: str


class InvoiceOut(InvoicePositionOut):
    id: str
    number: str | None
    version: int
    state: str
    kind: str
    client_id: str
    engagement_id: str
    currency: str
    issue_date: date
    due_date: date
    purchase_order: PoOut | None
    quote_reference: str
    buyer: PartyOut | None
    seller: PartyOut | None
    lines: list[LineOut]
    totals: TotalsOut
    approved_by: str
    change_request: str
    billing_key: str | None
    sent_at: datetime | None
    created_at: datetime
    versions: list[VersionOut]
    amendments: list[AmendmentOut]
    payments: list[PaymentOut]


def invoice_out(invoice: Invoice) -> InvoiceOut:
    current = invoice.current
    po = invoice.effective_purchase_order()
    return InvoiceOut(
        id=invoice.id,
        number=invoice.number,
        version=invoice.version,
        state=invoice.state.value,
        kind=invoice.kind.value,
        client_id=invoice.client_id,
        engagement_id=invoice.engagement_id,
        currency=invoice.currency,
        issue_date=current.issue_date,
        due_date=current.due_date,
        purchase_order=PoOut(id=po.id, number=po.number) if po else None,
        quote_reference=current.quote_reference,
        buyer=party_out(invoice.effective_buyer()),
        seller=party_out(current.seller),
        lines=[line_out(ln) for ln in current.lines],
        totals=totals_out(invoice.totals()),
        **position_fields(invoice.position),
        approved_by=invoice.approved_by,
        change_request=invoice.change_request,
        billing_key=invoice.billing_key,
        sent_at=invoice.sent_at,
        created_at=invoice.created_at,
        versions=[
            VersionOut(
                version=v.version,
                issue_date=v.issue_date,
                due_date=v.due_date,
                frozen=v.frozen,
                content_hash=v.content_hash,
                purchase_order=(
                    PoOut(id=v.purchase_order.id, number=v.purchase_order.number)
                    if v.purchase_order
                    else None
                ),
                lines=[line_out(ln) for ln in v.lines],
                totals=totals_out(v.totals()),
                created_at=v.created_at,
            )
            for v in invoice.versions
        ],
        amendments=[
            AmendmentOut(
                version=a.version,
                field=a.field.value,
                value=a.value,
                by=a.by,
                recorded_at=a.recorded_at,
            )
            for a in invoice.amendments
        ],
        payments=[
            PaymentOut(
                id=p.id, amount=money(p.amount), received_on=p.received_on, reference=p.reference
            )
            for p in invoice.payments
        ],
    )


class CreditNoteOut(Model):
    id: str
    number: str
    invoice_id: str
    invoice_number: str
    currency: str
    issue_date: date
    reason: str
    lines: list[LineOut]
    totals: TotalsOut
    gross: MoneyOut = Field(description="What the credit note takes off the invoice, VAT included")
    prepaid: MoneyOut = Field(
        description="What of it went back to the engagement's advance (EN 16931 BT-113)"
    )
    payable: MoneyOut = Field(
        description="gross - prepaid: its amount due (BT-115), taken off what the client owes, "
        "or refundable where they had paid"
    )
    created_at: datetime


def credit_note_out(note: CreditNote) -> CreditNoteOut:
    totals = note.totals()
    return CreditNoteOut(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        invoice_number=note.invoice_number,
        currency=note.currency,
        issue_date=note.issue_date,
        reason=note.reason,
        lines=[line_out(ln) for ln in note.lines],
        totals=totals_out(totals),
        gross=money(totals.gross),
        prepaid=money(totals.prepaid),
        payable=money(totals.gross - totals.prepaid),
        created_at=note.created_at,
    )


T = TypeVar("T")


class Page(Model, Generic[T]):
    """A page of a list; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[T]
    next_cursor: str | None = None
