"""Invoices: lines, totals, versions, amendments, payments and the aggregate's behaviour.

An invoice belongs to exactly one engagement, carries at most one PO, and has versions. The
draft is version 1 and may be edited freely; sending freezes it, with a snapshot of the seller,
the buyer and the PO, and gives it its number. A change request answered by the agency makes
version n+1 with the same number; frozen versions never change. Amendments (PO number, billing
entity, cost centre) are recorded against the current version without touching its number,
version or amounts.

The aggregate's methods check the lifecycle, change state and queue ``DomainEvent``s in
``pending_events``; the services layer stores both in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from engagebill.domain.engagement_account import CreditTerms, InvoicePosition, invoice_position
from engagebill.domain.errors import RuleViolation, ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.lifecycle import (
    InvoiceAction,
    InvoiceState,
    PaymentStatus,
    next_state,
)
from engagebill.domain.money import Money, currency_exponent, round_half_up
from engagebill.domain.parties import Address
from engagebill.domain.taxes import EXEMPTION_REASONS, VatCategory, VatGroup, vat_groups

MAX_LINES = 1000
QUANTITY_PLACES = 4
_ZERO = Decimal(0)
_MAX_QUANTITY = Decimal("1e9")


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line: quantity x unit price, taxed by (category, rate).

    ``source_ref`` names what the line bills (``milestone:<id>``, ``work_item:<id>``,
    ``retainer:<engagement>:<period>``) so that nothing is billed twice. Change-order lines
    also carry the service date, the requester and the written approval's reference.
    """

    description: str
    quantity: Decimal
    unit: str
    unit_price: Money
    vat_category: VatCategory
    vat_rate: Decimal
    source_ref: str | None = None
    service_date: date | None = None
    person: str | None = None
    requester: str | None = None
    approval_ref: str | None = None

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValidationError("a line needs a description", code="line.missing_description")
        if len(self.description) > 1000:
            raise ValidationError(
                "a line description is limited to 1000 characters", code="line.description_too_long"
            )
        if self.quantity != round_half_up(self.quantity, QUANTITY_PLACES):
            raise ValidationError(
                f"quantity {self.quantity} has more than {QUANTITY_PLACES} decimals",
                code="line.invalid_quantity",
            )
        if abs(self.quantity) >= _MAX_QUANTITY:
            raise ValidationError("quantity is too large", code="line.invalid_quantity")
        if not self.unit_price.is_whole_minor():
            raise ValidationError(
                f"unit price {self.unit_price.amount} has more decimals than "
                f"{self.unit_price.currency} allows",
                code="line.invalid_unit_price",
            )
        if (
            self.vat_category in EXEMPTION_REASONS or self.vat_category is VatCategory.ZERO
        ) and self.vat_rate != 0:
            raise ValidationError(
                f"VAT category {self.vat_category.value} must have rate 0", code="vat.invalid_rate"
            )

    @property
    def net(self) -> Money:
        """Line net amount (BT-131): quantity x price, half-up to the currency exponent."""
        price = self.unit_price
        return Money._trusted(
            round_half_up(self.quantity * price.amount, price.exponent), price.currency
        )


@dataclass(frozen=True, slots=True)
class Totals:
    """Document totals as EN 16931 names them (BG-22)."""

    net: Money  # BT-106/109: sum of line nets
    vat: Money  # BT-110
    gross: Money  # BT-112
    prepaid: Money  # BT-113: advance applied
    due: Money  # BT-115
    breakdown: tuple[VatGroup, ...]


