"""Delivery use cases: emails with private links, reminders, webhooks, and the worker's turn.

* Sending an invoice writes one email per recipient into the outbox in the sending
  transaction (``enqueue_link_emails``); nothing is sent from inside a transaction.
* ``fan_out_webhooks`` turns an organization's new events (the hash chain is the event
  outbox) into one delivery per subscribed endpoint, under a locked cursor.
* ``enqueue_reminders`` chases invoices sent but never opened, and overdue ones, at most once
  per invoice, rule and day, however many workers run, thanks to a unique marker.
* ``deliver_due`` claims due messages (a lease, SKIP LOCKED on PostgreSQL), delivers them
  outside any transaction, and records success or the next attempt with backoff. A delivered
  email's link is scrubbed from the stored payload: the token lives only as long as needed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import urlsplit

from engagebill.domain.access import DocumentType
from engagebill.domain.delivery import (
    WEBHOOK_EVENTS,
    Channel,
    DeliverySettings,
    OutboxMessage,
    WebhookEndpoint,
    next_attempt,
    sign,
)
from engagebill.domain.errors import ValidationError
from engagebill.domain.events import DomainEvent
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.parties import Organization
from engagebill.services.links import IssuedLink, issue_links_to_contacts
from engagebill.services.ports import Context, InvoiceFilter, Mailer, UnitOfWork, WebhookSender

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
UNOPENED_RULE = "unopened"
OVERDUE_RULE = "overdue"
OVERDUE_DAYS = (1, 7, 14, 30)  # days after the due date on which an overdue reminder goes out
LEASE = timedelta(minutes=5)


def public_url(ctx: Context) -> str:
    return str(ctx.settings.get("public_url") or DEFAULT_PUBLIC_URL).rstrip("/")


def link_url(ctx: Context, token: str) -> str:
    return f"{public_url(ctx)}/l/{token}"


# --- emails -------------------------------------------------------------------------------------


INVOICE_INVITATION = "View it, add your PO number, ask for a change or approve it here:"
QUOTE_INVITATION = "Read it, and accept it by typing your name or decline it, here:"
SIGN_OFF_INVITATION = "Review it and sign it off by typing your name here:"


def enqueue_link_emails(
    ctx: Context,
    uow: UnitOfWork,
    *,
    organization_id: str,
    document_type: DocumentType,
    document_id: str,
    subject: str,
    intro: str,
    issued: Sequence[IssuedLink],
    reason: str = "sent",
    organization: Organization | None = None,
    invitation: str = INVOICE_INVITATION,
) -> int:
    """One email per issued link, in the caller's transaction. ``organization``: the sender,
    when the caller has read it already; ``invitation``: what the link lets them do."""
    if organization is None:
        organization = uow.organizations.get(organization_id)
    settings = uow.outbox.settings(organization_id)
    now = ctx.clock.now()
    messages = []
    for item in issued:
        key = f"email:{reason}:{item.link.id}"
        url = link_url(ctx, item.token)
        text = (
            f"Hello {item.link.recipient_name or 'there'},\n\n{intro}\n\n"
            f"{invitation}\n{url}\n\n"
            "No account is needed; this link is for you only.\n\n"
            f"{organization.legal_name}\n{organization.email}\n"
        )
        messages.append(
            OutboxMessage(
                id=ctx.ids("msg"),
                organization_id=organization_id,
                channel=Channel.EMAIL,
                dedupe_key=key,
                created_at=now,
                payload={
                    "from": formataddr((organization.name, organization.email)),
                    "to": formataddr((item.link.recipient_name, item.link.recipient_email)),
                    "subject": subject,
                    "text": text,
                    "url": url,
                    "document_type": document_type.value,
                    "document_id": document_id,
                    "attach_pdf": settings.attach_pdf and document_type is DocumentType.INVOICE,
                    "message_id": f"<{key.replace(':', '.')}@engagebill>",
                },
            )
        )
    return uow.outbox.enqueue(messages)


def invoice_email_text(number: str, seller: str, amount: str, due: date) -> tuple[str, str]:
    return (
        f"Invoice {number} from {seller}",
        f"{seller} has sent you invoice {number} for {amount}, due on {due.isoformat()}.",
    )


def resend_links(ctx: Context, *, organization_id: str, invoice_id: str) -> int:
    """Send every AP contact a fresh link to an issued invoice (one click in the app)."""
    with ctx.uow() as uow:
        invoice = uow.invoices.get(organization_id, invoice_id)
        if invoice.number is None:
            raise ValidationError(
                "a draft cannot be re-sent: send it first", code="invoice.not_sent"
            )
        issued = issue_links_to_contacts(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.INVOICE,
            document_id=invoice_id,
            client_id=invoice.client_id,
        )
        organization = uow.organizations.get(organization_id)
        subject, intro = invoice_email_text(
            invoice.number,
            organization.name,
            invoice.totals().due.format(),
            invoice.current.due_date,
        )
        count = enqueue_link_emails(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.INVOICE,
            document_id=invoice_id,
            subject=f"Reminder: {subject}",
            intro=intro,
            issued=issued,
            reason="resent",
        )
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "invoice.links_resent",
                    "invoice",
                    invoice_id,
                    ctx.clock.now(),
                    {"number": invoice.number, "recipients": len(issued)},
                )
            ],
        )
        uow.commit()
    return count


# --- reminders ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReminderDue:
    invoice_id: str
    number: str
    rule: str


def reminders_due(
    rows: Sequence[Any], as_of: date, settings: DeliverySettings
) -> list[ReminderDue]:
    """Which invoices a reminder is due for today, by rule (pure: easy to reason about)."""
    due: list[ReminderDue] = []
    every = settings.unopened_after_days
    for row in rows:
        owed = row.position.outstanding
        # A void invoice, or one the advance or credit notes settled, is never reminded.
        if row.number is None or owed.amount <= 0:
            continue
        if row.state is InvoiceState.SENT and row.sent_at is not None and every > 0:
            days = (as_of - row.sent_at.date()).days
            if days >= every and days % every == 0:
                due.append(ReminderDue(row.id, row.number, UNOPENED_RULE))
        late = (as_of - row.due_date).days
        if (
            settings.overdue_reminders
            and owed.amount > 0
            and late in OVERDUE_DAYS
            and row.state not in (InvoiceState.DRAFT, InvoiceState.VOID)
        ):
            due.append(ReminderDue(row.id, row.number, OVERDUE_RULE))
    return due


def enqueue_reminders(ctx: Context, *, organization_id: str, as_of: date) -> int:
    """Enqueue today's reminders; a second run the same day (or a concurrent one) adds none."""
    with ctx.uow() as uow:
        settings = uow.outbox.settings(organization_id)
        rows = uow.invoices.list(
            organization_id,
            InvoiceFilter(
                states=[
                    InvoiceState.SENT,
                    InvoiceState.VIEWED,
                    InvoiceState.APPROVED,
                    InvoiceState.LOCKED,
                ],
                limit=100_000,
            ),
        )
    count = 0
    for reminder in reminders_due(rows, as_of, settings):
        count += _remind(ctx, organization_id, reminder, as_of)
    return count


