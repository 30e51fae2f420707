"""The one web application: the REST API at /api/v1, the MCP server at /mcp (streamable HTTP,
same API keys), the recipient's pages at /l/, and the agency's app at the root. Security
headers are set here for every response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from starlette.responses import Response
from starlette.routing import Route

from engagebill import __version__
from engagebill.entrypoints.api.app import create_api
from engagebill.entrypoints.mcp.server import http_endpoint
from engagebill.entrypoints.web import agency as agency_app
from engagebill.entrypoints.web import recipient as recipient_pages
from engagebill.services.ports import Context

SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' "
    "'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
}


def create_app(ctx: Context, *, public_url: str | None = None) -> FastAPI:
    mcp = http_endpoint(ctx)
    app = FastAPI(
        title="engagebill",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=mcp.lifespan,  # the MCP session manager runs as long as the app
    )
    app.state.ctx = ctx
    app.state.public_url = public_url
    app.mount("/api/v1", create_api(ctx, public_url=public_url))
    app.router.routes.append(Route("/mcp", mcp.app, name="mcp"))  # every method, exact path
    recipient_pages.install(app, ctx)  # /l/{token} and /static
    agency_app.install(app, ctx)  # / (the agency's app), /login, /invoices ...

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/l/"):
            response.headers["X-Robots-Tag"] = "noindex, nofollow"
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app
