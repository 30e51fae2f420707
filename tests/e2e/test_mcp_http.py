"""The MCP server over streamable HTTP at /mcp, through uvicorn on a loopback port.

The web application serves it behind the REST API's keys: no key is a 401 before MCP is
reached, and a key sees its own organization's data only, whichever protocol revision the
client speaks (the 2026 per-request one by default, the 2025 handshake with ``legacy``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engagebill.entrypoints.http import create_app
from engagebill.services.access import create_api_key, revoke_api_key
from tests.e2e.mcp_support import call, over_http, serving
from tests.support import FixedClock, a_client, an_engagement, an_organization, migrated_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Agencies:
    """Two organizations on one server, each with one client and an API key."""

    def __init__(self, tmp_path: Path) -> None:
        self.app = migrated_app(f"sqlite:///{tmp_path / 'http.db'}", FixedClock())
        ctx = self.app.ctx
        self.northwind = an_organization(self.app, name="Northwind Studio")
        self.southwind = an_organization(self.app, name="Southwind Studio", prefix="SW")
        acme = a_client(self.app, self.northwind, name="Acme Retail")
        an_engagement(self.app, self.northwind, acme, kind="retainer", name="Acme retainer")
        globex = a_client(self.app, self.southwind, name="Globex")
        an_engagement(self.app, self.southwind, globex, kind="fixed_price", name="Globex site")
        self.northwind_key = create_api_key(ctx, organization_id=self.northwind, name="ai")
        self.southwind_key = create_api_key(ctx, organization_id=self.southwind, name="ai")


@pytest.fixture
def agencies(tmp_path: Path) -> Iterator[Agencies]:
    setup = Agencies(tmp_path)
    yield setup
    setup.app.dispose()


@pytest.fixture
def base_url(agencies: Agencies) -> Iterator[str]:
    with serving(create_app(agencies.app.ctx)) as url:
        yield url


@pytest.mark.anyio
async def test_tools_over_streamable_http_with_a_bearer_key(
    agencies: Agencies, base_url: str
) -> None:
    for mode in ("auto", "legacy"):
        async with over_http(f"{base_url}/mcp", agencies.northwind_key.secret, mode=mode) as mcp:
            tools = (await mcp.list_tools()).tools
            assert {"find_clients", "billing_plan", "send_invoice"} <= {t.name for t in tools}
            assert all(t.output_schema is not None for t in tools)
            clients = await call(mcp, "find_clients")
            assert [c["name"] for c in clients["clients"]] == ["Acme Retail"], mode


def test_without_a_valid_key_mcp_is_refused_with_401(agencies: Agencies, base_url: str) -> None:
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "probe", "version": "0"},
        },
    }
    headers = {"Accept": "application/json, text/event-stream"}
    revoked = create_api_key(agencies.app.ctx, organization_id=agencies.northwind, name="old")
    revoke_api_key(agencies.app.ctx, organization_id=agencies.northwind, key_id=revoked.key.id)
    for authorization, code in [
        (None, "auth.missing_key"),
        ("Basic dXNlcjpwYXNz", "auth.missing_key"),
        ("Bearer ebk_nope.nope", "auth.invalid_key"),
        (f"Bearer {revoked.secret}", "auth.invalid_key"),
    ]:
        sent = {**headers, "Authorization": authorization} if authorization else headers
        response = httpx.post(f"{base_url}/mcp", json=initialize, headers=sent, timeout=30)
        assert response.status_code == 401, authorization
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code
    # The same request with a key goes through to MCP.
    ok = httpx.post(
        f"{base_url}/mcp",
        json=initialize,
        headers={**headers, "Authorization": f"Bearer {agencies.northwind_key.secret}"},
        timeout=30,
    )
    assert ok.status_code == 200, ok.text


@pytest.mark.anyio
async def test_a_key_sees_its_own_organization_only(agencies: Agencies, base_url: str) -> None:
    async with over_http(f"{base_url}/mcp", agencies.southwind_key.secret) as mcp:
        clients = await call(mcp, "find_clients")
        assert [c["name"] for c in clients["clients"]] == ["Globex"]
        engagements = await call(mcp, "find_engagements")
        assert [e["name"] for e in engagements["engagements"]] == ["Globex site"]
        # Another organization's ids are unknown here, not forbidden: nothing leaks.
        northwind_clients = await mcp.call_tool(
            "find_engagements", {"client_id": _only_client(agencies, agencies.northwind)}
        )
        assert not northwind_clients.is_error
        assert northwind_clients.structured_content == {"engagements": []}
        lifecycle = await mcp.call_tool(
            "client_lifecycle", {"client_id": _only_client(agencies, agencies.northwind)}
        )
        assert lifecycle.is_error
        assert "client.not_found" in str(lifecycle.content)


def _only_client(agencies: Agencies, organization_id: str) -> str:
    with agencies.app.ctx.uow() as uow:
        [client] = uow.clients.list(organization_id)
    return client.id