def compute_totals(lines: list[InvoiceLine], currency: str, prepaid: Money | None = None) -> Totals:
    """Net, VAT, gross, prepaid and due of ``lines`` (all in ``currency``).

    One pass over plain Decimals: a month-end run totals tens of thousands of invoices, and
    building a Money for every intermediate sum cost more than the arithmetic itself.
    """
    quantum = Decimal(1).scaleb(-currency_exponent(currency))
    taxable: dict[tuple[VatCategory, Decimal], Decimal] = {}
    net_amount = Decimal(0)
    for line in lines:
        price = line.unit_price
        if price.currency != currency:
            raise ValidationError(
                f"cannot mix {currency} and {price.currency}",
                code="money.currency_mismatch",
                details={"currencies": [currency, price.currency]},
            )
        # The line net (BT-131), exactly as ``InvoiceLine.net`` rounds it.
        amount = (line.quantity * price.amount).quantize(quantum, rounding=ROUND_HALF_UP)
        net_amount += amount
        key = (line.vat_category, line.vat_rate)
        taxable[key] = taxable.get(key, _ZERO) + amount
    groups = vat_groups(taxable, currency)
    net = Money._trusted(net_amount, currency)
    vat = Money.sum((g.tax for g in groups), currency)
    gross = net + vat
    paid_ahead = prepaid if prepaid is not None else Money.zero(currency)
    return Totals(net, vat, gross, paid_ahead, gross - paid_ahead, tuple(groups))


@dataclass(frozen=True, slots=True)
class PartySnapshot:
    """A party's details as printed on a sent version (seller or buyer)."""

    name: str
    address: Address
    tax_id: str = ""
    cost_centre: str = ""
    entity_id: str | None = None
    email: str = ""
    iban: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": {
                "line1": self.address.line1,
                "line2": self.address.line2,
                "city": self.address.city,
                "postal_code": self.address.postal_code,
                "country_code": self.address.country_code,
            },
            "tax_id": self.tax_id,
            "cost_centre": self.cost_centre,
            "entity_id": self.entity_id,
            "email": self.email,
            "iban": self.iban,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartySnapshot:
        return cls(
            name=data["name"],
            address=Address(**data["address"]),
            tax_id=data.get("tax_id", ""),
            cost_centre=data.get("cost_centre", ""),
            entity_id=data.get("entity_id"),
            email=data.get("email", ""),
            iban=data.get("iban", ""),
        )


@dataclass(frozen=True, slots=True)
class PoRef:
    """The PO an invoice carries: its id and the number printed (BT-13)."""

    id: str
    number: str


