"""One engagement at a glance: its client, its POs with usage and validity, its invoices, and
for an advance retainer the advance invoiced, used and available, over time.

A read-only use case composed of the existing reads (``queries.list_purchase_orders`` for PO
consumption, ``advances.advance_ledger`` for the actuals); the rules it adds are pure
functions here: when a PO counts as expiring soon, how full it is, and the available
advance balance at the end of each month.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from engagebill.domain.engagements import Engagement, RetainerMode
from engagebill.domain.money import Money
from engagebill.services import advances, queries
from engagebill.services.advances import Actual, AdvanceLedger, LedgerEntry
from engagebill.services.ports import Context, InvoiceFilter, InvoiceSummary
from engagebill.services.queries import PurchaseOrderUsage
from engagebill.services.reports import month_of

EXPIRING_DAYS = 30  # a PO that ends within this many days needs a new one asked for now
MAX_INVOICES = 100_000


@dataclass(frozen=True, slots=True)
class PoStanding:
    """A PO as the engagement page shows it."""

    usage: PurchaseOrderUsage
    days_left: int | None  # until valid_to; None without an end date
    expiring: bool  # valid today and ending within ``EXPIRING_DAYS``

    @property
    def used_share(self) -> Decimal | None:
        """Consumed / ceiling (0 to 1 and beyond when exceeded); None without a ceiling."""
        ceiling = self.usage.purchase_order.ceiling
        if ceiling is None or ceiling.amount <= 0:
            return None
        return self.usage.consumed.amount / ceiling.amount


@dataclass(frozen=True, slots=True)
class MonthBalance:
    month: str  # 2025-03
    available: Money  # at the end of the month (or on ``as_of`` for the current one)


@dataclass(frozen=True, slots=True)
class EngagementOverview:
    engagement: Engagement
    client_name: str
    as_of: date
    purchase_orders: list[PoStanding]
    invoices: list[InvoiceSummary]  # newest first
    ledger: AdvanceLedger | None  # advance retainers only
    balance_by_month: list[MonthBalance]

    @property
    def is_advance(self) -> bool:
        return self.engagement.retainer_mode is RetainerMode.ADVANCE


def po_standing(usage: PurchaseOrderUsage, as_of: date) -> PoStanding:
    valid_to = usage.purchase_order.valid_to
    days_left = None if valid_to is None else (valid_to - as_of).days
    expiring = (
        days_left is not None and 0 <= days_left <= EXPIRING_DAYS and usage.validity == "valid"
    )
    return PoStanding(usage, days_left, expiring)


def _months(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def balance_by_month(
    entries: Iterable[LedgerEntry], currency: str, as_of: date
) -> list[MonthBalance]:
    """The available advance at the end of every month from the first movement to ``as_of``:
    invoiced adds, used and refunded take away (billed and unbilled work do not move it)."""
    moves: dict[str, Money] = {}
    sign = {Actual.INVOICED: 1, Actual.USED: -1, Actual.REFUNDED: -1}
    for entry in entries:
        if entry.actual not in sign:
            continue
        month = month_of(entry.on)
        change = entry.amount if sign[entry.actual] > 0 else -entry.amount
        moves[month] = moves.get(month, Money.zero(currency)) + change
    if not moves:
        return []
    first = min(moves)
    start = date(int(first[:4]), int(first[5:]), 1)
    running, series = Money.zero(currency), []
    for month in _months(start, as_of):
        running += moves.get(month, Money.zero(currency))
        series.append(MonthBalance(month, running))
    return series


def engagement_overview(
    ctx: Context, *, organization_id: str, engagement_id: str, as_of: date | None = None
) -> EngagementOverview:
    """The engagement page: ``engagement.not_found`` when not this organization's."""
    day = as_of or ctx.clock.today()
    engagement = queries.get_engagement(
        ctx, organization_id=organization_id, engagement_id=engagement_id
    )
    client = queries.get_client(
        ctx, organization_id=organization_id, client_id=engagement.client_id
    )
    usages = queries.list_purchase_orders(
        ctx, organization_id=organization_id, engagement_id=engagement_id, limit=None
    )
    invoices = queries.list_invoices(
        ctx,
        organization_id=organization_id,
        query=InvoiceFilter(engagement_id=engagement_id, limit=MAX_INVOICES),
    )
    ledger = None
    series: list[MonthBalance] = []
    if engagement.retainer_mode is RetainerMode.ADVANCE:
        ledger = advances.advance_ledger(
            ctx, organization_id=organization_id, engagement_id=engagement_id, as_of=day
        )
        series = balance_by_month(ledger.entries, engagement.currency, day)
    return EngagementOverview(
        engagement=engagement,
        client_name=client.name,
        as_of=day,
        purchase_orders=[po_standing(u, day) for u in usages],
        invoices=invoices,
        ledger=ledger,
        balance_by_month=series,
    )
