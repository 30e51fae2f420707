"""CLI commands for retainer schedules and advances: plan them, invoice, read the balance,
discard a draw-down, refund what is left. Each command parses, calls one use case, prints."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import Invoice
from engagebill.domain.money import Money
from engagebill.domain.schedules import RetainerSchedule
from engagebill.entrypoints.cli.common import (
    console,
    handle_errors,
    parse_date,
    print_json,
    state,
)
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import advances, retainers

retainer_app = typer.Typer(help="Retainer schedules and advances.", no_args_is_help=True)

Engagement = Annotated[str, typer.Option(help="Engagement id")]


def _required_date(value: str, name: str) -> date:
    day = parse_date(value, name)
    if day is None:
        raise ValidationError(f"{name} is required", code="validation.invalid_date")
    return day


def _invoice(invoice: Invoice) -> str:
    totals = invoice.totals()
    number = invoice.number or "(draft, no number yet)"
    return (
        f"{number} {invoice.kind.value} {invoice.state.value} gross {totals.gross.format()} "
        f"prepaid {totals.prepaid.format()} due {totals.due.format()} [{invoice.id}]"
    )


def _schedule_row(s: RetainerSchedule) -> dict[str, Any]:
    return {
        "id": s.id,
        "engagement_id": s.engagement_id,
        "mode": s.mode.value,
        "amount": s.amount.decimal_string(),
        "currency": s.amount.currency,
        "frequency": s.frequency.value,
        "invoice_day": s.invoice_day.text,
        "line_template": s.line_template,
        "start_date": s.start_date.isoformat(),
        "end_date": s.end_date.isoformat() if s.end_date else None,
        "active": s.active,
    }


@retainer_app.command("schedule")
@handle_errors
def retainer_schedule(
    engagement: Engagement,
    amount: Annotated[str, typer.Option(help="Amount per period (net)")],
    start: Annotated[str, typer.Option(help="First period's date, YYYY-MM-DD")],
    frequency: Annotated[str, typer.Option(help="monthly, quarterly or yearly")] = "monthly",
    invoice_day: Annotated[
        str, typer.Option(help="first_business_day or day:N (the Nth of the month)")
    ] = "first_business_day",
    template: Annotated[
        str, typer.Option(help="Line text: {month} {month_short} {year} {quarter} ...")
    ] = "Monthly retainer, {month} {year}",
    end: Annotated[str | None, typer.Option(help="Last date covered, YYYY-MM-DD")] = None,
    org: Org = None,
) -> None:
    """Plan a retainer: an invoice each period, on its invoice day (advance mode tops up)."""
    schedule = retainers.create_schedule(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        amount=amount,
        start_date=_required_date(start, "start"),
        frequency=frequency,
        invoice_day=invoice_day,
        line_template=template,
        end_date=parse_date(end, "end"),
    )
    console.print(
        f"created {schedule.mode.value} schedule {schedule.amount.format()} "
        f"{schedule.frequency.value} on {schedule.invoice_day.text} [{schedule.id}]",
        markup=False,
    )


@retainer_app.command("schedules")
@handle_errors
def retainer_schedules(
    engagement: Annotated[str | None, typer.Option(help="Only this engagement")] = None,
    org: Org = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List retainer schedules, ended ones included."""
    org_id = state.organization_id(org)
    with state.app().ctx.uow() as uow:
        schedules = uow.retainers.schedules(org_id, engagement, active_only=False)
    rows = [_schedule_row(s) for s in schedules]
    if json_output:
        print_json({"schedules": rows})
        return
    table = Table("id", "mode", "amount", "frequency", "invoice day", "from", "to", "state")
    for r in rows:
        table.add_row(
            r["id"],
            r["mode"],
            f"{r['amount']} {r['currency']}",
            r["frequency"],
            r["invoice_day"],
            r["start_date"],
            r["end_date"] or "-",
            "active" if r["active"] else "ended",
        )
    console.print(table)


@retainer_app.command("end")
@handle_errors
def retainer_end(
    schedule_id: Annotated[str, typer.Argument(help="Schedule id")], org: Org = None
) -> None:
    """End a schedule: no further periods are invoiced; issued invoices stay."""
    retainers.end_schedule(
        state.app().ctx, organization_id=state.organization_id(org), schedule_id=schedule_id
    )
    console.print(f"ended schedule [{schedule_id}]", markup=False)


