"""CLI commands: Quotes and milestones: offer, accept by typed name, sign off."""

from __future__ import annotations

import typer

quote_app = typer.Typer(help="Quotes and milestones: offer, accept by typed name, sign off.", no_args_is_help=True)
