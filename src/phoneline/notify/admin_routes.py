"""Operator API for a partner's alert settings ("API Tooling") and what was sent to them."""

from __future__ import annotations

from fastapi import APIRouter, Query

from phoneline.dependencies import AdminActor, DbSession, RuntimeDep
from phoneline.notify import schemas, tooling

router = APIRouter(prefix="/admin/v1/partners", tags=["admin: alerts"])


@router.get("/{partner_id}/alerts", response_model=schemas.AlertSettingsOut)
async def show_alert_settings(
    partner_id: str, _actor: AdminActor, runtime: RuntimeDep, session: DbSession
) -> schemas.AlertSettingsOut:
    return await tooling.show_settings(session, runtime.settings, partner_id)


@router.put("/{partner_id}/alerts", response_model=schemas.AlertSettingsOut)
async def configure_alerts(
    partner_id: str,
    body: schemas.AlertSettingsUpdate,
    _actor: AdminActor,
    runtime: RuntimeDep,
    session: DbSession,
) -> schemas.AlertSettingsOut:
    return await tooling.configure(session, runtime.settings, partner_id, body)


@router.get("/{partner_id}/alerts/log", response_model=schemas.AlertLog)
async def alert_log(
    partner_id: str, _actor: AdminActor, session: DbSession, limit: int = Query(50, ge=1, le=1000)
) -> schemas.AlertLog:
    return await tooling.alert_log(session, partner_id, limit=limit)
