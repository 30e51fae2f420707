"""``insert_rows`` stores exactly what a Core ``insert`` stores, on SQLite and PostgreSQL.

The billing run writes its invoices, versions, lines and events through ``insert_rows``; every
value must read back the same as when written the ordinary way: decimal text, dates, UTC
datetimes, booleans, NULLs and the Python-side defaults of columns left out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, insert, select

from engagebill.adapters.db.bulk import insert_rows
from engagebill.adapters.db.types import DecimalText, UtcDateTime

metadata = MetaData()
sample = Table(
    "bulk_insert_sample",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("quantity", DecimalText, nullable=True),
    Column("day", Date, nullable=True),
    Column("at", UtcDateTime, nullable=True),
    Column("flag", Boolean, nullable=False, default=False),
    Column("note", String(40), nullable=False, default="none"),
)


def _rows(first_id: int) -> list[dict[str, Any]]:
    cet = timezone(timedelta(hours=1))
    return [
        {
            "id": first_id,
            "quantity": Decimal("7.5000"),
            "day": date(2025, 3, 28),
            "at": datetime(2025, 3, 28, 9, 30, 0, 5, tzinfo=cet),
            "flag": True,
        },
        {"id": first_id + 1, "quantity": None, "day": None, "at": None, "flag": False},
    ]


@pytest.fixture
def engine(app):  # type: ignore[no-untyped-def]
    metadata.create_all(app.engine)
    yield app.engine
    metadata.drop_all(app.engine)


def test_rows_read_back_as_a_core_insert_writes_them(engine: Any) -> None:
    with engine.begin() as conn:
        insert_rows(conn, sample, _rows(1))
        conn.execute(insert(sample), _rows(11))
    with engine.connect() as conn:
        read = {row.id: tuple(row)[1:] for row in conn.execute(select(sample))}
    assert read[1] == read[11]
    assert read[2] == read[12]
    assert read[1] == (
        Decimal("7.5000"),
        date(2025, 3, 28),
        datetime(2025, 3, 28, 8, 30, 0, 5, tzinfo=UTC),
        True,
        "none",
    )
    assert read[2] == (None, None, None, False, "none")


def test_rows_must_share_their_columns_and_name_real_ones(engine: Any) -> None:
    with engine.begin() as conn, pytest.raises(KeyError, match="no column"):
        insert_rows(conn, sample, [{"id": 1, "colour": "red"}])
    with engine.begin() as conn, pytest.raises(KeyError, match="same columns"):
        insert_rows(conn, sample, [{"id": 1, "flag": True}, {"id": 2}])
    with engine.connect() as conn:
        assert conn.execute(select(sample)).all() == []


def test_nothing_to_insert_is_a_no_op(engine: Any) -> None:
    with engine.begin() as conn:
        insert_rows(conn, sample, [])
        assert conn.execute(select(sample)).all() == []
