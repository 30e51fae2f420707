"""Month-end billing run for N clients, on SQLite or PostgreSQL.

Seeds (not timed, bench/scenario.py) one organization with N clients, each with a retainer
(monthly, first business day), 30 % with a signed-off milestone on a fixed-price project, 50 %
with 5 to 40 approved work items on a time-and-material engagement, and 10 % of those with
their own PO per change order. Then times: the plan, the execution (invoices per second, peak
RSS), a re-run (must create 0 invoices), and the floor: a plain bulk insert of the same
invoice, version and line rows in one transaction.

Prints one JSON object; ``python -m bench`` collects it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import resource
import secrets
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text

from bench.scenario import AS_OF, seed_scenario
from engagebill.adapters.db.migrate import upgrade
from engagebill.bootstrap import build
from engagebill.config import Settings
from engagebill.services import billing_run

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SEED = 20250328


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return AS_OF


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def seed(app: Any, clients: int, rng: random.Random, advance_every: int = 0) -> dict[str, int]:
    """Bulk-insert the scenario (bench/scenario.py); returns what was created, to check the
    run against."""
    scenario = seed_scenario(app, clients, rng, advance_every=advance_every)
    return {**scenario.counts(), "organization": scenario.organization_id}  # type: ignore[dict-item]


def _seed_in_child(
    url: str, clients: int, seed_value: int, advance_every: int, results: Any
) -> None:
    app = build(Settings(database_url=url), clock=Clock())
    upgrade(app.engine)
    results.put(seed(app, clients, random.Random(seed_value), advance_every))
    app.dispose()


def seed_elsewhere(
    url: str, clients: int, seed_value: int, advance_every: int = 0
) -> dict[str, int]:
    """Seed in a process of its own, so that this process's peak memory is the run's alone
    and not the seeding's (the target is about the run)."""
    context = mp.get_context("spawn")
    results = context.Queue()
    child = context.Process(
        target=_seed_in_child, args=(url, clients, seed_value, advance_every, results)
    )
    child.start()
    expected: dict[str, int] = results.get(timeout=3600)
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"seeding failed with exit code {child.exitcode}")
    return expected


def floor(url: str, invoices: int, lines_per_invoice: float) -> float:
    """Invoices per second for a plain bulk insert of the same rows: the raw-insert floor."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TEMPORARY TABLE floor_invoices (id TEXT, org TEXT, "
                "state TEXT, gross BIGINT, created_at TEXT)"
            )
        )
        conn.execute(
            text(
                "CREATE TEMPORARY TABLE floor_lines (invoice_id TEXT, pos INT, "
                "description TEXT, quantity TEXT, price BIGINT)"
            )
        )
    started = time.perf_counter()
    with engine.begin() as conn:
        inv = [
            {
                "id": _id("inv"),
                "org": "o",
                "state": "draft",
                "gross": 1,
                "created_at": now.isoformat(),
            }
            for _ in range(invoices)
        ]
        conn.execute(
            text("INSERT INTO floor_invoices VALUES (:id, :org, :state, :gross, :created_at)"), inv
        )
        lines = [
            {"invoice_id": i["id"], "pos": p, "description": "x", "quantity": "1", "price": 1}
            for i in inv
            for p in range(max(1, round(lines_per_invoice)))
        ]
        conn.execute(
            text(
                "INSERT INTO floor_lines VALUES (:invoice_id, :pos, :description, "
                ":quantity, :price)"
            ),
            lines,
        )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return invoices / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument(
        "--advance-every",
        type=int,
        default=0,
        help="every k-th client's out-of-scope work draws on an issued advance (0: none)",
    )
    args = parser.parse_args()
    scratch = None
    if args.db == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="engagebill-bench-"))
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        scratch = f"engagebill_bench_{secrets.token_hex(4)}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{scratch}"
    try:
        expected = seed_elsewhere(url, args.clients, SEED, args.advance_every)
        app = build(Settings(database_url=url), clock=Clock())
        org = str(expected.pop("organization"))
        # A live database has statistics; fresh bulk-loaded tables do not, and PostgreSQL's
        # planner would then pick index scans that no real month end sees.
        with app.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        started = time.perf_counter()
        view = billing_run.plan_run(app.ctx, organization_id=org, as_of=AS_OF)
        plan_seconds = time.perf_counter() - started
        planned = len(view.plan.invoices)
        lines = sum(len(p.lines) for p in view.plan.invoices)
        del view  # the run plans for itself; two plans alive at once is not the run's memory
        counts = {"statements": 0, "commits": 0}

        def count_statement(*_: Any) -> None:
            counts["statements"] += 1

        def count_commit(*_: Any) -> None:
            counts["commits"] += 1

        event.listen(app.engine, "before_cursor_execute", count_statement)
        event.listen(app.engine, "commit", count_commit)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = billing_run.execute_run(app.ctx, organization_id=org, as_of=AS_OF)
        run_seconds = time.perf_counter() - started
        # CPU of this process: on SQLite all of the run's work; on PostgreSQL the server's
        # share is not in it.
        run_cpu = time.process_time() - cpu_started
        event.remove(app.engine, "before_cursor_execute", count_statement)
        event.remove(app.engine, "commit", count_commit)
        started = time.perf_counter()
        again = billing_run.execute_run(app.ctx, organization_id=org, as_of=AS_OF)
        rerun_seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        floor_rate = floor(url, planned, lines / max(planned, 1))
        created = len(result.created)
        rate = created / run_seconds
        print(
            json.dumps(
                {
                    "benchmark": f"billing_run_{args.db}",
                    "clients": args.clients,
                    "advance_every": args.advance_every,
                    "expected_invoices": sum(v for k, v in expected.items() if k != "work_items"),
                    "planned": planned,
                    "created": created,
                    "lines": lines,
                    "plan_seconds": round(plan_seconds, 2),
                    "run_seconds": round(run_seconds, 2),
                    "invoices_per_second": round(rate, 1),
                    "run_cpu_seconds": round(run_cpu, 2),
                    "cpu_ms_per_invoice": round(1000 * run_cpu / max(created, 1), 3),
                    "statements_per_invoice": round(counts["statements"] / max(created, 1), 2),
                    "transactions": counts["commits"],
                    "rerun_created": len(again.created),
                    "rerun_seconds": round(rerun_seconds, 2),
                    "peak_rss_mb": round(peak_mb, 1),
                    "floor_invoices_per_second": round(floor_rate, 1),
                    "ratio_to_floor": round(rate / floor_rate, 4),
                }
            )
        )
        app.dispose()
    finally:
        if scratch is not None:
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    sys.exit(0)


if __name__ == "__main__":
    main()
