"""Reports: revenue by month, client, engagement kind and currency (a chart drawn on the
server, the table, a CSV export), and receivables aging per currency.

Both read ``services.reports``; this module only arranges the report's rows for the chart
(one chart per currency: amounts in different currencies never share an axis) and writes
the CSV.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from engagebill.domain.engagements import EngagementKind
from engagebill.domain.errors import ValidationError
from engagebill.entrypoints.web.agency import charts
from engagebill.entrypoints.web.agency.forms import parse_day
from engagebill.entrypoints.web.agency.pages import protected_router, render, with_query
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of
from engagebill.services import reports
from engagebill.services.reports import AgingBucket, RevenueReport

router = protected_router()

KIND_LABELS = {
    EngagementKind.RETAINER: "Retainer",
    EngagementKind.FIXED_PRICE: "Fixed price",
    EngagementKind.TIME_AND_MATERIAL: "Time and material",
}
BUCKET_LABELS = {
    AgingBucket.CURRENT: "Current",
    AgingBucket.DAYS_1_30: "1–30 days",
    AgingBucket.DAYS_31_60: "31–60 days",
    AgingBucket.DAYS_61_90: "61–90 days",
    AgingBucket.OVER_90: "Over 90 days",
}
MONTHS_SHOWN = 12  # the default range: this month and the eleven before it
MAX_MONTHS = 120  # a chart of more bars than this is unreadable anyway


@dataclass(frozen=True, slots=True)
class CurrencyChart:
    """One currency's revenue: net per month and engagement kind, drawn and tabled."""

    currency: str
    months: list[str]
    kinds: list[EngagementKind]
    net: dict[tuple[str, EngagementKind], Decimal]
    svg: Markup

    def month_total(self, month: str) -> Decimal:
        return sum((self.net.get((month, k), Decimal(0)) for k in self.kinds), Decimal(0))


def months_between(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def revenue_charts(report: RevenueReport) -> list[CurrencyChart]:
    months = months_between(report.date_from, report.date_to)
    found: list[CurrencyChart] = []
    for currency in sorted({r.currency for r in report.rows}):
        net: dict[tuple[str, EngagementKind], Decimal] = {}
        for r in report.rows:
            if r.currency == currency:
                key = (r.month, r.engagement_kind)
                net[key] = net.get(key, Decimal(0)) + r.net.amount
        kinds = [k for k in EngagementKind if any(kind == k for _, kind in net)]
        svg = charts.stacked_bars(
            chart_id=f"revenue-chart-{currency.lower()}",
            title=f"Net revenue by month, {currency}, stacked by engagement kind",
            description=f"Net invoiced less credited in {currency} per month from {months[0]} "
            f"to {months[-1]}, one bar per month, stacked by engagement kind. The table "
            "below has the same numbers.",
            categories=months,
            series=[
                charts.Series(
                    k.value, KIND_LABELS[k], [net.get((m, k), Decimal(0)) for m in months]
                )
                for k in kinds
            ],
        )
        found.append(CurrencyChart(currency, months, kinds, net, svg))
    return found


def _range(request: Request, date_from: str, date_to: str) -> tuple[date, date]:
    """The report's range from the query; by default the last twelve months to today."""
    today = context_of(request).clock.today()
    first = parse_day(date_from, "From")
    last = parse_day(date_to, "To") or today
    if first is None:
        index = last.year * 12 + last.month - 1 - (MONTHS_SHOWN - 1)
        first = date(index // 12, index % 12 + 1, 1)
    if len(months_between(first, last)) > MAX_MONTHS:
        raise ValidationError(f"choose at most {MAX_MONTHS} months", code="report.range_too_long")
    return first, last


@router.get("/reports", name="app.reports", response_class=HTMLResponse)
def reports_page(
    request: Request, signed_in: CurrentUser, date_from: str = "", date_to: str = ""
) -> HTMLResponse:
    ctx = context_of(request)
    error = ""
    try:
        first, last = _range(request, date_from, date_to)
        revenue = reports.revenue(
            ctx, organization_id=signed_in.organization_id, date_from=first, date_to=last
        )
    except ValidationError as refused:
        # A hand-edited address: show the default range and say what was not understood.
        error = refused.message
        first, last = _range(request, "", "")
        revenue = reports.revenue(
            ctx, organization_id=signed_in.organization_id, date_from=first, date_to=last
        )
    aging = reports.receivables_aging(ctx, organization_id=signed_in.organization_id)
    return render(
        request,
        "app/reports.html",
        status=422 if error else 200,
        title="Reports",
        revenue=revenue,
        charts=revenue_charts(revenue),
        aging=aging,
        date_from=first,
        date_to=last,
        csv_url=with_query(
            "/reports/revenue.csv", date_from=first.isoformat(), date_to=last.isoformat()
        ),
        KIND_LABELS=KIND_LABELS,
        BUCKETS=list(AgingBucket),
        BUCKET_LABELS=BUCKET_LABELS,
        error=error,
    )


CSV_COLUMNS = (
    "month",
    "client_id",
    "client",
    "engagement_kind",
    "currency",
    "invoiced",
    "credited",
    "net",
)


@router.get("/reports/revenue.csv", name="app.revenue_csv")
def revenue_csv(
    request: Request, signed_in: CurrentUser, date_from: str = "", date_to: str = ""
) -> Response:
    """The revenue report's rows, amounts as plain decimals (no grouping, dot separator)."""
    first, last = _range(request, date_from, date_to)
    report = reports.revenue(
        context_of(request),
        organization_id=signed_in.organization_id,
        date_from=first,
        date_to=last,
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in report.rows:
        writer.writerow(
            [
                r.month,
                r.client_id,
                _cell(r.client_name),
                r.engagement_kind.value,
                r.currency,
                r.invoiced.decimal_string(),
                r.credited.decimal_string(),
                r.net.decimal_string(),
            ]
        )
    filename = f"revenue-{first.isoformat()}-to-{last.isoformat()}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _cell(text: str) -> str:
    """A name that a spreadsheet would run as a formula is written as text (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
