"""CLI commands: Out-of-scope work items: record, approve, import from CSV."""

from __future__ import annotations

import typer

work_app = typer.Typer(help="Out-of-scope work items: record, approve, import from CSV.", no_args_is_help=True)