@dataclass(slots=True)
class InvoiceVersion:
    """The financial content of one version. Frozen versions are never changed."""

    version: int
    lines: list[InvoiceLine]
    issue_date: date
    due_date: date
    currency: str
    purchase_order: PoRef | None = None
    buyer: PartySnapshot | None = None
    seller: PartySnapshot | None = None
    notes: str = ""
    quote_reference: str = ""
    prepaid: Money | None = None
    advance_used: Money | None = None  # net drawn from the advance balance (see advances.py)
    created_at: datetime | None = None
    frozen: bool = False
    content_hash: str = ""

    def totals(self) -> Totals:
        return compute_totals(self.lines, self.currency, self.prepaid)

    def snapshot(self) -> dict[str, Any]:
        """Everything a sent version stands for, as plain JSON-able data (for the hash)."""
        return {
            "version": self.version,
            "currency": self.currency,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "purchase_order": (
                {"id": self.purchase_order.id, "number": self.purchase_order.number}
                if self.purchase_order
                else None
            ),
            "buyer": self.buyer.to_dict() if self.buyer else None,
            "seller": self.seller.to_dict() if self.seller else None,
            "notes": self.notes,
            "quote_reference": self.quote_reference,
            "prepaid": str(self.prepaid.amount) if self.prepaid else "0",
            "advance_used": str(self.advance_used.amount) if self.advance_used else "0",
            "lines": [line_to_dict(line) for line in self.lines],
        }

    def compute_hash(self) -> str:
        canonical = json.dumps(self.snapshot(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def line_to_dict(line: InvoiceLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": str(line.quantity),
        "unit": line.unit,
        "unit_price": str(line.unit_price.amount),
        "vat_category": line.vat_category.value,
        "vat_rate": str(line.vat_rate),
        "source_ref": line.source_ref,
        "service_date": line.service_date.isoformat() if line.service_date else None,
        "person": line.person,
        "requester": line.requester,
        "approval_ref": line.approval_ref,
    }


class InvoiceKind(StrEnum):
    """``standard`` bills work or a fee; ``advance`` tops up the engagement's prepaid balance."""

    STANDARD = "standard"
    ADVANCE = "advance"


class AmendmentField(StrEnum):
    PURCHASE_ORDER = "purchase_order"
    BILLING_ENTITY = "billing_entity"
    COST_CENTRE = "cost_centre"


@dataclass(frozen=True, slots=True)
class Amendment:
    """A recipient's non-financial change to the current version."""

    version: int
    field: AmendmentField
    value: dict[str, Any]
    by: str
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    amount: Money
    received_on: date
    reference: str
    recorded_at: datetime


@dataclass(slots=True)
class Invoice:
    """The invoice aggregate: state, number, versions, amendments, payments and credits."""

    id: str
    organization_id: str
    client_id: str
    engagement_id: str
    currency: str
    state: InvoiceState
    versions: list[InvoiceVersion]
    created_at: datetime
    number: str | None = None
    sent_at: datetime | None = None
    billing_key: str | None = None
    kind: InvoiceKind = InvoiceKind.STANDARD
    amendments: list[Amendment] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    # Caches of what its credit notes add up to (``verify`` recomputes them): gross, net, and
    # the gross they gave back to the advance.
    credited: Money | None = None
    credited_net: Money | None = None
    credited_prepaid: Money | None = None
    approved_by: str = ""
    change_request: str = ""
    row_version: int = 0
    pending_events: list[DomainEvent] = field(default_factory=list)
    new_payments: list[Payment] = field(default_factory=list)

    # reading ------------------------------------------------------------------------------
    @property
    def current(self) -> InvoiceVersion:
        return self.versions[-1]

    @property
    def version(self) -> int:
        return self.current.version

    def totals(self) -> Totals:
        return self.current.totals()

    @property
    def credited_total(self) -> Money:
        return self.credited if self.credited is not None else Money.zero(self.currency)

    @property
    def paid_total(self) -> Money:
        return Money.sum((p.amount for p in self.payments), self.currency)

    @property
    def position(self) -> InvoicePosition:
        """Its place in the engagement account: gross, drawn, credited, paid and balance."""
        return invoice_position(
            gross=self.totals().gross,
            prepaid=self.current.prepaid,
            credited=self.credited,
            credited_prepaid=self.credited_prepaid,
            paid=self.paid_total,
            state=self.state,
        )

    @property
    def outstanding(self) -> Money:
        """What the client still owes on it (0.00 for a draft or a void invoice)."""
        return self.position.outstanding

    @property
    def payment_status(self) -> PaymentStatus:
        return self.position.status

    def effective_purchase_order(self) -> PoRef | None:
        """The PO as the recipient left it: the latest PO amendment, else the version's."""
        for amendment in reversed(self.amendments):
            if (
                amendment.version == self.version
                and amendment.field is AmendmentField.PURCHASE_ORDER
            ):
                return PoRef(amendment.value["id"], amendment.value["number"])
        return self.current.purchase_order

    def effective_buyer(self) -> PartySnapshot | None:
        """The buyer as the recipient left it: billing-entity and cost-centre amendments win."""
        buyer = self.current.buyer
        for amendment in self.amendments:
            if amendment.version != self.version or buyer is None:
                continue
            if amendment.field is AmendmentField.BILLING_ENTITY:
                buyer = PartySnapshot.from_dict({**buyer.to_dict(), **amendment.value})
            elif amendment.field is AmendmentField.COST_CENTRE:
                buyer = replace(buyer, cost_centre=amendment.value["cost_centre"])
        return buyer

    # behaviour ----------------------------------------------------------------------------
    def _move(self, action: InvoiceAction) -> InvoiceState:
        self.state = next_state(self.state, action)
        return self.state

    def _event(self, kind: str, at: datetime, **payload: Any) -> None:
        self.pending_events.append(
            DomainEvent(
                kind=kind,
                subject_type="invoice",
                subject_id=self.id,
                occurred_at=at,
                payload={"number": self.number, "version": self.version, **payload},
            )
        )

    def edit_draft(self, draft: InvoiceVersion, at: datetime) -> None:
        self._move(InvoiceAction.EDIT_DRAFT)
        check_lines(draft.lines, self.currency)
        self.versions[-1] = draft
        self._event("invoice.draft_edited", at, lines=len(draft.lines))

    def send(
        self,
        *,
        number: str,
        seller: PartySnapshot,
        buyer: PartySnapshot,
        at: datetime,
        override_reason: str = "",
        warnings: list[str] | None = None,
    ) -> None:
        check_lines(self.current.lines, self.currency)
        if not self.current.lines:
            raise RuleViolation(
                "an invoice needs at least one line to be sent", code="invoice.no_lines"
            )
        if self.totals().gross.is_negative():
            raise RuleViolation(
                "an invoice cannot total less than zero; issue a credit note instead",
                code="invoice.negative_total",
            )
        self._move(InvoiceAction.SEND)
        self.number = number
        self.sent_at = at
        self._freeze(seller=seller, buyer=buyer, at=at)
        extra: dict[str, Any] = {}
        if override_reason:
            extra = {"override_reason": override_reason, "overridden": warnings or []}
        totals = self.totals()
        self._event(
            "invoice.sent",
            at,
            content_hash=self.current.content_hash,
            gross=str(totals.gross.amount),
            currency=self.currency,
            **extra,
        )

    def _check_sendable(self, version: InvoiceVersion) -> None:
        """What every version must satisfy before it reaches a recipient."""
        check_lines(version.lines, self.currency)
        if not version.lines:
            raise RuleViolation(
                "an invoice needs at least one line to be sent", code="invoice.no_lines"
            )
        if version.totals().gross.is_negative():
            raise RuleViolation(
                "an invoice cannot total less than zero; issue a credit note instead",
                code="invoice.negative_total",
            )

    def _freeze(self, *, seller: PartySnapshot, buyer: PartySnapshot, at: datetime) -> None:
        current = self.current
        current.seller = seller
        current.buyer = buyer
        current.created_at = current.created_at or at
        current.frozen = True
        current.content_hash = current.compute_hash()

    def view(self, at: datetime, *, viewer: str = "") -> bool:
        """Record a view; return True when it moved the invoice from sent to viewed."""
        before = self.state
        self._move(InvoiceAction.VIEW)
        first = before is InvoiceState.SENT
        self._event("invoice.viewed", at, first_view=first, viewer=viewer)
        return first

    def request_change(self, *, message: str, by: str, at: datetime) -> None:
        self._move(InvoiceAction.REQUEST_CHANGE)
        self.change_request = message
        self._event("invoice.change_requested", at, message=message, by=by)

    def revise(self, revision: InvoiceVersion, *, at: datetime) -> None:
        """Answer a change request with version n+1, same number, frozen at once."""
        next_state(self.state, InvoiceAction.REVISE)  # refuse before touching anything
        self._check_sendable(revision)
        credited = self.credited_net or Money.zero(self.currency)
        if revision.totals().net < credited:
            # Credit notes never exceed their invoice (apply_credit); nor may a revision
            # shrink the invoice under them.
            raise RuleViolation(
                f"the revision's net {revision.totals().net.format()} is less than the "
                f"{credited.format()} already credited on this invoice",
                code="invoice.revision_below_credit",
            )
        previous = self.current
        revision.version = previous.version + 1
        assert previous.seller is not None
        buyer = self.effective_buyer() or previous.buyer
        assert buyer is not None
        self._move(InvoiceAction.REVISE)
        self.versions.append(revision)
        self.change_request = ""
        self._freeze(seller=previous.seller, buyer=buyer, at=at)
        self._event(
            "invoice.revised",
            at,
            content_hash=revision.content_hash,
            gross=str(self.totals().gross.amount),
        )

    def amend(self, amendment: Amendment) -> None:
        self._move(InvoiceAction.AMEND)
        self.amendments.append(amendment)
        self._event(
            "invoice.amended",
            amendment.recorded_at,
            field=amendment.field.value,
            value=amendment.value,
            by=amendment.by,
        )

    def approve(self, *, name: str, at: datetime) -> None:
        self._move(InvoiceAction.APPROVE)
        self.approved_by = name
        self._event("invoice.approved", at, by=name)

    def lock(self, at: datetime) -> None:
        self._move(InvoiceAction.LOCK)
        self._event("invoice.locked", at)

    def record_payment(self, payment: Payment) -> None:
        if payment.amount.currency != self.currency:
            raise ValidationError(
                f"payment in {payment.amount.currency} for an invoice in {self.currency}",
                code="money.currency_mismatch",
            )
        if payment.amount.amount <= 0:
            raise ValidationError("a payment must be more than zero", code="payment.not_positive")
        before = self.state
        self._move(InvoiceAction.RECORD_PAYMENT)
        self.payments.append(payment)
        self.new_payments.append(payment)
        self._event(
            "invoice.payment_recorded",
            payment.recorded_at,
            payment_id=payment.id,
            amount=str(payment.amount.amount),
            received_on=payment.received_on.isoformat(),
            status=self.payment_status.value,
        )
        if before is not InvoiceState.LOCKED:
            self._event("invoice.locked", payment.recorded_at, reason="first payment")
        if self.payment_status in (PaymentStatus.PAID, PaymentStatus.OVERPAID):
            self._event("invoice.paid", payment.recorded_at, amount=str(self.paid_total.amount))

    def apply_credit(self, terms: CreditTerms, *, credit_note_id: str, at: datetime) -> None:
        """Reduce the invoice by a credit note whose terms the engagement account worked out;
        a credit of everything that was left voids it."""
        zero = Money.zero(self.currency)
        self._move(InvoiceAction.CREDIT_IN_FULL if terms.voids else InvoiceAction.CREDIT_PART)
        self.credited = self.credited_total + terms.gross
        self.credited_net = (self.credited_net or zero) + terms.net
        self.credited_prepaid = (self.credited_prepaid or zero) + terms.prepaid
        if terms.voids:
            self._event("invoice.voided", at, credit_note_id=credit_note_id)


def check_lines(lines: list[InvoiceLine], currency: str) -> None:
    """Structural checks shared by drafts, sends and revisions."""
    if len(lines) > MAX_LINES:
        raise ValidationError(
            f"an invoice holds at most {MAX_LINES} lines", code="invoice.too_many_lines"
        )
    for line in lines:
        if line.unit_price.currency != currency:
            raise ValidationError(
                f"line {line.description!r} is in {line.unit_price.currency} but the "
                f"engagement bills in {currency}",
                code="money.currency_mismatch",
            )
    categories = {line.vat_category for line in lines}
    if VatCategory.OUTSIDE_SCOPE in categories and len(categories) > 1:
        # EN 16931 BR-O-11..14: a document with "not subject to VAT" lines has no others.
        raise RuleViolation(
            "lines not subject to VAT (O) cannot share an invoice with taxed lines; "
            "invoice them separately",
            code="vat.outside_scope_mixed",
        )
    refs = [line.source_ref for line in lines if line.source_ref]
    if len(refs) != len(set(refs)):
        raise RuleViolation(
            "the same item is billed twice on one invoice", code="invoice.duplicate_source"
        )
