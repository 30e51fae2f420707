"""CLI commands that set up who is billed: organizations, clients, engagements and POs."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from engagebill.entrypoints.cli.common import (
    console,
    handle_errors,
    parse_date,
    print_json,
    state,
)
from engagebill.entrypoints.outputs import engagement_account_out, issued_invoices
from engagebill.services import delivery, parties
from engagebill.services.engagement_account import engagement_account

org_app = typer.Typer(help="Organizations: the agency that bills.", no_args_is_help=True)
client_app = typer.Typer(
    help="Clients, their billing entities and AP contacts.", no_args_is_help=True
)
engagement_app = typer.Typer(
    help="Engagements: retainer, fixed_price, time_and_material.", no_args_is_help=True
)
po_app = typer.Typer(help="Purchase orders of an engagement.", no_args_is_help=True)

Org = Annotated[
    str | None,
    typer.Option("--org", envvar="ENGAGEBILL_ORG", help="Organization id (default: the only one)."),
]


@org_app.command("create")
@handle_errors
def org_create(
    name: Annotated[str, typer.Option(help="Trading name")],
    legal_name: Annotated[str, typer.Option(help="Legal name printed on invoices")],
    address: Annotated[str, typer.Option(help="Street and number")],
    city: Annotated[str, typer.Option()],
    postal_code: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-2, e.g. NL")],
    email: Annotated[str, typer.Option(help="Billing email address")],
    tax_id: Annotated[str, typer.Option(help="VAT number")] = "",
    iban: Annotated[str, typer.Option()] = "",
    prefix: Annotated[str, typer.Option(help="Invoice number prefix")] = "INV",
    number_format: Annotated[str, typer.Option(help="Number format")] = (
        parties.DEFAULT_INVOICE_FORMAT
    ),
    credit_note_prefix: Annotated[str, typer.Option()] = "CN",
) -> None:
    """Create an organization with its invoice and credit-note number series."""
    org = parties.create_organization(
        state.app().ctx,
        name=name,
        email=email,
        iban=iban,
        invoice_prefix=prefix,
        invoice_format=number_format,
        credit_note_prefix=credit_note_prefix,
        credit_note_format=number_format,
        seller=parties.EntityInput(
            legal_name=legal_name,
            line1=address,
            city=city,
            postal_code=postal_code,
            country_code=country,
            tax_id=tax_id,
        ),
    )
    console.print(f"created organization {org.name} [{org.id}]", markup=False)


@org_app.command("list")
@handle_errors
def org_list(json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List organizations."""
    with state.app().ctx.uow() as uow:
        organizations = uow.organizations.list()
    if json_output:
        print_json(
            [{"id": o.id, "name": o.name, "legal_name": o.legal_name} for o in organizations]
        )
        return
    table = Table("id", "name", "legal name", "country")
    for o in organizations:
        table.add_row(o.id, o.name, o.legal_name, o.country_code)
    console.print(table)


@org_app.command("delivery")
@handle_errors
def org_delivery(
    attach_pdf: Annotated[
        bool | None,
        typer.Option("--attach-pdf/--no-attach-pdf", help="Attach the PDF to invoice emails"),
    ] = None,
    chase_after: Annotated[
        int | None,
        typer.Option(help="Chase an invoice still unopened after this many days (1 to 60)"),
    ] = None,
    overdue_reminders: Annotated[
        bool | None,
        typer.Option(
            "--overdue-reminders/--no-overdue-reminders", help="Remind about overdue invoices"
        ),
    ] = None,
    org: Org = None,
) -> None:
    """Show how the organization's emails go out, or change what is given."""
    ctx, organization_id = state.app().ctx, state.organization_id(org)
    if attach_pdf is None and chase_after is None and overdue_reminders is None:
        settings = delivery.delivery_settings(ctx, organization_id=organization_id)
    else:
        settings = delivery.update_delivery_settings(
            ctx,
            organization_id=organization_id,
            attach_pdf=attach_pdf,
            unopened_after_days=chase_after,
            overdue_reminders=overdue_reminders,
        )
    console.print(
        f"PDF attached to invoice emails: {'yes' if settings.attach_pdf else 'no'}; unopened "
        f"invoices chased after {settings.unopened_after_days} days; overdue reminders: "
        f"{'on' if settings.overdue_reminders else 'off'}",
        markup=False,
    )


