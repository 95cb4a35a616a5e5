"""Wire shapes for reputation audits (linq-python `ReputationAuditStarted`, `ReputationAudit`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from phoneline.db.base import as_utc
from phoneline.lines.models import Line
from phoneline.reputation.models import ReputationAudit


class AuditStarted(BaseModel):
    audit_id: str
    status: Literal["pending", "complete", "error"]


class AuditOut(BaseModel):
    audit_id: str
    status: Literal["pending", "complete", "error"]
    error: str | None = None
    generated_at: datetime | None = None
    phone: str | None = None
    report: dict[str, Any] | None = None


def audit_started(audit: ReputationAudit) -> AuditStarted:
    return AuditStarted(audit_id=str(audit.id), status=audit.status)


def audit_out(audit: ReputationAudit, line: Line) -> AuditOut:
    return AuditOut(
        audit_id=str(audit.id),
        status=audit.status,
        error=audit.error if audit.status == "error" else None,
        generated_at=as_utc(audit.generated_at)
        if audit.generated_at and audit.status == "complete"
        else None,
        phone=line.number,
        report=audit.report if audit.status == "complete" else None,
    )
