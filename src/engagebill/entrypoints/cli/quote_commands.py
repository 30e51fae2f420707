"""CLI commands for quotes and milestones: offer, accept by typed name, sign off.

Thin: each command parses its options, calls one use case of ``services.quotes`` and prints
the result; errors are turned into one line by ``handle_errors``.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from engagebill.domain.errors import ValidationError
from engagebill.domain.quotes import Milestone, MilestoneState, Quote
from engagebill.entrypoints.cli.common import console, handle_errors, print_json, state
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import quotes
from engagebill.services.quotes import parse_item

quote_app = typer.Typer(
    help="Quotes and milestones: offer, accept by typed name, sign off.", no_args_is_help=True
)

ITEM_HELP = (
    "A milestone or mini-quote item as 'NAME|DESCRIPTION|AMOUNT', e.g. "
    "'Design system sign-off|Tokens, components and docs|20000.00'. Repeat for more items."
)
Items = Annotated[list[str] | None, typer.Option("--item", help=ITEM_HELP)]
Total = Annotated[str | None, typer.Option(help="The quote total; must equal the sum of the items")]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def _summary(quote: Quote) -> str:
    number = quote.number or "(draft, no number yet)"
    return (
        f"{number} v{quote.current.version} {quote.state.value} "
        f"{quote.current.total.format()} [{quote.id}]"
    )


def _quote_json(quote: Quote) -> dict[str, Any]:
    current = quote.current
    return {
        "id": quote.id,
        "number": quote.number,
        "engagement_id": quote.engagement_id,
        "state": quote.state.value,
        "version": current.version,
        "title": current.title,
        "currency": quote.currency,
        "total": current.total.decimal_string(),
        "content_hash": current.content_hash or None,
        "items": [
            {"name": i.name, "description": i.description, "amount": i.amount.decimal_string()}
            for i in current.items
        ],
        "accepted_by": quote.accepted_by or None,
        "accepted_at": quote.accepted_at.isoformat() if quote.accepted_at else None,
        "accepted_hash": quote.accepted_hash or None,
    }


def _milestone_json(m: Milestone) -> dict[str, Any]:
    return {
        "id": m.id,
        "engagement_id": m.engagement_id,
        "quote_number": m.quote_number,
        "position": m.position,
        "name": m.name,
        "description": m.description,
        "currency": m.amount.currency,
        "amount": m.amount.decimal_string(),
        "state": m.state.value,
        "signed_off_by": m.signed_off_by or None,
        "signed_off_at": m.signed_off_at.isoformat() if m.signed_off_at else None,
        "invoice_id": m.invoice_id,
    }


@quote_app.command("create")
@handle_errors
def quote_create(
    engagement: Annotated[str, typer.Option(help="Engagement id")],
    title: Annotated[str, typer.Option(help="Quote title, e.g. 'Website rebuild'")],
    item: Items = None,
    total: Total = None,
    org: Org = None,
) -> None:
    """Create a draft quote: milestones (fixed price) or a mini-quote (time and material)."""
    quote = quotes.create_quote(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        title=title,
        items=[parse_item(x) for x in item or []],
        total=total,
    )
    console.print(f"created quote {_summary(quote)}", markup=False)


@quote_app.command("revise")
@handle_errors
def quote_revise(
    quote_id: Annotated[str, typer.Argument(help="Quote id")],
    title: Annotated[str | None, typer.Option()] = None,
    item: Items = None,
    total: Total = None,
    org: Org = None,
) -> None:
    """A new version of a draft or sent quote (replaces the items if any --item is given)."""
    quote = quotes.revise_quote(
        state.app().ctx,
        organization_id=state.organization_id(org),
        quote_id=quote_id,
        title=title,
        items=[parse_item(x) for x in item] if item else None,
        total=total,
    )
    console.print(f"revised quote {_summary(quote)}", markup=False)


@quote_app.command("send")
@handle_errors
def quote_send(quote_id: Annotated[str, typer.Argument()], org: Org = None) -> None:
    """Send a draft quote: it takes its number now."""
    quote = quotes.send_quote(
        state.app().ctx, organization_id=state.organization_id(org), quote_id=quote_id
    )
    console.print(f"sent quote {_summary(quote)}", markup=False)
    console.print(f"content hash {quote.current.content_hash}", markup=False)


@quote_app.command("accept")
@handle_errors
def quote_accept(
    quote_id: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="The recipient's typed name")],
    shown_hash: Annotated[
        str | None,
        typer.Option("--hash", help="Hash of the version the recipient saw (refused if stale)"),
    ] = None,
    org: Org = None,
) -> None:
    """Accept a sent quote on the recipient's behalf (typed name, time and hash recorded)."""
    quote = quotes.accept_quote(
        state.app().ctx,
        organization_id=state.organization_id(org),
        quote_id=quote_id,
        name=name,
        shown_hash=shown_hash,
    )
    console.print(
        f"accepted quote {_summary(quote)} by {quote.accepted_by}, hash {quote.accepted_hash}",
        markup=False,
    )


