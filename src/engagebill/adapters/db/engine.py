"""Engines for SQLite (the embedded default) and PostgreSQL.

SQLite is set up for a server's life: WAL so readers never wait for the writer,
``foreign_keys=ON``, a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction so that a
writer takes the write lock up front instead of failing half-way when another writer got there
first (deferred transactions cannot be upgraded under contention).

A read-only engine (``read_only=True``, SQLite files only) serves the use cases that write
nothing: its connections are ``query_only`` and begin deferred, so a reader reads the last
committed snapshot without taking or waiting for the write lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool, StaticPool


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` for psycopg 3, and plain SQLite paths."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url


def make_engine(url: str, *, pool_size: int = 10, read_only: bool = False) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, read_only=read_only)
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def is_sqlite_file(url: str) -> bool:
    parsed = make_url(normalise_url(url))
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def _sqlite_engine(url: str, *, read_only: bool = False) -> Engine:
    memory = make_url(url).database in (None, "", ":memory:")
    if memory and read_only:
        raise ValueError("an in-memory database has one connection: read through the writer")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        # Keep connections open: closing the last one checkpoints and removes the WAL, which
        # costs milliseconds on every transaction.
        kwargs.update(poolclass=QueuePool, pool_size=8, max_overflow=24)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if read_only:
            # A use case that reads must not write by mistake: SQLite refuses it here.
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    # Readers begin deferred: in WAL mode they read a snapshot and never wait for a writer.
    default_mode = "DEFERRED" if read_only else "IMMEDIATE"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", default_mode)
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
