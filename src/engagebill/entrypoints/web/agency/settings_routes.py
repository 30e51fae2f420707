"""The organization's settings in the agency's app: how its emails go out (the invoice PDF
attached or not, the chase of unopened invoices, overdue reminders) and the webhook endpoints
its events are delivered to. A new endpoint's signing secret is shown once, on the answer to
the form that registered it, and never again."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from engagebill.domain.delivery import WEBHOOK_EVENTS, WebhookEndpoint
from engagebill.domain.errors import DomainError, NotFound
from engagebill.entrypoints.web.agency.forms import parse_int
from engagebill.entrypoints.web.agency.pages import (
    Outcome,
    act,
    protected_router,
    redirect,
    render,
)
from engagebill.entrypoints.web.agency.session import CurrentUser, context_of, form_of
from engagebill.services import delivery

router = protected_router()
FormText = Annotated[str, Form()]
SETTINGS = "/settings"


@router.get(SETTINGS, name="app.settings", response_class=HTMLResponse)
def settings_page(request: Request, signed_in: CurrentUser) -> HTMLResponse:
    return _page(request, signed_in)


def _page(
    request: Request, signed_in: CurrentUser, registered: WebhookEndpoint | None = None
) -> HTMLResponse:
    ctx = context_of(request)
    organization_id = signed_in.organization_id
    return render(
        request,
        "app/settings.html",
        title="Settings",
        delivery=delivery.delivery_settings(ctx, organization_id=organization_id),
        endpoints=delivery.list_webhooks(
            ctx, organization_id=organization_id, include_removed=True
        ),
        events=sorted(WEBHOOK_EVENTS),
        registered=registered,
    )


@router.post(f"{SETTINGS}/delivery")
def save_delivery(
    request: Request,
    signed_in: CurrentUser,
    unopened_after_days: FormText = "",
    attach_pdf: FormText = "",
    overdue_reminders: FormText = "",
) -> RedirectResponse:
    """The form sends every field: an unticked box is "no"."""
    return act(
        request,
        lambda: delivery.update_delivery_settings(
            context_of(request),
            organization_id=signed_in.organization_id,
            attach_pdf=attach_pdf == "on",
            unopened_after_days=parse_int(unopened_after_days, "Chase after", 3),
            overdue_reminders=overdue_reminders == "on",
        ),
        back=SETTINGS,
        outcome=lambda settings: Outcome(
            "Saved: invoice emails "
            + ("carry" if settings.attach_pdf else "do not carry")
            + f" the PDF, unopened invoices are chased after {settings.unopened_after_days} "
            "days, overdue reminders are " + ("on." if settings.overdue_reminders else "off.")
        ),
    )


@router.post(f"{SETTINGS}/webhooks", response_model=None)
def register_webhook(request: Request, signed_in: CurrentUser, url: FormText = "") -> Response:
    """Answered with the settings page itself rather than a redirect: the signing secret is
    shown on this answer only, and never travels in a cookie or a URL."""
    try:
        endpoint = delivery.register_webhook(
            context_of(request),
            organization_id=signed_in.organization_id,
            url=url,
            events=[e for e in form_of(request).getlist("events") if isinstance(e, str)],
        )
    except NotFound:
        raise
    except DomainError as error:
        return redirect(request, SETTINGS, refused=error.message)
    return _page(request, signed_in, registered=endpoint)


@router.post(f"{SETTINGS}/webhooks/{{endpoint_id}}/remove")
def remove_webhook(request: Request, signed_in: CurrentUser, endpoint_id: str) -> RedirectResponse:
    return act(
        request,
        lambda: delivery.remove_webhook(
            context_of(request),
            organization_id=signed_in.organization_id,
            endpoint_id=endpoint_id,
        ),
        back=SETTINGS,
        outcome=lambda endpoint: Outcome(
            f"Removed: nothing new goes to {endpoint.url} (what was queued still goes out)."
        ),
    )
