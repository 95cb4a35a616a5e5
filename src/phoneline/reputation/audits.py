"""Reputation audits (Linq contract): one running audit per line, a cooldown after each, a report
with ranked drivers, action items and the conversations behind them.

An audit belongs to the partner who started it, and so do its cooldown and its evidence: after a line
moves, the new owner neither waits out the previous owner's cooldown nor sees their conversations. The
drivers are the line's own aggregate health, which carries over (docs/reputation.md, "After a line
changes owner").
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from phoneline.chats.repository import partner_chat_ids_active_since, partner_line_by_number
from phoneline.clock import Clock
from phoneline.db.base import as_utc
from phoneline.errors import NotFound, RateLimited
from phoneline.lines.models import Line
from phoneline.lines.numbers import require_e164
from phoneline.logging import get_logger
from phoneline.policy import HealthPolicy
from phoneline.reputation import engine, repository
from phoneline.reputation.models import ReputationAudit
from phoneline.reputation.report import ChatEvidence, build_report
from phoneline.reputation.scoring import Driver, LineVerdict, Severity

log = get_logger("phoneline.reputation.audits")
SEVERITY_OF = {"HEALTHY": Severity.OK, "AT_RISK": Severity.AT_RISK, "CRITICAL": Severity.CRITICAL}


async def _partner_line(session: AsyncSession, partner_id: uuid.UUID, number: str) -> Line:
    e164 = require_e164(number, what="phone number in the path")
    line = await partner_line_by_number(session, partner_id, e164)
    if line is None:
        raise NotFound("Phone number not found.")
    return line


async def start_audit(
    session: AsyncSession, partner_id: uuid.UUID, number: str, policy: HealthPolicy, now: datetime
) -> ReputationAudit:
    line = await _partner_line(session, partner_id, number)
    latest = await repository.latest_partner_audit(session, partner_id, line.id)
    if latest is not None and latest.status == "pending":
        return latest  # Linq: a second start returns the running audit
    if latest is not None and latest.generated_at is not None:
        wait = policy.audit_cooldown_s - (now - as_utc(latest.generated_at)).total_seconds()
        if wait > 0:
            raise RateLimited(
                f"An audit of {line.number} finished recently; start another in {math.ceil(wait)} s.",
                retry_after=wait,
            )
    audit = ReputationAudit(
        id=uuid.uuid4(), partner_id=partner_id, line_id=line.id, status="pending", created_at=now
    )
    session.add(audit)
    await session.flush()
    return audit


async def get_audit(
    session: AsyncSession, partner_id: uuid.UUID, number: str, audit_id: str
) -> tuple[ReputationAudit, Line]:
    line = await _partner_line(session, partner_id, number)
    try:
        parsed = uuid.UUID(audit_id)
    except ValueError:
        raise NotFound("Audit not found.") from None
    audit = await repository.get_audit(session, partner_id, line.id, parsed)
    if audit is None:
        raise NotFound("Audit not found.")  # another line's or partner's audit is 404 too
    return audit, line


async def complete(
    session: AsyncSession, audit: ReputationAudit, policy: HealthPolicy, now: datetime
) -> None:
    (line,) = await repository.lines_by_id(session, [audit.line_id])
    (score,) = await engine.rescore_loaded_lines(session, [line], policy, now)
    since = engine.window_start(policy, now).date()
    chats = await repository.chat_states(
        session, await partner_chat_ids_active_since(session, audit.partner_id, line.id, since)
    )
    verdicts = await engine.chat_verdicts(session, chats, policy, now)
    evidence = [
        ChatEvidence(
            chat_id=str(chat.id), verdict=verdicts[chat.id][0], messages_after_stop=verdicts[chat.id][1]
        )
        for chat in chats
    ]
    drivers = score.verdict.drivers
    if not drivers and score.shown != "HEALTHY":
        minutes = policy.recovery_dwell_s // 60
        drivers = (
            Driver(
                "other", SEVERITY_OF[score.shown], "recovering",
                f"Signals are healthy again; the status improves once that has held through "
                f"{policy.recovery_evidence_messages} messages or for {minutes} minutes, whichever is first.",
            ),
        )  # fmt: skip
    shown = LineVerdict(SEVERITY_OF[score.shown], drivers)
    report = build_report(line.number, shown, evidence)
    audit.report = report.model_dump(mode="json")
    audit.status, audit.generated_at = "complete", now


async def complete_pending(
    sessions: async_sessionmaker[AsyncSession], policy: HealthPolicy, clock: Clock
) -> int:
    """Finish every pending audit (each in its own transaction); returns how many."""
    done = 0
    while True:
        async with sessions() as session:
            pending = await repository.pending_audits(session, 1)
            if not pending:
                return done
            audit_id = pending[0].id
            try:
                await complete(session, pending[0], policy, clock.now())
            except Exception:
                log.exception("audit_failed", audit_id=str(audit_id))
                await session.rollback()
                failed = await session.get(ReputationAudit, audit_id)
                if failed is not None:
                    failed.status, failed.error = (
                        "error",
                        "The report could not be generated; start a new audit.",
                    )
                    # No cooldown after a failure: the partner may start again at once.
                    failed.generated_at = clock.now() - timedelta(seconds=policy.audit_cooldown_s)
            await session.commit()
            done += 1