@client_app.command("create")
@handle_errors
def client_create(
    name: Annotated[str, typer.Option()],
    legal_name: Annotated[str, typer.Option(help="Billing entity's legal name")],
    address: Annotated[str, typer.Option()],
    city: Annotated[str, typer.Option()],
    postal_code: Annotated[str, typer.Option()],
    country: Annotated[str, typer.Option()],
    tax_id: Annotated[str, typer.Option()] = "",
    cost_centre: Annotated[str, typer.Option()] = "",
    contact: Annotated[
        list[str] | None, typer.Option(help="AP contact as 'Name <email>'; repeat for more")
    ] = None,
    org: Org = None,
) -> None:
    """Create a client with its billing entity and AP contacts."""
    contacts = []
    for text in contact or []:
        name_part, _, email_part = text.partition("<")
        contacts.append(
            parties.ContactInput(
                name_part.strip() or email_part.rstrip(">"), email_part.rstrip(">").strip()
            )
        )
    client = parties.create_client(
        state.app().ctx,
        organization_id=state.organization_id(org),
        name=name,
        billing_entity=parties.EntityInput(
            legal_name=legal_name,
            line1=address,
            city=city,
            postal_code=postal_code,
            country_code=country,
            tax_id=tax_id,
            cost_centre=cost_centre,
        ),
        contacts=contacts,
    )
    console.print(f"created client {client.name} [{client.id}]", markup=False)


@client_app.command("list")
@handle_errors
def client_list(
    org: Org = None, json_output: Annotated[bool, typer.Option("--json")] = False
) -> None:
    """List clients with their current billing entity."""
    org_id = state.organization_id(org)
    with state.app().ctx.uow() as uow:
        clients = uow.clients.list(org_id)
    if json_output:
        print_json(
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "billing_entities": [e.legal_name for e in c.billing_entities],
                    "contacts": [x.email for x in c.contacts],
                }
                for c in clients
            ]
        )
        return
    table = Table("id", "name", "billing entity", "AP contacts")
    for c in clients:
        table.add_row(
            c.id,
            c.name,
            c.billing_entities[-1].legal_name if c.billing_entities else "",
            ", ".join(x.email for x in c.contacts),
        )
    console.print(table)


@engagement_app.command("create")
@handle_errors
def engagement_create(
    client: Annotated[str, typer.Option(help="Client id")],
    name: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="retainer, fixed_price or time_and_material")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")] = "EUR",
    net_days: Annotated[int, typer.Option(help="Payment terms: Net N days")] = 30,
    retainer_mode: Annotated[str | None, typer.Option(help="fee or advance")] = None,
    auto_send: Annotated[bool, typer.Option(help="Send its invoices automatically")] = False,
    org: Org = None,
) -> None:
    """Create an engagement: one billable agreement, one invoice stream."""
    engagement = parties.create_engagement(
        state.app().ctx,
        organization_id=state.organization_id(org),
        client_id=client,
        name=name,
        kind=kind,
        currency=currency,
        net_days=net_days,
        retainer_mode=retainer_mode,
        auto_send=auto_send,
    )
    console.print(
        f"created engagement {engagement.name} ({engagement.kind.value}, "
        f"{engagement.currency}, {engagement.terms}) [{engagement.id}]",
        markup=False,
    )