def _remind(ctx: Context, organization_id: str, reminder: ReminderDue, as_of: date) -> int:
    now = ctx.clock.now()
    with ctx.uow() as uow:
        marker = f"reminder:{reminder.rule}:{reminder.invoice_id}:{as_of.isoformat()}"
        if not uow.outbox.claim_marker(organization_id, marker, ctx.ids("msg"), now):
            return 0
        invoice = uow.invoices.get(organization_id, reminder.invoice_id)
        organization = uow.organizations.get(organization_id)
        issued = issue_links_to_contacts(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.INVOICE,
            document_id=invoice.id,
            client_id=invoice.client_id,
        )
        amount = invoice.outstanding.format()
        if reminder.rule == UNOPENED_RULE:
            subject = f"Invoice {invoice.number} from {organization.name} is waiting for you"
            intro = (
                f"We sent you invoice {invoice.number} for {amount} and wanted to make "
                "sure it reached you."
            )
        else:
            subject = f"Invoice {invoice.number} from {organization.name} is overdue"
            intro = (
                f"Invoice {invoice.number} was due on "
                f"{invoice.current.due_date.isoformat()}; {amount} is still open."
            )
        count = enqueue_link_emails(
            ctx,
            uow,
            organization_id=organization_id,
            document_type=DocumentType.INVOICE,
            document_id=invoice.id,
            subject=subject,
            intro=intro,
            issued=issued,
            reason=f"{reminder.rule}.{as_of.isoformat()}",
        )
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "invoice.reminded",
                    "invoice",
                    invoice.id,
                    now,
                    {
                        "number": invoice.number,
                        "rule": reminder.rule,
                        "day": as_of.isoformat(),
                        "recipients": len(issued),
                    },
                )
            ],
        )
        uow.commit()
    return count