@retainer_app.command("advance")
@handle_errors
def retainer_advance(
    engagement: Engagement,
    amount: Annotated[str, typer.Option(help="Advance amount (net)")],
    invoice_date: Annotated[str, typer.Option(help="Invoiced on or after, YYYY-MM-DD")],
    description: Annotated[str, typer.Option()] = "Advance payment",
    org: Org = None,
) -> None:
    """Record a one-off advance, ready for invoicing from its invoice date."""
    advance = retainers.create_advance(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        amount=amount,
        invoice_date=_required_date(invoice_date, "invoice-date"),
        description=description,
    )
    console.print(
        f"created advance {advance.amount.format()} invoiced from "
        f"{advance.invoice_date.isoformat()} [{advance.id}]",
        markup=False,
    )


@retainer_app.command("invoice-advance")
@handle_errors
def retainer_invoice_advance(
    advance_id: Annotated[str, typer.Argument(help="Advance id")],
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    org: Org = None,
) -> None:
    """Invoice an advance now (a draft); refused before its invoice date."""
    invoice = advances.invoice_advance(
        state.app().ctx,
        organization_id=state.organization_id(org),
        advance_id=advance_id,
        as_of=parse_date(as_of, "as-of"),
    )
    console.print(f"created draft {_invoice(invoice)}", markup=False)


@retainer_app.command("balance")
@handle_errors
def retainer_balance(
    engagement: Engagement,
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    org: Org = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The advance as of a date: invoiced, used (drawn and reserved), available, and the
    actuals behind them."""
    ctx = state.app().ctx
    ledger = advances.advance_ledger(
        ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        as_of=parse_date(as_of, "as-of") or ctx.clock.today(),
    )
    balance = ledger.balance
    if json_output:
        print_json(
            {
                "engagement_id": ledger.engagement_id,
                "as_of": ledger.as_of.isoformat(),
                "currency": balance.currency,
                "invoiced": balance.invoiced.decimal_string(),
                "used": balance.used.decimal_string(),
                "drawn": balance.drawn.decimal_string(),
                "reserved": balance.reserved.decimal_string(),
                "refunded": balance.refunded.decimal_string(),
                "available": balance.available.decimal_string(),
                "entries": [
                    {
                        "actual": e.actual.value,
                        "date": e.on.isoformat(),
                        "reference": e.reference,
                        "description": e.description,
                        "amount": e.amount.decimal_string(),
                        "id": e.document_id,
                    }
                    for e in ledger.entries
                ],
            }
        )
        return
    console.print(
        f"as of {ledger.as_of.isoformat()}: invoiced {balance.invoiced.format()}  "
        f"used {balance.used.format()} (drawn {balance.drawn.format()}, reserved "
        f"{balance.reserved.format()})  refunded {balance.refunded.format()}  "
        f"available {balance.available.format()}",
        markup=False,
    )
    table = Table("date", "actual", "reference", "description", "net")
    for e in ledger.entries:
        table.add_row(
            e.on.isoformat(), e.actual.value, e.reference or "-", e.description, e.amount.format()
        )
    console.print(table)


@retainer_app.command("refund")
@handle_errors
def retainer_refund(
    engagement: Engagement,
    reason: Annotated[str, typer.Option()] = advances.REFUND_REASON,
    org: Org = None,
) -> None:
    """Refund the unused advance by credit notes against the advance invoices."""
    notes = advances.refund_advance(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        reason=reason,
    )
    for note in notes:
        console.print(
            f"issued credit note {note.number} for {note.totals().gross.format()} "
            f"(net {note.totals().net.format()}) against {note.invoice_number} [{note.id}]",
            markup=False,
        )
    if notes:
        total = Money.sum((n.totals().net for n in notes), notes[0].currency)
        console.print(f"refunded {total.format()} (net)", markup=False)


@retainer_app.command("discard")
@handle_errors
def retainer_discard(
    invoice_id: Annotated[str, typer.Argument(help="Draft invoice id")], org: Org = None
) -> None:
    """Bill a draft normally: drop its draw-down on the advance (used 0.00)."""
    invoice = advances.discard_advance(
        state.app().ctx, organization_id=state.organization_id(org), invoice_id=invoice_id
    )
    console.print(f"discarded the advance on {_invoice(invoice)}", markup=False)


@retainer_app.command("apply")
@handle_errors
def retainer_apply(
    invoice_id: Annotated[str, typer.Argument(help="Draft invoice id")], org: Org = None
) -> None:
    """Draw a draft down on the available advance again (undoes a discard)."""
    invoice = advances.apply_advance(
        state.app().ctx, organization_id=state.organization_id(org), invoice_id=invoice_id
    )
    console.print(f"applied the advance on {_invoice(invoice)}", markup=False)
