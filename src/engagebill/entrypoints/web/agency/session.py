"""Who is signed in, and whether a form came from our own page.

* The session cookie (``eb_session``) holds a random token; the server keeps only its SHA-256
  (``services.users``). It is HttpOnly (scripts cannot read it), SameSite=Lax (other sites'
  forms and scripts do not send it; following a link to the app does) and Secure over HTTPS.
* ``current_user`` is the dependency every agency route has: it resolves the cookie to a
  ``SignedIn`` or raises ``SignInRequired`` (pages redirect to /login, POSTs get a 401).
* CSRF: every POST form carries ``csrf_token`` = HMAC-SHA256(session token, purpose). The
  session token is the per-session secret: it never leaves the server or the HttpOnly cookie,
  so another site can neither read the field from our pages nor compute it, and the field
  dies with the session. ``verify_csrf`` checks it on every unsafe request (403 otherwise).
* The sign-in form has no session yet: it uses a double-submit cookie (``eb_login``,
  SameSite=Strict, path /login) whose value the form repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from engagebill.domain.errors import ValidationError
from engagebill.domain.users import User
from engagebill.services import users
from engagebill.services.access import Unauthorized
from engagebill.services.ports import Context
from engagebill.services.users import SESSION_LIFETIME

SESSION_COOKIE = "eb_session"
LOGIN_COOKIE = "eb_login"
LOGIN_PATH = "/login"
CSRF_FIELD = "csrf_token"
MAX_TOKEN_LENGTH = 200  # a token from ``secrets.token_urlsafe(32)`` has 43 characters
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page, form posts are refused (401)."""


class CsrfRefused(Exception):
    """A form post without the session's CSRF field (403)."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The user behind a request, with the CSRF field their forms carry."""

    user: User
    csrf_token: str

    @property
    def organization_id(self) -> str:
        return self.user.organization_id


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def csrf_token_for(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"engagebill agency csrf", hashlib.sha256).hexdigest()


def session_token(request: Request) -> str:
    token = request.cookies.get(SESSION_COOKIE, "")
    return token if 0 < len(token) <= MAX_TOKEN_LENGTH else ""


def current_user(request: Request) -> SignedIn:
    """The signed-in user, or ``SignInRequired``."""
    cached = getattr(request.state, "signed_in", None)
    if isinstance(cached, SignedIn):
        return cached
    token = session_token(request)
    if not token:
        raise SignInRequired
    try:
        user = users.user_for_session(context_of(request), token)
    except Unauthorized:
        raise SignInRequired from None
    signed_in = SignedIn(user, csrf_token_for(token))
    request.state.signed_in = signed_in
    return signed_in


def signed_in_or_none(request: Request) -> SignedIn | None:
    try:
        return current_user(request)
    except SignInRequired:
        return None


def _holds_nul(values: list[str]) -> bool:
    return any("\x00" in value for value in values)


async def verify_csrf(
    request: Request, signed_in: Annotated[SignedIn, Depends(current_user)]
) -> None:
    """Refuse an unsafe request whose form lacks the session's CSRF field; refuse NUL
    characters anywhere in it (no name or number holds one, and PostgreSQL cannot store
    them)."""
    query = [item for pair in request.query_params.multi_items() for item in pair]
    if _holds_nul([request.url.path, *query]):
        raise ValidationError(
            "text must not contain NUL characters", code="validation.nul_character"
        )
    if request.method in SAFE_METHODS:
        return
    form = await request.form()  # cached on the request: the route's Form() fields reuse it
    field = form.get(CSRF_FIELD)
    if not isinstance(field, str) or not hmac.compare_digest(
        field.encode(), signed_in.csrf_token.encode()
    ):
        raise CsrfRefused
    values = [v for pair in form.multi_items() for v in pair if isinstance(v, str)]
    if _holds_nul(values):
        raise ValidationError(
            "text must not contain NUL characters", code="validation.nul_character"
        )
    request.state.form = form  # sync routes read it with ``form_of``


def form_of(request: Request) -> FormData:
    """The form of a POST, as ``verify_csrf`` parsed it (for repeated fields, such as the
    rows of the line editor, that ``Form()`` parameters do not express well)."""
    form = getattr(request.state, "form", None)
    return form if isinstance(form, FormData) else FormData()


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


# The sign-in form: a double-submit cookie, since there is no session to key a field on.
def login_form_token(request: Request) -> tuple[str, bool]:
    """The browser's sign-in form token, or a new one; the flag says whether it is new."""
    existing = request.cookies.get(LOGIN_COOKIE, "")
    if 0 < len(existing) <= MAX_TOKEN_LENGTH:
        return existing, False
    return secrets.token_urlsafe(32), True


def set_login_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path=LOGIN_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def login_form_verified(request: Request, field: str) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not field or len(cookie) > MAX_TOKEN_LENGTH:
        return False
    return hmac.compare_digest(cookie.encode(), field.encode())


CurrentUser = Annotated[SignedIn, Depends(current_user)]
