"""The rules for lines. CLI, admin API and partner API all call these; none holds rules of its own.

Every change writes its history rows and its outbox events in the caller's transaction.
Services never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import as_utc, utcnow
from phoneline.errors import Conflict, InvalidParameter, NotFound
from phoneline.events import outbox
from phoneline.events.types import (
    ContactCardDeleted,
    LineAssigned,
    LineForwardingUpdated,
    LineReleased,
    LineStatusUpdated,
)
from phoneline.lines import history, repository
from phoneline.lines.models import (
    DEFAULT_CAPABILITIES,
    HealthStatus,
    HistoryField,
    Line,
    LineHistory,
    LineStatus,
    LineType,
)
from phoneline.lines.numbers import require_e164, to_e164
from phoneline.lines.repository import LineFilter
from phoneline.paging import Page, PageRequest
from phoneline.partners.models import Partner
from phoneline.partners.service import require_partner

# The newest changes a partner's line page shows (it says so when there are more).
PARTNER_HISTORY_LIMIT = 200


def parse_line_type(value: str | None) -> LineType:
    if value is None:
        return LineType.IMESSAGE
    for line_type in LineType:
        if value.lower() == line_type.value.lower():
            return line_type
    raise InvalidParameter(f"'{value}' is not a line type; use iMessage or RCS.")


async def require_line(session: AsyncSession, number: str, *, for_update: bool = False) -> Line:
    e164 = to_e164(number)
    line = await repository.get_by_number(session, e164, for_update=for_update)
    if line is None:
        raise NotFound(f"No line {e164} is provisioned.")
    return line


def _emit_ownership(
    session: AsyncSession, line: Line, partner_id: uuid.UUID, event: type[LineAssigned | LineReleased]
) -> None:
    outbox.emit(
        session, event(partner_id=partner_id, line_id=line.id, number=line.number, changed_at=utcnow())
    )


def _emit_status_updated(
    session: AsyncSession, line: Line, *, previous_status: str, previous_health: str
) -> None:
    if line.partner_id is None:
        return  # a free line has nobody to tell
    outbox.emit(
        session,
        LineStatusUpdated(
            partner_id=line.partner_id,
            line_id=line.id,
            number=line.number,
            previous_status=previous_status,
            new_status=line.status,
            previous_health=previous_health,
            new_health=line.health_status,
            changed_at=line.updated_at,
        ),
    )


async def assign_line(
    session: AsyncSession,
    number: str,
    partner_id: str | uuid.UUID,
    *,
    actor: str,
    line_type: str | None = None,
    reason: str | None = None,
) -> Line:
    """Provision the number if it is new, then give it to the partner."""
    e164 = to_e164(number)
    partner = await require_partner(session, partner_id)
    kind = parse_line_type(line_type)
    line = await repository.get_by_number(session, e164, for_update=True)
    if line is None:
        line = Line(
            id=uuid.uuid4(),
            number=e164,
            line_type=kind.value,
            status=LineStatus.ACTIVE.value,
            health_status=HealthStatus.HEALTHY.value,
            capabilities=dict(DEFAULT_CAPABILITIES),
            created_at=utcnow(),
        )
        session.add(line)
    elif line.partner_id == partner.id:
        return line  # already theirs: assigning again changes nothing
    elif line.partner_id is not None:
        raise Conflict(f"Line {e164} is assigned to another partner; use `lines move` to move it.")
    elif line_type is not None and line.line_type != kind.value:
        line.line_type = kind.value
    now = utcnow()
    line.partner_id, line.assigned_at, line.updated_at = partner.id, now, now
    history.record(session, line, HistoryField.OWNER, None, str(partner.id), reason=reason, actor=actor)
    _emit_ownership(session, line, partner.id, LineAssigned)
    return line


def _clear_forwarding(session: AsyncSession, line: Line, *, actor: str) -> None:
    # A line's next owner must not inherit where the last one forwarded calls.
    if line.forwarding_number is not None:
        history.record(
            session,
            line,
            HistoryField.FORWARDING,
            line.forwarding_number,
            None,
            reason="cleared on change of owner",
            actor=actor,
        )
        line.forwarding_number = None


async def _drop_contact_card(session: AsyncSession, line: Line, owner: uuid.UUID) -> None:
    # The card belongs to the partner that set it; its end is an event of theirs, made by phoneline.
    card = await repository.delete_contact_card(session, line.id)
    if card is not None:
        outbox.emit(
            session,
            ContactCardDeleted(
                partner_id=owner, line_id=line.id, number=line.number, card_id=card.id,
                first_name=card.first_name, last_name=card.last_name, image_url=card.image_url,
                occurred_at=utcnow(), actor="system",
            ),
        )  # fmt: skip


async def release_line(session: AsyncSession, number: str, *, actor: str, reason: str | None = None) -> Line:
    line = await require_line(session, number, for_update=True)
    if line.partner_id is None:
        raise Conflict(f"Line {line.number} is not assigned to any partner; nothing to release.")
    previous_owner = line.partner_id
    _clear_forwarding(session, line, actor=actor)
    await _drop_contact_card(session, line, previous_owner)
    history.record(session, line, HistoryField.OWNER, str(previous_owner), None, reason=reason, actor=actor)
    line.partner_id, line.assigned_at, line.updated_at = None, None, utcnow()
    _emit_ownership(session, line, previous_owner, LineReleased)
    return line


async def move_line(
    session: AsyncSession, number: str, partner_id: str | uuid.UUID, *, actor: str, reason: str | None = None
) -> Line:
    line = await require_line(session, number, for_update=True)
    partner: Partner = await require_partner(session, partner_id)
    if line.partner_id is None:
        raise Conflict(f"Line {line.number} is not assigned to any partner; use `lines assign`.")
    if line.partner_id == partner.id:
        raise Conflict(f"Line {line.number} is already assigned to partner {partner.id}.")
    previous_owner = line.partner_id
    _clear_forwarding(session, line, actor=actor)
    await _drop_contact_card(session, line, previous_owner)
    _emit_ownership(session, line, previous_owner, LineReleased)
    now = utcnow()
    line.partner_id, line.assigned_at, line.updated_at = partner.id, now, now
    history.record(
        session, line, HistoryField.OWNER, str(previous_owner), str(partner.id), reason=reason, actor=actor
    )
    _emit_ownership(session, line, partner.id, LineAssigned)
    return line


async def set_status(
    session: AsyncSession, number: str, status: LineStatus, *, actor: str, reason: str | None = None
) -> Line:
    """Flag or clear a line. Setting the status it already has is a no-op (no history, no event)."""
    line = await require_line(session, number, for_update=True)
    if line.status == status.value:
        return line
    previous_status = line.status
    history.record(
        session, line, HistoryField.STATUS, previous_status, status.value, reason=reason, actor=actor
    )
    line.status, line.updated_at = status.value, utcnow()
    line.flag_reason = reason if status is LineStatus.FLAGGED else None
    _emit_status_updated(session, line, previous_status=previous_status, previous_health=line.health_status)
    return line


async def flag_line(session: AsyncSession, number: str, *, actor: str, reason: str | None = None) -> Line:
    return await set_status(session, number, LineStatus.FLAGGED, actor=actor, reason=reason)


async def unflag_line(session: AsyncSession, number: str, *, actor: str, reason: str | None = None) -> Line:
    return await set_status(session, number, LineStatus.ACTIVE, actor=actor, reason=reason)


async def set_health(
    session: AsyncSession, line: Line, health: HealthStatus, *, actor: str, reason: str | None = None
) -> bool:
    """Record a new health prediction; returns whether it changed."""
    if line.health_status == health.value:
        return False
    previous_health = line.health_status
    history.record(
        session, line, HistoryField.HEALTH, previous_health, health.value, reason=reason, actor=actor
    )
    line.health_status, line.updated_at = health.value, utcnow()
    _emit_status_updated(session, line, previous_status=line.status, previous_health=previous_health)
    return True


async def set_forwarding_number(
    session: AsyncSession, partner_id: uuid.UUID, line_id: str, forwarding_number: str | None, *, actor: str
) -> Line:
    """Partner API: set or clear ("" or null) where a line forwards. Another partner's line is 404."""
    try:
        parsed_id = uuid.UUID(line_id)
    except ValueError:
        raise NotFound("Phone number not found.") from None
    target = require_e164(forwarding_number, what="forwarding number") if forwarding_number else None
    line = await repository.get_for_partner(session, partner_id, parsed_id)
    if line is None:
        raise NotFound("Phone number not found.")
    if line.forwarding_number == target:
        return line
    previous = line.forwarding_number
    history.record(session, line, HistoryField.FORWARDING, previous, target, reason=None, actor=actor)
    line.forwarding_number, line.updated_at = target, utcnow()
    outbox.emit(
        session,
        LineForwardingUpdated(
            partner_id=partner_id,
            line_id=line.id,
            number=line.number,
            previous=previous,
            target=target,
            occurred_at=line.updated_at,
        ),
    )
    return line


