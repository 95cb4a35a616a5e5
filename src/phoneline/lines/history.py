"""Line history: one row per change of owner, status, health or forwarding number."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import utcnow
from phoneline.lines.models import HistoryField, Line, LineHistory


def record(
    session: AsyncSession,
    line: Line,
    field: HistoryField,
    old: str | None,
    new: str | None,
    *,
    reason: str | None,
    actor: str,
) -> LineHistory:
    row = LineHistory(
        line_id=line.id,
        partner_id=line.partner_id,
        field=field.value,
        old_value=old,
        new_value=new,
        reason=reason,
        actor=actor,
        created_at=utcnow(),
    )
    session.add(row)
    return row
