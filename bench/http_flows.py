"""Create, send, view and approve over HTTP, with 16 concurrent clients, on SQLite.

A real server (`engagebill serve`, uvicorn with httptools) runs in its own process on a
loopback port. Each client thread repeats the full flow: the agency creates a draft and sends
it through the REST API; the recipient opens the private link, the page's view beacon is
posted, and the recipient approves by typing a name. Reports full flows per second, requests
per second, p50/p99 latency per step, the CPU the server and the clients spent per request,
and the machine's load average (other work on the machine shares its cores).

Each client thread keeps one agency connection and one recipient connection open across its
flows, as an API integration and a browser do, and the recipient starts every flow without
cookies, as a new recipient would. The load generator runs on the same cores as the server it
measures, so every millisecond of CPU it spends is taken from the server: the clients are
plain keep-alive HTTP/1.1 connections on ``http.client`` (about 0.3 ms of CPU per request on a
2-core EPYC, where two ``httpx.Client`` per thread spent about 1.7 ms), and the client CPU per
request is still reported, so that a client taking the server's cores shows in the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
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
from urllib.parse import urlencode

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


class Connection:
    """One keep-alive HTTP/1.1 connection, and the cookies its server set (as a browser would).

    Cookies are kept by name alone, without their attributes: the recipient connection only
    asks for ``/l/`` paths, and the CSRF cookie (``eb_csrf``) is all its forms need.
    """

    def __init__(self, host: str, port: int) -> None:
        self._connection = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and read the whole response: its status and body."""
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        reused = self._connection.sock is not None
        try:
            response, data = self._exchange(method, path, body, sent)
        except ConnectionError:
            if not reused:
                raise
            # The server closed the kept-alive connection before reading the request (as an
            # idle connection is closed): send it again on a new one.
            response, data = self._exchange(method, path, body, sent)
        for cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, value = cookie.partition(";")[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return response.status, data

    def _exchange(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        try:
            self._connection.request(method, path, body=body, headers=headers)
            response = self._connection.getresponse()
            return response, response.read()  # read to the end: the connection is then reusable
        except Exception:
            self._connection.close()  # a half-done exchange: the next request opens a new one
            raise

    def json(self, path: str, payload: object, headers: dict[str, str]) -> tuple[int, bytes]:
        return self.request(
            "POST",
            path,
            json.dumps(payload, separators=(",", ":")).encode(),
            {**headers, "Content-Type": "application/json"},
        )

    def form(self, path: str, fields: dict[str, str]) -> tuple[int, bytes]:
        return self.request(
            "POST",
            path,
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def close(self) -> None:
        self._connection.close()


def succeeded(step: str, status: int) -> None:
    """Raise unless the status is 2xx (what ``httpx.Response.raise_for_status`` checked)."""
    if not 200 <= status < 300:
        raise RuntimeError(f"{step} answered {status}")


def flow(
    agency: Connection,
    recipient: Connection,
    key: str,
    engagement_id: str,
    timings: dict[str, list[float]],
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    recipient.cookies.clear()  # a new recipient: no CSRF cookie yet
    started = time.perf_counter()
    status, body = agency.json(
        "/api/v1/invoices",
        {
            "engagement_id": engagement_id,
            "lines": [
                {"description": "Monthly retainer", "quantity": "1", "unit_price": "10000.00"}
            ],
        },
        headers,
    )
    succeeded("create", status)
    timings["create"].append(time.perf_counter() - started)
    invoice_id = json.loads(body)["invoice"]["id"]

    started = time.perf_counter()
    status, body = agency.json(f"/api/v1/invoices/{invoice_id}/send", {}, headers)
    succeeded("send", status)
    timings["send"].append(time.perf_counter() - started)
    path = "/" + json.loads(body)["links"][0]["url"].split("/", 3)[3]

    started = time.perf_counter()
    status, body = recipient.request("GET", path)
    succeeded("page", status)
    timings["page"].append(time.perf_counter() - started)
    match = CSRF.search(body.decode())
    assert match, "the page carries a CSRF field"
    field = match.group(1)

    started = time.perf_counter()
    status, _ = recipient.form(f"{path}/view", {"csrf_token": field, "beacon": "1"})
    succeeded("view", status)
    timings["view"].append(time.perf_counter() - started)

    started = time.perf_counter()
    status, _ = recipient.form(f"{path}/approve", {"csrf_token": field, "name": "Dana Scully"})
    if status >= 400:  # a 303 back to the page is the success
        raise RuntimeError(f"approve answered {status}")
    timings["approve"].append(time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and every living descendant (a server's worker processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    total = 0.0
    for member in tree:
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--server-workers", type=int, default=1, help="engagebill serve --workers")
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
            "--workers",
            str(args.server_workers),
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
        stop = float("inf")  # set once every client thread has started

        def worker() -> None:
            agency, recipient = Connection("127.0.0.1", port), Connection("127.0.0.1", port)
            try:
                ready.wait()
                while time.perf_counter() < stop:
                    try:
                        flow(agency, recipient, key, engagement_id, timings)
                    except Exception as exc:
                        errors.append(f"{type(exc).__name__}: {exc}")
            finally:
                agency.close()
                recipient.close()

        ready = threading.Event()
        threads = [threading.Thread(target=worker) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        load_before = os.getloadavg()[0]
        server_cpu, client_cpu = tree_cpu_seconds(server.pid), cpu_seconds(os.getpid())
        started = time.perf_counter()
        stop = started + args.seconds
        ready.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        server_cpu = tree_cpu_seconds(server.pid) - server_cpu
        client_cpu = cpu_seconds(os.getpid()) - client_cpu
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(timeout=10)
    flows = len(timings["approve"])
    requests = sum(len(v) for v in timings.values())
    result: dict[str, Any] = {
        "benchmark": "http_flows_sqlite",
        "clients": args.clients,
        "server_workers": args.server_workers,
        "seconds": round(elapsed, 1),
        "flows": flows,
        "flows_per_second": round(flows / elapsed, 1),
        "requests_per_second": round(requests / elapsed, 1),
        "errors": len(errors),
        "server_cpu_ms_per_request": round(server_cpu * 1000 / max(requests, 1), 2),
        "client_cpu_ms_per_request": round(client_cpu * 1000 / max(requests, 1), 2),
        "load_average_before": round(load_before, 2),
        "load_average_after": round(load_after, 2),
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
