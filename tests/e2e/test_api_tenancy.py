"""Tenancy: one organization never sees or touches another's data, on every route.

Two organizations, A and B, each with one of everything. Every operation of the OpenAPI
document (so a route added later is covered without touching this file) is called with B's key
against A's ids: path parameters by name from ``A``'s ids, a plausible body built from the
operation's request schema with A's ids where it names one, and A's ids in the filters.

* An operation that names one of A's things in its path or body answers 404.
* Every other answer (B's own lists, filtered by A's ids) is not a server error.
* No answer holds anything of A's that B did not send itself: no id, name, number or email.
* A's rows are exactly as they were.

A control walks the same GET routes with A's key, which must find everything: the 404s above
are about whose key it is, not about ids that do not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engagebill.adapters.db.tables import metadata
from engagebill.bootstrap import App
from engagebill.entrypoints.http import create_app
from engagebill.services import (
    billing_run,
    delivery,
    invoicing,
    parties,
    quotes,
    recipient,
    retainers,
    settlement,
    work,
)
from engagebill.services.access import create_api_key
from engagebill.services.quotes import QuoteItemInput
from tests.support import SELLER, line

API = "/api/v1"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Tenant:
    org_id: str
    key: str
    ids: dict[str, str]  # by path or field name: client_id, invoice_id ...
    markers: set[str] = field(default_factory=set)  # text that is this tenant's alone


def a_tenant(app: App, tag: str) -> Tenant:
    """An organization with one of everything, every name and number carrying ``tag``."""
    ctx = app.ctx
    org = parties.create_organization(
        ctx,
        name=f"{tag} Studio",
        seller=SELLER,
        email=f"billing@{tag.lower()}.example",
        invoice_prefix=f"{tag}INV",
        credit_note_prefix=f"{tag}CN",
        quote_prefix=f"{tag}Q",
    ).id
    client = parties.create_client(
        ctx,
        organization_id=org,
        name=f"{tag} Client Holdings",
        billing_entity=parties.EntityInput(
            legal_name=f"{tag} Client GmbH",
            line1=f"{tag}strasse 1",
            city="Berlin",
            postal_code="10117",
            country_code="DE",
            cost_centre=f"{tag}-CC",
        ),
        contacts=[parties.ContactInput(f"{tag} Payables", f"ap@{tag.lower()}-client.example")],
    )

    def engagement(kind: str) -> str:
        return parties.create_engagement(
            ctx,
            organization_id=org,
            client_id=client.id,
            name=f"{tag} {kind}",
            kind=kind,
            currency="EUR",
        ).id

    retainer, project, hours = (
        engagement("retainer"),
        engagement("fixed_price"),
        engagement("time_and_material"),
    )
    po = parties.create_purchase_order(
        ctx, organization_id=org, engagement_id=project, number=f"{tag}-PO-1", ceiling="90000"
    )
    schedule = retainers.create_schedule(
        ctx,
        organization_id=org,
        engagement_id=retainer,
        amount="5000.00",
        start_date=date(2025, 1, 1),
        line_template=f"{tag} retainer {{month}} {{year}}",
    )
    advance = retainers.create_advance(
        ctx,
        organization_id=org,
        engagement_id=project,
        amount="1000.00",
        invoice_date=date(2025, 2, 1),
        description=f"{tag} advance",
    )
    billing_run.execute_run(ctx, organization_id=org, as_of=date(2025, 3, 3))
    draft = invoicing.create_draft(
        ctx,
        organization_id=org,
        engagement_id=project,
        lines=[line(f"{tag} design work", price="4000.00")],
    ).invoice
    sent = invoicing.send_invoice(ctx, organization_id=org, invoice_id=draft.id)
    recipient.record_view(ctx, organization_id=org, invoice_id=sent.id)
    note = settlement.issue_credit_note(
        ctx,
        organization_id=org,
        invoice_id=sent.id,
        reason=f"{tag} goodwill",
        lines=[line(f"{tag} discount", price="100.00")],
    )
    quote = quotes.create_quote(
        ctx,
        organization_id=org,
        engagement_id=project,
        title=f"{tag} website",
        items=[QuoteItemInput(f"{tag} launch", "Build and go-live", "20000.00")],
    )
    quotes.send_quote(ctx, organization_id=org, quote_id=quote.id)
    quote = quotes.accept_quote(ctx, organization_id=org, quote_id=quote.id, name=f"{tag} Signer")
    [milestone] = quotes.list_milestones(ctx, organization_id=org, engagement_id=project)
    item = work.record_work_item(
        ctx,
        organization_id=org,
        engagement_id=hours,
        work_date=date(2025, 2, 20),
        person=f"{tag} Developer",
        hours="3",
        rate="120.00",
        description=f"{tag} extra landing page",
    )
    entity = parties.add_billing_entity(
        ctx,
        organization_id=org,
        client_id=client.id,
        entity=parties.EntityInput(
            legal_name=f"{tag} Client Holding AG",
            line1="Bahnhofstrasse 1",
            city="Zurich",
            postal_code="8001",
            country_code="CH",
        ),
    )
    webhook = delivery.register_webhook(
        ctx, organization_id=org, url=f"https://{tag.lower()}.example/hooks"
    )
    issued = create_api_key(ctx, organization_id=org, name=f"{tag} key")
    ids = {
        "organization_id": org,
        "client_id": client.id,
        "billing_entity_id": entity.id,
        "engagement_id": project,
        "purchase_order_id": po.id,
        "schedule_id": schedule.id,
        "advance_id": advance.id,
        "invoice_id": sent.id,
        "credit_note_id": note.id,
        "quote_id": quote.id,
        "milestone_id": milestone.id,
        "work_item_id": item.id,
        "subject_id": sent.id,
        "contact_id": client.contacts[0].id,
        "api_key_id": issued.key.id,
        "endpoint_id": webhook.id,
    }
    markers = {*ids.values(), retainer, hours, tag, webhook.url}  # names and numbers carry the tag
    return Tenant(org, issued.secret, ids, markers)


def tenant_rows(app: App, org_id: str) -> dict[str, int]:
    with app.engine.connect() as conn:
        return {
            table.name: conn.execute(
                select(func.count()).select_from(table).where(table.c.organization_id == org_id)
            ).scalar_one()
            for table in metadata.sorted_tables
            if "organization_id" in table.c
        }


# --- requests built from the document --------------------------------------------------------
# Strings for patterned fields that carry no example of their own.
PATTERN_SAMPLES = ["100.00", "2025-03", "2025-03-03", "EUR", "DE", "S", "first_business_day"]
# Values for free-text parameters that the use case checks against a list of its own.
NAME_SAMPLES = {"format": "ubl"}
# Optional fields without which a body says nothing, refused before any lookup.
BODY_EXTRAS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/invoices/{invoice_id}/amendments"): {"cost_centre": "CC-1"},
    ("post", "/quotes/{quote_id}/revise"): {"title": "Revised offer"},
}


@dataclass
class RequestBuilder:
    """Plausible, valid requests for an operation, naming ``ids`` wherever a field or
    parameter has the name of one; remembers every value it put in."""

    spec: dict[str, Any]
    ids: dict[str, str]
    sent: set[str] = field(default_factory=set)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.spec
            for part in schema["$ref"].lstrip("#/").split("/"):
                node = node[part]
            schema = node
        return schema

    def value(self, schema: dict[str, Any], name: str = "") -> Any:
        schema = self.resolve(schema)
        if name in self.ids:
            return self.remember(self.ids[name])
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [self.resolve(o) for o in schema[key]]
                chosen = next(o for o in options if o.get("type") != "null")
                return self.value({**chosen, **{k: v for k, v in schema.items() if k != key}}, name)
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("examples"):
            return self.remember(schema["examples"][0])
        if schema.get("default") is not None:
            return self.remember(schema["default"])
        kind = schema.get("type")
        if kind == "object":
            required = set(schema.get("required", []))
            return {
                key: self.value(sub, key)
                for key, sub in schema.get("properties", {}).items()
                if key in required or key in self.ids
            }
        if kind == "array":
            return [self.value(schema["items"]) for _ in range(schema.get("minItems", 0))]
        if kind in ("integer", "number"):
            return schema.get("minimum", 1)
        if kind == "boolean":
            return False
        return self.remember(self.text(schema, name))

    def text(self, schema: dict[str, Any], name: str) -> str:
        if schema.get("format") == "date":
            return "2025-03-03"
        if schema.get("format") == "date-time":
            return "2025-03-03T09:00:00Z"
        if name in NAME_SAMPLES:
            return NAME_SAMPLES[name]
        if "email" in name:
            return "someone@example.org"
        pattern = schema.get("pattern")
        if pattern is None:
            return "Plausible text"
        for sample in PATTERN_SAMPLES:
            if re.search(pattern, sample):
                return sample
        raise AssertionError(f"no sample for {name} matching {pattern}: add one")

    def remember(self, value: Any) -> Any:
        if isinstance(value, str):
            self.sent.add(value)
        return value

    def request(self, path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
        """Keyword arguments for ``httpx``: the URL, the query, and the body."""
        url = path
        params: dict[str, Any] = {}
        for parameter in operation.get("parameters", []):
            parameter = self.resolve(parameter)
            name, where = parameter["name"], parameter["in"]
            if where == "path":
                assert name in self.ids, (
                    f"{method.upper()} {path}: no id for path parameter {name!r}; "
                    "add it to a_tenant()'s ids"
                )
                url = url.replace("{" + name + "}", self.remember(self.ids[name]))
            elif where == "query" and (parameter.get("required") or name in self.ids):
                params[name] = self.value(parameter.get("schema", {}), name)
        kwargs: dict[str, Any] = {"url": API + url, "params": params}
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            body = self.value(content["application/json"].get("schema", {}))
            kwargs["json"] = {**body, **BODY_EXTRAS.get((method, path), {})}
        elif "multipart/form-data" in content:
            form = self.value(content["multipart/form-data"].get("schema", {}))
            kwargs["files"] = {
                k: ("upload.csv", b"date,person,hours,rate,description\n", "text/csv")
                for k, v in form.items()
                if v == "Plausible text"
            }
            kwargs["data"] = {k: v for k, v in form.items() if k not in kwargs["files"]}
        elif content:
            kwargs["content"] = b"date,person,hours,rate,description\n"
            kwargs["headers"] = {"content-type": next(iter(content))}
        return kwargs


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


# --- the walk --------------------------------------------------------------------------------
@pytest.fixture
def tenants(app: App) -> tuple[Tenant, Tenant]:
    return a_tenant(app, "ALPHA"), a_tenant(app, "BRAVO")


def call(http: TestClient, method: str, key: str, kwargs: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
    return http.request(method.upper(), headers=headers, **kwargs)


def test_another_organizations_key_finds_nothing_on_any_route(
    app: App, tenants: tuple[Tenant, Tenant]
) -> None:
    a, b = tenants
    a_rows = tenant_rows(app, a.org_id)
    with TestClient(create_app(app.ctx)) as http:
        spec = http.get(API + "/openapi.json").json()
        walked, problems = 0, []
        for path, method, operation in operations(spec):
            builder = RequestBuilder(spec, a.ids)
            kwargs = builder.request(path, method, operation)
            targets_a = "{" in path or bool(builder.sent & set(a.ids.values()) and method != "get")
            response = call(http, method, b.key, kwargs)
            walked += 1
            label = f"{method.upper()} {path}"
            if targets_a and response.status_code != 404:
                problems.append(f"{label}: {response.status_code}, not 404: {response.text[:300]}")
            if response.status_code >= 500:
                problems.append(f"{label}: server error")
            leaked = {m for m in a.markers - builder.sent if m in response.text}
            if leaked:
                problems.append(f"{label} reveals A's {sorted(leaked)}")
        assert walked >= 35, "the document lost its routes"
        assert not problems, "\n".join(problems)
    assert tenant_rows(app, a.org_id) == a_rows  # A is untouched


def test_the_owner_finds_everything_the_other_was_refused(
    app: App, tenants: tuple[Tenant, Tenant]
) -> None:
    a, _ = tenants
    with TestClient(create_app(app.ctx)) as http:
        spec = http.get(API + "/openapi.json").json()
        missing = []
        for path, method, operation in operations(spec):
            if method != "get" or "{" not in path:
                continue
            kwargs = RequestBuilder(spec, a.ids).request(path, method, operation)
            response = call(http, method, a.key, kwargs)
            if response.status_code != 200:
                missing.append(f"GET {path}: {response.status_code} {response.text[:200]}")
        assert not missing, "\n".join(missing)
