"""SQL for lines and their history. Partner-facing reads always take the partner id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.lines.models import ContactCard, ContactCardWrite, HistoryField, Line, LineHistory
from phoneline.paging import Page, PageRequest, keyset_page


async def get_by_number(session: AsyncSession, number: str, *, for_update: bool = False) -> Line | None:
    query = select(Line).where(Line.number == number)
    if for_update:
        # Serialises concurrent operator changes to one line on PostgreSQL (SQLite has one writer).
        query = query.with_for_update()
    return await session.scalar(query)


async def get_for_partner(session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID) -> Line | None:
    query = select(Line).where(Line.id == line_id, Line.partner_id == partner_id)
    return await session.scalar(query)


async def list_for_partner(session: AsyncSession, partner_id: uuid.UUID) -> Sequence[Line]:
    query = select(Line).where(Line.partner_id == partner_id).order_by(Line.number)
    return (await session.scalars(query)).all()


async def list_all(session: AsyncSession, partner_id: uuid.UUID | None = None) -> Sequence[Line]:
    query = select(Line).order_by(Line.number)
    if partner_id is not None:
        query = query.where(Line.partner_id == partner_id)
    return (await session.scalars(query)).all()


async def history(session: AsyncSession, line_id: uuid.UUID) -> Sequence[LineHistory]:
    query = (
        select(LineHistory)
        .where(LineHistory.line_id == line_id)
        .order_by(LineHistory.created_at, LineHistory.id)
    )
    return (await session.scalars(query)).all()


async def count_by_status_and_health(session: AsyncSession) -> list[tuple[str, str, int]]:
    """Assigned lines grouped by (status, health), for the /metrics gauges."""
    query = (
        select(Line.status, Line.health_status, func.count())
        .where(Line.partner_id.is_not(None))
        .group_by(Line.status, Line.health_status)
    )
    return [(status, health, count) for status, health, count in (await session.execute(query)).all()]


async def history_for_partner(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, *, limit: int = 200
) -> Sequence[LineHistory]:
    """A partner's view of a line's history: only the rows from while the line was theirs."""
    query = (
        select(LineHistory)
        .where(LineHistory.line_id == line_id, LineHistory.partner_id == partner_id)
        .order_by(LineHistory.created_at.desc(), LineHistory.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def last_change_times(session: AsyncSession, line_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    if not line_ids:
        return {}
    query = (
        select(LineHistory.line_id, func.max(LineHistory.created_at))
        .where(LineHistory.line_id.in_(line_ids))
        .group_by(LineHistory.line_id)
    )
    return {line_id: moment for line_id, moment in (await session.execute(query)).all()}


@dataclass(frozen=True)
class LineFilter:
    """What a lines list is narrowed to: digits anywhere in the number, a status, a health."""

    digits: str = ""
    status: str | None = None
    health: str | None = None


def _filtered(query: Select[Line], found: LineFilter) -> Select[Line]:
    if found.digits:
        query = query.where(Line.number.contains(found.digits, autoescape=True))
    if found.status:
        query = query.where(Line.status == found.status)
    if found.health:
        query = query.where(Line.health_status == found.health)
    return query


async def page_of_lines(
    session: AsyncSession, partner_id: uuid.UUID | None, found: LineFilter, request: PageRequest
) -> Page[Line]:
    """A page of lines by number; `partner_id` None is the operator's view of every line."""
    query = select(Line)
    if partner_id is not None:
        query = query.where(Line.partner_id == partner_id)
    return await keyset_page(
        session, _filtered(query, found), [Line.number], request, key_of=lambda line: [line.number]
    )


async def count_for_partner(session: AsyncSession, partner_id: uuid.UUID) -> list[tuple[str, str, int]]:
    """A partner's lines grouped by (status, health): the totals above the list."""
    query = (
        select(Line.status, Line.health_status, func.count())
        .where(Line.partner_id == partner_id)
        .group_by(Line.status, Line.health_status)
    )
    return [(status, health, count) for status, health, count in (await session.execute(query)).all()]


async def count_by_partner(session: AsyncSession, partner_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not partner_ids:
        return {}
    query = (
        select(Line.partner_id, func.count())
        .where(Line.partner_id.in_(partner_ids))
        .group_by(Line.partner_id)
    )
    return {partner_id: count for partner_id, count in (await session.execute(query)).all() if partner_id}


async def health_changes_since(
    session: AsyncSession, partner_id: uuid.UUID, line_ids: Sequence[uuid.UUID], since: datetime
) -> Sequence[LineHistory]:
    """Health transitions of the partner's lines since `since` from its own era on them, oldest first."""
    if not line_ids:
        return []
    query = (
        select(LineHistory)
        .where(
            LineHistory.line_id.in_(line_ids),
            LineHistory.partner_id == partner_id,
            LineHistory.field == HistoryField.HEALTH.value,
            LineHistory.created_at >= since,
        )
        .order_by(LineHistory.created_at, LineHistory.id)
    )
    return (await session.scalars(query)).all()


async def partner_lines_by_ids(
    session: AsyncSession, partner_id: uuid.UUID, line_ids: Sequence[uuid.UUID]
) -> list[Line]:
    """The lines among `line_ids` the partner still holds, in the order given."""
    rows = (
        await session.scalars(select(Line).where(Line.partner_id == partner_id, Line.id.in_(line_ids)))
    ).all()
    by_id = {line.id: line for line in rows}
    return [by_id[line_id] for line_id in line_ids if line_id in by_id]


async def contact_card(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID
) -> ContactCard | None:
    query = select(ContactCard).where(ContactCard.partner_id == partner_id, ContactCard.line_id == line_id)
    return await session.scalar(query)


async def contact_cards(session: AsyncSession, partner_id: uuid.UUID) -> list[tuple[ContactCard, Line]]:
    """The partner's cards on lines it still holds, by number."""
    query = (
        select(ContactCard, Line)
        .join(Line, Line.id == ContactCard.line_id)
        .where(ContactCard.partner_id == partner_id, Line.partner_id == partner_id)
        .order_by(Line.number)
    )
    return [(card, line) for card, line in (await session.execute(query)).all()]


async def delete_contact_card(session: AsyncSession, line_id: uuid.UUID) -> ContactCard | None:
    """A card stays with its owner: a line that moves on leaves it behind (lines/service.py), and so
    does the budget of card writes. Returns the card that was deleted, if there was one."""
    card = await session.scalar(select(ContactCard).where(ContactCard.line_id == line_id))
    if card is not None:
        await session.delete(card)
    await session.execute(delete(ContactCardWrite).where(ContactCardWrite.line_id == line_id))
    return card


async def card_writes_since(session: AsyncSession, line_id: uuid.UUID, since: datetime) -> list[datetime]:
    """When the line's card was written since `since`, oldest first; older rows are dropped on the way."""
    await session.execute(
        delete(ContactCardWrite).where(
            ContactCardWrite.line_id == line_id, ContactCardWrite.written_at < since
        )
    )
    query = (
        select(ContactCardWrite.written_at)
        .where(ContactCardWrite.line_id == line_id)
        .order_by(ContactCardWrite.written_at)
    )
    return list((await session.scalars(query)).all())


def record_card_write(session: AsyncSession, line_id: uuid.UUID, at: datetime) -> None:
    session.add(ContactCardWrite(id=uuid.uuid4(), line_id=line_id, written_at=at))
