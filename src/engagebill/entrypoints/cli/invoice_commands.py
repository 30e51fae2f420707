"""CLI commands for invoices: draft, edit, send, list, show, and the rest of the lifecycle."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from engagebill.domain.engagement_account import InvoicePosition
from engagebill.domain.errors import ValidationError
from engagebill.domain.invoices import Invoice
from engagebill.domain.lifecycle import InvoiceState
from engagebill.entrypoints.cli.common import (
    LINE_HELP,
    console,
    handle_errors,
    parse_date,
    parse_line_option,
    print_json,
    state,
)
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import invoicing, queries, recipient, settlement
from engagebill.services.ports import InvoiceFilter

invoice_app = typer.Typer(
    help="Invoices: draft, send, and follow them to payment.", no_args_is_help=True
)

Lines = Annotated[list[str] | None, typer.Option("--line", help=LINE_HELP)]


def _summary(invoice: Invoice) -> str:
    totals = invoice.totals()
    number = invoice.number or "(draft, no number yet)"
    return (
        f"{number} v{invoice.version} {invoice.state.value} {totals.gross.format()} [{invoice.id}]"
    )


def position_lines(position: InvoicePosition) -> list[str]:
    """An invoice's place in the engagement account, as ``invoice show`` prints it."""
    lines = [
        f"gross {position.gross.format()}  drawn from advance {position.drawn.format()}  "
        f"credited {position.credited.format()}  paid {position.paid.format()}  "
        f"outstanding {position.outstanding.format()}"
    ]
    if not position.credit_balance.is_zero():
        lines.append(f"credit balance {position.credit_balance.format()} (refundable)")
    return lines


def position_json(position: InvoicePosition) -> dict[str, str]:
    """An invoice's position for ``--json``: decimal strings in the invoice's currency."""
    return {
        "gross": position.gross.decimal_string(),
        "drawn": position.drawn.decimal_string(),
        "credited": position.credited.decimal_string(),
        "paid": position.paid.decimal_string(),
        "outstanding": position.outstanding.decimal_string(),
        "credit_balance": position.credit_balance.decimal_string(),
        "payment_status": position.status.value,
    }


def _warn(warnings: list[Any]) -> None:
    for warning in warnings:
        console.print(f"warning: {warning.message} [{warning.code}]", markup=False)


@invoice_app.command("create")
@handle_errors
def invoice_create(
    engagement: Annotated[str, typer.Option(help="Engagement id")],
    line: Lines = None,
    issue_date: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default today)")] = None,
    po: Annotated[str | None, typer.Option(help="PO id (default: the engagement's)")] = None,
    notes: Annotated[str, typer.Option()] = "",
    org: Org = None,
) -> None:
    """Create a draft invoice on one engagement."""
    kwargs: dict[str, Any] = {}
    if po is not None:
        kwargs["purchase_order_id"] = po
    result = invoicing.create_draft(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        lines=[parse_line_option(x) for x in line or []],
        issue_date=parse_date(issue_date, "issue-date"),
        notes=notes,
        **kwargs,
    )
    console.print(f"created draft {_summary(result.invoice)}", markup=False)
    _warn(result.warnings)


@invoice_app.command("edit")
@handle_errors
def invoice_edit(
    invoice_id: Annotated[str, typer.Argument(help="Invoice id")],
    line: Lines = None,
    issue_date: Annotated[str | None, typer.Option()] = None,
    po: Annotated[str | None, typer.Option(help="PO id, or 'none' to remove it")] = None,
    notes: Annotated[str | None, typer.Option()] = None,
    org: Org = None,
) -> None:
    """Edit a draft: replace its lines (if any --line is given), date, PO or notes."""
    kwargs: dict[str, Any] = {}
    if po is not None:
        kwargs["purchase_order_id"] = None if po.lower() == "none" else po
    result = invoicing.edit_draft(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        lines=[parse_line_option(x) for x in line] if line else None,
        issue_date=parse_date(issue_date, "issue-date"),
        notes=notes,
        **kwargs,
    )
    console.print(f"updated draft {_summary(result.invoice)}", markup=False)
    _warn(result.warnings)


