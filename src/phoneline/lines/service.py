"""The rules for lines. CLI, admin API and partner API all call these; none holds rules of its own.

Every change writes its history rows and its outbox events in the caller's transaction.
Services never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.db.base import utcnow
from phoneline.errors import Conflict, InvalidParameter, NotFound
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
from phoneline.partners.models import Partner
from phoneline.partners.service import require_partner
from phoneline.webhooks import outbox

STATUS_UPDATED = "phone_number.status_updated"
ASSIGNED = "phone_number.assigned"
RELEASED = "phone_number.released"
FORWARDING_UPDATED = "phone_number.forwarding_updated"


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


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


async def _emit_ownership(session: AsyncSession, line: Line, partner_id: uuid.UUID, event_type: str) -> None:
    data = {"phone_number": line.number, "changed_at": _iso(utcnow())}
    await outbox.emit(session, partner_id=partner_id, event_type=event_type, data=data, line_id=line.id)


async def _emit_status_updated(
    session: AsyncSession, line: Line, *, previous_status: str, previous_health: str
) -> None:
    if line.partner_id is None:
        return  # a free line has nobody to tell
    data = {
        "phone_number": line.number,
        "previous_status": previous_status,
        "new_status": line.status,
        "previous_health_status": previous_health,
        "new_health_status": line.health_status,
        # Linq's newer names for the health pair; both pairs are always present.
        "previous_reputation": previous_health,
        "new_reputation": line.health_status,
        "changed_at": _iso(line.updated_at),
    }
    await outbox.emit(
        session, partner_id=line.partner_id, event_type=STATUS_UPDATED, data=data, line_id=line.id
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
    await _emit_ownership(session, line, partner.id, ASSIGNED)
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


async def release_line(session: AsyncSession, number: str, *, actor: str, reason: str | None = None) -> Line:
    line = await require_line(session, number, for_update=True)
    if line.partner_id is None:
        raise Conflict(f"Line {line.number} is not assigned to any partner; nothing to release.")
    previous_owner = line.partner_id
    _clear_forwarding(session, line, actor=actor)
    await repository.delete_contact_card(session, line.id)
    history.record(session, line, HistoryField.OWNER, str(previous_owner), None, reason=reason, actor=actor)
    line.partner_id, line.assigned_at, line.updated_at = None, None, utcnow()
    await _emit_ownership(session, line, previous_owner, RELEASED)
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
    await repository.delete_contact_card(session, line.id)
    await _emit_ownership(session, line, previous_owner, RELEASED)
    now = utcnow()
    line.partner_id, line.assigned_at, line.updated_at = partner.id, now, now
    history.record(
        session, line, HistoryField.OWNER, str(previous_owner), str(partner.id), reason=reason, actor=actor
    )
    await _emit_ownership(session, line, partner.id, ASSIGNED)
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
    await _emit_status_updated(
        session, line, previous_status=previous_status, previous_health=line.health_status
    )
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
    await _emit_status_updated(session, line, previous_status=line.status, previous_health=previous_health)
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
    now = _iso(line.updated_at)
    data = {
        "summary": f"Forwarding number {'set' if target else 'cleared'} for {line.number}",
        "occurred_at": now,
        "actor": {"type": "api"},
        "origin": "api",
        "phone_number": line.number,
        "change": {"from": previous, "to": target},
    }
    await outbox.emit(
        session, partner_id=partner_id, event_type=FORWARDING_UPDATED, data=data, line_id=line.id
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
    return line, await repository.history_for_partner(session, partner_id, line.id)


async def last_change_times(session: AsyncSession, lines: Sequence[Line]) -> dict[uuid.UUID, Any]:
    return await repository.last_change_times(session, [line.id for line in lines])


async def search_lines(session: AsyncSession, text: str) -> Sequence[Line]:
    return await repository.search(session, text)
