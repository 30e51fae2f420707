"""The one web application: the REST API at /api/v1, the MCP server at /mcp (streamable HTTP,
same API keys), the recipient's pages at /l/, and the agency's app at the root. Security
headers are set here for every response."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.datastructures import MutableHeaders
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engagebill import __version__
from engagebill.bootstrap import build
from engagebill.config import Settings
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
    app.add_middleware(SecurityHeaders)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    return app


APP_FACTORY = "engagebill.entrypoints.http:app_from_environment"


def app_from_environment() -> FastAPI:
    """The application as each of several server processes builds it (``serve --workers``),
    from the settings in the environment, which ``serve`` sets for them."""
    application = build(Settings.from_env())
    redact_link_tokens()
    return create_app(application.ctx, public_url=application.settings.public_url or None)


class NoLinkTokens(logging.Filter):
    """Private-link tokens live in URL paths: access logs never see them."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(args, tuple)
            and len(args) >= 3
            and isinstance(args[2], str)
            and "/l/" in args[2]
        ):
            path = args[2]
            head, _, rest = path.partition("/l/")
            tail = rest.partition("/")[2]
            record.args = (*args[:2], f"{head}/l/<token>{'/' + tail if tail else ''}", *args[3:])
        return True


def redact_link_tokens() -> None:
    """Keep private-link tokens out of this process's access log."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, NoLinkTokens) for f in access.filters):
        access.addFilter(NoLinkTokens())


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every response (keeping any a route set itself), and keeps
    recipients' pages out of search engines and caches.

    Plain ASGI: it edits the response's first message as it passes, where a
    ``BaseHTTPMiddleware`` would run every request in a task of its own and copy the body
    through a stream.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith("/l/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])  # optional in ASGI
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if private:
                    headers["X-Robots-Tag"] = "noindex, nofollow"
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
