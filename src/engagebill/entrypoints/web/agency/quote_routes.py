"""Quotes in the agency's app: drafted on an engagement's page, sent to the client's AP
contacts (each gets a private link by email, on which the client accepts by typing their name
or declines), and one quote's page: its versions, what was accepted by whom and when, bound to
the hash of the version shown, and the milestones or work its acceptance planned or approved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from engagebill.domain.errors import ValidationError
from engagebill.domain.quotes import Quote, QuoteState
from engagebill.entrypoints.web import money
from engagebill.entrypoints.web.agency.pages import Outcome, act, protected_router, render
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of
from engagebill.services import links, queries, quotes
from engagebill.services.links import IssuedLink
from engagebill.services.quotes import QuoteItemInput, parse_item

router = protected_router()
FormText = Annotated[str, Form()]
MAX_ITEM_LINES = 100


def quote_url(quote_id: str) -> str:
    return f"/quotes/{quote_id}"


def items_from_text(text: str) -> list[QuoteItemInput]:
    """One item a line, ``NAME | DESCRIPTION | AMOUNT`` (the description may be left out)."""
    rows = [row for row in text.splitlines() if row.strip()]
    if not rows:
        raise ValidationError("a quote needs at least one item", code="quote.no_items")
    if len(rows) > MAX_ITEM_LINES:
        raise ValidationError(
            f"a quote takes at most {MAX_ITEM_LINES} items", code="quote.too_many_items"
        )
    return [parse_item(row if row.count("|") >= 2 else row.replace("|", "||", 1)) for row in rows]


@router.get("/quotes/{quote_id}", name="app.quote", response_class=HTMLResponse)
def quote_page(request: Request, signed_in: CurrentUser, quote_id: str) -> HTMLResponse:
    ctx = context_of(request)
    organization_id = signed_in.organization_id
    detail = quotes.get_quote(ctx, organization_id=organization_id, quote_id=quote_id)
    quote = detail.quote
    engagement = queries.get_engagement(
        ctx, organization_id=organization_id, engagement_id=quote.engagement_id
    )
    client = queries.get_client(ctx, organization_id=organization_id, client_id=quote.client_id)
    return render(
        request,
        "app/quote.html",
        title=_title(quote),
        detail=detail,
        quote=quote,
        engagement=engagement,
        client=client,
        sendable=quote.state is QuoteState.DRAFT,
        revisable=quote.state in (QuoteState.DRAFT, QuoteState.SENT),
        items_text="\n".join(
            f"{i.name} | {i.description} | {i.amount.decimal_string()}" for i in quote.current.items
        ),
        recipients=links.links_for(ctx, organization_id=organization_id, document_id=quote.id),
    )


def _title(quote: Quote) -> str:
    return f"Quote {quote.number}" if quote.number else "Draft quote"


@router.post("/engagements/{engagement_id}/quotes")
def create_quote(
    request: Request,
    signed_in: CurrentUser,
    engagement_id: str,
    title: FormText = "",
    items: FormText = "",
) -> RedirectResponse:
    """A draft quote on the engagement, from the items typed one a line."""
    return act(
        request,
        lambda: quotes.create_quote(
            context_of(request),
            organization_id=signed_in.organization_id,
            engagement_id=engagement_id,
            title=title,
            items=items_from_text(items),
        ),
        back=f"/engagements/{engagement_id}",
        outcome=lambda quote: Outcome(
            f"Draft quote saved, {money(quote.current.total)}. Send it when it is ready.",
            to=quote_url(quote.id),
        ),
    )


@router.post("/quotes/{quote_id}/send")
def send_quote(request: Request, signed_in: CurrentUser, quote_id: str) -> RedirectResponse:
    """Send a draft: it takes its number, and each AP contact is emailed a private link."""
    issued: list[IssuedLink] = []
    return act(
        request,
        lambda: quotes.send_quote(
            context_of(request),
            organization_id=signed_in.organization_id,
            quote_id=quote_id,
            issued=issued,
        ),
        back=quote_url(quote_id),
        outcome=lambda quote: Outcome(
            f"Quote {quote.number} sent: a private link went to {len(issued)} AP contact(s), "
            "who accept it by typing their name."
        ),
    )


@router.post("/quotes/{quote_id}/revise")
def revise_quote(
    request: Request,
    signed_in: CurrentUser,
    quote_id: str,
    title: FormText = "",
    items: FormText = "",
) -> RedirectResponse:
    """A new version with the title and items as now typed. A sent quote's new version is what
    its link shows from now on; an acceptance of the version before it is refused."""
    return act(
        request,
        lambda: quotes.revise_quote(
            context_of(request),
            organization_id=signed_in.organization_id,
            quote_id=quote_id,
            title=title,
            items=items_from_text(items),
        ),
        back=quote_url(quote_id),
        outcome=lambda quote: Outcome(
            f"Version {quote.current.version} saved, {money(quote.current.total)}."
            + (" The client's link shows it now." if quote.number else "")
        ),
    )
