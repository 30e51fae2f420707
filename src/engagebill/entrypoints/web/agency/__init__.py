"""The agency's web app at the server's root: where account managers live.

Sign in at /login (``auth_routes``); then the invoices (``invoice_routes``), the four
questions per client and the chase list (``client_routes``), an engagement's POs, milestones
and work (``engagement_routes``), quotes (``quote_routes``), invoice templates
(``template_routes``), and the organization's email and webhook settings
(``settings_routes``). Server-rendered Jinja2 (templates/app/), one stylesheet
(static/app.css), plain forms with POST/redirect/GET; no front-end build.

This package owns the app's plumbing: ``session`` (the signed-in user, CSRF), ``pages``
(layout navigation, rendering, flash messages, ``act``), ``forms`` (parsing) and ``present``
(words). Every route outside ``PUBLIC_PATHS`` is on a ``pages.protected_router()``: no page
opens and no form posts without a session and its CSRF field.

Errors are answered here: no session sends a page to /login and refuses a POST with 401; a
missing CSRF field is a 403; a domain error that reaches a page (``NotFound`` for another
organization's invoice, a refused input) is rendered with its message and the status of its
class, never a 500.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from engagebill.domain.errors import DomainError, NotFound
from engagebill.entrypoints.api.problems import status_of
from engagebill.entrypoints.web.agency import (
    auth_routes,
    calendar_routes,
    client_routes,
    engagement_routes,
    invoice_routes,
    quote_routes,
    report_routes,
    run_routes,
    settings_routes,
    template_routes,
)
from engagebill.entrypoints.web.agency.pages import render, with_query
from engagebill.entrypoints.web.agency.present import make_agency_templates
from engagebill.entrypoints.web.agency.session import (
    LOGIN_PATH,
    SAFE_METHODS,
    SESSION_COOKIE,
    CsrfRefused,
    SignInRequired,
    clear_session_cookie,
)
from engagebill.entrypoints.web.ratelimit import FailedLookupLimiter
from engagebill.services.ports import Context

# Every path that opens without a session, on purpose; the e2e test checks all others.
PUBLIC_PATHS = frozenset(
    {
        "/",
        LOGIN_PATH,
        "/calendar/{token}.ics",  # the calendar feed's capability URL (404 for unknown tokens)
    }
)

ROUTERS = [
    auth_routes.public,
    auth_routes.account,
    invoice_routes.router,
    client_routes.router,
    template_routes.router,
    run_routes.router,
    engagement_routes.router,
    quote_routes.router,
    report_routes.router,
    settings_routes.router,
    calendar_routes.router,
    calendar_routes.public,
]


def _sign_in_required(request: Request, exc: Exception) -> Response:
    if request.method in SAFE_METHODS:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(with_query(LOGIN_PATH, next=target), status_code=303)
    else:
        response = render(request, "app/signed_out.html", status=401, title="Please sign in")
    if SESSION_COOKIE in request.cookies:
        clear_session_cookie(response)  # an ended session's cookie is of no further use
    return response


def _csrf_refused(request: Request, exc: Exception) -> HTMLResponse:
    return render(request, "app/csrf_failed.html", status=403, title="Form expired")


def _domain_error(request: Request, exc: Exception) -> HTMLResponse:
    assert isinstance(exc, DomainError)
    if isinstance(exc, NotFound):
        return render(request, "app/not_found.html", status=404, title="Not found")
    return render(
        request, "app/error.html", status=status_of(exc), title="Not possible", message=exc.message
    )


def install(app: FastAPI, ctx: Context) -> None:
    """Serve the agency's app from ``app`` (the static files are mounted by the recipient
    pages' ``install``, at /static)."""
    app.state.agency_templates = make_agency_templates()
    app.state.agency_login_limiter = FailedLookupLimiter()
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    # Only the app's own routes let a domain error through: the recipient pages answer their
    # own, and the API is a mounted application with its own handlers.
    app.add_exception_handler(DomainError, _domain_error)
