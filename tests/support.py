"""Test support: a fixed clock, databases on SQLite and PostgreSQL, and domain builders.

Builders read like the domain: ``a_retainer_engagement(app, client, amount=...)``.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from engagebill.adapters.db.migrate import upgrade
from engagebill.bootstrap import App, build
from engagebill.config import Settings
from engagebill.services import parties
from engagebill.services.lines import LineInput

PG_ADMIN_URL = os.environ.get(
    "ENGAGEBILL_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("ENGAGEBILL_REQUIRE_POSTGRES") == "1"


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, moment: datetime | None = None) -> None:
        self.moment = moment or datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        # Every reading moves a microsecond on, so events keep a strict order.
        self.moment += timedelta(microseconds=1)
        return self.moment

    def today(self) -> date:
        return self.moment.date()

    def set(self, day: date, hour: int = 9) -> None:
        self.moment = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if postgres_available():
        return
    if REQUIRE_POSTGRES:
        pytest.fail(
            "PostgreSQL is required (ENGAGEBILL_REQUIRE_POSTGRES=1) but 127.0.0.1:5432 "
            "does not answer"
        )
    pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, migrated PostgreSQL database for this run; dropped afterwards."""
    require_postgres()
    name = f"engagebill_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def migrated_app(url: str, clock: FixedClock | None = None) -> App:
    app = build(Settings(database_url=url), clock=clock or FixedClock())
    upgrade(app.engine)
    return app


@dataclass
class World:
    """An organization with one client, ready for engagements."""

    app: App
    clock: FixedClock
    org_id: str
    client_id: str

    @property
    def ctx(self):  # type: ignore[no-untyped-def]
        return self.app.ctx


SELLER = parties.EntityInput(
    legal_name="Northwind Studio B.V.",
    line1="Keizersgracht 1",
    city="Amsterdam",
    postal_code="1015 CJ",
    country_code="NL",
    tax_id="NL004495445B01",
)

BUYER = parties.EntityInput(
    legal_name="Acme Retail GmbH",
    line1="Friedrichstrasse 10",
    city="Berlin",
    postal_code="10117",
    country_code="DE",
    tax_id="DE136695976",
    cost_centre="MKT-100",
)


def an_organization(app: App, *, name: str = "Northwind Studio", prefix: str = "INV") -> str:
    org = parties.create_organization(
        app.ctx,
        name=name,
        seller=SELLER,
        email="billing@northwind.example",
        iban="NL91ABNA0417164300",
        invoice_prefix=prefix,
        credit_note_prefix="CN",
    )
    return org.id


def a_client(app: App, org_id: str, *, name: str = "Acme Retail") -> str:
    client = parties.create_client(
        app.ctx,
        organization_id=org_id,
        name=name,
        billing_entity=BUYER,
        contacts=[parties.ContactInput("Alex AP", "ap@acme.example")],
    )
    return client.id


def an_engagement(
    app: App,
    org_id: str,
    client_id: str,
    *,
    kind: str = "retainer",
    currency: str = "EUR",
    name: str | None = None,
    net_days: int = 30,
) -> str:
    engagement = parties.create_engagement(
        app.ctx,
        organization_id=org_id,
        client_id=client_id,
        name=name or f"{kind.replace('_', ' ').title()}",
        kind=kind,
        currency=currency,
        net_days=net_days,
    )
    return engagement.id


def a_po(app: App, org_id: str, engagement_id: str, number: str = "PO-1", **kw: object) -> str:
    return parties.create_purchase_order(
        app.ctx, organization_id=org_id, engagement_id=engagement_id, number=number, **kw
    ).id  # type: ignore[arg-type]


def line(
    description: str = "Monthly retainer, March 2025",
    quantity: str = "1",
    price: str = "10000.00",
    rate: str = "21",
    category: str = "S",
    **kw: object,
) -> LineInput:
    return LineInput(
        description=description,
        quantity=quantity,
        unit_price=price,
        vat_rate=rate,
        vat_category=category,
        **kw,
    )  # type: ignore[arg-type]