@engagement_app.command("list")
@handle_errors
def engagement_list(
    client: Annotated[str | None, typer.Option()] = None,
    org: Org = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List engagements."""
    org_id = state.organization_id(org)
    with state.app().ctx.uow() as uow:
        engagements = uow.engagements.list(org_id, client)
    if json_output:
        print_json(
            [
                {
                    "id": e.id,
                    "client_id": e.client_id,
                    "name": e.name,
                    "kind": e.kind.value,
                    "currency": e.currency,
                    "net_days": e.terms.net_days,
                }
                for e in engagements
            ]
        )
        return
    table = Table("id", "name", "kind", "currency", "terms")
    for e in engagements:
        table.add_row(e.id, e.name, e.kind.value, e.currency, str(e.terms))
    console.print(table)


@engagement_app.command("account")
@handle_errors
def engagement_account_show(
    engagement_id: Annotated[str, typer.Argument(help="Engagement id")],
    org: Org = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The engagement's account: the advance (invoiced, drawn, reserved, refunded, available;
    net) and each issued invoice's gross, drawn, credited, paid and outstanding (gross)."""
    account = engagement_account(
        state.app().ctx, organization_id=state.organization_id(org), engagement_id=engagement_id
    )
    if json_output:
        print_json(engagement_account_out(account).model_dump(mode="json"))
        return
    advance = account.advance
    console.print(
        f"advance (net): invoiced {advance.invoiced.format()}  drawn {advance.drawn.format()}  "
        f"reserved {advance.reserved.format()}  used {advance.used.format()}  "
        f"refunded {advance.refunded.format()}  available {advance.available.format()}",
        markup=False,
    )
    for invoice_id in issued_invoices(account):
        invoice, position = account.invoices[invoice_id], account.position(invoice_id)
        kind = " (advance)" if invoice.advance else ""
        credit = position.credit_balance
        refundable = "" if credit.is_zero() else f"  credit balance {credit.format()}"
        console.print(
            f"{invoice.number or '-'}{kind} {invoice.issue_date.isoformat()} "
            f"{invoice.state.value}, {position.status.value}: "
            f"gross {position.gross.format()}  drawn {position.drawn.format()}  "
            f"credited {position.credited.format()}  paid {position.paid.format()}  "
            f"outstanding {position.outstanding.format()}{refundable} [{invoice_id}]",
            markup=False,
        )
    totals = account.totals
    console.print(
        f"issued invoices (gross): invoiced {totals.invoiced.format()}  "
        f"drawn {totals.drawn.format()}  credited {totals.credited.format()}  "
        f"paid {totals.paid.format()}  outstanding {totals.outstanding.format()}  "
        f"credit balance {totals.credit_balance.format()}",
        markup=False,
    )


@po_app.command("create")
@handle_errors
def po_create(
    engagement: Annotated[str, typer.Option(help="Engagement id")],
    number: Annotated[str, typer.Option(help="The client's PO number")],
    valid_from: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    valid_to: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    ceiling: Annotated[str | None, typer.Option(help="Amount ceiling (net)")] = None,
    org: Org = None,
) -> None:
    """Record a PO on an engagement; it becomes the engagement's default PO."""
    po = parties.create_purchase_order(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        number=number,
        valid_from=parse_date(valid_from, "valid-from"),
        valid_to=parse_date(valid_to, "valid-to"),
        ceiling=ceiling,
    )
    console.print(f"created PO {po.number} [{po.id}]", markup=False)


@po_app.command("list")
@handle_errors
def po_list(engagement: Annotated[str | None, typer.Option()] = None, org: Org = None) -> None:
    """List POs with their validity, ceiling and consumption."""
    org_id = state.organization_id(org)
    with state.app().ctx.uow() as uow:
        pos = uow.purchase_orders.list(org_id, engagement)
        consumed = {po.id: uow.purchase_orders.consumed(org_id, po.id) for po in pos}
    table = Table("id", "number", "engagement", "valid", "ceiling", "consumed")
    for po in pos:
        valid = f"{po.valid_from or '…'} to {po.valid_to or '…'}"
        table.add_row(
            po.id,
            po.number,
            po.engagement_id,
            valid,
            po.ceiling.format() if po.ceiling else "-",
            consumed[po.id].format(),
        )
    console.print(table)
