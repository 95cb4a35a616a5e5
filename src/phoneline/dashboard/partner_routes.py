"""Partner pages: log in with an API key, see every line at a glance, drill into one line."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from phoneline.chats import repository as chats_repository
from phoneline.chats.hourly import hourly_activity
from phoneline.clock import SystemClock
from phoneline.dashboard.charts import daily_chart, health_band, health_trend, hourly_chart
from phoneline.dashboard.export import csv_response, csv_row
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
from phoneline.dashboard.templating import list_query, render, render_error, too_many_attempts
from phoneline.db.base import as_utc, utcnow
from phoneline.dependencies import get_runtime
from phoneline.errors import ApiError
from phoneline.lines import schemas, service
from phoneline.lines.models import HistoryField
from phoneline.lines.schemas import PacingOut
from phoneline.paging import EXPORT_BATCH, PageRequest
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


TREND_DAYS = 7
CSV_COLUMNS = ("number", "status", "health", "type", "forwarding_number", "last_change", "flag_reason")


def today_label(view: PacingOut) -> str:
    new = view.new_conversations
    allowance = f"/{new.limit}" if new.limit is not None else ""
    return f"{view.messages.used}/{view.messages.limit} msgs · {new.used}{allowance} new chats"


async def _lines_context(
    request: Request,
    partner: Principal,
    q: str,
    status: str | None,
    health: str | None,
    after: str | None,
    before: str | None,
) -> dict[str, Any]:
    runtime = get_runtime(request)
    found = service.line_filter(q, status, health)
    now = utcnow()
    async with runtime.sessions() as session:
        page = await service.page_partner_lines(
            session, partner.partner_id, found, PageRequest(after=after, before=before)
        )
        counts = await service.partner_line_counts(session, partner.partner_id)
        changed = await service.last_change_times(session, page.items)
        timelines = await service.health_timelines(
            session, partner.partner_id, page.items, now - timedelta(days=TREND_DAYS)
        )
        pacing = await pacing_views(session, partner.partner_id, page.items, runtime.settings, now)
        account = await get_partner(session, partner.partner_id)
    filters = {"q": q.strip(), "status": found.status, "health": found.health}
    return {
        "pace": {line_id: today_label(view) for line_id, view in pacing.items()},
        "trends": {line_id: health_trend(steps, now) for line_id, steps in timelines.items()},
        "lines": [
            (line, schemas.phone_number(line, runtime.settings.base_url), changed.get(line.id))
            for line in page.items
        ],
        "page": page,
        "next_link": f"/dashboard?{list_query(**filters, after=page.next_cursor)}"
        if page.next_cursor
        else None,
        "previous_link": (
            f"/dashboard?{list_query(**filters, before=page.previous_cursor)}"
            if page.previous_cursor
            else None
        ),
        "csv_link": f"/dashboard/lines.csv?{list_query(**filters)}",
        "refresh_link": f"/dashboard/lines/table?{list_query(**filters, after=after, before=before)}",
        "total": counts.total,
        "flagged": counts.flagged,
        "unhealthy": counts.unhealthy,
        "q": filters["q"],
        "status": found.status or "",
        "health": found.health or "",
        "statuses": STATUSES,
        "healths": HEALTHS,
        "trend_days": TREND_DAYS,
        "partner_name": account.name if account else "",
    }


async def _lines_page(request: Request, template: str, context: Awaitable[dict[str, Any]]) -> HTMLResponse:
    try:
        found = await context
    except ApiError as error:  # a page link that is not valid (edited by hand)
        return render(
            request,
            "dashboard/not_found.html",
            status_code=error.status,
            title="Lines",
            message=error.message,
        )
    return render(request, template, title="Lines", nav="lines", **found)


@router.get("", response_class=HTMLResponse)
async def lines_page(
    request: Request,
    partner: PartnerPage,
    q: str = "",
    status: str | None = None,
    health: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """Search by number, filter by status and health, 100 lines a page."""
    context = _lines_context(request, partner, q, status, health, after, before)
    return await _lines_page(request, "dashboard/lines.html", context)


@router.get("/lines/table", response_class=HTMLResponse)
async def lines_table(
    request: Request,
    partner: PartnerPage,
    q: str = "",
    status: str | None = None,
    health: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """The table alone, for the page's auto-refresh (no full reload)."""
    context = _lines_context(request, partner, q, status, health, after, before)
    return await _lines_page(request, "dashboard/_lines_table.html", context)


@router.get("/lines.csv")
async def lines_csv(
    request: Request, partner: PartnerPage, q: str = "", status: str | None = None, health: str | None = None
) -> StreamingResponse:
    """Every line the filters match (not just one page), as CSV."""
    runtime = get_runtime(request)
    found = service.line_filter(q, status, health)

    async def rows() -> AsyncIterator[str]:
        yield csv_row(CSV_COLUMNS)
        cursor: str | None = None
        while True:
            async with runtime.sessions() as session:
                page = await service.page_partner_lines(
                    session, partner.partner_id, found, PageRequest(after=cursor, limit=EXPORT_BATCH)
                )
                changed = await service.last_change_times(session, page.items)
            for line in page.items:
                last = changed.get(line.id)
                yield csv_row(
                    (line.number, line.status, line.health_status, line.line_type,
                     line.forwarding_number or "", as_utc(last).isoformat() if last else "",
                     line.flag_reason or "")
                )  # fmt: skip
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return csv_response(rows(), "lines.csv")


WORST_CHATS = 15
CHART_DAYS = 30


HOURLY_HOURS = 48


@router.get("/lines/{line_id}", response_class=HTMLResponse)
async def line_page(request: Request, line_id: str, partner: PartnerPage) -> HTMLResponse:
    runtime = get_runtime(request)
    now = utcnow()
    today = now.date()
    try:
        async with runtime.sessions() as session:
            line, history = await service.partner_line_detail(session, partner.partner_id, line_id)
            days = await chats_repository.line_daily_activity(
                session, partner.partner_id, line.id, today - timedelta(days=CHART_DAYS - 1)
            )
            hours = await hourly_activity(session, partner.partner_id, line.id, now, HOURLY_HOURS)
            timeline = await service.health_timelines(
                session, partner.partner_id, [line], now - timedelta(days=CHART_DAYS)
            )
            audit = await reputation_repository.latest_partner_audit(session, partner.partner_id, line.id)
            worst = await chats_repository.worst_chats(
                session, partner.partner_id, line.id, limit=WORST_CHATS
            )
    except ApiError as error:
        return render_error(request, error)
    transitions = [row for row in history if row.field == HistoryField.HEALTH.value]
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
        hourly=hourly_chart(hours),
        history_limit=service.PARTNER_HISTORY_LIMIT,
        hourly_hours=HOURLY_HOURS,
        chart_days=CHART_DAYS,
        band=health_band(timeline[line.id], now),
        band_since=timeline[line.id][0][0],
        transitions=[(row, drivers_of(row.reason)) for row in transitions],
        audit=audit,
        drivers=line.health_drivers or [],
        worst_chats=worst,
    )


def drivers_of(reason: str | None) -> list[str]:
    """The drivers a health change was recorded with ("key: metric; key: metric")."""
    if not reason:
        return []
    return [part.strip() for part in reason.split(";") if part.strip()]


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
