"""Signing in and out, and the server's root: ``/`` leads to the invoices or to /login.

Only these routes are public. A failed sign-in says the same whatever was wrong; after ten
failures a minute from one address the form answers 429 for a while (the colleague's
``FailedLookupLimiter``, which the recipient pages use for unknown tokens).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from engagebill.domain.errors import ValidationError
from engagebill.entrypoints.web.agency.pages import (
    local_path,
    protected_router,
    redirect,
    render,
)
from engagebill.entrypoints.web.agency.session import (
    LOGIN_COOKIE,
    LOGIN_PATH,
    CurrentUser,
    clear_session_cookie,
    context_of,
    login_form_token,
    login_form_verified,
    session_token,
    set_login_cookie,
    set_session_cookie,
    signed_in_or_none,
)
from engagebill.entrypoints.web.ratelimit import FailedLookupLimiter, client_key
from engagebill.services import users
from engagebill.services.access import Unauthorized

PUBLIC_TAG = "agency-public"
HOME = "/invoices"
RETRY_AFTER_SECONDS = 60

public = APIRouter(include_in_schema=False, tags=[PUBLIC_TAG])
account = protected_router()

FormText = Annotated[str, Form()]


def _limiter(request: Request) -> FailedLookupLimiter:
    limiter: FailedLookupLimiter = request.app.state.agency_login_limiter
    return limiter


@public.get("/", name="app.home")
def home(request: Request) -> RedirectResponse:
    """Signed in: the invoices; otherwise the sign-in page."""
    target = HOME if signed_in_or_none(request) is not None else LOGIN_PATH
    return RedirectResponse(target, status_code=303)


def _login_page(
    request: Request, *, next_path: str, email: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    token, new = login_form_token(request)
    response = render(
        request,
        "app/login.html",
        status=status,
        title="Sign in",
        login_token=token,
        next_path=next_path,
        email=email,
        error=error,
    )
    if new:
        set_login_cookie(response, request, token)
    return response


@public.get(LOGIN_PATH, name="app.login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> Response:
    """The sign-in form; a signed-in user goes straight on."""
    next_path = local_path(next, HOME)
    if signed_in_or_none(request) is not None:
        return RedirectResponse(next_path, status_code=303)
    return _login_page(request, next_path=next_path)


@public.post(LOGIN_PATH)
def login(
    request: Request,
    email: FormText = "",
    password: FormText = "",
    login_token: FormText = "",
    next: FormText = "",
) -> Response:
    next_path = local_path(next, HOME)
    if not login_form_verified(request, login_token):
        return _login_page(
            request,
            next_path=next_path,
            email=email,
            error="The sign-in form had expired. Please sign in again.",
            status=403,
        )
    address = client_key(request.client.host if request.client else None)
    try:
        started = users.sign_in(context_of(request), email=email, password=password)
    except (Unauthorized, ValidationError) as refused:
        if _limiter(request).record_failure(address):
            response = _login_page(
                request,
                next_path=next_path,
                email=email,
                error="Too many attempts. Wait a minute, then try again.",
                status=429,
            )
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        message = (
            refused.message
            if isinstance(refused, Unauthorized)
            else "that email address and password do not match an account"
        )
        return _login_page(
            request, next_path=next_path, email=email, error=message[:1].upper() + message[1:]
        )
    signed_in = redirect(request, next_path)
    set_session_cookie(signed_in, request, started.token)
    signed_in.delete_cookie(LOGIN_COOKIE, path=LOGIN_PATH)
    return signed_in


@account.post("/logout", name="app.logout")
def logout(request: Request, signed_in: CurrentUser) -> RedirectResponse:
    """End the session: it stops working at once, whoever holds the cookie."""
    users.end_session(context_of(request), token=session_token(request))
    response = redirect(request, LOGIN_PATH, done="You are signed out.")
    clear_session_cookie(response)
    return response
