"""The billing plan's structural rules, on plain objects: one engagement per invoice, and a
change order never larger than an invoice may be."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from engagebill.domain.billing import BillingInputs, Purpose, plan_billing
from engagebill.domain.engagements import Engagement, EngagementKind, PaymentTerms
from engagebill.domain.invoices import MAX_LINES
from engagebill.domain.money import Money
from engagebill.domain.work import WorkItem, WorkState
from engagebill.services.ports import WeekdayCalendars

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def _engagement(eid: str) -> Engagement:
    return Engagement(
        id=eid,
        organization_id="org",
        client_id="cli",
        name=eid,
        kind=EngagementKind.TIME_AND_MATERIAL,
        currency="EUR",
        terms=PaymentTerms(30),
        billing_entity_id="be",
        created_at=NOW,
    )


def _item(n: int, engagement_id: str) -> WorkItem:
    return WorkItem(
        id=f"w{n:05d}",
        organization_id="org",
        engagement_id=engagement_id,
        work_date=date(2025, 3, 1 + n % 27),
        person="Sam",
        hours=Decimal("1.5"),
        rate=Money.of("150.00", "EUR"),
        description=f"Item {n}",
        requester="Dana",
        approval_ref="mail",
        state=WorkState.APPROVED,
        created_at=NOW,
    )


def _plan(items: list[WorkItem], engagements: list[str]):  # type: ignore[no-untyped-def]
    return plan_billing(
        BillingInputs(
            as_of=date(2025, 3, 28),
            engagements={e: _engagement(e) for e in engagements},
            client_names={"cli": "Acme"},
            schedules=[],
            advances=[],
            milestones=[],
            work_items=items,
            billed_keys=frozenset(),
            purchase_orders={},
            po_consumed={},
            advance_available={},
            first_business_day=WeekdayCalendars().first_business_day("NL"),
        )
    )


def test_a_change_order_larger_than_an_invoice_becomes_several() -> None:
    plan = _plan([_item(n, "extras") for n in range(MAX_LINES + 1)], ["extras"])
    assert [len(p.lines) for p in plan.invoices] == [MAX_LINES, 1]
    assert all(p.purpose is Purpose.CHANGE_ORDER for p in plan.invoices)
    assert len({p.billing_key for p in plan.invoices}) == 2
    sources = [s for p in plan.invoices for s in p.source_ids]
    assert len(sources) == len(set(sources)) == MAX_LINES + 1


def test_work_of_two_engagements_never_shares_an_invoice() -> None:
    items = [_item(n, "extras-a" if n % 2 else "extras-b") for n in range(10)]
    plan = _plan(items, ["extras-a", "extras-b"])
    assert sorted(p.engagement_id for p in plan.invoices) == ["extras-a", "extras-b"]
    for planned in plan.invoices:
        assert {ln.source_ref for ln in planned.lines} == {
            f"work_item:{i.id}" for i in items if i.engagement_id == planned.engagement_id
        }
