"""CLI commands for out-of-scope work items: record, approve, list, flag, import from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engagebill.domain.errors import ValidationError
from engagebill.domain.work import WorkItem
from engagebill.entrypoints.cli.common import (
    console,
    err_console,
    handle_errors,
    parse_date,
    print_json,
    state,
)
from engagebill.entrypoints.cli.setup_commands import Org
from engagebill.services import work

work_app = typer.Typer(
    help="Out-of-scope work items: record, approve, import from CSV.", no_args_is_help=True
)

NO_APPROVAL = (
    "warning: no written approval yet: it is not billed until approved with --approval REF "
    "(a link to the approving email or message) [work_item.no_written_approval]"
)


def _summary(item: WorkItem) -> str:
    return (
        f"{item.work_date.isoformat()} {item.person} {item.hours} h x {item.rate.format()} "
        f"= {item.amount.format()} {item.state.value} [{item.id}]"
    )


def _as_json(item: WorkItem) -> dict[str, object]:
    return {
        "id": item.id,
        "engagement_id": item.engagement_id,
        "work_date": item.work_date.isoformat(),
        "person": item.person,
        "hours": str(item.hours),
        "rate": item.rate.decimal_string(),
        "currency": item.rate.currency,
        "amount": item.amount.decimal_string(),
        "description": item.description,
        "requester": item.requester,
        "approval_ref": item.approval_ref,
        "override_reason": item.override_reason,
        "state": item.state.value,
        "quote_id": item.quote_id,
        "invoice_id": item.invoice_id,
    }


def _print_items(items: list[WorkItem]) -> None:
    """Two lines per item rather than a table: ten columns do not fit a terminal, and the id
    that ``work approve`` needs must never be cut short."""
    for item in items:
        approval = "no written approval"
        if item.approval_ref:
            approval = f"approval {item.approval_ref}"
        elif item.override_reason:
            approval = f"override: {item.override_reason}"
        requester = f"requested by {item.requester}; " if item.requester else ""
        console.print(_summary(item), markup=False)
        console.print(f"    {item.description} ({requester}{approval})", markup=False)


@work_app.command("add")
@handle_errors
def work_add(
    engagement: Annotated[str, typer.Option(help="Engagement id (time_and_material)")],
    work_date: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    person: Annotated[str, typer.Option(help="Who did the work")],
    hours: Annotated[str, typer.Option(help="Hours, e.g. 1.5 or 1:30")],
    rate: Annotated[str, typer.Option(help="Hourly rate in the engagement's currency")],
    description: Annotated[str, typer.Option()],
    requester: Annotated[str, typer.Option(help="Who at the client asked for it")] = "",
    approval: Annotated[
        str, typer.Option(help="Reference to the written approval (email or message link)")
    ] = "",
    quote: Annotated[str | None, typer.Option(help="Accepted mini-quote id")] = None,
    org: Org = None,
) -> None:
    """Record a piece of out-of-scope work (unapproved until approved in writing)."""
    day = parse_date(work_date, "date")
    if day is None:
        raise ValidationError("date is empty", code="work_item.invalid_date")
    item = work.record_work_item(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        work_date=day,
        person=person,
        hours=hours,
        rate=rate,
        description=description,
        requester=requester,
        approval_ref=approval,
        quote_id=quote,
    )
    console.print(f"recorded {_summary(item)}", markup=False)
    if not item.has_written_approval:
        console.print(NO_APPROVAL, markup=False)


@work_app.command("approve")
@handle_errors
def work_approve(
    work_item_ids: Annotated[list[str], typer.Argument(help="Work item id(s), all or none")],
    approval: Annotated[
        str, typer.Option(help="Reference to the written approval (email or message link)")
    ] = "",
    override_reason: Annotated[
        str, typer.Option(help="Approve without written approval, for this recorded reason")
    ] = "",
    org: Org = None,
) -> None:
    """Approve work items: with the written approval's reference, or an override reason."""
    items = work.approve_work_items(
        state.app().ctx,
        organization_id=state.organization_id(org),
        work_item_ids=work_item_ids,
        approval_ref=approval,
        override_reason=override_reason,
    )
    for item in items:
        how = item.approval_ref or f"override: {item.override_reason}"
        console.print(f"approved {_summary(item)} ({how})", markup=False)


@work_app.command("list")
@handle_errors
def work_list(
    engagement: Annotated[str | None, typer.Option(help="Engagement id")] = None,
    state_filter: Annotated[
        list[str] | None,
        typer.Option("--state", help="unapproved, approved or billed; repeat for more"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 1000,
    org: Org = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List work items by engagement and date."""
    items = work.list_work_items(
        state.app().ctx,
        organization_id=state.organization_id(org),
        engagement_id=engagement,
        states=state_filter or [],
        limit=limit,
    )
    if json_output:
        print_json({"work_items": [_as_json(i) for i in items]})
        return
    if not items:
        console.print("no work items", markup=False)
    _print_items(items)


@work_app.command("unapproved")
@handle_errors
def work_unapproved(
    engagement: Annotated[str | None, typer.Option(help="Engagement id")] = None,
    org: Org = None,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Work the billing run leaves out until someone approves it in writing."""
    items = work.unapproved_work(
        state.app().ctx, state.organization_id(org), engagement_id=engagement
    )
    if json_output:
        print_json({"work_items": [_as_json(i) for i in items]})
        return
    if not items:
        console.print("no unapproved work", markup=False)
        return
    _print_items(items)
    missing = sum(1 for i in items if not i.has_written_approval)
    console.print(
        f"{len(items)} unapproved item(s), {missing} without a written approval reference",
        markup=False,
    )


def _read_csv(path: Path) -> str:
    if path.stat().st_size > work.MAX_CSV_BYTES:  # refuse before reading it all in
        raise ValidationError(
            f"the file is larger than {work.MAX_CSV_BYTES // (1024 * 1024)} MB",
            code="work_csv.too_large",
        )
    return work.decode_csv(path.read_bytes())


def _print_row_errors(error: ValidationError) -> None:
    for row in error.details.get("errors", []):
        err_console.print(f"line {row['line']}: {row['message']}", markup=False, emoji=False)


@work_app.command("import")
@handle_errors
def work_import(
    file: Annotated[
        Path, typer.Argument(help="CSV export of a time tracker", dir_okay=False, exists=True)
    ],
    engagement: Annotated[str, typer.Option(help="Engagement id (time_and_material)")],
    org: Org = None,
) -> None:
    """Import a CSV of work: every bad row is reported by line, and then nothing is written."""
    try:
        result = work.import_work_csv(
            state.app().ctx,
            organization_id=state.organization_id(org),
            engagement_id=engagement,
            text=_read_csv(file),
        )
    except ValidationError as exc:
        _print_row_errors(exc)
        raise
    console.print(
        f"imported {result.count} work item(s), {result.total.format()} [{result.import_id}]",
        markup=False,
    )
    if result.without_written_approval:
        console.print(
            f"warning: {result.without_written_approval} of them have no written approval "
            "yet and are not billed until approved [work_item.no_written_approval]",
            markup=False,
        )
    # Imported work is unapproved until someone confirms the client's written approval.
    console.print("approve it with `engagebill work approve ID... --approval REF`", markup=False)
