"""Property-based tests of the whole REST API from its OpenAPI document (schemathesis).

Every operation in /api/v1/openapi.json, including ones added later, is called with generated
requests (valid and invalid) under a read-write API key, on SQLite. Two properties must hold
for every answer: it is never a server error, and a documented status's body conforms to the
schema the document gives for it (errors are problem+json, documented on every operation).

Half the generated path parameters and ``*_id`` body fields are swapped for ids of a seeded
organization, so that requests get past "not found" and into the use cases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from engagebill.entrypoints.http import create_app
from engagebill.services import (
    billing_run,
    invoicing,
    parties,
    quotes,
    recipient,
    retainers,
    settlement,
    work,
)
from engagebill.services.access import create_api_key
from engagebill.services.ports import Context
from engagebill.services.quotes import QuoteItemInput
from tests.support import (
    FixedClock,
    a_client,
    a_po,
    an_engagement,
    an_organization,
    line,
    migrated_app,
)

MAX_EXAMPLES = 12


def _seed(app: Any) -> tuple[str, dict[str, str]]:
    """An organization with one of everything; returns its key and ids by parameter name."""
    ctx = app.ctx
    org = an_organization(app)
    client = a_client(app, org)
    retainer = an_engagement(app, org, client, kind="retainer", name="Brand retainer")
    project = an_engagement(app, org, client, kind="fixed_price", name="Website rebuild")
    po = a_po(app, org, retainer, "PO-77", ceiling="100000.00")
    schedule = retainers.create_schedule(
        ctx,
        organization_id=org,
        engagement_id=retainer,
        amount="5000.00",
        start_date=date(2025, 1, 1),
    )
    advance = retainers.create_advance(
        ctx,
        organization_id=org,
        engagement_id=project,
        amount="2000.00",
        invoice_date=date(2025, 2, 1),
    )
    billing_run.execute_run(ctx, organization_id=org, as_of=date(2025, 3, 3))
    draft = invoicing.create_draft(
        ctx, organization_id=org, engagement_id=project, lines=[line(price="900.00")]
    ).invoice
    sent = invoicing.send_invoice(ctx, organization_id=org, invoice_id=draft.id)
    recipient.record_view(ctx, organization_id=org, invoice_id=sent.id)
    note = settlement.issue_credit_note(
        ctx, organization_id=org, invoice_id=sent.id, reason="Goodwill", lines=[line(price="1")]
    )
    entity = parties.add_billing_entity(
        ctx,
        organization_id=org,
        client_id=client,
        entity=parties.EntityInput(
            legal_name="Acme Retail Holding GmbH",
            line1="Unter den Linden 5",
            city="Berlin",
            postal_code="10117",
            country_code="DE",
        ),
    )
    quote = quotes.create_quote(
        ctx,
        organization_id=org,
        engagement_id=project,
        title="Website rebuild",
        items=[QuoteItemInput("launch", "Build and go-live", "20000.00")],
    )
    quotes.send_quote(ctx, organization_id=org, quote_id=quote.id)
    quotes.accept_quote(ctx, organization_id=org, quote_id=quote.id, name="Dana Scully")
    [milestone] = quotes.list_milestones(ctx, organization_id=org, engagement_id=project)
    hours = an_engagement(app, org, client, kind="time_and_material", name="Extras")
    item = work.record_work_item(
        ctx,
        organization_id=org,
        engagement_id=hours,
        work_date=date(2025, 2, 20),
        person="Sam",
        hours="3",
        rate="120.00",
        description="Extra landing page",
    )
    key = create_api_key(ctx, organization_id=org, name="schemathesis").secret
    ids = {
        "quote_id": quote.id,
        "milestone_id": milestone.id,
        "work_item_id": item.id,
        "client_id": client,
        "engagement_id": retainer,
        "purchase_order_id": po,
        "schedule_id": schedule.id,
        "advance_id": advance.id,
        "invoice_id": sent.id,
        "credit_note_id": note.id,
        "billing_entity_id": entity.id,
        "subject_id": sent.id,
    }
    return key, ids


def _no_database() -> Any:
    raise AssertionError("the OpenAPI document is built without a database")


# The document does not depend on data, so it is loaded once, at collection, from an app that
# has no database; every test case then calls the app built on the seeded database. (The lazy
# ``schemathesis.pytest.from_fixture`` would read the document from a fixture, but it sets a
# node attribute pytest 9 no longer has.)
schema = schemathesis.openapi.from_asgi(
    "/api/v1/openapi.json",
    create_app(Context(uow=_no_database, clock=FixedClock(), ids=lambda prefix: prefix)),
)
IDS: dict[str, str] = {}  # the seeded organization's ids, by parameter name


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    if not path_parameters:
        return st.just(path_parameters)
    real = {k: IDS[k] for k in path_parameters if k in IDS}
    return st.sampled_from([path_parameters, {**path_parameters, **real}])


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    if not isinstance(body, dict):
        return st.just(body)
    real = {k: IDS[k] for k, v in body.items() if k in IDS and isinstance(v, str)}
    return st.sampled_from([body, {**body, **real}])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    folder = tmp_path_factory.mktemp("schemathesis")
    app = migrated_app(f"sqlite:///{folder / 'engagebill.db'}", FixedClock())
    key, ids = _seed(app)
    IDS.update(ids)
    yield create_app(app.ctx), key
    IDS.clear()
    app.dispose()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_error_and_responses_match_the_schema(case: Any, seeded: tuple[Any, str]) -> None:
    asgi_app, key = seeded
    case.call_and_validate(
        app=asgi_app,
        headers={"Authorization": f"Bearer {key}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
