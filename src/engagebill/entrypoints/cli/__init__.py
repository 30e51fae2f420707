"""The ``engagebill`` command line (Typer + Rich)."""
