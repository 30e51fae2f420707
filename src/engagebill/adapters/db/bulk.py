"""Inserting many rows at the driver's speed.

A month-end run writes tens of thousands of invoice, version, line and event rows in a few
transactions. ``Connection.execute(insert(table), rows)`` spends most of that time per row and
per parameter in SQLAlchemy (building each row's parameters from the compiled statement),
several times what the database itself takes. ``insert_rows`` writes the same rows through one
``executemany`` of a plain ``INSERT``, converting each value with the column type's own bind
processor, so what is stored is exactly what the Core insert would store: the same decimal
text, the same UTC datetimes, the same dates. Python-side scalar defaults of omitted columns are
applied as Core would; server defaults are left to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.engine import Dialect

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str  # the given columns in the rows' key order, then the defaulted ones
    defaults: tuple[Any, ...]  # the omitted columns' Python-side scalar defaults, in order
    converting: tuple[tuple[int, Processor], ...]  # (position, bind processor) where one exists


_statements: dict[tuple[str, str, tuple[str, ...]], _Statement] = {}


def _has_scalar_default(column: Column[Any]) -> bool:
    return column.default is not None and getattr(column.default, "is_scalar", False)


def _statement(dialect: Dialect, table: Table, given: tuple[str, ...]) -> _Statement:
    cache_key = (dialect.name, table.name, given)
    statement = _statements.get(cache_key)
    if statement is not None:
        return statement
    unknown = set(given) - set(table.columns.keys())
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {sorted(unknown)}")
    omitted = [c for c in table.columns if c.key not in given and _has_scalar_default(c)]
    columns = [table.columns[key] for key in given] + omitted
    quote = dialect.identifier_preparer.quote
    # Both drivers take positional parameters: sqlite3 as ``?``, psycopg as ``%s``.
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    statement = _Statement(
        sql=(
            f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(c.name) for c in columns)}) "
            f"VALUES ({', '.join([placeholder] * len(columns))})"
        ),
        defaults=tuple(c.default.arg for c in omitted),  # type: ignore[union-attr]
        converting=tuple((i, p) for i, p in enumerate(processors) if p is not None),
    )
    _statements[cache_key] = statement
    return statement


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same keys) into ``table`` with one ``executemany``."""
    if not rows:
        return
    given = tuple(rows[0])
    statement = _statement(conn.dialect, table, given)
    defaults, converting = statement.defaults, statement.converting
    # Only the columns whose type converts values are touched one by one.
    take = itemgetter(*given) if len(given) > 1 else (lambda row: (row[given[0]],))
    converted: list[tuple[Any, ...]] = []
    for row in rows:
        if len(row) != len(given):
            raise KeyError(f"every row inserted into {table.name} must have the same columns")
        values = take(row) + defaults
        if converting:
            changed = list(values)
            for i, process in converting:
                if changed[i] is not None:
                    changed[i] = process(changed[i])
            values = tuple(changed)
        converted.append(values)
    conn.exec_driver_sql(statement.sql, converted)
