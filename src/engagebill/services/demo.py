"""The demo organization: both stories engagebill grew from, told through its own use cases.

Northwind Studio, a design agency in Amsterdam, bills three clients:

* Acme Retail (Berlin) through three engagements at once: a 10,000.00 monthly retainer sent
  on the first business day, a 60,000.00 website rebuild billed by milestone when signed off,
  and 14 hours on two extra landing pages approved by email, on a change-order invoice. Each
  engagement has its own PO.
* Globex (Rotterdam) on a managed-service agreement paid in advance: the advance is invoiced
  on its date, approved time draws it down, one invoice is billed without the draw-down.
* Initech (London): an invoice sent days ago and never opened, and one with a change request,
  so the chase list has something to say.

Everything happens on a story clock that walks through the last three months up to today, so
events, numbers and the hash chain are exactly what real use would have produced.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from engagebill.domain.errors import Conflict
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.schedules import FirstBusinessDay
from engagebill.services import (
    advances,
    billing_run,
    invoicing,
    parties,
    quotes,
    recipient,
    retainers,
    settlement,
    users,
    work,
)
from engagebill.services.lines import LineInput
from engagebill.services.ports import Context, InvoiceFilter, InvoiceSummary
from engagebill.services.queries import list_invoices

# The demo's sign-in to the agency's app; `engagebill demo` prints it.
DEMO_EMAIL = "demo@northwind.example"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - published on purpose: a demo


class StoryClock:
    """A clock the story sets; every reading moves on a little so events keep their order."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def at(self, day: date, hour: int = 10) -> None:
        wanted = datetime.combine(day, time(hour), tzinfo=UTC)
        self.moment = max(self.moment + timedelta(seconds=1), wanted)

    def now(self) -> datetime:
        self.moment += timedelta(milliseconds=137)
        return self.moment

    def today(self) -> date:
        return self.moment.date()


@dataclass(frozen=True, slots=True)
class DemoResult:
    organization_id: str
    invoices: int


