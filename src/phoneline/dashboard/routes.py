"""Guide pages that `doc_url` links point at: Phone Health (with the live thresholds) and error codes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from phoneline import errors
from phoneline.api.deps import get_runtime
from phoneline.dashboard.templating import render

router = APIRouter(include_in_schema=False)

# In the order of the table (code, then HTTP status); errors.py says why a code was chosen where Linq
# publishes none.
ERROR_CODES: list[tuple[int, int, str]] = sorted(
    {(cls.code, cls.status, cls.message) for cls in errors.DOCUMENTED_ERRORS}
)


@router.get("/guides/phone-health", response_class=HTMLResponse)
async def phone_health_guide(request: Request) -> HTMLResponse:
    policy = get_runtime(request).settings.reputation
    thresholds = [
        (name, getattr(policy, name), field.description or "")
        for name, field in type(policy).model_fields.items()
    ]
    return render(request, "guides/phone_health.html", title="Phone Health", thresholds=thresholds)


@router.get("/guides/errors", response_class=HTMLResponse)
async def errors_guide(request: Request) -> HTMLResponse:
    return render(request, "guides/errors.html", title="Error codes", codes=ERROR_CODES)