async def list_partner_lines(session: AsyncSession, partner_id: uuid.UUID) -> Sequence[Line]:
    return await repository.list_for_partner(session, partner_id)


async def list_lines(session: AsyncSession, partner_id: str | None = None) -> Sequence[Line]:
    if partner_id is None:
        return await repository.list_all(session)
    partner = await require_partner(session, partner_id)
    return await repository.list_all(session, partner.id)


async def line_history(session: AsyncSession, number: str) -> tuple[Line, Sequence[LineHistory]]:
    line = await require_line(session, number)
    return line, await repository.history(session, line.id)


async def partner_line_detail(
    session: AsyncSession, partner_id: uuid.UUID, line_id: str
) -> tuple[Line, Sequence[LineHistory]]:
    """A partner's own line with the history from its era; another partner's line is NotFound."""
    try:
        parsed_id = uuid.UUID(line_id)
    except ValueError:
        raise NotFound("Phone number not found.") from None
    line = await repository.get_for_partner(session, partner_id, parsed_id)
    if line is None:
        raise NotFound("Phone number not found.")
    rows = await repository.history_for_partner(session, partner_id, line.id, limit=PARTNER_HISTORY_LIMIT)
    return line, [_partner_view(row, partner_id) for row in rows]


def _partner_view(row: LineHistory, partner_id: uuid.UUID) -> LineHistory:
    """A history row as its partner may see it: an ownership change names no other account.

    A detached copy, so nothing shown can be flushed back by accident.
    """
    own = str(partner_id)
    masked = row.field == HistoryField.OWNER.value
    return LineHistory(
        id=row.id,
        line_id=row.line_id,
        partner_id=row.partner_id,
        field=row.field,
        old_value=row.old_value if not masked or row.old_value == own else None,
        new_value=row.new_value if not masked or row.new_value == own else None,
        reason=row.reason,
        actor=row.actor,
        created_at=row.created_at,
    )


