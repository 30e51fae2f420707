"""Private links: the recipient's capability to view and act on one document, with no account.

Sending an invoice or a quote issues one link per AP contact of the client: a 256-bit random
token (from ``ctx.tokens``) of which only the SHA-256 is stored, scoped to that document and
recipient, expiring after ``link_days`` (180 by default) and revocable by the agency. The
token exists in clear only in the value returned here and in the message that carries it.
Every action taken through a link is done as that recipient, on that document only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from engagebill.domain.access import DocumentType, PrivateLink, token_hash
from engagebill.domain.errors import Gone, NotFound, RuleViolation
from engagebill.domain.events import DomainEvent
from engagebill.domain.invoices import Invoice
from engagebill.services.ports import Context, UnitOfWork
from engagebill.services.validation import check_email, clean_text

DEFAULT_LINK_DAYS = 180


@dataclass(frozen=True, slots=True)
class IssuedLink:
    """A link just created, with its token: the only moment the token is known."""

    link: PrivateLink
    token: str


def _link_days(ctx: Context) -> int:
    days = ctx.settings.get("link_days", DEFAULT_LINK_DAYS)
    return int(days) if isinstance(days, (int, str)) else DEFAULT_LINK_DAYS


def issue_link(
    ctx: Context,
    uow: UnitOfWork,
    *,
    organization_id: str,
    document_type: DocumentType,
    document_id: str,
    recipient_email: str,
    recipient_name: str = "",
) -> IssuedLink:
    """Create one link inside the caller's transaction."""
    token = ctx.tokens()
    now = ctx.clock.now()
    link = PrivateLink(
        id=ctx.ids("lnk"),
        organization_id=organization_id,
        document_type=document_type,
        document_id=document_id,
        recipient_name=clean_text(recipient_name, "recipient name", max_length=200),
        recipient_email=check_email(recipient_email),
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + timedelta(days=_link_days(ctx)),
    )
    uow.links.add(link)
    uow.events.append(
        organization_id,
        [
            DomainEvent(
                "link.issued",
                document_type.value,
                document_id,
                now,
                {
                    "link_id": link.id,
                    "recipient": link.recipient_email,
                    "expires_at": link.expires_at.isoformat(),
                },
            )
        ],
    )
    return IssuedLink(link, token)


def issue_links_to_contacts(
    ctx: Context,
    uow: UnitOfWork,
    *,
    organization_id: str,
    document_type: DocumentType,
    document_id: str,
    client_id: str,
) -> list[IssuedLink]:
    """One link per AP contact of the client."""
    client = uow.clients.get(organization_id, client_id)
    return [
        issue_link(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=document_type,
            document_id=document_id,
            recipient_email=contact.email,
            recipient_name=contact.name,
        )
        for contact in client.contacts
    ]


def create_link(
    ctx: Context,
    *,
    organization_id: str,
    document_type: str,
    document_id: str,
    recipient_email: str,
    recipient_name: str = "",
) -> IssuedLink:
    """An extra link for someone who is not (yet) an AP contact, e.g. a project lead asked to
    sign off a milestone."""
    kind = DocumentType(document_type)
    with ctx.uow() as uow:
        _check_document(uow, organization_id, kind, document_id)
        issued = issue_link(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=kind,
            document_id=document_id,
            recipient_email=recipient_email,
            recipient_name=recipient_name,
        )
        uow.commit()
    return issued


def _check_document(
    uow: UnitOfWork, organization_id: str, kind: DocumentType, document_id: str
) -> None:
    if kind is DocumentType.INVOICE:
        invoice = uow.invoices.get(organization_id, document_id)
        if invoice.number is None:
            raise RuleViolation(
                "a draft has no recipient yet: send it first", code="link.document_not_sent"
            )
    elif kind is DocumentType.QUOTE:
        uow.quotes.get(organization_id, document_id)
    else:
        uow.quotes.get_milestone(organization_id, document_id)


def resolve(uow: UnitOfWork, token: str, now: datetime) -> PrivateLink:
    """The link a token opens, or NotFound (unknown) / Gone (revoked or expired)."""
    link = uow.links.by_token_hash(token_hash(token))
    if link is None:
        raise NotFound("this link is not valid", code="link.not_found")
    if link.revoked_at is not None:
        raise Gone("this link has been revoked by the sender", code="link.revoked")
    if not link.usable_at(now):
        raise Gone("this link has expired; ask the sender for a new one", code="link.expired")
    return link


def open_link(ctx: Context, token: str) -> PrivateLink:
    with ctx.read() as uow:
        return resolve(uow, token, ctx.clock.now())


def record_view(ctx: Context, token: str) -> PrivateLink:
    """Record that the recipient opened the document; the first view of a sent invoice moves
    it to viewed."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        link = resolve(uow, token, now)
        note_view(uow, link, now)
        uow.commit()
    return link


def note_view(uow: UnitOfWork, link: PrivateLink, now: datetime) -> Invoice | None:
    """Record a view through ``link`` in the caller's transaction; the invoice viewed, as it
    is now, when the link is an invoice's."""
    uow.links.record_view(link, now)
    if link.document_type is DocumentType.INVOICE:
        invoice = uow.invoices.get(link.organization_id, link.document_id, for_update=True)
        invoice.view(now, viewer=link.recipient)
        uow.invoices.save(invoice)
        uow.events.append(link.organization_id, invoice.pending_events)
        invoice.pending_events.clear()
        return invoice
    uow.events.append(
        link.organization_id,
        [
            DomainEvent(
                f"{link.document_type.value}.viewed",
                link.document_type.value,
                link.document_id,
                now,
                {"viewer": link.recipient, "link_id": link.id},
            )
        ],
    )
    return None


def revoke_link(ctx: Context, *, organization_id: str, link_id: str) -> PrivateLink:
    now = ctx.clock.now()
    with ctx.uow() as uow:
        link = uow.links.get(organization_id, link_id)
        uow.links.revoke(organization_id, link_id, now)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "link.revoked",
                    link.document_type.value,
                    link.document_id,
                    now,
                    {"link_id": link_id},
                )
            ],
        )
        revoked = uow.links.get(organization_id, link_id)
        uow.commit()
    return revoked


def links_for(ctx: Context, *, organization_id: str, document_id: str) -> list[PrivateLink]:
    with ctx.read() as uow:
        return uow.links.for_document(organization_id, document_id)
