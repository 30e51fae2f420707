"""OpenAPI links between the REST API's operations: which answer carries the id that another
operation takes.

They describe the ways through the API (a client, then an engagement for it, a draft invoice
on the engagement, edits, sending, the recipient's answers, payments and credit notes; POs,
retainer schedules, advances (invoiced, drawn on by drafts, refunded), the engagement's
account, quotes, milestones and work items on an engagement) in the published document, as
OpenAPI 3.1 Link Objects on 200/201 responses, so that a client, a code generator or a
stateful test can follow them without guessing ids.

Links are written here by method and path ("POST /invoices") and by JSON pointers into the
source response's body; operationIds and runtime expressions are derived from the generated
document when it is built. A link whose operation, parameter, body field or response field is
not in the document raises ``LinkError`` then, so a renamed route or field fails every test
that loads the document instead of publishing a dead link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI


class LinkError(ValueError):
    """A link names an operation, parameter or field the OpenAPI document does not have."""


@dataclass(frozen=True)
class Link:
    """One way from a response to an operation. ``path``, ``query`` and ``body`` map the
    target's path parameters, query parameters and request body fields to JSON pointers into
    the source response's body."""

    name: str
    target: str
    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, str] = field(default_factory=dict)


Links = Mapping[tuple[str, str], tuple[Link, ...]]
"""Links by source operation and status: ``("POST /clients", "201")``."""

INVOICE_STEPS = {
    "GetInvoice": "GET /invoices/{invoice_id}",
    "GetInvoiceEvents": "GET /invoices/{invoice_id}/events",
    "EditDraftInvoice": "PATCH /invoices/{invoice_id}",
    "SendInvoice": "POST /invoices/{invoice_id}/send",
    "RequestChange": "POST /invoices/{invoice_id}/change-requests",
    "ReviseInvoice": "POST /invoices/{invoice_id}/revise",
    "ApproveInvoice": "POST /invoices/{invoice_id}/approve",
    "AmendInvoice": "POST /invoices/{invoice_id}/amendments",
    "RecordPayment": "POST /invoices/{invoice_id}/payments",
    "LockInvoice": "POST /invoices/{invoice_id}/lock",
    "CreditInvoice": "POST /invoices/{invoice_id}/credit-notes",
    "GetInvoiceEInvoice": "GET /invoices/{invoice_id}/einvoice",
    "GetInvoicePdf": "GET /invoices/{invoice_id}/pdf",
    "ApplyAdvance": "POST /invoices/{invoice_id}/advance/apply",
    "DiscardAdvance": "POST /invoices/{invoice_id}/advance/discard",
}


def _on(
    operations: Mapping[str, str], parameter: str, pointer: str, *steps: str
) -> tuple[Link, ...]:
    """Links to ``steps`` (named in ``operations``) on the resource whose id is at ``pointer``,
    passed as the path parameter ``parameter``."""
    return tuple(Link(s, operations[s], path={parameter: pointer}) for s in steps)


def _invoice(pointer: str, *steps: str) -> tuple[Link, ...]:
    return _on(INVOICE_STEPS, "invoice_id", pointer, *steps)


QUOTE_STEPS = {
    "GetQuote": "GET /quotes/{quote_id}",
    "ReviseQuote": "POST /quotes/{quote_id}/revise",
    "SendQuote": "POST /quotes/{quote_id}/send",
    "AcceptQuote": "POST /quotes/{quote_id}/accept",
    "DeclineQuote": "POST /quotes/{quote_id}/decline",
    "LinkWorkToQuote": "POST /quotes/{quote_id}/work-items",
}
MILESTONE_STEPS = {
    "GetMilestone": "GET /milestones/{milestone_id}",
    "SignOffMilestone": "POST /milestones/{milestone_id}/sign-off",
    "RequestMilestoneSignOff": "POST /milestones/{milestone_id}/sign-off-links",
}
WORK_STEPS = {
    "GetWorkItem": "GET /work-items/{work_item_id}",
    "ApproveWorkItem": "POST /work-items/{work_item_id}/approve",
}


def _quote(pointer: str, *steps: str) -> tuple[Link, ...]:
    return _on(QUOTE_STEPS, "quote_id", pointer, *steps)


def _milestone(pointer: str, *steps: str) -> tuple[Link, ...]:
    return _on(MILESTONE_STEPS, "milestone_id", pointer, *steps)


def _work_item(pointer: str, *steps: str) -> tuple[Link, ...]:
    return _on(WORK_STEPS, "work_item_id", pointer, *steps)


