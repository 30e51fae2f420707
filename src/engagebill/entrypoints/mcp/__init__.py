"""The MCP server (Model Context Protocol): engagebill's use cases as tools for assistants.

``server`` builds the server and its tools, ``schemas`` holds their typed inputs and outputs,
``auth`` says who calls (the local operator or an API key over stdio, the bearer key over
HTTP), and ``idempotency`` keeps a write from being done twice. ``engagebill mcp`` serves it
over stdio; the web application serves it over streamable HTTP at ``/mcp``.
"""
