"""Operator console: partners and keys, lines across partners, and every operator action on a line.

Each form calls the same service the CLI and admin API call; errors come back as the same sentence.
A little over our usual length: the console's pages share one login, confirmation and form plumbing
here, and splitting them by page would spread it across files.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from phoneline.dashboard.export import csv_response, csv_row
from phoneline.dashboard.forms import FormText, SearchText
from phoneline.dashboard.session import (
    OPERATOR_ACCOUNT,
    csrf_ok,
    flash,
    log_in_operator,
    log_out,
    login_failed,
    login_retry_after,
    operator_session,
)
from phoneline.dashboard.templating import list_query, render, render_error, too_many_attempts
from phoneline.db.base import as_utc, utcnow
from phoneline.dependencies import get_runtime
from phoneline.errors import ApiError
from phoneline.lines import service as lines
from phoneline.lines.models import HealthStatus, LineStatus
from phoneline.paging import EXPORT_BATCH, Page, PageRequest
from phoneline.partners import service as partners
from phoneline.webhooks import operations, partner_log
from phoneline.webhooks.events import EVENT_TYPES
from phoneline.webhooks.models import DeliveryState
from phoneline.worker import jobs_overview

router = APIRouter(prefix="/console", include_in_schema=False)
Operator = Annotated[str, Depends(operator_session)]
T = TypeVar("T")
Csrf = FormText


async def perform(request: Request, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one operator action in its own transaction (this boundary commits)."""
    runtime = get_runtime(request)
    async with runtime.sessions() as session:
        result = await work(session)
        await session.commit()
    runtime.line_lists.clear()
    runtime.api_keys.clear()
    return result