# Each answer links to the steps its state allows next, as the lifecycle table has them
# (docs/lifecycles.md); a few lead where the answer must be a refusal (credit a draft).
LINKS: Links = {
    ("POST /clients", "201"): (
        Link("GetClient", "GET /clients/{client_id}", path={"client_id": "/id"}),
        Link(
            "AddBillingEntity",
            "POST /clients/{client_id}/billing-entities",
            path={"client_id": "/id"},
        ),
        Link("AddContact", "POST /clients/{client_id}/contacts", path={"client_id": "/id"}),
        Link(
            "CreateEngagement",
            "POST /engagements",
            body={"client_id": "/id", "billing_entity_id": "/billing_entities/0/id"},
        ),
        Link("ListInvoices", "GET /invoices", query={"client_id": "/id"}),
    ),
    ("POST /clients/{client_id}/billing-entities", "201"): (
        Link("GetClient", "GET /clients/{client_id}", path={"client_id": "/client_id"}),
        Link(
            "CreateEngagement",
            "POST /engagements",
            body={"client_id": "/client_id", "billing_entity_id": "/id"},
        ),
    ),
    ("POST /clients/{client_id}/contacts", "201"): (
        Link("GetClient", "GET /clients/{client_id}", path={"client_id": "/client_id"}),
    ),
    ("POST /engagements", "201"): (
        Link("GetEngagement", "GET /engagements/{engagement_id}", path={"engagement_id": "/id"}),
        Link("CreateDraftInvoice", "POST /invoices", body={"engagement_id": "/id"}),
        Link("CreatePurchaseOrder", "POST /purchase-orders", body={"engagement_id": "/id"}),
        Link("CreateRetainerSchedule", "POST /retainer-schedules", body={"engagement_id": "/id"}),
        Link("CreateAdvance", "POST /advances", body={"engagement_id": "/id"}),
        Link(
            "ListPurchaseOrders",
            "GET /engagements/{engagement_id}/purchase-orders",
            path={"engagement_id": "/id"},
        ),
        Link(
            "GetAdvanceBalance",
            "GET /engagements/{engagement_id}/advance-balance",
            path={"engagement_id": "/id"},
        ),
        Link(
            "GetEngagementAccount",
            "GET /engagements/{engagement_id}/account",
            path={"engagement_id": "/id"},
        ),
        Link(
            "RefundAdvance",
            "POST /engagements/{engagement_id}/advance/refunds",
            path={"engagement_id": "/id"},
        ),
        Link("ListInvoices", "GET /invoices", query={"engagement_id": "/id"}),
        Link("CreateQuote", "POST /quotes", body={"engagement_id": "/id"}),
        Link("RecordWorkItem", "POST /work-items", body={"engagement_id": "/id"}),
        Link(
            "ImportWorkCsv",
            "POST /engagements/{engagement_id}/work-items/import",
            path={"engagement_id": "/id"},
        ),
        Link("ListMilestones", "GET /milestones", query={"engagement_id": "/id"}),
    ),
    ("POST /purchase-orders", "201"): (
        Link(
            "GetPurchaseOrder",
            "GET /purchase-orders/{purchase_order_id}",
            path={"purchase_order_id": "/id"},
        ),
        Link(
            "CreateDraftInvoice",
            "POST /invoices",
            body={"engagement_id": "/engagement_id", "purchase_order_id": "/id"},
        ),
    ),
    ("POST /retainer-schedules", "201"): (
        Link(
            "GetRetainerSchedule",
            "GET /retainer-schedules/{schedule_id}",
            path={"schedule_id": "/id"},
        ),
        Link(
            "EndRetainerSchedule",
            "POST /retainer-schedules/{schedule_id}/end",
            path={"schedule_id": "/id"},
        ),
    ),
    ("POST /retainer-schedules/{schedule_id}/end", "200"): (
        Link(
            "GetRetainerSchedule",
            "GET /retainer-schedules/{schedule_id}",
            path={"schedule_id": "/id"},
        ),
    ),
    ("POST /advances", "201"): (
        Link("GetAdvance", "GET /advances/{advance_id}", path={"advance_id": "/id"}),
        Link("InvoiceAdvance", "POST /advances/{advance_id}/invoice", path={"advance_id": "/id"}),
        Link(
            "GetAdvanceBalance",
            "GET /engagements/{engagement_id}/advance-balance",
            path={"engagement_id": "/engagement_id"},
        ),
        Link(
            "GetEngagementAccount",
            "GET /engagements/{engagement_id}/account",
            path={"engagement_id": "/engagement_id"},
        ),
        Link(
            "RefundAdvance",
            "POST /engagements/{engagement_id}/advance/refunds",
            path={"engagement_id": "/engagement_id"},
        ),
    ),
    ("POST /advances/{advance_id}/invoice", "201"): (
        *_invoice("/id", "GetInvoice", "EditDraftInvoice", "SendInvoice"),
        Link(
            "GetEngagementAccount",
            "GET /engagements/{engagement_id}/account",
            path={"engagement_id": "/engagement_id"},
        ),
    ),
    # A run's first created invoice stands for all of them; a draft may draw on the advance.
    ("POST /billing-runs", "200"): _invoice(
        "/created/0/id", "GetInvoice", "SendInvoice", "ApplyAdvance", "DiscardAdvance"
    ),
    ("POST /invoices", "201"): _invoice(
        "/invoice/id",
        "GetInvoice",
        "GetInvoiceEvents",
        "EditDraftInvoice",
        "SendInvoice",
        "CreditInvoice",
        "ApplyAdvance",
        "DiscardAdvance",
    ),
    ("PATCH /invoices/{invoice_id}", "200"): _invoice(
        "/invoice/id", "GetInvoice", "EditDraftInvoice", "SendInvoice"
    ),
    ("POST /invoices/{invoice_id}/advance/apply", "200"): _invoice(
        "/id", "GetInvoice", "EditDraftInvoice", "SendInvoice", "DiscardAdvance"
    ),
    ("POST /invoices/{invoice_id}/advance/discard", "200"): _invoice(
        "/id", "GetInvoice", "EditDraftInvoice", "SendInvoice", "ApplyAdvance"
    ),
    ("POST /invoices/{invoice_id}/send", "200"): (
        *_invoice(
            "/invoice/id",
            "GetInvoice",
            "GetInvoiceEvents",
            "RequestChange",
            "ApproveInvoice",
            "AmendInvoice",
            "RecordPayment",
            "LockInvoice",
            "CreditInvoice",
            "GetInvoiceEInvoice",
            "GetInvoicePdf",
        ),
        # Sending draws on the engagement's advance, or tops it up.
        Link(
            "GetEngagementAccount",
            "GET /engagements/{engagement_id}/account",
            path={"engagement_id": "/invoice/engagement_id"},
        ),
    ),
    ("POST /invoices/{invoice_id}/change-requests", "200"): _invoice(
        "/id", "GetInvoice", "ReviseInvoice", "CreditInvoice"
    ),
    ("POST /invoices/{invoice_id}/revise", "200"): _invoice(
        "/id", "GetInvoice", "RequestChange", "ApproveInvoice", "RecordPayment", "CreditInvoice"
    ),
    ("POST /invoices/{invoice_id}/approve", "200"): _invoice(
        "/id", "GetInvoice", "AmendInvoice", "LockInvoice", "RecordPayment", "CreditInvoice"
    ),
    ("POST /invoices/{invoice_id}/amendments", "200"): _invoice(
        "/id", "GetInvoice", "ApproveInvoice", "RecordPayment"
    ),
    ("POST /invoices/{invoice_id}/payments", "200"): _invoice(
        "/id", "GetInvoice", "RecordPayment", "CreditInvoice"
    ),
    ("POST /invoices/{invoice_id}/lock", "200"): _invoice(
        "/id", "GetInvoice", "RecordPayment", "CreditInvoice"
    ),
    # Quotes: a draft is revised and sent; a sent one is accepted or declined, and a fixed-price
    # acceptance plans milestones, the first of which stands for all of them.
    ("POST /quotes", "201"): _quote("/id", "GetQuote", "ReviseQuote", "SendQuote"),
    ("POST /quotes/{quote_id}/revise", "200"): _quote(
        "/id", "GetQuote", "ReviseQuote", "SendQuote", "AcceptQuote", "DeclineQuote"
    ),
    ("POST /quotes/{quote_id}/send", "200"): _quote(
        "/quote/id", "GetQuote", "ReviseQuote", "AcceptQuote", "DeclineQuote", "LinkWorkToQuote"
    ),
    ("POST /quotes/{quote_id}/accept", "200"): (
        *_quote("/id", "GetQuote"),
        *_milestone("/milestones/0/id", *MILESTONE_STEPS),
        *_work_item("/work_items/0/id", "GetWorkItem"),
    ),
    ("POST /quotes/{quote_id}/decline", "200"): _quote("/id", "GetQuote"),
    ("POST /quotes/{quote_id}/work-items", "200"): _quote("/id", "GetQuote", "AcceptQuote"),
    ("POST /milestones/{milestone_id}/sign-off", "200"): (
        *_milestone("/milestone/id", "GetMilestone"),
        *_invoice("/invoice/id", "GetInvoice", "SendInvoice"),
    ),
    ("POST /work-items", "201"): _work_item("/id", *WORK_STEPS),
    ("POST /work-items/{work_item_id}/approve", "200"): _work_item("/id", "GetWorkItem"),
    ("POST /engagements/{engagement_id}/work-items/import", "201"): _work_item(
        "/work_items/0/id", *WORK_STEPS
    ),
    ("POST /webhook-endpoints", "201"): (
        Link("GetWebhook", "GET /webhook-endpoints/{endpoint_id}", path={"endpoint_id": "/id"}),
        Link(
            "RemoveWebhook", "DELETE /webhook-endpoints/{endpoint_id}", path={"endpoint_id": "/id"}
        ),
    ),
    ("POST /invoices/{invoice_id}/credit-notes", "201"): (
        Link("GetCreditNote", "GET /credit-notes/{credit_note_id}", path={"credit_note_id": "/id"}),
        Link(
            "GetCreditNoteEInvoice",
            "GET /credit-notes/{credit_note_id}/einvoice",
            path={"credit_note_id": "/id"},
        ),
        Link(
            "GetCreditNotePdf",
            "GET /credit-notes/{credit_note_id}/pdf",
            path={"credit_note_id": "/id"},
        ),
        *_invoice("/invoice_id", "GetInvoice", "RecordPayment", "CreditInvoice"),
    ),
}


