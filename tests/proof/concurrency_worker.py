"""The worker of test_concurrency.py: one spawned process drafting, sending, revising,
amending, approving, paying and crediting invoices of one organization at random.

Kept apart from the test module, with nothing but engagebill to import, so that sixteen
processes start quickly on a small machine.
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
from engagebill.domain.invoices import Invoice
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.money import Money
from engagebill.services import invoicing, recipient, settlement
from engagebill.services.lines import LineInput

MAX_ATTEMPTS = 25
S = InvoiceState
ISSUED = [S.SENT, S.VIEWED, S.CHANGE_REQUESTED, S.APPROVED, S.LOCKED]
# operation -> (weight, the states an invoice must be in to be picked for it)
OPERATIONS: dict[str, tuple[int, list[InvoiceState]]] = {
    "draft": (2, []),
    "send": (3, [S.DRAFT]),
    "revise": (2, [S.SENT, S.VIEWED, S.CHANGE_REQUESTED]),
    "amend": (2, [S.SENT, S.VIEWED, S.CHANGE_REQUESTED]),
    "approve": (2, [S.SENT, S.VIEWED]),
    "pay": (3, ISSUED),
    "credit": (2, ISSUED),
}
T = TypeVar("T")


class GaveUp(Exception):
    """Still conflicting after MAX_ATTEMPTS: nothing was written, and nothing is reported."""


@dataclass
class Report:
    """What one worker did: each success, what it saw, and how often it was refused."""

    done: list[dict[str, Any]] = field(default_factory=list)
    hashes: dict[tuple[str, int], str] = field(default_factory=dict)
    refusals: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    gave_up: int = 0


def lines(rng: random.Random) -> list[LineInput]:
    return [
        LineInput(f"Work, part {i}", str(rng.randint(1, 8)), f"{rng.randint(50, 2500)}.00")
        for i in range(rng.randint(1, 3))
    ]


class Worker:
    """One process's share: its own engine and random stream, and what it reports."""

    def __init__(self, url: str, org: str, engagements: list[str], seed: int) -> None:
        self.app: App = build(Settings(database_url=url))
        self.ctx = self.app.ctx
        self.org = org
        self.engagements = engagements
        self.rng = random.Random(seed)
        self.report = Report()

    def saw(self, invoice: Invoice) -> None:
        for version in invoice.versions:
            if version.frozen:
                self.report.hashes.setdefault((invoice.id, version.version), version.content_hash)

    def attempt(self, action: Callable[[], T]) -> T:
        """Retry what a real client retries: a lost optimistic check or a row added meanwhile
        (ConcurrencyConflict, such as two amendments adding the same new PO), or a lock it
        could not get (SQLite "database is locked", a PostgreSQL deadlock)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return action()
            except (ConcurrencyConflict, OperationalError):
                self.report.retries += 1
                time.sleep(min(0.002 * 2**attempt, 0.2) * self.rng.random())
        raise GaveUp

    def pick(self, states: list[InvoiceState]) -> str | None:
        with self.app.engine.connect() as conn:
            ids = conn.execute(
                text(
                    "SELECT id FROM invoices WHERE organization_id = :o AND state IN "
                    f"({', '.join(repr(s.value) for s in states)})"
                ),
                {"o": self.org},
            ).scalars()
            candidates = list(ids)
        return self.rng.choice(candidates) if candidates else None

    def load(self, invoice_id: str) -> Invoice:
        with self.ctx.uow() as uow:
            invoice = uow.invoices.get(self.org, invoice_id)
        self.saw(invoice)
        return invoice

    def step(self) -> None:
        names = list(OPERATIONS)
        operation = self.rng.choices(names, [OPERATIONS[n][0] for n in names])[0]
        if operation == "draft":
            self.draft()
            return
        invoice_id = self.pick(OPERATIONS[operation][1])
        if invoice_id is not None:
            getattr(self, operation)(invoice_id)

    def run(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.step()
            except DomainError as refusal:
                self.report.refusals[refusal.code] += 1
            except GaveUp:
                self.report.gave_up += 1

    # the operations: each reports only what succeeded -------------------------------------
    def draft(self) -> None:
        engagement = self.rng.choice(self.engagements)
        invoice = self.attempt(
            lambda: (
                invoicing.create_draft(
                    self.ctx,
                    organization_id=self.org,
                    engagement_id=engagement,
                    lines=lines(self.rng),
                ).invoice
            )
        )
        self.report.done.append({"op": "draft", "invoice": invoice.id})

    def send(self, invoice_id: str) -> None:
        invoice = self.attempt(
            lambda: invoicing.send_invoice(
                self.ctx, organization_id=self.org, invoice_id=invoice_id
            )
        )
        self.saw(invoice)
        self.report.done.append({"op": "send", "invoice": invoice_id, "number": invoice.number})

    def revise(self, invoice_id: str) -> None:
        if self.load(invoice_id).state is not S.CHANGE_REQUESTED:
            self.attempt(
                lambda: recipient.request_change(
                    self.ctx,
                    organization_id=self.org,
                    invoice_id=invoice_id,
                    message="Please split the work by week",
                    by="AP",
                )
            )
            self.report.done.append({"op": "request_change", "invoice": invoice_id})
        invoice = self.attempt(
            lambda: invoicing.revise_invoice(
                self.ctx, organization_id=self.org, invoice_id=invoice_id, lines=lines(self.rng)
            )
        )
        self.saw(invoice)
        self.report.done.append(
            {
                "op": "revise",
                "invoice": invoice_id,
                "version": invoice.version,
                "hash": invoice.current.content_hash,
            }
        )

    def amend(self, invoice_id: str) -> None:
        if self.rng.random() < 0.5:
            change: dict[str, Any] = {"purchase_order_number": f"PO-{self.rng.choice('ABC')}"}
        else:
            change = {"cost_centre": f"CC-{self.rng.randint(1, 99)}"}
        invoice = self.attempt(
            lambda: recipient.amend_invoice(
                self.ctx, organization_id=self.org, invoice_id=invoice_id, by="AP", **change
            )
        )
        self.saw(invoice)
        last = invoice.amendments[-1]
        self.report.done.append(
            {
                "op": "amend",
                "invoice": invoice_id,
                "version": last.version,
                "field": last.field.value,
                "value": last.value,
            }
        )

    def approve(self, invoice_id: str) -> None:
        self.attempt(
            lambda: recipient.approve_invoice(
                self.ctx, organization_id=self.org, invoice_id=invoice_id, name="Alex AP"
            )
        )
        self.report.done.append({"op": "approve", "invoice": invoice_id})

    def pay(self, invoice_id: str) -> None:
        owed = self.load(invoice_id).outstanding.amount
        cents = self.rng.randint(1, max(1, int(owed * 100)))
        amount = str(Decimal(cents) / 100)
        invoice = self.attempt(
            lambda: settlement.record_payment(
                self.ctx, organization_id=self.org, invoice_id=invoice_id, amount=amount
            )
        )
        payment = invoice.payments[-1]
        assert payment.amount.amount == Decimal(amount)
        self.report.done.append(
            {"op": "pay", "invoice": invoice_id, "payment": payment.id, "amount": amount}
        )

    def credit(self, invoice_id: str) -> None:
        invoice = self.load(invoice_id)
        left = invoice.totals().net - (invoice.credited_net or Money.zero(invoice.currency))
        lines = None
        if self.rng.random() < 0.7 and left.amount >= 2:
            part = Decimal(self.rng.randint(1, int(left.amount))).quantize(Decimal("0.01"))
            lines = [LineInput("Goodwill credit", "1", str(part))]
        note = self.attempt(
            lambda: settlement.issue_credit_note(
                self.ctx,
                organization_id=self.org,
                invoice_id=invoice_id,
                reason="Agreed reduction",
                lines=lines,
            )
        )
        self.report.done.append(
            {
                "op": "credit",
                "invoice": invoice_id,
                "credit_note": note.id,
                "number": note.number,
                "gross": str(note.totals().gross.amount),
            }
        )


def run_worker(
    url: str, org: str, engagements: list[str], seed: int, seconds: float, barrier: Any, out: Any
) -> None:
    """The spawned process: wait for all, work for ``seconds``, put the report on ``out``."""
    try:
        worker = Worker(url, org, engagements, seed)
        try:
            barrier.wait(timeout=180)
            worker.run(seconds)
        finally:
            worker.app.dispose()
        out.put(("ok", worker.report))
    except BaseException:
        out.put(("error", traceback.format_exc()))
