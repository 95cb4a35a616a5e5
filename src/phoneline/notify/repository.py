"""SQL for alert settings and the alert queue (leased through jobs/lease.py, like webhook deliveries)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from phoneline.jobs.lease import LeasedTable
from phoneline.notify.models import AlertNotification, AlertState, Channel, PartnerAlertSettings

_alerts = cast(Table, AlertNotification.__table__)
ALERTS = LeasedTable.of(_alerts)
_PENDING: ColumnElement[str] = literal_column(f"'{AlertState.PENDING.value}'")
_SLACK: ColumnElement[str] = literal_column(f"'{Channel.SLACK.value}'")
_PAGERDUTY: ColumnElement[str] = literal_column(f"'{Channel.PAGERDUTY.value}'")


@dataclass(frozen=True)
class ClaimedAlert:
    token: str  # the lease it was claimed under
    id: uuid.UUID
    partner_id: uuid.UUID
    channel: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime
    event_seq: int | None


@dataclass(frozen=True)
class AlertUpdate:
    token: str
    id: uuid.UUID
    attempts: int
    state: str
    next_attempt_at: datetime | None
    status_code: int | None
    error: str | None
    sent_at: datetime | None


async def get_settings(session: AsyncSession, partner_id: uuid.UUID) -> PartnerAlertSettings | None:
    return await session.get(PartnerAlertSettings, partner_id)


async def settings_for(
    session: AsyncSession, partner_ids: set[uuid.UUID]
) -> dict[uuid.UUID, PartnerAlertSettings]:
    if not partner_ids:
        return {}
    query = select(PartnerAlertSettings).where(PartnerAlertSettings.partner_id.in_(partner_ids))
    return {row.partner_id: row for row in (await session.scalars(query)).all()}


async def insert_alerts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(_alerts), rows)


_returning = (
    _alerts.c.id,
    _alerts.c.partner_id,
    _alerts.c.channel,
    _alerts.c.kind,
    _alerts.c.payload,
    _alerts.c.attempts,
    _alerts.c.created_at,
    _alerts.c.event_seq,
)

# A partner's Slack batch is due when its oldest pending alert has waited the coalescing window, none
# is backing off after a failure, and none is being sent: then all of its pending alerts go together.
_batch_member = _alerts.alias("member")
_partners_due = (
    select(_batch_member.c.partner_id)
    .where(_batch_member.c.channel == _SLACK, _batch_member.c.state == _PENDING)
    .group_by(_batch_member.c.partner_id)
    .having(
        func.min(_batch_member.c.created_at) <= bindparam("coalesced_before"),
        func.max(_batch_member.c.next_attempt_at) <= bindparam("now"),
        func.sum(case((_batch_member.c.lease_expires_at > bindparam("now"), 1), else_=0)) == 0,
    )
)
_slack_due = (
    select(_alerts.c.id)
    .where(
        _alerts.c.channel == _SLACK,
        _alerts.c.state == _PENDING,
        _alerts.c.partner_id.in_(_partners_due.scalar_subquery()),
    )
    .order_by(_alerts.c.created_at, _alerts.c.event_seq)
    .limit(bindparam("limit"))
)
_claim_slack = ALERTS.claim(_slack_due, *_returning)

# Pages for one line go out in the order of the changes: a resolve never overtakes its trigger.
_earlier = _alerts.alias("earlier")
_candidate = _alerts.alias("candidate")
_page_due = (
    select(_candidate.c.id)
    .where(
        _candidate.c.channel == _PAGERDUTY,
        _candidate.c.state == _PENDING,
        _candidate.c.next_attempt_at <= bindparam("now"),
        ALERTS.free(_candidate),
        ~exists().where(
            _earlier.c.channel == _PAGERDUTY,
            _earlier.c.state == _PENDING,
            _earlier.c.partner_id == _candidate.c.partner_id,
            _earlier.c.line_id == _candidate.c.line_id,
            _earlier.c.event_seq < _candidate.c.event_seq,
        ),
    )
    .order_by(_candidate.c.event_seq)
    .limit(bindparam("limit"))
)
_claim_pages = ALERTS.claim(_page_due, *_returning)


async def claim_slack_batches(
    session: AsyncSession,
    *,
    now: datetime,
    coalesced_before: datetime,
    token: str,
    lease_until: datetime,
    limit: int,
) -> list[ClaimedAlert]:
    rows = await session.execute(
        _claim_slack,
        {
            "now": now,
            "coalesced_before": coalesced_before,
            "token": token,
            "lease_until": lease_until,
            "limit": limit,
        },
    )
    # Alerts planned in one fan-out share created_at: the event order breaks the tie.
    return sorted(
        (ClaimedAlert(token, *row) for row in rows.all()),
        key=lambda alert: (alert.created_at, alert.event_seq or 0),
    )


async def claim_pages(
    session: AsyncSession, *, now: datetime, token: str, lease_until: datetime, limit: int
) -> list[ClaimedAlert]:
    rows = await session.execute(
        _claim_pages, {"now": now, "token": token, "lease_until": lease_until, "limit": limit}
    )
    return [ClaimedAlert(token, *row) for row in rows.all()]


_write_back = ALERTS.write_back(
    {
        "state": "b_state",
        "attempts": "b_attempts",
        "next_attempt_at": "b_next",
        "last_status_code": "b_status",
        "last_error": "b_error",
        "sent_at": "b_sent",
    }
)


async def record(session: AsyncSession, updates: Sequence[AlertUpdate], now: datetime) -> None:
    if updates:
        await session.execute(
            _write_back,
            [
                {
                    "b_id": change.id,
                    "b_token": change.token,
                    "b_state": change.state,
                    "b_attempts": change.attempts,
                    "b_next": change.next_attempt_at or now,
                    "b_status": change.status_code,
                    "b_error": change.error,
                    "b_sent": change.sent_at,
                }
                for change in updates
            ],
        )


async def list_alerts(
    session: AsyncSession, partner_id: uuid.UUID, *, limit: int
) -> Sequence[AlertNotification]:
    query = (
        select(AlertNotification)
        .where(AlertNotification.partner_id == partner_id)
        .order_by(AlertNotification.created_at.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


_alert_counts = select(
    func.count().filter(_alerts.c.state == _PENDING),
    func.count().filter(
        _alerts.c.state == _PENDING,
        _alerts.c.lease_owner.is_not(None),
        _alerts.c.lease_expires_at > bindparam("now"),
    ),
    func.count().filter(_alerts.c.state == literal_column(f"'{AlertState.FAILED.value}'")),
    func.count().filter(
        _alerts.c.state == _PENDING, _alerts.c.next_attempt_at <= bindparam("now"), ALERTS.free(_alerts)
    ),
    func.min(_alerts.c.next_attempt_at).filter(
        _alerts.c.state == _PENDING, _alerts.c.next_attempt_at <= bindparam("now"), ALERTS.free(_alerts)
    ),
)


async def queue_counts(session: AsyncSession, now: datetime) -> tuple[int, int, int, int, datetime | None]:
    """(pending, in flight, failed, due and free, oldest due) over the alert queue."""
    pending, in_flight, failed, overdue, oldest = (await session.execute(_alert_counts, {"now": now})).one()
    return pending, in_flight, failed, overdue, oldest
