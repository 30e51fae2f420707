"""The calendar feed: upcoming retainer invoice days, PO expiries and invoice due dates as an
iCalendar feed (``services.calendar_feed`` picks the events, ``ical`` writes them).

* ``GET /calendar`` explains the feed and manages the private subscription URL;
* ``GET /calendar.ics`` downloads the feed for the signed-in user;
* ``POST /calendar/subscription`` (CSRF) creates a private URL, replacing any earlier one,
  and shows it once: only its token's SHA-256 is stored;
* ``GET /calendar/{token}.ics`` is that URL: calendar apps fetch it without a session. It is
  public on purpose (``public`` router) and answers 404 for any token it does not know. It
  sends ``Referrer-Policy: no-referrer`` and is never cached by a shared cache.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from engagebill.domain.errors import NotFound
from engagebill.entrypoints.web.agency import ical
from engagebill.entrypoints.web.agency.pages import AGENCY_TAG, protected_router, render
from engagebill.entrypoints.web.agency.session import MAX_TOKEN_LENGTH, CurrentUser, context_of
from engagebill.services import calendar_feed
from engagebill.services.ports import Context

router = protected_router()
public = APIRouter(include_in_schema=False, tags=[AGENCY_TAG])

FEED_NAME = "engagebill: invoices and POs"


def _ics(ctx: Context, organization_id: str) -> Response:
    feed = calendar_feed.upcoming_events(ctx, organization_id=organization_id)
    body = ical.calendar(feed.events, name=FEED_NAME, now=ctx.clock.now())
    return Response(
        body.encode("utf-8"),
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'inline; filename="engagebill.ics"',
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _page(request: Request, signed_in: CurrentUser, *, new_url: str = "") -> HTMLResponse:
    created = calendar_feed.feed_created_at(context_of(request), user_id=signed_in.user.id)
    response = render(
        request, "app/calendar.html", title="Calendar feed", created_at=created, new_url=new_url
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the page may show a capability URL
    return response


@router.get("/calendar", name="app.calendar", response_class=HTMLResponse)
def calendar_page(request: Request, signed_in: CurrentUser) -> HTMLResponse:
    return _page(request, signed_in)


@router.post("/calendar/subscription", response_class=HTMLResponse)
def create_subscription(request: Request, signed_in: CurrentUser) -> HTMLResponse:
    # Rendered, not redirected: the URL exists in clear only in this answer (like an API key),
    # and a flash cookie is no place for a capability.
    issued = calendar_feed.issue_feed_token(context_of(request), user_id=signed_in.user.id)
    url = str(request.base_url).rstrip("/") + f"/calendar/{issued.token}.ics"
    return _page(request, signed_in, new_url=url)


@router.get("/calendar.ics", name="app.calendar_ics")
def calendar_download(request: Request, signed_in: CurrentUser) -> Response:
    return _ics(context_of(request), signed_in.organization_id)


@public.get("/calendar/{token}.ics", name="app.calendar_subscription")
def calendar_subscription(request: Request, token: str) -> Response:
    ctx = context_of(request)
    if not 0 < len(token) <= MAX_TOKEN_LENGTH:
        return Response("Not found", status_code=404, media_type="text/plain")
    try:
        owner = calendar_feed.feed_owner(ctx, token=token)
    except NotFound:
        return Response(
            "Not found",
            status_code=404,
            media_type="text/plain",
            headers={"Referrer-Policy": "no-referrer"},
        )
    return _ics(ctx, owner.organization_id)
