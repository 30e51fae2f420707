"""Entrypoints: thin layers that parse input, call a use case and present the result."""
