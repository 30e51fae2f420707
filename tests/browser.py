"""Browser-test support: Debian's chromium for Playwright, and an engagebill app served by
uvicorn in a thread on a free loopback port (as `make run` serves it).

Browser tests skip with a reason when /usr/bin/chromium is missing, unless
ENGAGEBILL_REQUIRE_BROWSER=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engagebill.bootstrap import App
from engagebill.entrypoints.http import create_app
from engagebill.services.demo import load_demo
from tests.support import FixedClock, migrated_app

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def require_browser() -> Any:
    """Playwright's sync API, or a skip (a failure under ENGAGEBILL_REQUIRE_BROWSER=1)."""
    required = os.environ.get("ENGAGEBILL_REQUIRE_BROWSER") == "1"
    if not CHROMIUM.exists():
        if required:
            pytest.fail(f"ENGAGEBILL_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped")
    try:
        from playwright import sync_api
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        if required:
            pytest.fail("ENGAGEBILL_REQUIRE_BROWSER=1 but playwright is not installed")
        pytest.skip("playwright is not installed")
    return sync_api


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(asgi_app: Any, port: int) -> Iterator[None]:
    """The app served by uvicorn in a daemon thread until the block ends."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(asgi_app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="engagebill-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Site:
    app: App
    organization_id: str
    base: str


@contextmanager
def demo_site(folder: Path, today: date) -> Iterator[Site]:
    """The demo organization on SQLite as of ``today`` (noon), served on a free port."""
    clock = FixedClock()
    clock.set(today)
    application = migrated_app(f"sqlite:///{folder / 'demo.db'}", clock)
    organization_id = load_demo(application.ctx, today=today).organization_id
    clock.set(today, hour=12)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    application.ctx.settings["public_url"] = base
    try:
        with serving(create_app(application.ctx, public_url=base), port):
            yield Site(application, organization_id, base)
    finally:
        application.dispose()
