"""Use cases for agency users: create one, check a password, and run web sessions.

* Passwords are hashed with argon2id (argon2-cffi; the RFC 9106 low-memory profile). Only the
  hash is stored; a hash made with weaker parameters is upgraded at the next sign-in.
* ``authenticate`` answers an unknown email address and a wrong password with the same error
  after the same work: an unknown address is checked against a dummy hash, so neither the
  message nor the time tells whether an address has an account.
* A session is server-side: ``start_session`` returns a random token (``ctx.tokens``) for the
  browser's cookie and stores only its SHA-256; ``user_for_session`` accepts the token until
  the session expires or ``end_session`` revokes it.

``ctx.settings["password_hashing"] = "fast"`` swaps in argon2's cheapest parameters. It exists
for test suites, which sign in hundreds of times; never set it in production.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from engagebill.domain.access import token_hash
from engagebill.domain.errors import ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.parties import require_text
from engagebill.domain.users import User, WebSession, normalise_email
from engagebill.services.access import Unauthorized
from engagebill.services.ports import Context
from engagebill.services.validation import check_email

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this bounds the work one request costs
SESSION_LIFETIME = timedelta(hours=12)  # a working day: sign in each morning


class InvalidCredentials(Unauthorized):
    default_code = "auth.invalid_credentials"


class SessionEnded(Unauthorized):
    default_code = "auth.session_ended"


@dataclass(frozen=True, slots=True)
class StartedSession:
    """A session just started, with its token: the only moment the token is known."""

    session: WebSession
    token: str
    user: User


@functools.cache
def _hasher(profile: str) -> PasswordHasher:
    if profile == "fast":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


@functools.cache
def _dummy_hash(profile: str) -> str:
    # Made once per process with the same parameters as real hashes, so that checking an
    # unknown address costs what checking a known one costs.
    return _hasher(profile).hash("engagebill: no such user")


def _profile(ctx: Context) -> str:
    return "fast" if ctx.settings.get("password_hashing") == "fast" else "default"


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            code="user.password_too_short",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            f"a password is limited to {MAX_PASSWORD_LENGTH} characters",
            code="user.password_too_long",
        )
    return password


def create_user(
    ctx: Context, *, organization_id: str, email: str, name: str, password: str
) -> User:
    """A user of one organization; ``user.email_taken`` when the address has an account."""
    address = normalise_email(check_email(email))
    user = User(
        id=ctx.ids("usr"),
        organization_id=organization_id,
        email=address,
        name=require_text(name, "name", max_length=200),
        password_hash=_hasher(_profile(ctx)).hash(_check_password(password)),
        created_at=ctx.clock.now(),
    )
    with ctx.uow() as uow:
        uow.organizations.get(organization_id)
        uow.users.add(user)
        uow.events.append(
            organization_id,
            [DomainEvent("user.created", "user", user.id, user.created_at, {"email": address})],
        )
        uow.commit()
    return user


def authenticate(ctx: Context, *, email: str, password: str) -> User:
    """The user with this email address and password, or ``InvalidCredentials``: the same
    error, after the same work, whichever of the two was wrong."""
    refused = InvalidCredentials(
        "that email address and password do not match an account",
        code="auth.invalid_credentials",
    )
    profile = _profile(ctx)
    hasher = _hasher(profile)
    candidate = password[:MAX_PASSWORD_LENGTH]
    with ctx.uow() as uow:
        user = uow.users.by_email(normalise_email(email))
    try:
        hasher.verify(user.password_hash if user else _dummy_hash(profile), candidate)
    except (VerificationError, InvalidHashError):
        raise refused from None
    if user is None:  # pragma: no cover - the dummy hash verifies no password
        raise refused
    if hasher.check_needs_rehash(user.password_hash):
        with ctx.uow() as uow:
            uow.users.set_password_hash(user.id, hasher.hash(candidate))
            uow.commit()
    return user


def start_session(ctx: Context, *, user_id: str) -> StartedSession:
    token = ctx.tokens()
    now = ctx.clock.now()
    session = WebSession(
        id=token_hash(token), user_id=user_id, created_at=now, expires_at=now + SESSION_LIFETIME
    )
    with ctx.uow() as uow:
        user = uow.users.get(user_id)
        if user is None:
            raise SessionEnded("no such user", code="auth.unknown_user")
        uow.users.add_session(session)
        uow.commit()
    return StartedSession(session, token, user)


def sign_in(ctx: Context, *, email: str, password: str) -> StartedSession:
    """``authenticate``, then ``start_session``: what the sign-in form does."""
    user = authenticate(ctx, email=email, password=password)
    return start_session(ctx, user_id=user.id)


def end_session(ctx: Context, *, token: str) -> None:
    """Revoke the session of a token; an unknown or ended one is left as it is."""
    with ctx.uow() as uow:
        uow.users.revoke_session(token_hash(token))
        uow.commit()


def user_for_session(ctx: Context, token: str) -> User:
    """The signed-in user of a session token, or ``SessionEnded``."""
    ended = SessionEnded("please sign in", code="auth.session_ended")
    if not token:
        raise ended
    with ctx.uow() as uow:
        session = uow.users.session(token_hash(token))
        if session is None or not session.usable_at(ctx.clock.now()):
            raise ended
        user = uow.users.get(session.user_id)
    if user is None:
        raise ended
    return user


def list_users(ctx: Context, *, organization_id: str) -> list[User]:
    with ctx.uow() as uow:
        return uow.users.list(organization_id)