def _month_start(day: date, back: int) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def load_demo(ctx: Context, *, today: date | None = None) -> DemoResult:
    """Create the demo organization with three months of history up to ``today``."""
    today = today or ctx.clock.today()
    this_month = _month_start(today, 0)
    two_back = _month_start(today, 2)
    clock = StoryClock(datetime.combine(two_back - timedelta(days=20), time(9), tzinfo=UTC))
    story = replace(ctx, clock=clock)
    first_business_day: FirstBusinessDay = ctx.calendars.first_business_day("NL")

    org = parties.create_organization(
        story,
        name="Northwind Studio",
        email="billing@northwind.example",
        iban="NL91ABNA0417164300",
        invoice_prefix="NW",
        seller=parties.EntityInput(
            legal_name="Northwind Studio B.V.",
            line1="Keizersgracht 123",
            city="Amsterdam",
            postal_code="1015 CJ",
            country_code="NL",
            tax_id="NL004495445B01",
        ),
    )
    o = org.id
    with suppress(Conflict):  # a second demo in one database keeps the first one's sign-in
        users.create_user(
            story,
            organization_id=o,
            email=DEMO_EMAIL,
            name="Demo Account Manager",
            password=DEMO_PASSWORD,
        )

    # --- Acme Retail: retainer, milestone project, change orders -----------------------------
    acme = parties.create_client(
        story,
        organization_id=o,
        name="Acme Retail",
        billing_entity=parties.EntityInput(
            legal_name="Acme Retail GmbH",
            line1="Friedrichstrasse 10",
            city="Berlin",
            postal_code="10117",
            country_code="DE",
            tax_id="DE136695976",
            cost_centre="MKT-100",
        ),
        contacts=[
            parties.ContactInput("Alex Meyer (Accounts Payable)", "ap@acme.example"),
            parties.ContactInput("Dana Scully", "dana.scully@acme.example"),
        ],
    )
    retainer = parties.create_engagement(
        story,
        organization_id=o,
        client_id=acme.id,
        name="Monthly retainer",
        kind="retainer",
        currency="EUR",
        net_days=15,
        auto_send=True,
        vat_category="AE",
        vat_rate="0",
    )
    parties.create_purchase_order(
        story,
        organization_id=o,
        engagement_id=retainer.id,
        number="4500012345",
        valid_from=date(today.year, 1, 1),
        valid_to=date(today.year, 12, 31),
        ceiling="120000.00",
    )
    retainers.create_schedule(
        story,
        organization_id=o,
        engagement_id=retainer.id,
        amount="10000.00",
        start_date=two_back,
        line_template="Monthly retainer, {month} {year}",
    )
    project = parties.create_engagement(
        story,
        organization_id=o,
        client_id=acme.id,
        name="Website rebuild",
        kind="fixed_price",
        currency="EUR",
        net_days=30,
        vat_category="AE",
        vat_rate="0",
    )
    parties.create_purchase_order(
        story, organization_id=o, engagement_id=project.id, number="4500012399", ceiling="60000.00"
    )
    extra = parties.create_engagement(
        story,
        organization_id=o,
        client_id=acme.id,
        name="Out-of-scope work",
        kind="time_and_material",
        currency="EUR",
        net_days=30,
        vat_category="AE",
        vat_rate="0",
    )
    parties.create_purchase_order(
        story,
        organization_id=o,
        engagement_id=extra.id,
        number="4500012400",
        valid_to=date(today.year, 12, 31),
    )

    quote = quotes.create_quote(
        story,
        organization_id=o,
        engagement_id=project.id,
        title="Website rebuild",
        items=[
            quotes.QuoteItemInput("Discovery and UX", "Research, site map, wireframes", "15000.00"),
            quotes.QuoteItemInput(
                "Design system sign-off", "Components, templates, style guide", "20000.00"
            ),
            quotes.QuoteItemInput(
                "Build and launch", "Development, content migration, launch", "25000.00"
            ),
        ],
    )
    quotes.send_quote(story, organization_id=o, quote_id=quote.id)
    clock.at(two_back - timedelta(days=12))
    quotes.accept_quote(story, organization_id=o, quote_id=quote.id, name="Dana Scully")

    # Two months back: the retainer goes out, milestone 1 is signed off, everything is paid.
    clock.at(first_business_day(two_back), 8)
    billing_run.execute_run(story, organization_id=o, as_of=clock.today())
    milestones = quotes.list_milestones(story, organization_id=o, engagement_id=project.id)
    clock.at(two_back + timedelta(days=17), 15)
    first = quotes.sign_off_milestone(
        story, organization_id=o, milestone_id=milestones[0].id, by="Dana Scully"
    )
    invoicing.send_invoice(story, organization_id=o, invoice_id=first.invoice.id)

    one_back = _month_start(today, 1)
    clock.at(first_business_day(one_back), 8)
    billing_run.execute_run(story, organization_id=o, as_of=clock.today())
    for row in _invoices(story, o, acme.id, InvoiceState.SENT):
        clock.at(row.issue_date + timedelta(days=2), 11)
        recipient.record_view(story, organization_id=o, invoice_id=row.id, viewer="ap@acme.example")
        recipient.approve_invoice(story, organization_id=o, invoice_id=row.id, name="Alex Meyer")
        clock.at(row.due_date - timedelta(days=1), 14)
        settlement.record_payment(
            story,
            organization_id=o,
            invoice_id=row.id,
            amount=row.gross.decimal_string(),
            received_on=clock.today(),
            reference="SEPA",
        )

    # This month: the retainer on the first business day, milestone 2 mid-month, and the
    # 14 hours on two landing pages at month end (or today, whichever comes first).
    clock.at(first_business_day(this_month), 8)
    billing_run.execute_run(story, organization_id=o, as_of=clock.today())
    mid = min(this_month + timedelta(days=13), today)
    clock.at(mid, 16)
    second = quotes.sign_off_milestone(
        story, organization_id=o, milestone_id=milestones[1].id, by="Dana Scully"
    )
    invoicing.send_invoice(story, organization_id=o, invoice_id=second.invoice.id)
    clock.at(min(mid + timedelta(days=1), today), 9)
    recipient.record_view(
        story, organization_id=o, invoice_id=second.invoice.id, viewer="dana.scully@acme.example"
    )
    recipient.amend_invoice(
        story,
        organization_id=o,
        invoice_id=second.invoice.id,
        by="Alex Meyer",
        cost_centre="WEB-2025",
    )
    recipient.approve_invoice(
        story, organization_id=o, invoice_id=second.invoice.id, name="Alex Meyer"
    )
    pages = [
        (3, "Sam Rivera", "6.5", "Landing page for the spring campaign: layout and build"),
        (4, "Sam Rivera", "3.0", "Landing page for the spring campaign: copy changes"),
        (8, "Jo Park", "4.5", "Landing page for the partner programme"),
    ]
    for offset, person, hours, text in pages:
        day = min(this_month + timedelta(days=offset), today)
        clock.at(day, 17)
        item = work.record_work_item(
            story,
            organization_id=o,
            engagement_id=extra.id,
            work_date=day,
            person=person,
            hours=hours,
            rate="150.00",
            description=text,
            requester="Dana Scully",
            approval_ref=f"https://mail.acme.example/thread/{offset:04d}-landing-pages",
        )
        work.approve_work_item(story, organization_id=o, work_item_id=item.id)

    # --- Globex: a managed-service agreement paid in advance -----------------------------------
    globex = parties.create_client(
        story,
        organization_id=o,
        name="Globex",
        billing_entity=parties.EntityInput(
            legal_name="Globex Nederland B.V.",
            line1="Coolsingel 40",
            city="Rotterdam",
            postal_code="3011 AD",
            country_code="NL",
            tax_id="NL004495445B01",
        ),
        contacts=[parties.ContactInput("Globex Finance", "finance@globex.example")],
    )
    msa = parties.create_engagement(
        story,
        organization_id=o,
        client_id=globex.id,
        name="Managed service agreement",
        kind="retainer",
        retainer_mode="advance",
        currency="EUR",
        net_days=14,
    )
    advance = retainers.create_advance(
        story,
        organization_id=o,
        engagement_id=msa.id,
        amount="12000.00",
        invoice_date=one_back + timedelta(days=4),
        description="Advance for managed services",
    )
    clock.at(one_back + timedelta(days=4), 9)
    advance_invoice = advances.invoice_advance(story, organization_id=o, advance_id=advance.id)
    invoicing.send_invoice(story, organization_id=o, invoice_id=advance_invoice.id)
    settlement.record_payment(
        story,
        organization_id=o,
        invoice_id=advance_invoice.id,
        amount=advance_invoice.totals().gross.decimal_string(),
        received_on=one_back + timedelta(days=10),
        reference="Globex",
    )
    for offset, hours in ((11, "12.0"), (18, "9.5")):
        clock.at(one_back + timedelta(days=offset), 17)
        item = work.record_work_item(
            story,
            organization_id=o,
            engagement_id=msa.id,
            work_date=one_back + timedelta(days=offset),
            person="Jo Park",
            hours=hours,
            rate="120.00",
            description="Platform maintenance and monitoring",
            requester="Globex IT",
            approval_ref="MSA schedule 2, approved timesheet",
        )
        work.approve_work_item(story, organization_id=o, work_item_id=item.id)
    # Last month's approved time is invoiced with the advance applied.
    clock.at(one_back + timedelta(days=25), 9)
    billing_run.execute_run(story, organization_id=o, as_of=clock.today())
    for row in _invoices(story, o, globex.id, InvoiceState.DRAFT):
        invoicing.send_invoice(story, organization_id=o, invoice_id=row.id)
    # This month's emergency work was agreed outside the advance: its draw-down is discarded.
    clock.at(min(this_month + timedelta(days=5), today), 17)
    item = work.record_work_item(
        story,
        organization_id=o,
        engagement_id=msa.id,
        work_date=clock.today(),
        person="Sam Rivera",
        hours="6.0",
        rate="120.00",
        description="Emergency security patching, billed outside the advance",
        requester="Globex IT",
        approval_ref="https://mail.globex.example/thread/patching",
    )
    work.approve_work_item(story, organization_id=o, work_item_id=item.id)
    billing_run.execute_run(story, organization_id=o, as_of=clock.today())
    for row in _invoices(story, o, globex.id, InvoiceState.DRAFT):
        advances.discard_advance(story, organization_id=o, invoice_id=row.id)
        invoicing.send_invoice(story, organization_id=o, invoice_id=row.id)

    # --- Initech: what the chase list is for ---------------------------------------------------
    initech = parties.create_client(
        story,
        organization_id=o,
        name="Initech",
        billing_entity=parties.EntityInput(
            legal_name="Initech Ltd",
            line1="1 Finsbury Square",
            city="London",
            postal_code="EC2A 1AE",
            country_code="GB",
        ),
        contacts=[parties.ContactInput("Initech Payables", "payables@initech.example")],
    )
    support = parties.create_engagement(
        story,
        organization_id=o,
        client_id=initech.id,
        name="Design support",
        kind="time_and_material",
        currency="GBP",
        net_days=30,
        vat_category="O",
        vat_rate="0",
    )
    for days_ago, text, request in (
        (6, "Brand refresh workshop", ""),
        (4, "Annual report layout", "Please split design and print management"),
    ):
        clock.at(today - timedelta(days=days_ago), 10)
        draft = invoicing.create_draft(
            story,
            organization_id=o,
            engagement_id=support.id,
            lines=[LineInput(text, "1", "2400.00", unit="C62", vat_category="O", vat_rate="0")],
        )
        invoicing.send_invoice(story, organization_id=o, invoice_id=draft.invoice.id)
        if request:
            clock.at(today - timedelta(days=days_ago - 1), 12)
            recipient.record_view(
                story,
                organization_id=o,
                invoice_id=draft.invoice.id,
                viewer="payables@initech.example",
            )
            recipient.request_change(
                story,
                organization_id=o,
                invoice_id=draft.invoice.id,
                message=request,
                by="Initech Payables",
            )
    return DemoResult(o, len(_invoices(story, o)))


def _invoices(
    ctx: Context,
    organization_id: str,
    client_id: str | None = None,
    state: InvoiceState | None = None,
) -> list[InvoiceSummary]:
    return list_invoices(
        ctx,
        organization_id=organization_id,
        query=InvoiceFilter(states=[state] if state else [], client_id=client_id, limit=10_000),
    )
