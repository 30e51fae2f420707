"""Property: over 24 months of random schedules, sign-offs and work, with runs skipped,
repeated or late, nothing is billed twice, nothing is missed, and the invoices add up to
exactly what was due.

The pure ``plan_billing`` is driven month by month; executing a plan is simulated the way the
database does it (billing keys taken, milestones invoiced, work items billed).
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engagebill.domain.billing import BillingInputs, plan_billing
from engagebill.domain.engagements import (
    Engagement,
    EngagementKind,
    PaymentTerms,
    RetainerMode,
)
from engagebill.domain.money import Money
from engagebill.domain.quotes import Milestone, MilestoneState
from engagebill.domain.schedules import Frequency, InvoiceDayRule, RetainerSchedule
from engagebill.domain.work import WorkItem, WorkState
from engagebill.services.ports import WeekdayCalendars

START = date(2025, 1, 1)
MONTHS = 24
NOW = datetime(2025, 1, 1, tzinfo=UTC)
FIRST_BUSINESS_DAY = WeekdayCalendars().first_business_day("NL")


def month_end(index: int) -> date:
    year, month = START.year + (index // 12), index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def engagement(eid: str, kind: EngagementKind) -> Engagement:
    return Engagement(
        id=eid,
        organization_id="org",
        client_id=f"cli-{eid}",
        name=eid,
        kind=kind,
        currency="EUR",
        terms=PaymentTerms(30),
        billing_entity_id="be",
        created_at=NOW,
        retainer_mode=RetainerMode.FEE if kind is EngagementKind.RETAINER else None,
    )


schedules_st = st.lists(
    st.tuples(
        st.sampled_from(list(Frequency)),
        st.sampled_from(["first_business_day", "day:1", "day:15", "day:31"]),
        st.integers(0, 20),  # start month
        st.one_of(st.none(), st.integers(0, 23)),  # months it runs, if it ends
        st.integers(1, 5_000_00),  # amount in cents
    ),
    max_size=4,
)
milestones_st = st.lists(
    st.tuples(st.integers(1, 3_000_000), st.one_of(st.none(), st.integers(0, 23))), max_size=5
)
work_st = st.lists(
    st.tuples(st.integers(0, 23), st.integers(1, 28), st.integers(1, 40), st.integers(0, 2)),
    max_size=25,
)
runs_st = st.lists(st.sampled_from(["run", "skip", "twice"]), min_size=MONTHS, max_size=MONTHS)


@settings(max_examples=150, deadline=None)
@given(schedules_st, milestones_st, work_st, runs_st)
def test_twenty_four_months_bill_everything_once(
    schedules, milestone_specs, work_specs, runs
) -> None:  # type: ignore[no-untyped-def]
    engagements = {
        "retainer": engagement("retainer", EngagementKind.RETAINER),
        "project": engagement("project", EngagementKind.FIXED_PRICE),
        "extras": engagement("extras", EngagementKind.TIME_AND_MATERIAL),
    }
    plans = []
    for n, (freq, rule, start, length, cents) in enumerate(schedules):
        begin = date(START.year + (start // 12), start % 12 + 1, 1)
        end = month_end(start + length) if length is not None else None
        plans.append(
            RetainerSchedule(
                id=f"rs{n}",
                organization_id="org",
                engagement_id="retainer",
                mode=RetainerMode.FEE,
                amount=Money.from_minor(cents, "EUR"),
                frequency=freq,
                invoice_day=InvoiceDayRule(rule),
                line_template="Retainer, {month} {year}",
                start_date=begin,
                created_at=NOW,
                end_date=end,
            )
        )
    milestones = [
        Milestone(
            id=f"m{n}",
            organization_id="org",
            engagement_id="project",
            quote_id="q",
            quote_number="Q-1",
            position=n + 1,
            name=f"M{n + 1}",
            description="",
            amount=Money.from_minor(cents, "EUR"),
            state=MilestoneState.PLANNED,
            created_at=NOW,
        )
        for n, (cents, _) in enumerate(milestone_specs)
    ]
    sign_off = {f"m{n}": month for n, (_, month) in enumerate(milestone_specs)}
    items = [
        WorkItem(
            id=f"w{n}",
            organization_id="org",
            engagement_id="extras",
            work_date=date(START.year + month // 12, month % 12 + 1, day),
            person="Sam",
            hours=Decimal(halves) / 2,
            rate=Money.from_minor(15000, "EUR"),
            description="Extra",
            requester="Dana",
            approval_ref="mail" if approval else "",
            state=WorkState.UNAPPROVED,
            created_at=NOW,
        )
        for n, (month, day, halves, approval) in enumerate(work_specs)
    ]

    billed_keys: list[str] = []
    billed_sources: list[str] = []
    billed_total = Money.zero("EUR")
    for month, mode in enumerate(runs):
        as_of = month_end(month)
        # What happened during the month: sign-offs and approvals.
        for i, m in enumerate(milestones):
            if sign_off[m.id] == month and m.state is MilestoneState.PLANNED:
                milestones[i] = replace(
                    m,
                    state=MilestoneState.SIGNED_OFF,
                    signed_off_by="Dana",
                    signed_off_at=datetime(as_of.year, as_of.month, 10, tzinfo=UTC),
                )
        for i, w in enumerate(items):
            if w.work_date <= as_of and w.state is WorkState.UNAPPROVED and w.approval_ref:
                items[i] = replace(w, state=WorkState.APPROVED)
        for _ in range({"run": 1, "skip": 0, "twice": 2}[mode]):
            plan = plan_billing(
                BillingInputs(
                    as_of=as_of,
                    engagements=engagements,
                    client_names={},
                    schedules=plans,
                    advances=[],
                    milestones=[m for m in milestones if m.state is MilestoneState.SIGNED_OFF],
                    work_items=[w for w in items if w.state is WorkState.APPROVED],
                    billed_keys=frozenset(billed_keys),
                    purchase_orders={},
                    po_consumed={},
                    advance_available={},
                    first_business_day=FIRST_BUSINESS_DAY,
                )
            )
            for planned in plan.invoices:
                assert planned.issue_date <= as_of
                billed_keys.append(planned.billing_key)
                billed_total += planned.totals().net
                for line in planned.lines:
                    assert line.source_ref is not None
                    billed_sources.append(line.source_ref)
                for i, m in enumerate(milestones):
                    if m.id in planned.source_ids:
                        milestones[i] = replace(m, state=MilestoneState.INVOICED)
                for i, w in enumerate(items):
                    if w.id in planned.source_ids:
                        items[i] = replace(w, state=WorkState.BILLED)

    # A final run catches up everything a skipped month left behind.
    final = month_end(MONTHS - 1)
    plan = plan_billing(
        BillingInputs(
            as_of=final,
            engagements=engagements,
            client_names={},
            schedules=plans,
            advances=[],
            milestones=[m for m in milestones if m.state is MilestoneState.SIGNED_OFF],
            work_items=[w for w in items if w.state is WorkState.APPROVED],
            billed_keys=frozenset(billed_keys),
            purchase_orders={},
            po_consumed={},
            advance_available={},
            first_business_day=FIRST_BUSINESS_DAY,
        )
    )
    for planned in plan.invoices:
        billed_keys.append(planned.billing_key)
        billed_total += planned.totals().net
        billed_sources += [ln.source_ref for ln in planned.lines if ln.source_ref]

    # Nothing twice.
    assert len(billed_keys) == len(set(billed_keys))
    assert len(billed_sources) == len(set(billed_sources))
    # Nothing missed, and the sum is exactly what was due.
    due = Money.zero("EUR")
    expected_sources = set()
    for schedule in plans:
        for period in schedule.due_periods(final, FIRST_BUSINESS_DAY):
            expected_sources.add(schedule.billing_key(period))
            due += schedule.amount
    for m in milestones:
        if sign_off[m.id] is not None:
            expected_sources.add(m.billing_key)
            due += m.amount
    for w in items:
        if w.approval_ref:
            expected_sources.add(w.source_ref)
            due += w.amount
    assert set(billed_sources) == expected_sources
    assert billed_total == due
