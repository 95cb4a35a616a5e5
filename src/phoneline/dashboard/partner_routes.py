"""Partner pages: log in with an API key, see every line at a glance, drill into one line."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from phoneline.api.deps import get_runtime
from phoneline.chats import repository as chats_repository
from phoneline.clock import SystemClock
from phoneline.dashboard.charts import daily_chart
from phoneline.dashboard.session import (
    csrf_ok,
    flash,
    log_in_partner,
    log_out,
    login_failed,
    login_retry_after,
    partner_account,
    partner_session,
    principal_for_key,
)
from phoneline.dashboard.templating import render, render_error, too_many_attempts
from phoneline.db.base import utcnow
from phoneline.errors import ApiError
from phoneline.lines import schemas, service
from phoneline.partners.repository import get_partner
from phoneline.principal import Principal
from phoneline.reputation import audits
from phoneline.reputation import repository as reputation_repository
from phoneline.reputation.pacing_guard import pacing_views

router = APIRouter(prefix="/dashboard", include_in_schema=False)
PartnerPage = Annotated[Principal, Depends(partner_session)]

STATUSES = ("ACTIVE", "FLAGGED")
HEALTHS = ("HEALTHY", "AT_RISK", "CRITICAL")


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return render(request, "dashboard/login.html", title="Log in", action="/dashboard/login", who="partner")


@router.post("/login", response_model=None)
async def login(
    request: Request, api_key: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = ""
) -> Response:
    if not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
        return RedirectResponse("/dashboard/login", status_code=303)
    account = partner_account(api_key)
    wait = await login_retry_after(request, account)
    if wait is not None:
        return too_many_attempts(request, wait, action="/dashboard/login", who="partner")
    principal = await principal_for_key(request, api_key) if api_key.strip() else None
    if principal is None:
        await login_failed(request, account)
        flash(request, "Invalid or revoked API key.", "error")
        return RedirectResponse("/dashboard/login", status_code=303)
    await log_in_partner(request, principal)
    return RedirectResponse("/dashboard", status_code=303)


@router.post("/logout", response_model=None)
async def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    if csrf_ok(request, csrf):
        await log_out(request)
    return RedirectResponse("/dashboard/login", status_code=303)


async def _lines_context(
    request: Request, partner: Principal, status: str | None, health: str | None
) -> dict[str, Any]:
    runtime = get_runtime(request)
    async with runtime.sessions() as session:
        lines = await service.list_partner_lines(session, partner.partner_id)
        changed = await service.last_change_times(session, lines)
        pacing = await pacing_views(session, partner.partner_id, lines, runtime.settings, utcnow())
        account = await get_partner(session, partner.partner_id)
    shown = [
        line
        for line in lines
        if (status not in STATUSES or line.status == status)
        and (health not in HEALTHS or line.health_status == health)
    ]
    pace = {
        line_id: f"{view.messages.used} msgs · {view.new_conversations.used}"
        + (f"/{view.new_conversations.limit}" if view.new_conversations.limit is not None else "")
        + " new"
        for line_id, view in pacing.items()
    }
    return {
        "pace": pace,
        "lines": [
            (line, schemas.phone_number(line, runtime.settings.base_url), changed.get(line.id))
            for line in shown
        ],
        "total": len(lines),
        "flagged": sum(line.status == "FLAGGED" for line in lines),
        "unhealthy": sum(line.health_status != "HEALTHY" for line in lines),
        "status": status if status in STATUSES else "",
        "health": health if health in HEALTHS else "",
        "statuses": STATUSES,
        "healths": HEALTHS,
        "partner_name": account.name if account else "",
    }


@router.get("", response_class=HTMLResponse)
async def lines_page(
    request: Request, partner: PartnerPage, status: str | None = None, health: str | None = None
) -> HTMLResponse:
    context = await _lines_context(request, partner, status, health)
    return render(request, "dashboard/lines.html", title="Lines", nav="lines", **context)


@router.get("/lines/table", response_class=HTMLResponse)
async def lines_table(
    request: Request, partner: PartnerPage, status: str | None = None, health: str | None = None
) -> HTMLResponse:
    """The table alone, for the page's auto-refresh (no full reload)."""
    context = await _lines_context(request, partner, status, health)
    return render(request, "dashboard/_lines_table.html", **context)


WORST_CHATS = 15
CHART_DAYS = 30


@router.get("/lines/{line_id}", response_class=HTMLResponse)
async def line_page(request: Request, line_id: str, partner: PartnerPage) -> HTMLResponse:
    runtime = get_runtime(request)
    today = utcnow().date()
    try:
        async with runtime.sessions() as session:
            line, history = await service.partner_line_detail(session, partner.partner_id, line_id)
            days = await chats_repository.line_daily_activity(
                session, partner.partner_id, line.id, today - timedelta(days=CHART_DAYS - 1)
            )
            audit = await reputation_repository.latest_partner_audit(session, partner.partner_id, line.id)
            worst = await chats_repository.worst_chats(
                session, partner.partner_id, line.id, limit=WORST_CHATS
            )
    except ApiError as error:
        return render_error(request, error)
    return render(
        request,
        "dashboard/line.html",
        title=line.number,
        nav="lines",
        line=line,
        view=schemas.phone_number(line, runtime.settings.base_url),
        history=history,
        me=str(partner.partner_id),
        chart=daily_chart(days, today, CHART_DAYS),
        audit=audit,
        drivers=line.health_drivers or [],
        worst_chats=worst,
    )


@router.post("/lines/{line_id}/audit", response_model=None)
async def run_audit(
    request: Request,
    line_id: str,
    partner: PartnerPage,
    background: BackgroundTasks,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    target = f"/dashboard/lines/{line_id}"
    if not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
        return RedirectResponse(target, status_code=303)
    runtime = get_runtime(request)
    policy = runtime.settings.reputation
    try:
        async with runtime.sessions() as session:
            line, _history = await service.partner_line_detail(session, partner.partner_id, line_id)
            await audits.start_audit(session, partner.partner_id, line.number, policy, SystemClock().now())
            await session.commit()
    except ApiError as error:
        if error.status == 404:
            return render_error(request, error)
        flash(request, error.message, "error")
        return RedirectResponse(target, status_code=303)
    # As in the API: generated right after the response; the reputation worker catches any left pending.
    background.add_task(audits.complete_pending, runtime.sessions, policy, SystemClock())
    flash(request, "Audit started; the report appears here in a moment.")
    return RedirectResponse(target, status_code=303)
