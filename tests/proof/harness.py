"""What the proofs share: the long/short switch, fresh databases and their copies, and reading
the ledger back with plain SQL.

Every proof is fast by default (the whole of tests/proof in a few minutes on a busy two-core
machine) and soaks with ``ENGAGEBILL_PROOF_LONG=1`` (``make soak``), where it runs at the
sizes issue 8 names.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from engagebill.adapters.db.engine import normalise_url
from tests.support import PG_ADMIN_URL

LONG = os.environ.get("ENGAGEBILL_PROOF_LONG") == "1"
ROOT = Path(__file__).resolve().parents[2]  # the repository: subprocesses run from here


def scale(default: int, long: int) -> int:
    """The default-mode size, or the soak size with ENGAGEBILL_PROOF_LONG=1."""
    return long if LONG else default


def is_postgres(url: str) -> bool:
    return make_url(normalise_url(url)).get_backend_name() == "postgresql"


def sqlite_path(url: str) -> Path:
    database = make_url(normalise_url(url)).database
    assert database, url
    return Path(database)


@contextmanager
def database_copy(url: str, name: str = "copy") -> Iterator[str]:
    """A copy of a database nobody is connected to: a file copy on SQLite, ``CREATE DATABASE
    ... TEMPLATE`` on PostgreSQL. Removed afterwards."""
    if not is_postgres(url):
        source = sqlite_path(url)
        target = source.with_name(f"{source.stem}-{name}-{secrets.token_hex(3)}.db")
        shutil.copyfile(source, target)
        wal = source.with_name(source.name + "-wal")
        if wal.exists():  # committed pages not yet checkpointed live here
            shutil.copyfile(wal, target.with_name(target.name + "-wal"))
        try:
            yield f"sqlite:///{target}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
        return
    template = make_url(normalise_url(url)).database
    copy = f"{template}_{name}_{secrets.token_hex(3)}"[:63]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"'))
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{copy}"
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
    finally:
        admin.dispose()


def analyze(url: str) -> None:
    """Give PostgreSQL's planner statistics after a bulk seed, as autovacuum would within a
    minute: without them it picks (organization, state) over the primary key to update one
    work item, and a 1,000-client run takes ten times as long."""
    if not is_postgres(url):
        return
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


NUMBER = re.compile(r"(?P<series>.+)-(?P<seq>\d+)")


def series_report(numbers: list[str]) -> dict[str, Any]:
    """Numbers grouped by series (everything before the last dash): each must be 1..N."""
    by_series: dict[str, list[int]] = {}
    for number in numbers:
        match = NUMBER.fullmatch(number)
        assert match, f"{number!r} does not end in a sequence number"
        by_series.setdefault(match["series"], []).append(int(match["seq"]))
    report = {}
    for series, seqs in sorted(by_series.items()):
        counts = Counter(seqs)
        report[series] = {
            "count": len(seqs),
            "gaps": sorted(set(range(1, max(seqs) + 1)) - set(seqs)),
            "duplicates": sorted(s for s, c in counts.items() if c > 1),
        }
    return report


def run_workers(
    target: Callable[..., None],
    args: Callable[[int, Any, Any], tuple[Any, ...]],
    *,
    workers: int,
    timeout: float,
) -> tuple[list[Any], float]:
    """Start ``workers`` spawned processes on ``target(*args(w, barrier, out))``, each ending
    by putting ``("ok", report)`` or ``("error", text)`` on ``out``; fail the test if one
    errs or goes silent for ``timeout`` seconds. Returns the reports and when the processes
    were spawned (``time.time()``), so a proof can tell their start-up from their work."""
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(workers)
    out = spawn.Queue()
    processes = [
        spawn.Process(target=target, args=args(w, barrier, out), daemon=True)
        for w in range(workers)
    ]
    spawned = time.time()
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(out.get(timeout=timeout))
    except queue.Empty:
        pytest.fail(f"only {len(outcomes)} of {workers} workers reported")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    errors = [detail for status, detail in outcomes if status == "error"]
    assert not errors, "workers failed:\n" + "\n".join(errors)
    return [detail for _, detail in outcomes], spawned
