"""CSRF protection of the recipient's forms: a per-browser cookie and an HMAC form field.

The browser holds a random value in an HttpOnly, SameSite=Strict cookie; every form carries
``HMAC-SHA256(secret, cookie value, link id)``. A POST is accepted only when the field
verifies against the cookie the browser sent, so another site can neither read the field
(same-origin policy) nor make the browser send the cookie (SameSite=Strict), and a field
copied from one link's page does not verify on another link.

The secret is ``ctx.settings["secret_key"]``, or a random one made once per process: forms
then stop verifying when the process restarts (the recipient reloads the page), and several
worker processes need the configured secret to accept each other's forms.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response

COOKIE_NAME = "eb_csrf"
FIELD_NAME = "csrf_token"
# Only the recipient's pages read it; the rest of the application never sees it.
COOKIE_PATH = "/l/"
COOKIE_BYTES = 32
# A cookie longer than this was not made here; refusing it bounds the work an HMAC costs.
MAX_COOKIE_LENGTH = 128


def secret_from(settings: Mapping[str, object]) -> bytes:
    """The configured ``secret_key``, else a per-process random secret."""
    configured = settings.get("secret_key")
    if isinstance(configured, bytes) and configured:
        return configured
    if isinstance(configured, str) and configured:
        return configured.encode()
    return secrets.token_bytes(32)


class CsrfGuard:
    """Makes and checks the form field for one browser cookie and one link."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @staticmethod
    def browser_cookie(request: Request) -> str | None:
        value = request.cookies.get(COOKIE_NAME)
        if not value or len(value) > MAX_COOKIE_LENGTH:
            return None
        return value

    def cookie_for(self, request: Request) -> tuple[str, bool]:
        """The browser's cookie value, or a new one; the flag says whether it is new.

        An existing cookie is kept so that pages open in other tabs keep working. A link
        opened from a webmail is a cross-site navigation that does not carry a SameSite=Strict
        cookie: the page then sets a new one, and the forms it renders use that one.
        """
        existing = self.browser_cookie(request)
        if existing is not None:
            return existing, False
        return secrets.token_urlsafe(COOKIE_BYTES), True

    def field_for(self, cookie: str, link_id: str) -> str:
        message = f"{cookie}\x00{link_id}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, request: Request, field: str, link_id: str) -> bool:
        cookie = self.browser_cookie(request)
        if cookie is None or not field:
            return False
        return hmac.compare_digest(self.field_for(cookie, link_id).encode(), field.encode())

    @staticmethod
    def set_cookie(response: Response, request: Request, cookie: str) -> None:
        # A session cookie: it lives as long as the browser session, which is as long as an
        # open page's forms need it.
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
