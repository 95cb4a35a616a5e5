"""`phoneline jobs`: what the background workers have to do, and what holds them up."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.cli.common import JsonOption, command, output, run_in_session
from phoneline.db.base import utcnow
from phoneline.settings import Settings

app = typer.Typer(
    help="Background jobs: backlog, work in flight, failures, open breakers, periodic passes.",
    no_args_is_help=True,
)


@app.command("status")
@command
def jobs_status(as_json: bool = JsonOption) -> None:
    """Per job kind: backlog, in flight, failed, and the oldest work that waits only for a worker; then
    the webhook subscriptions whose breaker is open, and the periodic passes (the reputation sweep):
    which worker took the latest, and when the next is due."""
    from phoneline.worker import jobs_overview

    settings = Settings()

    async def work(session: AsyncSession) -> dict[str, Any]:
        return await jobs_overview(session, settings, utcnow())

    def human(d: dict[str, Any]) -> str:
        rows = [
            f"{'KIND':<18} {'BACKLOG':>8} {'IN FLIGHT':>9} {'FAILED':>7} {'OVERDUE':>8} {'OLDEST (s)':>10}"
        ]
        rows += [
            f"{k['kind']:<18} {k['backlog']:>8} {k['in_flight']:>9} {k['failed']:>7} {k['overdue']:>8} "
            f"{k['oldest_overdue_s']:>10}"
            for k in d["kinds"]
        ]
        for breaker in d["open_breakers"]:
            rows.append(f"breaker open until {breaker['open_until']}: {breaker['target_url']}")
        for taken in d["passes"]:
            rows.append(
                f"pass {taken['name']}: taken by {taken['taken_by']} at {taken['taken_at']}, "
                f"next due {taken['next_run_at']}"
            )
        return "\n".join(rows)

    output(run_in_session(work), as_json, human)
