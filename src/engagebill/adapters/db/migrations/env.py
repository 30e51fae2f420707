"""Alembic environment: migrations run on the connection ``migrate.upgrade`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from engagebill.adapters.db.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: take the URL from the ini / -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    assert url, "pass -x url=... to run migrations by hand"
    connection = create_engine(url).connect()

context.configure(
    connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True
)
with context.begin_transaction():
    context.run_migrations()
