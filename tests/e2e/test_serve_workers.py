"""``engagebill serve --workers 2`` on one SQLite file: several server processes answer on one
port, their writers take turns on the file, numbers stay gapless, and a form signed by one
process is accepted by another (they share the secret key)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engagebill.adapters.db.migrate import upgrade
from engagebill.bootstrap import build
from engagebill.config import Settings
from engagebill.services import access, parties
from tests.support import BUYER, SELLER

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, str, Path]]:
    """A server with two worker processes on a fresh SQLite file: its base URL, an API key,
    a retainer engagement and the database file."""
    database = tmp_path / "engagebill.db"
    url = f"sqlite:///{database}"
    app = build(Settings(database_url=url))
    upgrade(app.engine)
    org = parties.create_organization(
        app.ctx, name="Northwind Studio", seller=SELLER, email="billing@northwind.example"
    ).id
    client = parties.create_client(
        app.ctx,
        organization_id=org,
        name="Acme Retail",
        billing_entity=BUYER,
        contacts=[parties.ContactInput("Alex AP", "ap@acme.example")],
    ).id
    engagement = parties.create_engagement(
        app.ctx,
        organization_id=org,
        client_id=client,
        name="Retainer",
        kind="retainer",
        currency="EUR",
    ).id
    key = access.create_api_key(app.ctx, organization_id=org, name="tests").secret
    app.dispose()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ENGAGEBILL_MAIL_DIR": str(tmp_path / "mail")}
    env.pop("ENGAGEBILL_SECRET_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "engagebill.entrypoints.cli.main", "--db", url, "serve",
         "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield base, key, engagement, database
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_two_server_processes_on_one_sqlite_file(served: tuple[str, str, str, Path]) -> None:
    base, key, engagement, _ = served
    headers = {"Authorization": f"Bearer {key}"}
    numbers: list[str] = []
    errors: list[str] = []

    def flows(count: int) -> None:
        # A new connection per request: the kernel spreads them over both processes.
        for _ in range(count):
            try:
                draft = httpx.post(
                    f"{base}/api/v1/invoices",
                    headers=headers,
                    json={
                        "engagement_id": engagement,
                        "lines": [
                            {"description": "Retainer", "quantity": "1", "unit_price": "1000.00"}
                        ],
                    },
                ).json()["invoice"]
                sent = httpx.post(
                    f"{base}/api/v1/invoices/{draft['id']}/send", headers=headers, json={}
                ).json()
                numbers.append(sent["invoice"]["number"])
                path = "/" + sent["links"][0]["url"].split("/", 3)[3]
                with httpx.Client(base_url=base) as recipient:
                    page = recipient.get(path)
                    token = CSRF.search(page.text)
                    assert token, page.text[:200]
                    approved = recipient.post(
                        f"{path}/approve", data={"csrf_token": token[1], "name": "Dana Scully"}
                    )
                    assert approved.status_code == 303, approved.text[:300]
            except Exception as exc:  # collected, so every thread finishes
                errors.append(repr(exc))

    threads = [threading.Thread(target=flows, args=(5,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(int(n.rsplit("-", 1)[1]) for n in numbers) == list(range(1, 41))  # gapless
    listed = httpx.get(
        f"{base}/api/v1/invoices", headers=headers, params={"state": "approved", "limit": 100}
    ).json()["items"]
    assert len(listed) == 40
