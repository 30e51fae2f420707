"""The worker of test_advance_concurrency.py: one spawned process spending, giving back and
topping up one engagement's advance at random.

It drafts invoices that draw on the advance (the draw decided again under the account's
lock), applies and discards draws on drafts, sends, revises, credits (a VAT group in part, a
line, or everything left; standard and advance invoices alike), records payments, refunds
the unused advance, invoices new advances and bills approved work by billing runs. Kept
apart from the test module, with nothing but engagebill to import, so that sixteen processes
start quickly on a small machine.
"""

from __future__ import annotations

import random
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engagebill.bootstrap import App, build
from engagebill.config import Settings
from engagebill.domain.errors import ConcurrencyConflict, DomainError
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.services import (
    advances,
    billing_run,
    invoicing,
    line_credits,
    recipient,
    retainers,
    settlement,
    work,
)
from engagebill.services.engagement_account import engagement_account
from engagebill.services.lines import LineInput

MAX_ATTEMPTS = 25
S = InvoiceState
ISSUED = ("sent", "viewed", "change_requested", "approved", "locked")
REVISABLE = ("sent", "viewed", "change_requested")
# Two VAT groups, so that "credited <= invoiced" is checked group by group.
RATES = ("21", "9")
# operation -> weight
OPERATIONS: dict[str, int] = {
    "draft_draw": 4,  # a draft asking for the advance (create_draft(advance_used=...))
    "draft_plain": 1,  # a draft that does not draw
    "apply": 2,  # advances.apply_advance on a draft that does not draw
    "discard": 1,  # advances.discard_advance on a draft that draws
    "send": 5,
    "revise": 2,  # request a change and revise (an advance invoice too), the draw redone
    "credit": 3,  # a part of one VAT group, or everything left
    "credit_line": 1,  # services.line_credits.credit_line
    "pay": 3,
    "refund": 1,  # advances.refund_advance
    "top_up": 2,  # a new advance, invoiced and sent
    "bill": 1,  # approved work billed by a billing run, drawn on the advance under the lock
}
T = TypeVar("T")


class GaveUp(Exception):
    """Still conflicting after MAX_ATTEMPTS: nothing was written, and nothing is reported."""


@dataclass
class Report:
    """What one worker did: each success, and how often it was refused or retried."""

    done: list[dict[str, Any]] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    retried_for: Counter[str] = field(default_factory=Counter)  # "operation: error"
    gave_up: int = 0
    began_at: float = 0.0  # time.time() when all sixteen were ready


def lines(rng: random.Random) -> list[LineInput]:
    return [
        LineInput(
            f"Support, part {i}",
            str(rng.randint(1, 4)),
            f"{rng.randint(20, 400)}.{rng.randint(0, 99):02d}",
            vat_rate=rng.choice(RATES),
        )
        for i in range(rng.randint(1, 3))
    ]


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    kind: str
    state: str
    advance_used_minor: int


