"""Invoice and credit-note repositories.

``save`` writes what changed on the aggregate: the header row under an optimistic
``row_version`` check (a concurrent writer gets ``ConcurrencyConflict`` instead of silently
losing its update), new versions and amendments, new payments, and the lines of a draft
version. Frozen versions are skipped outright: no code path here updates or deletes them, and
the migration's triggers refuse it at the database too.

Loading one invoice takes three statements (the header with its amendment count and whether
it has payments, the versions, the lines), plus one for amendments or payments only when there
are any. The repository remembers, for the transaction, what it loaded or wrote of each
invoice: which versions are stored and frozen, the lines of draft versions and how many
amendments there are. ``save`` then writes only what changed, without reading it back first;
an invoice it has not seen is compared with the database as before. The single-invoice
statements are built once, with bound parameters: building them anew cost SQLAlchemy more
than SQLite takes to run them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.bulk import insert_rows
from engagebill.adapters.db.parties import not_found
from engagebill.domain.credit_notes import CreditNote
from engagebill.domain.errors import ConcurrencyConflict, Conflict
from engagebill.domain.invoices import (
    Amendment,
    AmendmentField,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceVersion,
    PartySnapshot,
    Payment,
    PoRef,
)
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory
from engagebill.services.ports import (
    CreditNoteFilter,
    CreditNoteSummary,
    InvoiceFilter,
    InvoiceSummary,
)


def line_rows(lines: Sequence[InvoiceLine], **keys: Any) -> list[dict[str, Any]]:
    return [
        {
            **keys,
            "position": position,
            "description": line.description,
            "quantity": line.quantity,
            "unit": line.unit,
            "unit_price_minor": line.unit_price.to_minor(),
            "vat_category": line.vat_category.value,
            "vat_rate": line.vat_rate,
            "source_ref": line.source_ref,
            "service_date": line.service_date,
            "person": line.person,
            "requester": line.requester,
            "approval_ref": line.approval_ref,
        }
        for position, line in enumerate(lines, start=1)
    ]


def line_from(row: Any, currency: str) -> InvoiceLine:
    return InvoiceLine(
        description=row.description,
        quantity=Decimal(row.quantity),
        unit=row.unit,
        unit_price=Money.from_minor(row.unit_price_minor, currency),
        vat_category=VatCategory(row.vat_category),
        vat_rate=Decimal(row.vat_rate),
        source_ref=row.source_ref,
        service_date=row.service_date,
        person=row.person,
        requester=row.requester,
        approval_ref=row.approval_ref,
    )


def _party_json(party: PartySnapshot | None) -> str | None:
    return None if party is None else json.dumps(party.to_dict(), sort_keys=True)


def _party(text: str | None) -> PartySnapshot | None:
    return None if text is None else PartySnapshot.from_dict(json.loads(text))


_i, _v, _l = t.invoices.c, t.invoice_versions.c, t.invoice_lines.c
_a, _p = t.invoice_amendments.c, t.payments.c
# The header, and whether the invoice has amendments and payments worth a query of their own.
_header = select(
    t.invoices,
    select(func.count()).where(_a.invoice_id == _i.id).scalar_subquery().label("amendment_count"),
    exists().where(_p.invoice_id == _i.id).label("has_payments"),
)
_HEADER = _header.where(
    _i.organization_id == bindparam("organization_id"), _i.id == bindparam("invoice_id")
)
_HEADER_FOR_UPDATE = _HEADER.with_for_update(of=t.invoices)
_HEADER_BY_NUMBER = _header.where(
    _i.organization_id == bindparam("organization_id"), _i.number == bindparam("number")
)
_VERSIONS = (
    select(t.invoice_versions).where(_v.invoice_id == bindparam("invoice_id")).order_by(_v.version)
)
_LINES = (
    select(t.invoice_lines)
    .where(_l.invoice_id == bindparam("invoice_id"))
    .order_by(_l.version, _l.position)
)
_AMENDMENTS = (
    select(t.invoice_amendments).where(_a.invoice_id == bindparam("invoice_id")).order_by(_a.id)
)
_PAYMENTS = (
    select(t.payments)
    .where(_p.invoice_id == bindparam("invoice_id"))
    .order_by(_p.recorded_at, _p.id)
)
_ADD_HEADER = insert(t.invoices)
_ADD_VERSION = insert(t.invoice_versions)
_ADD_LINES = insert(t.invoice_lines)
# Where-clause parameters are prefixed: the other keys given to these updates are the SET.
_SAVE_HEADER = update(t.invoices).where(
    _i.id == bindparam("w_id"),
    _i.organization_id == bindparam("w_organization_id"),
    _i.row_version == bindparam("w_row_version"),
)
_FREEZE_VERSION = (
    update(t.invoice_versions)
    .where(_v.invoice_id == bindparam("w_invoice_id"), _v.version == bindparam("w_version"))
    .values(frozen=True)
)
_REWRITE_VERSION = update(t.invoice_versions).where(
    _v.invoice_id == bindparam("w_invoice_id"),
    _v.version == bindparam("w_version"),
    _v.frozen.is_(False),
)
_DELETE_LINES = delete(t.invoice_lines).where(
    _l.invoice_id == bindparam("invoice_id"), _l.version == bindparam("version")
)


@dataclass(slots=True)
class _Stored:
    """What the database holds of one invoice, as this transaction loaded or wrote it."""

    frozen: dict[int, bool]  # version -> frozen
    draft_lines: dict[int, list[InvoiceLine]]  # the lines of each draft version
    amendments: int = 0


def _same_lines(stored: list[InvoiceLine] | None, lines: list[InvoiceLine]) -> bool:
    # Lines are immutable values: the very same objects in the same order are the same lines
    # (an equal-looking Decimal may be written differently, so equality is not enough).
    return (
        stored is not None
        and len(stored) == len(lines)
        and all(a is b for a, b in zip(stored, lines, strict=True))
    )


class SqlInvoices:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._stored: dict[str, _Stored] = {}

    def _remember(self, invoice: Invoice) -> None:
        self._stored[invoice.id] = _Stored(
            frozen={v.version: v.frozen for v in invoice.versions},
            draft_lines={v.version: list(v.lines) for v in invoice.versions if not v.frozen},
            amendments=len(invoice.amendments),
        )

    # writing ------------------------------------------------------------------------------
    def add(self, invoice: Invoice) -> None:
        po = invoice.effective_purchase_order()
        if invoice.billing_key is not None:
            # A savepoint, so that losing the race to another run fails only this insert.
            try:
                with self.conn.begin_nested():
                    self._insert_header(invoice, po)
            except IntegrityError:
                raise Conflict(
                    f"{invoice.billing_key} has already been billed",
                    code="invoice.already_billed",
                    details={"billing_key": invoice.billing_key},
                ) from None
        else:
            self._insert_header(invoice, po)
        for version in invoice.versions:
            self._insert_version(invoice, version)
        self._insert_amendments(invoice, start=0)
        self._insert_payments(invoice)
        self._remember(invoice)

    @staticmethod
    def _header_row(invoice: Invoice, po: PoRef | None) -> dict[str, Any]:
        return {
            "id": invoice.id,
            "organization_id": invoice.organization_id,
            "client_id": invoice.client_id,
            "engagement_id": invoice.engagement_id,
            "currency": invoice.currency,
            "kind": invoice.kind.value,
            "state": invoice.state.value,
            "number": invoice.number,
            "current_version": invoice.version,
            "sent_at": invoice.sent_at,
            "billing_key": invoice.billing_key,
            "approved_by": invoice.approved_by,
            "change_request": invoice.change_request,
            "credited_minor": invoice.credited_total.to_minor(),
            "credited_net_minor": invoice.credited_net.to_minor() if invoice.credited_net else 0,
            "credited_prepaid_minor": _minor(invoice.credited_prepaid),
            "purchase_order_id": po.id if po else None,
            "po_number": po.number if po else None,
            "row_version": 0,
            "created_at": invoice.created_at,
            "updated_at": invoice.created_at,
        }

    def _insert_header(self, invoice: Invoice, po: PoRef | None) -> None:
        self.conn.execute(_ADD_HEADER, self._header_row(invoice, po))

    def add_many(self, invoices: Sequence[Invoice]) -> None:
        """Insert new drafts in bulk (a billing run): a few statements for the whole batch.

        A billing key that exists already fails the whole batch with ``Conflict``; the caller
        rolls back and retries engagement by engagement.
        """
        if not invoices:
            return
        headers, versions, lines = [], [], []
        for invoice in invoices:
            if (
                invoice.state is not InvoiceState.DRAFT
                or invoice.amendments
                or invoice.new_payments
            ):
                raise ValueError("add_many takes new drafts only")
            headers.append(self._header_row(invoice, invoice.effective_purchase_order()))
            for version in invoice.versions:
                versions.append(
                    {
                        "invoice_id": invoice.id,
                        "version": version.version,
                        **self._version_values(invoice, version),
                    }
                )
                lines += line_rows(
                    version.lines,
                    invoice_id=invoice.id,
                    version=version.version,
                    organization_id=invoice.organization_id,
                )
        try:
            with self.conn.begin_nested():
                insert_rows(self.conn, t.invoices, headers)
        except IntegrityError:
            raise Conflict(
                "part of this batch has already been billed", code="invoice.already_billed"
            ) from None
        insert_rows(self.conn, t.invoice_versions, versions)
        insert_rows(self.conn, t.invoice_lines, lines)

    def save(self, invoice: Invoice) -> None:
        at = (
            invoice.pending_events[-1].occurred_at if invoice.pending_events else invoice.created_at
        )
        po = invoice.effective_purchase_order()
        result = self.conn.execute(
            _SAVE_HEADER,
            {
                "w_id": invoice.id,
                "w_organization_id": invoice.organization_id,
                "w_row_version": invoice.row_version,
                "state": invoice.state.value,
                "number": invoice.number,
                "current_version": invoice.version,
                "sent_at": invoice.sent_at,
                "approved_by": invoice.approved_by,
                "change_request": invoice.change_request,
                "credited_minor": invoice.credited_total.to_minor(),
                "credited_net_minor": (
                    invoice.credited_net.to_minor() if invoice.credited_net else 0
                ),
                "credited_prepaid_minor": _minor(invoice.credited_prepaid),
                "purchase_order_id": po.id if po else None,
                "po_number": po.number if po else None,
                "row_version": invoice.row_version + 1,
                "updated_at": at,
            },
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(
                f"invoice {invoice.number or invoice.id} was changed by someone else; "
                "reload it and try again",
                code="invoice.concurrent_change",
            )
        invoice.row_version += 1
        known = self._stored.get(invoice.id)
        if known is None:  # not loaded by this transaction: ask the database what it holds
            frozen = dict(
                self.conn.execute(
                    select(_v.version, _v.frozen).where(_v.invoice_id == invoice.id)
                ).all()
            )
            amendments = self.conn.execute(
                select(func.count()).where(_a.invoice_id == invoice.id)
            ).scalar_one()
            known = _Stored(frozen=frozen, draft_lines={}, amendments=int(amendments))
        for version in invoice.versions:
            if version.version not in known.frozen:
                self._insert_version(invoice, version)
            elif not known.frozen[version.version]:
                self._rewrite_draft_version(
                    invoice,
                    version,
                    lines_changed=not _same_lines(
                        known.draft_lines.get(version.version), version.lines
                    ),
                )
            # A version frozen in the database is never written again.
        self._insert_amendments(invoice, start=known.amendments)
        self._insert_payments(invoice)
        self._remember(invoice)

    def _version_values(self, invoice: Invoice, version: InvoiceVersion) -> dict[str, Any]:
        totals = version.totals()
        return {
            "organization_id": invoice.organization_id,
            "issue_date": version.issue_date,
            "due_date": version.due_date,
            "purchase_order_id": version.purchase_order.id if version.purchase_order else None,
            "po_number": version.purchase_order.number if version.purchase_order else None,
            "buyer_json": _party_json(version.buyer),
            "seller_json": _party_json(version.seller),
            "notes": version.notes,
            "quote_reference": version.quote_reference,
            "prepaid_minor": version.prepaid.to_minor() if version.prepaid else 0,
            "advance_used_minor": version.advance_used.to_minor() if version.advance_used else 0,
            "net_minor": totals.net.to_minor(),
            "gross_minor": totals.gross.to_minor(),
            "frozen": version.frozen,
            "content_hash": version.content_hash,
            "created_at": version.created_at or invoice.created_at,
        }

    def _insert_version(self, invoice: Invoice, version: InvoiceVersion) -> None:
        # Lines are written while the version is still open; it is frozen afterwards, since
        # the database refuses any change to the lines of a frozen version.
        values = self._version_values(invoice, version)
        values["frozen"] = False
        self.conn.execute(
            _ADD_VERSION, {"invoice_id": invoice.id, "version": version.version, **values}
        )
        self._insert_lines(invoice, version)
        if version.frozen:
            self.conn.execute(
                _FREEZE_VERSION, {"w_invoice_id": invoice.id, "w_version": version.version}
            )

    def _insert_lines(self, invoice: Invoice, version: InvoiceVersion) -> None:
        rows = line_rows(
            version.lines,
            invoice_id=invoice.id,
            version=version.version,
            organization_id=invoice.organization_id,
        )
        if rows:
            self.conn.execute(_ADD_LINES, rows)

    def _rewrite_draft_version(
        self, invoice: Invoice, version: InvoiceVersion, *, lines_changed: bool = True
    ) -> None:
        # Lines go first: the version row may be about to become frozen, after which the
        # database refuses any change to its lines. Lines the transaction knows to be stored
        # as they are (sending freezes the draft's lines unchanged) are left alone.
        if lines_changed:
            self.conn.execute(_DELETE_LINES, {"invoice_id": invoice.id, "version": version.version})
            self._insert_lines(invoice, version)
        self.conn.execute(
            _REWRITE_VERSION,
            {
                "w_invoice_id": invoice.id,
                "w_version": version.version,
                **self._version_values(invoice, version),
            },
        )

    def _insert_amendments(self, invoice: Invoice, *, start: int) -> None:
        rows = [
            {
                "organization_id": invoice.organization_id,
                "invoice_id": invoice.id,
                "version": a.version,
                "field": a.field.value,
                "value_json": json.dumps(a.value, sort_keys=True),
                "by": a.by,
                "recorded_at": a.recorded_at,
            }
            for a in invoice.amendments[start:]
        ]
        if rows:
            self.conn.execute(insert(t.invoice_amendments), rows)

    def _insert_payments(self, invoice: Invoice) -> None:
        rows = [
            {
                "id": p.id,
                "organization_id": invoice.organization_id,
                "invoice_id": invoice.id,
                "amount_minor": p.amount.to_minor(),
                "currency": p.amount.currency,
                "received_on": p.received_on,
                "reference": p.reference,
                "recorded_at": p.recorded_at,
            }
            for p in invoice.new_payments
        ]
        if rows:
            self.conn.execute(insert(t.payments), rows)
        invoice.new_payments.clear()

    # reading ------------------------------------------------------------------------------
    def get(self, organization_id: str, invoice_id: str, *, for_update: bool = False) -> Invoice:
        row = self.conn.execute(
            _HEADER_FOR_UPDATE if for_update else _HEADER,
            {"organization_id": organization_id, "invoice_id": invoice_id},
        ).first()
        if row is None:
            raise not_found("invoice", invoice_id)
        return self._load(row)

    def existing_billing_keys(self, organization_id: str, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = sorted(set(keys))
        for start in range(0, len(unique), 500):  # stay under every database's bind limit
            chunk = unique[start : start + 500]
            found.update(
                str(k)
                for k in self.conn.execute(
                    select(t.invoices.c.billing_key).where(
                        t.invoices.c.organization_id == organization_id,
                        t.invoices.c.billing_key.in_(chunk),
                    )
                ).scalars()
            )
        return found

    def find_by_number(self, organization_id: str, number: str) -> Invoice | None:
        row = self.conn.execute(
            _HEADER_BY_NUMBER, {"organization_id": organization_id, "number": number}
        ).first()
        return None if row is None else self._load(row)

    def _load(self, row: Any) -> Invoice:
        currency = row.currency
        key = {"invoice_id": row.id}
        lines: dict[int, list[InvoiceLine]] = {}
        for line in self.conn.execute(_LINES, key):
            lines.setdefault(line.version, []).append(line_from(line, currency))
        versions = [
            InvoiceVersion(
                version=v.version,
                lines=lines.get(v.version, []),
                issue_date=v.issue_date,
                due_date=v.due_date,
                currency=currency,
                purchase_order=(
                    PoRef(v.purchase_order_id, v.po_number) if v.purchase_order_id else None
                ),
                buyer=_party(v.buyer_json),
                seller=_party(v.seller_json),
                notes=v.notes,
                quote_reference=v.quote_reference,
                prepaid=Money.from_minor(v.prepaid_minor, currency) if v.prepaid_minor else None,
                advance_used=(
                    Money.from_minor(v.advance_used_minor, currency)
                    if v.advance_used_minor
                    else None
                ),
                created_at=v.created_at,
                frozen=bool(v.frozen),
                content_hash=v.content_hash,
            )
            for v in self.conn.execute(_VERSIONS, key)
        ]
        amendments = (
            [
                Amendment(
                    version=a.version,
                    field=AmendmentField(a.field),
                    value=json.loads(a.value_json),
                    by=a.by,
                    recorded_at=a.recorded_at,
                )
                for a in self.conn.execute(_AMENDMENTS, key)
            ]
            if row.amendment_count
            else []
        )
        payments = (
            [
                Payment(
                    id=p.id,
                    amount=Money.from_minor(p.amount_minor, p.currency),
                    received_on=p.received_on,
                    reference=p.reference,
                    recorded_at=p.recorded_at,
                )
                for p in self.conn.execute(_PAYMENTS, key)
            ]
            if row.has_payments
            else []
        )
        invoice = Invoice(
            id=row.id,
            organization_id=row.organization_id,
            client_id=row.client_id,
            engagement_id=row.engagement_id,
            currency=currency,
            state=InvoiceState(row.state),
            versions=versions,
            created_at=row.created_at,
            number=row.number,
            sent_at=row.sent_at,
            billing_key=row.billing_key,
            kind=InvoiceKind(row.kind),
            amendments=amendments,
            payments=payments,
            credited=Money.from_minor(row.credited_minor, currency),
            credited_net=Money.from_minor(row.credited_net_minor, currency),
            credited_prepaid=Money.from_minor(row.credited_prepaid_minor, currency),
            approved_by=row.approved_by,
            change_request=row.change_request,
            row_version=row.row_version,
        )
        self._remember(invoice)
        return invoice

    def list(self, organization_id: str, query: InvoiceFilter) -> list[InvoiceSummary]:
        i, v, c, e = t.invoices, t.invoice_versions, t.clients, t.engagements
        paid = (
            select(t.payments.c.invoice_id, func.sum(t.payments.c.amount_minor).label("paid_minor"))
            .where(t.payments.c.organization_id == organization_id)
            .group_by(t.payments.c.invoice_id)
            .subquery()
        )
        stmt = (
            select(
                i.c.id,
                i.c.number,
                i.c.current_version,
                i.c.state,
                i.c.client_id,
                c.c.name.label("client_name"),
                i.c.engagement_id,
                e.c.name.label("engagement_name"),
                i.c.po_number,
                i.c.currency,
                v.c.gross_minor,
                v.c.issue_date,
                v.c.due_date,
                i.c.sent_at,
                i.c.created_at,
                i.c.credited_minor,
                i.c.credited_prepaid_minor,
                func.coalesce(paid.c.paid_minor, 0).label("paid_minor"),
                v.c.net_minor,
                v.c.prepaid_minor,
                i.c.kind,
            )
            .select_from(
                i.join(v, (v.c.invoice_id == i.c.id) & (v.c.version == i.c.current_version))
                .join(c, c.c.id == i.c.client_id)
                .join(e, e.c.id == i.c.engagement_id)
                .outerjoin(paid, paid.c.invoice_id == i.c.id)
            )
            .where(i.c.organization_id == organization_id)
        )
        if query.states:
            stmt = stmt.where(i.c.state.in_([s.value for s in query.states]))
        if query.client_id:
            stmt = stmt.where(i.c.client_id == query.client_id)
        if query.engagement_id:
            stmt = stmt.where(i.c.engagement_id == query.engagement_id)
        if query.issued_from:
            stmt = stmt.where(v.c.issue_date >= query.issued_from)
        if query.issued_to:
            stmt = stmt.where(v.c.issue_date <= query.issued_to)
        if query.after is not None:
            created, ident = query.after
            stmt = stmt.where(
                or_(i.c.created_at < created, and_(i.c.created_at == created, i.c.id < ident))
            )
        stmt = stmt.order_by(i.c.created_at.desc(), i.c.id.desc()).limit(query.limit)
        return [
            InvoiceSummary(
                id=r.id,
                number=r.number,
                version=r.current_version,
                state=InvoiceState(r.state),
                client_id=r.client_id,
                client_name=r.client_name,
                engagement_id=r.engagement_id,
                engagement_name=r.engagement_name,
                po_number=r.po_number,
                currency=r.currency,
                gross=Money.from_minor(r.gross_minor, r.currency),
                issue_date=r.issue_date,
                due_date=r.due_date,
                sent_at=r.sent_at,
                created_at=r.created_at,
                paid=Money.from_minor(int(r.paid_minor), r.currency),
                credited=Money.from_minor(r.credited_minor, r.currency),
                credited_prepaid=Money.from_minor(r.credited_prepaid_minor, r.currency),
                net=Money.from_minor(r.net_minor, r.currency),
                prepaid=Money.from_minor(r.prepaid_minor, r.currency),
                kind=InvoiceKind(r.kind),
            )
            for r in self.conn.execute(stmt)
        ]


def _minor(amount: Money | None) -> int:
    return amount.to_minor() if amount is not None else 0


class SqlCreditNotes:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, credit_note: CreditNote) -> None:
        cn = credit_note
        totals = cn.totals()
        self.conn.execute(
            insert(t.credit_notes).values(
                id=cn.id,
                organization_id=cn.organization_id,
                invoice_id=cn.invoice_id,
                invoice_number=cn.invoice_number,
                client_id=cn.client_id,
                engagement_id=cn.engagement_id,
                currency=cn.currency,
                number=cn.number,
                issue_date=cn.issue_date,
                reason=cn.reason,
                seller_json=_party_json(cn.seller),
                buyer_json=_party_json(cn.buyer),
                po_number=cn.purchase_order_number,
                net_minor=totals.net.to_minor(),
                gross_minor=totals.gross.to_minor(),
                prepaid_minor=_minor(cn.prepaid),
                advance_returned_minor=_minor(cn.advance_returned),
                content_hash=cn.content_hash,
                created_at=cn.created_at,
            )
        )
        rows = line_rows(cn.lines, credit_note_id=cn.id, organization_id=cn.organization_id)
        if rows:
            self.conn.execute(insert(t.credit_note_lines), rows)
        self.conn.execute(
            insert(t.credit_note_vat_groups),
            [
                {
                    "credit_note_id": cn.id,
                    "vat_category": g.category.value,
                    "vat_rate": g.rate,
                    "organization_id": cn.organization_id,
                    "invoice_id": cn.invoice_id,
                    "taxable_minor": g.taxable.to_minor(),
                    "tax_minor": g.tax.to_minor(),
                }
                for g in totals.breakdown
            ],
        )

    def _load(self, row: Any) -> CreditNote:
        lines = [
            line_from(r, row.currency)
            for r in self.conn.execute(
                select(t.credit_note_lines)
                .where(t.credit_note_lines.c.credit_note_id == row.id)
                .order_by(t.credit_note_lines.c.position)
            )
        ]
        taxes = {
            (VatCategory(g.vat_category), Decimal(g.vat_rate)): Money.from_minor(
                g.tax_minor, row.currency
            )
            for g in self.conn.execute(
                select(t.credit_note_vat_groups).where(
                    t.credit_note_vat_groups.c.credit_note_id == row.id
                )
            )
        }
        seller, buyer = _party(row.seller_json), _party(row.buyer_json)
        assert seller is not None and buyer is not None
        return CreditNote(
            id=row.id,
            organization_id=row.organization_id,
            invoice_id=row.invoice_id,
            invoice_number=row.invoice_number,
            client_id=row.client_id,
            engagement_id=row.engagement_id,
            currency=row.currency,
            number=row.number,
            issue_date=row.issue_date,
            lines=lines,
            reason=row.reason,
            seller=seller,
            buyer=buyer,
            created_at=row.created_at,
            purchase_order_number=row.po_number,
            content_hash=row.content_hash,
            taxes=taxes,
            prepaid=Money.from_minor(row.prepaid_minor, row.currency),
            advance_returned=Money.from_minor(row.advance_returned_minor, row.currency),
        )

    def get(self, organization_id: str, credit_note_id: str) -> CreditNote:
        row = self.conn.execute(
            select(t.credit_notes).where(
                t.credit_notes.c.organization_id == organization_id,
                t.credit_notes.c.id == credit_note_id,
            )
        ).first()
        if row is None:
            raise not_found("credit note", credit_note_id)
        return self._load(row)

    def for_invoice(self, organization_id: str, invoice_id: str) -> list[CreditNote]:
        rows = self.conn.execute(
            select(t.credit_notes)
            .where(
                t.credit_notes.c.organization_id == organization_id,
                t.credit_notes.c.invoice_id == invoice_id,
            )
            .order_by(t.credit_notes.c.created_at)
        )
        return [self._load(r) for r in rows]

    def list(self, organization_id: str, query: CreditNoteFilter) -> list[CreditNoteSummary]:
        cn, i = t.credit_notes, t.invoices
        stmt = (
            select(cn, i.c.kind.label("invoice_kind"))
            .select_from(cn.join(i, i.c.id == cn.c.invoice_id))
            .where(cn.c.organization_id == organization_id)
        )
        if query.client_id:
            stmt = stmt.where(cn.c.client_id == query.client_id)
        if query.engagement_id:
            stmt = stmt.where(cn.c.engagement_id == query.engagement_id)
        if query.invoice_id:
            stmt = stmt.where(cn.c.invoice_id == query.invoice_id)
        if query.issued_from:
            stmt = stmt.where(cn.c.issue_date >= query.issued_from)
        if query.issued_to:
            stmt = stmt.where(cn.c.issue_date <= query.issued_to)
        if query.after is not None:
            created, ident = query.after
            stmt = stmt.where(
                or_(cn.c.created_at < created, and_(cn.c.created_at == created, cn.c.id < ident))
            )
        stmt = stmt.order_by(cn.c.created_at.desc(), cn.c.id.desc()).limit(query.limit)
        return [
            CreditNoteSummary(
                id=r.id,
                number=r.number,
                invoice_id=r.invoice_id,
                invoice_number=r.invoice_number,
                invoice_kind=InvoiceKind(r.invoice_kind),
                client_id=r.client_id,
                engagement_id=r.engagement_id,
                currency=r.currency,
                issue_date=r.issue_date,
                reason=r.reason,
                net=Money.from_minor(r.net_minor, r.currency),
                gross=Money.from_minor(r.gross_minor, r.currency),
                created_at=r.created_at,
            )
            for r in self.conn.execute(stmt)
        ]
