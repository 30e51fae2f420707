"""The one composition root: builds the engine, the unit of work, clock and ids.

Nothing is built at import time; entrypoints call ``build`` with settings.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, make_url

from engagebill.adapters.calendars import HolidayCalendars
from engagebill.adapters.db.engine import is_sqlite_file, make_engine, normalise_url
from engagebill.adapters.db.unit_of_work import SqlUnitOfWork
from engagebill.adapters.db.writer_turn import WriterTurn, lock_path_for
from engagebill.adapters.documents import DeferredPdfRenderer
from engagebill.adapters.einvoice import XmlEInvoiceRenderer, to_cii
from engagebill.adapters.mail import FolderMailer, SmtpMailer
from engagebill.adapters.webhooks import UrllibSender
from engagebill.config import Settings, local_secret_key
from engagebill.services.ports import Context, Mailer, UnitOfWork, WebhookSender


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return self.now().date()


def new_id(prefix: str) -> str:
    """A prefixed random id such as ``inv_3f9c...``: readable, and unguessable across tenants."""
    return f"{prefix}_{secrets.token_hex(16)}"


def _local_secret(database_file: Path | None) -> str:
    """Without a configured key: one kept beside a SQLite database file, else per process."""
    if database_file is not None:
        return local_secret_key(database_file.parent)
    return secrets.token_urlsafe(48)


@dataclass(slots=True)
class App:
    settings: Settings
    engine: Engine
    ctx: Context
    reader_engine: Engine | None = None  # SQLite files: the read-only connections
    writer_turn: WriterTurn | None = None  # SQLite: whose turn it is to write

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reader_engine is not None:
            self.reader_engine.dispose()
        if self.writer_turn is not None:
            self.writer_turn.close()

    def mailer(self) -> Mailer:
        if self.settings.smtp_url:
            return SmtpMailer(self.settings.smtp_url)
        return FolderMailer(self.settings.mail_dir)

    def webhook_sender(self) -> WebhookSender:
        return UrllibSender()


def build(settings: Settings, *, clock: object | None = None) -> App:
    url = normalise_url(settings.database_url)
    database_file = Path(make_url(url).database or "").expanduser() if is_sqlite_file(url) else None
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)

    # SQLite has one writer at a time: the writers of this process, and of every other process
    # on the same file, take turns in order (adapters/db/writer_turn.py).
    writer_lock: WriterTurn | None = None
    if engine.dialect.name == "sqlite":
        writer_lock = WriterTurn(lock_path_for(str(database_file)) if database_file else None)

    def uow() -> UnitOfWork:
        return SqlUnitOfWork(engine, writer_lock)

    # Readers take no lock: on a SQLite file they get connections of their own (WAL lets
    # them read while one writer writes); an in-memory database has a single connection, so
    # reading goes through the writer's turn; PostgreSQL needs no lock at all.
    reader_engine = make_engine(url, read_only=True) if database_file else None

    def reader() -> UnitOfWork:
        if reader_engine is not None:
            return SqlUnitOfWork(reader_engine)
        return SqlUnitOfWork(engine, writer_lock)

    ctx = Context(
        uow=uow,
        reader=reader,
        clock=clock or SystemClock(),  # type: ignore[arg-type]
        ids=new_id,
        calendars=HolidayCalendars(),
        pdf_renderer=DeferredPdfRenderer(),
        cii_renderer=to_cii,
        einvoice_renderer=XmlEInvoiceRenderer(),
    )
    if settings.public_url:
        ctx.settings["public_url"] = settings.public_url
    ctx.settings["secret_key"] = settings.secret_key or _local_secret(database_file)
    return App(
        settings=settings,
        engine=engine,
        ctx=ctx,
        reader_engine=reader_engine,
        writer_turn=writer_lock,
    )
