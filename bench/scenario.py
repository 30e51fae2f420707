"""The month-end scenario of N clients, bulk-inserted: shared by the benchmark and the proofs.

One organization with N clients, each with a retainer (monthly, first business day, from
March 2025), 30 % with a signed-off milestone on a fixed-price project, 50 % with 5 to 40
approved work items on a time-and-material engagement, and 10 % of those with their own PO per
change order. Rows go in with a few bulk inserts, so seeding stays cheap next to what is
measured or proved.

``seed_scenario`` also says what a billing run as of ``AS_OF`` must create, worked out from the
seeded rows alone (never from the plan): one billing key per retainer period, signed-off
milestone and engagement with approved work. The proofs add AP contacts and automatic sending
(both off by default, so the benchmark measures what it always has).
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from engagebill.adapters.db import tables as t
from engagebill.bootstrap import App
from engagebill.services import parties

AS_OF = date(2025, 3, 28)
NOW = datetime(2025, 1, 1, tzinfo=UTC)  # when the seeded rows were "created"
RETAINER_PERIOD = "2025-03"  # the one retainer period due by AS_OF
TABLES = (
    "clients",
    "billing_entities",
    "ap_contacts",
    "engagements",
    "purchase_orders",
    "retainer_schedules",
    "quotes",
    "quote_versions",
    "quote_items",
    "milestones",
    "work_items",
    "invoices",
    "invoice_versions",
    "invoice_lines",
)
ADVANCE_NET_MINOR = 300_000  # an issued advance of 3,000.00 net: most of the work draws it all


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


@dataclass(frozen=True)
class _Client:
    organization_id: str
    n: int  # its position: names and PO numbers are made from it
    id: str
    entity_id: str
    auto_send: bool


@dataclass
class Scenario:
    """What was seeded, and what a billing run as of ``AS_OF`` must create from it."""

    organization_id: str
    # billing key -> purpose (retainer, milestone, change_order) of every invoice due
    expected: dict[str, str] = field(default_factory=dict)
    client_of: dict[str, str] = field(default_factory=dict)  # billing key -> client id
    contacts: dict[str, int] = field(default_factory=dict)  # client id -> AP contacts
    auto_send: set[str] = field(default_factory=set)  # billing keys sent by the run itself
    milestones: dict[str, str] = field(default_factory=dict)  # signed-off milestone -> key
    work_items: dict[str, str] = field(default_factory=dict)  # approved work item -> key

    def counts(self) -> dict[str, int]:
        purposes = list(self.expected.values())
        return {
            "retainer": purposes.count("retainer"),
            "milestone": purposes.count("milestone"),
            "change_order": purposes.count("change_order"),
            "work_items": len(self.work_items),
        }

    def expect(self, key: str, purpose: str, client: _Client) -> None:
        self.expected[key] = purpose
        self.client_of[key] = client.id
        if client.auto_send:
            self.auto_send.add(key)


def _engagement(
    rows: dict[str, list[dict[str, Any]]],
    client: _Client,
    kind: str,
    name: str,
    mode: str | None = None,
) -> str:
    """An engagement of the client with a PO of its own (its default), valid all year."""
    eid, po_id = _id("eng"), _id("po")
    organization = {"organization_id": client.organization_id}
    rows["engagements"].append(
        {
            **organization,
            "id": eid,
            "client_id": client.id,
            "name": name,
            "kind": kind,
            "currency": "EUR",
            "net_days": 30,
            "billing_entity_id": client.entity_id,
            "default_purchase_order_id": po_id,
            "retainer_mode": mode,
            "auto_send": client.auto_send,
            "vat_category": "S",
            "vat_rate": Decimal("21"),
            "created_at": NOW,
        }
    )
    rows["purchase_orders"].append(
        {
            **organization,
            "id": po_id,
            "engagement_id": eid,
            "number": f"PO-{client.n:05d}-{kind[:3]}",
            "currency": "EUR",
            "valid_from": None,
            "valid_to": date(2025, 12, 31),
            "ceiling_minor": None,
            "created_at": NOW,
        }
    )
    return eid


def _advance_engagement(rows: dict[str, list[dict[str, Any]]], client: _Client) -> str:
    """An advance retainer with one issued (sent) advance invoice of 3,000.00 net."""
    eid = _engagement(rows, client, "retainer", "Support on advance", "advance")
    organization = {"organization_id": client.organization_id}
    invoice_id = _id("inv")
    rows["invoices"].append(
        {
            **organization,
            "id": invoice_id,
            "client_id": client.id,
            "engagement_id": eid,
            "currency": "EUR",
            "kind": "advance",
            "state": "sent",
            "number": f"ADV-2025-{client.n:05d}",
            "current_version": 1,
            "purchase_order_id": None,
            "po_number": None,
            "sent_at": NOW,
            "billing_key": None,
            "approved_by": "",
            "change_request": "",
            "credited_minor": 0,
            "credited_net_minor": 0,
            "row_version": 0,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    if "credited_prepaid_minor" in t.invoices.c:  # a schema before the engagement account lacks it
        rows["invoices"][-1]["credited_prepaid_minor"] = 0
    rows["invoice_versions"].append(
        {
            **organization,
            "invoice_id": invoice_id,
            "version": 1,
            "issue_date": date(2025, 2, 3),
            "due_date": date(2025, 3, 5),
            "purchase_order_id": None,
            "po_number": None,
            "buyer_json": None,
            "seller_json": None,
            "notes": "",
            "quote_reference": "",
            "prepaid_minor": 0,
            "advance_used_minor": 0,
            "net_minor": ADVANCE_NET_MINOR,
            "gross_minor": ADVANCE_NET_MINOR * 121 // 100,
            # Inserted open, like the engine does, so that its lines can be written.
            "frozen": False,
            "content_hash": "",
            "created_at": NOW,
        }
    )
    rows["invoice_lines"].append(
        {
            **organization,
            "invoice_id": invoice_id,
            "version": 1,
            "position": 1,
            "description": "Advance for support, 2025",
            "quantity": Decimal(1),
            "unit": "C62",
            "unit_price_minor": ADVANCE_NET_MINOR,
            "vat_category": "S",
            "vat_rate": Decimal("21"),
            "source_ref": None,
            "service_date": None,
            "person": None,
            "requester": None,
            "approval_ref": None,
        }
    )
    return eid


def work_key(engagement_id: str, item_ids: list[str]) -> str:
    """The billing key of one change-order invoice, written out here on purpose instead of
    imported: the proofs compare the engine's keys with an independent account."""
    digest = hashlib.sha256(",".join(sorted(item_ids)).encode()).hexdigest()[:24]
    return f"work:{engagement_id}:{digest}"


