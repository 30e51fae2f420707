"""/work-items: delivered out-of-scope work, ``unapproved -> approved -> billed``.

Work is recorded (one at a time, or a time tracker's CSV export into an engagement, all rows
or none), approved with the reference to the client's written approval (or an override reason,
recorded), and billed by the billing run on the engagement's change-order invoice, one line
per item.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from engagebill.domain.work import WorkItem, WorkState
from engagebill.entrypoints.api import pagination
from engagebill.entrypoints.api.deps import Ctx, Reader, Writer
from engagebill.entrypoints.api.schemas import Day, Decimalish, Model, MoneyOut, Page, money
from engagebill.entrypoints.outputs import WorkItemOut, work_item_out
from engagebill.services import queries, work
from engagebill.services.work import MAX_APPROVAL_REF, MAX_CSV_BYTES, MAX_OVERRIDE_REASON

router = APIRouter(tags=["work items"])


class WorkItemIn(Model):
    engagement_id: Annotated[str, Field(min_length=1, max_length=100)]
    work_date: Day
    person: Annotated[str, Field(min_length=1, max_length=200)] = Field(examples=["Ana Lima"])
    hours: Annotated[str, Field(min_length=1, max_length=20)] = Field(
        description="Decimal hours or h:mm", examples=["3.5", "2:15"]
    )
    rate: Decimalish = Field(description="Per hour, in the engagement's currency")
    description: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        examples=["Extra landing page for the spring campaign"]
    )
    requester: Annotated[str, Field(max_length=200)] = Field(
        default="", description="Who at the client asked for it"
    )
    approval_ref: Annotated[str, Field(max_length=MAX_APPROVAL_REF)] = Field(
        default="", description="Link to the client's written approval (email, message)"
    )
    quote_id: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="A mini-quote whose acceptance approves this work"
    )


class ApproveIn(Model):
    approval_ref: Annotated[str, Field(max_length=MAX_APPROVAL_REF)] = Field(
        default="", description="The written approval; replaces any recorded one"
    )
    override_reason: Annotated[str, Field(max_length=MAX_OVERRIDE_REASON)] = Field(
        default="", description="Why work without a written approval is billed anyway"
    )


class ApproveManyIn(ApproveIn):
    work_item_ids: Annotated[list[str], Field(min_length=1, max_length=500)]


class WorkItemsOut(Model):
    work_items: list[WorkItemOut]


class ImportOut(Model):
    import_id: str = Field(description="The same file into the same engagement has the same id")
    engagement_id: str
    rows: int
    total: MoneyOut
    without_written_approval: int = Field(description="Rows that need an approval reference")
    work_items: list[WorkItemOut]


def _key(item: WorkItem) -> tuple[datetime, str]:
    return item.created_at, item.id


@router.get("/work-items", response_model=Page[WorkItemOut])
def list_work_items(
    ctx: Ctx,
    key: Reader,
    engagement_id: str | None = None,
    state: WorkState | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[WorkItemOut]:
    """Work items, most recently recorded first; filter by engagement, state and work date."""
    found = work.list_work_items(
        ctx,
        organization_id=key.organization_id,
        engagement_id=engagement_id,
        states=() if state is None else (state,),
    )
    rows = queries.keyset_page(
        (
            i
            for i in found
            if (date_from is None or i.work_date >= date_from)
            and (date_to is None or i.work_date <= date_to)
        ),
        key=_key,
        after=pagination.decode(cursor),
        limit=limit + 1,
    )
    return Page[WorkItemOut](
        items=[work_item_out(i) for i in rows[:limit]],
        next_cursor=pagination.next_cursor(rows, limit, _key),
    )


@router.post("/work-items", status_code=201, response_model=WorkItemOut)
def record_work_item(body: WorkItemIn, ctx: Ctx, key: Writer) -> WorkItemOut:
    """Record a piece of delivered work, unapproved (approved at once when its mini-quote is
    already accepted). Only a time-and-material engagement or an advance retainer takes work."""
    return work_item_out(
        work.record_work_item(
            ctx,
            organization_id=key.organization_id,
            engagement_id=body.engagement_id,
            work_date=body.work_date,
            person=body.person,
            hours=body.hours,
            rate=body.rate,
            description=body.description,
            requester=body.requester,
            approval_ref=body.approval_ref,
            quote_id=body.quote_id,
        )
    )


@router.post("/work-items/approve", response_model=WorkItemsOut)
def approve_work_items(body: ApproveManyIn, ctx: Ctx, key: Writer) -> WorkItemsOut:
    """Approve items together, all or none (one email often approves a week of work)."""
    items = work.approve_work_items(
        ctx,
        organization_id=key.organization_id,
        work_item_ids=body.work_item_ids,
        approval_ref=body.approval_ref,
        override_reason=body.override_reason,
    )
    return WorkItemsOut(work_items=[work_item_out(i) for i in items])


@router.get("/work-items/{work_item_id}", response_model=WorkItemOut)
def get_work_item(work_item_id: str, ctx: Ctx, key: Reader) -> WorkItemOut:
    return work_item_out(
        work.get_work_item(ctx, organization_id=key.organization_id, work_item_id=work_item_id)
    )


@router.post("/work-items/{work_item_id}/approve", response_model=WorkItemOut)
def approve_work_item(work_item_id: str, body: ApproveIn, ctx: Ctx, key: Writer) -> WorkItemOut:
    """Approve one item: with the reference to the client's written approval, or with an
    override reason when there is none."""
    return work_item_out(
        work.approve_work_item(
            ctx,
            organization_id=key.organization_id,
            work_item_id=work_item_id,
            approval_ref=body.approval_ref,
            override_reason=body.override_reason,
        )
    )


CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A time tracker's CSV export (Harvest, Toggl, Clockify or a sheet): "
        "date, person, hours, rate and description columns; requester, approval and currency "
        "optional. UTF-8, comma or semicolon separated.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


async def _upload(request: Request) -> bytes:
    """The request body, read no further than one byte past the largest file taken: the
    size check then refuses it without holding an arbitrarily large upload in memory."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_CSV_BYTES:
            break
    return bytes(data)


@router.post(
    "/engagements/{engagement_id}/work-items/import",
    status_code=201,
    response_model=ImportOut,
    openapi_extra=CSV_BODY,
    tags=["engagements"],
)
async def import_work_csv(engagement_id: str, request: Request, ctx: Ctx, key: Writer) -> ImportOut:
    """Import a CSV export as unapproved work items, all rows or none: every bad row is
    reported with its line (``work_csv.invalid``), and the same file twice is refused
    (``work_csv.already_imported``), so nothing is billed twice."""
    text = work.decode_csv(await _upload(request))
    result = await run_in_threadpool(
        work.import_work_csv,
        ctx,
        organization_id=key.organization_id,
        engagement_id=engagement_id,
        text=text,
    )
    return ImportOut(
        import_id=result.import_id,
        engagement_id=result.engagement_id,
        rows=result.count,
        total=money(result.total),
        without_written_approval=result.without_written_approval,
        work_items=[work_item_out(i) for i in result.items],
    )
