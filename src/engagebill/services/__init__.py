"""Use cases, one verb each. Every interface (REST API, CLI, MCP, web pages) calls these.

A use case takes a ``Context`` (unit of work factory, clock, id generator) and keyword
arguments, runs in one transaction, appends its events in that transaction, and returns
domain objects. No business rule lives in an entrypoint.
"""
