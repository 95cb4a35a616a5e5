"""A line's recent traffic hour by hour, counted from its messages (the line page's 48-hour chart).

The daily counters (line_activity) only know sent, failed and inbound per day; here each outbound
message is counted in the hour it was sent and split by what became of it, so "delivered" means what
the carrier confirmed, and messages still on their way are counted apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.chats import repository
from phoneline.chats.models import DeliveryStatus, Direction
from phoneline.db.base import as_utc


@dataclass(frozen=True)
class HourCounts:
    start: datetime  # the hour, UTC
    sent: int = 0  # outbound messages sent in the hour
    delivered: int = 0  # of those, delivered (or read)
    failed: int = 0  # of those, failed
    replies: int = 0  # inbound messages in the hour


async def hourly_activity(
    session: AsyncSession, partner_id: uuid.UUID, line_id: uuid.UUID, now: datetime, hours: int = 48
) -> list[HourCounts]:
    """One entry per hour, oldest first, the last one the current (partial) hour; empty hours are zero."""
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    counts = {first + timedelta(hours=i): [0, 0, 0, 0] for i in range(hours)}
    for direction, created, status in await repository.line_messages_since(
        session, partner_id, line_id, first
    ):
        hour = as_utc(created).replace(minute=0, second=0, microsecond=0)
        bucket = counts.get(hour)
        if bucket is None:
            continue
        if direction == Direction.INBOUND.value:
            bucket[3] += 1
            continue
        bucket[0] += 1
        if status in (DeliveryStatus.DELIVERED.value, DeliveryStatus.READ.value):
            bucket[1] += 1
        elif status == DeliveryStatus.FAILED.value:
            bucket[2] += 1
    return [HourCounts(hour, *values) for hour, values in counts.items()]
