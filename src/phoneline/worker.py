"""Assembles the job runtime's tasks, for `phoneline serve` (embedded) and `phoneline worker` alike.

Every kind of background work is one task in its own domain (webhooks/, notify/, reputation/,
chats/tasks.py); this module only decides which run where and wires the few hooks between them
(a failing webhook subscription tells the partner's alert channels; the fan-out plans alerts).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from phoneline.chats.sending import Sending
from phoneline.chats.tasks import DeliveryReports, HandoverRecovery
from phoneline.clock import Clock
from phoneline.db.base import utcnow
from phoneline.jobs import schedule
from phoneline.jobs.leader import LeaderLock, LeadingRunner
from phoneline.jobs.retry import RetryPolicy
from phoneline.jobs.runtime import InProcessRunner, Runner, Task
from phoneline.jobs.status import KindStatus, set_gauges
from phoneline.metrics_access import CHALLENGE, metrics_access_allowed
from phoneline.notify.tasks import AlertDeliveries
from phoneline.reputation.tasks import LineHealthTask
from phoneline.settings import Settings, libpq_conninfo
from phoneline.webhooks.tasks import WebhookDeliveries


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        settings.webhook_retry_delays_s,
        jitter=settings.webhook_retry_jitter,
        retry_after_cap_s=settings.webhook_retry_after_cap_s,
    )


def delivery_tasks(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[Task]:
    """Webhooks and the alerts that ride on the same outbox events."""
    retry = retry_policy(settings)
    alerts = AlertDeliveries(settings, sessions, retry)
    webhooks = WebhookDeliveries(
        settings,
        sessions,
        retry,
        on_failure_alert=[alerts.subscription_failing],
        event_consumers=[alerts.plan],
    )
    return [webhooks, alerts]


def health_task(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> LineHealthTask:
    # With the simulator transport, its carrier's flags are decided by the health task too.
    carrier = settings if settings.transport == "simulator" else None
    return LineHealthTask(settings.reputation, sessions, carrier=carrier)


def build_runner(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tasks: list[Task],
    *,
    clock: Clock | None = None,
    worker_id: str | None = None,
) -> Runner:
    # LISTEN only where it pays: for work that other processes create (webhooks, alerts, health).
    listens = not settings.is_sqlite and any(
        isinstance(task, WebhookDeliveries | AlertDeliveries | LineHealthTask) for task in tasks
    )
    return Runner(
        sessions,
        tasks,
        clock=clock,
        worker_id=worker_id,
        poll_interval_s=settings.webhook_poll_interval_s,
        lease_s=settings.job_lease_s,
        listen_conninfo=libpq_conninfo(settings.sync_database_url) if listens else None,
    )


def worker_tasks(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> list[Task]:
    """`phoneline worker`: everything that needs no transport."""
    tasks = delivery_tasks(settings, sessions)
    if settings.reputation_worker_enabled:
        tasks.append(health_task(settings, sessions))
    return tasks


def embedded_task_groups(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], sending: Sending
) -> tuple[list[Task], list[Task]]:
    """`phoneline serve`'s tasks: (the work only this process can do, its transport's delivery reports;
    the work any process may do, claimed from the database), the latter unless separate workers do it."""
    own: list[Task] = [DeliveryReports(sending.ingest)]
    shared: list[Task] = []
    if settings.transport_recovery_enabled:
        shared.append(HandoverRecovery(sending.dispatcher, settings))
    if settings.webhook_dispatcher_enabled:
        shared.extend(delivery_tasks(settings, sessions))
    if settings.reputation_worker_enabled:
        shared.append(health_task(settings, sessions))
    return own, shared


class EmbeddedJobs:
    """The job runtime of one `phoneline serve` process (started on the app's loop).

    Alone, it runs every embedded task. Under `serve --workers N` (`serve_leader_lock` set) it runs
    its own work at once and the shared work only while it leads (jobs/leader.py).
    """

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        sending: Sending,
        *,
        clock: Clock | None = None,
    ) -> None:
        own, shared = embedded_task_groups(settings, sessions, sending)
        self.leader: LeadingRunner | None = None
        if settings.serve_leader_lock is None or not shared:
            self.runner = InProcessRunner(build_runner(settings, sessions, own + shared, clock=clock))
            return
        self.runner = InProcessRunner(build_runner(settings, sessions, own, clock=clock))
        self.leader = LeadingRunner(
            LeaderLock(settings.serve_leader_lock), build_runner(settings, sessions, shared, clock=clock)
        )

    async def stop(self) -> None:
        if self.leader is not None:
            await self.leader.stop()
        await self.runner.stop()


def render_metrics() -> bytes:
    """This process's metrics, or every process's under PROMETHEUS_MULTIPROC_DIR (serve --workers N)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


def metrics_app(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Starlette:
    """`phoneline worker --metrics-port`: GET /metrics (with the job gauges read at scrape time)."""

    async def metrics(request: Request) -> Response:
        if not metrics_access_allowed(settings.metrics_token, request.headers.get("authorization")):
            return Response(
                b"Metrics need `Authorization: Bearer <PHONELINE_METRICS_TOKEN>`.\n",
                status_code=401,
                headers=dict(CHALLENGE),
            )
        async with sessions() as session:
            now = utcnow()
            set_gauges(await job_status(session, settings, now), now)
        return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics)])


