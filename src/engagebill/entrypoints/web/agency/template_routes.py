"""Invoice templates: the list, a new draft from one, and deleting one."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from engagebill.entrypoints.web.agency.pages import Outcome, act, protected_router, render
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of
from engagebill.services import reuse

router = protected_router()


@router.get("/templates", name="app.templates", response_class=HTMLResponse)
def template_list(request: Request, signed_in: CurrentUser) -> HTMLResponse:
    templates = reuse.list_templates(context_of(request), organization_id=signed_in.organization_id)
    return render(request, "app/templates.html", title="Invoice templates", templates=templates)


@router.post("/templates/{template_id}/draft")
def draft_from_template(
    request: Request, signed_in: CurrentUser, template_id: str
) -> RedirectResponse:
    return act(
        request,
        lambda: reuse.draft_from_template(
            context_of(request),
            organization_id=signed_in.organization_id,
            template_id=template_id,
        ),
        back="/templates",
        outcome=lambda result: Outcome(
            "New draft created from the template. Check its lines, then send it.",
            to=f"/invoices/{result.invoice.id}/edit",
        ),
    )


@router.post("/templates/{template_id}/delete")
def delete_template(request: Request, signed_in: CurrentUser, template_id: str) -> RedirectResponse:
    return act(
        request,
        lambda: reuse.delete_template(
            context_of(request),
            organization_id=signed_in.organization_id,
            template_id=template_id,
        ),
        back="/templates",
        outcome=lambda _: Outcome("Template deleted. Drafts made from it are unchanged."),
    )