# --- the organization's choices -------------------------------------------------------------------
MAX_UNOPENED_DAYS = 60


def delivery_settings(ctx: Context, *, organization_id: str) -> DeliverySettings:
    with ctx.read() as uow:
        uow.organizations.get(organization_id)
        return uow.outbox.settings(organization_id)


def update_delivery_settings(
    ctx: Context,
    *,
    organization_id: str,
    attach_pdf: bool | None = None,
    unopened_after_days: int | None = None,
    overdue_reminders: bool | None = None,
) -> DeliverySettings:
    """Change what is given (the rest stays): attach the PDF to invoice emails, chase an
    invoice still unopened after N days (1 to 60), remind about overdue ones. Applies to the
    emails queued from now on."""
    if unopened_after_days is not None and not 1 <= unopened_after_days <= MAX_UNOPENED_DAYS:
        raise ValidationError(
            f"chase unopened invoices after 1 to {MAX_UNOPENED_DAYS} days",
            code="delivery.invalid_unopened_days",
            details={"unopened_after_days": unopened_after_days},
        )
    with ctx.uow() as uow:
        uow.organizations.get(organization_id)
        before = uow.outbox.settings(organization_id)
        after = DeliverySettings(
            attach_pdf=before.attach_pdf if attach_pdf is None else attach_pdf,
            unopened_after_days=(
                before.unopened_after_days if unopened_after_days is None else unopened_after_days
            ),
            overdue_reminders=(
                before.overdue_reminders if overdue_reminders is None else overdue_reminders
            ),
        )
        if after != before:
            uow.outbox.save_settings(organization_id, after)
            uow.events.append(
                organization_id,
                [
                    DomainEvent(
                        "delivery.settings_changed",
                        "organization",
                        organization_id,
                        ctx.clock.now(),
                        {
                            "attach_pdf": after.attach_pdf,
                            "unopened_after_days": after.unopened_after_days,
                            "overdue_reminders": after.overdue_reminders,
                        },
                    )
                ],
            )
        uow.commit()
    return after


# --- webhooks -----------------------------------------------------------------------------------
MAX_WEBHOOK_URL = 2000


def register_webhook(
    ctx: Context, *, organization_id: str, url: str, events: Sequence[str] = ()
) -> WebhookEndpoint:
    """Register an endpoint for some (default: all) events; its signing secret is returned
    here, to be kept by the receiver."""
    parts = urlsplit(url.strip())
    if len(url) > MAX_WEBHOOK_URL:
        raise ValidationError(
            f"a webhook URL is limited to {MAX_WEBHOOK_URL} characters", code="webhook.invalid_url"
        )
    if parts.scheme not in ("http", "https") or not parts.netloc or not url.strip().isprintable():
        raise ValidationError(
            "a webhook URL must be an absolute http(s) URL", code="webhook.invalid_url"
        )
    wanted = frozenset(events) if events else WEBHOOK_EVENTS
    unknown = wanted - WEBHOOK_EVENTS
    if unknown:
        raise ValidationError(
            f"unknown webhook events: {', '.join(sorted(unknown))}",
            code="webhook.unknown_event",
            details={"known": sorted(WEBHOOK_EVENTS)},
        )
    endpoint = WebhookEndpoint(
        id=ctx.ids("whe"),
        organization_id=organization_id,
        url=url.strip(),
        secret=f"whsec_{ctx.tokens()}",
        events=wanted,
        created_at=ctx.clock.now(),
    )
    with ctx.uow() as uow:
        uow.organizations.get(organization_id)
        uow.outbox.add_endpoint(endpoint)
        uow.events.append(
            organization_id,
            [
                DomainEvent(
                    "webhook.registered",
                    "webhook_endpoint",
                    endpoint.id,
                    endpoint.created_at,
                    {"url": endpoint.url, "events": sorted(wanted)},
                )
            ],
        )
        uow.commit()
    return endpoint


