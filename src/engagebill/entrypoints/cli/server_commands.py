"""``engagebill serve`` (the web application) and ``engagebill keys`` (API keys)."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer
from rich.table import Table

from engagebill.bootstrap import App
from engagebill.entrypoints.cli.common import console, handle_errors, state
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import access

keys_app = typer.Typer(help="Organization API keys.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(
            envvar="ENGAGEBILL_PUBLIC_URL", help="Base URL used in links sent to recipients"
        ),
    ] = None,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker",
            help="Also deliver the outbox from this process (one-process set-ups); with "
            "several app servers run `engagebill worker` instead",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port (about one per core): each runs the whole "
            "application; on SQLite their writers take turns on the file",
        ),
    ] = 1,
) -> None:
    """Serve the REST API, the recipients' pages and the agency app."""
    import uvicorn
    from fastapi import FastAPI

    from engagebill.entrypoints.http import APP_FACTORY, create_app, redact_link_tokens

    application = state.app()
    base = public_url or f"http://{host}:{port}"
    application.ctx.settings["public_url"] = base
    target: FastAPI | str
    if workers == 1:
        target = create_app(application.ctx, public_url=base)
    else:
        # Each process builds the application from the environment: the same database, public
        # URL and secret key (forms signed by one process are checked by another).
        os.environ["ENGAGEBILL_DATABASE_URL"] = application.settings.database_url
        os.environ["ENGAGEBILL_PUBLIC_URL"] = base
        os.environ["ENGAGEBILL_SECRET_KEY"] = str(application.ctx.settings["secret_key"])
        target = APP_FACTORY
    if with_worker:
        _start_worker_thread(application)
    redact_link_tokens()
    console.print(
        f"engagebill is running at http://{host}:{port}/  (API docs at "
        f"http://{host}:{port}/api/v1/docs)",
        markup=False,
    )
    # Behind a reverse proxy the client's address comes from X-Forwarded-For, which is
    # trusted only from the addresses in ENGAGEBILL_FORWARDED_ALLOW_IPS (default: loopback).
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("ENGAGEBILL_FORWARDED_ALLOW_IPS", "127.0.0.1"),
    )


@keys_app.command("create")
@handle_errors
def keys_create(
    name: Annotated[str, typer.Option(help="What the key is for")] = "default",
    scope: Annotated[str, typer.Option(help="read or read_write")] = "read_write",
    org: Org = None,
) -> None:
    """Create an API key; the key is printed once and stored only as a hash."""
    issued = access.create_api_key(
        state.app().ctx, organization_id=state.organization_id(org), name=name, scope=scope
    )
    console.print(issued.secret, markup=False)


@keys_app.command("list")
@handle_errors
def keys_list(org: Org = None) -> None:
    """List API keys (never their secrets)."""
    keys = access.list_api_keys(state.app().ctx, organization_id=state.organization_id(org))
    table = Table("id", "name", "scope", "created", "revoked")
    for k in keys:
        table.add_row(
            k.id,
            k.name,
            k.scope.value,
            k.created_at.isoformat(timespec="seconds"),
            k.revoked_at.isoformat(timespec="seconds") if k.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def keys_revoke(key_id: Annotated[str, typer.Argument()], org: Org = None) -> None:
    """Revoke an API key at once."""
    access.revoke_api_key(
        state.app().ctx, organization_id=state.organization_id(org), key_id=key_id
    )
    console.print(f"revoked {key_id}", markup=False)


def demo(
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty", help="Do nothing when the database already holds an organization"
        ),
    ] = False,
) -> None:
    """Load the demo organization: a retainer, a milestone project, change orders and an
    advance, over the last three months."""
    from engagebill.services.demo import DEMO_EMAIL, DEMO_PASSWORD, load_demo

    application = state.app()
    with application.ctx.uow() as uow:
        existing = uow.organizations.list()
    if existing and if_empty:
        console.print(
            f"demo: the database already holds {existing[0].name}; left as it is", markup=False
        )
        return
    result = load_demo(application.ctx)
    issued = access.create_api_key(
        application.ctx, organization_id=result.organization_id, name="demo"
    )
    console.print(
        f"demo: loaded Northwind Studio with {result.invoices} invoices [{result.organization_id}]",
        markup=False,
    )
    console.print(f"demo: API key (shown once): {issued.secret}", markup=False)
    console.print(f"demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}", markup=False)


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one turn and exit")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between turns")] = 15.0,
) -> None:
    """Deliver the outbox: emails with private links, reminders and webhooks."""
    import time

    from engagebill.services import delivery

    application = state.app()
    mailer, sender = application.mailer(), application.webhook_sender()
    where = (
        application.settings.smtp_url.split("@")[-1]
        if application.settings.smtp_url
        else application.settings.mail_dir
    )
    console.print(f"worker: delivering mail to {where}", markup=False)
    while True:
        report = delivery.run_cycle(
            application.ctx, mailer=mailer, sender=sender, pdf=_pdf_renderer()
        )
        if report.delivered or report.failed:
            console.print(
                f"worker: delivered {report.delivered}, failed {report.failed}"
                f" ({report.dead} given up)",
                markup=False,
            )
        if once:
            return
        time.sleep(interval)


def _start_worker_thread(application: App, interval: float = 15.0) -> None:
    """The delivery worker in a daemon thread of the server process (small set-ups)."""
    import threading
    import time

    from engagebill.services import delivery

    mailer, sender = application.mailer(), application.webhook_sender()

    def loop() -> None:
        while True:
            try:
                delivery.run_cycle(
                    application.ctx, mailer=mailer, sender=sender, pdf=_pdf_renderer()
                )
            except Exception:  # keep serving; the next turn retries
                logging.getLogger("engagebill.worker").exception("delivery turn failed")
            time.sleep(interval)

    threading.Thread(target=loop, name="engagebill-worker", daemon=True).start()
    where = application.settings.smtp_url.split("@")[-1] or application.settings.mail_dir
    console.print(f"worker: delivering mail to {where}", markup=False)


def _pdf_renderer() -> object:
    """The invoice PDF use case, for organizations that attach PDFs to their emails."""
    import importlib

    try:
        return importlib.import_module("engagebill.services.pdfs").invoice_pdf
    except (ImportError, AttributeError):
        return None