def seed_scenario(
    app: App,
    clients: int,
    rng: random.Random,
    *,
    contacts_per_client: int = 0,
    auto_send_every: int = 0,
    advance_every: int = 0,
) -> Scenario:
    """Bulk-insert the scenario for ``clients`` clients.

    ``contacts_per_client`` gives every client that many AP contacts (sending then writes one
    email per contact to the outbox); with ``auto_send_every`` = k, every k-th client's
    engagements send their invoices during the run; with ``advance_every`` = k, every k-th
    client's out-of-scope work is on an advance retainer with an issued advance invoice, which
    the change order draws on. None of them draws on ``rng``.
    """
    org = parties.create_organization(
        app.ctx,
        name="Bench Agency",
        seller=parties.EntityInput(
            legal_name="Bench Agency B.V.",
            line1="Dam 1",
            city="Amsterdam",
            postal_code="1012 JS",
            country_code="NL",
            tax_id="NL004495445B01",
        ),
        email="billing@bench.example",
    )
    now = NOW
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    scenario = Scenario(org.id)
    base = {"organization_id": org.id}
    for n in range(clients):
        client_id, entity_id = _id("cli"), _id("be")
        auto_send = auto_send_every > 0 and n % auto_send_every == 0
        who = _Client(org.id, n, client_id, entity_id, auto_send)
        rows["clients"].append(
            {**base, "id": client_id, "name": f"Client {n:05d}", "created_at": now}
        )
        rows["billing_entities"].append(
            {
                **base,
                "id": entity_id,
                "client_id": client_id,
                "legal_name": f"Client {n:05d} Ltd",
                "address_line1": f"Street {n}",
                "address_line2": "",
                "city": "Berlin",
                "postal_code": "10117",
                "country_code": "DE",
                "tax_id": "",
                "cost_centre": "",
                "created_at": now,
            }
        )
        for c in range(contacts_per_client):
            rows["ap_contacts"].append(
                {
                    **base,
                    "id": _id("con"),
                    "client_id": client_id,
                    "name": f"AP {c} of client {n:05d}",
                    "email": f"ap{c}.client{n:05d}@example.com",
                }
            )
        scenario.contacts[client_id] = contacts_per_client

        retainer = _engagement(rows, who, "retainer", "Monthly retainer", "fee")
        schedule_id = _id("rs")
        rows["retainer_schedules"].append(
            {
                **base,
                "id": schedule_id,
                "engagement_id": retainer,
                "mode": "fee",
                "amount_minor": 1_000_000,
                "currency": "EUR",
                "frequency": "monthly",
                "invoice_day": "first_business_day",
                "line_template": "Monthly retainer, {month} {year}",
                "start_date": date(2025, 3, 1),
                "end_date": None,
                "vat_category": "S",
                "vat_rate": Decimal("21"),
                "active": True,
                "created_at": now,
            }
        )
        scenario.expect(f"retainer:{schedule_id}:{RETAINER_PERIOD}", "retainer", who)
        if rng.random() < 0.30:
            project = _engagement(rows, who, "fixed_price", "Website rebuild")
            quote_id = _id("q")
            rows["quotes"].append(
                {
                    **base,
                    "id": quote_id,
                    "engagement_id": project,
                    "client_id": client_id,
                    "currency": "EUR",
                    "state": "accepted",
                    "number": f"Q-2025-{n:05d}",
                    "current_version": 1,
                    "accepted_version": 1,
                    "accepted_by": "Bench",
                    "accepted_at": now,
                    "accepted_hash": "0" * 64,
                    "declined_reason": "",
                    "row_version": 0,
                    "created_at": now,
                }
            )
            rows["quote_versions"].append(
                {
                    **base,
                    "quote_id": quote_id,
                    "version": 1,
                    "title": "Website rebuild",
                    "total_minor": 6_000_000,
                    "content_hash": "0" * 64,
                    "created_at": now,
                }
            )
            for pos in (1, 2, 3):
                milestone_id = _id("ms")
                rows["quote_items"].append(
                    {
                        **base,
                        "quote_id": quote_id,
                        "version": 1,
                        "position": pos,
                        "name": f"Milestone {pos}",
                        "description": "",
                        "amount_minor": 2_000_000,
                    }
                )
                rows["milestones"].append(
                    {
                        **base,
                        "id": milestone_id,
                        "engagement_id": project,
                        "quote_id": quote_id,
                        "quote_number": f"Q-2025-{n:05d}",
                        "position": pos,
                        "name": f"Milestone {pos}",
                        "description": "",
                        "amount_minor": 2_000_000,
                        "currency": "EUR",
                        "state": "signed_off" if pos == 2 else "planned",
                        "signed_off_by": "Bench" if pos == 2 else "",
                        "signed_off_at": datetime(2025, 3, 14, tzinfo=UTC) if pos == 2 else None,
                        "invoice_id": None,
                        "created_at": now,
                    }
                )
                if pos == 2:
                    scenario.milestones[milestone_id] = f"milestone:{milestone_id}"
                    scenario.expect(f"milestone:{milestone_id}", "milestone", who)
        if rng.random() < 0.50:
            on_advance = advance_every > 0 and n % advance_every == 0
            extra = (
                _advance_engagement(rows, who)
                if on_advance
                else _engagement(rows, who, "time_and_material", "Out-of-scope work")
            )
            if rng.random() < 0.20:  # 10 % of all clients: a PO of its own for the change order
                rows["purchase_orders"][-1]["number"] = f"PO-CO-{n:05d}"
            items = []
            for _ in range(rng.randint(5, 40)):
                items.append(_id("wi"))
                rows["work_items"].append(
                    {
                        **base,
                        "id": items[-1],
                        "engagement_id": extra,
                        "work_date": date(2025, 3, rng.randint(1, 27)),
                        "person": "Sam",
                        "hours": Decimal(rng.randint(1, 16)) / 2,
                        "rate_minor": 15_000,
                        "currency": "EUR",
                        "description": "Extra landing page",
                        "requester": "Dana",
                        "approval_ref": "https://mail.example/msg/1",
                        "state": "approved",
                        "override_reason": "",
                        "quote_id": None,
                        "invoice_id": None,
                        "created_at": now,
                    }
                )
            key = work_key(extra, items)
            scenario.work_items.update(dict.fromkeys(items, key))
            scenario.expect(key, "change_order", who)
    with app.engine.begin() as conn:
        for name in TABLES:
            table = getattr(t, name)
            batch = rows[name]
            for start in range(0, len(batch), 2000):
                conn.execute(insert(table), batch[start : start + 2000])
    return scenario
