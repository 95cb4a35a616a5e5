"""Guide pages that `doc_url` links point at: Phone Health (with the live thresholds) and error codes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from phoneline import errors
from phoneline.dashboard.templating import render
from phoneline.dependencies import get_runtime

router = APIRouter(include_in_schema=False)


def codes_by_number() -> list[tuple[int, list[tuple[int, str]]]]:
    """The error table grouped by code: one anchor per code (`doc_url` ends in `#<code>`), one row per
    HTTP status it comes with (1005 is 400 or 409, 2005 is 403 or 405)."""
    grouped: dict[int, list[tuple[int, str]]] = {}
    for code, status, message in errors.error_catalog():
        grouped.setdefault(code, []).append((status, message))
    return sorted(grouped.items())


@router.get("/guides/phone-health", response_class=HTMLResponse)
async def phone_health_guide(request: Request) -> HTMLResponse:
    policy = get_runtime(request).settings.reputation
    thresholds = [
        (name, getattr(policy, name), field.description or "")
        for name, field in type(policy).model_fields.items()
    ]
    return render(
        request,
        "guides/phone_health.html",
        title="Phone Health",
        thresholds=thresholds,
        policy=policy,
        pacing=get_runtime(request).settings.pacing,
        pct=lambda share: f"{share * 100:g}%",
    )


@router.get("/guides/errors", response_class=HTMLResponse)
async def errors_guide(request: Request) -> HTMLResponse:
    return render(request, "guides/errors.html", title="Error codes", codes=codes_by_number())
