"""Partner pages for webhooks (log, resend, replay) and the "API Tooling" settings (Slack, PagerDuty,
pacing). Every form calls the same service as the API and CLI, and shows its sentence on failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response

from phoneline.dashboard.forms import FormText
from phoneline.dashboard.session import csrf_ok, flash, partner_session
from phoneline.dashboard.templating import list_query, render, render_error
from phoneline.db.base import utcnow
from phoneline.dependencies import get_runtime
from phoneline.errors import ApiError
from phoneline.notify import tooling
from phoneline.notify.models import SlackOn
from phoneline.notify.schemas import AlertSettingsUpdate
from phoneline.paging import PageRequest
from phoneline.policy import PacingMode
from phoneline.principal import Principal
from phoneline.webhooks import partner_log, subscriptions
from phoneline.webhooks.events import EVENT_TYPES
from phoneline.webhooks.models import DeliveryState
from phoneline.webhooks.schemas import SubscriptionCreate, SubscriptionUpdate
from phoneline.webhooks.subscriptions import BY_DASHBOARD

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


# Preselected in the new-subscription form: the events phoneline itself emits.
EMITTED_EVENTS = (
    "phone_number.status_updated", "phone_number.assigned", "phone_number.released",
    "phone_number.forwarding_updated", "message.received", "message.delivered", "message.failed",
    "message.read", "message.sent",
)  # fmt: skip
OUTCOMES = [state.value for state in DeliveryState]


async def _webhooks_page(
    request: Request,
    partner: Principal,
    *,
    event_type: str = "",
    line: str = "",
    state: str = "",
    after: str | None = None,
    before: str | None = None,
    created: tuple[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    filters = {"event_type": event_type.strip(), "line": line.strip(), "state": state.strip()}
    problem = None
    async with get_runtime(request).sessions() as session:
        live = await subscriptions.list_subscriptions(session, partner.partner_id)
        try:
            found = partner_log.delivery_filter(partner.partner_id, **filters)
            log = await partner_log.delivery_log_page(session, found, PageRequest(after=after, before=before))
        except ApiError as error:  # a filter or page link that is not valid: say so, show the first page
            problem = error.message
            log = await partner_log.delivery_log_page(
                session, partner_log.delivery_filter(partner.partner_id), PageRequest()
            )
    return render(
        request,
        "dashboard/webhooks.html",
        status_code=status_code if problem is None else 400,
        title="Webhooks",
        nav="webhooks",
        subscriptions=live,
        log=log,
        filters=filters,
        problem=problem,
        created=created,
        event_types=EVENT_TYPES,
        emitted_events=EMITTED_EVENTS,
        outcomes=OUTCOMES,
        next_link=f"/dashboard/webhooks?{list_query(**filters, after=log.next_cursor)}" if log.next_cursor else None,
        previous_link=(
            f"/dashboard/webhooks?{list_query(**filters, before=log.previous_cursor)}" if log.previous_cursor else None
        ),
    )  # fmt: skip


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(
    request: Request,
    partner: PartnerPage,
    event_type: str = "",
    line: str = "",
    state: str = "",
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The portal: subscriptions and their actions, and the whole delivery log, filtered and paged."""
    return await _webhooks_page(
        request, partner, event_type=event_type, line=line, state=state, after=after, before=before
    )


@router.post("/webhooks/subscriptions", response_model=None)
async def create_subscription(
    request: Request,
    partner: PartnerPage,
    target_url: Field = "",
    events: Annotated[list[str] | None, Form()] = None,
    phone_numbers: Field = "",
    csrf: Field = "",
) -> Response:
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back("/dashboard/webhooks")
    settings = get_runtime(request).settings
    wanted = SubscriptionCreate(
        target_url=target_url.strip(), subscribed_events=events or [], phone_numbers=_numbers(phone_numbers) or None
    )  # fmt: skip
    try:
        subscription, secret = await perform(
            request,
            lambda s: subscriptions.create_subscription(
                s, settings, partner.partner_id, wanted, BY_DASHBOARD
            ),
        )
    except ApiError as error:
        flash(request, error.message, "error")
        return back("/dashboard/webhooks")
    # Rendered, not redirected: the signing secret is shown this once and never put in the cookie.
    return await _webhooks_page(request, partner, created=(subscription.target_url, secret), status_code=201)


@router.get("/webhooks/subscriptions/{subscription_id}", response_class=HTMLResponse)
async def edit_subscription_form(
    request: Request, subscription_id: str, partner: PartnerPage
) -> HTMLResponse:
    try:
        async with get_runtime(request).sessions() as session:
            subscription = await subscriptions.require_subscription(
                session, partner.partner_id, subscription_id
            )
    except ApiError as error:
        return render_error(request, error)
    return render(
        request, "dashboard/subscription.html", title="Edit subscription", nav="webhooks",
        subscription=subscription, event_types=EVENT_TYPES,
    )  # fmt: skip