def document(api: FastAPI) -> None:
    """Add the links to ``api``'s OpenAPI document when it is first built."""
    build = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = add_links(build())
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


def add_links(spec: dict[str, Any], links: Links = LINKS) -> dict[str, Any]:
    """Put ``links`` into ``spec`` (in place, and returned) as OpenAPI Link Objects.

    Raises ``LinkError`` listing every link that does not fit the document, and adds none.
    """
    resolved: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
    problems: list[str] = []
    for (source, status), targets in links.items():
        names = [link.name for link in targets]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{source} {status}: two links named {name}")
        for link in targets:
            try:
                resolved.append(_resolve(spec, source, status, link))
            except LinkError as error:
                problems.append(f"{source} {status} -> {link.name}: {error}")
    if problems:
        raise LinkError("OpenAPI links that do not fit the document:\n" + "\n".join(problems))
    for response, name, definition in resolved:
        response.setdefault("links", {})[name] = definition
    return spec


def _resolve(
    spec: dict[str, Any], source: str, status: str, link: Link
) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The response the link goes on, its name and its Link Object."""
    response = _operation(spec, source).get("responses", {}).get(status)
    if response is None:
        raise LinkError(f"{source} has no {status} response")
    body = response.get("content", {}).get("application/json", {}).get("schema")
    if body is None:
        raise LinkError(f"{source} {status} has no JSON body")
    for pointer in [*link.path.values(), *link.query.values(), *link.body.values()]:
        if not _points_into(spec, body, pointer):
            raise LinkError(f"{source} {status} has nothing at {pointer}")
    target = _operation(spec, link.target)
    declared = {(p["in"], p["name"]) for p in target.get("parameters", [])}
    parameters: dict[str, str] = {}
    for location, names in (("path", link.path), ("query", link.query)):
        for name, pointer in names.items():
            if (location, name) not in declared:
                raise LinkError(f"{link.target} has no {location} parameter {name}")
            # Qualified by location, as the Link Object allows, so that no reader has to guess.
            parameters[f"{location}.{name}"] = f"$response.body#{pointer}"
    unfilled = {name for location, name in declared if location == "path"} - set(link.path)
    if unfilled:
        raise LinkError(f"{link.target} also needs the path parameters {sorted(unfilled)}")
    definition: dict[str, Any] = {"operationId": target["operationId"]}
    if parameters:
        definition["parameters"] = parameters
    if link.body:
        content = target.get("requestBody", {}).get("content", {}).get("application/json", {})
        fields = _deref(spec, content.get("schema", {})).get("properties", {})
        for name in link.body:
            if name not in fields:
                raise LinkError(f"{link.target} takes no body field {name}")
        # The fields the link fills; the rest of the body is the caller's.
        definition["requestBody"] = {
            name: f"$response.body#{pointer}" for name, pointer in link.body.items()
        }
    return response, link.name, definition


def _operation(spec: dict[str, Any], label: str) -> Any:
    method, _, path = label.partition(" ")
    operation = spec.get("paths", {}).get(path, {}).get(method.lower())
    if operation is None or "operationId" not in operation:
        raise LinkError(f"the document has no operation {label}")
    return operation


def _deref(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _points_into(spec: dict[str, Any], schema: dict[str, Any], pointer: str) -> bool:
    """Whether a JSON pointer can find a value in a body of ``schema``: an index steps into an
    array's items, and any branch of an anyOf or oneOf will do."""
    if not pointer.startswith("/"):
        return False
    head, _, rest = pointer[1:].partition("/")
    schema = _deref(spec, schema)
    branches = schema.get("anyOf", []) + schema.get("oneOf", [])
    if branches:
        return any(_points_into(spec, branch, pointer) for branch in branches)
    if schema.get("type") == "array" and head.isdigit():
        child = schema.get("items", {})
    elif head in schema.get("properties", {}):
        child = schema["properties"][head]
    else:
        return False
    return not rest or _points_into(spec, child, "/" + rest)
