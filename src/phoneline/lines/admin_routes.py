"""Operator API for lines under /admin/v1: the same service calls the CLI makes."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from pydantic import BaseModel

from phoneline import inputs
from phoneline.dependencies import AdminActor, DbSession, RuntimeDep
from phoneline.inputs import Handle, Identifier, Name, Reason, RequestModel
from phoneline.lines import schemas, service
from phoneline.lines.models import Line

router = APIRouter(prefix="/admin/v1/lines", tags=["admin: lines"])


class AssignRequest(RequestModel):
    number: Handle
    partner_id: Identifier
    line_type: Name | None = None
    reason: Reason | None = None


class MoveRequest(RequestModel):
    partner_id: Identifier
    reason: Reason | None = None


class ReasonRequest(RequestModel):
    reason: Reason | None = None


class OperatorLineList(BaseModel):
    lines: list[schemas.OperatorLine]


class LineHistoryResponse(BaseModel):
    line: schemas.OperatorLine
    history: list[schemas.HistoryEntry]


def _shown(runtime: RuntimeDep, line: Line, *also_forget: uuid.UUID | None) -> schemas.OperatorLine:
    runtime.forget_partner_lines(line.partner_id)
    for partner_id in also_forget:
        runtime.forget_partner_lines(partner_id)
    return schemas.operator_line(line, runtime.settings.base_url)


@router.get("", response_model=OperatorLineList)
async def list_lines(
    _actor: AdminActor,
    runtime: RuntimeDep,
    session: DbSession,
    partner_id: str | None = Query(None, max_length=inputs.MAX_ID_LENGTH),
) -> OperatorLineList:
    lines = await service.list_lines(session, partner_id)
    return OperatorLineList(lines=[schemas.operator_line(line, runtime.settings.base_url) for line in lines])


@router.post("", response_model=schemas.OperatorLine, status_code=201)
async def assign_line(
    body: AssignRequest, actor: AdminActor, runtime: RuntimeDep, session: DbSession
) -> schemas.OperatorLine:
    line = await service.assign_line(
        session, body.number, body.partner_id, actor=actor, line_type=body.line_type, reason=body.reason
    )
    return _shown(runtime, line)


@router.get("/{number}", response_model=schemas.OperatorLine)
async def show_line(
    number: str, _actor: AdminActor, runtime: RuntimeDep, session: DbSession
) -> schemas.OperatorLine:
    return schemas.operator_line(await service.require_line(session, number), runtime.settings.base_url)


@router.post("/{number}/release", response_model=schemas.OperatorLine)
async def release_line(
    number: str, actor: AdminActor, runtime: RuntimeDep, session: DbSession, body: ReasonRequest | None = None
) -> schemas.OperatorLine:
    previous = (await service.require_line(session, number)).partner_id
    line = await service.release_line(session, number, actor=actor, reason=body.reason if body else None)
    return _shown(runtime, line, previous)


@router.post("/{number}/move", response_model=schemas.OperatorLine)
async def move_line(
    number: str, body: MoveRequest, actor: AdminActor, runtime: RuntimeDep, session: DbSession
) -> schemas.OperatorLine:
    previous = (await service.require_line(session, number)).partner_id
    line = await service.move_line(session, number, body.partner_id, actor=actor, reason=body.reason)
    return _shown(runtime, line, previous)


@router.post("/{number}/flag", response_model=schemas.OperatorLine)
async def flag_line(
    number: str, actor: AdminActor, runtime: RuntimeDep, session: DbSession, body: ReasonRequest | None = None
) -> schemas.OperatorLine:
    line = await service.flag_line(session, number, actor=actor, reason=body.reason if body else None)
    return _shown(runtime, line)


@router.post("/{number}/unflag", response_model=schemas.OperatorLine)
async def unflag_line(
    number: str, actor: AdminActor, runtime: RuntimeDep, session: DbSession, body: ReasonRequest | None = None
) -> schemas.OperatorLine:
    line = await service.unflag_line(session, number, actor=actor, reason=body.reason if body else None)
    return _shown(runtime, line)


@router.get("/{number}/history", response_model=LineHistoryResponse)
async def line_history(
    number: str, _actor: AdminActor, runtime: RuntimeDep, session: DbSession
) -> LineHistoryResponse:
    line, rows = await service.line_history(session, number)
    return LineHistoryResponse(
        line=schemas.operator_line(line, runtime.settings.base_url),
        history=[schemas.history_entry(row) for row in rows],
    )
