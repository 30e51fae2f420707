"""Create, send, view and approve over HTTP, with 16 concurrent clients, on SQLite.

A real server (`engagebill serve`, uvicorn with httptools) runs in its own process on a
loopback port. Each client thread repeats the full flow: the agency creates a draft and sends
it through the REST API; the recipient opens the private link, the page's view beacon is
posted, and the recipient approves by typing a name. Reports full flows per second, requests
per second, and p50/p99 latency per step.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from engagebill.adapters.db.migrate import upgrade
from engagebill.bootstrap import build
from engagebill.config import Settings
from engagebill.services import access, parties

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STEPS = ("create", "send", "page", "view", "approve")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(url: str) -> tuple[str, str]:
    app = build(Settings(database_url=url))
    upgrade(app.engine)
    org = parties.create_organization(
        app.ctx,
        name="Bench Agency",
        email="billing@bench.example",
        seller=parties.EntityInput(
            legal_name="Bench Agency B.V.",
            line1="Dam 1",
            city="Amsterdam",
            postal_code="1012 JS",
            country_code="NL",
            tax_id="NL004495445B01",
        ),
    )
    client = parties.create_client(
        app.ctx,
        organization_id=org.id,
        name="Acme",
        billing_entity=parties.EntityInput(
            legal_name="Acme GmbH",
            line1="Strasse 1",
            city="Berlin",
            postal_code="10117",
            country_code="DE",
        ),
        contacts=[parties.ContactInput("AP", "ap@acme.example")],
    )
    engagement = parties.create_engagement(
        app.ctx,
        organization_id=org.id,
        client_id=client.id,
        name="Retainer",
        kind="retainer",
        currency="EUR",
    )
    key = access.create_api_key(app.ctx, organization_id=org.id, name="bench").secret
    app.dispose()
    return key, engagement.id


def flow(base: str, key: str, engagement_id: str, timings: dict[str, list[float]]) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with (
        httpx.Client(base_url=base, timeout=30) as agency,
        httpx.Client(base_url=base, timeout=30) as recipient,
    ):
        started = time.perf_counter()
        created = agency.post(
            "/api/v1/invoices",
            headers=headers,
            json={
                "engagement_id": engagement_id,
                "lines": [
                    {"description": "Monthly retainer", "quantity": "1", "unit_price": "10000.00"}
                ],
            },
        )
        created.raise_for_status()
        timings["create"].append(time.perf_counter() - started)
        invoice_id = created.json()["invoice"]["id"]

        started = time.perf_counter()
        sent = agency.post(f"/api/v1/invoices/{invoice_id}/send", headers=headers, json={})
        sent.raise_for_status()
        timings["send"].append(time.perf_counter() - started)
        link = sent.json()["links"][0]["url"].replace("http://testserver", base)
        path = "/" + link.split("/", 3)[3]

        started = time.perf_counter()
        page = recipient.get(path)
        page.raise_for_status()
        timings["page"].append(time.perf_counter() - started)
        match = CSRF.search(page.text)
        assert match, "the page carries a CSRF field"
        field = match.group(1)

        started = time.perf_counter()
        recipient.post(f"{path}/view", data={"csrf_token": field, "beacon": "1"}).raise_for_status()
        timings["view"].append(time.perf_counter() - started)

        started = time.perf_counter()
        approved = recipient.post(
            f"{path}/approve", data={"csrf_token": field, "name": "Dana Scully"}
        )
        if approved.status_code >= 400:
            raise RuntimeError(f"approve answered {approved.status_code}")
        timings["approve"].append(time.perf_counter() - started)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="engagebill-http-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    key, engagement_id = seed(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ENGAGEBILL_PUBLIC_URL": base, "ENGAGEBILL_MAIL_DIR": str(folder / "mail")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engagebill.entrypoints.cli.main",
            "--db",
            url,
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        timings: dict[str, list[float]] = {step: [] for step in STEPS}
        errors: list[str] = []
        stop = time.perf_counter() + args.seconds

        def worker() -> None:
            while time.perf_counter() < stop:
                try:
                    flow(base, key, engagement_id, timings)
                except Exception as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    flows = len(timings["approve"])
    result: dict[str, Any] = {
        "benchmark": "http_flows_sqlite",
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "flows": flows,
        "flows_per_second": round(flows / elapsed, 1),
        "requests_per_second": round(sum(len(v) for v in timings.values()) / elapsed, 1),
        "errors": len(errors),
    }
    for step in STEPS:
        if timings[step]:
            result[f"{step}_p50_ms"] = round(percentile(timings[step], 0.50), 1)
            result[f"{step}_p99_ms"] = round(percentile(timings[step], 0.99), 1)
            result[f"{step}_mean_ms"] = round(statistics.fmean(timings[step]) * 1000, 1)
    if errors:
        result["first_error"] = errors[0]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
