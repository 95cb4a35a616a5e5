"""Operator API for webhooks under /admin/v1/webhooks: the same calls the `phoneline webhooks` CLI makes."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel

from phoneline import inputs
from phoneline.db.base import as_utc
from phoneline.dependencies import AdminActor, DbSession
from phoneline.partners.service import require_partner
from phoneline.webhooks import operations, repository, schemas

router = APIRouter(prefix="/admin/v1/webhooks", tags=["admin: webhooks"])


class ResendRequest(BaseModel):
    subscription_id: uuid.UUID | None = None


class ReplayRequest(BaseModel):
    subscription_id: uuid.UUID
    since: datetime


@router.get("/subscriptions", response_model=schemas.OperatorSubscriptionList)
async def list_subscriptions(
    _actor: AdminActor,
    session: DbSession,
    partner_id: str | None = Query(None, max_length=inputs.MAX_ID_LENGTH),
) -> schemas.OperatorSubscriptionList:
    partner = await require_partner(session, partner_id) if partner_id else None
    found = await repository.list_all(session, partner.id if partner else None)
    return schemas.OperatorSubscriptionList(subscriptions=[schemas.operator_subscription(s) for s in found])


@router.get("/deliveries", response_model=schemas.DeliveryList)
async def list_deliveries(
    _actor: AdminActor,
    session: DbSession,
    subscription_id: str = Query(..., max_length=inputs.MAX_ID_LENGTH),
    state: str | None = Query(None, max_length=inputs.MAX_NAME_LENGTH),
    limit: int = Query(operations.DEFAULT_LOG_LIMIT, ge=1, le=1000),
) -> schemas.DeliveryList:
    return await operations.delivery_log(session, subscription_id, limit=limit, state=state)


@router.post("/events/{event_id}/resend", response_model=schemas.DeliveriesCreated, status_code=202)
async def resend_event(
    event_id: str, _actor: AdminActor, session: DbSession, body: ResendRequest | None = None
) -> schemas.DeliveriesCreated:
    subscription_id = str(body.subscription_id) if body and body.subscription_id else None
    return await operations.resend_event(session, event_id, subscription_id=subscription_id)


@router.post("/replay", response_model=schemas.DeliveriesCreated, status_code=202)
async def replay(body: ReplayRequest, _actor: AdminActor, session: DbSession) -> schemas.DeliveriesCreated:
    return await operations.replay(session, str(body.subscription_id), as_utc(body.since))
