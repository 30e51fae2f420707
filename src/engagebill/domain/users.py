"""Agency users and their web sessions: who may sign in to the agency's app, and for how long.

A user belongs to exactly one organization and sees only its data. Only an argon2 hash of the
password is kept (by ``services.users``). A web session is server-side: the browser holds a
random token in a cookie, the database only its SHA-256 (``WebSession.id``), so a stolen copy
of the table opens nothing. A session ends when it expires or when its user signs out
(``revoked``); either way it stops opening the app at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def normalise_email(email: str) -> str:
    """Sign-in addresses compare case-insensitively: ``Demo@X.example`` is ``demo@x.example``."""
    return (email or "").strip().lower()


@dataclass(slots=True)
class User:
    """An agency user: signs in with an email address and a password."""

    id: str
    organization_id: str
    email: str
    name: str
    password_hash: str
    created_at: datetime


@dataclass(slots=True)
class WebSession:
    """One signed-in browser; ``id`` is the SHA-256 of the token its cookie holds."""

    id: str
    user_id: str
    created_at: datetime
    expires_at: datetime
    revoked: bool = False

    def usable_at(self, now: datetime) -> bool:
        return not self.revoked and now < self.expires_at
