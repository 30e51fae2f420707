"""``engagebill webhook``: register, list and remove the endpoints that receive the
organization's events, signed with HMAC-SHA256 (docs/api.md shows how to verify them)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engagebill.entrypoints.cli.common import console, handle_errors, state
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import delivery

webhook_app = typer.Typer(
    help="Webhook endpoints for the organization's events.", no_args_is_help=True
)


@webhook_app.command("add")
@handle_errors
def webhook_add(
    url: Annotated[str, typer.Argument(help="An absolute http(s) URL")],
    event: Annotated[
        list[str] | None,
        typer.Option(help="An event to send (repeat for more); none: every event"),
    ] = None,
    org: Org = None,
) -> None:
    """Register an endpoint; its signing secret is printed once."""
    endpoint = delivery.register_webhook(
        state.app().ctx, organization_id=state.organization_id(org), url=url, events=event or ()
    )
    console.print(
        f"registered {endpoint.id} for {', '.join(sorted(endpoint.events))}", markup=False
    )
    console.print(f"signing secret (shown once): {endpoint.secret}", markup=False)


@webhook_app.command("list")
@handle_errors
def webhook_list(
    removed: Annotated[bool, typer.Option("--removed", help="Include removed endpoints")] = False,
    org: Org = None,
) -> None:
    """List the endpoints (never their secrets)."""
    endpoints = delivery.list_webhooks(
        state.app().ctx, organization_id=state.organization_id(org), include_removed=removed
    )
    table = Table("id", "url", "events", "created", "active")
    for e in endpoints:
        table.add_row(
            e.id,
            e.url,
            ", ".join(sorted(e.events)),
            e.created_at.isoformat(timespec="seconds"),
            "yes" if e.active else "removed",
        )
    console.print(table)


@webhook_app.command("remove")
@handle_errors
def webhook_remove(endpoint_id: Annotated[str, typer.Argument()], org: Org = None) -> None:
    """Stop delivering to an endpoint (what is already queued still goes out)."""
    delivery.remove_webhook(
        state.app().ctx, organization_id=state.organization_id(org), endpoint_id=endpoint_id
    )
    console.print(f"removed {endpoint_id}", markup=False)
