"""Partner API: reputation audits of a line (`/v3/phone_numbers/{phone_number}/reputation_audit`)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks
from fastapi.responses import JSONResponse

from phoneline.clock import SystemClock
from phoneline.dependencies import DbSession, RuntimeDep
from phoneline.partners.auth import Partner
from phoneline.reputation import audits, schemas

router = APIRouter(prefix="/v3/phone_numbers", tags=["phone_numbers"])


@router.post("/{phone_number}/reputation_audit", status_code=202, response_model=schemas.AuditStarted)
async def start_reputation_audit(
    phone_number: str, partner: Partner, runtime: RuntimeDep, session: DbSession, background: BackgroundTasks
) -> JSONResponse:
    policy = runtime.settings.reputation
    audit = await audits.start_audit(session, partner.partner_id, phone_number, policy, SystemClock().now())
    # Generated right after the response in this process; the reputation worker picks up any audit a
    # crash left pending.
    background.add_task(audits.complete_pending, runtime.sessions, policy, SystemClock())
    return JSONResponse(schemas.audit_started(audit).model_dump(), status_code=202)


@router.get("/{phone_number}/reputation_audit/{audit_id}", response_model=schemas.AuditOut)
async def get_reputation_audit(
    phone_number: str, audit_id: str, partner: Partner, session: DbSession
) -> schemas.AuditOut:
    audit, line = await audits.get_audit(session, partner.partner_id, phone_number, audit_id)
    return schemas.audit_out(audit, line)
