"""The Jinja environment shared by guides, partner pages and the operator console."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from phoneline.dashboard.session import csrf_token, pop_flash
from phoneline.db.base import as_utc
from phoneline.errors import ApiError

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _when(value: datetime | str | None) -> str:
    """A moment as the pages show it; ISO text too (the documents `phoneline ... --json` prints)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _slug(status: str | None) -> str:
    return (status or "").lower().replace("_", "-")


templates.env.filters["when"] = _when
templates.env.filters["slug"] = _slug


def list_query(**params: str | None) -> str:
    """The query string of a list link: the filters kept, empty ones left out."""
    return urlencode({key: value for key, value in params.items() if value})


def render(request: Request, template: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("title", "phoneline")
    if "session" in request.scope:
        context["csrf"] = csrf_token(request)
        context["flash"] = pop_flash(request)
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def render_error(request: Request, error: ApiError) -> HTMLResponse:
    """A page-level error with the same sentence the API would give."""
    return render(
        request,
        "dashboard/not_found.html",
        status_code=error.status,
        title="Not found",
        message=error.message,
    )


def too_many_attempts(request: Request, retry_after: int, *, action: str, who: str) -> HTMLResponse:
    """The log-in form again, answered 429 with Retry-After (login_throttle.py)."""
    response = render(
        request,
        "dashboard/login.html",
        status_code=429,
        title="Log in" if who == "partner" else "Operator log in",
        action=action,
        who=who,
        refused=f"Too many failed log-ins; try again in {retry_after} s.",
    )
    response.headers["Retry-After"] = str(retry_after)
    return response
