"""Repository for invoice templates: lines kept as JSON, read back as domain lines."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.parties import not_found
from engagebill.domain.invoice_templates import InvoiceTemplate
from engagebill.domain.invoices import InvoiceLine, line_to_dict
from engagebill.domain.money import Money
from engagebill.domain.taxes import VatCategory


def _line(data: dict[str, Any], currency: str) -> InvoiceLine:
    service_date = data.get("service_date")
    return InvoiceLine(
        description=data["description"],
        quantity=Decimal(data["quantity"]),
        unit=data["unit"],
        unit_price=Money.of(data["unit_price"], currency),
        vat_category=VatCategory(data["vat_category"]),
        vat_rate=Decimal(data["vat_rate"]),
        source_ref=data.get("source_ref"),
        service_date=date.fromisoformat(service_date) if service_date else None,
        person=data.get("person"),
        requester=data.get("requester"),
        approval_ref=data.get("approval_ref"),
    )


class SqlInvoiceTemplates:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @staticmethod
    def _from(row: Any) -> InvoiceTemplate:
        return InvoiceTemplate(
            id=row.id,
            organization_id=row.organization_id,
            name=row.name,
            engagement_id=row.engagement_id,
            currency=row.currency,
            created_at=row.created_at,
            lines=tuple(_line(data, row.currency) for data in json.loads(row.lines)),
        )

    def add(self, template: InvoiceTemplate) -> None:
        self.conn.execute(
            insert(t.invoice_templates).values(
                id=template.id,
                organization_id=template.organization_id,
                name=template.name,
                engagement_id=template.engagement_id,
                currency=template.currency,
                lines=json.dumps([line_to_dict(line) for line in template.lines]),
                created_at=template.created_at,
            )
        )

    def get(self, organization_id: str, template_id: str) -> InvoiceTemplate:
        row = self.conn.execute(
            select(t.invoice_templates).where(
                t.invoice_templates.c.organization_id == organization_id,
                t.invoice_templates.c.id == template_id,
            )
        ).first()
        if row is None:
            raise not_found("invoice template", template_id)
        return self._from(row)

    def list(self, organization_id: str) -> list[InvoiceTemplate]:
        rows = self.conn.execute(
            select(t.invoice_templates)
            .where(t.invoice_templates.c.organization_id == organization_id)
            .order_by(t.invoice_templates.c.name, t.invoice_templates.c.id)
        )
        return [self._from(r) for r in rows]

    def delete(self, organization_id: str, template_id: str) -> None:
        result = self.conn.execute(
            delete(t.invoice_templates).where(
                t.invoice_templates.c.organization_id == organization_id,
                t.invoice_templates.c.id == template_id,
            )
        )
        if result.rowcount != 1:
            raise not_found("invoice template", template_id)