class _MetricsServer(uvicorn.Server):
    """uvicorn serving beside the runner: the worker's own signal handlers stop both."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_worker(
    settings: Settings, worker_id: str | None = None, *, metrics_port: int | None = None
) -> None:
    """`phoneline worker`: one runner in this process until SIGTERM or SIGINT."""
    from phoneline.db.engine import create_engine, create_sessionmaker

    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    runner = build_runner(settings, sessions, worker_tasks(settings, sessions), worker_id=worker_id)
    server = None
    if metrics_port is not None:
        config = uvicorn.Config(
            metrics_app(settings, sessions),
            host=settings.host,
            port=metrics_port,
            log_level="warning",
            access_log=False,
        )
        server = _MetricsServer(config)

    def stop() -> None:
        runner.stop()
        if server is not None:
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        await asyncio.gather(runner.run(), *([server.serve()] if server is not None else []))
    finally:
        await engine.dispose()


async def job_status(session: AsyncSession, settings: Settings, now: datetime) -> list[KindStatus]:
    """Backlog, in flight, failed and overdue work of every database-backed kind."""
    from datetime import timedelta

    from phoneline.chats import handover
    from phoneline.notify import repository as alerts
    from phoneline.reputation import repository as health
    from phoneline.webhooks import queue

    webhooks = await queue.counts(session, now)
    pending, in_flight, failed, overdue, oldest = await alerts.queue_counts(session, now)
    lost = await handover.count_overdue(session, now - timedelta(seconds=settings.transport_recovery_after_s))
    dirty, rescoring, audits = await health.queue_counts(session, now)
    return [
        KindStatus(
            "webhook_delivery",
            webhooks.pending,
            webhooks.in_flight,
            webhooks.failed,
            webhooks.overdue,
            webhooks.oldest_overdue_since,
        ),
        KindStatus("alert", pending, in_flight, failed, overdue, oldest),
        # Messages no transport confirmed taking, older than the recovery threshold.
        KindStatus("handover_recovery", lost, 0, 0, lost, None),
        # Chat-days queued for re-scoring and pending audits; in flight: chat-days leased to a worker now.
        KindStatus("line_health", dirty + audits, rescoring, 0, 0, None),
    ]


async def jobs_overview(session: AsyncSession, settings: Settings, now: datetime) -> dict[str, Any]:
    """`phoneline jobs status` and the console: every kind's figures, and the open breakers."""
    from phoneline.db.base import as_utc
    from phoneline.webhooks import queue

    kinds = await job_status(session, settings, now)
    return {
        "at": now.isoformat(),
        "kinds": [kind.as_dict(now) for kind in kinds],
        "open_breakers": [
            {
                "subscription_id": str(row.id),
                "partner_id": str(row.partner_id),
                # Without query string: it may carry the partner's own credentials.
                "target_url": row.target_url.split("?", 1)[0],
                "unreachable_in_a_row": row.breaker_failures,
                "open_until": as_utc(row.breaker_open_until).isoformat(),
            }
            for row in await queue.open_breakers(session, now)
        ],
        # Periodic passes one worker takes per interval (the reputation sweep).
        "passes": await schedule.passes(session),
    }
