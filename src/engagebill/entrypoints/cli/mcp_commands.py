"""``engagebill mcp``: the MCP server over stdio, for an assistant on the operator's machine.

Standard output is the protocol's: this command prints nothing there, and errors go to
standard error like every other command's.
"""

from __future__ import annotations

import os

from engagebill.entrypoints.cli.common import state
from engagebill.entrypoints.cli.setup_commands import Org

API_KEY_ENV = "ENGAGEBILL_API_KEY"


def mcp(org: Org = None) -> None:
    """Serve the MCP tools over stdio, for the organization named (default: the only one), or
    for the organization and scope of the API key in ENGAGEBILL_API_KEY."""
    # Imported here: the MCP SDK takes a while to import, and no other command needs it.
    from engagebill.entrypoints.mcp.auth import stdio_caller
    from engagebill.entrypoints.mcp.server import build_server

    application = state.app()
    # The key comes from the environment only: on a command line any local user could read it.
    resolver = stdio_caller(
        application.ctx, organization_id=org, api_key=os.environ.get(API_KEY_ENV)
    )
    build_server(application.ctx, resolver).run("stdio")
