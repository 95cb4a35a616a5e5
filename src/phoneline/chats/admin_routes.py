"""Operator API for sending activity under /admin/v1: the daily counters line health is scored from."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from pydantic import BaseModel

from phoneline.chats import repository
from phoneline.dependencies import AdminActor, DbSession
from phoneline.lines import service as lines

router = APIRouter(prefix="/admin/v1/lines", tags=["admin: activity"])


class ActivityDay(BaseModel):
    day: date
    outbound: int
    inbound: int
    failed: int
    opt_outs: int
    overrides: int
    new_conversations: int
    distinct_recipients: int


class LineActivityOut(BaseModel):
    phone_number: str
    days: list[ActivityDay]


@router.get("/{number}/activity", response_model=LineActivityOut)
async def line_activity(
    number: str, _actor: AdminActor, session: DbSession, days: int = Query(7, ge=1, le=90)
) -> LineActivityOut:
    """The line's counters for its most recent `days` days with activity, newest first."""
    line = await lines.require_line(session, number)
    rows = await repository.line_activity(session, line.id, days)
    return LineActivityOut(
        phone_number=line.number,
        days=[ActivityDay.model_validate(row, from_attributes=True) for row in rows],
    )