@router.post("/webhooks/subscriptions/{subscription_id}", response_model=None)
async def update_subscription(
    request: Request,
    subscription_id: str,
    partner: PartnerPage,
    target_url: Field = "",
    events: Annotated[list[str] | None, Form()] = None,
    phone_numbers: Field = "",
    csrf: Field = "",
) -> Response:
    target = f"/dashboard/webhooks/subscriptions/{subscription_id}"
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back(target)
    settings = get_runtime(request).settings
    change = SubscriptionUpdate(
        target_url=target_url.strip(), subscribed_events=events or [], phone_numbers=_numbers(phone_numbers) or None
    )  # fmt: skip
    try:
        await perform(
            request,
            lambda s: subscriptions.update_subscription(
                s, settings, partner.partner_id, subscription_id, change, BY_DASHBOARD
            ),
        )
    except ApiError as error:
        if error.status == 404:
            return render_error(request, error)
        flash(request, error.message, "error")
        return back(target)
    flash(request, "Subscription saved.")
    return back("/dashboard/webhooks")


@router.post("/webhooks/subscriptions/{subscription_id}/{action}", response_model=None)
async def subscription_action(
    request: Request,
    subscription_id: str,
    action: str,
    partner: PartnerPage,
    event_type: Field = "",
    confirmed: Field = "",
    csrf: Field = "",
) -> Response:
    """pause, resume, delete (after a confirmation page) and test (one test event of a chosen type)."""
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back("/dashboard/webhooks")
    settings = get_runtime(request).settings
    pid = partner.partner_id
    try:
        if action in ("pause", "resume"):
            change = SubscriptionUpdate(is_active=action == "resume")
            await perform(
                request,
                lambda s: subscriptions.update_subscription(
                    s, settings, pid, subscription_id, change, BY_DASHBOARD
                ),
            )
            flash(request, "Subscription paused: nothing is delivered until you resume it (replay fills the gap)."
                  if action == "pause" else "Subscription resumed.")  # fmt: skip
        elif action == "delete" and confirmed != "yes":
            async with get_runtime(request).sessions() as session:
                subscription = await subscriptions.require_subscription(session, pid, subscription_id)
            return render(
                request, "dashboard/confirm_delete.html", title="Delete subscription", nav="webhooks",
                subscription=subscription,
            )  # fmt: skip
        elif action == "delete":
            await perform(
                request, lambda s: subscriptions.delete_subscription(s, pid, subscription_id, BY_DASHBOARD)
            )
            flash(request, "Subscription deleted; its delivery log stays readable below.")
        elif action == "test":
            queued = await perform(
                request, lambda s: partner_log.send_test_event(s, pid, subscription_id, event_type)
            )
            [delivery] = queued.deliveries
            return back(f"/dashboard/webhooks/deliveries/{delivery.id}")
        else:
            flash(request, f"Unknown action '{action}'.", "error")
    except ApiError as error:
        if error.status == 404:
            return render_error(request, error)
        flash(request, error.message, "error")
    return back("/dashboard/webhooks")


@router.get("/webhooks/deliveries/{delivery_id}", response_class=HTMLResponse)
async def delivery_page(request: Request, delivery_id: str, partner: PartnerPage) -> HTMLResponse:
    """One delivery opened: its payload, headers, every attempt, and what it waits behind."""
    try:
        async with get_runtime(request).sessions() as session:
            detail = await partner_log.delivery_detail(session, partner.partner_id, delivery_id)
    except ApiError as error:
        return render_error(request, error)
    return render(
        request, "dashboard/delivery.html", title="Delivery", nav="webhooks", detail=detail,
        delivery_path="/dashboard/webhooks/deliveries",
    )  # fmt: skip


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


@router.post("/settings/pagerduty-test", response_model=None)
async def pagerduty_test(request: Request, partner: PartnerPage, csrf: Field = "") -> Response:
    """A test incident with the partner's routing key, resolved at once."""
    if not csrf_ok(request, csrf):
        flash(request, EXPIRED, "error")
        return back("/dashboard/settings")
    settings = get_runtime(request).settings
    try:
        async with get_runtime(request).sessions() as session:
            triggered, resolved = await tooling.send_pagerduty_test(
                session, settings, str(partner.partner_id)
            )
    except ApiError as error:
        flash(request, error.message, "error")
        return back("/dashboard/settings")
    flash(
        request,
        f"Test incident sent and resolved; PagerDuty answered {triggered} to the trigger and {resolved} to the resolve.",
    )
    return back("/dashboard/settings")
