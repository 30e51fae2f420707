"""Stateful property-based tests of the REST API: chains of calls along its OpenAPI links.

The published document links each answer to the operations that take its ids (a client's to
its engagements, an engagement's to its drafts, a sent invoice's to payments, approvals and
credit notes...). schemathesis's state machine follows those links with generated requests,
valid and invalid, against the in-process app, on SQLite and on PostgreSQL. Each scenario is
an organization of its own that opens with a client, an engagement and two drafts, one of them
sent. At every step: never a server error; a documented status's body conforms to its schema;
what a POST just created is found by the operations its links lead to; and a refusal (any
4xx), like any GET, writes nothing: the organization's rows stay as they were, and so does every
table's row count (the idempotency keys aside: they keep refusals, to replay them). At the end
of a scenario, every invoice it sent and credit note it issued renders as PDF, UBL and CII.

The links themselves are checked too: each one resolves to an operation, parameter and field of
the document, and every operation that takes an id in its path is reached by one.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, multiple
from schemathesis.checks import not_a_server_error
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput, normalize_name
from schemathesis.specs.openapi.checks import (
    ensure_resource_availability,
    response_schema_conformance,
)
from sqlalchemy import func, select

from engagebill.adapters.db import tables
from engagebill.bootstrap import App
from engagebill.entrypoints.api.app import create_api
from engagebill.entrypoints.api.openapi_links import LINKS, Link, LinkError, add_links
from engagebill.entrypoints.http import create_app
from engagebill.services.access import create_api_key
from engagebill.services.ports import Context
from tests.support import FixedClock, an_organization, migrated_app, postgres_database

SCENARIOS = 30
STEPS = 20
KINDS = ["retainer", "fixed_price", "time_and_material"]
LINE = {"description": "Design sprint", "quantity": "3", "unit_price": "900.00"}
# Where the links must lead at least once in a run, by stage of the lifecycle: a stage never
# reached is one the document or this test has lost the way to.
REACHED = {
    "sending": [("POST /invoices/{invoice_id}/send", 200)],
    "the recipient's answers": [
        ("POST /invoices/{invoice_id}/approve", 200),
        ("POST /invoices/{invoice_id}/change-requests", 200),
        ("POST /invoices/{invoice_id}/amendments", 200),
    ],
    "settlement": [
        ("POST /invoices/{invoice_id}/payments", 200),
        ("POST /invoices/{invoice_id}/lock", 200),
        ("POST /invoices/{invoice_id}/credit-notes", 201),
    ],
}
# Tables a refused request may write: the idempotency middleware keeps refusals for replay.
MAY_CHANGE_ON_REFUSAL = {"idempotency_keys"}


def _no_database() -> Any:
    raise AssertionError("the OpenAPI document is built without a database")


APP_WITHOUT_DATABASE = create_app(Context(uow=_no_database, clock=FixedClock(), ids=lambda p: p))
# Only the published links: the links schemathesis would infer from field names (hundreds of
# them) would spread the steps thin and hide a way the document forgot.
schema = schemathesis.openapi.from_asgi(
    "/api/v1/openapi.json",
    APP_WITHOUT_DATABASE,
    config=schemathesis.Config.from_dict(
        {"phases": {"stateful": {"inference": {"algorithms": []}}}}
    ),
)


# Values the use cases accept, by field name: a random currency code or email address is
# almost never a real one, so without these the chains would stop at the first step.
PLAUSIBLE: dict[str, Any] = {
    "currency": "EUR",
    "country_code": "DE",
    "tax_id": "DE136695976",
    "email": "ap@acme.example",
    "vat_category": "S",
    "vat_rate": "21",
    "net_days": 30,
    "amount": "500.00",
    "quantity": "2",
    "unit_price": "150.00",
    "ceiling": "100000.00",
    "issue_date": "2025-03-03",
    "service_date": "2025-02-20",
    "received_on": "2025-03-20",
    "as_of": "2025-03-03",
    "start_date": "2025-01-01",
    "end_date": "2025-12-31",
    "invoice_date": "2025-02-01",
    "valid_from": "2025-01-01",
    "valid_to": "2025-12-31",
    "retainer_mode": None,
    "format": "ubl",
    "version": 1,
}


def _plausible(value: Any, *, typed: bool = True) -> Any:
    """``value`` with the fields above replaced; its other text as a user would type it
    (without control characters), or only without NUL (which every route refuses first)."""
    if isinstance(value, dict):
        return {
            k: PLAUSIBLE[k] if k in PLAUSIBLE else _plausible(v, typed=typed)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_plausible(v, typed=typed) for v in value]
    if isinstance(value, str):
        refused = ("Cc", "Cs") if typed else ("Cs",)
        return "".join(c for c in value if c != "\0" and unicodedata.category(c) not in refused)
    return value


def _as_generated_or_plausible(value: Any) -> Any:
    if not isinstance(value, dict):
        return st.just(value)
    return st.sampled_from([value, _plausible(value)])


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    return _as_generated_or_plausible(body)


@schema.hook
def flatmap_query(context: Any, query: Any) -> Any:
    return _as_generated_or_plausible(query)


def created_resources_are_found(ctx: Any, response: Any, case: Any) -> bool | None:
    """What a POST just created answers to the operations its links lead to.

    schemathesis's check, narrowed to 404s about the id in the path: the API answers 404 for
    an unknown id in the body too (a PO on a draft), and that one is about the body."""
    if response.status_code != 404:
        return None
    problem = response.json()
    details = problem.get("details") if isinstance(problem, dict) else None
    if (
        not isinstance(details, dict)
        or details.get("id") not in (case.path_parameters or {}).values()
    ):
        return None
    return ensure_resource_availability(ctx, response, case)  # type: ignore[no-any-return]


CHECKS = [not_a_server_error, response_schema_conformance, created_resources_are_found]


def _published() -> dict[str, Any]:
    with TestClient(APP_WITHOUT_DATABASE) as client:
        document: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    return document


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", operation


# -- the links -----------------------------------------------------------------------------


def test_every_published_link_leads_to_an_operation_of_the_document() -> None:
    document = _published()
    ids = {op["operationId"] for _, op in _operations(document)}
    published = [
        link
        for _, op in _operations(document)
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert len(published) == sum(len(links) for links in LINKS.values())
    assert {link["operationId"] for link in published} <= ids
    # schemathesis resolves every link's operation and parameters, or refuses to build the
    # machine; it keeps what it resolved in a private attribute.
    machine = schema.as_state_machine()
    assert sum(len(t.outgoing) for t in machine._transitions.operations.values()) == len(published)


def test_every_operation_that_takes_an_id_in_its_path_is_reached_by_a_link() -> None:
    document = _published()
    targets = {
        link["operationId"]
        for _, op in _operations(document)
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    }
    unreached = [
        label
        for label, op in _operations(document)
        if any(p["in"] == "path" for p in op.get("parameters", []))
        and op["operationId"] not in targets
    ]
    assert unreached == [], "add links to these in engagebill/entrypoints/api/openapi_links.py"


@pytest.mark.parametrize(
    ("link", "problem"),
    [
        (
            Link("GetGone", "GET /gone/{gone_id}", path={"gone_id": "/id"}),
            "no operation GET /gone/{gone_id}",
        ),
        (
            Link("GetClient", "GET /clients/{client_id}", path={"id": "/id"}),
            "no path parameter id",
        ),
        (Link("GetClient", "GET /clients/{client_id}"), "needs the path parameters"),
        (
            Link("ListInvoices", "GET /invoices", query={"customer": "/id"}),
            "no query parameter customer",
        ),
        (
            Link("CreateEngagement", "POST /engagements", body={"customer_id": "/id"}),
            "no body field customer_id",
        ),
        (
            Link("GetClient", "GET /clients/{client_id}", path={"client_id": "/uuid"}),
            "nothing at /uuid",
        ),
        (
            Link("GetClient", "GET /clients/{client_id}", path={"client_id": "/contacts/0/x"}),
            "nothing at /contacts/0/x",
        ),
    ],
)
def test_a_link_that_does_not_fit_the_document_is_refused(link: Link, problem: str) -> None:
    document = _unlinked()
    with pytest.raises(LinkError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        add_links(document, {("POST /clients", "201"): (link,)})
    assert "links" not in document["paths"]["/clients"]["post"]["responses"]["201"]


def test_a_link_from_an_answer_the_operation_does_not_give_is_refused() -> None:
    get_client = Link("GetClient", "GET /clients/{client_id}", path={"client_id": "/id"})
    with pytest.raises(LinkError, match="no 204 response"):
        add_links(_unlinked(), {("POST /clients", "204"): (get_client,)})
    with pytest.raises(LinkError, match="two links named GetClient"):
        add_links(_unlinked(), {("POST /clients", "201"): (get_client, get_client)})


def _unlinked() -> dict[str, Any]:
    """A document as FastAPI generates it, without links."""
    return FastAPI.openapi(create_api(Context(uow=_no_database, clock=FixedClock(), ids=str)))


# -- the state machine -----------------------------------------------------------------------


def _fingerprint(engine: Any) -> Callable[[str], dict[str, str]]:
    """A digest, by table, of one organization's rows and of every table's row count."""
    watched = [t for t in tables.metadata.sorted_tables if t.name not in MAY_CHANGE_ON_REFUSAL]

    def rows(table: Any, organization_id: str) -> Any:
        if "organization_id" in table.c:
            return select(table).where(table.c.organization_id == organization_id)
        if table.name == "organizations":
            return select(table).where(table.c.id == organization_id)
        return select(table)

    def take(organization_id: str) -> dict[str, str]:
        counted = select(*(select(func.count()).select_from(t).scalar_subquery() for t in watched))
        with engine.connect() as conn:
            counts = conn.execute(counted).one()
            return {
                t.name: hashlib.sha256(
                    "\n".join(
                        [
                            str(count),
                            *sorted(repr(tuple(r)) for r in conn.execute(rows(t, organization_id))),
                        ]
                    ).encode()
                ).hexdigest()
                for t, count in zip(watched, counts, strict=True)
            }

    return take


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stateful_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[App]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('stateful') / 'engagebill.db'}"
        else:
            url = stack.enter_context(postgres_database())
        app = migrated_app(url, FixedClock())
        stack.callback(app.dispose)
        yield app


def _issued(label: str, body: Any) -> Iterator[tuple[str, str]]:
    """The invoices sent and the credit notes issued in an answer of ``label``, as (path
    parameter, id)."""
    if label == "POST /invoices/{invoice_id}/credit-notes":
        yield "credit_note_id", body["id"]
    elif label.startswith("POST /invoices/"):
        yield "invoice_id", body.get("invoice", body)["id"]


def _workflow(app: App, answers: Counter[tuple[str, int]]) -> type:
    """The state machine schemathesis builds from the links, on ``app``, with this module's
    checks at every step; ``answers`` counts the statuses by operation."""
    base = schema.as_state_machine()
    create_client = schema["/clients"]["POST"]
    clients = create_client.as_strategy().map(
        lambda case: create_client.Case(body=_plausible(case.body, typed=False))
    )
    create_engagement = schema["/engagements"]["POST"]
    create_draft = schema["/invoices"]["POST"]
    send = schema["/invoices/{invoice_id}/send"]["POST"]
    renders = {
        parameter: [
            (schema[f"{path}/pdf"]["GET"], {}),
            (schema[f"{path}/einvoice"]["GET"], {"format": "ubl"}),
            (schema[f"{path}/einvoice"]["GET"], {"format": "cii"}),
        ]
        for parameter, path in [
            ("invoice_id", "/invoices/{invoice_id}"),
            ("credit_note_id", "/credit-notes/{credit_note_id}"),
        ]
    }
    asgi_app = create_app(app.ctx)
    fingerprint = _fingerprint(app.engine)

    class Workflow(base):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            # Scenarios do not see each other's data, so that the same steps get the same
            # answers whenever Hypothesis runs them.
            self.organization_id = org = an_organization(app)
            self.key = create_api_key(app.ctx, organization_id=org, name="stateful").secret
            self.issued: set[tuple[str, str]] = set()
            self.tables: dict[str, str] | None = None  # as they are, when known
            self.failed = False

        def teardown(self) -> None:
            """Every invoice and credit note the scenario issued renders, as it ended up:
            whatever the API accepted along the way must not break a document later."""
            for parameter, document_id in [] if self.failed else sorted(self.issued):
                for operation, query in renders[parameter]:
                    path = {parameter: document_id}
                    self.call_first(operation.Case(path_parameters=path, query=query))
            super().teardown()

        def step(self, input: StepInput) -> StepOutput:
            try:
                return super().step(input)  # type: ignore[no-any-return]
            except BaseException:
                # The scenario has its failure; the teardown adds no second one.
                self.failed = True
                raise

        @initialize(target=Bundle("catch_all"), client=clients, kind=st.sampled_from(KINDS))
        def a_draft_and_a_sent_invoice(self, client: Any, kind: str) -> Any:
            """A client with plausible codes and generated names (as a user would type them,
            if those are refused), an engagement for it, and two drafts of one line on that,
            one of them sent: a scenario's steps then reach the lifecycle's later states."""
            made = [self.call_first(client)]
            if made[-1].response.status_code != 201:
                made.append(self.call_first(create_client.Case(body=_plausible(client.body))))
            if made[-1].response.status_code != 201:
                return multiple(*made)
            engagement = {"name": "Website", "kind": kind, "currency": "EUR"}
            made.append(
                self.call_first(
                    create_engagement.Case(
                        body={**engagement, "client_id": made[-1].response.json()["id"]}
                    )
                )
            )
            if made[-1].response.status_code != 201:
                return multiple(*made)
            draft = {"engagement_id": made[-1].response.json()["id"], "lines": [LINE]}
            made += [self.call_first(create_draft.Case(body=draft)) for _ in range(2)]
            if made[-1].response.status_code == 201:
                invoice_id = made[-1].response.json()["invoice"]["id"]
                made.append(
                    self.call_first(send.Case(path_parameters={"invoice_id": invoice_id}, body={}))
                )
            return multiple(*made)

        def call_first(self, case: Any) -> StepOutput:
            """Call ``case`` as a step that no link led to."""
            step = StepInput.initial(case)
            self.recorder.record_case(case=case)
            self.control.record_step(step, self.recorder)
            return self.step(step)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"app": asgi_app, "headers": {"Authorization": f"Bearer {self.key}"}}

        def before_call(self, case: Any) -> None:
            if self.tables is None:
                self.tables = fingerprint(self.organization_id)

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            answers[(case.operation.label, response.status_code)] += 1
            if response.status_code < 300 and case.method != "GET":
                self.issued.update(_issued(case.operation.label, response.json()))
            case.validate_response(
                response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder
            )
            if 400 <= response.status_code < 500 or case.method == "GET":
                after = fingerprint(self.organization_id)
                changed = [name for name, digest in after.items() if digest != self.tables[name]]
                assert not changed, (
                    f"{case.method} {case.formatted_path} answered {response.status_code} "
                    f"and changed {changed}"
                )
            else:
                self.tables = None  # a write: taken again before the next step

    # schemathesis lets any operation with links start a scenario; an operation some link leads
    # to is reached through it, with real ids, instead of with guessed ones (whose 404s the
    # per-operation test has).
    linked = {
        link.target.label for t in base._transitions.operations.values() for link in t.outgoing
    }
    guessing = base._root_labels & linked
    Workflow._root_labels = base._root_labels - guessing
    for label in guessing:
        setattr(Workflow, normalize_name(f"RANDOM -> {label}"), None)
    return Workflow


def test_chains_of_calls_along_the_links(stateful_app: App) -> None:
    answers: Counter[tuple[str, int]] = Counter()
    run_state_machine_as_test(
        _workflow(stateful_app, answers),
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        ),
    )
    missed = [stage for stage, steps in REACHED.items() if not any(answers[s] for s in steps)]
    assert not missed, f"never reached {missed}; answers: {sorted(answers.items())}"
