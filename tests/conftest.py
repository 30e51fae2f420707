"""Shared fixtures: ``app`` runs a test on SQLite and on PostgreSQL.

Hypothesis runs derandomized by default: the suite that gates a change (``make test``, CI)
gives the same verdict on every machine, so a failure there is the change's. ``make soak``
(ENGAGEBILL_PROOF_LONG=1) explores with fresh random examples; a case it finds becomes an
``@example`` of its property.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support import (
    FixedClock,
    World,
    a_client,
    an_organization,
    migrated_app,
    postgres_database,
)

settings.register_profile("gate", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("explore" if os.environ.get("ENGAGEBILL_PROOF_LONG") == "1" else "gate")

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """SQLite: a new file per test. PostgreSQL: one database per run; tests are isolated
    by organization (every row is an organization's)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'engagebill.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def app(database_url: str, clock: FixedClock):  # type: ignore[no-untyped-def]
    application = migrated_app(database_url, clock)
    yield application
    application.dispose()


@pytest.fixture
def world(app, clock: FixedClock) -> World:  # type: ignore[no-untyped-def]
    org_id = an_organization(app)
    return World(app=app, clock=clock, org_id=org_id, client_id=a_client(app, org_id))


@pytest.fixture
def isolated_world(backend: str, tmp_path: Path, clock: FixedClock):  # type: ignore[no-untyped-def]
    """A world in a database of its own, for code that works across organizations (the
    delivery worker, verification of every chain)."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'isolated.db'}"
        else:
            url = stack.enter_context(postgres_database())
        application = migrated_app(url, clock)
        stack.callback(application.dispose)
        org_id = an_organization(application)
        yield World(
            app=application, clock=clock, org_id=org_id, client_id=a_client(application, org_id)
        )
