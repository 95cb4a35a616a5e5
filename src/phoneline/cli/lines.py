"""`phoneline lines`: provision, assign, move, flag and inspect lines."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.cli.common import (
    CLI_ACTOR,
    JsonOption,
    command,
    line_table,
    output,
    public_base_url,
    run_in_session,
)
from phoneline.lines import schemas as line_schemas
from phoneline.lines import service as lines
from phoneline.settings import Settings

app = typer.Typer(help="Provision, assign, move, flag and inspect lines.", no_args_is_help=True)


ReasonOption = typer.Option(None, "--reason", help="Why; kept in the line history.")


def _line_result(change: Callable[[AsyncSession], Awaitable[Any]], as_json: bool) -> None:
    base_url = public_base_url()

    async def work(session: AsyncSession) -> line_schemas.OperatorLine:
        return line_schemas.operator_line(await change(session), base_url)

    output(run_in_session(work), as_json, lambda d: line_table([d]))


@app.command("assign")
@command
def lines_assign(
    number: str,
    partner: str = typer.Option(..., "--partner", help="Partner id."),
    line_type: str | None = typer.Option(None, "--line-type", help="iMessage (default) or RCS."),
    reason: str | None = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Provision NUMBER if new and assign it to a partner."""
    _line_result(
        lambda s: lines.assign_line(s, number, partner, actor=CLI_ACTOR, line_type=line_type, reason=reason),
        as_json,
    )


@app.command("release")
@command
def lines_release(number: str, reason: str | None = ReasonOption, as_json: bool = JsonOption) -> None:
    """Take NUMBER back from its partner."""
    _line_result(lambda s: lines.release_line(s, number, actor=CLI_ACTOR, reason=reason), as_json)


@app.command("move")
@command
def lines_move(
    number: str,
    partner: str = typer.Option(..., "--partner", help="The new owner's partner id."),
    reason: str | None = ReasonOption,
    as_json: bool = JsonOption,
) -> None:
    """Move NUMBER from its partner to another."""
    _line_result(lambda s: lines.move_line(s, number, partner, actor=CLI_ACTOR, reason=reason), as_json)


@app.command("flag")
@command
def lines_flag(number: str, reason: str | None = ReasonOption, as_json: bool = JsonOption) -> None:
    """Flag NUMBER: it stops sending until the flag is cleared."""
    _line_result(lambda s: lines.flag_line(s, number, actor=CLI_ACTOR, reason=reason), as_json)


@app.command("unflag")
@command
def lines_unflag(number: str, reason: str | None = ReasonOption, as_json: bool = JsonOption) -> None:
    """Clear the flag on NUMBER."""
    _line_result(lambda s: lines.unflag_line(s, number, actor=CLI_ACTOR, reason=reason), as_json)


@app.command("list")
@command
def lines_list(
    partner: str | None = typer.Option(None, "--partner", help="Only this partner's lines."),
    as_json: bool = JsonOption,
) -> None:
    """List lines (all, or one partner's)."""
    base_url = public_base_url()

    async def work(session: AsyncSession) -> dict[str, Any]:
        return {
            "lines": [
                line_schemas.operator_line(line, base_url)
                for line in await lines.list_lines(session, partner)
            ]
        }

    output(run_in_session(work), as_json, lambda d: line_table(d["lines"]))


@app.command("show")
@command
def lines_show(number: str, as_json: bool = JsonOption) -> None:
    """Show one line with today's capacity and pace (`pacing`)."""
    from datetime import UTC, datetime

    from phoneline.reputation.pacing_guard import pacing_views

    settings = Settings()

    async def work(session: AsyncSession) -> line_schemas.OperatorLine:
        line = await lines.require_line(session, number)
        pacing = None
        if line.partner_id is not None:
            views = await pacing_views(session, line.partner_id, [line], settings, datetime.now(UTC))
            pacing = views[line.id]
        return line_schemas.operator_line(line, settings.base_url, pacing)

    def human(d: dict[str, Any]) -> str:
        table = line_table([d])
        pacing = d.get("pacing")
        if not pacing:
            return table
        new, messages, pace = pacing["new_conversations"], pacing["messages"], pacing["pace"]
        return (
            f"{table}\npacing {pacing['mode']}: new conversations {new['used']}/{new['limit'] or '-'}, "
            f"messages {messages['used']}/{messages['limit']}, "
            f"{pace['sends_last_minute']} sends in the last minute (limit {pace['limit_per_minute'] or '-'})"
        )

    output(run_in_session(work), as_json, human)


@app.command("history")
@command
def lines_history(number: str, as_json: bool = JsonOption) -> None:
    """Every change of owner, status, health and forwarding number on NUMBER."""
    base_url = public_base_url()

    async def work(session: AsyncSession) -> dict[str, Any]:
        line, rows = await lines.line_history(session, number)
        return {
            "line": line_schemas.operator_line(line, base_url),
            "history": [line_schemas.history_entry(row) for row in rows],
        }

    def human(d: dict[str, Any]) -> str:
        rows = [
            f"{h['created_at']}  {h['field']:<18} {h['old_value'] or '-'} -> {h['new_value'] or '-'}"
            f"  by {h['actor']}" + (f"  ({h['reason']})" if h["reason"] else "")
            for h in d["history"]
        ]
        return (
            "\n".join([d["line"]["phone_number"], *rows])
            if rows
            else f"{d['line']['phone_number']}: no history"
        )

    output(run_in_session(work), as_json, human)
