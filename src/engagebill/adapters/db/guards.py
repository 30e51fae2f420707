"""Database triggers that make issued content immutable, whatever code talks to the database.

Events and credit notes are append-only; a frozen invoice version and its lines can be neither
updated nor deleted. The hash chain detects tampering by someone who drops these triggers;
the triggers stop any code path from changing sent content by mistake.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_APPEND_ONLY = ("events", "credit_notes", "credit_note_lines")

_SQLITE = [
    *(
        f"""CREATE TRIGGER guard_{table}_{op.lower()} BEFORE {op} ON {table}
        BEGIN SELECT RAISE(ABORT, 'engagebill: {table} are append-only'); END"""
        for table in _APPEND_ONLY
        for op in ("UPDATE", "DELETE")
    ),
    *(
        f"""CREATE TRIGGER guard_invoice_versions_{op.lower()} BEFORE {op} ON invoice_versions
        WHEN OLD.frozen = 1
        BEGIN SELECT RAISE(ABORT, 'engagebill: a sent invoice version is immutable'); END"""
        for op in ("UPDATE", "DELETE")
    ),
    *(
        f"""CREATE TRIGGER guard_invoice_lines_{op.lower()} BEFORE {op} ON invoice_lines
        WHEN (SELECT frozen FROM invoice_versions v
              WHERE v.invoice_id = OLD.invoice_id AND v.version = OLD.version) = 1
        BEGIN SELECT RAISE(ABORT, 'engagebill: a sent invoice version is immutable'); END"""
        for op in ("UPDATE", "DELETE")
    ),
]

_POSTGRES = [
    """CREATE OR REPLACE FUNCTION engagebill_refuse() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'engagebill: % on % refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0];
    END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION engagebill_refuse_frozen_line() RETURNS trigger AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM invoice_versions v WHERE v.invoice_id = OLD.invoice_id
                   AND v.version = OLD.version AND v.frozen) THEN
            RAISE EXCEPTION 'engagebill: % on invoice_lines refused: a sent invoice version is '
                            'immutable', TG_OP;
        END IF;
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    *(
        f"""CREATE TRIGGER guard_{table} BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION engagebill_refuse('{table} are append-only')"""
        for table in _APPEND_ONLY
    ),
    """CREATE TRIGGER guard_invoice_versions BEFORE UPDATE OR DELETE ON invoice_versions
    FOR EACH ROW WHEN (OLD.frozen)
    EXECUTE FUNCTION engagebill_refuse('a sent invoice version is immutable')""",
    """CREATE TRIGGER guard_invoice_lines BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION engagebill_refuse_frozen_line()""",
]


def install_guards(connection: Connection) -> None:
    statements = _POSTGRES if connection.dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        connection.execute(text(statement))


def drop_guards(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for table in (*_APPEND_ONLY, "invoice_versions", "invoice_lines"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS guard_{table} ON {table}"))
        connection.execute(text("DROP FUNCTION IF EXISTS engagebill_refuse_frozen_line()"))
        connection.execute(text("DROP FUNCTION IF EXISTS engagebill_refuse()"))
        return
    for table in (*_APPEND_ONLY, "invoice_versions", "invoice_lines"):
        for op in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS guard_{table}_{op}"))


# The chain head only moves forward: cutting off the newest events and lowering the head to
# match would otherwise go unnoticed.
_HEAD_SQLITE = [
    """CREATE TRIGGER guard_event_heads_update BEFORE UPDATE ON event_heads
    WHEN NEW.last_seq < OLD.last_seq
    BEGIN SELECT RAISE(ABORT, 'engagebill: the event chain head only moves forward'); END""",
    """CREATE TRIGGER guard_event_heads_delete BEFORE DELETE ON event_heads
    BEGIN SELECT RAISE(ABORT, 'engagebill: the event chain head only moves forward'); END""",
]
_HEAD_POSTGRES = [
    """CREATE TRIGGER guard_event_heads_update BEFORE UPDATE ON event_heads
    FOR EACH ROW WHEN (NEW.last_seq < OLD.last_seq)
    EXECUTE FUNCTION engagebill_refuse('the event chain head only moves forward')""",
    """CREATE TRIGGER guard_event_heads_delete BEFORE DELETE ON event_heads
    FOR EACH ROW EXECUTE FUNCTION engagebill_refuse('the event chain head only moves forward')""",
]


def install_head_guards(connection: Connection) -> None:
    pg = connection.dialect.name == "postgresql"
    for statement in _HEAD_POSTGRES if pg else _HEAD_SQLITE:
        connection.execute(text(statement))


def drop_head_guards(connection: Connection) -> None:
    pg = connection.dialect.name == "postgresql"
    for name in ("guard_event_heads_update", "guard_event_heads_delete"):
        suffix = " ON event_heads" if pg else ""
        connection.execute(text(f"DROP TRIGGER IF EXISTS {name}{suffix}"))
