"""The REST API application, mounted at /api/v1 with its OpenAPI at /api/v1/openapi.json."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from engagebill import __version__
from engagebill.entrypoints.api import idempotency, openapi_links, problems
from engagebill.entrypoints.api.deps import refuse_nul
from engagebill.entrypoints.api.idempotency import IdempotencyMiddleware
from engagebill.entrypoints.api.routes import (
    advances,
    billing_runs,
    clients,
    credit_notes,
    delivery_settings,
    einvoices,
    engagements,
    events,
    invoices,
    milestones,
    pdfs,
    purchase_orders,
    quotes,
    reports,
    retainers,
    webhooks,
    work_items,
)
from engagebill.services.ports import Context

DESCRIPTION = """\
engagebill's REST API. One engagement, one invoice, one PO.

Authenticate with an organization API key: `Authorization: Bearer ebk_...` (create one with
`engagebill keys create`). Every POST accepts an `Idempotency-Key` header. Errors are
RFC 9457 problem details with a stable `code`. Money is a decimal string with a currency;
dates are ISO 8601, from 2000-01-01 to 2099-12-31. Lists are paged: pass a page's
`next_cursor` as `cursor` to get the next one.
"""


def create_api(ctx: Context, *, public_url: str | None = None) -> FastAPI:
    api = FastAPI(
        title="engagebill",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        responses=problems.RESPONSES,
        dependencies=[Depends(refuse_nul)],
    )
    api.state.ctx = ctx
    api.state.public_url = public_url
    problems.install(api)
    for module in ROUTERS:
        api.include_router(module.router)
    api.add_middleware(IdempotencyMiddleware, ctx=ctx, prefix="")
    idempotency.document(api)
    openapi_links.document(api)
    return api


ROUTERS = [
    invoices,
    clients,
    engagements,
    purchase_orders,
    retainers,
    advances,
    quotes,
    milestones,
    work_items,
    credit_notes,
    einvoices,
    pdfs,
    billing_runs,
    events,
    reports,
    webhooks,
    delivery_settings,
]