@quote_app.command("decline")
@handle_errors
def quote_decline(
    quote_id: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="Why the recipient declined")],
    org: Org = None,
) -> None:
    """Record that the recipient declined a sent quote."""
    quote = quotes.decline_quote(
        state.app().ctx,
        organization_id=state.organization_id(org),
        quote_id=quote_id,
        reason=reason,
    )
    console.print(f"declined quote {_summary(quote)}", markup=False)


@quote_app.command("link")
@handle_errors
def quote_link(
    quote_id: Annotated[str, typer.Argument(help="Mini-quote id")],
    work: Annotated[list[str], typer.Option("--work", help="Work item id; repeat for more")],
    org: Org = None,
) -> None:
    """Link unapproved work items to a mini-quote; its acceptance approves them."""
    items = quotes.link_work_to_quote(
        state.app().ctx,
        organization_id=state.organization_id(org),
        quote_id=quote_id,
        work_item_ids=work,
    )
    for w in items:
        console.print(f"linked work item {w.id} ({w.state.value}) to {quote_id}", markup=False)


@quote_app.command("list")
@handle_errors
def quote_list(
    engagement: Annotated[str | None, typer.Option(help="Engagement id")] = None,
    org: Org = None,
    json_output: JsonOutput = False,
) -> None:
    """List quotes, oldest first, with their state and current version."""
    rows = quotes.list_quotes(
        state.app().ctx, organization_id=state.organization_id(org), engagement_id=engagement
    )
    if json_output:
        print_json({"quotes": [_quote_json(q) for q in rows]})
        return
    table = Table("number", "v", "state", "title", "total", "accepted by", "id")
    for q in rows:
        table.add_row(
            q.number or "(draft)",
            str(q.current.version),
            q.state.value,
            q.current.title,
            q.current.total.format(),
            q.accepted_by or "-",
            q.id,
        )
    console.print(table)


@quote_app.command("show")
@handle_errors
def quote_show(quote_id: Annotated[str, typer.Argument()], org: Org = None) -> None:
    """Show a quote: current version, items, acceptance, milestones and events."""
    detail = quotes.get_quote(
        state.app().ctx, organization_id=state.organization_id(org), quote_id=quote_id
    )
    quote = detail.quote
    current = quote.current
    console.print(f"{quote.number or 'draft'} version {current.version} - {quote.state.value}")
    console.print(f"{current.title}  total {current.total.format()}", markup=False)
    table = Table("#", "name", "description", "amount")
    for n, i in enumerate(current.items, start=1):
        table.add_row(str(n), i.name, i.description, i.amount.format())
    console.print(table)
    if current.content_hash:
        console.print(f"content hash {current.content_hash}", markup=False)
    if quote.accepted_at is not None:
        console.print(
            f"accepted version {quote.accepted_version} by {quote.accepted_by} at "
            f"{quote.accepted_at.isoformat()}, hash {quote.accepted_hash}",
            markup=False,
        )
    if quote.declined_reason:
        console.print(f"declined: {quote.declined_reason}", markup=False)
    for m in detail.milestones:
        console.print(
            f"  milestone {m.position} {m.name} {m.amount.format()} {m.state.value} [{m.id}]",
            markup=False,
        )
    for w in detail.work_items:
        console.print(f"  work item {w.work_date} {w.description} {w.state.value}", markup=False)
    for event in detail.events:
        console.print(f"  {event.occurred_at}  #{event.seq} {event.kind}", markup=False)


