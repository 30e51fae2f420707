"""The SQL unit of work: one connection, one transaction, every repository on it.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a failed use case
leaves nothing half-written.

On SQLite every transaction takes the database's write lock up front (``BEGIN IMMEDIATE``).
Writers queue for their turn first (``writer_lock``, a ``WriterTurn``: the threads of this
process and the other processes on the file) instead of in SQLite's busy handler, which sleeps
in growing steps and turns contention into seconds of latency: one writer at a time, served in
order. A unit of work on the read-only engine is given no turn (see ``bootstrap``).

Repositories are built on first use: most use cases touch three or four of the eighteen.
"""

from __future__ import annotations

from functools import cached_property
from types import TracebackType

from sqlalchemy import Connection, Engine

from engagebill.adapters.db.access import SqlApiKeys, SqlIdempotency, SqlLinks
from engagebill.adapters.db.accounts import SqlEngagementAccounts
from engagebill.adapters.db.calendar_feeds import SqlCalendarFeeds
from engagebill.adapters.db.invoice_templates import SqlInvoiceTemplates
from engagebill.adapters.db.invoices import SqlCreditNotes, SqlInvoices
from engagebill.adapters.db.ledger import SqlEventLog, SqlNumberSeries
from engagebill.adapters.db.outbox import SqlOutbox
from engagebill.adapters.db.parties import (
    SqlClients,
    SqlEngagements,
    SqlOrganizations,
    SqlPurchaseOrders,
)
from engagebill.adapters.db.quotes import SqlQuotes
from engagebill.adapters.db.retainers import SqlRetainers
from engagebill.adapters.db.users import SqlUsers
from engagebill.adapters.db.work import SqlWorkItems
from engagebill.adapters.db.writer_turn import WriterTurn


class SqlUnitOfWork:
    conn: Connection

    def __init__(self, engine: Engine, writer_lock: WriterTurn | None = None) -> None:
        self.engine = engine
        self.writer_lock = writer_lock

    def __enter__(self) -> SqlUnitOfWork:
        if self.writer_lock is not None:
            self.writer_lock.acquire()
        try:
            self.conn = self.engine.connect()
            self._tx = self.conn.begin()
        except BaseException:
            if self.writer_lock is not None:
                self.writer_lock.release()
            raise
        return self

    @cached_property
    def organizations(self) -> SqlOrganizations:
        return SqlOrganizations(self.conn)

    @cached_property
    def clients(self) -> SqlClients:
        return SqlClients(self.conn)

    @cached_property
    def engagements(self) -> SqlEngagements:
        return SqlEngagements(self.conn)

    @cached_property
    def purchase_orders(self) -> SqlPurchaseOrders:
        return SqlPurchaseOrders(self.conn)

    @cached_property
    def invoices(self) -> SqlInvoices:
        return SqlInvoices(self.conn)

    @cached_property
    def credit_notes(self) -> SqlCreditNotes:
        return SqlCreditNotes(self.conn)

    @cached_property
    def accounts(self) -> SqlEngagementAccounts:
        return SqlEngagementAccounts(self.conn)

    @cached_property
    def numbers(self) -> SqlNumberSeries:
        return SqlNumberSeries(self.conn)

    @cached_property
    def events(self) -> SqlEventLog:
        return SqlEventLog(self.conn)

    @cached_property
    def retainers(self) -> SqlRetainers:
        return SqlRetainers(self.conn)

    @cached_property
    def quotes(self) -> SqlQuotes:
        return SqlQuotes(self.conn)

    @cached_property
    def work(self) -> SqlWorkItems:
        return SqlWorkItems(self.conn)

    @cached_property
    def api_keys(self) -> SqlApiKeys:
        return SqlApiKeys(self.conn)

    @cached_property
    def idempotency(self) -> SqlIdempotency:
        return SqlIdempotency(self.conn)

    @cached_property
    def links(self) -> SqlLinks:
        return SqlLinks(self.conn)

    @cached_property
    def outbox(self) -> SqlOutbox:
        return SqlOutbox(self.conn)

    @cached_property
    def users(self) -> SqlUsers:
        return SqlUsers(self.conn)

    @cached_property
    def invoice_templates(self) -> SqlInvoiceTemplates:
        return SqlInvoiceTemplates(self.conn)

    @cached_property
    def calendar_feeds(self) -> SqlCalendarFeeds:
        return SqlCalendarFeeds(self.conn)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()
            if self.writer_lock is not None:
                self.writer_lock.release()

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()
        # Repositories remember what they read and wrote in the transaction (the invoices'
        # stored versions, the event chain's head); none of it holds after a rollback.
        for name in ("invoices", "events"):
            self.__dict__.pop(name, None)
