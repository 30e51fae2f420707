"""Delivery through real servers: SMTP (aiosmtpd on loopback) and HTTP webhook receivers.

Every message is delivered exactly once even when the mail server fails and recovers; a
reminder goes out at most once per invoice, rule and day however often (or concurrently)
the worker runs; webhooks survive a receiver that is killed, restarted and fails one call in
five: no event is lost, and every signature verifies.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engagebill.adapters.mail import SmtpMailer
from engagebill.adapters.webhooks import UrllibSender
from engagebill.domain.delivery import Channel, DeliverySettings, Status, verify
from engagebill.services import delivery, invoicing, recipient
from tests.support import World, an_engagement, line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An SMTP handler that can be told to refuse the next N messages."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.refuse = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 try again later"
            self.messages.append(envelope.content)
        return "250 OK"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _sent_invoice(world: World, text: str = "Monthly retainer, March 2025") -> str:
    eng = an_engagement(world.app, world.org_id, world.client_id)
    draft = invoicing.create_draft(
        world.ctx, organization_id=world.org_id, engagement_id=eng, lines=[line(text)]
    ).invoice
    return invoicing.send_invoice(world.ctx, organization_id=world.org_id, invoice_id=draft.id).id


def test_sending_writes_one_email_per_contact_in_the_same_transaction(
    isolated_world: World,
) -> None:
    world = isolated_world
    invoice_id = _sent_invoice(world)
    messages = delivery.outbox_messages(world.ctx, organization_id=world.org_id)
    assert [(m.channel, m.payload["to"]) for m in messages] == [
        (Channel.EMAIL, "Alex AP <ap@acme.example>")
    ]
    assert messages[0].payload["document_id"] == invoice_id
    assert "/l/" in messages[0].payload["url"]


def test_email_is_delivered_once_through_a_server_that_fails_then_recovers(
    isolated_world: World,
) -> None:
    world = isolated_world
    inbox = Inbox()
    with smtp_server(inbox) as port:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{port}")
        for n in range(5):
            _sent_invoice(world, f"Retainer {n}")
        inbox.refuse = 3  # the server turns the first three away
        first = delivery.deliver_due(world.ctx, mailer=mailer, sender=UrllibSender())
        assert (first.delivered, first.failed) == (2, 3)
        # Nothing is due again until the backoff has passed.
        again = delivery.deliver_due(world.ctx, mailer=mailer, sender=UrllibSender())
        assert (again.delivered, again.failed) == (0, 0)
        world.clock.advance(minutes=2)
        later = delivery.deliver_due(world.ctx, mailer=mailer, sender=UrllibSender())
        assert (later.delivered, later.failed) == (3, 0)
        world.clock.advance(days=3)
        assert delivery.deliver_due(world.ctx, mailer=mailer, sender=UrllibSender()).delivered == 0
    subjects = sorted(m.split(b"Subject: ", 1)[1].split(b"\n", 1)[0] for m in inbox.messages)
    assert len(subjects) == 5
    assert len(set(subjects)) == 5
    stored = delivery.outbox_messages(world.ctx, organization_id=world.org_id)
    assert all(m.status is Status.DELIVERED for m in stored)
    # The token is not kept once the message is out.
    assert all(m.payload["url"].endswith("/l/<token>") for m in stored)


def test_a_server_that_stays_down_is_given_up_on_after_the_backoff(isolated_world: World) -> None:
    world = isolated_world
    _sent_invoice(world)
    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}")  # nobody listens there
    for _ in range(12):
        delivery.deliver_due(world.ctx, mailer=mailer, sender=UrllibSender())
        world.clock.advance(hours=13)
    [message] = delivery.outbox_messages(world.ctx, organization_id=world.org_id)
    assert message.status is Status.DEAD
    assert "ConnectionRefused" in message.last_error


def test_reminders_go_out_once_per_invoice_rule_and_day(isolated_world: World) -> None:
    world = isolated_world
    invoice_id = _sent_invoice(world)
    with world.app.ctx.uow() as uow:
        uow.outbox.save_settings(world.org_id, DeliverySettings(unopened_after_days=3))
        uow.commit()
    day = world.clock.today() + timedelta(days=3)
    results: list[int] = []

    def remind() -> None:
        results.append(
            delivery.enqueue_reminders(world.ctx, organization_id=world.org_id, as_of=day)
        )

    threads = [threading.Thread(target=remind) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    remind()  # and once more, a minute later
    assert sorted(results) == [0, 0, 0, 0, 1]
    reminders = [
        m
        for m in delivery.outbox_messages(world.ctx, organization_id=world.org_id)
        if "waiting for you" in m.payload["subject"]
    ]
    assert len(reminders) == 1
    # A viewed invoice is not chased as unopened three days later.
    recipient.record_view(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)
    assert (
        delivery.enqueue_reminders(
            world.ctx, organization_id=world.org_id, as_of=day + timedelta(days=3)
        )
        == 0
    )


class Receiver:
    """A webhook receiver on a fixed port that can be stopped, restarted and made flaky."""

    def __init__(self, secret_of: dict[str, str], failure_rate: float, seed: int) -> None:
        self.port = free_port()
        self.received: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        self.calls = 0
        self.secret_of = secret_of
        self.random = random.Random(seed)
        self.failure_rate = failure_rate
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls += 1
                if receiver.random.random() < receiver.failure_rate:
                    self.send_response(500)
                    self.end_headers()
                    return
                secret = receiver.secret_of[self.path.strip("/")]
                now = int(datetime.now(UTC).timestamp())
                if not verify(
                    secret, self.headers["Engagebill-Signature"], body, now=now, tolerance=10**9
                ):
                    receiver.bad_signatures += 1
                event = json.loads(body)
                assert event["id"] == self.headers["Engagebill-Event-Id"]
                receiver.received[event["id"]] = event
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def test_webhooks_lose_nothing_through_a_restart_and_flaky_receiver(isolated_world: World) -> None:
    world = isolated_world
    secrets: dict[str, str] = {}
    receiver = Receiver(secrets, failure_rate=0.2, seed=7)
    endpoint = delivery.register_webhook(
        world.ctx, organization_id=world.org_id, url=f"http://127.0.0.1:{receiver.port}/hook-a"
    )
    secrets["hook-a"] = endpoint.secret
    mailer = _NullMailer()
    sender = UrllibSender(timeout=2)
    receiver.start()
    invoices = [_sent_invoice(world, f"Work {n}") for n in range(8)]
    delivery.run_cycle(world.ctx, mailer=mailer, sender=sender, as_of=date(2025, 3, 3))
    receiver.stop()  # killed mid-way
    for invoice_id in invoices[:4]:
        recipient.record_view(world.ctx, organization_id=world.org_id, invoice_id=invoice_id)
        recipient.approve_invoice(
            world.ctx, organization_id=world.org_id, invoice_id=invoice_id, name="Dana"
        )
    delivery.run_cycle(world.ctx, mailer=mailer, sender=sender, as_of=date(2025, 3, 3))
    receiver.start()  # back, on the same port
    for _ in range(30):
        world.clock.advance(hours=7)
        delivery.run_cycle(world.ctx, mailer=mailer, sender=sender, as_of=date(2025, 3, 3))
    receiver.stop()
    expected = {
        m.payload["event"]["id"]
        for m in delivery.outbox_messages(world.ctx, organization_id=world.org_id)
        if m.channel is Channel.WEBHOOK
    }
    kinds = {e["type"] for e in receiver.received.values()}
    assert kinds == {"invoice.sent", "invoice.viewed", "invoice.approved"}
    assert len(expected) == 8 + 4 + 4
    assert set(receiver.received) == expected  # 0 lost
    assert receiver.bad_signatures == 0
    assert receiver.calls > len(expected)  # failures were retried
    messages = delivery.outbox_messages(world.ctx, organization_id=world.org_id)
    assert all(m.status is Status.DELIVERED for m in messages if m.channel is Channel.WEBHOOK)


class _NullMailer:
    def send(self, message: Any) -> None:
        return None


@pytest.mark.parametrize("url", ["ftp://example.org/x", "not a url", "http://"])
def test_webhook_urls_must_be_http(isolated_world: World, url: str) -> None:
    world = isolated_world
    from engagebill.domain.errors import ValidationError

    with pytest.raises(ValidationError) as err:
        delivery.register_webhook(world.ctx, organization_id=world.org_id, url=url)
    assert err.value.code == "webhook.invalid_url"
