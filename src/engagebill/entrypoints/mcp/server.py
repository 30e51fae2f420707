"""The MCP server: engagebill's use cases as tools for an assistant, over stdio or HTTP.

Each tool is thin, like a REST route: it finds out who calls (``auth``), parses its typed
arguments, calls the same service function the REST API and the CLI call, and presents the
result as a model of ``schemas`` (which the SDK publishes as the tool's output schema). No
business rule lives here.

Business refusals come back as tool errors whose text starts with the stable code of the
error tree (``invoice.not_sendable: cannot send an invoice that is sent: ...``), so an
assistant can match on the code and show the message. Write tools take an optional
``idempotency_key`` (``idempotency``) and are refused to read-only API keys.

``build_server`` makes the server for any transport; ``http_endpoint`` wraps it for the web
application, behind the API-key guard, at ``/mcp``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any, ParamSpec, TypeVar

from mcp.server.mcpserver import Context as CallContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, StrictStr
from starlette.types import ASGIApp, Receive, Scope, Send

from engagebill import __version__
from engagebill.domain.engagements import EngagementKind
from engagebill.domain.errors import DomainError, ValidationError
from engagebill.domain.lifecycle import InvoiceState
from engagebill.domain.quotes import MilestoneState, QuoteState
from engagebill.domain.work import WorkState
from engagebill.entrypoints.api.problems import problem
from engagebill.entrypoints.api.schemas import Day, Decimalish
from engagebill.entrypoints.mcp.auth import BearerKeyGuard, Caller, CallerResolver, bearer_caller
from engagebill.entrypoints.mcp.idempotency import IdempotentCalls
from engagebill.entrypoints.mcp.schemas import (
    AdvanceBalanceOut,
    AsOf,
    BillingPlanOut,
    BillingRunOut,
    ChaseListOut,
    ClientId,
    ClientsOut,
    CreditNoteOut,
    DraftOut,
    EngagementAccountOut,
    EngagementId,
    EngagementsOut,
    IdempotencyKey,
    InvoiceId,
    InvoiceOut,
    InvoicesOut,
    LifecycleOut,
    Limit,
    Lines,
    LinkRecipientOut,
    MilestoneId,
    MilestonesOut,
    OptionalAsOf,
    PurchaseOrderId,
    QuoteId,
    QuoteItems,
    QuoteOut,
    QuoteSentOut,
    QuotesOut,
    Reason,
    RevenueOut,
    SentOut,
    ShortText,
    SignOffOut,
    UnopenedDays,
    WorkItemId,
    WorkItemOut,
    WorkItemsOut,
    advance_balance_out,
    billing_plan_out,
    billing_run_out,
    chase_item_out,
    client_lifecycle_out,
    client_out,
    credit_note_out,
    engagement_account_out,
    engagement_out,
    invoice_out,
    link_recipient_out,
    milestone_out,
    quote_out,
    quote_summary_out,
    revenue_out,
    sent_out,
    summary_out,
    warnings_out,
    work_item_out,
)
from engagebill.services import (
    billing_run,
    invoicing,
    queries,
    quotes,
    reports,
    retainers,
    settlement,
    work,
)
from engagebill.services.engagement_account import engagement_account
from engagebill.services.invoicing import UNSET
from engagebill.services.links import IssuedLink
from engagebill.services.ports import Context, InvoiceFilter
from engagebill.services.queries import PurchaseOrderUsage

INSTRUCTIONS = """\
engagebill bills an agency's clients: one engagement (retainer, fixed-price project with
milestones, or time-and-material change orders), one invoice stream, one PO per invoice.
Start with find_clients and find_engagements; billing_plan says what goes out as of a day
(how many invoices, their numbers if sent in order, whose PO) and execute_billing_run creates
them. Milestones are invoiced when signed off; out-of-scope work is recorded, approved in
writing, and billed on a change-order invoice. Invoices have a number only once sent. Quotes
are drafted and sent here; only the client accepts one, by typing their name on their link.
engagement_account gives an engagement's advance and, per issued invoice, its gross, drawn
(settled by the advance), credited, paid and outstanding amounts.
Money is a decimal string with a currency. A refused call is a tool error that starts with a
stable code, e.g. "invoice.not_sendable: ...". Give write tools an idempotency_key when a
retry must not do the work twice.
"""

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
# A billing run creates nothing new when repeated: every planned invoice has a unique key.
RUN = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# A credit note reduces or voids an issued invoice, and cannot be taken back.
CREDIT = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)

P = ParamSpec("P")
R = TypeVar("R")
Out = TypeVar("Out", bound=BaseModel)

# Parameters worth a word for the assistant; ids and dates are described in ``schemas``.
Hours = Annotated[
    StrictStr,
    Field(min_length=1, max_length=20, description="Hours as a decimal string ('7.5') or h:mm"),
]
Rate = Annotated[Decimalish, Field(description="Hourly rate in the engagement's currency")]
NameContains = Annotated[
    str, Field(max_length=200, description="Part of the client's name, any case; empty: all")
]
OverrideReason = Annotated[
    str,
    Field(
        max_length=2000,
        description="Send despite an expired PO or an exceeded ceiling, for this reason "
        "(recorded in the audit trail); leave empty otherwise",
    ),
]


@contextmanager
def refusals_as_tool_errors() -> Iterator[None]:
    """The one mapping of the error tree to MCP: a ``ToolError`` led by the stable code."""
    try:
        yield
    except DomainError as refusal:
        raise ToolError(f"{refusal.code}: {refusal.message}") from refusal


def _tool(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)  # the SDK reads the signature and docstring through the wrapper
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with refusals_as_tool_errors():
            return fn(*args, **kwargs)

    return call


class Tools:
    """The tools, bound to one application context and one way of knowing the caller.

    Every tool is synchronous, like the services: the SDK runs it on a worker thread, so a
    database call never blocks the event loop.
    """

    def __init__(self, ctx: Context, resolve: CallerResolver) -> None:
        self.ctx = ctx
        self.resolve = resolve
        self.idempotent = IdempotentCalls(ctx)

    # --- who calls ---------------------------------------------------------------------------
    def _organization(self, call: CallContext) -> str:
        return self.resolve(call).organization_id

    def _write(
        self,
        call: CallContext,
        *,
        tool: str,
        arguments: dict[str, Any],
        idempotency_key: str | None,
        output: type[Out],
        run: Callable[[str], Out],
    ) -> Out:
        """Run a write for a caller that may write, at most once per idempotency key."""
        caller: Caller = self.resolve(call)
        caller.require_write()
        org = caller.organization_id
        return self.idempotent.run(
            organization_id=org,
            key=idempotency_key,
            tool=tool,
            arguments=arguments,
            output=output,
            call=lambda: run(org),
        )

    # --- clients and engagements -------------------------------------------------------------
    def find_clients(self, call: CallContext, name_contains: NameContains = "") -> ClientsOut:
        """Find clients by part of their name (all clients when empty), with their billing
        entities and AP contacts."""
        found = queries.list_clients(
            self.ctx, organization_id=self._organization(call), limit=10_000
        )
        needle = name_contains.strip().casefold()
        return ClientsOut(clients=[client_out(c) for c in found if needle in c.name.casefold()])

    def find_engagements(
        self,
        call: CallContext,
        client_id: ClientId | None = None,
        kind: EngagementKind | None = None,
    ) -> EngagementsOut:
        """Find engagements (one client's, or all), each with its purchase orders: validity,
        ceiling, what was consumed, and which one the next invoice carries."""
        org = self._organization(call)
        engagements = queries.list_engagements(
            self.ctx, organization_id=org, client_id=client_id, kind=kind, limit=10_000
        )
        names = {c.id: c.name for c in queries.list_clients(self.ctx, organization_id=org)}
        by_engagement: dict[str, list[PurchaseOrderUsage]] = {}
        for usage in queries.list_purchase_orders(self.ctx, organization_id=org, limit=100_000):
            by_engagement.setdefault(usage.purchase_order.engagement_id, []).append(usage)
        return EngagementsOut(
            engagements=[
                engagement_out(
                    e,
                    client_name=names.get(e.client_id, ""),
                    purchase_orders=by_engagement.get(e.id, []),
                )
                for e in engagements
            ]
        )

    # --- billing runs ------------------------------------------------------------------------
    def billing_plan(self, call: CallContext, as_of: AsOf) -> BillingPlanOut:
        """What a billing run as of this day would create: how many invoices, the number each
        gets if they are sent in this order, their lines, and whose PO each carries, with
        warnings. Nothing is written."""
        view = billing_run.plan_run(self.ctx, organization_id=self._organization(call), as_of=as_of)
        return billing_plan_out(view)

    def execute_billing_run(
        self, call: CallContext, as_of: AsOf, idempotency_key: IdempotencyKey = None
    ) -> BillingRunOut:
        """Create what the billing plan as of this day says: draft invoices (engagements that
        send automatically are sent unless a PO warning holds them). Running it again creates
        nothing new."""
        return self._write(
            call,
            tool="execute_billing_run",
            arguments={"as_of": as_of},
            idempotency_key=idempotency_key,
            output=BillingRunOut,
            run=lambda org: billing_run_out(
                billing_run.execute_run(self.ctx, organization_id=org, as_of=as_of)
            ),
        )

    # --- invoices ----------------------------------------------------------------------------
    def list_invoices(
        self,
        call: CallContext,
        client_id: ClientId | None = None,
        engagement_id: EngagementId | None = None,
        states: list[InvoiceState] | None = None,
        issued_from: Day | None = None,
        issued_to: Day | None = None,
        limit: Limit = 100,
    ) -> InvoicesOut:
        """Invoices, newest first, with their state, number and PO; filter by client,
        engagement, state and issue date (drafts are dated too)."""
        rows = queries.list_invoices(
            self.ctx,
            organization_id=self._organization(call),
            query=InvoiceFilter(
                states=states or [],
                client_id=client_id,
                engagement_id=engagement_id,
                issued_from=issued_from,
                issued_to=issued_to,
                limit=limit,
            ),
        )
        return InvoicesOut(invoices=[summary_out(r) for r in rows])

    def get_invoice(self, call: CallContext, invoice_id: InvoiceId) -> InvoiceOut:
        """One invoice's current version: lines, totals, PO, state and what is outstanding."""
        detail = queries.get_invoice(
            self.ctx, organization_id=self._organization(call), invoice_id=invoice_id
        )
        return invoice_out(detail.invoice)

    def create_draft_invoice(
        self,
        call: CallContext,
        engagement_id: EngagementId,
        lines: Lines,
        issue_date: Annotated[Day | None, Field(description="Default today")] = None,
        purchase_order_id: Annotated[
            PurchaseOrderId | None, Field(description="Default: the engagement's current PO")
        ] = None,
        without_purchase_order: bool = False,
        notes: Reason = "",
        idempotency_key: IdempotencyKey = None,
    ) -> DraftOut:
        """Create a draft invoice on one engagement, carrying that engagement's PO. It has no
        number until it is sent."""
        po = _po_choice(purchase_order_id, remove=without_purchase_order, keep=UNSET)

        def run(org: str) -> DraftOut:
            result = invoicing.create_draft(
                self.ctx,
                organization_id=org,
                engagement_id=engagement_id,
                lines=[ln.to_input() for ln in lines],
                issue_date=issue_date,
                purchase_order_id=po,
                notes=notes,
            )
            return DraftOut(
                invoice=invoice_out(result.invoice), warnings=warnings_out(result.warnings)
            )

        return self._write(
            call,
            tool="create_draft_invoice",
            arguments={
                "engagement_id": engagement_id,
                "lines": lines,
                "issue_date": issue_date,
                "purchase_order_id": purchase_order_id,
                "without_purchase_order": without_purchase_order,
                "notes": notes,
            },
            idempotency_key=idempotency_key,
            output=DraftOut,
            run=run,
        )

    def edit_draft_invoice(
        self,
        call: CallContext,
        invoice_id: InvoiceId,
        lines: Annotated[Lines | None, Field(description="Replace all lines; omit to keep")] = None,
        issue_date: Day | None = None,
        purchase_order_id: Annotated[
            PurchaseOrderId | None, Field(description="Carry this PO instead; omit to keep")
        ] = None,
        remove_purchase_order: bool = False,
        notes: Annotated[str | None, Field(max_length=2000)] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> DraftOut:
        """Change what is given of a draft: its lines, issue date, PO or notes. A sent invoice
        changes only by revision or credit note."""
        po = _po_choice(purchase_order_id, remove=remove_purchase_order, keep=UNSET)

        def run(org: str) -> DraftOut:
            result = invoicing.edit_draft(
                self.ctx,
                organization_id=org,
                invoice_id=invoice_id,
                lines=[ln.to_input() for ln in lines] if lines is not None else None,
                issue_date=issue_date,
                purchase_order_id=po,
                notes=notes,
            )
            return DraftOut(
                invoice=invoice_out(result.invoice), warnings=warnings_out(result.warnings)
            )

        return self._write(
            call,
            tool="edit_draft_invoice",
            arguments={
                "invoice_id": invoice_id,
                "lines": lines,
                "issue_date": issue_date,
                "purchase_order_id": purchase_order_id,
                "remove_purchase_order": remove_purchase_order,
                "notes": notes,
            },
            idempotency_key=idempotency_key,
            output=DraftOut,
            run=run,
        )

    def send_invoice(
        self,
        call: CallContext,
        invoice_id: InvoiceId,
        override_reason: OverrideReason = "",
        idempotency_key: IdempotencyKey = None,
    ) -> SentOut:
        """Send a draft: it takes its number now, its content is frozen, and each of the
        client's AP contacts gets a private link."""

        def run(org: str) -> SentOut:
            issued: list[IssuedLink] = []
            invoice = invoicing.send_invoice(
                self.ctx,
                organization_id=org,
                invoice_id=invoice_id,
                override_reason=override_reason,
                issued=issued,
            )
            return sent_out(invoice, issued)

        return self._write(
            call,
            tool="send_invoice",
            arguments={"invoice_id": invoice_id, "override_reason": override_reason},
            idempotency_key=idempotency_key,
            output=SentOut,
            run=run,
        )

    def issue_credit_note(
        self,
        call: CallContext,
        invoice_id: InvoiceId,
        reason: Annotated[Reason, Field(min_length=1)],
        lines: Annotated[
            Lines | None, Field(description="Positive amounts taken off; omit to credit in full")
        ] = None,
        issue_date: Annotated[Day | None, Field(description="Default today")] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CreditNoteOut:
        """Issue a credit note against a sent invoice: the only way to reduce or cancel it.
        Without lines it credits everything not yet credited, and the invoice becomes void."""

        def run(org: str) -> CreditNoteOut:
            note = settlement.issue_credit_note(
                self.ctx,
                organization_id=org,
                invoice_id=invoice_id,
                reason=reason,
                lines=[ln.to_input() for ln in lines] if lines is not None else None,
                issue_date=issue_date,
            )
            credited = queries.get_invoice(self.ctx, organization_id=org, invoice_id=invoice_id)
            return credit_note_out(note, invoice_state=credited.invoice.state.value)

        return self._write(
            call,
            tool="issue_credit_note",
            arguments={
                "invoice_id": invoice_id,
                "reason": reason,
                "lines": lines,
                "issue_date": issue_date,
            },
            idempotency_key=idempotency_key,
            output=CreditNoteOut,
            run=run,
        )

    # --- work and milestones -----------------------------------------------------------------
    def record_work_item(
        self,
        call: CallContext,
        engagement_id: EngagementId,
        work_date: Day,
        person: Annotated[str, Field(min_length=1, max_length=200)],
        hours: Hours,
        rate: Rate,
        description: Annotated[str, Field(min_length=1, max_length=1000)],
        requester: Annotated[ShortText, Field(description="Who at the client asked for it")] = "",
        approval_ref: Annotated[
            str,
            Field(
                max_length=500,
                description="Link to the client's written approval (email or message)",
            ),
        ] = "",
        quote_id: Annotated[
            QuoteId | None, Field(description="A mini-quote whose acceptance approves it")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> WorkItemOut:
        """Record a piece of delivered out-of-scope work on a time-and-material engagement (or
        an advance retainer). It is unapproved until approve_work_items confirms the client's
        written approval; only approved work is billed."""
        return self._write(
            call,
            tool="record_work_item",
            arguments={
                "engagement_id": engagement_id,
                "work_date": work_date,
                "person": person,
                "hours": hours,
                "rate": rate,
                "description": description,
                "requester": requester,
                "approval_ref": approval_ref,
                "quote_id": quote_id,
            },
            idempotency_key=idempotency_key,
            output=WorkItemOut,
            run=lambda org: work_item_out(
                work.record_work_item(
                    self.ctx,
                    organization_id=org,
                    engagement_id=engagement_id,
                    work_date=work_date,
                    person=person,
                    hours=hours,
                    rate=rate,
                    description=description,
                    requester=requester,
                    approval_ref=approval_ref,
                    quote_id=quote_id,
                )
            ),
        )

    def approve_work_items(
        self,
        call: CallContext,
        work_item_ids: Annotated[list[WorkItemId], Field(min_length=1, max_length=500)],
        approval_ref: Annotated[
            str,
            Field(
                max_length=500,
                description="The written approval covering them all; empty: each item's own",
            ),
        ] = "",
        override_reason: Annotated[
            str, Field(max_length=490, description="Approve without a written approval, why")
        ] = "",
        idempotency_key: IdempotencyKey = None,
    ) -> WorkItemsOut:
        """Approve work items together, all or none: each needs a written approval reference
        (its own or the one given here) or an override reason, which is recorded."""
        return self._write(
            call,
            tool="approve_work_items",
            arguments={
                "work_item_ids": work_item_ids,
                "approval_ref": approval_ref,
                "override_reason": override_reason,
            },
            idempotency_key=idempotency_key,
            output=WorkItemsOut,
            run=lambda org: WorkItemsOut(
                work_items=[
                    work_item_out(i)
                    for i in work.approve_work_items(
                        self.ctx,
                        organization_id=org,
                        work_item_ids=work_item_ids,
                        approval_ref=approval_ref,
                        override_reason=override_reason,
                    )
                ]
            ),
        )

    def list_work_items(
        self,
        call: CallContext,
        engagement_id: EngagementId | None = None,
        states: list[WorkState] | None = None,
        limit: Limit = 100,
    ) -> WorkItemsOut:
        """Work items by engagement, then date: unapproved, approved (billed by the next run)
        or billed."""
        items = work.list_work_items(
            self.ctx,
            organization_id=self._organization(call),
            engagement_id=engagement_id,
            states=states or [],
            limit=limit,
        )
        return WorkItemsOut(work_items=[work_item_out(i) for i in items])

    def list_milestones(
        self,
        call: CallContext,
        engagement_id: EngagementId | None = None,
        states: list[MilestoneState] | None = None,
    ) -> MilestonesOut:
        """The milestones of accepted fixed-price quotes, in billing order: planned, signed
        off, or invoiced (with their invoice)."""
        found = quotes.list_milestones(
            self.ctx,
            organization_id=self._organization(call),
            engagement_id=engagement_id,
            states=states or [],
        )
        return MilestonesOut(milestones=[milestone_out(m) for m in found])

    def sign_off_milestone(
        self,
        call: CallContext,
        milestone_id: MilestoneId,
        signed_off_by: Annotated[
            str, Field(min_length=1, max_length=200, description="Who accepted the deliverable")
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> SignOffOut:
        """Record a milestone's sign-off and invoice it at once, on the project's PO (a
        milestone is billed when signed off, never by calendar)."""

        def run(org: str) -> SignOffOut:
            signed = quotes.sign_off_milestone(
                self.ctx, organization_id=org, milestone_id=milestone_id, by=signed_off_by
            )
            return SignOffOut(
                milestone=milestone_out(signed.milestone),
                invoice=invoice_out(signed.invoice),
                warnings=warnings_out(signed.warnings),
                held_reason=signed.held_reason,
            )

        return self._write(
            call,
            tool="sign_off_milestone",
            arguments={"milestone_id": milestone_id, "signed_off_by": signed_off_by},
            idempotency_key=idempotency_key,
            output=SignOffOut,
            run=run,
        )

    # --- quotes ------------------------------------------------------------------------------
    def list_quotes(
        self,
        call: CallContext,
        engagement_id: EngagementId | None = None,
        states: list[QuoteState] | None = None,
    ) -> QuotesOut:
        """Quotes, oldest first: draft, sent (waiting for the client), accepted or declined."""
        found = quotes.list_quotes(
            self.ctx, organization_id=self._organization(call), engagement_id=engagement_id
        )
        return QuotesOut(
            quotes=[quote_summary_out(q) for q in found if not states or q.state in states]
        )

    def get_quote(self, call: CallContext, quote_id: QuoteId) -> QuoteOut:
        """One quote with its versions (each sent version's content hash), who accepted it and
        when, the milestones its acceptance planned and the work it approves."""
        return quote_out(
            quotes.get_quote(self.ctx, organization_id=self._organization(call), quote_id=quote_id)
        )

    def create_quote(
        self,
        call: CallContext,
        engagement_id: EngagementId,
        title: Annotated[str, Field(min_length=1, max_length=200)],
        items: QuoteItems,
        total: Annotated[
            Decimalish | None, Field(description="When given, the items must sum to it")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> QuoteOut:
        """A draft quote: milestones on a fixed-price engagement (invoiced one by one when
        signed off), or a mini-quote on a time-and-material one (its acceptance is the written
        approval of the work linked to it). It has no number until sent."""

        def run(org: str) -> QuoteOut:
            quote = quotes.create_quote(
                self.ctx,
                organization_id=org,
                engagement_id=engagement_id,
                title=title,
                items=[i.to_input() for i in items],
                total=total,
            )
            return quote_out(quotes.get_quote(self.ctx, organization_id=org, quote_id=quote.id))

        return self._write(
            call,
            tool="create_quote",
            arguments={
                "engagement_id": engagement_id,
                "title": title,
                "items": [i.model_dump() for i in items],
                "total": total,
            },
            idempotency_key=idempotency_key,
            output=QuoteOut,
            run=run,
        )

    def send_quote(
        self, call: CallContext, quote_id: QuoteId, idempotency_key: IdempotencyKey = None
    ) -> QuoteSentOut:
        """Send a draft quote: it takes its number, and each AP contact is emailed a private
        link on which they accept it by typing their name (only the client accepts)."""

        def run(org: str) -> QuoteSentOut:
            issued: list[IssuedLink] = []
            quotes.send_quote(self.ctx, organization_id=org, quote_id=quote_id, issued=issued)
            return QuoteSentOut(
                quote=quote_out(quotes.get_quote(self.ctx, organization_id=org, quote_id=quote_id)),
                links=[link_recipient_out(i) for i in issued],
            )

        return self._write(
            call,
            tool="send_quote",
            arguments={"quote_id": quote_id},
            idempotency_key=idempotency_key,
            output=QuoteSentOut,
            run=run,
        )

    def request_milestone_sign_off(
        self,
        call: CallContext,
        milestone_id: MilestoneId,
        recipient_email: Annotated[
            str, Field(min_length=3, max_length=254, description="Who signs it off")
        ],
        recipient_name: Annotated[str, Field(max_length=200)] = "",
        idempotency_key: IdempotencyKey = None,
    ) -> LinkRecipientOut:
        """Ask someone at the client to sign a planned milestone off: they are emailed a
        private link on which they sign it off by typing their name, and it is invoiced."""

        def run(org: str) -> LinkRecipientOut:
            return link_recipient_out(
                quotes.request_sign_off(
                    self.ctx,
                    organization_id=org,
                    milestone_id=milestone_id,
                    recipient_email=recipient_email,
                    recipient_name=recipient_name,
                )
            )

        return self._write(
            call,
            tool="request_milestone_sign_off",
            arguments={
                "milestone_id": milestone_id,
                "recipient_email": recipient_email,
                "recipient_name": recipient_name,
            },
            idempotency_key=idempotency_key,
            output=LinkRecipientOut,
            run=run,
        )

    # --- reports -----------------------------------------------------------------------------
    def client_lifecycle(
        self,
        call: CallContext,
        client_id: ClientId | None = None,
        as_of: OptionalAsOf = None,
        unopened_days: UnopenedDays = reports.UNOPENED_DAYS,
    ) -> LifecycleOut:
        """Per client (or for one): which invoices went out, which were viewed, which are
        approved, and which are stuck (unopened for N days; change requested; opened,
        unapproved and past due), each with its PO."""
        day = as_of or self.ctx.clock.today()
        clients = reports.client_lifecycle(
            self.ctx,
            organization_id=self._organization(call),
            client_id=client_id,
            as_of=day,
            unopened_days=unopened_days,
        )
        return LifecycleOut(
            as_of=day,
            unopened_days=unopened_days,
            clients=[client_lifecycle_out(c) for c in clients],
        )

    def chase_list(
        self,
        call: CallContext,
        as_of: OptionalAsOf = None,
        unopened_days: UnopenedDays = reports.UNOPENED_DAYS,
    ) -> ChaseListOut:
        """Whom to chase, in order: unopened for N days (oldest first), then change requests
        awaiting a revision, then opened but unapproved past the due date."""
        day = as_of or self.ctx.clock.today()
        items = reports.chase_list(
            self.ctx,
            organization_id=self._organization(call),
            as_of=day,
            unopened_days=unopened_days,
        )
        return ChaseListOut(
            as_of=day, unopened_days=unopened_days, items=[chase_item_out(i) for i in items]
        )

    def revenue_report(
        self,
        call: CallContext,
        date_from: Annotated[Day, Field(description="First issue date counted")],
        date_to: Annotated[Day, Field(description="Last issue date counted")],
    ) -> RevenueOut:
        """Net invoiced less net credited, by issue date, per month, client, engagement kind
        and currency. Advance invoices are prepayments and are left out."""
        report = reports.revenue(
            self.ctx,
            organization_id=self._organization(call),
            date_from=date_from,
            date_to=date_to,
        )
        return revenue_out(report)

    def advance_balance(
        self,
        call: CallContext,
        engagement_id: EngagementId,
        as_of: Annotated[Day | None, Field(description="Default: everything issued so far")] = None,
    ) -> AdvanceBalanceOut:
        """An engagement's prepaid advance: invoiced, used by invoiced work, refunded, and
        still available (net amounts)."""
        balance = retainers.advance_balance(
            self.ctx,
            organization_id=self._organization(call),
            engagement_id=engagement_id,
            as_of=as_of,
        )
        return advance_balance_out(engagement_id, as_of, balance)

    def engagement_account(
        self, call: CallContext, engagement_id: EngagementId
    ) -> EngagementAccountOut:
        """An engagement's account, from what was issued: the advance (invoiced, drawn by
        issued invoices, reserved by drafts, used, refunded, available; net), the issued
        invoices' totals, and per issued invoice its gross, what the advance settles of it
        (drawn), credited, paid, outstanding and credit balance (gross)."""
        return engagement_account_out(
            engagement_account(
                self.ctx, organization_id=self._organization(call), engagement_id=engagement_id
            )
        )


def _po_choice(purchase_order_id: str | None, *, remove: bool, keep: object) -> str | object | None:
    """The ``purchase_order_id`` argument of the invoicing use cases: a PO, None for no PO, or
    ``keep`` (the use case's default) when neither is asked for."""
    if remove and purchase_order_id is not None:
        raise ValidationError(
            "name a purchase order or ask for none, not both",
            code="validation.conflicting_arguments",
        )
    if remove:
        return None
    return purchase_order_id if purchase_order_id is not None else keep


TOOLS: dict[str, ToolAnnotations] = {
    "find_clients": READ,
    "find_engagements": READ,
    "billing_plan": READ,
    "execute_billing_run": RUN,
    "list_invoices": READ,
    "get_invoice": READ,
    "create_draft_invoice": WRITE,
    "edit_draft_invoice": WRITE,
    "send_invoice": WRITE,
    "issue_credit_note": CREDIT,
    "record_work_item": WRITE,
    "approve_work_items": WRITE,
    "list_work_items": READ,
    "list_milestones": READ,
    "sign_off_milestone": WRITE,
    "list_quotes": READ,
    "get_quote": READ,
    "create_quote": WRITE,
    "send_quote": WRITE,
    "request_milestone_sign_off": WRITE,
    "client_lifecycle": READ,
    "chase_list": READ,
    "revenue_report": READ,
    "advance_balance": READ,
    "engagement_account": READ,
}


def build_server(ctx: Context, organization_id_resolver: CallerResolver) -> MCPServer[Any]:
    """The MCP server with every tool, acting for whomever ``organization_id_resolver`` names
    at each call (see ``auth``: the local operator, an API key, or the HTTP request's key)."""
    server: MCPServer[Any] = MCPServer(
        "engagebill",
        title="engagebill",
        instructions=INSTRUCTIONS,
        version=__version__,
        # Refusals are the caller's business, not the operator's: warnings and crashes only.
        log_level="WARNING",
    )
    tools = Tools(ctx, organization_id_resolver)
    for name, hints in TOOLS.items():
        method = getattr(tools, name)
        server.add_tool(
            _tool(method),
            name=name,
            description=inspect.getdoc(method),
            annotations=hints,
        )
    return server


class HttpEndpoint:
    """The MCP server over streamable HTTP, for the web application: ``app`` is routed at
    ``/mcp`` behind the API-key guard, and ``lifespan`` runs inside the application's.

    Stateless: each request stands alone and carries its own key, so no session outlives a
    request or could be borrowed by another key, and several web workers need no shared
    state. DNS-rebinding protection (a Host allowlist) is off because the web application is
    served under any public host name, and a rebinding page cannot present the API key.
    """

    def __init__(self, ctx: Context) -> None:
        self.server = build_server(ctx, bearer_caller)
        self.app: ASGIApp = BearerKeyGuard(self._handle, ctx)
        self._manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """Run a session manager as long as the application runs.

        A manager runs only once, so every start of the application gets a new one: a
        test client or a server reload may start the same application again.
        """
        # Building the Starlette app is what creates a manager; requests are routed to the
        # manager itself, so that app is not used.
        self.server.streamable_http_app(
            stateless_http=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager, previous = self.server.session_manager, self._manager
        async with manager.run():
            self._manager = manager
            try:
                yield
            finally:
                self._manager = previous

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._manager is None:
            unavailable = problem(
                503, "mcp.not_running", "the MCP endpoint runs only inside the app's lifespan"
            )
            await unavailable(scope, receive, send)
            return
        await self._manager.handle_request(scope, receive, send)


def http_endpoint(ctx: Context) -> HttpEndpoint:
    """The MCP server for ``Authorization: Bearer ebk_...`` callers over streamable HTTP."""
    return HttpEndpoint(ctx)


__all__ = ["HttpEndpoint", "Tools", "build_server", "http_endpoint", "refusals_as_tool_errors"]