def back(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return render(
        request, "dashboard/login.html", title="Operator log in", action="/console/login", who="operator"
    )


@router.post("/login", response_model=None)
async def login(request: Request, token: Annotated[str, Form()] = "", csrf: Csrf = "") -> Response:
    expected = get_runtime(request).settings.admin_token
    if not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
    elif expected is None:
        flash(request, "The console is disabled; set PHONELINE_ADMIN_TOKEN to enable it.", "error")
    elif (wait := await login_retry_after(request, OPERATOR_ACCOUNT)) is not None:
        return too_many_attempts(request, wait, action="/console/login", who="operator")
    elif not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        await login_failed(request, OPERATOR_ACCOUNT)
        flash(request, "Missing or invalid admin token.", "error")
    else:
        await log_in_operator(request)
        return back("/console")
    return back("/console/login")


@router.post("/logout", response_model=None)
async def logout(request: Request, csrf: Csrf = "") -> Response:
    if csrf_ok(request, csrf):
        await log_out(request)
    return back("/console/login")


def _list_links(path: str, page: Page[Any], **filters: str) -> dict[str, str | None]:
    return {
        "next_link": f"{path}?{list_query(**filters, after=page.next_cursor)}" if page.next_cursor else None,
        "previous_link": (
            f"{path}?{list_query(**filters, before=page.previous_cursor)}" if page.previous_cursor else None
        ),
        "csv_link": f"{path}.csv?{list_query(**filters)}",
    }


async def _partners_page(
    request: Request,
    issued: dict[str, Any] | None = None,
    q: str = "",
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    runtime = get_runtime(request)
    try:
        async with runtime.sessions() as session:
            page = await partners.page_partners(session, q, PageRequest(after=after, before=before))
            counts = await lines.line_counts_by_partner(session, [p.id for p in page.items])
    except ApiError as error:
        return render_error(request, error)
    return render(
        request,
        "console/partners.html",
        title="Partners",
        nav="partners",
        partners=page.items,
        counts=counts,
        issued=issued,
        q=q.strip(),
        links=_list_links("/console/partners", page, q=q.strip()),
    )


@router.get("", response_class=HTMLResponse)
async def partners_page(
    request: Request, _operator: Operator, q: str = "", after: str | None = None, before: str | None = None
) -> HTMLResponse:
    return await _partners_page(request, q=q, after=after, before=before)


@router.get("/partners", response_class=HTMLResponse)
async def partners_list(
    request: Request, _operator: Operator, q: str = "", after: str | None = None, before: str | None = None
) -> HTMLResponse:
    return await _partners_page(request, q=q, after=after, before=before)


@router.get("/partners.csv")
async def partners_csv(request: Request, _operator: Operator, q: str = "") -> StreamingResponse:
    runtime = get_runtime(request)

    async def rows() -> AsyncIterator[str]:
        yield csv_row(("id", "name", "lines", "pacing", "created_at"))
        cursor: str | None = None
        while True:
            async with runtime.sessions() as session:
                page = await partners.page_partners(session, q, PageRequest(after=cursor, limit=EXPORT_BATCH))
                counts = await lines.line_counts_by_partner(session, [p.id for p in page.items])
            for partner in page.items:
                yield csv_row(
                    (partner.id, partner.name, counts.get(partner.id, 0), partner.pacing_mode,
                     as_utc(partner.created_at).isoformat())
                )  # fmt: skip
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return csv_response(rows(), "partners.csv")


@router.post("/partners", response_model=None)
async def create_partner(
    request: Request, _operator: Operator, name: FormText = "", csrf: Csrf = ""
) -> Response:
    if not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
        return back("/console")
    try:
        partner, issued = await perform(request, lambda s: partners.create_partner(s, name))
    except ApiError as error:
        flash(request, error.message, "error")
        return back("/console")
    # Rendered, not redirected: the key is shown this once and never stored in the cookie.
    return await _partners_page(request, {"partner": partner.name, "api_key": issued.plaintext})


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
async def partner_page(request: Request, partner_id: str, _operator: Operator) -> HTMLResponse:
    return await _partner_detail(request, partner_id)


async def _partner_detail(request: Request, partner_id: str, issued: str | None = None) -> HTMLResponse:
    runtime = get_runtime(request)
    try:
        async with runtime.sessions() as session:
            partner = await partners.require_partner(session, partner_id)
            keys = await partners.list_keys(session, partner.id)
            owned = await lines.list_lines(session, str(partner.id))
    except ApiError as error:
        return render_error(request, error)
    return render(
        request,
        "console/partner.html",
        title=partner.name,
        nav="partners",
        partner=partner,
        keys=keys,
        lines=owned,
        issued=issued,
    )


@router.post("/partners/{partner_id}/keys", response_model=None)
async def create_key(request: Request, partner_id: str, _operator: Operator, csrf: Csrf = "") -> Response:
    if not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
        return back(f"/console/partners/{partner_id}")
    try:
        issued = await perform(request, lambda s: partners.create_key(s, partner_id))
    except ApiError as error:
        flash(request, error.message, "error")
        return back(f"/console/partners/{partner_id}")
    return await _partner_detail(request, partner_id, issued.plaintext)


@router.post("/keys/{key_id}/revoke", response_model=None)
async def revoke_key(
    request: Request, key_id: str, _operator: Operator, csrf: Csrf = "", partner_id: Csrf = ""
) -> Response:
    target = f"/console/partners/{partner_id}" if partner_id else "/console"
    if not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
        return back(target)
    try:
        key = await perform(request, lambda s: partners.revoke_key(s, key_id))
        flash(request, f"Key {key.prefix}… revoked.")
    except ApiError as error:
        flash(request, error.message, "error")
    return back(target)


@router.get("/lines", response_class=HTMLResponse)
async def lines_page(
    request: Request,
    _operator: Operator,
    q: SearchText = "",
    status: str | None = None,
    health: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    runtime = get_runtime(request)
    found = lines.line_filter(q, status, health)
    try:
        async with runtime.sessions() as session:
            page = await lines.page_lines(session, found, PageRequest(after=after, before=before))
            owners = await partners.partners_by_id(
                session, [line.partner_id for line in page.items if line.partner_id]
            )
            accounts = await partners.list_partners(session)  # the assign form's choices
    except ApiError as error:
        return render_error(request, error)
    filters = {"q": q.strip(), "status": found.status or "", "health": found.health or ""}
    return render(
        request,
        "console/lines.html",
        title="Lines",
        nav="lines",
        lines=page.items,
        owners=owners,
        partners=accounts,
        statuses=[status.value for status in LineStatus],
        healths=[health.value for health in HealthStatus],
        filters=filters,
        links=_list_links("/console/lines", page, **filters),
    )


@router.get("/lines.csv")
async def lines_csv(
    request: Request, _operator: Operator, q: str = "", status: str | None = None, health: str | None = None
) -> StreamingResponse:
    runtime = get_runtime(request)
    found = lines.line_filter(q, status, health)

    async def rows() -> AsyncIterator[str]:
        yield csv_row(("number", "partner_id", "partner", "status", "health", "type", "flag_reason"))
        cursor: str | None = None
        while True:
            async with runtime.sessions() as session:
                page = await lines.page_lines(session, found, PageRequest(after=cursor, limit=EXPORT_BATCH))
                owners = await partners.partners_by_id(
                    session, [line.partner_id for line in page.items if line.partner_id]
                )
            for line in page.items:
                owner = owners.get(line.partner_id) if line.partner_id else None
                yield csv_row(
                    (line.number, line.partner_id or "", owner.name if owner else "", line.status,
                     line.health_status, line.line_type, line.flag_reason or "")
                )  # fmt: skip
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    return csv_response(rows(), "lines.csv")


@router.post("/lines", response_model=None)
async def assign_line(
    request: Request,
    actor: Operator,
    number: FormText = "",
    partner_id: FormText = "",
    line_type: FormText = "iMessage",
    reason: FormText = "",
    csrf: Csrf = "",
) -> Response:
    if not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
        return back("/console/lines")
    try:
        line = await perform(
            request,
            lambda s: lines.assign_line(
                s, number, partner_id, actor=actor, line_type=line_type, reason=reason or None
            ),
        )
    except ApiError as error:
        flash(request, error.message, "error")
        return back("/console/lines")
    flash(request, f"{line.number} assigned.")
    return back(f"/console/lines/{line.number}")


@router.get("/lines/{number}", response_class=HTMLResponse)
async def line_page(request: Request, number: str, _operator: Operator) -> HTMLResponse:
    runtime = get_runtime(request)
    try:
        async with runtime.sessions() as session:
            line, history = await lines.line_history(session, number)
            accounts = {p.id: p for p in await partners.list_partners(session)}
    except ApiError as error:
        return render_error(request, error)
    names = {str(partner_id): partner.name for partner_id, partner in accounts.items()}
    return render(
        request,
        "console/line.html",
        title=line.number,
        nav="lines",
        line=line,
        history=history,
        partners=accounts,
        names=names,
    )


ACTIONS = {
    "release": lambda s, number, actor, reason, partner_id: lines.release_line(
        s, number, actor=actor, reason=reason
    ),
    "move": lambda s, number, actor, reason, partner_id: lines.move_line(
        s, number, partner_id, actor=actor, reason=reason
    ),
    "flag": lambda s, number, actor, reason, partner_id: lines.flag_line(
        s, number, actor=actor, reason=reason
    ),
    "unflag": lambda s, number, actor, reason, partner_id: lines.unflag_line(
        s, number, actor=actor, reason=reason
    ),
}


# Actions that take a line away from its partner or stop it sending: a reason and a second step.
DESTRUCTIVE = {
    "release": "Release {number} from its partner? It stops belonging to them at once.",
    "flag": "Flag {number}? It cannot send until the flag is cleared.",
    "move": "Move {number} to {partner}? Its current partner loses it at once.",
}


@router.post("/lines/{number}/{action}", response_model=None)
async def line_action(
    request: Request,
    number: str,
    action: str,
    actor: Operator,
    reason: FormText = "",
    partner_id: FormText = "",
    confirmed: FormText = "",
    csrf: Csrf = "",
) -> Response:
    target = f"/console/lines/{number}"
    handler = ACTIONS.get(action)
    reason = reason.strip()
    if handler is None:
        flash(request, f"Unknown action '{action}'.", "error")
    elif not csrf_ok(request, csrf):
        flash(request, "Your form expired; please try again.", "error")
    elif action in DESTRUCTIVE and not reason:
        flash(request, f"Give a reason to {action} {number}; it is kept in the line's history.", "error")
    elif action in DESTRUCTIVE and confirmed != "yes":
        # No script needed: the confirmation is a page of its own, with the reason shown back.
        async with get_runtime(request).sessions() as session:
            chosen = await partners.partners_by_id(session, [_uuid_or_none(partner_id)] if partner_id else [])
        partner_name = next((p.name for p in chosen.values()), partner_id or "—")
        return render(
            request,
            "console/confirm.html",
            title=f"Confirm: {action} {number}",
            nav="lines",
            question=DESTRUCTIVE[action].format(number=number, partner=partner_name),
            action=action,
            number=number,
            reason=reason,
            partner_id=partner_id,
        )
    else:
        try:
            await perform(request, lambda s: handler(s, number, actor, reason or None, partner_id))
            flash(request, f"{action.capitalize()}: done.")
        except ApiError as error:
            flash(request, error.message, "error")
    return back(target)


def _uuid_or_none(value: str) -> Any:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries_page(request: Request, _operator: Operator) -> HTMLResponse:
    now = utcnow()
    async with get_runtime(request).sessions() as session:
        found = await operations.backlog(session, now)
        accounts = {p.id: p.name for p in await partners.list_partners(session)}
        jobs = await jobs_overview(session, get_runtime(request).settings, now)

    def age(since: datetime | None) -> str:
        if since is None:
            return "—"
        seconds = int(max(0.0, (now - since).total_seconds()))
        hours, rest = divmod(seconds, 3600)
        return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min {rest % 60} s"

    return render(
        request,
        "console/deliveries.html",
        title="Delivery backlog",
        nav="deliveries",
        backlog=found,
        partners=accounts,
        oldest_pending_age=age(found.oldest_pending_at),
        oldest_due_age=age(found.oldest_due_at),
        failing_age={s.id: age(as_utc(s.failing_since) if s.failing_since else None) for s in found.failing},
        jobs=jobs,
        partner_names={str(partner_id): name for partner_id, name in accounts.items()},
    )


@router.get("/deliveries/log", response_class=HTMLResponse)
async def delivery_log_page(
    request: Request,
    _operator: Operator,
    partner: str = "",
    event_type: str = "",
    line: str = "",
    state: str = "",
    after: str | None = None,
    before: str | None = None,
) -> HTMLResponse:
    """Every partner's deliveries, newest first, filtered by partner, event type, line and outcome."""
    filters = {
        "partner": partner.strip(),
        "event_type": event_type.strip(),
        "line": line.strip(),
        "state": state.strip(),
    }
    problem = None
    async with get_runtime(request).sessions() as session:
        try:
            partner_id = uuid.UUID(filters["partner"]) if filters["partner"] else None
        except ValueError:
            partner_id, problem = None, f"'{filters['partner'][:60]}' is not a partner id."
        try:
            found = partner_log.delivery_filter(
                partner_id, filters["event_type"], filters["line"], filters["state"]
            )
            log = await partner_log.delivery_log_page(session, found, PageRequest(after=after, before=before))
        except ApiError as error:
            problem = error.message
            log = await partner_log.delivery_log_page(
                session, partner_log.delivery_filter(None), PageRequest()
            )
        names = {
            p.id: p.name
            for p in (await partners.partners_by_id(session, list(log.partner_ids.values()))).values()
        }
    return render(
        request,
        "console/delivery_log.html",
        status_code=400 if problem else 200,
        title="Delivery log",
        nav="deliveries",
        log=log,
        targets=log.targets,
        partner_names={sid: names.get(pid, str(pid)) for sid, pid in log.partner_ids.items()},
        filters=filters,
        problem=problem,
        event_types=EVENT_TYPES,
        outcomes=[outcome.value for outcome in DeliveryState],
        console=True,
        delivery_path="/console/deliveries",
        next_link=f"/console/deliveries/log?{list_query(**filters, after=log.next_cursor)}" if log.next_cursor else None,
        previous_link=(
            f"/console/deliveries/log?{list_query(**filters, before=log.previous_cursor)}" if log.previous_cursor else None
        ),
    )  # fmt: skip


@router.get("/deliveries/{delivery_id}", response_class=HTMLResponse)
async def delivery_page(request: Request, delivery_id: str, _operator: Operator) -> HTMLResponse:
    try:
        async with get_runtime(request).sessions() as session:
            detail = await partner_log.delivery_detail(session, None, delivery_id)
    except ApiError as error:
        return render_error(request, error)
    return render(
        request, "dashboard/delivery.html", title="Delivery", nav="deliveries", detail=detail,
        console=True, delivery_path="/console/deliveries",
    )  # fmt: skip