@quote_app.command("milestones")
@handle_errors
def quote_milestones(
    engagement: Annotated[str | None, typer.Option(help="Engagement id")] = None,
    state_filter: Annotated[
        list[str] | None, typer.Option("--state", help="planned, signed_off or invoiced")
    ] = None,
    org: Org = None,
    json_output: JsonOutput = False,
) -> None:
    """List milestones of accepted quotes, by engagement and position."""
    try:
        states = [MilestoneState(s) for s in state_filter or []]
    except ValueError:
        raise ValidationError(
            f"state must be one of {', '.join(s.value for s in MilestoneState)}",
            code="validation.invalid_state",
        ) from None
    rows = quotes.list_milestones(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        states=states,
    )
    if json_output:
        print_json({"milestones": [_milestone_json(m) for m in rows]})
        return
    table = Table("#", "name", "quote", "amount", "state", "signed off by", "invoice", "id")
    for m in rows:
        table.add_row(
            str(m.position),
            m.name,
            m.quote_number,
            m.amount.format(),
            m.state.value,
            m.signed_off_by or "-",
            m.invoice_id or "-",
            m.id,
        )
    console.print(table)


@quote_app.command("sign-off")
@handle_errors
def quote_sign_off(
    milestone_id: Annotated[str, typer.Argument(help="Milestone id")],
    by: Annotated[str, typer.Option(help="Who signed the milestone off")],
    org: Org = None,
) -> None:
    """Sign a milestone off: its invoice is created at once (and sent if automatic)."""
    result = quotes.sign_off_milestone(
        state.app().ctx,
        organization_id=state.organization_id(org),
        milestone_id=milestone_id,
        by=by,
    )
    m, invoice = result.milestone, result.invoice
    console.print(
        f"signed off milestone {m.position} ({m.name}) by {m.signed_off_by}; invoice "
        f"{invoice.number or '(draft, no number yet)'} {invoice.state.value} "
        f"{invoice.totals().gross.format()} [{invoice.id}]",
        markup=False,
    )
    for warning in result.warnings:
        console.print(f"warning: {warning.message} [{warning.code}]", markup=False)
    if result.held_reason:
        console.print(f"not sent automatically: {result.held_reason}", markup=False)


@quote_app.command("ask-sign-off")
@handle_errors
def quote_ask_sign_off(
    milestone_id: Annotated[str, typer.Argument(help="Milestone id")],
    email: Annotated[str, typer.Option(help="Who at the client signs it off")],
    name: Annotated[str, typer.Option(help="Their name, for the email")] = "",
    org: Org = None,
) -> None:
    """Ask the client to sign a planned milestone off: a private link is emailed to them."""
    application = state.app()
    issued = quotes.request_sign_off(
        application.ctx,
        organization_id=state.organization_id(org),
        milestone_id=milestone_id,
        recipient_email=email,
        recipient_name=name,
    )
    console.print(
        f"asked {issued.link.recipient_email} to sign off; the email with the link is queued "
        f"for `engagebill worker` (link {issued.link.id}, expires "
        f"{issued.link.expires_at.date().isoformat()})",
        markup=False,
    )
