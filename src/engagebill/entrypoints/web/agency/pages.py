"""The kit every page of the agency's app is built with: the layout's navigation, rendering,
flash messages, POST/redirect/GET, and the router that guards a page.

A new page (the billing run, reports ...) is a route on ``protected_router()``; it gets the
signed-in user and CSRF checking for free, renders a template that extends
``app/base.html`` with ``render()``, and answers a form with ``act()``. Its navigation slot
lights up by itself once a route named in ``NAV`` exists.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment
from starlette.routing import NoMatchFound

from engagebill.domain.errors import DomainError, NotFound
from engagebill.entrypoints.web.agency.session import (
    CSRF_FIELD,
    SignedIn,
    current_user,
    verify_csrf,
)

AGENCY_TAG = "agency"
FLASH_COOKIE = "eb_app_flash"
MAX_FLASH = 600  # characters: a cookie is not the place for an essay

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NavItem:
    """A slot of the layout's navigation: shown once a route of that name exists."""

    label: str
    route: str


# The order of the navigation, by route name. Names start with "app." so that they never meet
# the API's route names (``url_path_for`` searches the mounted API too). "app.billing_run" and
# "app.reports" are slots for pages still to come: name their routes so, and they appear.
NAV = (
    NavItem("Invoices", "app.invoices"),
    NavItem("Clients", "app.clients"),
    NavItem("Chase list", "app.chase"),
    NavItem("Billing run", "app.billing_run"),
    NavItem("Reports", "app.reports"),
    NavItem("Settings", "app.settings"),
)


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    url: str
    current: bool


def navigation(request: Request) -> list[NavLink]:
    links = []
    for item in NAV:
        try:
            url = str(request.app.url_path_for(item.route))
        except NoMatchFound:
            continue  # a slot whose page does not exist yet
        path = request.url.path
        links.append(NavLink(item.label, url, path == url or path.startswith(url + "/")))
    return links


def protected_router(**kwargs: Any) -> APIRouter:
    """A router whose every route needs a signed-in user, and a CSRF field on every POST."""
    return APIRouter(
        include_in_schema=False,
        tags=[AGENCY_TAG],
        dependencies=[Depends(current_user), Depends(verify_csrf)],
        **kwargs,
    )


# --- flash messages ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Flash:
    """What the page after a redirect confirms (``done``) or reports refused (``refused``)."""

    kind: str
    text: str


def _encode_flash(flash: Flash) -> str:
    data = json.dumps({"k": flash.kind, "t": flash.text[:MAX_FLASH]}).encode()
    return base64.urlsafe_b64encode(data).decode()


def read_flash(request: Request) -> Flash | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw or len(raw) > 4 * MAX_FLASH:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        kind, text = data["k"], data["t"]
    except (ValueError, KeyError, TypeError):
        return None
    if kind not in ("done", "refused") or not isinstance(text, str):
        return None
    return Flash(kind, text[:MAX_FLASH])


def redirect(request: Request, url: str, *, done: str = "", refused: str = "") -> RedirectResponse:
    """303 to ``url``, carrying a flash message for the page it lands on."""
    response = RedirectResponse(url, status_code=303)
    if done or refused:
        flash = Flash("refused", refused) if refused else Flash("done", done)
        response.set_cookie(
            FLASH_COOKIE,
            _encode_flash(flash),
            max_age=60,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def local_path(candidate: str | None, default: str) -> str:
    """``candidate`` when it is a path of this site, else ``default``: a ``next`` parameter
    must never send the browser elsewhere (an open redirect)."""
    if (
        not candidate
        or not candidate.startswith("/")
        or candidate.startswith("//")
        or "\\" in candidate
        or any(ord(c) < 32 for c in candidate)
        or len(candidate) > 2000
    ):
        return default
    return candidate


def with_query(path: str, **params: str | int | None) -> str:
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


# --- rendering ---------------------------------------------------------------------------------
def templates_of(request: Request) -> Environment:
    environment: Environment = request.app.state.agency_templates
    return environment


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    title: str = "",
    **context: Any,
) -> HTMLResponse:
    """Render a page of the app: the layout gets the user, the navigation, the CSRF field and
    the flash message; the flash is consumed."""
    signed_in: SignedIn | None = getattr(request.state, "signed_in", None)
    flash = read_flash(request)
    html = (
        templates_of(request)
        .get_template(template)
        .render(
            request_path=request.url.path,
            user=signed_in.user if signed_in else None,
            csrf_field=CSRF_FIELD,
            csrf_token=signed_in.csrf_token if signed_in else "",
            nav=navigation(request) if signed_in else [],
            flash=flash,
            title=title,
            **context,
        )
    )
    response = HTMLResponse(html, status)
    # Pages show a client's money: no shared cache keeps them, and Back after signing out
    # does not show them again from the browser's cache.
    response.headers["Cache-Control"] = "no-store"
    if flash is not None or FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


# --- POST/redirect/GET -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Outcome:
    """Where an action that succeeded leads, and what the page there confirms."""

    message: str
    to: str | None = None  # default: back where the form was


def act(
    request: Request,
    action: Callable[[], T],
    *,
    back: str,
    outcome: Callable[[T], Outcome],
) -> RedirectResponse:
    """Run one use case for a form; redirect with its confirmation, or back with the domain's
    refusal (nothing was written: every use case is one transaction). An unknown or another
    organization's document is a 404 page (``NotFound`` reaches the app's handler)."""
    try:
        result = action()
    except NotFound:
        raise
    except DomainError as error:
        return redirect(request, back, refused=error.message)
    done = outcome(result)
    return redirect(request, done.to or back, done=done.message)
