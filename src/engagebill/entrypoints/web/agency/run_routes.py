"""The billing run page: plan what goes out as of a date, then execute it and watch it go.

* ``GET /run?as_of=`` shows ``billing_run.plan_run``: how many invoices, the numbers they will
  get in order, whose PO each one needs, lines and totals, warnings and notices.
* ``POST /run`` (CSRF) executes ``billing_run.execute_run``. From the page's script (which
  asks for JSON) it starts the run in a background thread and answers with the run's id; the
  script polls ``GET /run/progress/{run_id}`` and updates a ``<progress>`` element. Without a
  script the run happens during the request and the browser is redirected to the result.
* ``GET /run/runs/{run_id}`` shows the result: created, sent, kept as draft (with the reason)
  and skipped (taken by another run).

Runs are kept in this process's memory (``RunBoard``), a bounded number of them: a result is
a receipt to look at right after the run, not a record (the invoices and their events are).
Each run belongs to the organization that started it; another organization's id is a 404.
Running twice is harmless: execution is idempotent by billing key.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from engagebill.domain.billing import PlannedInvoice
from engagebill.domain.errors import DomainError, NotFound, ValidationError
from engagebill.domain.money import Money
from engagebill.entrypoints.web.agency.forms import parse_day
from engagebill.entrypoints.web.agency.pages import protected_router, redirect, render, with_query
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of
from engagebill.services import billing_run, queries
from engagebill.services.billing_run import RunResult
from engagebill.services.ports import Context

router = protected_router()
log = logging.getLogger(__name__)

KEPT_RUNS = 100  # results kept per process; older ones are forgotten first
# Invoices per transaction; progress is reported after each batch, so a big run moves the bar
# in steps a person can see, while each engagement still commits all or nothing.
BATCH_SIZE = 25


@dataclass(slots=True)
class RunJob:
    """One execution, as the progress endpoint and the result page see it."""

    id: str
    organization_id: str
    as_of: date
    done: int = 0
    total: int = 0
    finished: bool = False
    error: str = ""
    result: RunResult | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, done: int, total: int) -> None:
        with self.lock:
            self.done, self.total = done, total

    def snapshot(self) -> dict[str, object]:
        with self.lock:
            return {
                "run_id": self.id,
                "done": self.done,
                "total": self.total,
                "finished": self.finished,
                "failed": bool(self.error),
                "error": self.error,
                "result_url": result_url(self.id),
            }


class RunBoard:
    """The runs of this process, newest last, at most ``KEPT_RUNS``."""

    def __init__(self) -> None:
        self._runs: OrderedDict[str, RunJob] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, organization_id: str, as_of: date) -> RunJob:
        job = RunJob(secrets.token_urlsafe(16), organization_id, as_of)
        with self._lock:
            self._runs[job.id] = job
            while len(self._runs) > KEPT_RUNS:
                self._runs.popitem(last=False)
        return job

    def get(self, organization_id: str, run_id: str) -> RunJob:
        with self._lock:
            job = self._runs.get(run_id)
        if job is None or job.organization_id != organization_id:
            raise NotFound("no such billing run", code="billing_run.not_found")
        return job


_BOARD_LOCK = threading.Lock()


def board_of(request: Request) -> RunBoard:
    """The app's run board, created on first use (one per application, per process)."""
    with _BOARD_LOCK:
        board = getattr(request.app.state, "billing_runs", None)
        if not isinstance(board, RunBoard):
            board = RunBoard()
            request.app.state.billing_runs = board
    return board


def result_url(run_id: str) -> str:
    return f"/run/runs/{run_id}"


def execute(ctx: Context, job: RunJob) -> None:
    """Run the job to its end, recording the result or why it failed."""
    try:
        result = billing_run.execute_run(
            ctx,
            organization_id=job.organization_id,
            as_of=job.as_of,
            progress=job.report,
            batch_size=BATCH_SIZE,
        )
    except DomainError as refused:
        with job.lock:
            job.error, job.finished = refused.message, True
        return
    except Exception:  # a background thread has nobody else to tell: log, and say so
        log.exception("billing run %s failed", job.id)
        with job.lock:
            job.error, job.finished = "The run failed; nothing after the failure was created.", True
        return
    with job.lock:
        job.result, job.finished = result, True
        job.done = job.total = max(job.total, result.planned)


