"""CLI commands: Retainer schedules and advances."""

from __future__ import annotations

import typer

retainer_app = typer.Typer(help="Retainer schedules and advances.", no_args_is_help=True)
