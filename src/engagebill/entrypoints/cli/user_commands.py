"""``engagebill users``: the agency's people who sign in to the web app."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engagebill.entrypoints.cli.common import console, handle_errors, state
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import users

users_app = typer.Typer(help="Users of the agency's web app.", no_args_is_help=True)


@users_app.command("create")
@handle_errors
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email address")],
    name: Annotated[str, typer.Option(help="Full name, as the app greets them")],
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (at least 12 characters); prompted for, hidden, when omitted. "
            "A password on the command line stays in the shell history."
        ),
    ] = None,
    org: Org = None,
) -> None:
    """Create a user of the organization; they sign in at the server's root."""
    secret = password
    if secret is None:
        secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    user = users.create_user(
        state.app().ctx,
        organization_id=state.organization_id(org),
        email=email,
        name=name,
        password=secret,
    )
    console.print(f"created {user.email} [{user.id}]", markup=False)


@users_app.command("list")
@handle_errors
def users_list(org: Org = None) -> None:
    """List the organization's users (never their passwords)."""
    table = Table("id", "email", "name", "created")
    for user in users.list_users(state.app().ctx, organization_id=state.organization_id(org)):
        table.add_row(user.id, user.email, user.name, user.created_at.isoformat(timespec="seconds"))
    console.print(table)
