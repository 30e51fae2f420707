"""/credit-notes: the credit notes issued against invoices (read only; a credit note is
issued with POST /invoices/{id}/credit-notes)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader
from engagebill.entrypoints.api.schemas import (
    CreditNoteOut,
    Model,
    MoneyOut,
    Page,
    credit_note_out,
    money,
)
from engagebill.services import queries
from engagebill.services.ports import CreditNoteFilter, CreditNoteSummary

router = APIRouter(prefix="/credit-notes", tags=["credit notes"])


class CreditNoteSummaryOut(Model):
    id: str
    number: str
    invoice_id: str
    invoice_number: str
    client_id: str
    engagement_id: str
    currency: str
    issue_date: date
    reason: str
    net: MoneyOut
    gross: MoneyOut
    created_at: datetime


def summary_out(note: CreditNoteSummary) -> CreditNoteSummaryOut:
    return CreditNoteSummaryOut(
        id=note.id,
        number=note.number,
        invoice_id=note.invoice_id,
        invoice_number=note.invoice_number,
        client_id=note.client_id,
        engagement_id=note.engagement_id,
        currency=note.currency,
        issue_date=note.issue_date,
        reason=note.reason,
        net=money(note.net),
        gross=money(note.gross),
        created_at=note.created_at,
    )


@router.get("", response_model=Page[CreditNoteSummaryOut])
def list_credit_notes(
    ctx: Ctx,
    key: Reader,
    client_id: str | None = None,
    engagement_id: str | None = None,
    invoice_id: str | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[CreditNoteSummaryOut]:
    """Credit notes, newest first; filter by client, engagement, invoice and issue date."""
    rows = queries.list_credit_notes(
        ctx,
        organization_id=key.organization_id,
        query=CreditNoteFilter(
            client_id=client_id,
            engagement_id=engagement_id,
            invoice_id=invoice_id,
            issued_from=issued_from,
            issued_to=issued_to,
            after=pagination.decode(cursor),
            limit=limit + 1,
        ),
    )
    return Page[CreditNoteSummaryOut](
        items=[summary_out(n) for n in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, lambda n: (n.created_at, n.id)),
    )


@router.get("/{credit_note_id}", response_model=CreditNoteOut)
def get_credit_note(credit_note_id: str, ctx: Ctx, key: Reader) -> CreditNoteOut:
    return credit_note_out(
        queries.get_credit_note(
            ctx, organization_id=key.organization_id, credit_note_id=credit_note_id
        )
    )
