"""Guide pages that `doc_url` links point at."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from phoneline.api import errors

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)

ERROR_CODES: list[tuple[int, int, str]] = sorted(
    {
        (cls.code, cls.status, cls.message)
        for cls in (
            errors.MissingField,
            errors.InvalidPhoneNumber,
            errors.InvalidBody,
            errors.InvalidMessageContent,
            errors.InvalidParameter,
            errors.RateLimited,
            errors.NotFound,
            errors.ChatNotFound,
            errors.MessageNotFound,
            errors.Unauthorized,
            errors.AccessDenied,
            errors.NotYourLine,
            errors.RecipientOptedOut,
            errors.LineNotEligible,
            errors.InternalError,
            errors.ServiceUnavailable,
        )
    }
)


@router.get("/guides/phone-health", response_class=HTMLResponse)
async def phone_health_guide(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "guides/phone_health.html", {"title": "Phone Health"})


@router.get("/guides/errors", response_class=HTMLResponse)
async def errors_guide(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "guides/errors.html", {"title": "Error codes", "codes": ERROR_CODES}
    )
