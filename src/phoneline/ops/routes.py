"""`GET /healthz` (liveness + database) and `GET /metrics` (Prometheus text format; PHONELINE_METRICS_TOKEN
protects it, metrics_access.py)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.responses import Response

from phoneline.chats.handover import count_overdue
from phoneline.db.base import as_utc, utcnow
from phoneline.dependencies import RuntimeDep
from phoneline.errors import ServiceUnavailable
from phoneline.jobs.status import set_gauges
from phoneline.lines.models import HealthStatus, LineStatus
from phoneline.lines.repository import count_by_status_and_health
from phoneline.metrics import LINES, TRANSPORT_HANDOVER_OVERDUE, WEBHOOK_BACKLOG, WEBHOOK_OLDEST_DUE_AGE
from phoneline.metrics_access import require_metrics_access
from phoneline.webhooks.repository import backlog
from phoneline.worker import job_status, render_metrics

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz(runtime: RuntimeDep) -> Response:
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable.") from exc
    return Response(b'{"status":"ok","database":"ok"}', media_type="application/json")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    require_metrics_access(runtime.settings.metrics_token, request.headers.get("authorization"))
    async with runtime.sessions() as session:
        counts = {(status, health): n for status, health, n in await count_by_status_and_health(session)}
        now = utcnow()
        pending, _oldest, oldest_due = await backlog(session, now)
        overdue = await count_overdue(
            session, now - timedelta(seconds=runtime.settings.transport_recovery_after_s)
        )
        set_gauges(await job_status(session, runtime.settings, now), now)
    WEBHOOK_BACKLOG.set(pending)
    TRANSPORT_HANDOVER_OVERDUE.set(overdue)
    WEBHOOK_OLDEST_DUE_AGE.set(max(0.0, (now - as_utc(oldest_due)).total_seconds()) if oldest_due else 0.0)
    # Every combination is set, so a line leaving a state drops that series to zero instead of going stale.
    for status in LineStatus:
        for health in HealthStatus:
            LINES.labels(status.value, health.value).set(counts.get((status.value, health.value), 0))
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)
