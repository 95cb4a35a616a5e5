"""Partner pages for webhooks (log, resend, replay) and the "API Tooling" settings (Slack, PagerDuty,
pacing). Every form calls the same service as the API and CLI, and shows its sentence on failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from phoneline.api.deps import get_runtime
from phoneline.dashboard.forms import FormText
from phoneline.dashboard.session import csrf_ok, flash, partner_session
from phoneline.dashboard.templating import render
from phoneline.db.base import utcnow
from phoneline.errors import ApiError
from phoneline.notify import tooling
from phoneline.notify.models import SlackOn
from phoneline.notify.schemas import AlertSettingsUpdate
from phoneline.principal import Principal
from phoneline.reputation.pacing import PacingMode
from phoneline.webhooks import partner_log

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PartnerPage = Annotated[Principal, Depends(partner_session)]
Field = FormText
T = TypeVar("T")
EXPIRED = "Your form expired; please try again."

SLACK_CHOICES = (
    (SlackOn.OFF.value, "Off"),
    (SlackOn.STATUS.value, "On: flags and clears"),
    (SlackOn.STATUS_AND_HEALTH.value, "On: flags, clears and health changes"),
)


async def perform(request: Request, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one partner action in its own transaction (this boundary commits)."""
    async with get_runtime(request).sessions() as session:
        result = await work(session)
        await session.commit()
    return result


def back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --- webhooks ----------------------------------------------------------------------------------------


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(request: Request, partner: PartnerPage) -> HTMLResponse:
    async with get_runtime(request).sessions() as session:
        found = await partner_log.overview(session, partner.partner_id)
    return render(
        request,
        "dashboard/webhooks.html",
        title="Webhooks",
        nav="webhooks",
        subscriptions=found.subscriptions,
        deliveries=found.deliveries,
        targets={subscription.id: subscription.target_url for subscription in found.subscriptions},
    )


@router.post("/webhooks/deliveries/{delivery_id}/resend", response_model=None)
async def resend(request: Request, delivery_id: str, partner: PartnerPage, csrf: Field = "") -> Response:
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back("/dashboard/webhooks")
    try:
        await perform(request, lambda s: partner_log.resend_delivery(s, partner.partner_id, delivery_id))
    except ApiError as error:
        if error.status == 404:
            # Another partner's delivery looks exactly like one that does not exist.
            return render(
                request, "dashboard/not_found.html", status_code=404, title="Not found", message=error.message
            )
        flash(request, error.message, "error")
        return back("/dashboard/webhooks")
    flash(request, "Resend queued: the event goes out again with the same webhook-id.")
    return back("/dashboard/webhooks")


@router.post("/webhooks/replay", response_model=None)
async def replay(
    request: Request, partner: PartnerPage, subscription_id: Field = "", since: Field = "", csrf: Field = ""
) -> Response:
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back("/dashboard/webhooks")
    try:
        queued = await perform(
            request,
            lambda s: partner_log.replay_since(s, partner.partner_id, subscription_id, since, utcnow()),
        )
    except ApiError as error:
        flash(request, error.message, "error")
        return back("/dashboard/webhooks")
    count = len(queued.deliveries)
    flash(request, f"Replay queued {count} event{'s' if count != 1 else ''}.")
    return back("/dashboard/webhooks")


# --- API Tooling settings ------------------------------------------------------------------------------


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, partner: PartnerPage) -> HTMLResponse:
    runtime = get_runtime(request)
    async with runtime.sessions() as session:
        current = await tooling.show_settings(session, runtime.settings, str(partner.partner_id))
    return render(
        request,
        "dashboard/settings.html",
        title="API Tooling",
        nav="settings",
        current=current,
        slack_choices=SLACK_CHOICES,
        pacing_choices=[mode.value for mode in PacingMode],
    )


def _numbers(text: str) -> list[str]:
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


@router.post("/settings", response_model=None)
async def save_settings(
    request: Request,
    partner: PartnerPage,
    slack_on: Field = SlackOn.STATUS.value,
    slack_webhook_url: Field = "",
    remove_slack_webhook_url: Field = "",
    pagerduty_routing_key: Field = "",
    remove_pagerduty_routing_key: Field = "",
    production_lines: Field = "",
    pacing: Field = "",
    csrf: Field = "",
) -> Response:
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back("/dashboard/settings")
    # Credentials are only ever shown redacted, so an empty field keeps the stored one.
    change: dict[str, object] = {"slack_on": slack_on, "production_lines": _numbers(production_lines)}
    if remove_slack_webhook_url:
        change["slack_webhook_url"] = None
    elif slack_webhook_url.strip():
        change["slack_webhook_url"] = slack_webhook_url.strip()
    if remove_pagerduty_routing_key:
        change["pagerduty_routing_key"] = None
    elif pagerduty_routing_key.strip():
        change["pagerduty_routing_key"] = pagerduty_routing_key.strip()
    if pacing:
        change["pacing"] = pacing
    settings = get_runtime(request).settings
    update = AlertSettingsUpdate.model_validate(change)
    try:
        await perform(request, lambda s: tooling.configure(s, settings, str(partner.partner_id), update))
    except ApiError as error:
        flash(request, error.message, "error")
        return back("/dashboard/settings")
    flash(request, "Settings saved.")
    return back("/dashboard/settings")


@router.post("/settings/slack-test", response_model=None)
async def slack_test(request: Request, partner: PartnerPage, csrf: Field = "") -> Response:
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back("/dashboard/settings")
    settings = get_runtime(request).settings
    try:
        async with get_runtime(request).sessions() as session:
            status = await tooling.send_slack_test(session, settings, str(partner.partner_id))
    except ApiError as error:
        flash(request, error.message, "error")
        return back("/dashboard/settings")
    flash(request, f"Test message sent; Slack answered {status}.")
    return back("/dashboard/settings")