def list_webhooks(
    ctx: Context, *, organization_id: str, include_removed: bool = False
) -> list[WebhookEndpoint]:
    """The organization's endpoints, oldest first (never their secrets' use: they are shown
    once, when registered)."""
    with ctx.read() as uow:
        return uow.outbox.endpoints(organization_id, active_only=not include_removed)


def get_webhook(ctx: Context, *, organization_id: str, endpoint_id: str) -> WebhookEndpoint:
    with ctx.read() as uow:
        return uow.outbox.get_endpoint(organization_id, endpoint_id)


def remove_webhook(ctx: Context, *, organization_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Stop delivering to an endpoint: no new deliveries are made for it from now on (those
    already in the outbox still go out). Removing it again changes nothing."""
    with ctx.uow() as uow:
        endpoint = uow.outbox.get_endpoint(organization_id, endpoint_id)
        if endpoint.active:
            uow.outbox.deactivate_endpoint(organization_id, endpoint_id)
            uow.events.append(
                organization_id,
                [
                    DomainEvent(
                        "webhook.removed",
                        "webhook_endpoint",
                        endpoint.id,
                        ctx.clock.now(),
                        {"url": endpoint.url},
                    )
                ],
            )
            endpoint.active = False
        uow.commit()
    return endpoint


def event_id(organization_id: str, seq: int) -> str:
    """Stable across retries and workers: receivers deduplicate on it."""
    return f"evt_{organization_id.removeprefix('org_')}_{seq}"


def fan_out_webhooks(ctx: Context, *, organization_id: str, limit: int = 2000) -> int:
    with ctx.uow() as uow:
        endpoints = uow.outbox.endpoints(organization_id)
        start = uow.outbox.cursor(organization_id)
        records = uow.events.after(organization_id, start, limit)
        now = ctx.clock.now()
        messages = []
        for record in records:
            if record.kind not in WEBHOOK_EVENTS:
                continue
            body = {
                "id": event_id(organization_id, record.seq),
                "type": record.kind,
                "created": record.occurred_at,
                "subject_type": record.subject_type,
                "subject_id": record.subject_id,
                "data": record.data,
            }
            messages += [
                OutboxMessage(
                    id=ctx.ids("msg"),
                    organization_id=organization_id,
                    channel=Channel.WEBHOOK,
                    dedupe_key=f"webhook:{endpoint.id}:{record.seq}",
                    created_at=now,
                    payload={"endpoint_id": endpoint.id, "url": endpoint.url, "event": body},
                )
                for endpoint in endpoints
                if endpoint.wants(record.kind)
            ]
        count = uow.outbox.enqueue(messages)
        if records:
            uow.outbox.set_cursor(organization_id, records[-1].seq)
        uow.commit()
    return count


# --- the worker's delivery turn -------------------------------------------------------------


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def _email(message: OutboxMessage, attachment: bytes | None, filename: str) -> EmailMessage:
    p = message.payload
    email = EmailMessage()
    email["From"] = p["from"]
    email["To"] = p["to"]
    email["Subject"] = p["subject"]
    email["Message-ID"] = p["message_id"]  # stable: a receiver sees retries as one message
    email["Date"] = format_datetime(message.created_at)
    email.set_content(p["text"])
    if attachment is not None:
        email.add_attachment(attachment, maintype="application", subtype="pdf", filename=filename)
    return email


def _scrubbed(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as kept after delivery: without the link's token."""
    if "text" not in payload:  # webhooks carry no token
        return payload
    redacted = payload["url"].rsplit("/", 1)[0] + "/<token>"
    return {**payload, "url": redacted, "text": payload["text"].replace(payload["url"], redacted)}


def deliver_due(
    ctx: Context, *, mailer: Mailer, sender: WebhookSender, limit: int = 100, pdf: Any = None
) -> DeliveryReport:
    """Claim and deliver due messages once; call again until it delivers nothing."""
    now = ctx.clock.now()
    with ctx.uow() as uow:
        claimed = uow.outbox.claim_due(now, limit=limit, lease_until=now + LEASE)
        secrets = {
            m.payload["endpoint_id"]: uow.outbox.get_endpoint(
                m.organization_id, m.payload["endpoint_id"]
            ).secret
            for m in claimed
            if m.channel is Channel.WEBHOOK
        }
        uow.commit()
    report = DeliveryReport()
    for message in claimed:
        error = ""
        try:
            if message.channel is Channel.EMAIL:
                attachment, filename = _attachment(ctx, message, pdf)
                mailer.send(_email(message, attachment, filename))
            else:
                body = json.dumps(
                    message.payload["event"], sort_keys=True, separators=(",", ":")
                ).encode()
                stamp = int(ctx.clock.now().timestamp())
                status = sender.post(
                    message.payload["url"],
                    body,
                    {
                        "Content-Type": "application/json",
                        "User-Agent": "engagebill-webhooks/1",
                        "Engagebill-Event-Id": message.payload["event"]["id"],
                        "Engagebill-Event-Type": message.payload["event"]["type"],
                        "Engagebill-Signature": sign(
                            secrets[message.payload["endpoint_id"]], stamp, body
                        ),
                    },
                )
                if not 200 <= status < 300:
                    error = f"HTTP {status}"
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        finished = ctx.clock.now()
        with ctx.uow() as uow:
            if not error:
                uow.outbox.mark_delivered(message.id, finished, _scrubbed(message.payload))
                report.delivered += 1
            else:
                attempts = message.attempts + 1
                retry = next_attempt(message.channel, attempts, finished)
                uow.outbox.mark_failed(message.id, error, attempts, retry)
                report.failed += 1
                report.dead += retry is None
            uow.commit()
    return report


def _attachment(ctx: Context, message: OutboxMessage, pdf: Any) -> tuple[bytes | None, str]:
    if not message.payload.get("attach_pdf") or pdf is None:
        return None, ""
    data = pdf(
        ctx, organization_id=message.organization_id, invoice_id=message.payload["document_id"]
    )
    return data, f"{message.payload['subject'].split(' from ')[0].replace(' ', '-')}.pdf"


def run_cycle(
    ctx: Context,
    *,
    mailer: Mailer,
    sender: WebhookSender,
    as_of: date | None = None,
    pdf: Any = None,
    max_rounds: int = 50,
) -> DeliveryReport:
    """One worker turn: webhooks fanned out and reminders enqueued for every organization,
    then everything due delivered."""
    day = as_of or ctx.clock.today()
    with ctx.uow() as uow:
        organizations = [o.id for o in uow.organizations.list()]
    for org in organizations:
        fan_out_webhooks(ctx, organization_id=org)
        enqueue_reminders(ctx, organization_id=org, as_of=day)
    total = DeliveryReport()
    for _ in range(max_rounds):
        report = deliver_due(ctx, mailer=mailer, sender=sender, pdf=pdf)
        total.delivered += report.delivered
        total.failed += report.failed
        total.dead += report.dead
        if report.delivered + report.failed == 0:
            break
    return total


def outbox_messages(ctx: Context, *, organization_id: str) -> list[OutboxMessage]:
    with ctx.uow() as uow:
        return uow.outbox.messages(organization_id)
