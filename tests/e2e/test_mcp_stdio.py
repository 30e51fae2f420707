"""``engagebill mcp`` in a subprocess, driven by the SDK's stdio client.

The database is set up with the use cases first; the server then runs exactly as an assistant
on the operator's machine would start it, and is asked who the clients are and what goes out
on the first business day of March.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from engagebill.services import retainers
from engagebill.services.access import create_api_key
from tests.e2e.mcp_support import call, refusal
from tests.support import FixedClock, a_client, a_po, an_engagement, an_organization, migrated_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database(tmp_path: Path) -> tuple[str, str]:
    """A SQLite file with one organization and its retainer client; (url, read-only key)."""
    url = f"sqlite:///{tmp_path / 'stdio.db'}"
    app = migrated_app(url, FixedClock())
    org = an_organization(app)
    client = a_client(app, org)
    retainer = an_engagement(app, org, client, kind="retainer", currency="USD")
    a_po(app, org, retainer, "PO-RETAINER-2025")
    retainers.create_schedule(
        app.ctx,
        organization_id=org,
        engagement_id=retainer,
        amount="10000.00",
        start_date=date(2025, 3, 1),
    )
    reader = create_api_key(app.ctx, organization_id=org, name="assistant", scope="read")
    app.dispose()
    return url, reader.secret


def server(url: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "engagebill.entrypoints.cli.main", "--db", url, "mcp"],
        env=env,
    )


@pytest.mark.anyio
async def test_the_stdio_server_lists_its_tools_and_answers(database: tuple[str, str]) -> None:
    url, _ = database
    async with Client(server(url)) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"find_clients", "billing_plan", "execute_billing_run"} <= tools
        clients = await call(client, "find_clients")
        assert [c["name"] for c in clients["clients"]] == ["Acme Retail"]
        plan = await call(client, "billing_plan", as_of="2025-03-03")
        assert plan["invoice_count"] == 1
        [retainer] = plan["invoices"]
        assert (retainer["number"], retainer["purchase_order"]["number"]) == (
            "INV-2025-0001",
            "PO-RETAINER-2025",
        )
        assert retainer["totals"]["net"] == {"amount": "10000.00", "currency": "USD"}


@pytest.mark.anyio
async def test_with_a_read_only_api_key_the_stdio_server_only_reads(
    database: tuple[str, str],
) -> None:
    url, read_only = database
    async with Client(server(url, ENGAGEBILL_API_KEY=read_only), mode="legacy") as client:
        # The initialize handshake of the 2025 protocol revisions, for older assistants.
        assert client.server_info is not None and client.server_info.name == "engagebill"
        assert client.instructions and "one PO per invoice" in client.instructions
        plan = await call(client, "billing_plan", as_of="2025-03-03")
        assert plan["invoice_count"] == 1
        text = await refusal(client, "execute_billing_run", as_of="2025-03-03")
        assert "api_key.read_only" in text