@invoice_app.command("send")
@handle_errors
def invoice_send(
    invoice_id: Annotated[str, typer.Argument(help="Invoice id")],
    override_reason: Annotated[
        str,
        typer.Option(
            help="Send despite an expired PO or exceeded ceiling, for this recorded reason"
        ),
    ] = "",
    org: Org = None,
) -> None:
    """Send a draft: it takes its number now."""
    invoice = invoicing.send_invoice(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        override_reason=override_reason,
    )
    console.print(f"sent {_summary(invoice)}", markup=False)


@invoice_app.command("list")
@handle_errors
def invoice_list(
    state_filter: Annotated[
        list[str] | None, typer.Option("--state", help="Filter by state")
    ] = None,
    client: Annotated[str | None, typer.Option(help="Client id")] = None,
    engagement: Annotated[str | None, typer.Option(help="Engagement id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    org: Org = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List invoices, newest first, with their lifecycle state."""
    try:
        states = [InvoiceState(s) for s in state_filter or []]
    except ValueError:
        raise ValidationError(
            f"state must be one of {', '.join(s.value for s in InvoiceState)}",
            code="validation.invalid_state",
        ) from None
    rows = queries.list_invoices(
        state.app().ctx,
        organization_id=state.organization_id(org),
        query=InvoiceFilter(states=states, client_id=client, engagement_id=engagement, limit=limit),
    )
    if json_output:
        print_json(
            {
                "invoices": [
                    {
                        "id": r.id,
                        "number": r.number,
                        "version": r.version,
                        "state": r.state.value,
                        "client": r.client_name,
                        "engagement": r.engagement_name,
                        "po_number": r.po_number,
                        "currency": r.currency,
                        **position_json(r.position),
                        "issue_date": r.issue_date.isoformat(),
                        "due_date": r.due_date.isoformat(),
                        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                    }
                    for r in rows
                ]
            }
        )
        return
    table = Table(
        "number", "v", "state", "client", "engagement", "PO", "amount", "issued", "due", "id"
    )
    for r in rows:
        table.add_row(
            r.number or "(draft)",
            str(r.version),
            r.state.value,
            r.client_name,
            r.engagement_name,
            r.po_number or "-",
            r.gross.format(),
            r.issue_date.isoformat(),
            r.due_date.isoformat(),
            r.id,
        )
    console.print(table)


@invoice_app.command("show")
@handle_errors
def invoice_show(invoice_id: Annotated[str, typer.Argument()], org: Org = None) -> None:
    """Show an invoice: current version, lines, VAT breakdown, totals and events."""
    detail = queries.get_invoice(
        state.app().ctx, organization_id=state.organization_id(org), invoice_id=invoice_id
    )
    inv = detail.invoice
    current = inv.current
    po = inv.effective_purchase_order()
    buyer = inv.effective_buyer()
    console.print(
        f"[bold]{inv.number or 'draft'}[/bold] version {inv.version} - "
        f"{inv.state.value} - {inv.payment_status.value}"
    )
    console.print(
        f"issued {current.issue_date}  due {current.due_date}  PO {po.number if po else '-'}",
        markup=False,
    )
    if buyer:
        console.print(
            f"bill to {buyer.name}, {', '.join(buyer.address.lines())}"
            f"{'  cost centre ' + buyer.cost_centre if buyer.cost_centre else ''}",
            markup=False,
        )
    table = Table("description", "qty", "unit", "price", "VAT", "net")
    for ln in current.lines:
        table.add_row(
            ln.description,
            str(ln.quantity),
            ln.unit,
            ln.unit_price.decimal_string(),
            f"{ln.vat_category.value} {ln.vat_rate}%",
            ln.net.decimal_string(),
        )
    console.print(table)
    totals = inv.totals()
    for group in totals.breakdown:
        console.print(
            f"VAT {group.category.value} {group.rate}% on "
            f"{group.taxable.format()}: {group.tax.format()}",
            markup=False,
        )
    console.print(
        f"net {totals.net.format()}  VAT {totals.vat.format()}  gross {totals.gross.format()}",
        markup=False,
    )
    for words in position_lines(inv.position):
        console.print(words, markup=False)
    for event in detail.events:
        console.print(f"  {event.occurred_at}  #{event.seq} {event.kind}", markup=False)


@invoice_app.command("approve")
@handle_errors
def invoice_approve(
    invoice_id: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="Approver's typed name")],
    org: Org = None,
) -> None:
    """Approve an invoice for payment on the recipient's behalf (typed name recorded)."""
    inv = recipient.approve_invoice(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        name=name,
    )
    console.print(f"approved {_summary(inv)}", markup=False)


@invoice_app.command("request-change")
@handle_errors
def invoice_request_change(
    invoice_id: Annotated[str, typer.Argument()],
    message: Annotated[str, typer.Option()],
    by: Annotated[str, typer.Option()] = "recipient",
    org: Org = None,
) -> None:
    """Record a change request from the recipient."""
    inv = recipient.request_change(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        message=message,
        by=by,
    )
    console.print(f"change requested on {_summary(inv)}", markup=False)


@invoice_app.command("revise")
@handle_errors
def invoice_revise(
    invoice_id: Annotated[str, typer.Argument()],
    line: Lines = None,
    notes: Annotated[str | None, typer.Option()] = None,
    org: Org = None,
) -> None:
    """Answer a change request with a new version under the same number."""
    inv = invoicing.revise_invoice(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        lines=[parse_line_option(x) for x in line] if line else None,
        notes=notes,
    )
    console.print(f"revised {_summary(inv)}", markup=False)


@invoice_app.command("amend")
@handle_errors
def invoice_amend(
    invoice_id: Annotated[str, typer.Argument()],
    po_number: Annotated[str | None, typer.Option()] = None,
    cost_centre: Annotated[str | None, typer.Option()] = None,
    by: Annotated[str, typer.Option()] = "recipient",
    org: Org = None,
) -> None:
    """Record an amendment (PO number, cost centre): same number, same version."""
    inv = recipient.amend_invoice(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        by=by,
        purchase_order_number=po_number,
        cost_centre=cost_centre,
    )
    console.print(f"amended {_summary(inv)}", markup=False)


@invoice_app.command("lock")
@handle_errors
def invoice_lock(invoice_id: Annotated[str, typer.Argument()], org: Org = None) -> None:
    """Lock an approved invoice."""
    inv = settlement.lock_invoice(
        state.app().ctx, organization_id=state.organization_id(org), invoice_id=invoice_id
    )
    console.print(f"locked {_summary(inv)}", markup=False)


@invoice_app.command("pay")
@handle_errors
def invoice_pay(
    invoice_id: Annotated[str, typer.Argument()],
    amount: Annotated[str, typer.Option(help="Amount received")],
    received_on: Annotated[str | None, typer.Option()] = None,
    reference: Annotated[str, typer.Option()] = "",
    org: Org = None,
) -> None:
    """Record a payment (partial payments are fine)."""
    inv = settlement.record_payment(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        amount=amount,
        received_on=parse_date(received_on, "received-on"),
        reference=reference,
    )
    console.print(
        f"recorded payment on {_summary(inv)}: {inv.payment_status.value}, "
        f"outstanding {inv.outstanding.format()}",
        markup=False,
    )


@invoice_app.command("credit")
@handle_errors
def invoice_credit(
    invoice_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option()],
    line: Lines = None,
    org: Org = None,
) -> None:
    """Issue a credit note; without --line it credits the rest of the invoice and voids it."""
    note = settlement.issue_credit_note(
        state.app().ctx,
        organization_id=state.organization_id(org),
        invoice_id=invoice_id,
        reason=reason,
        lines=[parse_line_option(x) for x in line] if line else None,
    )
    totals = note.totals()
    back = (
        f" ({totals.prepaid.format()} back to the advance, {totals.due.format()} to the client)"
        if not totals.prepaid.is_zero()
        else ""
    )
    console.print(
        f"issued credit note {note.number} for {totals.gross.format()}{back} "
        f"against {note.invoice_number} [{note.id}]",
        markup=False,
    )