# --- the plan ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CurrencyTotal:
    currency: str
    count: int
    net: Money
    gross: Money


def plan_totals(planned: list[PlannedInvoice]) -> list[CurrencyTotal]:
    """What the plan adds up to, per currency (amounts in different currencies never add)."""
    sums: dict[str, CurrencyTotal] = {}
    for p in planned:
        totals = p.totals()
        zero = Money.zero(p.currency)
        before = sums.get(p.currency, CurrencyTotal(p.currency, 0, zero, zero))
        sums[p.currency] = CurrencyTotal(
            p.currency, before.count + 1, before.net + totals.net, before.gross + totals.gross
        )
    return [sums[c] for c in sorted(sums)]


def _as_of(value: str, today: date) -> tuple[date, str]:
    try:
        return parse_day(value, "Run date") or today, ""
    except ValidationError as refused:
        return today, refused.message


@router.get("/run", name="app.billing_run", response_class=HTMLResponse)
def run_page(request: Request, signed_in: CurrentUser, as_of: str = "") -> HTMLResponse:
    ctx = context_of(request)
    day, error = _as_of(as_of, ctx.clock.today())
    view = billing_run.plan_run(ctx, organization_id=signed_in.organization_id, as_of=day)
    return render(
        request,
        "app/run.html",
        status=422 if error else 200,
        title="Billing run",
        as_of=day,
        view=view,
        rows=view.rows(),
        totals=plan_totals(view.plan.invoices),
        error=error,
    )


FormText = Annotated[str, Form()]


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post("/run", response_model=None)
def run_execute(request: Request, signed_in: CurrentUser, as_of: FormText = "") -> Response:
    ctx = context_of(request)
    try:
        day = parse_day(as_of, "Run date")
    except ValidationError as refused:
        if _wants_json(request):
            return JSONResponse({"error": refused.message}, status_code=422)
        return redirect(request, "/run", refused=refused.message)
    if day is None:  # the form always sends the date it planned; never run a guessed one
        message = "Choose the date to run the billing for."
        if _wants_json(request):
            return JSONResponse({"error": message}, status_code=422)
        return redirect(request, "/run", refused=message)
    job = board_of(request).start(signed_in.organization_id, day)
    if _wants_json(request):
        thread = threading.Thread(
            target=execute, args=(ctx, job), name=f"billing-run-{job.id}", daemon=True
        )
        thread.start()
        return JSONResponse(
            {**job.snapshot(), "progress_url": f"/run/progress/{job.id}"}, status_code=202
        )
    execute(ctx, job)  # no script to watch a bar: run now, then show the result
    if job.error:
        return redirect(request, with_query("/run", as_of=day.isoformat()), refused=job.error)
    return redirect(request, result_url(job.id), done=_summary(job.result))


def _summary(result: RunResult | None) -> str:
    if result is None:
        return ""
    return (
        f"Billing run done: {len(result.created)} created, {len(result.sent)} sent, "
        f"{len(result.held)} kept as draft, {len(result.skipped)} skipped."
    )


@router.get("/run/progress/{run_id}", name="app.billing_run_progress")
def run_progress(request: Request, signed_in: CurrentUser, run_id: str) -> JSONResponse:
    try:
        job = board_of(request).get(signed_in.organization_id, run_id)
    except NotFound:
        return JSONResponse({"error": "no such billing run"}, status_code=404)
    response = JSONResponse(job.snapshot())
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/run/runs/{run_id}", name="app.billing_run_result", response_class=HTMLResponse)
def run_result(request: Request, signed_in: CurrentUser, run_id: str) -> HTMLResponse:
    job = board_of(request).get(signed_in.organization_id, run_id)
    engagements = {
        e.id: e.name
        for e in queries.list_engagements(
            context_of(request), organization_id=signed_in.organization_id, limit=100_000
        )
    }
    result = job.result
    created = result.created if result else []
    sent_by_id = {i.id: i for i in result.sent} if result else {}
    reasons = dict(result.held) if result else {}
    return render(
        request,
        "app/run_result.html",
        title="Billing run result",
        job=job,
        progress=job.snapshot(),
        result=result,
        created=created,
        sent_by_id=sent_by_id,
        reasons=reasons,
        engagements=engagements,
    )
