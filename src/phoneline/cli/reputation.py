"""`phoneline reputation`: line health on demand."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.cli.common import (
    JsonOption,
    command,
    output,
    run_in_session,
)
from phoneline.lines import service as lines
from phoneline.settings import Settings

app = typer.Typer(help="Line health: re-score on demand.", no_args_is_help=True)


@app.command("score")
@command
def reputation_score(
    line: str | None = typer.Option(None, "--line", help="Only this line (default: every assigned line)."),
    as_json: bool = JsonOption,
) -> None:
    """Re-evaluate health now and print each line's status with its drivers and signals."""
    from dataclasses import asdict

    from phoneline.clock import SystemClock
    from phoneline.reputation import engine
    from phoneline.reputation import repository as reputation_repository

    settings = Settings()
    policy = settings.reputation

    async def work(session: AsyncSession) -> dict[str, Any]:
        now = SystemClock().now()
        if line is None:
            line_ids = await reputation_repository.scorable_line_ids(session)
        else:
            line_ids = [(await lines.require_line(session, line)).id]
        scores = await engine.rescore_lines_and_chats(session, line_ids, policy, now)
        return {
            "lines": [
                {
                    "phone_number": score.line.number,
                    "health_status": score.shown,
                    "computed": score.verdict.status,
                    "changed": score.changed,
                    "primary_driver": score.verdict.primary_driver,
                    "drivers": score.line.health_drivers,
                    "signals": asdict(score.signals),
                }
                for score in scores
            ]
        }

    def human(d: dict[str, Any]) -> str:
        rows = []
        for item in d["lines"]:
            rows.append(
                f"{item['phone_number']}  {item['health_status']}"
                + ("  (changed)" if item["changed"] else "")
            )
            rows += [
                f"    {driver['severity']:<9} {driver['key']}: {driver['metric']}"
                for driver in item["drivers"]
            ]
        return "\n".join(rows) or "(no lines)"

    output(run_in_session(work), as_json, human)
