"""The sweep of every line is one pass per interval for all workers together: the first worker whose
turn finds it due takes it, the others skip that interval; `phoneline jobs status` says who took it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from phoneline.db.engine import create_engine, create_sessionmaker
from phoneline.reputation.tasks import SWEEP_PASS, LineHealthTask
from phoneline.settings import Settings
from tests.conftest import ADMIN_TOKEN, Cli, LiveServer
from tests.logins.conftest import log_in
from tests.reputation.test_health_scenarios import Clock


def sweep_pass(cli: Cli) -> dict[str, Any]:
    found = [taken for taken in cli("jobs", "status")["passes"] if taken["name"] == SWEEP_PASS]
    assert len(found) == 1
    return dict(found[0])


def test_two_workers_take_each_interval_s_sweep_once_between_them(
    settings: Settings, cli: Cli, live_server: LiveServer
) -> None:
    start = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    interval = timedelta(seconds=settings.reputation.sweep_interval_s)
    clock = Clock(start)

    async def ticks(*moments_and_workers: tuple[datetime, LineHealthTask]) -> None:
        for moment, worker in moments_and_workers:
            clock.moment = moment
            await worker.tick()

    engine = create_engine(settings, pool=False)
    sessions = create_sessionmaker(engine)
    first = LineHealthTask(settings.reputation, sessions, clock)
    second = LineHealthTask(settings.reputation, sessions, clock)
    assert first.worker_id != second.worker_id
    try:
        assert cli("jobs", "status")["passes"] == []  # no worker has run yet

        asyncio.run(ticks((start, first), (start + interval / 2, second)))
        taken = sweep_pass(cli)
        # The second worker's turn, half an interval later, found the pass taken.
        assert taken["taken_by"] == first.worker_id
        assert datetime.fromisoformat(taken["taken_at"]) == start
        assert datetime.fromisoformat(taken["next_run_at"]) == start + interval

        asyncio.run(ticks((start + interval, second), (start + interval, first)))
        taken = sweep_pass(cli)
        assert taken["taken_by"] == second.worker_id  # due again: whoever comes first, once
        assert datetime.fromisoformat(taken["next_run_at"]) == start + 2 * interval

        # The operator console's delivery page shows the same pass, its moments as every page shows them.
        with httpx.Client(base_url=live_server.url, timeout=10) as operator:
            log_in(operator, "/console", ADMIN_TOKEN)
            page = operator.get("/console/deliveries").text
        row = page[page.index(f'<tr data-pass="{SWEEP_PASS}">') :].split("</tr>")[0]
        taken_at, next_run_at = (start + interval, start + 2 * interval)
        assert taken_at.strftime("%Y-%m-%d %H:%M:%S UTC") in row  # 2026-12-03 09:01:00 UTC
        assert next_run_at.strftime("%Y-%m-%d %H:%M:%S UTC") in row and second.worker_id in row
    finally:
        asyncio.run(engine.dispose())
