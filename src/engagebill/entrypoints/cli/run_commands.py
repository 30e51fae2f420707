"""``engagebill run``: the month-end billing run, as a plan, as JSON, executed, or a month."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from engagebill.domain.billing import PlannedInvoice
from engagebill.entrypoints.cli.common import console, parse_date, print_json, state
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import billing_run
from engagebill.services.ports import InvoiceSummary


def planned_json(planned: PlannedInvoice, number: str) -> dict[str, Any]:
    totals = planned.totals()
    return {
        "number": number,
        "billing_key": planned.billing_key,
        "purpose": planned.purpose.value,
        "kind": planned.kind.value,
        "client_id": planned.client_id,
        "client": planned.client_name,
        "engagement_id": planned.engagement_id,
        "engagement": planned.engagement_name,
        "purchase_order": planned.purchase_order.number if planned.purchase_order else None,
        "quote_reference": planned.quote_reference or None,
        "issue_date": planned.issue_date.isoformat(),
        "currency": planned.currency,
        "lines": [
            {
                "description": ln.description,
                "quantity": str(ln.quantity),
                "unit": ln.unit,
                "unit_price": ln.unit_price.decimal_string(),
                "net": ln.net.decimal_string(),
                "service_date": ln.service_date.isoformat() if ln.service_date else None,
                "person": ln.person,
                "requester": ln.requester,
                "approval_ref": ln.approval_ref,
            }
            for ln in planned.lines
        ],
        "net": totals.net.decimal_string(),
        "vat": totals.vat.decimal_string(),
        "gross": totals.gross.decimal_string(),
        "prepaid": totals.prepaid.decimal_string(),
        "due": totals.due.decimal_string(),
        "auto_send": planned.auto_send,
        "warnings": [{"code": w.code, "message": w.message} for w in planned.warnings],
    }


def _plan_table(view: billing_run.PlanView, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in (
        "client",
        "engagement",
        "what",
        "number if sent",
        "PO",
        "issued",
        "lines",
        "total",
        "warnings",
    ):
        table.add_column(column)
    for planned, number in view.rows():
        totals = planned.totals()
        total = totals.gross.format()
        if not totals.prepaid.is_zero():
            total += f" (due {totals.due.format()})"
        table.add_row(
            planned.client_name,
            planned.engagement_name,
            planned.purpose.value,
            number,
            planned.purchase_order.number if planned.purchase_order else "-",
            planned.issue_date.isoformat(),
            str(len(planned.lines)),
            total,
            "; ".join(w.message for w in planned.warnings),
        )
    return table


def _issued_table(rows: list[InvoiceSummary], title: str) -> Table:
    table = Table(
        "client",
        "number",
        "v",
        "state",
        "engagement",
        "PO",
        "issued",
        "total",
        title=title,
        title_justify="left",
    )
    for r in rows:
        table.add_row(
            r.client_name,
            r.number or "(draft)",
            str(r.version),
            r.state.value,
            r.engagement_name,
            r.po_number or "-",
            r.issue_date.isoformat(),
            r.gross.format(),
        )
    return table


def run(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Plan as of YYYY-MM-DD (default today)")
    ] = None,
    month: Annotated[
        str | None, typer.Option(help="Answer a whole month, YYYY-MM: issued and still due")
    ] = None,
    execute: Annotated[bool, typer.Option("--execute", help="Create the invoices")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    org: Org = None,
) -> None:
    """The billing run: how many invoices go out, with what numbers, under whose PO."""
    ctx = state.app().ctx
    org_id = state.organization_id(org)
    if month is not None:
        _month(org_id, month, json_output)
        return
    day: date = parse_date(as_of, "as-of") or ctx.clock.today()
    if execute:
        _execute(org_id, day, json_output)
        return
    view = billing_run.plan_run(ctx, organization_id=org_id, as_of=day)
    if json_output:
        print_json(
            {
                "as_of": day.isoformat(),
                "count": len(view.plan.invoices),
                "invoices": [planned_json(p, n) for p, n in view.rows()],
                "notices": [{"code": w.code, "message": w.message} for w in view.plan.notices],
            }
        )
        return
    if view.plan.is_empty():
        console.print(f"nothing to bill as of {day.isoformat()}", markup=False)
    else:
        console.print(_plan_table(view, f"{len(view.plan.invoices)} invoice(s) as of {day}"))
        console.print("numbers are those the invoices get if sent in this order", markup=False)
    for notice in view.plan.notices:
        console.print(f"notice: {notice.message} [{notice.code}]", markup=False)


def _execute(org_id: str, day: date, json_output: bool) -> None:
    ctx = state.app().ctx
    with Progress(
        TextColumn("billing run"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=json_output,
    ) as progress:
        task = progress.add_task("run", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = billing_run.execute_run(ctx, organization_id=org_id, as_of=day, progress=advance)
    if json_output:
        print_json(
            {
                "as_of": day.isoformat(),
                "created": [
                    {
                        "id": i.id,
                        "billing_key": i.billing_key,
                        "state": i.state.value,
                        "number": i.number,
                    }
                    for i in result.created
                ],
                "sent": [i.id for i in result.sent],
                "skipped": result.skipped,
                "held": [{"invoice_id": i, "reason": r} for i, r in result.held],
            }
        )
        return
    console.print(
        f"created {len(result.created)} invoice(s), sent {len(result.sent)}"
        + (f", {len(result.skipped)} already billed by another run" if result.skipped else ""),
        markup=False,
    )
    for invoice in result.sent:
        console.print(f"  sent {invoice.number} [{invoice.id}]", markup=False)
    for invoice_id, reason in result.held:
        console.print(f"  kept as draft {invoice_id}: {reason}", markup=False)


def _month(org_id: str, month: str, json_output: bool) -> None:
    view = billing_run.month_overview(state.app().ctx, organization_id=org_id, month=month)
    if json_output:
        print_json(
            {
                "month": month,
                "issued": [
                    {
                        "client": r.client_name,
                        "number": r.number,
                        "version": r.version,
                        "state": r.state.value,
                        "engagement": r.engagement_name,
                        "purchase_order": r.po_number,
                        "issue_date": r.issue_date.isoformat(),
                        "gross": r.gross.decimal_string(),
                        "currency": r.currency,
                    }
                    for r in view.issued
                ],
                "due": [planned_json(p, n) for p, n in view.due.rows()],
            }
        )
        return
    console.print(_issued_table(view.issued, f"issued in {month}: {len(view.issued)}"))
    if view.due.plan.is_empty():
        console.print(f"nothing more due in {month}", markup=False)
    else:
        console.print(_plan_table(view.due, f"still due in {month}: {len(view.due.plan.invoices)}"))
