"""Month-end billing run for N clients, on SQLite or PostgreSQL.

Seeds (not timed) one organization with N clients, each with a retainer (monthly, first
business day), 30 % with a signed-off milestone on a fixed-price project, 50 % with 5 to 40
approved work items on a time-and-material engagement, and 10 % of those with their own PO
per change order. Then times: the plan, the execution (invoices per second, peak RSS), a
re-run (must create 0 invoices), and the floor: a plain bulk insert of the same invoice,
version and line rows in one transaction.

Prints one JSON object; ``python -m bench`` collects it.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import secrets
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

from engagebill.adapters.db import tables as t
from engagebill.adapters.db.migrate import upgrade
from engagebill.bootstrap import build
from engagebill.config import Settings
from engagebill.services import billing_run, parties

AS_OF = date(2025, 3, 28)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return AS_OF


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def seed(app: Any, clients: int, rng: random.Random) -> dict[str, int]:
    """Bulk-insert the scenario; returns what was created, to check the run against."""
    org = parties.create_organization(
        app.ctx, name="Bench Agency",
        seller=parties.EntityInput(legal_name="Bench Agency B.V.", line1="Dam 1",
                                   city="Amsterdam", postal_code="1012 JS", country_code="NL",
                                   tax_id="NL004495445B01"),
        email="billing@bench.example")
    now = datetime(2025, 1, 1, tzinfo=UTC)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "clients", "billing_entities", "engagements", "purchase_orders", "retainer_schedules",
        "quotes", "quote_versions", "quote_items", "milestones", "work_items")}
    expected = {"retainer": 0, "milestone": 0, "change_order": 0}
    base = {"organization_id": org.id}
    for n in range(clients):
        client_id, entity_id = _id("cli"), _id("be")
        rows["clients"].append({**base, "id": client_id, "name": f"Client {n:05d}",
                                "created_at": now})
        rows["billing_entities"].append({
            **base, "id": entity_id, "client_id": client_id, "legal_name": f"Client {n:05d} Ltd",
            "address_line1": f"Street {n}", "address_line2": "", "city": "Berlin",
            "postal_code": "10117", "country_code": "DE", "tax_id": "", "cost_centre": "",
            "created_at": now})

        def engagement(kind: str, name: str, mode: str | None = None) -> str:
            eid, po_id = _id("eng"), _id("po")
            rows["engagements"].append({
                **base, "id": eid, "client_id": client_id, "name": name, "kind": kind,
                "currency": "EUR", "net_days": 30, "billing_entity_id": entity_id,
                "default_purchase_order_id": po_id, "retainer_mode": mode, "auto_send": False,
                "vat_category": "S", "vat_rate": Decimal("21"), "created_at": now})
            rows["purchase_orders"].append({
                **base, "id": po_id, "engagement_id": eid, "number": f"PO-{n:05d}-{kind[:3]}",
                "currency": "EUR", "valid_from": None, "valid_to": date(2025, 12, 31),
                "ceiling_minor": None, "created_at": now})
            return eid

        retainer = engagement("retainer", "Monthly retainer", "fee")
        rows["retainer_schedules"].append({
            **base, "id": _id("rs"), "engagement_id": retainer, "mode": "fee",
            "amount_minor": 1_000_000, "currency": "EUR", "frequency": "monthly",
            "invoice_day": "first_business_day",
            "line_template": "Monthly retainer, {month} {year}", "start_date": date(2025, 3, 1),
            "end_date": None, "vat_category": "S", "vat_rate": Decimal("21"), "active": True,
            "created_at": now})
        expected["retainer"] += 1
        if rng.random() < 0.30:
            project = engagement("fixed_price", "Website rebuild")
            quote_id = _id("q")
            rows["quotes"].append({
                **base, "id": quote_id, "engagement_id": project, "client_id": client_id,
                "currency": "EUR", "state": "accepted", "number": f"Q-2025-{n:05d}",
                "current_version": 1, "accepted_version": 1, "accepted_by": "Bench",
                "accepted_at": now, "accepted_hash": "0" * 64, "declined_reason": "",
                "row_version": 0, "created_at": now})
            rows["quote_versions"].append({**base, "quote_id": quote_id, "version": 1,
                                           "title": "Website rebuild", "total_minor": 6_000_000,
                                           "content_hash": "0" * 64, "created_at": now})
            for pos in (1, 2, 3):
                rows["quote_items"].append({**base, "quote_id": quote_id, "version": 1,
                                            "position": pos, "name": f"Milestone {pos}",
                                            "description": "", "amount_minor": 2_000_000})
                rows["milestones"].append({
                    **base, "id": _id("ms"), "engagement_id": project, "quote_id": quote_id,
                    "quote_number": f"Q-2025-{n:05d}", "position": pos,
                    "name": f"Milestone {pos}", "description": "", "amount_minor": 2_000_000,
                    "currency": "EUR", "state": "signed_off" if pos == 2 else "planned",
                    "signed_off_by": "Bench" if pos == 2 else "",
                    "signed_off_at": datetime(2025, 3, 14, tzinfo=UTC) if pos == 2 else None,
                    "invoice_id": None, "created_at": now})
            expected["milestone"] += 1
        if rng.random() < 0.50:
            extra = engagement("time_and_material", "Out-of-scope work")
            if rng.random() < 0.20:  # 10 % of all clients: a PO of its own for the change order
                rows["purchase_orders"][-1]["number"] = f"PO-CO-{n:05d}"
            for _ in range(rng.randint(5, 40)):
                rows["work_items"].append({
                    **base, "id": _id("wi"), "engagement_id": extra,
                    "work_date": date(2025, 3, rng.randint(1, 27)), "person": "Sam",
                    "hours": Decimal(rng.randint(1, 16)) / 2, "rate_minor": 15_000,
                    "currency": "EUR", "description": "Extra landing page",
                    "requester": "Dana", "approval_ref": "https://mail.example/msg/1",
                    "state": "approved", "override_reason": "", "quote_id": None,
                    "invoice_id": None, "created_at": now})
            expected["change_order"] += 1
    with app.engine.begin() as conn:
        for name in ("clients", "billing_entities", "engagements", "purchase_orders",
                     "retainer_schedules", "quotes", "quote_versions", "quote_items",
                     "milestones", "work_items"):
            table = getattr(t, name)
            batch = rows[name]
            for start in range(0, len(batch), 2000):
                conn.execute(insert(table), batch[start:start + 2000])
    return {**expected, "work_items": len(rows["work_items"]), "organization": org.id}  # type: ignore[dict-item]


def floor(url: str, invoices: int, lines_per_invoice: float) -> float:
    """Invoices per second for a plain bulk insert of the same rows: the raw-insert floor."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE floor_invoices (id TEXT, org TEXT, "
                          "state TEXT, gross BIGINT, created_at TEXT)"))
        conn.execute(text("CREATE TEMPORARY TABLE floor_lines (invoice_id TEXT, pos INT, "
                          "description TEXT, quantity TEXT, price BIGINT)"))
    started = time.perf_counter()
    with engine.begin() as conn:
        inv = [{"id": _id("inv"), "org": "o", "state": "draft", "gross": 1, "created_at":
                now.isoformat()} for _ in range(invoices)]
        conn.execute(text("INSERT INTO floor_invoices VALUES (:id, :org, :state, :gross, "
                          ":created_at)"), inv)
        lines = [{"invoice_id": i["id"], "pos": p, "description": "x", "quantity": "1",
                  "price": 1} for i in inv for p in range(max(1, round(lines_per_invoice)))]
        conn.execute(text("INSERT INTO floor_lines VALUES (:invoice_id, :pos, :description, "
                          ":quantity, :price)"), lines)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return invoices / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--clients", type=int, default=10_000)
    args = parser.parse_args()
    rng = random.Random(20250328)
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
        app = build(Settings(database_url=url), clock=Clock())
        upgrade(app.engine)
        expected = seed(app, args.clients, rng)
        org = str(expected.pop("organization"))
        started = time.perf_counter()
        view = billing_run.plan_run(app.ctx, organization_id=org, as_of=AS_OF)
        plan_seconds = time.perf_counter() - started
        planned = len(view.plan.invoices)
        lines = sum(len(p.lines) for p in view.plan.invoices)
        started = time.perf_counter()
        result = billing_run.execute_run(app.ctx, organization_id=org, as_of=AS_OF)
        run_seconds = time.perf_counter() - started
        started = time.perf_counter()
        again = billing_run.execute_run(app.ctx, organization_id=org, as_of=AS_OF)
        rerun_seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        floor_rate = floor(url, planned, lines / max(planned, 1))
        created = len(result.created)
        rate = created / run_seconds
        print(json.dumps({
            "benchmark": f"billing_run_{args.db}",
            "clients": args.clients,
            "expected_invoices": sum(v for k, v in expected.items() if k != "work_items"),
            "planned": planned,
            "created": created,
            "lines": lines,
            "plan_seconds": round(plan_seconds, 2),
            "run_seconds": round(run_seconds, 2),
            "invoices_per_second": round(rate, 1),
            "rerun_created": len(again.created),
            "rerun_seconds": round(rerun_seconds, 2),
            "peak_rss_mb": round(peak_mb, 1),
            "floor_invoices_per_second": round(floor_rate, 1),
            "ratio_to_floor": round(rate / floor_rate, 4),
        }))
        app.dispose()
    finally:
        if scratch is not None:
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
    sys.exit(0)


if __name__ == "__main__":
    main()