class Worker:
    """One process's share: its own engine and random stream, and what it reports."""

    def __init__(self, url: str, org: str, engagement: str, seed: int) -> None:
        self.app: App = build(Settings(database_url=url))
        self.ctx = self.app.ctx
        self.org = org
        self.engagement = engagement
        self.rng = random.Random(seed)
        self.report = Report()
        self.operation = ""

    def attempt(self, action: Callable[[], T]) -> T:
        """Retry a lost optimistic check, a lock it could not get or a deadlock."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return action()
            except (ConcurrencyConflict, OperationalError) as error:
                self.report.retries += 1
                reason = error.code if isinstance(error, ConcurrencyConflict) else str(error.orig)
                self.report.retried_for[f"{self.operation}: {reason.splitlines()[0][:80]}"] += 1
                time.sleep(min(0.002 * 2**attempt, 0.2) * self.rng.random())
        raise GaveUp

    def rows(self) -> list[Row]:
        with self.app.engine.connect() as conn:
            return [
                Row(*r)
                for r in conn.execute(
                    text(
                        "SELECT i.id, i.kind, i.state, v.advance_used_minor FROM invoices i "
                        "JOIN invoice_versions v ON v.invoice_id = i.id "
                        "AND v.version = i.current_version WHERE i.organization_id = :o"
                    ),
                    {"o": self.org},
                )
            ]

    def pick(self, test: Callable[[Row], bool]) -> Row | None:
        candidates = [r for r in self.rows() if test(r)]
        return self.rng.choice(candidates) if candidates else None

    def step(self) -> None:
        names = list(OPERATIONS)
        operation = self.rng.choices(names, [OPERATIONS[n] for n in names])[0]
        self.operation = operation
        getattr(self, operation)()

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.step()
            except DomainError as refusal:
                self.report.refusals[refusal.code] += 1
            except GaveUp:
                self.report.gave_up += 1

    def done(self, op: str, **facts: Any) -> None:
        self.report.done.append({"op": op, **facts})

    # the operations: each reports only what succeeded -------------------------------------
    def draft_draw(self) -> None:
        # Any figure: the draw is decided again under the lock, up to what is available.
        wanted = Money(Decimal(self.rng.randint(1, 5000)), "EUR")
        result = self.attempt(
            lambda: invoicing.create_draft(
                self.ctx,
                organization_id=self.org,
                engagement_id=self.engagement,
                lines=lines(self.rng),
                advance_used=wanted,
            )
        )
        self.done("draft", invoice=result.invoice.id)

    def draft_plain(self) -> None:
        result = self.attempt(
            lambda: invoicing.create_draft(
                self.ctx,
                organization_id=self.org,
                engagement_id=self.engagement,
                lines=lines(self.rng),
            )
        )
        self.done("draft", invoice=result.invoice.id)

    def apply(self) -> None:
        row = self.pick(
            lambda r: r.state == "draft" and r.kind == "standard" and r.advance_used_minor == 0
        )
        if row is not None:
            self.attempt(
                lambda: advances.apply_advance(
                    self.ctx, organization_id=self.org, invoice_id=row.id
                )
            )
            self.done("apply", invoice=row.id)

    def discard(self) -> None:
        row = self.pick(lambda r: r.state == "draft" and r.advance_used_minor != 0)
        if row is not None:
            self.attempt(
                lambda: advances.discard_advance(
                    self.ctx, organization_id=self.org, invoice_id=row.id
                )
            )
            self.done("discard", invoice=row.id)

    def send(self) -> None:
        row = self.pick(lambda r: r.state == "draft")
        if row is not None:
            invoice = self.attempt(
                lambda: invoicing.send_invoice(
                    self.ctx, organization_id=self.org, invoice_id=row.id
                )
            )
            self.done("send", invoice=row.id, number=invoice.number)

    def revise(self) -> None:
        row = self.pick(lambda r: r.state in REVISABLE)
        if row is None:
            return
        if row.state != "change_requested":
            self.attempt(
                lambda: recipient.request_change(
                    self.ctx,
                    organization_id=self.org,
                    invoice_id=row.id,
                    message="Please bill fewer hours",
                    by="AP",
                )
            )
            self.done("request_change", invoice=row.id)
        new_lines = lines(self.rng)
        self.attempt(
            lambda: invoicing.revise_invoice(
                self.ctx, organization_id=self.org, invoice_id=row.id, lines=new_lines
            )
        )
        self.done("revise", invoice=row.id)

    def credit(self) -> None:
        row = self.pick(lambda r: r.state in ISSUED)
        if row is None:
            return
        with self.ctx.read() as uow:
            invoice = uow.invoices.get(self.org, row.id)
        account = engagement_account(
            self.ctx, organization_id=self.org, engagement_id=self.engagement
        )
        left = account.remaining_groups(row.id, invoice.totals().breakdown)
        credit_lines = None
        if left and self.rng.random() < 0.7:
            (category, rate), remaining = self.rng.choice(left)
            cents = int(remaining.amount * 100)
            # Now and then a little more than is left: the account must refuse it.
            cents = self.rng.randint(1, cents + (cents // 10 if self.rng.random() < 0.1 else 0))
            credit_lines = [
                LineInput(
                    "Agreed reduction",
                    "1",
                    str(Decimal(cents) / 100),
                    vat_category=category.value,
                    vat_rate=rate,
                )
            ]
        note = self.attempt(
            lambda: settlement.issue_credit_note(
                self.ctx,
                organization_id=self.org,
                invoice_id=row.id,
                reason="Agreed reduction",
                lines=credit_lines,
            )
        )
        self.done("credit", invoice=row.id, credit_note=note.id, number=note.number)

    def credit_line(self) -> None:
        row = self.pick(lambda r: r.state in ISSUED and r.kind == "standard")
        if row is None:
            return
        with self.ctx.read() as uow:
            count = len(uow.invoices.get(self.org, row.id).current.lines)
        position = self.rng.randint(1, count)
        note = self.attempt(
            lambda: line_credits.credit_line(
                self.ctx,
                organization_id=self.org,
                invoice_id=row.id,
                position=position,
                reason="Line not delivered",
            )
        )
        self.done("credit", invoice=row.id, credit_note=note.id, number=note.number)

    def pay(self) -> None:
        row = self.pick(lambda r: r.state in ISSUED)
        if row is None:
            return
        with self.ctx.read() as uow:
            owed = uow.invoices.get(self.org, row.id).outstanding.amount
        # At most what is owed; 0.01 beyond it when nothing is (a credit balance).
        cents = self.rng.randint(1, max(1, int(owed * 100)))
        amount = str(Decimal(cents) / 100)
        invoice = self.attempt(
            lambda: settlement.record_payment(
                self.ctx, organization_id=self.org, invoice_id=row.id, amount=amount
            )
        )
        self.done("pay", invoice=row.id, payment=invoice.payments[-1].id, amount=amount)

    def refund(self) -> None:
        notes = self.attempt(
            lambda: advances.refund_advance(
                self.ctx, organization_id=self.org, engagement_id=self.engagement
            )
        )
        for note in notes:
            self.done("credit", invoice=note.invoice_id, credit_note=note.id, number=note.number)
        self.done("refund", notes=len(notes))

    def top_up(self) -> None:
        amount = f"{self.rng.randint(2, 30) * 100}.00"
        rate = self.rng.choice(RATES)
        advance = self.attempt(
            lambda: retainers.create_advance(
                self.ctx,
                organization_id=self.org,
                engagement_id=self.engagement,
                amount=amount,
                invoice_date=self.ctx.clock.today(),
                vat_rate=rate,
            )
        )
        invoice = self.attempt(
            lambda: advances.invoice_advance(
                self.ctx, organization_id=self.org, advance_id=advance.id
            )
        )
        self.done("draft", invoice=invoice.id)
        self.done("top_up", invoice=invoice.id, amount=amount)
        sent = self.attempt(
            lambda: invoicing.send_invoice(
                self.ctx, organization_id=self.org, invoice_id=invoice.id
            )
        )
        self.done("send", invoice=invoice.id, number=sent.number)

    def bill(self) -> None:
        item = self.attempt(
            lambda: work.record_work_item(
                self.ctx,
                organization_id=self.org,
                engagement_id=self.engagement,
                work_date=self.ctx.clock.today(),
                person="Robin",
                hours=str(self.rng.randint(1, 8)),
                rate="120",
                description="Support ticket",
                requester="Dana (Acme)",
            )
        )
        self.attempt(
            lambda: work.approve_work_items(
                self.ctx,
                organization_id=self.org,
                work_item_ids=[item.id],
                approval_ref=f"https://mail.example/acme/{item.id}",
            )
        )
        result = self.attempt(
            lambda: billing_run.execute_run(
                self.ctx, organization_id=self.org, as_of=self.ctx.clock.today()
            )
        )
        for invoice in result.created:
            self.done("draft", invoice=invoice.id)
        for invoice in result.sent:
            self.done("send", invoice=invoice.id, number=invoice.number)
        self.done("bill", created=len(result.created))


def run_worker(
    url: str, org: str, engagement: str, seed: int, seconds: float, barrier: Any, out: Any
) -> None:
    """The spawned process: wait for all, work for ``seconds``, put the report on ``out``."""
    try:
        worker = Worker(url, org, engagement, seed)
        try:
            barrier.wait(timeout=180)
            worker.report.began_at = time.time()
            worker.run(seconds)
        finally:
            worker.app.dispose()
        out.put(("ok", worker.report))
    except BaseException:
        out.put(("error", traceback.format_exc()))
