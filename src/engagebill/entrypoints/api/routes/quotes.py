"""/quotes: offers with versions, sent to the client's AP contacts through private links and
accepted by a typed name bound to the hash of the version shown.

A fixed-price quote lists the project's milestones; its acceptance makes them the engagement's
(``/milestones``). A mini-quote on a time-and-material engagement approves the out-of-scope
work linked to it (``POST /quotes/{quote_id}/work-items``). Every answer is the quote as it
now stands, with its versions, its milestones and its linked work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import Field

from engagebill.domain.quotes import Quote, QuoteState
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.routes.invoices import LinkOut, links_out
from engagebill.entrypoints.api.schemas import Decimalish, Model, Page, QuoteItems
from engagebill.entrypoints.outputs import QuoteOut, QuoteSummaryOut, quote_out, quote_summary_out
from engagebill.services import queries, quotes
from engagebill.services.links import IssuedLink

router = APIRouter(prefix="/quotes", tags=["quotes"])

Text = Annotated[str, Field(min_length=1, max_length=200)]


class QuoteIn(Model):
    engagement_id: Annotated[str, Field(min_length=1, max_length=100)]
    title: Text = Field(examples=["Website rebuild"])
    items: QuoteItems = Field(description="Milestones (fixed price) or priced items (mini-quote)")
    total: Decimalish | None = Field(
        default=None, description="When given, the items must sum to it"
    )


class QuoteReviseIn(Model):
    title: Text | None = None
    items: QuoteItems | None = None
    total: Decimalish | None = None


class AcceptIn(Model):
    name: Text = Field(description="The name the client typed to accept")
    shown_hash: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        description="The content hash of the version the client saw; refused if it changed",
    )


class DeclineIn(Model):
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class LinkWorkIn(Model):
    work_item_ids: Annotated[list[str], Field(min_length=1, max_length=500)]


class QuoteSentOut(Model):
    quote: QuoteOut
    links: list[LinkOut]


def _current(ctx: Ctx, organization_id: str, quote_id: str) -> QuoteOut:
    return quote_out(quotes.get_quote(ctx, organization_id=organization_id, quote_id=quote_id))


def _created(quote: Quote) -> tuple[datetime, str]:
    return quote.created_at, quote.id


@router.get("", response_model=Page[QuoteSummaryOut])
def list_quotes(
    ctx: Ctx,
    key: Reader,
    engagement_id: str | None = None,
    state: QuoteState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[QuoteSummaryOut]:
    """Quotes, newest first; filter by engagement and state."""
    found = quotes.list_quotes(
        ctx, organization_id=key.organization_id, engagement_id=engagement_id
    )
    rows = queries.keyset_page(
        (q for q in found if state is None or q.state is state),
        key=_created,
        after=pagination.decode(cursor),
        limit=limit + 1,
    )
    return Page[QuoteSummaryOut](
        items=[quote_summary_out(q) for q in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, _created),
    )


@router.post("", status_code=201, response_model=QuoteOut)
def create_quote(body: QuoteIn, ctx: Ctx, key: Writer) -> QuoteOut:
    """A draft quote, version 1, with no number yet: milestones on a fixed-price engagement,
    a mini-quote on a time-and-material one."""
    quote = quotes.create_quote(
        ctx,
        organization_id=key.organization_id,
        engagement_id=body.engagement_id,
        title=body.title,
        items=[i.to_input() for i in body.items],
        total=body.total,
    )
    return _current(ctx, key.organization_id, quote.id)


@router.get("/{quote_id}", response_model=QuoteOut)
def get_quote(quote_id: str, ctx: Ctx, key: Reader) -> QuoteOut:
    return _current(ctx, key.organization_id, quote_id)


@router.post("/{quote_id}/revise", response_model=QuoteOut)
def revise_quote(quote_id: str, body: QuoteReviseIn, ctx: Ctx, key: Writer) -> QuoteOut:
    """A new version of a draft or sent quote; what is not given is kept. A sent quote's new
    version is hashed at once, and an acceptance of the version before it is refused."""
    quotes.revise_quote(
        ctx,
        organization_id=key.organization_id,
        quote_id=quote_id,
        title=body.title,
        items=None if body.items is None else [i.to_input() for i in body.items],
        total=body.total,
    )
    return _current(ctx, key.organization_id, quote_id)


@router.post("/{quote_id}/send", response_model=QuoteSentOut)
def send_quote(quote_id: str, request: Request, ctx: Ctx, key: Writer) -> QuoteSentOut:
    """Send a draft: it takes the next number of the quote series, every version is hashed,
    and each AP contact gets a private link (returned once, here)."""
    issued: list[IssuedLink] = []
    quotes.send_quote(ctx, organization_id=key.organization_id, quote_id=quote_id, issued=issued)
    return QuoteSentOut(
        quote=_current(ctx, key.organization_id, quote_id), links=links_out(request, issued)
    )


@router.post("/{quote_id}/accept", response_model=QuoteOut)
def accept_quote(quote_id: str, body: AcceptIn, ctx: Ctx, key: Writer) -> QuoteOut:
    """Record the client's acceptance of the current version by the name they typed (their
    link does this itself). A fixed-price quote's items become planned milestones."""
    quotes.accept_quote(
        ctx,
        organization_id=key.organization_id,
        quote_id=quote_id,
        name=body.name,
        shown_hash=body.shown_hash,
    )
    return _current(ctx, key.organization_id, quote_id)


@router.post("/{quote_id}/decline", response_model=QuoteOut)
def decline_quote(quote_id: str, body: DeclineIn, ctx: Ctx, key: Writer) -> QuoteOut:
    """Record that the client declined a sent quote, and why."""
    quotes.decline_quote(
        ctx, organization_id=key.organization_id, quote_id=quote_id, reason=body.reason
    )
    return _current(ctx, key.organization_id, quote_id)


@router.post("/{quote_id}/work-items", response_model=QuoteOut)
def link_work(quote_id: str, body: LinkWorkIn, ctx: Ctx, key: Writer) -> QuoteOut:
    """Put unapproved work under this mini-quote, all or none: its acceptance approves the
    work (at once when it is already accepted)."""
    quotes.link_work_to_quote(
        ctx,
        organization_id=key.organization_id,
        quote_id=quote_id,
        work_item_ids=body.work_item_ids,
    )
    return _current(ctx, key.organization_id, quote_id)