async def last_change_times(session: AsyncSession, lines: Sequence[Line]) -> dict[uuid.UUID, Any]:
    return await repository.last_change_times(session, [line.id for line in lines])


def line_filter(q: str = "", status: str | None = None, health: str | None = None) -> LineFilter:
    """The list filter from a search box and two selects; an unknown status or health means any."""
    return LineFilter(
        digits="".join(ch for ch in q if ch.isdigit())[:20],
        status=status if status in LineStatus.__members__.values() else None,
        health=health if health in HealthStatus.__members__.values() else None,
    )


async def page_partner_lines(
    session: AsyncSession, partner_id: uuid.UUID, found: LineFilter, request: PageRequest
) -> Page[Line]:
    return await repository.page_of_lines(session, partner_id, found, request)


async def page_lines(session: AsyncSession, found: LineFilter, request: PageRequest) -> Page[Line]:
    """The operator's view: every line, assigned or not."""
    return await repository.page_of_lines(session, None, found, request)


@dataclass(frozen=True)
class LineCounts:
    total: int
    flagged: int
    unhealthy: int


async def partner_line_counts(session: AsyncSession, partner_id: uuid.UUID) -> LineCounts:
    groups = await repository.count_for_partner(session, partner_id)
    return LineCounts(
        total=sum(count for _, _, count in groups),
        flagged=sum(count for status, _, count in groups if status == LineStatus.FLAGGED.value),
        unhealthy=sum(count for _, health, count in groups if health != HealthStatus.HEALTHY.value),
    )


async def line_counts_by_partner(
    session: AsyncSession, partner_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    return await repository.count_by_partner(session, partner_ids)


async def health_timelines(
    session: AsyncSession, partner_id: uuid.UUID, lines: Sequence[Line], since: datetime
) -> dict[uuid.UUID, list[tuple[datetime, str]]]:
    """Each of the partner's lines' health over [since, now): (from when, health) steps, the first one
    at `since` (or when the line became the partner's, if later)."""
    changes = await repository.health_changes_since(session, partner_id, [line.id for line in lines], since)
    by_line: dict[uuid.UUID, list[LineHistory]] = {}
    for change in changes:
        by_line.setdefault(change.line_id, []).append(change)
    timelines = {}
    for line in lines:
        own = by_line.get(line.id, [])
        start = (own[0].old_value if own else None) or line.health_status
        assigned = as_utc(line.assigned_at) if line.assigned_at else since
        steps = [(max(since, assigned), start)]
        steps += [(as_utc(change.created_at), change.new_value or start) for change in own]
        timelines[line.id] = steps
    return timelines
