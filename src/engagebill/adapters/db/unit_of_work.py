"""The SQL unit of work: one connection, one transaction, every repository on it.

Leaving the ``with`` block without ``commit()`` rolls everything back, so a failed use case
leaves nothing half-written.

On SQLite every transaction takes the database's write lock up front (``BEGIN IMMEDIATE``).
Threads of one process queue on ``writer_lock`` instead of on SQLite's busy handler, which
sleeps in growing steps and turns contention into seconds of latency: one writer at a time,
served in order. Other processes still wait on the busy timeout.
"""

from __future__ import annotations

import threading
from types import TracebackType

from sqlalchemy import Connection, Engine

from engagebill.adapters.db.access import SqlApiKeys, SqlIdempotency, SqlLinks
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


class SqlUnitOfWork:
    conn: Connection

    def __init__(self, engine: Engine, writer_lock: threading.RLock | None = None) -> None:
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
        self.organizations = SqlOrganizations(self.conn)
        self.clients = SqlClients(self.conn)
        self.engagements = SqlEngagements(self.conn)
        self.purchase_orders = SqlPurchaseOrders(self.conn)
        self.invoices = SqlInvoices(self.conn)
        self.credit_notes = SqlCreditNotes(self.conn)
        self.numbers = SqlNumberSeries(self.conn)
        self.events = SqlEventLog(self.conn)
        self.retainers = SqlRetainers(self.conn)
        self.quotes = SqlQuotes(self.conn)
        self.work = SqlWorkItems(self.conn)
        self.api_keys = SqlApiKeys(self.conn)
        self.idempotency = SqlIdempotency(self.conn)
        self.links = SqlLinks(self.conn)
        self.outbox = SqlOutbox(self.conn)
        self.users = SqlUsers(self.conn)
        self.invoice_templates = SqlInvoiceTemplates(self.conn)
        self.calendar_feeds = SqlCalendarFeeds(self.conn)
        return self

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
